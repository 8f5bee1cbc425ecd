//! Select items that repeat one another get names of their own.
//!
//! `SELECT count(*), count(*)`, `SELECT 1, 1` and `SELECT id, id` are valid
//! SQL, and DuckDB and PostgreSQL answer them, but DataFusion's plans need
//! unique column names and refuse them ("Projections require unique
//! expression names"). When a statement is refused so, each later repeat
//! of an unnamed select item is named as DuckDB names a subquery's repeated
//! columns (`id`, `id_1`, `id_2`, …), and the statement is planned again.

use std::collections::HashMap;
use std::ops::ControlFlow;

use datafusion::error::DataFusionError;
use datafusion::sql::parser::{CopyToSource, Statement};
use datafusion::sql::sqlparser::ast::{
    Expr, Ident, Query, SelectItem, SetExpr, VisitMut, VisitorMut,
};

/// Whether DataFusion refused a plan for repeating a column name.
pub fn refused_for_repeats(error: &DataFusionError) -> bool {
    error
        .find_root()
        .to_string()
        .contains("Projections require unique expression names")
}

/// `statement` with each repeated unnamed select item named; `None` when
/// nothing repeats, so there is nothing to plan again.
pub fn with_repeats_named(mut statement: Statement) -> Option<Statement> {
    let mut namer = NameRepeats { named: false };
    let _ = match &mut statement {
        Statement::Statement(inner) => inner.visit(&mut namer),
        Statement::CopyTo(copy) => match &mut copy.source {
            CopyToSource::Query(query) => query.visit(&mut namer),
            CopyToSource::Relation(_) => ControlFlow::Continue(()),
        },
        _ => ControlFlow::Continue(()),
    };
    namer.named.then_some(statement)
}

struct NameRepeats {
    named: bool,
}

impl VisitorMut for NameRepeats {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        // Subqueries are queries of their own and are visited in turn.
        self.named |= name_in(&mut query.body);
        ControlFlow::Continue(())
    }
}

fn name_in(body: &mut SetExpr) -> bool {
    match body {
        SetExpr::Select(select) => name_repeats(&mut select.projection),
        SetExpr::SetOperation { left, right, .. } => name_in(left) | name_in(right),
        _ => false,
    }
}

fn name_repeats(items: &mut [SelectItem]) -> bool {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut named = false;
    for item in items {
        let SelectItem::UnnamedExpr(expr) = item else {
            continue;
        };
        let times = seen.entry(expr.to_string()).or_insert(0);
        if *times > 0 {
            let alias = Ident::with_quote('"', format!("{}_{times}", base_name(expr)));
            *item = SelectItem::ExprWithAlias {
                expr: expr.clone(),
                alias,
            };
            named = true;
        }
        *times += 1;
    }
    named
}

/// A column's own name, or the text of any other expression.
fn base_name(expr: &Expr) -> String {
    match expr {
        Expr::Identifier(ident) => ident.value.clone(),
        Expr::CompoundIdentifier(parts) => parts
            .last()
            .map_or_else(|| expr.to_string(), |last| last.value.clone()),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use datafusion::sql::parser::DFParser;

    use super::*;

    fn named(sql: &str) -> Option<String> {
        let statement = DFParser::parse_sql(sql).unwrap().pop_front().unwrap();
        with_repeats_named(statement).map(|s| s.to_string())
    }

    #[test]
    fn later_repeats_are_named_and_the_first_keeps_its_name() {
        assert_eq!(
            named("SELECT id, t.id, id, count(*), count(*) FROM t").as_deref(),
            Some("SELECT id, t.id, id AS \"id_1\", count(*), count(*) AS \"count(*)_1\" FROM t")
        );
        let union = named("SELECT v, v FROM t UNION ALL SELECT x, y FROM (SELECT 2, 2) s(x, y)");
        assert_eq!(
            union.as_deref(),
            Some(
                "SELECT v, v AS \"v_1\" FROM t UNION ALL SELECT x, y FROM (SELECT 2, 2 AS \"2_1\") s (x, y)"
            )
        );
        assert_eq!(named("SELECT a, b FROM t"), None);
    }
}
