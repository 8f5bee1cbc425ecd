//! The engine's side of cluster mode: the client's session, whose queries
//! are planned here with morsel's rules and sent to a Ballista scheduler as
//! logical plans ([`client_state`]) and started there ([`execute`]), what
//! a finished job did ([`finished_job`]), and the sessions the cluster's
//! own processes plan and read with ([`scheduler_state`], [`node_runtime`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use ballista_core::execution_plans::DistributedQueryExec;
use ballista_core::extension::{SessionConfigExt, SessionStateExt};
use ballista_core::planner::BallistaQueryPlanner;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::protobuf::{
    CancelJobParams, GetJobMetricsParams, GetJobStatusParams, OperatorMetricsSet,
    OperatorWithMetrics, job_status,
};
use ballista_core::utils::create_grpc_client_endpoint;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::Session;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::QueryPlanner;
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::execution::{
    FunctionRegistry, RecordBatchStream, SendableRecordBatchStream, TaskContext,
};
use datafusion::logical_expr::{EmptyRelation, LogicalPlan, LogicalPlanBuilder, lit};
use datafusion::physical_optimizer::optimizer::PhysicalOptimizer;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::{EmptyRecordBatchStream, ExecutionPlan, execute_stream};
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use datafusion::prelude::SessionConfig;
use datafusion_proto::protobuf::LogicalPlanNode;
use futures::Stream;
use serde::{Deserialize, Serialize};
use tonic::transport::Channel;

use super::fresh_listings;
use crate::catalog::{self, MorselTableCodec};
use crate::planning;
use crate::storage::{NodeStores, ObjectStores, SessionS3Layers};

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
    // Ballista's static planner turns a partitioned join whose side it
    // finds small into a broadcast one, and back, after the rules that fit
    // the plan around each join; morsel's scheduler partitions them all
    // (`planning::distributed_physical_rules`), and nothing may undo it.
    config
        .options_mut()
        .set("ballista.optimizer.broadcast_join_threshold_bytes", "0")?;
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
            Some(sendable) => {
                let sendable = empty_relations_with_columns(sendable)?;
                self.ballista.create_physical_plan(&sendable, session).await
            }
            None => {
                DefaultPhysicalPlanner::default()
                    .create_physical_plan(logical_plan, session)
                    .await
            }
        }
    }
}

