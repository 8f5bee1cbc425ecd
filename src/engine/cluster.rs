//! What makes an engine a cluster's client: its queries are planned here,
//! with morsel's rules, and sent to a Ballista scheduler as logical plans,
//! which the scheduler cuts into stages for its executors.

use std::sync::Arc;

use async_trait::async_trait;
use ballista_core::extension::{SessionConfigExt, SessionStateExt};
use ballista_core::planner::BallistaQueryPlanner;
use datafusion::catalog::Session;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::QueryPlanner;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::protobuf::LogicalPlanNode;

use crate::catalog::{self, MorselTableCodec};

/// `state` as a client of the scheduler at `url` (`df://HOST:PORT`).
pub fn client_state(state: SessionState, url: &str) -> Result<SessionState> {
    let scheduler = scheduler_endpoint(url)?;
    let codec = Arc::new(MorselTableCodec::default());
    let config = state
        .config()
        .clone()
        .with_ballista_logical_extension_codec(codec.clone())
        .upgrade_for_ballista();
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
/// travel (`catalog::sendable_plan`).
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
        let sendable = catalog::sendable_plan(logical_plan.clone())?;
        self.ballista.create_physical_plan(&sendable, session).await
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
