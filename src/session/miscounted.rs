//! Set operations DataFusion 55 answers wrongly, refused in one line.
//!
//! DataFusion plans `EXCEPT ALL` and `INTERSECT ALL` as an anti or semi
//! join that never counts duplicates: `{1, 1, 2} EXCEPT ALL {1}` gave
//! `{2}` where SQL (and DuckDB) give `{1, 2}`, and `INTERSECT ALL` kept
//! every copy on the left. A wrong answer with no error is worse than
//! none, so morsel refuses both until they count (found by sqlfuzz;
//! docs/reliability.md).

use std::ops::ControlFlow;

use datafusion::sql::parser::{CopyToSource, Statement};
use datafusion::sql::sqlparser::ast::{Query, SetExpr, SetOperator, SetQuantifier, Visit, Visitor};

use crate::error::{Error, Result};

/// `Err` when `statement` holds an `EXCEPT ALL` or `INTERSECT ALL`.
pub fn refuse_miscounted(statement: &Statement) -> Result<()> {
    let found = match statement {
        Statement::Statement(statement) => statement.visit(&mut FindMiscounted),
        Statement::CopyTo(copy) => match &copy.source {
            CopyToSource::Query(query) => query.visit(&mut FindMiscounted),
            CopyToSource::Relation(_) => ControlFlow::Continue(()),
        },
        Statement::Explain(explain) => return refuse_miscounted(&explain.statement),
        Statement::CreateExternalTable(_) | Statement::Reset(_) => ControlFlow::Continue(()),
    };
    match found {
        ControlFlow::Break(operation) => Err(Error::query(format!(
            "{operation} is not supported: DataFusion 55 answers it without counting \
             duplicates; use {} (no ALL), or number the copies with row_number()",
            operation.trim_end_matches(" ALL")
        ))),
        ControlFlow::Continue(()) => Ok(()),
    }
}

struct FindMiscounted;

impl Visitor for FindMiscounted {
    type Break = &'static str;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Self::Break> {
        match miscounted_in(&query.body) {
            Some(operation) => ControlFlow::Break(operation),
            None => ControlFlow::Continue(()),
        }
    }
}

/// The first `EXCEPT ALL` or `INTERSECT ALL` among the set operations of
/// one query body (a nested query is visited on its own).
fn miscounted_in(body: &SetExpr) -> Option<&'static str> {
    let SetExpr::SetOperation {
        op,
        set_quantifier,
        left,
        right,
    } = body
    else {
        return None;
    };
    let all = matches!(set_quantifier, SetQuantifier::All);
    match op {
        SetOperator::Except | SetOperator::Minus if all => Some("EXCEPT ALL"),
        SetOperator::Intersect if all => Some("INTERSECT ALL"),
        _ => miscounted_in(left).or_else(|| miscounted_in(right)),
    }
}
