//! inputfuzz: seeded mutation fuzzing of everything morsel reads.
//!
//! Targets, each a valid seed mutated case by case:
//! - `parquet`: bit flips, truncation, a footer length pointing anywhere,
//!   sizes and offsets in the footer set to gigabytes;
//! - `csv`: ragged rows, unbalanced quotes, invalid UTF-8, byte-order
//!   marks, CR/LF mixes, NUL bytes, and now and then a 100 MB field;
//! - `partition`: hive directory names with odd keys and values;
//! - `setting`: `SET` of engine and S3 settings to odd values, then a query;
//! - `script`, `command`, `size`, `s3url`: morsel's own parsers.
//!
//! Files are read through a morsel session (`SELECT * FROM 'FILE'`), as a
//! user's would be. Every case must give an answer or a one-line error,
//! within a time limit and a memory bound: a panic, a hang, an error of
//! several lines or memory past the bound is a failure, written with its
//! input to `DIR/failures/`, and the run exits 1. The case about to run is
//! kept in `DIR/current`, so one that aborts the process can be replayed.
//!
//! `cargo run --release --example inputfuzz -- --target csv --cases N --seed S`

mod alloc;
mod files;
mod mutate;
mod parsers;

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use futures::FutureExt;
use morsel::engine::EngineOptions;
use morsel::session::{Collected, Session};
use morsel::storage::ObjectStores;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

#[derive(Parser)]
#[command(about = "Mutation fuzzing of the files and text morsel reads")]
struct Args {
    /// What to fuzz; `all` runs every target in turn
    #[arg(long, value_enum, default_value_t = Target::All)]
    target: Target,
    /// Cases per target
    #[arg(long, default_value_t = 1000)]
    cases: u64,
    /// Seed of the cases; the same seed runs the same cases
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where case files and failure reports go (default: a new temporary directory)
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Print every refusal's line
    #[arg(long)]
    verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    Parquet,
    Csv,
    Partition,
    Setting,
    Script,
    Command,
    Size,
    S3url,
    All,
}

const TARGETS: [Target; 8] = [
    Target::Parquet,
    Target::Csv,
    Target::Partition,
    Target::Setting,
    Target::Script,
    Target::Command,
    Target::Size,
    Target::S3url,
];

impl Target {
    /// Whether a case writes files (and `DIR/current`) to run.
    fn reads_files(self) -> bool {
        matches!(
            self,
            Target::Parquet | Target::Csv | Target::Partition | Target::Setting
        )
    }
}

/// What a case gave, when it gave something acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Answered,
    /// One clear line saying why not.
    Refused(String),
}

/// Longer than any case takes; past it, a hang.
const TIME_LIMIT: Duration = Duration::from_secs(20);
/// How far memory may rise in a case: a fixed allowance for the engine and
/// this much per byte of input (a 100 MB CSV field is read, and held in a
/// few copies, legitimately).
const MEMORY_ALLOWANCE: usize = 256 << 20;
const MEMORY_PER_INPUT_BYTE: usize = 8;
/// Every this many CSV cases, one has a 100 MB field.
const HUGE_FIELD_EVERY: u64 = 50_000;
const HUGE_FIELD: usize = 100 << 20;

#[derive(Default)]
struct Tally {
    cases: u64,
    answered: u64,
    refused: u64,
    failures: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("inputfuzz-{}", std::process::id())));
    let failures = dir.join("failures");
    std::fs::create_dir_all(&failures).expect("failure directory");
    let targets: Vec<Target> = match args.target {
        Target::All => TARGETS.to_vec(),
        one => vec![one],
    };
    let options = EngineOptions {
        threads: Some(2),
        ..EngineOptions::default()
    };
    let runtime = morsel::session::tokio_runtime(&options).expect("runtime");
    // A panic on any thread is a failure, also one a task's join turned
    // into an error, unless morsel caught it on purpose (a reader's panic
    // that names a corrupt file): the binary's discipline, with the place.
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info.payload_as_str().unwrap_or("a panic");
        morsel::error::record_panic(&format!("{message}{place}"));
    }));
    let mut failed = 0;
    for target in targets {
        let started = Instant::now();
        let fuzz = Fuzz {
            target,
            dir: dir.join("cases"),
            failures: failures.clone(),
            seed: args.seed,
            verbose: args.verbose,
        };
        let tally = runtime.block_on(fuzz.run(args.cases));
        println!(
            "inputfuzz {target:?} seed {}: {} cases in {:.0} s, {} answered, {} refused in one line; {} failures",
            args.seed,
            tally.cases,
            started.elapsed().as_secs_f64(),
            tally.answered,
            tally.refused,
            tally.failures
        );
        failed += tally.failures;
    }
    if failed > 0 {
        println!("failure reports in {}", failures.display());
        return ExitCode::FAILURE;
    }
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    ExitCode::SUCCESS
}

