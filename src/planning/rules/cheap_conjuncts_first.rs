//! Rule: in a filter's `AND`, the comparisons of a column with constants
//! come first.
//!
//! DataFusion evaluates `a AND b` by evaluating `a` on every row and then,
//! where `a` kept few rows, `b` on those alone; the order the query wrote
//! decides which side that is. TPC-H Q12 writes a string `IN` list and two
//! comparisons of columns with columns before the date range that keeps
//! one row in seven, so every conjunct ran on all six million rows. A
//! comparison of a column that is not text with a constant (`=`, `<`, …,
//! `BETWEEN`, `IN` of constants, `IS [NOT] NULL`, an `OR` of those) is the
//! cheapest test there is and often the most selective; those go first,
//! each group in the order written. They cannot fail, and moving them
//! first can only spare later conjuncts rows, so a later conjunct that
//! could fail (a division) fails on no row it did not fail on before.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::DFSchema;
use datafusion::common::tree_node::Transformed;
use datafusion::error::Result;
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{
    Between, BinaryExpr, Expr, ExprSchemable, Filter, LogicalPlan, Operator,
};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

/// Puts the comparisons of columns with constants first in every filter.
#[derive(Debug, Default)]
pub struct CheapConjunctsFirst;

impl OptimizerRule for CheapConjunctsFirst {
    fn name(&self) -> &str {
        "cheap_conjuncts_first"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::TopDown)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Filter(filter) = plan else {
            return Ok(Transformed::no(plan));
        };
        let schema = filter.input.schema();
        let conjuncts = split_conjunction(&filter.predicate);
        let cheap: Vec<bool> = conjuncts.iter().map(|c| is_cheap(c, schema)).collect();
        // Already in order: no cheap conjunct after one that is not.
        if cheap.windows(2).all(|pair| pair[0] || !pair[1]) {
            return Ok(Transformed::no(LogicalPlan::Filter(filter)));
        }
        let (first, rest): (Vec<_>, Vec<_>) = conjuncts
            .into_iter()
            .zip(&cheap)
            .partition(|(_, cheap)| **cheap);
        let predicate = conjunction(first.into_iter().chain(rest).map(|(c, _)| c.clone()))
            .expect("a filter has a predicate");
        Ok(Transformed::yes(LogicalPlan::Filter(Filter::try_new(
            predicate,
            filter.input,
        )?)))
    }
}

/// A comparison of one column that is not text with constants.
fn is_cheap(expr: &Expr, schema: &DFSchema) -> bool {
    let column_and_constants = |column: &Expr, constants: &[&Expr]| {
        is_column_of_fixed_width(column, schema)
            && constants.iter().all(|c| matches!(c, Expr::Literal(..)))
    };
    match expr {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op:
                Operator::Eq
                | Operator::NotEq
                | Operator::Lt
                | Operator::LtEq
                | Operator::Gt
                | Operator::GtEq,
            right,
        }) => column_and_constants(left, &[right]) || column_and_constants(right, &[left]),
        Expr::Between(Between {
            expr, low, high, ..
        }) => column_and_constants(expr, &[low, high]),
        Expr::InList(InList { expr, list, .. }) => {
            column_and_constants(expr, &list.iter().collect::<Vec<_>>())
        }
        // `IN (2, 4)` as the simplifier writes it: `j = 2 OR j = 4`.
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Or,
            right,
        }) => is_cheap(left, schema) && is_cheap(right, schema),
        Expr::IsNull(expr) | Expr::IsNotNull(expr) => matches!(**expr, Expr::Column(_)),
        _ => false,
    }
}

fn is_column_of_fixed_width(expr: &Expr, schema: &DFSchema) -> bool {
    matches!(expr, Expr::Column(_))
        && expr
            .get_type(schema)
            .is_ok_and(|t| t.is_primitive() || t == DataType::Boolean)
}