/// `plan` with each empty relation that has columns written as those
/// columns, NULLs of their types under their qualifiers, over one that has
/// none. DataFusion 55's protobuf writes an `EmptyRelation` without its
/// columns, and the scheduler read back one with none: a mark join beside
/// an emptied `IN` subquery got an unqualified `mark` ("would be
/// ambiguous"), a parent lost the columns it reads ("No field named"), and
/// a query the optimizer emptied came back without its header.
fn empty_relations_with_columns(plan: LogicalPlan) -> Result<LogicalPlan> {
    let written = plan.transform_up_with_subqueries(|node| match node {
        LogicalPlan::EmptyRelation(empty)
            if !empty.produce_one_row && !empty.schema.fields().is_empty() =>
        {
            let columns = empty
                .schema
                .iter()
                .map(|(qualifier, field)| {
                    let null = ScalarValue::try_from(field.data_type())?;
                    Ok(lit(null).alias_qualified(qualifier.cloned(), field.name()))
                })
                .collect::<Result<Vec<_>>>()?;
            let none = LogicalPlan::EmptyRelation(EmptyRelation {
                produce_one_row: false,
                schema: Arc::new(DFSchema::empty()),
            });
            let relation = LogicalPlanBuilder::from(none).project(columns)?.build()?;
            Ok(Transformed::yes(relation))
        }
        other => Ok(Transformed::no(other)),
    })?;
    Ok(written.data)
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
/// with the client's settings (`config`): no logical rules, the physical
/// rules of ours whose plans can travel, morsel's functions and its object
/// stores, listed afresh for every query.
///
/// The client has analyzed and optimized the plan with morsel's rules and
/// Ballista's; optimizing it again broke it. The second pass's common
/// subexpressions took the names the first pass had given others
/// (`__common_expr_1`), and a column was read by the wrong one's name: a
/// self-join compared a double with a string (found by sqlfuzz through a
/// cluster; with equal types it would have been a wrong answer). Another
/// plan failed `optimize_projections`' schema check.
pub fn scheduler_state(config: SessionConfig, stores: &NodeStores) -> Result<SessionState> {
    let runtime = node_runtime(&stores.for_query(&config))?;
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .with_analyzer_rules(Vec::new())
        .with_optimizer_rules(Vec::new())
        .with_physical_optimizer_rules(planning::distributed_physical_rules(
            PhysicalOptimizer::new().rules,
        ))
        .build();
    for function in planning::aggregate_functions() {
        state.register_udaf(Arc::new(function))?;
    }
    for function in planning::travelling_functions() {
        state.register_udf(Arc::new(function))?;
    }
    Ok(state)
}

/// The configuration a cluster's process starts from for each query,
/// before the client's settings are laid on it: Ballista's, knowing the S3
/// layers a query may carry.
pub fn node_config() -> SessionConfig {
    SessionConfig::new_with_ballista().with_option_extension(SessionS3Layers::default())
}

/// The runtime of a cluster's process for one query: morsel's object
/// stores (`file://`, and `s3://` with the process's own environment's
/// settings and the query's session layers on top, `NodeStores`),
/// directories listed afresh for every query.
pub fn node_runtime(stores: &Arc<ObjectStores>) -> Result<Arc<RuntimeEnv>> {
    RuntimeEnvBuilder::new()
        .with_object_store_registry(Arc::clone(stores) as Arc<dyn ObjectStoreRegistry>)
        .with_cache_manager(fresh_listings())
        .build_arc()
}

/// Starts `plan` on the cluster whose scheduler is at `url`, or here where
/// the client makes all its rows (`SHOW`, a table function's rows).
///
/// A job goes with the session's S3 layers, for the scheduler and the
/// executors to read with; only a job: a plan run here would print them
/// (`SHOW ALL`, `information_schema.df_settings`). Its stream cancels the
/// job on the scheduler if it is dropped before its end (Ctrl-C, SIGTERM,
/// a failed write): Ballista's client only stops reading, and the cluster
/// would run on for nobody.
pub fn execute(
    plan: &Arc<dyn ExecutionPlan>,
    mut state: SessionState,
    stores: &ObjectStores,
    url: &str,
) -> Result<SendableRecordBatchStream> {
    if distributed_query(plan).is_none() {
        return execute_stream(Arc::clone(plan), Arc::new(TaskContext::from(&state)));
    }
    state
        .config_mut()
        .options_mut()
        .extensions
        .insert(stores.layers());
    let stream = execute_stream(Arc::clone(plan), Arc::new(TaskContext::from(&state)))?;
    Ok(Box::pin(JobStream {
        stream,
        job: Some(RunningJob {
            plan: Arc::clone(plan),
            scheduler: scheduler_endpoint(url)?,
        }),
    }))
}

/// A cluster's rows, with the job to cancel while they are not all read.
struct JobStream {
    stream: SendableRecordBatchStream,
    /// `None` once the job has ended, with its last row or an error.
    job: Option<RunningJob>,
}

impl Stream for JobStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.stream.as_mut().poll_next(cx);
        match polled {
            Poll::Ready(Some(Err(e))) => {
                let job = self.job.take();
                let lost = job.filter(|_| is_lost_connection(&e));
                Poll::Ready(Some(Err(match lost {
                    Some(job) => lost_scheduler(&job.scheduler, &e),
                    None => e,
                })))
            }
            Poll::Ready(None) => {
                self.job = None;
                polled
            }
            _ => polled,
        }
    }
}

impl RecordBatchStream for JobStream {
    fn schema(&self) -> SchemaRef {
        self.stream.schema()
    }
}

impl Drop for JobStream {
    fn drop(&mut self) {
        if let Some(job) = self.job.take() {
            let schema = self.stream.schema();
            let empty = Box::pin(EmptyRecordBatchStream::new(schema));
            job.cancel(std::mem::replace(&mut self.stream, empty));
        }
    }
}

/// Whether `error` is the connection to the scheduler breaking (the
/// scheduler died, or the network between), as Ballista's client reports
/// it: an HTTP/2 error, no longer a job's.
fn is_lost_connection(error: &DataFusionError) -> bool {
    let text = error.to_string();
    text.contains("h2 protocol error") || text.contains("transport error")
}

/// `error`, a broken connection to the scheduler at `endpoint`, naming it.
fn lost_scheduler(endpoint: &str, error: &DataFusionError) -> DataFusionError {
    let cause = match error.find_root() {
        DataFusionError::Execution(message) => message.clone(),
        other => other.strip_backtrace(),
    };
    let address = endpoint.trim_start_matches("http://");
    DataFusionError::Execution(format!(
        "lost the cluster's scheduler at {address}: {cause}"
    ))
}

/// A job the cluster may still be running.
struct RunningJob {
    plan: Arc<dyn ExecutionPlan>,
    scheduler: String,
}

