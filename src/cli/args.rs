//! The command line: what a user can say when starting morsel.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::output::Format;
use crate::session::EngineOptions;
use crate::tpch::datagen::{Codec, GenFormat};

#[derive(Debug, Parser)]
#[command(
    name = "morsel",
    version,
    about = "SQL over partitioned CSV and Parquet files",
    after_help = "Interactive when stdin is a terminal; -c, -f or piped SQL run in batch.",
    args_conflicts_with_subcommands = true
)]
pub struct Args {
    #[command(subcommand)]
    pub task: Option<Task>,

    /// Register every table under DIR or s3://bucket/prefix/ (each
    /// subdirectory and data file)
    #[arg(value_name = "DIR")]
    pub dir: Option<String>,

    /// Same as the DIR argument
    #[arg(long = "data", value_name = "DIR", conflicts_with = "dir")]
    pub data: Option<String>,

    /// Run SQL (repeatable; runs in order with -f)
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub commands: Vec<String>,

    /// Run a SQL script (repeatable; runs in order with -c)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write results to FILE (it appears only if the run succeeds)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub engine: EngineArgs,

    /// Print at most N rows per result [default: 40 on a terminal, else all]
    #[arg(long, value_name = "N")]
    pub max_rows: Option<usize>,

    /// No banner, no timing lines
    #[arg(short, long)]
    pub quiet: bool,

    /// In a script, report a failing statement and go on (still exits 1)
    #[arg(long)]
    pub continue_on_error: bool,

    /// Show a progress bar for long statements in batch runs too (on a terminal)
    #[arg(long)]
    pub progress: bool,

