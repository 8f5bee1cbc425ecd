//! The engine's side of cluster mode: the client's session, whose queries
//! are planned here with morsel's rules and sent to a Ballista scheduler as
//! logical plans ([`client_state`]), and the sessions the cluster's own
//! processes plan and read with ([`scheduler_state`], [`node_runtime`]).

use std::sync::Arc;

use async_trait::async_trait;
use ballista_core::extension::{SessionConfigExt, SessionStateExt};
use ballista_core::optimizer::with_ballista_optimizer_rules;
use ballista_core::planner::BallistaQueryPlanner;
use datafusion::catalog::Session;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::FunctionRegistry;
use datafusion::execution::context::QueryPlanner;
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::LogicalPlan;
use datafusion::optimizer::{Analyzer, Optimizer};
use datafusion::physical_optimizer::optimizer::PhysicalOptimizer;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use datafusion::prelude::SessionConfig;
use datafusion_proto::protobuf::LogicalPlanNode;

use super::fresh_listings;
use crate::catalog::{self, MorselTableCodec};
use crate::planning;
use crate::storage::ObjectStores;

/// `state` as a client of the scheduler at `url` (`df://HOST:PORT`).
pub fn client_state(state: SessionState, url: &str) -> Result<SessionState> {
    let scheduler = scheduler_endpoint(url)?;
    let codec = Arc::new(MorselTableCodec::default());
    let config = state
        .config()
        .clone()
        .with_ballista_logical_extension_codec(codec.clone())
        .upgrade_for_ballista()
        // Ballista's adaptive planner replaces the scheduler's physical
        // rules with its own list, in which DataFusion's filter pushdown
        // and aggregate statistics run without the rules of ours that
        // correct them (`planning::distributed_physical_rules`): two wrong
        // answers of docs/reliability.md would come back.
        .with_ballista_adaptive_query_planner(false);
    // Ballista prefers sort-merge joins; DataFusion 55's panicked on a
    // join with a filter (`sort_merge_join/filter.rs`, found running
    // tests/slt through a cluster). Hash joins are what morsel runs and
    // fuzzes locally, and an executor with a memory limit makes each
    // partitioned one spill (`planning::stage_rules`).
    let mut config = config;
    config.options_mut().optimizer.prefer_hash_join = true;
    let planner = SendingPlanner {
        ballista: BallistaQueryPlanner::with_extension(
            scheduler.clone(),
            config.ballista_config(),
            codec,
        ),
    };
    let config = config.with_ballista_query_planner(Arc::new(planner));
    SessionStateBuilder::new_from_existing(state)
        .with_config(config)
        .build()
        .upgrade_for_ballista(scheduler)
}

/// Ballista's planner, handed each plan with morsel's tables as they can
/// travel (`catalog::sendable_plan`); a plan whose rows are all made here runs here.
#[derive(Debug)]
struct SendingPlanner {
    ballista: BallistaQueryPlanner<LogicalPlanNode>,
}

#[async_trait]
impl QueryPlanner for SendingPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match catalog::sendable_plan(logical_plan.clone())? {
            Some(sendable) => self.ballista.create_physical_plan(&sendable, session).await,
            None => {
                DefaultPhysicalPlanner::default()
                    .create_physical_plan(logical_plan, session)
                    .await
            }
        }
    }
}

/// The gRPC address of the scheduler that `url` names: `df://HOST:PORT`,
/// as Ballista's clients write it.
fn scheduler_endpoint(url: &str) -> Result<String> {
    let refuse = || {
        DataFusionError::Configuration(format!(
            "--cluster {url}: give the scheduler as df://HOST:PORT"
        ))
    };
    let address = url.strip_prefix("df://").ok_or_else(refuse)?;
    let (host, port) = address.rsplit_once(':').ok_or_else(refuse)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(refuse());
    }
    Ok(format!("http://{host}:{port}"))
}

/// The session in which a cluster's scheduler plans each query it is sent,
/// with the client's settings (`config`): morsel's logical rules (the
/// client ran them too; the scheduler optimizes again) and Ballista's,
/// the physical rules of ours whose plans can travel, morsel's functions
/// and its object stores, listed afresh for every query.
pub fn scheduler_state(config: SessionConfig, stores: &Arc<ObjectStores>) -> Result<SessionState> {
    // The client chose whether to buffer (a memory limit is the client's);
    // here the rules only correct, so none of those that buffer are added.
    let optimizer_rules = planning::optimizer_rules(Optimizer::new().rules, true);
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(node_runtime(stores)?)
        .with_default_features()
        .with_analyzer_rules(planning::analyzer_rules(Analyzer::new().rules))
        .with_optimizer_rules(with_ballista_optimizer_rules(&optimizer_rules))
        .with_physical_optimizer_rules(planning::distributed_physical_rules(
            PhysicalOptimizer::new().rules,
        ))
        .build();
    for function in planning::aggregate_functions() {
        state.register_udaf(Arc::new(function))?;
    }
    Ok(state)
}

/// The runtime of a cluster's process: morsel's object stores (`file://`,
/// and `s3://` with the credentials of the process's own environment),
/// directories listed afresh for every query.
pub fn node_runtime(stores: &Arc<ObjectStores>) -> Result<Arc<RuntimeEnv>> {
    RuntimeEnvBuilder::new()
        .with_object_store_registry(Arc::clone(stores) as Arc<dyn ObjectStoreRegistry>)
        .with_cache_manager(fresh_listings())
        .build_arc()
}
