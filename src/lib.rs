//! morsel: SQL over partitioned CSV and Parquet files, on DataFusion.
//!
//! Modules in the order a statement meets them; each imports only those
//! below it (`error` excepted, which all use, and `tpch` and `output`, which
//! sit beside the front end).

/// Tables over files and directories, with hive partitions typed.
pub mod catalog;
/// Command line, batch scripts and the REPL: where SQL text comes from.
pub mod cli;
/// Cluster mode's processes: a Ballista scheduler and executors, embedded.
pub mod cluster;
/// The engine: DataFusion's context, memory pool and runtime, set up as
/// morsel wants them; what the session plans and executes on.
pub mod engine;
/// morsel's error type: one line each, with a position in the SQL when known.
pub mod error;
/// Result formats: table, CSV, TSV, JSON, NDJSON, markdown, plan graphs.
pub mod output;
/// Planning: morsel's optimizer rules, in order, and the operators they insert.
pub mod planning;
/// The session: runs statements for both front ends, stages COPY, answers
/// the S3 statements, reports progress and turns engine errors into lines.
pub mod session;
/// Where table bytes live: local disk or S3, with credentials and I/O counts.
pub mod storage;
/// TPC-H built in: data generator, the 22 queries, answers, benchmark runner.
pub mod tpch;
