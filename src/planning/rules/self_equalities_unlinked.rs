//! Rule: a filter's equality between two expressions of one column is not
//! taken to make them interchangeable.
//!
//! From `WHERE abs(i) = i` (or `coalesce(s, 'é') = s`, `i + 0 = i`)
//! DataFusion's `FilterExec` concludes that `abs(i)` and `i` are one value
//! above it. `EnsureRequirements` then satisfies a window's
//! `PARTITION BY i` with a sort on `abs(i)`, and the window, which does
//! not find `i` ordered below it, refuses to run: "All partition by
//! columns should have an ordering" (sqlfuzz `--seed 9102` query 19169,
//! `--seed 9110` query 32577; docs/reliability.md). Such a filter is rare
//! and the conclusion worth little, so its equality is written
//! `CASE WHEN a = b THEN true ELSE false END`, which keeps the same rows
//! and from which nothing is concluded. It runs before DataFusion's
//! `EnsureRequirements`, which adds the sorts; equalities of two plain
//! columns, or of expressions of different columns, stay as they are.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::error::Result;
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::expressions::{BinaryExpr, CaseExpr, Column, lit};
use datafusion::physical_expr::utils::collect_columns;
use datafusion::physical_expr::{PhysicalExpr, conjunction, split_conjunction};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};

/// Hides each filter equality between expressions of one column in a CASE.
#[derive(Debug, Default)]
pub struct SelfEqualitiesUnlinked;

impl PhysicalOptimizerRule for SelfEqualitiesUnlinked {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        super::rewrite_filters(plan, |filter| {
            let conjuncts = split_conjunction(filter.predicate());
            (conjuncts.into_iter().any(is_self_equality))
                .then(|| with_self_equalities_unlinked(filter))
        })
    }

    fn name(&self) -> &str {
        "self_equalities_unlinked"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn with_self_equalities_unlinked(filter: &FilterExec) -> Result<Arc<dyn ExecutionPlan>> {
    let conjuncts = split_conjunction(filter.predicate()).into_iter();
    let predicate = conjunction(
        conjuncts
            .map(|conjunct| {
                if is_self_equality(conjunct) {
                    unlinked(conjunct)
                } else {
                    Ok(Arc::clone(conjunct))
                }
            })
            .collect::<Result<Vec<_>>>()?,
    );
    let rebuilt = FilterExecBuilder::from(filter).with_predicate(predicate);
    Ok(Arc::new(rebuilt.build()?))
}

/// `a = b` where `a` and `b` name a column in common and are not both
/// plain columns.
fn is_self_equality(expr: &Arc<dyn PhysicalExpr>) -> bool {
    let Some(equality) = expr.downcast_ref::<BinaryExpr>() else {
        return false;
    };
    let (left, right) = (equality.left(), equality.right());
    *equality.op() == Operator::Eq
        && !(left.is::<Column>() && right.is::<Column>())
        && !collect_columns(left).is_disjoint(&collect_columns(right))
}

/// `CASE WHEN equality THEN true ELSE false END`: the same rows kept.
fn unlinked(equality: &Arc<dyn PhysicalExpr>) -> Result<Arc<dyn PhysicalExpr>> {
    let when_then = vec![(Arc::clone(equality), lit(true))];
    Ok(Arc::new(CaseExpr::try_new(
        None,
        when_then,
        Some(lit(false)),
    )?))
}