struct Fuzz {
    target: Target,
    /// Where a case's files are written, and removed after it.
    dir: PathBuf,
    failures: PathBuf,
    seed: u64,
    verbose: bool,
}

impl Fuzz {
    async fn run(&self, cases: u64) -> Tally {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let parquet_seeds = files::parquet_seeds(&mut rng);
        let mut stores = ObjectStores::new(None);
        let mut session = new_session();
        let mut tally = Tally::default();
        for n in 0..cases {
            // SET changes a session for good: start afresh now and then.
            if self.target == Target::Setting && n % 50 == 0 {
                session = new_session();
            }
            // A registry keeps a client per bucket it has seen, as a session
            // does; a million random bucket names are many sessions' worth.
            if n % 1000 == 0 {
                stores = ObjectStores::new(None);
            }
            if self.target.reads_files() {
                std::fs::create_dir_all(&self.dir).expect("case directory");
            }
            let _ = morsel::error::take_panic();
            let watch = alloc::watch();
            let started = Instant::now();
            let case = AssertUnwindSafe(self.case(n, &mut rng, &parquet_seeds, &stores, &session));
            let (input, size, outcome) =
                match tokio::time::timeout(TIME_LIMIT, case.catch_unwind()).await {
                    Err(_) => (
                        read_current(&self.dir),
                        0,
                        Err(format!("HANG: no answer in {TIME_LIMIT:?}")),
                    ),
                    Ok(Err(panic)) => (
                        read_current(&self.dir),
                        0,
                        Err(format!(
                            "PANIC: {}",
                            morsel::error::take_panic()
                                .unwrap_or_else(|| morsel::error::panic_message(&*panic))
                        )),
                    ),
                    Ok(Ok(done)) => done,
                };
            let bound = MEMORY_ALLOWANCE + MEMORY_PER_INPUT_BYTE * size;
            let outcome = outcome.and_then(|outcome| {
                if let Some(panic) = morsel::error::take_panic() {
                    Err(format!("PANIC: {panic}"))
                } else if watch.rise() > bound {
                    Err(format!(
                        "memory rose {} MiB (largest allocation {} MiB) for {size} bytes of input",
                        watch.rise() >> 20,
                        watch.largest() >> 20
                    ))
                } else {
                    Ok(outcome)
                }
            });
            if self.target.reads_files() {
                let _ = std::fs::remove_dir_all(&self.dir);
            }
            tally.cases += 1;
            match outcome {
                Ok(Outcome::Answered) => tally.answered += 1,
                Ok(Outcome::Refused(why)) => {
                    tally.refused += 1;
                    if self.verbose {
                        println!("refused: {why}");
                    }
                }
                Err(what) => {
                    tally.failures += 1;
                    self.report(n, &input, &what, started.elapsed());
                }
            }
            if (n + 1) % 100_000 == 0 {
                eprintln!(
                    "inputfuzz {:?}: {} cases, {} failures",
                    self.target,
                    n + 1,
                    tally.failures
                );
            }
        }
        tally
    }

    /// Builds case `n`, keeps its input in `DIR/current`, and runs it:
    /// the input (for a report), its size, and what came of it.
    async fn case(
        &self,
        n: u64,
        rng: &mut StdRng,
        parquet_seeds: &[Vec<u8>],
        stores: &ObjectStores,
        session: &Session,
    ) -> (Vec<u8>, usize, Result<Outcome, String>) {
        let (input, outcome) = match self.target {
            Target::Parquet => {
                let bytes = files::mutated_parquet(rng, parquet_seeds);
                self.read_file(session, "case.parquet", bytes).await
            }
            Target::Csv => {
                let bytes = if n % HUGE_FIELD_EVERY == HUGE_FIELD_EVERY - 1 {
                    files::huge_field_csv(HUGE_FIELD)
                } else {
                    files::mutated_csv(rng)
                };
                self.read_file(session, "case.csv", bytes).await
            }
            Target::Partition => self.read_partitions(session, rng).await,
            Target::Setting => set_and_query(session, rng, &self.dir).await,
            Target::Script => as_bytes(parsers::script(rng)),
            Target::Command => as_bytes(parsers::command(rng)),
            Target::Size => as_bytes(parsers::size(rng)),
            Target::S3url => as_bytes(parsers::s3_url(rng, stores)),
            Target::All => unreachable!("run one target at a time"),
        };
        let size = input.len();
        (input, size, outcome)
    }

