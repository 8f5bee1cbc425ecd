//! Rule: a filter a table applies exactly itself is handed to it as
//! `f IS TRUE`.
//!
//! A filter drops the rows for which it is FALSE or NULL, so `f` and
//! `f IS TRUE` filter alike; but a table that evaluates a filter on its
//! own may read only the value of a NULL answer. DataFusion 55's listing
//! tables do, for the filters on hive partition columns they prune
//! directories with (`datafusion-catalog-listing`'s `helpers.rs` reads
//! `value(0)` without its validity): `WHERE (year > 2000) NOT IN (NULL,
//! FALSE)`, NULL for every partition, kept all 60 rows of `events`
//! (DuckDB: 0), and since the table reports such filters exact, nothing
//! filtered them again (found by sqlfuzz). `IS TRUE` is never NULL.
//!
//! An equality of a column with a non-NULL constant is left as it is:
//! such a filter is NULL only where the column is, which a listed
//! partition value never is, and a listing table reads the directory
//! prefix to list from those equalities alone.
//!
//! It runs right after filter pushdown, which hands the table its filters
//! and asks which it applies exactly; the tables' other filters stay as
//! they were, so the file formats still prune by them.

use datafusion::common::Result;
use datafusion::common::tree_node::Transformed;
use datafusion::logical_expr::{
    BinaryExpr, Expr, LogicalPlan, Operator, TableProviderFilterPushDown, TableScan,
};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

/// Hands a table each filter it applies exactly as `f IS TRUE`.
#[derive(Debug, Default)]
pub struct ExactScanFiltersTrue;

impl OptimizerRule for ExactScanFiltersTrue {
    fn name(&self) -> &str {
        "exact_scan_filters_true"
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
        let LogicalPlan::TableScan(mut scan) = plan else {
            return Ok(Transformed::no(plan));
        };
        let wrap = filters_to_wrap(&scan)?;
        if !wrap.iter().any(|w| *w) {
            return Ok(Transformed::no(LogicalPlan::TableScan(scan)));
        }
        let filters = std::mem::take(&mut scan.filters);
        scan.filters = filters
            .into_iter()
            .zip(wrap)
            .map(|(filter, wrap)| match wrap {
                true => filter.is_true(),
                false => filter,
            })
            .collect();
        Ok(Transformed::yes(LogicalPlan::TableScan(scan)))
    }
}

/// For each of `scan`'s filters, whether the table applies it exactly
/// and it may be NULL.
fn filters_to_wrap(scan: &TableScan) -> Result<Vec<bool>> {
    if !scan.filters.iter().any(may_be_null) {
        return Ok(vec![false; scan.filters.len()]);
    }
    let filters: Vec<&Expr> = scan.filters.iter().collect();
    let pushdown = scan.source.supports_filters_pushdown(&filters)?;
    Ok(filters
        .into_iter()
        .zip(pushdown)
        .map(|(filter, how)| how == TableProviderFilterPushDown::Exact && may_be_null(filter))
        .collect())
}

/// Whether `filter` may be NULL for a value a table lists: all but
/// `IS [NOT] TRUE`-style tests and equalities of a column with a non-NULL
/// constant.
fn may_be_null(filter: &Expr) -> bool {
    match filter {
        Expr::IsTrue(_)
        | Expr::IsFalse(_)
        | Expr::IsNotTrue(_)
        | Expr::IsNotFalse(_)
        | Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsUnknown(_)
        | Expr::IsNotUnknown(_) => false,
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        }) => !matches!(
            (left.as_ref(), right.as_ref()),
            (Expr::Column(_), Expr::Literal(value, _)) | (Expr::Literal(value, _), Expr::Column(_))
                if !value.is_null()
        ),
        _ => true,
    }
}
