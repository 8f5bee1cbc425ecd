//! `IS [NOT] DISTINCT FROM` bound as tightly as in PostgreSQL and DuckDB.
//!
//! sqlparser 0.62 parses the right side of `a IS DISTINCT FROM` as a whole
//! expression, so `a IS DISTINCT FROM b AND c` became
//! `a IS DISTINCT FROM (b AND c)`: an error where the types differ, and
//! where `b` and `c` are booleans a wrong answer with no error. In SQL,
//! `IS` binds tighter than `AND` and `OR` and as tightly as another `IS`
//! (left to right), so the statement is rebuilt that way; a right side in
//! parentheses is the user's and stays.

use std::ops::ControlFlow;

use datafusion::sql::parser::{CopyToSource, Statement};
use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr, visit_expressions_mut};

/// Rebinds every `IS [NOT] DISTINCT FROM` in `statement`.
pub fn rebind_is_distinct(statement: &mut Statement) {
    match statement {
        Statement::Statement(statement) => rebind_in(statement.as_mut()),
        Statement::CopyTo(copy) => {
            if let CopyToSource::Query(query) = &mut copy.source {
                rebind_in(query.as_mut());
            }
        }
        Statement::Explain(explain) => rebind_is_distinct(&mut explain.statement),
        Statement::CreateExternalTable(_) | Statement::Reset(_) => {}
    }
}

fn rebind_in<V: datafusion::sql::sqlparser::ast::VisitMut>(node: &mut V) {
    let _ = visit_expressions_mut(node, |expr| {
        // Visited after its operands, so those are already rebound.
        let (left, right, negated) = match expr {
            Expr::IsDistinctFrom(l, r) => (l, r, false),
            Expr::IsNotDistinctFrom(l, r) => (l, r, true),
            _ => return ControlFlow::<()>::Continue(()),
        };
        let left = std::mem::replace(left.as_mut(), Expr::Value(placeholder()));
        let right = std::mem::replace(right.as_mut(), Expr::Value(placeholder()));
        *expr = rebind(left, negated, right);
        ControlFlow::Continue(())
    });
}

fn placeholder() -> datafusion::sql::sqlparser::ast::ValueWithSpan {
    datafusion::sql::sqlparser::ast::Value::Null.into()
}

/// `left IS [NOT] DISTINCT FROM right`, with `IS` taking only the operand
/// at the far left of `right` where the parser let it take more.
fn rebind(left: Expr, negated: bool, right: Expr) -> Expr {
    let distinct =
        |operand: Expr, left: Expr| -> Box<Expr> { Box::new(rebind(left, negated, operand)) };
    match right {
        Expr::BinaryOp {
            left: operand,
            op: op @ (BinaryOperator::And | BinaryOperator::Or),
            right,
        } => Expr::BinaryOp {
            left: distinct(*operand, left),
            op,
            right,
        },
        Expr::IsDistinctFrom(operand, other) => {
            Expr::IsDistinctFrom(distinct(*operand, left), other)
        }
        Expr::IsNotDistinctFrom(operand, other) => {
            Expr::IsNotDistinctFrom(distinct(*operand, left), other)
        }
        Expr::IsNull(operand) => Expr::IsNull(distinct(*operand, left)),
        Expr::IsNotNull(operand) => Expr::IsNotNull(distinct(*operand, left)),
        Expr::IsTrue(operand) => Expr::IsTrue(distinct(*operand, left)),
        Expr::IsNotTrue(operand) => Expr::IsNotTrue(distinct(*operand, left)),
        Expr::IsFalse(operand) => Expr::IsFalse(distinct(*operand, left)),
        Expr::IsNotFalse(operand) => Expr::IsNotFalse(distinct(*operand, left)),
        Expr::IsUnknown(operand) => Expr::IsUnknown(distinct(*operand, left)),
        Expr::IsNotUnknown(operand) => Expr::IsNotUnknown(distinct(*operand, left)),
        operand if negated => Expr::IsNotDistinctFrom(Box::new(left), Box::new(operand)),
        operand => Expr::IsDistinctFrom(Box::new(left), Box::new(operand)),
    }
}