/// How long the client waits on the scheduler to connect, and as long
/// again for an answer, when it asks beside a query's own stream: to
/// cancel a job (the client may be on its way out) or for its figures.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

impl RunningJob {
    /// Asks the scheduler to cancel the job, waiting for the answer on a
    /// thread of its own: the caller may be one of the runtime's, and the
    /// process may end right after. A job whose id the client has not
    /// learnt yet (Ctrl-C while the scheduler was taking it) is waited for
    /// on `stream`, the job's own, which holds the scheduler's reply: once
    /// dropped, nothing would tell the id, and the cluster would run the
    /// job to its end for nobody.
    fn cancel(self, stream: SendableRecordBatchStream) {
        let RunningJob { plan, scheduler } = self;
        let cancelling = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let learnt = until_job_id_known(&plan, stream);
                let _ = tokio::time::timeout(ASK_TIMEOUT, learnt).await;
                let job_id = job_id(&plan)?;
                let client = connect_scheduler(scheduler).await?;
                let planned = until_planned(&client, &job_id);
                let _ = tokio::time::timeout(ASK_TIMEOUT, planned).await;
                ask(client, |mut client| async move {
                    client.cancel_job(CancelJobParams { job_id }).await
                })
                .await
            })
        });
        let _ = cancelling.join();
    }
}

