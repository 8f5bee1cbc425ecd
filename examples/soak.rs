//! soak: one morsel session running thousands of statements — queries,
//! joins that spill, statements that fail, queries cancelled half-way,
//! COPYs, tables made and dropped — while it watches resident memory, open
//! file descriptors, spill files and COPY staging.
//!
//! It passes when, after a warm-up of the first tenth of the statements:
//! resident memory rises no more than `--rss-growth-mib`, descriptors end
//! where they stood, and no spill file or staging directory is ever left
//! between statements. `cargo run --release --example soak -- --statements 10000`

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use morsel::engine::EngineOptions;
use morsel::session::{Collected, Session};

#[derive(Parser)]
#[command(about = "A long morsel session, with memory, descriptors and spill files watched")]
struct Args {
    /// Statements to run
    #[arg(long, default_value_t = 10_000)]
    statements: usize,
    /// How far resident memory may rise after the warm-up, in MiB
    #[arg(long, default_value_t = 64)]
    rss_growth_mib: usize,
    /// The session's memory limit, in MiB: joins over the larger tables spill
    #[arg(long, default_value_t = 32)]
    memory_limit_mib: usize,
}

/// How often the figures are taken.
const EVERY: usize = 500;

/// Statement `n` of the rotation, and whether it must succeed (`true`) or
/// must fail (`false`). A cancelled query is neither: see [`CANCEL`].
fn statement(n: usize, dir: &Path) -> (String, bool) {
    let out = dir.join("out");
    let i = n / STATEMENTS.len();
    match STATEMENTS[n % STATEMENTS.len()] {
        Kind::Query(sql) => (sql.replace("{i}", &(i % 97).to_string()), true),
        Kind::Fails(sql) => (sql.to_string(), false),
        Kind::Copy => (
            format!(
                "COPY (SELECT k, sum(v) AS v FROM big WHERE k % 7 = {} GROUP BY k) TO '{}/agg.parquet'",
                i % 7,
                out.display()
            ),
            true,
        ),
        Kind::CopyPartitioned => (
            format!(
                "COPY (SELECT k % 5 AS part, v FROM big WHERE v < {}) TO '{}/parts/' STORED AS PARQUET \
                 PARTITIONED BY (part)",
                i % 89,
                out.display()
            ),
            true,
        ),
        Kind::Cancel => (CANCEL.to_string(), true),
    }
}

enum Kind {
    Query(&'static str),
    Fails(&'static str),
    Copy,
    CopyPartitioned,
    Cancel,
}

/// A query that runs far longer than it is given: it is cancelled.
const CANCEL: &str =
    "SELECT count(*), sum(a.value * b.value) FROM range(100000) a, range(100000) b";
const CANCEL_AFTER: Duration = Duration::from_millis(30);

const STATEMENTS: [Kind; 16] = [
    Kind::Query("SELECT k % 10 AS g, count(*), sum(v), avg(v) FROM big GROUP BY g ORDER BY g"),
    Kind::Query(
        "SELECT count(*), sum(a.v), sum(b.v) FROM big a JOIN other b ON a.k = b.k WHERE a.v > {i}",
    ),
    Kind::Fails("SELEC 1"),
    Kind::Query("SELECT * FROM big ORDER BY v DESC, k LIMIT 5"),
    Kind::Copy,
    Kind::Fails("SELECT * FROM no_such_table"),
    Kind::Query(
        "SELECT k, v, row_number() OVER (PARTITION BY k % 3 ORDER BY v) FROM big WHERE k < 2000",
    ),
    Kind::Cancel,
    Kind::Fails("SELECT 9223372036854775807 + k FROM big"),
    Kind::Query("CREATE TABLE scratch AS SELECT k, v FROM big WHERE v = {i}"),
    Kind::Query("SELECT count(*) FROM scratch"),
    Kind::Query("DROP TABLE scratch"),
    Kind::CopyPartitioned,
    Kind::Fails("SELECT * FROM 'no/such/file.parquet'"),
    Kind::Query("SELECT count(*) FROM big WHERE k NOT IN (SELECT k FROM other WHERE v < {i})"),
    Kind::Query("SET datafusion.execution.batch_size = 4096"),
];

/// The figures the soak watches.
#[derive(Debug, Clone, Copy)]
struct Figures {
    rss_mib: usize,
    descriptors: usize,
    spill_files: usize,
    staging: usize,
}

fn figures(dir: &Path) -> Figures {
    Figures {
        rss_mib: resident_mib(),
        descriptors: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count()),
        spill_files: files_under(&dir.join("spill")),
        staging: staging_under(&dir.join("out")),
    }
}

fn resident_mib() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    (pages * 4096) >> 20
}

