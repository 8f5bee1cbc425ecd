//! Rule: DataFusion's late physical filter pushdown, the one that carries
//! the joins' dynamic filters to the scans, runs only on plans whose nodes
//! never repeat a column name.
//!
//! Passing a filter through a node that keeps its input's columns
//! (`RepartitionExec`, `CoalescePartitionsExec`, `CooperativeExec`, …),
//! DataFusion 55 finds each column again by its name (`FilterRemapper`),
//! and where a name repeats it takes the first. Below `tp x JOIN tb y ON
//! x.f = y.f JOIN ta z ON y.k = z.f`, whose middle rows carry `x.k` and
//! `y.k`, both named `k`, the second join's dynamic filter on `y.k` reached
//! the scan of `tp` as a filter on `x.k`, and pruned a partition whose rows
//! join: 8 rows where DuckDB answers 10, with exit 0 (sqlfuzz `--seed
//! 9111`, query 37136). A plan that repeats a name builds no dynamic
//! filters: slower scans, the same rows. TPC-H's columns all differ, so its
//! plans keep them. The early pushdown (`FilterPushdown`) runs before
//! `EnsureRequirements` adds the repartitions and merges that pass filters
//! on by name, so it stays as it is.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::TreeNode;
use datafusion::error::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;

/// DataFusion's late filter pushdown, skipped where a name repeats.
#[derive(Debug)]
pub struct PushdownWhereNamesDiffer {
    pushdown: Arc<dyn PhysicalOptimizerRule + Send + Sync>,
    name: String,
}

impl PushdownWhereNamesDiffer {
    pub fn new(pushdown: Arc<dyn PhysicalOptimizerRule + Send + Sync>) -> Self {
        let name = format!("{} where names differ", pushdown.name());
        Self { pushdown, name }
    }
}

impl PhysicalOptimizerRule for PushdownWhereNamesDiffer {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if repeats_a_name(&plan)? {
            return Ok(plan);
        }
        self.pushdown.optimize(plan, config)
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Whether some node of `plan` has two columns of one name.
fn repeats_a_name(plan: &Arc<dyn ExecutionPlan>) -> Result<bool> {
    plan.exists(|node| {
        let schema = node.schema();
        let mut seen = HashSet::new();
        Ok(schema
            .fields()
            .iter()
            .any(|field| !seen.insert(field.name())))
    })
}