    async fn read_file(
        &self,
        session: &Session,
        name: &str,
        bytes: Vec<u8>,
    ) -> (Vec<u8>, Result<Outcome, String>) {
        keep_current(&self.dir, &bytes);
        let path = self.dir.join(name);
        std::fs::write(&path, &bytes).expect("write case");
        let sql = format!("SELECT * FROM '{}'", path.display());
        let outcome = query(session, &sql).await;
        (bytes, outcome)
    }

    async fn read_partitions(
        &self,
        session: &Session,
        rng: &mut StdRng,
    ) -> (Vec<u8>, Result<Outcome, String>) {
        let paths = files::partition_paths(rng);
        let shown = paths
            .iter()
            .map(|levels| levels.join("/"))
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes();
        keep_current(&self.dir, &shown);
        let root = self.dir.join("table");
        files::write_partitions(&root, &paths).expect("write partitions");
        let sql = format!("SELECT * FROM '{}/'", root.display());
        (shown, query(session, &sql).await)
    }

    fn report(&self, n: u64, input: &[u8], what: &str, took: Duration) {
        let name = format!("{:?}-seed{}-case{n}", self.target, self.seed).to_lowercase();
        let _ = std::fs::write(self.failures.join(format!("{name}.input")), input);
        let _ = std::fs::write(
            self.failures.join(format!("{name}.txt")),
            format!("{what}\n(after {took:?})\n"),
        );
        println!("failure: {name}: {}", what.lines().next().unwrap_or(what));
    }
}

fn new_session() -> Session {
    let options = EngineOptions {
        threads: Some(2),
        ..EngineOptions::default()
    };
    Session::new(&options).expect("session")
}

/// A statement's outcome: rows, or a one-line error.
async fn query(session: &Session, sql: &str) -> Result<Outcome, String> {
    let mut sink = Collected::default();
    match session.execute(sql, &mut sink).await {
        Ok(_) => Ok(Outcome::Answered),
        Err(e) => refusal(&e.to_string()),
    }
}

/// An error's line judged: a refusal when it is one clear line; several
/// lines, none, or an internal error are failures.
pub fn refusal(message: &str) -> Result<Outcome, String> {
    if message.trim().is_empty() || message.contains('\n') {
        Err(format!("not a one-line error: {message:?}"))
    } else if message.starts_with("internal error") || message.contains("Internal error") {
        Err(format!("an internal error, not a clear one: {message}"))
    } else {
        Ok(Outcome::Refused(message.to_string()))
    }
}

/// `SET` of a setting the session knows (or a misspelling) to an odd
/// value, `SHOW` of it, then a query that needs a scan, a sort and an
/// aggregate: whatever was accepted must leave queries answering.
async fn set_and_query(
    session: &Session,
    rng: &mut StdRng,
    dir: &Path,
) -> (Vec<u8>, Result<Outcome, String>) {
    const VALUES: [&str; 16] = [
        "0",
        "1",
        "-1",
        "18446744073709551616",
        "9223372036854775807",
        "''",
        "'abc'",
        "true",
        "'false'",
        "NULL",
        "'1GB'",
        "'0ms'",
        "'https://127.0.0.1:1'",
        "'path'",
        "'%'",
        "1.5",
    ];
    let mut names = session.setting_names();
    names.extend(["s3.regoin", "datafusion.execution.nope", "x"].map(String::from));
    let name = &names[rng.random_range(0..names.len())];
    let value = VALUES[rng.random_range(0..VALUES.len())];
    let statements = [
        format!("SET {name} = {value}"),
        format!("SHOW {name}"),
        "SELECT v % 3 AS k, count(*), sum(v) FROM (SELECT value AS v FROM range(5000)) \
         GROUP BY k ORDER BY k"
            .to_string(),
    ];
    let shown = statements.join(";\n").into_bytes();
    keep_current(dir, &shown);
    let mut outcome = Ok(Outcome::Answered);
    for sql in &statements {
        match query(session, sql).await {
            Ok(Outcome::Answered) => {}
            refused_or_failed => {
                outcome = refused_or_failed;
                break;
            }
        }
    }
    (shown, outcome)
}

fn as_bytes(
    (text, outcome): (String, Result<Outcome, String>),
) -> (Vec<u8>, Result<Outcome, String>) {
    (text.into_bytes(), outcome)
}

fn keep_current(dir: &Path, input: &[u8]) {
    let _ = std::fs::write(dir.join("current"), input);
}

fn read_current(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("current")).unwrap_or_default()
}
