//! `morsel cluster scheduler`: Ballista's scheduler, which takes each
//! query from a client, cuts it into stages and hands their tasks to the
//! executors that registered with it. It plans with morsel's rules
//! (`engine::scheduler_state`).

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};

use super::{faults, log_lines, stop_signal, warn_if_exposed};
use crate::catalog::MorselTableCodec;
use crate::engine;
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
        served = start_grpc_service_with_listener(listener, scheduler) => {
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
