//! Runs the SQL-logic tests against fresh morsel sessions.
//!
//! Each file starts with the tables of `testdata/data` registered, as
//! `morsel testdata/data` would. Values print as the `table` format prints
//! them, with `NULL` for nulls.
//!
//! `tests/slt/*.slt` run twice: with memory to spare, and under a small
//! memory limit, where morsel's planning rules put a spilling join in place
//! of every hash join; both passes must give the same answers.
//! They run a third time through a cluster of real processes on loopback
//! (a scheduler and two executors), which must answer as this process
//! does. `tests/slt/plans/*.slt` run under the limit only, on a fixed number of
//! partitions: they pin the plans our rules make (`EXPLAIN`, one row per
//! plan line, indentation shown as `--`), so a rule that changes a plan
//! shows up in a diff.
//!
//! `cargo test --test sqllogictest -- [FILTER] [--complete]`: only files
//! whose path contains FILTER; `--complete` rewrites their expected results
//! from what morsel answers now (review the diff before committing it).

mod common;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use morsel::error::Error;
use morsel::session::{Collected, EngineOptions, Session};
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType};

use common::cluster::Cluster;

/// The limit of the second pass: small enough that the joins of
/// `joins.slt` spill, big enough for every other statement.
const SMALL_LIMIT: usize = 8 * 1024 * 1024;

/// Partitions of the plan-shape pass, whatever the machine's cores.
const PLAN_PARTITIONS: usize = 4;

struct MorselDb {
    session: Session,
}

#[async_trait]
impl AsyncDB for MorselDb {
    type Error = Error;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, Error> {
        let mut sink = Collected::default();
        self.session.execute(sql, &mut sink).await?;
        let schema = sink.schema.expect("begin is always called");
        if schema.fields().is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let rows = morsel::output::text_rows(&sink.batches, "NULL");
        if is_explain(&schema) {
            return Ok(DBOutput::Rows {
                types: vec![DefaultColumnType::Text],
                rows: plan_lines(rows),
            });
        }
        let types = schema
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect();
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}
}

fn column_type(ty: &DataType) -> DefaultColumnType {
    if ty.is_integer() {
        DefaultColumnType::Integer
    } else if ty.is_floating() || matches!(ty, DataType::Decimal128(..) | DataType::Decimal256(..))
    {
        DefaultColumnType::FloatingPoint
    } else {
        DefaultColumnType::Text
    }
}

fn is_explain(schema: &SchemaRef) -> bool {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    names == ["plan_type", "plan"]
}

/// `EXPLAIN`'s (plan_type, plan) rows as one row per line: the plan type,
/// then `01)Node`, `02)--Child`, … (sqllogictest squeezes spaces, so the
/// indentation is spelled with dashes, as in DataFusion's own tests).
fn plan_lines(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    let mut lines = Vec::new();
    for row in rows {
        let [plan_type, plan] = <[String; 2]>::try_from(row).expect("two columns");
        lines.push(vec![plan_type]);
        for (n, line) in plan.lines().enumerate() {
            let text = line.trim_start();
            let indent = "-".repeat(line.len() - text.len());
            let text = with_test_dir_named(text);
            lines.push(vec![format!("{:02}){indent}{text}", n + 1)]);
        }
    }
    lines
}

/// `text` with each path into a file's temporary directory (`__TEST_DIR__`,
/// a new name each run, which plans show without the leading `/`) written
/// as `TEST_DIR`, so plans of files the test wrote compare equal.
fn with_test_dir_named(text: &str) -> String {
    let temp = std::env::temp_dir();
    let prefix = format!("{}/.tmp", temp.to_string_lossy().trim_matches('/'));
    let mut named = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(&prefix) {
        named.push_str(&rest[..start]);
        named.push_str("TEST_DIR");
        let after = &rest[start + prefix.len()..];
        rest = &after[after.find('/').unwrap_or(after.len())..];
    }
    named.push_str(rest);
    named
}

/// One run over a folder of `.slt` files with one engine setup.
struct Pass {
    name: &'static str,
    /// What `onlyif` and `skipif` lines call this pass.
    label: &'static str,
    folder: &'static str,
    options: EngineOptions,
}

/// The passes, the last through the cluster at `cluster` (`df://…`).
fn passes(cluster: &str) -> [Pass; 4] {
    let limited = EngineOptions {
        memory_limit: Some(SMALL_LIMIT),
        ..EngineOptions::default()
    };
    [
        Pass {
            name: "unlimited",
            label: "unlimited",
            folder: "tests/slt",
            options: EngineOptions::default(),
        },
        Pass {
            name: "8 MB limit",
            label: "limited",
            folder: "tests/slt",
            options: limited.clone(),
        },
        Pass {
            name: "plans",
            label: "plans",
            folder: "tests/slt/plans",
            options: EngineOptions {
                threads: Some(PLAN_PARTITIONS),
                ..limited
            },
        },
        Pass {
            name: "cluster",
            label: "cluster",
            folder: "tests/slt",
            options: EngineOptions {
                cluster: Some(cluster.to_string()),
                ..EngineOptions::default()
            },
        },
    ]
}

async fn connect(options: EngineOptions) -> Result<MorselDb, Error> {
    let session = Session::new(&options)?;
    for found in session.register_directory("testdata/data").await? {
        found.table?;
    }
    Ok(MorselDb { session })
}

fn slt_files(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .expect("the slt folder exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    files
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let complete = args.iter().any(|a| a == "--complete");
    let filter = args.iter().find(|a| !a.starts_with('-'));
    let (mut passed, mut failed) = (0, 0);
    let cluster = Cluster::start(2);
    for pass in passes(&cluster.url) {
        for file in slt_files(Path::new(pass.folder)) {
            if filter.is_some_and(|f| !file.to_string_lossy().contains(f.as_str())) {
                continue;
            }
            let options = pass.options.clone();
            let mut runner = sqllogictest::Runner::new(move || connect(options.clone()));
            // `skipif cluster` / `onlyif unlimited` mark what one pass does
            // otherwise, each with its reason beside it.
            runner.add_label(pass.label);
            let outcome = if complete {
                runner
                    .update_test_file(
                        &file,
                        " ",
                        sqllogictest::default_validator,
                        sqllogictest::default_normalizer,
                        sqllogictest::default_column_validator,
                    )
                    .await
                    .map_err(|e| e.to_string())
            } else {
                runner
                    .run_file_async(&file)
                    .await
                    .map_err(|e| e.to_string())
            };
            match outcome {
                Ok(()) => {
                    passed += 1;
                    println!("ok    {} ({})", file.display(), pass.name);
                }
                Err(e) => {
                    failed += 1;
                    println!("FAIL  {} ({})\n{e}", file.display(), pass.name);
                }
            }
        }
    }
    println!("sqllogictest: {passed} passed, {failed} failed");
    // Stopped here: `exit` below would leave its processes running.
    drop(cluster);
    if failed > 0 || passed == 0 {
        std::process::exit(1);
    }
}