    /// After a batch run, draw the last statement's plan with its figures
    /// into FILE (.svg, .dot or .html)
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Task {
    /// TPC-H data: `morsel tpch gen --sf 1 --out DIR`
    Tpch {
        #[command(subcommand)]
        command: TpchCommand,
    },
    /// Benchmarks: `morsel bench tpch --data DIR --verify`
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Cluster processes: `morsel cluster scheduler`, `morsel cluster executor`
    Cluster {
        #[command(subcommand)]
        command: ClusterCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Run a scheduler: it takes queries from clients (--cluster df://HOST:PORT)
    /// and hands their tasks to executors
    Scheduler {
        /// Address to listen on
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
        bind: SocketAddr,
    },
    /// Run an executor: it registers with a scheduler and runs its tasks
    Executor(ExecutorArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExecutorArgs {
    /// The scheduler to register with
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
    pub scheduler: String,
    /// Address to serve shuffle data on (Arrow Flight)
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50051")]
    pub bind: SocketAddr,
    /// Port of the task service [default: the --bind port + 1]
    #[arg(long, value_name = "N")]
    pub grpc_port: Option<u16>,
    /// Directory for shuffle files [default: a new temporary directory, removed at exit]
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Tasks run at once [default: all cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Memory the executor's tasks may hold together, e.g. 2GB; they spill beyond it
    #[arg(long, value_name = "SIZE", value_parser = parse_memory_limit)]
    pub memory_limit: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum TpchCommand {
    /// Generate the eight TPC-H tables as DIR/TABLE/part-K.parquet
    Gen(GenArgs),
}

#[derive(Debug, clap::Args)]
pub struct GenArgs {
    /// Scale factor: 1 is about 1 GB of CSV; fractions such as 0.01 work
    #[arg(long, value_name = "SF")]
    pub sf: f64,
    /// Directory or s3://bucket/prefix/ to write the tables into
    #[arg(long, value_name = "DIR")]
    pub out: String,
    #[arg(long, value_enum, default_value_t = GenFormat::Parquet)]
    pub format: GenFormat,
    /// Files per table [default: one per 4 million rows, a multiple of the threads]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub files_per_table: Option<u32>,
    /// Parquet compression
    #[arg(long, value_enum, default_value_t = Codec::Snappy)]
    pub compression: Codec,
    /// Rows per Parquet row group
    #[arg(long, value_name = "N", default_value_t = 1_048_576, value_parser = clap::value_parser!(u64).range(1..))]
    pub row_group_rows: u64,
    /// Threads generating files [default: all cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// AWS profile for s3:// URLs (from ~/.aws/credentials and ~/.aws/config)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Replace the TPC-H tables DIR already holds
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Run, time and optionally verify the 22 TPC-H queries
    Tpch(BenchArgs),
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Directory or s3://bucket/prefix/ made by `morsel tpch gen`
    #[arg(long, value_name = "DIR")]
    pub data: String,
    /// Queries to run, e.g. 1,3,5-9
    #[arg(long, value_name = "LIST", default_value = "1-22")]
    pub queries: String,
    /// Timed runs per query
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub iterations: u32,
    /// Untimed runs per query before the timed ones
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub warmup: usize,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Write machine-readable results to FILE
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Check results against reference answers (built in for SF 0.01 and 1)
    #[arg(long, value_name = "ANSWERS_DIR", num_args = 0..=1)]
    pub verify: Option<Option<PathBuf>>,
}

/// How the engine is set up: the same flags for queries and benchmarks.
#[derive(Debug, Clone, clap::Args)]
pub struct EngineArgs {
    /// Threads, and so partitions, a query runs on [default: all cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// Memory the process should stay within, e.g. 512MB or 2GB; operators spill to disk to keep to it
    #[arg(long, value_name = "SIZE", value_parser = parse_memory_limit)]
    pub memory_limit: Option<usize>,

    /// Directory for spill files [default: the system temp directory]
    #[arg(long, value_name = "DIR", value_parser = existing_directory)]
    pub temp_dir: Option<PathBuf>,

    /// Most disk the spill files may take, e.g. 20GB; beyond it the query fails
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_temp_size: Option<usize>,

    /// AWS profile for s3:// URLs (from ~/.aws/credentials and ~/.aws/config)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Run queries on the Ballista cluster whose scheduler is at df://HOST:PORT, or on local:N, a scheduler and N executors started on this machine for this run
    #[arg(long, value_name = "URL", env = "MORSEL_CLUSTER")]
    pub cluster: Option<String>,
}

impl EngineArgs {
    pub fn engine_options(&self) -> EngineOptions {
        EngineOptions {
            threads: self.threads.map(usize::from),
            memory_limit: self.memory_limit,
            temp_dir: self.temp_dir.clone(),
            profile: self.profile.clone(),
            max_temp_size: self.max_temp_size.map(|n| n as u64),
            cluster: self.cluster.clone(),
        }
    }
}

/// clap reads the library's choice enums by the names they give themselves
/// (`ALL` and `name()`), so clap stays in the front end.
macro_rules! value_enum {
    ($($choice:ty),*) => {$(
        impl clap::ValueEnum for $choice {
            fn value_variants<'a>() -> &'a [Self] {
                &<$choice>::ALL
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(clap::builder::PossibleValue::new(self.name()))
            }
        }
    )*};
}

value_enum!(Format, GenFormat, Codec);

/// Where batch SQL comes from, in the order given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Command(String),
    File(PathBuf),
}

impl Args {
    /// Parses the process arguments; `-c` and `-f` keep their relative order.
    pub fn parse_with_inputs() -> (Self, Vec<Input>) {
        let matches = Args::command().get_matches_from(directories_before_subcommands(
            std::env::args_os().collect(),
        ));
        let args = match Args::from_arg_matches(&matches) {
            Ok(args) => args,
            Err(e) => e.exit(),
        };
        let inputs = ordered_inputs(&matches, &args);
        (args, inputs)
    }

    pub fn data_dir(&self) -> Option<&str> {
        self.dir.as_deref().or(self.data.as_deref())
    }
}

/// `morsel tpch` where `tpch` is a data directory: the first argument is
/// taken as the directory (`--data tpch`) when it names one and is not
/// followed by a word of the subcommand it would otherwise be.
fn directories_before_subcommands(mut args: Vec<OsString>) -> Vec<OsString> {
    let subcommands_of = |first: &OsString| match first.to_str() {
        Some("tpch") => Some(&["gen"][..]),
        Some("bench") => Some(&["tpch"][..]),
        Some("cluster") => Some(&["scheduler", "executor"][..]),
        _ => None,
    };
    let is_directory_first = args.get(1).is_some_and(|first| {
        subcommands_of(first).is_some_and(|next| {
            let second = args.get(2).and_then(|a| a.to_str());
            Path::new(first).is_dir() && !second.is_some_and(|word| next.contains(&word))
        })
    });
    if is_directory_first {
        args.insert(1, "--data".into());
    }
    args
}

fn ordered_inputs(matches: &ArgMatches, args: &Args) -> Vec<Input> {
    let positions = |id: &str| {
        matches
            .indices_of(id)
            .map(Iterator::collect::<Vec<_>>)
            .unwrap_or_default()
    };
    let mut inputs: Vec<(usize, Input)> = positions("commands")
        .into_iter()
        .zip(args.commands.iter().cloned().map(Input::Command))
        .chain(
            positions("files")
                .into_iter()
                .zip(args.files.iter().cloned().map(Input::File)),
        )
        .collect();
    inputs.sort_by_key(|(position, _)| *position);
    inputs.into_iter().map(|(_, input)| input).collect()
}

/// The smallest `--memory-limit` a query can run in: below it even a scan's
/// few batches and a merge's runs do not fit, and every query would fail.
const MIN_MEMORY_LIMIT: usize = 4 << 20;

fn parse_memory_limit(text: &str) -> Result<usize, String> {
    let bytes = parse_size(text)?;
    if bytes < MIN_MEMORY_LIMIT {
        return Err(format!(
            "{bytes} bytes is too little to run a query in; give at least 4MiB (e.g. 512MB)"
        ));
    }
    Ok(bytes)
}

/// A directory that exists: spill files have nowhere to go otherwise, and
/// the first query that spills would fail far from the flag that caused it.
fn existing_directory(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path.is_dir() {
        Ok(path)
    } else if path.exists() {
        Err(format!("{text} is not a directory"))
    } else {
        Err(format!("{text}: no such directory"))
    }
}

/// `512MB`, `2GB`, `1.5GiB`, `100000` (bytes).
fn parse_size(text: &str) -> Result<usize, String> {
    parse_size::Config::new()
        .with_binary()
        .parse_size(text)
        .map_err(|e| format!("{e} (try 512MB or 2GB)"))
        .and_then(|bytes| usize::try_from(bytes).map_err(|e| e.to_string()))
}
