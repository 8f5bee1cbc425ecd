//! `morsel cluster scheduler`: Ballista's scheduler, which takes each
//! query from a client, cuts it into stages and hands their tasks to the
//! executors that registered with it. It plans with morsel's rules
//! (`engine::scheduler_state`), and beside Ballista's gRPC answers one
//! route of morsel's own: how far a running job has come
//! ([`engine::PROGRESS_ROUTE`]), for the client's progress bar.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ballista_core::execution_plans::ShuffleWriterExec;
use ballista_core::serde::protobuf::scheduler_grpc_server::SchedulerGrpcServer;
use ballista_core::serde::protobuf::task_status;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::create_scheduler;
use ballista_scheduler::scheduler_server::SchedulerServer;
use ballista_scheduler::state::execution_graph::ExecutionGraph;
use ballista_scheduler::state::execution_stage::{ExecutionStage, TaskInfo};
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use tonic::service::RoutesBuilder;

use super::{faults, log_lines, stop_signal, warn_if_exposed};
use crate::catalog::MorselTableCodec;
use crate::engine::{self, JobProgress, StageProgress};
use crate::error::{Error, Result};
use crate::storage::NodeStores;

/// Where the scheduler listens for clients and executors.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    pub bind: SocketAddr,
}

/// Runs the scheduler until SIGTERM or Ctrl-C.
pub async fn run(options: &SchedulerOptions) -> Result<()> {
    log_lines::install();
    warn_if_exposed("scheduler", &options.bind);
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        Error::Cluster(format!("scheduler on {}: {what}: {e}", options.bind))
    };
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .map_err(|e| failed("cannot listen", &e))?;
    // The port actually bound: `--bind 127.0.0.1:0` takes a free one, which
    // executors are told to call back on and `--cluster local:N` reads.
    let address = listener
        .local_addr()
        .map_err(|e| failed("cannot listen", &e))?;
    let config = Arc::new(config(address));
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| failed("cannot start", &e))?;
    let scheduler = create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, config)
        .await
        .map_err(|e| failed("cannot start", &e))?;
    eprintln!("scheduler listening on {address}");
    tokio::select! {
        served = serve(listener, scheduler) => {
            served.map_err(|e| failed("stopped", &e))
        }
        signal = stop_signal() => {
            eprintln!("scheduler stopping ({signal})");
            Ok(())
        }
    }
}

fn config(address: SocketAddr) -> SchedulerConfig {
    let host = address.ip().to_string();
    // It lists each query's files, so it reads with morsel's stores and
    // the S3 settings the query brings.
    let stores = NodeStores::default();
    let mut config = SchedulerConfig::default()
        .with_hostname(host.clone())
        .with_port(address.port())
        .with_override_config_producer(Arc::new(engine::node_config))
        .with_override_session_builder(Arc::new(move |session| {
            engine::scheduler_state(session, &stores)
        }));
    // The scheduler decodes each query's plan, morsel's tables in it.
    config.override_logical_codec = Some(Arc::new(MorselTableCodec::default()));
    config.bind_host = host;
    faults::detect_lost_executors_quickly(&mut config);
    config
}

type Scheduler = SchedulerServer<LogicalPlanNode, PhysicalPlanNode>;

/// Ballista's gRPC service and the progress route on `listener`, as
/// Ballista's `start_grpc_service_with_listener` serves the former (which
/// takes no route of ours); its REST API, Flight SQL and Flight proxy,
/// which that also mounts, are off in morsel.
async fn serve(listener: tokio::net::TcpListener, scheduler: Scheduler) -> std::io::Result<()> {
    let config = Arc::clone(&scheduler.state.config);
    let grpc = SchedulerGrpcServer::new(scheduler.clone())
        .max_encoding_message_size(config.grpc_server_max_encoding_message_size as usize)
        .max_decoding_message_size(config.grpc_server_max_decoding_message_size as usize);
    let mut routes = RoutesBuilder::default();
    routes.add_service(grpc);
    let progress = axum::Router::new()
        .route(engine::PROGRESS_ROUTE, axum::routing::get(job_progress))
        .with_state(Arc::new(scheduler));
    let app = routes.routes().into_axum_router().merge(progress);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

/// How far the running job `job_id` has come; 404 for a job not running.
async fn job_progress(
    State(scheduler): State<Arc<Scheduler>>,
    Path(job_id): Path<String>,
) -> Response {
    let running = scheduler.state.task_manager.get_running_job_cache();
    let Some(job) = running.get(job_id.as_str()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let graph = job.execution_graph.read().await;
    Json(progress_of(graph.as_ref())).into_response()
}

fn progress_of(graph: &dyn ExecutionGraph) -> JobProgress {
    let mut stages: Vec<(usize, StageProgress)> = graph
        .stages()
        .iter()
        .map(|(id, stage)| (*id, stage_progress(stage)))
        .collect();
    stages.sort_by_key(|(id, _)| *id);
    JobProgress {
        stages: stages.into_iter().map(|(_, stage)| stage).collect(),
    }
}

/// A stage's tasks, one per partition of its input, and those done.
fn stage_progress(stage: &ExecutionStage) -> StageProgress {
    match stage {
        ExecutionStage::UnResolved(stage) => StageProgress {
            tasks: input_partitions(&stage.plan),
            done: 0,
        },
        ExecutionStage::Resolved(stage) => StageProgress {
            tasks: stage.partitions,
            done: 0,
        },
        ExecutionStage::Running(stage) => StageProgress {
            tasks: stage.partitions,
            done: partitions_done(&stage.task_infos),
        },
        ExecutionStage::Successful(stage) => StageProgress {
            tasks: stage.partitions,
            done: stage.partitions,
        },
        ExecutionStage::Failed(stage) => StageProgress {
            tasks: stage.partitions,
            done: 0,
        },
    }
}

/// The partitions of a stage's input, as Ballista counts them once the
/// stage's inputs are in (they may change then).
fn input_partitions(plan: &Arc<dyn ExecutionPlan>) -> usize {
    let input = match plan.children().first() {
        Some(input) if plan.is::<ShuffleWriterExec>() => Arc::clone(input),
        _ => Arc::clone(plan),
    };
    input.output_partitioning().partition_count().max(1)
}

/// The partitions that a stage's successful tasks have done (Ballista 55
/// gives a task several when an executor has cores free).
fn partitions_done(tasks: &[TaskInfo]) -> usize {
    tasks
        .iter()
        .filter(|task| matches!(task.task_status, task_status::Status::Successful(_)))
        .map(|task| task.global_input_partition_ids.len())
        .sum()
}
