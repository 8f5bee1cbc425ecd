//! How fast the cluster notices a lost executor: in seconds, not Ballista's
//! minutes. An executor reports every [`HEARTBEAT_SECONDS`]; the scheduler
//! gives up on one silent for [`EXECUTOR_TIMEOUT_SECONDS`], re-runs the
//! stages whose shuffle files it held, and fails a query that has had no
//! executor for as long (Ballista's chaos tests use the same order of
//! settings).

use ballista_executor::executor_process::ExecutorProcessConfig;
use ballista_scheduler::config::SchedulerConfig;

/// Seconds between an executor's heartbeats.
const HEARTBEAT_SECONDS: u64 = 1;

/// Seconds without a heartbeat after which an executor is lost: a few
/// missed beats, so a busy executor is not given up on.
const EXECUTOR_TIMEOUT_SECONDS: u64 = 5;

/// The executor's side: beat often.
pub fn heartbeat_often(config: &mut ExecutorProcessConfig) {
    config.executor_heartbeat_interval_seconds = HEARTBEAT_SECONDS;
    // Wait for a scheduler that is still starting, as `--cluster local:N`'s
    // is, instead of failing at once.
    config.scheduler_connect_timeout_seconds = 10;
}

/// The scheduler's side: check often, give up after a few missed beats.
pub fn detect_lost_executors_quickly(config: &mut SchedulerConfig) {
    config.executor_timeout_seconds = EXECUTOR_TIMEOUT_SECONDS;
    config.expire_dead_executor_interval_seconds = HEARTBEAT_SECONDS;
    config.no_executors_grace_period_seconds = EXECUTOR_TIMEOUT_SECONDS;
}
