//! Rule: in a filter or a join's filter, a comparison of a column with a
//! constant is written column first and with an unsigned float zero (`'a'
//! = s` becomes `s = 'a'`, `1 < f` becomes `f > 1`, `f > -0.0` becomes `f
//! > 0.0`).
//!
//! DataFusion's filter pushdown first merges each column's comparisons
//! with constants: of two equalities it keeps one if they are the same
//! expression and otherwise makes the filter FALSE, and of two bounds it
//! keeps the tighter, deciding a tie by the operator as if the column were
//! on the left. Its simplifier puts columns first only where the constant
//! was a literal before folding, so a constant that needed a cast (`'a'`
//! against a `Utf8View` column, `1` against a DOUBLE) stayed on the left:
//! `s = 'a' AND 'a' = s` found no rows, and `f >= 1 AND 1 < f` kept
//! `f = 1` (found by sqlfuzz; fixed upstream after DataFusion 55, by
//! apache/datafusion#24763). And it orders and tells apart float
//! constants by their bits, where SQL holds -0.0 equal to 0.0:
//! `f = -0.0 AND f = 0.0` found no rows and `f > -0.0 AND f >= 0.0` kept
//! zeros. Written column first with an unsigned zero, equal comparisons
//! are the same expression and a tie is decided on the right operator.
//! It runs just before filter pushdown, in every pass, after the
//! simplifier has folded the constants.

use datafusion::common::tree_node::Transformed;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::utils::{conjunction, split_conjunction_owned};
use datafusion::logical_expr::{BinaryExpr, Expr, Filter, LogicalPlan, Operator};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

/// Writes each comparison of a column with a constant in a filter column
/// first, with an unsigned zero.
#[derive(Debug, Default)]
pub struct CanonicalComparisons;

impl OptimizerRule for CanonicalComparisons {
    fn name(&self) -> &str {
        "canonical_comparisons"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        match plan {
            LogicalPlan::Filter(filter) => {
                let Some(predicate) = canonical_predicate(&filter.predicate) else {
                    return Ok(Transformed::no(LogicalPlan::Filter(filter)));
                };
                let filter = Filter::try_new(predicate, filter.input)?;
                Ok(Transformed::yes(LogicalPlan::Filter(filter)))
            }
            // A join's filter, which the pushdown merges with the filters
            // of the side it goes to: `5 IN (SELECT i … WHERE i = 5)`
            // became a mark join on `5 = i` over a side filtered by
            // `i = 5`, merged to FALSE (`sqlfuzz --seed 9118`, query 23381).
            LogicalPlan::Join(mut join) => {
                let predicate = join.filter.as_ref().and_then(canonical_predicate);
                let Some(predicate) = predicate else {
                    return Ok(Transformed::no(LogicalPlan::Join(join)));
                };
                join.filter = Some(predicate);
                Ok(Transformed::yes(LogicalPlan::Join(join)))
            }
            _ => Ok(Transformed::no(plan)),
        }
    }
}

/// `predicate` with each conjunct canonical, if any changed.
fn canonical_predicate(predicate: &Expr) -> Option<Expr> {
    let mut changed = false;
    let conjuncts: Vec<Expr> = split_conjunction_owned(predicate.clone())
        .into_iter()
        .map(|conjunct| {
            let conjunct = canonical(conjunct);
            changed |= conjunct.transformed;
            conjunct.data
        })
        .collect();
    conjunction(conjuncts).filter(|_| changed)
}

/// `expr` written column first, with an unsigned zero, where it compares
/// a column with a literal by an operator that has a mirror image (`=`,
/// `<`, `>=`, …); unchanged otherwise.
fn canonical(expr: Expr) -> Transformed<Expr> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = expr else {
        return Transformed::no(expr);
    };
    let (column, op, value, metadata, mirrored) = match (op.swap(), *left, *right) {
        (Some(_), column @ Expr::Column(_), Expr::Literal(value, metadata)) => {
            (column, op, value, metadata, false)
        }
        (Some(mirror), Expr::Literal(value, metadata), column @ Expr::Column(_)) => {
            (column, mirror, value, metadata, true)
        }
        (_, left, right) => return Transformed::no(binary(left, op, right)),
    };
    let unsigned = unsigned_zero(&value);
    let changed = mirrored || unsigned.is_some();
    let constant = Expr::Literal(unsigned.unwrap_or(value), metadata);
    Transformed::new_transformed(binary(column, op, constant), changed)
}

fn binary(left: Expr, op: Operator, right: Expr) -> Expr {
    Expr::BinaryExpr(BinaryExpr::new(Box::new(left), op, Box::new(right)))
}

/// 0.0 of `value`'s type where `value` is a float -0.0.
fn unsigned_zero(value: &ScalarValue) -> Option<ScalarValue> {
    match value {
        ScalarValue::Float32(Some(f)) if *f == 0.0 && f.is_sign_negative() => {
            Some(ScalarValue::Float32(Some(0.0)))
        }
        ScalarValue::Float64(Some(f)) if *f == 0.0 && f.is_sign_negative() => {
            Some(ScalarValue::Float64(Some(0.0)))
        }
        _ => None,
    }
}
