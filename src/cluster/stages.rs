//! What an executor does to each stage before it runs it: the physical
//! rules of ours whose operators and expressions cannot travel in a plan
//! (`planning::stage_rules`) applied where the stage runs, then Ballista's
//! own way of running it. This hook runs whichever planner made the stage.

use std::sync::Arc;

use ballista_core::JobId;
use ballista_executor::execution_engine::{
    DefaultExecutionEngine, ExecutionEngine, QueryStageExecutor,
};
use datafusion::error::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionConfig;

use crate::planning;

/// Ballista's execution engine, with morsel's stage rules applied first.
pub struct StagesWithOurRules {
    rules: Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>>,
    ballista: DefaultExecutionEngine,
}

impl StagesWithOurRules {
    /// The engine of an executor that spills beyond a memory limit if
    /// `memory_limited`.
    pub fn new(memory_limited: bool) -> Self {
        // Ballista's pool of connections to other executors is private to
        // its crate: each shuffle read connects afresh, as without a pool.
        Self {
            rules: planning::stage_rules(memory_limited),
            ballista: DefaultExecutionEngine::new(),
        }
    }
}

impl ExecutionEngine for StagesWithOurRules {
    fn create_query_stage_exec(
        &self,
        job_id: JobId,
        stage_id: usize,
        task_id: usize,
        global_output_partition_ids: Vec<usize>,
        plan: Arc<dyn ExecutionPlan>,
        work_dir: &str,
        config: &SessionConfig,
    ) -> Result<Arc<dyn QueryStageExecutor>> {
        let plan = self
            .rules
            .iter()
            .try_fold(plan, |plan, rule| rule.optimize(plan, config.options()))?;
        self.ballista.create_query_stage_exec(
            job_id,
            stage_id,
            task_id,
            global_output_partition_ids,
            plan,
            work_dir,
            config,
        )
    }
}
