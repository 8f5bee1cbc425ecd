//! sqlfuzz: differential SQL testing of morsel.
//!
//! Writes random tables (Parquet, CSV, hive-partitioned, empty), generates
//! random queries over them, and checks each answer against three oracles:
//! - DuckDB's answer to the same SQL over the same files;
//! - ternary-logic partitioning on morsel alone: `q` holds exactly the rows
//!   of `q WHERE p`, `q WHERE NOT p` and `q WHERE p IS NULL`;
//! - morsel under a small `--memory-limit`, where its spilling rules
//!   replace every join, against morsel without one.
//!
//! A mismatch is written to `DIR/mismatches/` with both answers, and the
//! run exits 1. `cargo run --release --example sqlfuzz -- --queries N --seed S`.
//! With `--cluster df://HOST:PORT` the session without a limit runs its
//! queries on that cluster, whose answers the oracles then check.

mod data;
mod duckdb;
mod queries;
mod values;

use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use futures::FutureExt;
use morsel::engine::EngineOptions;
use morsel::session::{Collected, Session};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::duckdb::DuckDb;
use crate::values::{Row, rows_of_batches, same_rows, shown};

#[derive(Parser)]
#[command(about = "Differential SQL testing of morsel against DuckDB")]
struct Args {
    /// Queries to run
    #[arg(long, default_value_t = 1000)]
    queries: u64,
    /// Seed of the tables and queries; the same seed runs the same queries
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Draw the queries before this one without running them: the tables
    /// and query of a report come back in seconds (`--from N --queries
    /// N+1` leaves query N's tables in `--dir`)
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// Queries over one set of tables before new ones are written
    #[arg(long, default_value_t = 100)]
    per_tables: u64,
    /// Most rows of a table
    #[arg(long, default_value_t = 40)]
    max_rows: usize,
    /// Memory limit of the second morsel session, in MiB
    #[arg(long, default_value_t = 8)]
    memory_limit_mib: usize,
    /// Leave NaN, ±inf and -0.0 out of the doubles (0 stays)
    #[arg(long)]
    finite: bool,
    /// Where tables and mismatch reports go (default: a new temporary directory)
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Run the session without a memory limit on this cluster (df://HOST:PORT)
    #[arg(long)]
    cluster: Option<String>,
}

/// A statement's answer: rows, or the error's one line.
type Answer = Result<Vec<Row>, String>;

/// Longer than any query over these tables takes; past it, a hang.
const QUERY_TIME_LIMIT: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Tally {
    queries: u64,
    compared_with_duckdb: u64,
    both_refused: u64,
    split_checked: u64,
    limited_checked: u64,
    mismatches: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let temp = tempfile_dir();
    let dir = args.dir.clone().unwrap_or_else(|| temp.clone());
    let reports = dir.join("mismatches");
    std::fs::create_dir_all(&reports).expect("report directory");
    let options = EngineOptions {
        threads: Some(4),
        ..EngineOptions::default()
    };
    let runtime = morsel::session::tokio_runtime(&options).expect("runtime");
    let tally = runtime.block_on(run(&args, &dir, &reports));
    if args.dir.is_none() && tally.mismatches == 0 {
        let _ = std::fs::remove_dir_all(&temp);
    }
    println!(
        "sqlfuzz seed {}: {} queries; {} compared with DuckDB ({} refused by both), \
         {} split by ternary logic, {} run under {} MiB; {} mismatches{}",
        args.seed,
        tally.queries,
        tally.compared_with_duckdb,
        tally.both_refused,
        tally.split_checked,
        tally.limited_checked,
        args.memory_limit_mib,
        tally.mismatches,
        if tally.mismatches > 0 {
            format!(" (reports in {})", reports.display())
        } else {
            String::new()
        }
    );
    if tally.mismatches > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sqlfuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

/// The sessions that answer for morsel, over one set of tables.
struct Morsel {
    free: Session,
    limited: Session,
}

impl Morsel {
    /// The sessions over `dir`'s tables; the one without a memory limit on
    /// `cluster`, if given.
    async fn open(dir: &Path, memory_limit_mib: usize, cluster: Option<String>) -> Self {
        let free = session(dir, None, cluster).await;
        let limited = session(dir, Some(memory_limit_mib << 20), None).await;
        Self { free, limited }
    }
}

async fn session(dir: &Path, memory_limit: Option<usize>, cluster: Option<String>) -> Session {
    let options = EngineOptions {
        threads: Some(4),
        memory_limit,
        cluster,
        ..EngineOptions::default()
    };
    let session = Session::new(&options).expect("session");
    let tables = dir.join("tables");
    for found in session
        .register_directory(tables.to_str().expect("UTF-8 path"))
        .await
        .expect("tables open")
    {
        if let Err(e) = found.table {
            panic!("table {}: {e}", found.name);
        }
    }
    session
}

/// morsel's answer; a panic or a hang is an answer too, and a mismatch.
async fn answer(session: &Session, sql: &str) -> Answer {
    let mut sink = Collected::default();
    let run = AssertUnwindSafe(session.execute(sql, &mut sink)).catch_unwind();
    match tokio::time::timeout(QUERY_TIME_LIMIT, run).await {
        Err(_) => Err(format!("HANG: no answer in {QUERY_TIME_LIMIT:?}")),
        Ok(Err(panic)) => Err(format!("PANIC: {}", panic_message(&panic))),
        Ok(Ok(Err(e))) => Err(e.to_string()),
        Ok(Ok(Ok(_))) => Ok(rows_of_batches(&sink.batches)),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic".to_string())
}

/// Whether two answers agree: the same rows, or both refused; never a
/// panic or a hang.
fn agree(a: &Answer, b: &Answer) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => same_rows(x, y),
        (Err(x), Err(y)) => !is_crash(x) && !is_crash(y),
        _ => false,
    }
}

fn is_crash(error: &str) -> bool {
    error.starts_with("PANIC") || error.starts_with("HANG")
}

async fn run(args: &Args, dir: &Path, reports: &Path) -> Tally {
    let mut rng = StdRng::seed_from_u64(args.seed);
    let tables = data::tables();
    let mut tally = Tally::default();
    let mut duckdb: Option<DuckDb> = None;
    let mut morsel: Option<Morsel> = None;
    let started = Instant::now();
    for n in 0..args.queries {
        if n % args.per_tables == 0 {
            data::write_tables(dir, &mut rng, args.max_rows, !args.finite);
            morsel = None;
        }
        let query = queries::Generator::new(&mut rng, &tables).query();
        if n < args.from {
            continue;
        }
        if morsel.is_none() {
            morsel = Some(Morsel::open(dir, args.memory_limit_mib, args.cluster.clone()).await);
            match &mut duckdb {
                Some(d) => d.create_tables(dir),
                None => duckdb = Some(DuckDb::start(dir)),
            }
        }
        let (Some(duckdb), Some(morsel)) = (&mut duckdb, &morsel) else {
            unreachable!("opened above");
        };
        tally.queries += 1;
        let mut report = String::new();
        let ours = answer(&morsel.free, &query.sql).await;
        let theirs = duckdb.query(&query.sql);
        match (&ours, &theirs) {
            (Err(_), Err(_)) if agree(&ours, &theirs) => tally.both_refused += 1,
            _ => {
                tally.compared_with_duckdb += 1;
                if !agree(&ours, &theirs) {
                    describe(&mut report, "DuckDB", &query.sql, &ours, &theirs);
                }
            }
        }
        let limited = answer(&morsel.limited, &query.sql).await;
        tally.limited_checked += 1;
        if !agree(&ours, &limited) {
            describe(&mut report, "memory limit", &query.sql, &ours, &limited);
        }
        if let (Some(split), Ok(_)) = (&query.split, &ours) {
            let whole = answer(&morsel.free, &split.whole()).await;
            let mut parts = Vec::new();
            for part in split.parts() {
                parts.push(answer(&morsel.free, &part).await);
            }
            let parts: Answer = parts
                .into_iter()
                .collect::<Result<Vec<_>, _>>()
                .map(values::union);
            tally.split_checked += 1;
            if !agree(&whole, &parts) {
                let sql = format!("{}\n-- split on: {}", split.whole(), split.predicate);
                describe(&mut report, "ternary logic", &sql, &whole, &parts);
            }
        }
        if !report.is_empty() {
            tally.mismatches += 1;
            let file = reports.join(format!("seed{}-query{n}.txt", args.seed));
            std::fs::write(&file, &report).expect("write report");
            println!("mismatch: {}", file.display());
        }
        if (n + 1) % 1000 == 0 {
            eprintln!(
                "sqlfuzz: {} queries, {} mismatches, {:.0} s",
                n + 1,
                tally.mismatches,
                started.elapsed().as_secs_f64()
            );
        }
    }
    tally
}

fn describe(report: &mut String, oracle: &str, sql: &str, ours: &Answer, theirs: &Answer) {
    let show = |a: &Answer| match a {
        Ok(rows) => format!("{} rows\n{}", rows.len(), shown(rows)),
        Err(e) => format!("error: {e}"),
    };
    let _ = write!(
        report,
        "-- oracle: {oracle}\n{sql};\n-- morsel:\n{}\n-- {oracle}:\n{}\n\n",
        show(ours),
        show(theirs)
    );
}
