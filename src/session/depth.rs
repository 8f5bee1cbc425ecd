//! The one statement shape refused before planning: operator chains too
//! long to plan.
//!
//! `a + b + c + …` parses into a tree as deep as the chain is long, and
//! DataFusion's planner and optimizer walk it with recursion and with
//! passes that grow with the square of its length: in a release build a
//! sum of 1,000 terms planned in 1.5 s, 4,000 in 28 s, and 20,000 ran for
//! minutes while its memory grew past 3 GB (with the default stacks it
//! overflowed and aborted the process). A chain longer than
//! [`MAX_CHAIN`] is refused with one line instead.

use std::ops::ControlFlow;

use datafusion::sql::parser::{CopyToSource, Statement};
use datafusion::sql::sqlparser::ast::{Expr, visit_expressions};

use crate::error::{Error, Result};

/// The longest chain of operators morsel plans.
pub const MAX_CHAIN: usize = 4000;

/// `Err` naming the length when an expression in `statement` chains more
/// than [`MAX_CHAIN`] operators.
pub fn check(statement: &Statement) -> Result<()> {
    let found = match statement {
        Statement::Statement(statement) => longest_chain_over(statement.as_ref()),
        Statement::CopyTo(copy) => match &copy.source {
            CopyToSource::Query(query) => longest_chain_over(query.as_ref()),
            CopyToSource::Relation(_) => None,
        },
        Statement::Explain(explain) => return check(&explain.statement),
        Statement::CreateExternalTable(_) | Statement::Reset(_) => None,
    };
    match found {
        Some(depth) => Err(Error::query(format!(
            "an expression chains {depth} operators; morsel plans at most {MAX_CHAIN} \
             (planning time grows with the square of the chain): split it, e.g. into \
             an IN list or a join"
        ))),
        None => Ok(()),
    }
}

/// The depth of the first expression in `node` deeper than [`MAX_CHAIN`].
fn longest_chain_over<V: datafusion::sql::sqlparser::ast::Visit>(node: &V) -> Option<usize> {
    let found = visit_expressions(node, |expr| match chain_depth(expr) {
        depth if depth > MAX_CHAIN => ControlFlow::Break(depth),
        _ => ControlFlow::Continue(()),
    });
    match found {
        ControlFlow::Break(depth) => Some(depth),
        ControlFlow::Continue(()) => None,
    }
}

/// How many operators nest in `expr` at most, walked without recursion.
fn chain_depth(expr: &Expr) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(expr, 0)];
    while let Some((expr, above)) = stack.pop() {
        match expr {
            Expr::BinaryOp { left, right, .. } => {
                deepest = deepest.max(above + 1);
                stack.push((left, above + 1));
                stack.push((right, above + 1));
            }
            Expr::UnaryOp { expr, .. } => {
                deepest = deepest.max(above + 1);
                stack.push((expr, above + 1));
            }
            Expr::Nested(expr) => stack.push((expr, above)),
            _ => {}
        }
    }
    deepest
}