fn files_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => files_under(&entry.path()),
            _ => 1,
        })
        .sum()
}

/// COPY stages beside its target in hidden `.morsel-copy-*` entries.
fn staging_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            let hidden = entry
                .file_name()
                .to_string_lossy()
                .starts_with(".morsel-copy");
            let below = match entry.file_type() {
                Ok(t) if t.is_dir() => staging_under(&entry.path()),
                _ => 0,
            };
            usize::from(hidden) + below
        })
        .sum()
}

fn main() -> ExitCode {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("soak-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("spill")).expect("spill directory");
    std::fs::create_dir_all(dir.join("out")).expect("output directory");
    let options = EngineOptions {
        threads: Some(2),
        memory_limit: Some(args.memory_limit_mib << 20),
        temp_dir: Some(dir.join("spill")),
        ..EngineOptions::default()
    };
    let runtime = morsel::session::tokio_runtime(&options).expect("runtime");
    let passed = runtime.block_on(soak(&args, &options, &dir));
    let _ = std::fs::remove_dir_all(&dir);
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn soak(args: &Args, options: &EngineOptions, dir: &Path) -> bool {
    let session = Session::new(options).expect("session");
    for setup in [
        "CREATE TABLE big AS SELECT value % 50000 AS k, value % 97 AS v FROM range(400000)",
        "CREATE TABLE other AS SELECT value * 3 % 60000 AS k, value % 89 AS v FROM range(300000)",
    ] {
        run(&session, setup).await.expect("setup");
    }
    let started = Instant::now();
    let warm_up = (args.statements / 10).max(1);
    let mut baseline: Option<Figures> = None;
    let mut most_rss = 0;
    let mut problems = Vec::new();
    let mut tally = [0usize; 3]; // answered, refused as they should be, cancelled
    let mut left_after = 0;
    for n in 0..args.statements {
        let (sql, must_succeed) = statement(n, dir);
        if sql == CANCEL {
            let cancelled = tokio::time::timeout(CANCEL_AFTER, run(&session, &sql)).await;
            if cancelled.is_ok() {
                problems.push(format!("statement {n} was not cancelled: it finished"));
            }
            tally[2] += 1;
        } else {
            match (run(&session, &sql).await, must_succeed) {
                (Ok(()), true) => tally[0] += 1,
                (Err(_), false) => tally[1] += 1,
                (Ok(()), false) => problems.push(format!("statement {n} succeeded: {sql}")),
                (Err(e), true) => problems.push(format!("statement {n} failed: {sql}: {e}")),
            }
        }
        let now = figures(dir);
        most_rss = most_rss.max(now.rss_mib);
        if now.spill_files > 0 || now.staging > 0 {
            left_after += 1;
            problems.push(format!(
                "after statement {n} ({sql}): {} spill files, {} staging entries left",
                now.spill_files, now.staging
            ));
        }
        if n + 1 == warm_up {
            baseline = Some(now);
        }
        if (n + 1) % EVERY == 0 || n + 1 == args.statements {
            println!(
                "soak: {:>6} statements, {:>5.0} s: resident {} MiB, {} descriptors",
                n + 1,
                started.elapsed().as_secs_f64(),
                now.rss_mib,
                now.descriptors,
            );
        }
        if problems.len() > 20 {
            break;
        }
    }
    let end = figures(dir);
    let base = baseline.unwrap_or(end);
    let growth = end.rss_mib.saturating_sub(base.rss_mib);
    if growth > args.rss_growth_mib {
        problems.push(format!(
            "resident memory rose {growth} MiB after the warm-up ({} to {} MiB), over {} MiB",
            base.rss_mib, end.rss_mib, args.rss_growth_mib
        ));
    }
    if end.descriptors > base.descriptors {
        problems.push(format!(
            "descriptors rose from {} after the warm-up to {}",
            base.descriptors, end.descriptors
        ));
    }
    println!(
        "soak: {} statements in {:.0} s ({} answered, {} refused as they should be, {} cancelled); \
         resident {} MiB after warm-up, {} MiB at the end, {} MiB at most; descriptors {} then {}; \
         statements that left spill files or staging behind: {}",
        args.statements,
        started.elapsed().as_secs_f64(),
        tally[0],
        tally[1],
        tally[2],
        base.rss_mib,
        end.rss_mib,
        most_rss,
        base.descriptors,
        end.descriptors,
        left_after,
    );
    for problem in &problems {
        println!("soak problem: {problem}");
    }
    problems.is_empty()
}

/// Runs a statement to the end, results dropped.
async fn run(session: &Session, sql: &str) -> Result<(), String> {
    let mut sink = Collected::default();
    session
        .execute(sql, &mut sink)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
