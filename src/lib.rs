//! morsel: SQL over partitioned CSV and Parquet files, on DataFusion.
//!
//! Modules in the order a query meets them:

/// Tables over files and directories, with hive partitions typed.
pub mod catalog;
/// Command line, batch scripts and the REPL: where SQL text comes from.
pub mod cli;
/// Errors of every layer, joined, one line each.
pub mod error;
/// The session: engine, memory pool and the statement runner both front ends share.
pub mod execution;
/// Result formats: table, CSV, TSV, JSON, NDJSON, markdown.
pub mod output;
/// Where table bytes live: local disk or S3, with credentials and I/O counts.
pub mod storage;
/// TPC-H built in: data generator, the 22 queries, answers, benchmark runner.
pub mod tpch;
