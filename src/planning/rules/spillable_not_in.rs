//! Rule: `NOT IN` as a plain anti join that can spill.
//!
//! DataFusion answers `x NOT IN (subquery)` with a null-aware anti join that
//! collects every outer row into one in-memory hash table, because
//! three-valued logic makes the answer depend on the subquery as a whole: a
//! NULL anywhere in it rejects every row, an empty subquery accepts every
//! row, NULL outer keys included, and otherwise an outer row survives when
//! its key is not NULL and matches nothing. Only the first two facts are
//! global, and both are about the subquery, so this rule splits them off:
//! [`NotInSubqueryExec`] notes them as the subquery's rows pass, and a
//! filter of [`NotInSurvivor`] applies them above a hash-partitioned anti
//! join, which the `spillable_joins` rule then makes spill.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::error::Result;
use datafusion::physical_expr::PhysicalExprRef;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::filter::FilterExecBuilder;
use datafusion::physical_plan::joins::{HashJoinExec, PartitionMode};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::{ExecutionPlan, Partitioning};

use super::replace_hash_joins;
use crate::planning::operators::{NotInSubqueryExec, NotInSurvivor, SubqueryFacts};

/// Rewrites null-aware anti joins into partitioned anti joins plus the
/// filter that restores `NOT IN`'s treatment of NULLs.
#[derive(Debug, Default)]
pub struct SpillableNotIn;

impl PhysicalOptimizerRule for SpillableNotIn {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let partitions = config.execution.target_partitions;
        replace_hash_joins(plan, |_, join| {
            if join.null_aware {
                rewrite(join, partitions)
            } else {
                Ok(None)
            }
        })
    }

    fn name(&self) -> &str {
        "spillable_not_in"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `join` as an anti join over `partitions` hash partitions below the
/// filter that applies the subquery's facts. `None` when the join carries
/// what the rewrite does not handle (a join filter or a row limit).
fn rewrite(join: &HashJoinExec, partitions: usize) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    if join.filter().is_some() || join.fetch().is_some() {
        return Ok(None);
    }
    let [(outer_key, subquery_key)] = join.on() else {
        return Ok(None);
    };
    let facts = Arc::new(SubqueryFacts::default());
    let outer = hash_partitioned(without_coalesce(join.left()), outer_key, partitions)?;
    let subquery = Arc::new(NotInSubqueryExec::new(
        Arc::clone(join.right()),
        Arc::clone(subquery_key),
        Arc::clone(&facts),
    ));
    let subquery = hash_partitioned(subquery, subquery_key, partitions)?;
    let anti = join
        .builder()
        .with_null_aware(false)
        .with_partition_mode(PartitionMode::Partitioned)
        .with_projection(None)
        .with_new_children(vec![outer, subquery])?
        .reset_state()
        .build()?;
    let survivor = Arc::new(NotInSurvivor::new(Arc::clone(outer_key), facts));
    let filter = FilterExecBuilder::new(survivor, Arc::new(anti))
        .apply_projection_by_ref(join.projection.as_ref())?
        .build()?;
    Ok(Some(Arc::new(filter)))
}

/// The outer side was gathered into one partition for the collected build;
/// partitioned, it need not be.
fn without_coalesce(plan: &Arc<dyn ExecutionPlan>) -> Arc<dyn ExecutionPlan> {
    match plan.downcast_ref::<CoalescePartitionsExec>() {
        Some(coalesce) => Arc::clone(coalesce.input()),
        None => Arc::clone(plan),
    }
}

fn hash_partitioned(
    input: Arc<dyn ExecutionPlan>,
    key: &PhysicalExprRef,
    partitions: usize,
) -> Result<Arc<dyn ExecutionPlan>> {
    let partitioning = Partitioning::Hash(vec![Arc::clone(key)], partitions);
    Ok(Arc::new(RepartitionExec::try_new(input, partitioning)?))
}