/// Waits while the scheduler is still planning `job_id`: Ballista 55
/// drops the cancellation of a job it has not planned yet, and then runs
/// the job.
async fn until_planned(client: &SchedulerGrpcClient<Channel>, job_id: &str) {
    loop {
        let job_id = job_id.to_string();
        let answer = ask(client.clone(), |mut client| async move {
            client.get_job_status(GetJobStatusParams { job_id }).await
        })
        .await;
        let status = answer.and_then(|a| a.status).and_then(|s| s.status);
        if !matches!(status, Some(job_status::Status::Queued(_))) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads `stream` until the scheduler has named the job of `plan`, or the
/// stream has ended; its rows go nowhere.
async fn until_job_id_known(plan: &Arc<dyn ExecutionPlan>, mut stream: SendableRecordBatchStream) {
    std::future::poll_fn(|cx| {
        loop {
            if job_id(plan).is_some() {
                return Poll::Ready(());
            }
            match stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(_)) => continue,
                Poll::Ready(None) => return Poll::Ready(()),
                // The id may have come with the reply that left it pending.
                Poll::Pending if job_id(plan).is_some() => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await
}

/// A finished job as its scheduler recorded it: its stages by id.
#[derive(Debug, Clone)]
pub struct Job {
    pub stages: Vec<JobStage>,
}

/// One stage of a job: its operators root first, with the figures its
/// tasks reported.
#[derive(Debug, Clone)]
pub struct JobStage {
    pub id: usize,
    pub tasks: usize,
    pub operators: Vec<StageOperator>,
}

/// One operator of a stage, `depth` levels below the stage's root.
#[derive(Debug, Clone)]
pub struct StageOperator {
    pub depth: usize,
    pub name: String,
    /// The operator as a plan prints it on one line.
    pub description: String,
    /// Its figures summed over the stage's tasks; `None` if it keeps none.
    pub metrics: Option<MetricsSet>,
}

/// What a cluster did for one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobFigures {
    pub stages: usize,
    pub tasks: usize,
    /// Bytes the query's operators spilled on the executors.
    pub spilled: usize,
}

impl Job {
    pub fn figures(&self) -> JobFigures {
        let operators = self.stages.iter().flat_map(|stage| &stage.operators);
        JobFigures {
            stages: self.stages.len(),
            tasks: self.stages.iter().map(|stage| stage.tasks).sum(),
            spilled: operators
                .filter_map(|operator| operator.metrics.as_ref()?.spilled_bytes())
                .sum(),
        }
    }
}

/// The finished job of `plan`, run on the cluster at `url`; `None` if the
/// scheduler does not tell.
pub async fn finished_job(plan: &Arc<dyn ExecutionPlan>, url: &str) -> Option<Job> {
    let job_id = job_id(plan)?;
    let recorded = ask_scheduler(scheduler_endpoint(url).ok()?, |mut client| async move {
        client.get_job_metrics(GetJobMetricsParams { job_id }).await
    })
    .await?;
    let stages = recorded
        .stages
        .into_iter()
        .map(|stage| JobStage {
            id: stage.stage_id as usize,
            tasks: stage.partitions as usize,
            operators: stage.operators.into_iter().map(stage_operator).collect(),
        })
        .collect();
    Some(Job { stages })
}

fn stage_operator(operator: OperatorWithMetrics) -> StageOperator {
    let metrics = (!operator.metrics.is_empty())
        .then(|| {
            OperatorMetricsSet {
                metrics: operator.metrics,
            }
            .try_into()
            .ok()
        })
        .flatten()
        .map(|metrics: MetricsSet| metrics.aggregate_by_name());
    StageOperator {
        depth: operator.depth as usize,
        name: operator.operator_type,
        description: operator.operator_desc,
        metrics,
    }
}

/// The scheduler's route that tells how far a running job has come
/// (served by `cluster::scheduler`; Ballista 55's gRPC tells only of the
/// stages that have finished).
pub const PROGRESS_ROUTE: &str = "/morsel/jobs/{job_id}/progress";

/// How far a running job has come: each of its stages, its tasks (one per
/// partition of its input) done and in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobProgress {
    pub stages: Vec<StageProgress>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageProgress {
    pub tasks: usize,
    pub done: usize,
}

impl JobProgress {
    pub fn stages_done(&self) -> usize {
        self.stages.iter().filter(|s| s.done >= s.tasks).count()
    }

    pub fn tasks(&self) -> usize {
        self.stages.iter().map(|s| s.tasks).sum()
    }

    pub fn tasks_done(&self) -> usize {
        self.stages.iter().map(|s| s.done.min(s.tasks)).sum()
    }

    /// The share of tasks done, 0 to 1.
    pub fn fraction(&self) -> f64 {
        match self.tasks() {
            0 => 0.0,
            tasks => self.tasks_done() as f64 / tasks as f64,
        }
    }
}

/// How far the job of `plan`, running on the cluster at `url`, has come;
/// `None` before the scheduler has taken it, after it ended, or if the
/// scheduler does not tell within [`ASK_TIMEOUT`].
pub async fn job_progress(plan: &Arc<dyn ExecutionPlan>, url: &str) -> Option<JobProgress> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    let job_id = job_id(plan)?;
    let route = PROGRESS_ROUTE.replace("{job_id}", &job_id);
    let address = format!("{}{route}", scheduler_endpoint(url).ok()?);
    let client = CLIENT.get_or_init(reqwest::Client::new);
    let response = client.get(address).timeout(ASK_TIMEOUT).send().await.ok()?;
    let body = response.error_for_status().ok()?.bytes().await.ok()?;
    serde_json::from_slice(&body).ok()
}

/// One question to the scheduler at `endpoint`, `None` if it cannot be
/// reached or does not answer within [`ASK_TIMEOUT`].
async fn ask_scheduler<T, F, Fut>(endpoint: String, question: F) -> Option<T>
where
    F: FnOnce(SchedulerGrpcClient<Channel>) -> Fut,
    Fut: Future<Output = std::result::Result<tonic::Response<T>, tonic::Status>>,
{
    ask(connect_scheduler(endpoint).await?, question).await
}

/// A connection to the scheduler at `endpoint`, `None` if it cannot be
/// reached within [`ASK_TIMEOUT`].
async fn connect_scheduler(endpoint: String) -> Option<SchedulerGrpcClient<Channel>> {
    let endpoint = create_grpc_client_endpoint(endpoint, None).ok()?;
    let channel = tokio::time::timeout(ASK_TIMEOUT, endpoint.connect())
        .await
        .ok()?
        .ok()?;
    Some(SchedulerGrpcClient::new(channel))
}

/// One question on `client`, `None` if the scheduler does not answer within
/// [`ASK_TIMEOUT`].
async fn ask<T, F, Fut>(client: SchedulerGrpcClient<Channel>, question: F) -> Option<T>
where
    F: FnOnce(SchedulerGrpcClient<Channel>) -> Fut,
    Fut: Future<Output = std::result::Result<tonic::Response<T>, tonic::Status>>,
{
    let answer = tokio::time::timeout(ASK_TIMEOUT, question(client))
        .await
        .ok()?
        .ok()?;
    Some(answer.into_inner())
}

/// The id of the cluster's job in `plan`, once the scheduler has taken it.
fn job_id(plan: &Arc<dyn ExecutionPlan>) -> Option<String> {
    distributed_query(plan)?.job_id().map(|id| id.to_string())
}

/// The part of `plan` that the cluster runs, if any.
fn distributed_query(
    plan: &Arc<dyn ExecutionPlan>,
) -> Option<&DistributedQueryExec<LogicalPlanNode>> {
    if let Some(distributed) = plan.downcast_ref::<DistributedQueryExec<LogicalPlanNode>>() {
        return Some(distributed);
    }
    plan.children().into_iter().find_map(distributed_query)
}
