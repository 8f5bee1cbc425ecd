//! Runs statements and commands for both front ends, with shared settings.
//!
//! The REPL and batch mode differ only in where text comes from and what
//! happens after an error; everything else — output format and target,
//! `\timing`, `\d`, `\i`, Ctrl-C — lives here once.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;

use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::display::DisplayableExecutionPlan;
use futures::FutureExt;

use super::command::{Command, help_text};
use super::progress::{ProgressBarSink, StatementBar};
use super::script::{self, Piece};
use super::{pager, terminate};
use crate::error::{self, Error, Failure, Location, Result};
use crate::output::plan_graph::{GraphFormat, PlanGraph};
use crate::output::{self, Format, Layout};
use crate::session::{ResultSink, Session, Summary};

/// Whether to keep reading after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

pub struct Runner<'s> {
    session: &'s Session,
    pub format: Format,
    /// The most rows the screen shows (`--max-rows`, `\maxrows`); files,
    /// pipes without `--max-rows` and the pager get every row.
    max_rows: Option<usize>,
    /// What the screen says shows the rows `max_rows` left out.
    pub more_rows_hint: &'static str,
    timing: bool,
    quiet: bool,
    output: Option<OutputFile>,
    /// `\x`
    expanded: bool,
    /// The pager command, `None` when off (always off outside the REPL).
    pub pager: Option<String>,
    /// Whether a progress bar follows long statements.
    pub progress: bool,
}

impl<'s> Runner<'s> {
    pub fn new(session: &'s Session, format: Format, max_rows: Option<usize>, quiet: bool) -> Self {
        Self {
            session,
            format,
            max_rows,
            more_rows_hint: output::RAISE_MAX_ROWS,
            timing: false,
            quiet,
            output: None,
            expanded: false,
            pager: None,
            progress: false,
        }
    }

    /// Sends results to `path` until [`Runner::finish`]; see [`OutputFile`].
    pub fn redirect(&mut self, path: Option<PathBuf>) -> Result<()> {
        if let Some(previous) = self.output.take() {
            previous.commit()?;
        }
        self.output = path.map(|p| OutputFile::create(&p)).transpose()?;
        Ok(())
    }

    /// Keeps the output file written so far; without this it is discarded.
    pub fn finish(mut self) -> Result<()> {
        self.redirect(None)
    }

    pub fn session(&self) -> &Session {
        self.session
    }

    /// Runs one statement, printing its result; Ctrl-C cancels it.
    pub async fn run_statement(&mut self, sql: &str) -> Result<()> {
        let layout = self.layout(None, false);
        let progress = self.progress;
        let summary = match &mut self.output {
            Some(file) => {
                let mut printer = output::printer(layout, &mut file.writer);
                run_shown(self.session, progress, sql, &mut *printer).await?
            }
            None => self.print_to_screen(sql).await?,
        };
        if self.timing && !self.quiet {
            eprintln!("{summary}");
        }
        Ok(())
    }

    /// Prints to stdout, fitting the terminal, through the pager when the
    /// result is taller than the screen.
    async fn print_to_screen(&self, sql: &str) -> Result<Summary> {
        let stdout = std::io::stdout();
        let on_terminal = stdout.is_terminal();
        let width = on_terminal
            .then(|| terminal_size::terminal_size().map(|(w, _)| w.0 as usize))
            .flatten()
            // A pseudo-terminal may report no size at all.
            .filter(|w| *w >= 20);
        match self.pager.as_deref().filter(|_| on_terminal) {
            Some(pager) => {
                let mut buffer = Vec::new();
                let summary = {
                    let mut printer = output::printer(self.layout(width, false), &mut buffer);
                    run_shown(self.session, self.progress, sql, &mut *printer).await?
                };
                pager::show(&buffer, pager).map_err(Error::Output)?;
                Ok(summary)
            }
            None => {
                let mut out = BufWriter::new(stdout.lock());
                let mut printer = output::printer(self.layout(width, true), &mut out);
                run_shown(self.session, self.progress, sql, &mut *printer).await
            }
        }
    }

    /// `\explain`: the plan as a graph file, or as text on the screen.
    async fn explain(&mut self, analyze: bool, file: Option<PathBuf>, sql: &str) -> Result<()> {
        let plan = if analyze {
            run_shown(self.session, self.progress, sql, &mut Discarded).await?;
            self.session
                .last_plan()
                .ok_or_else(|| Error::query("the statement has no plan to show"))?
        } else {
            self.session.physical_plan(sql).await?
        };
        match file {
            Some(path) => self.write_plan_graph(&plan, analyze, &path),
            None => {
                let text = if analyze {
                    DisplayableExecutionPlan::with_metrics(plan.as_ref()).indent(true)
                } else {
                    DisplayableExecutionPlan::new(plan.as_ref()).indent(true)
                };
                print!("{text}");
                Ok(())
            }
        }
    }

    /// `--plan FILE`: the graph of the statement that ran last.
    pub fn write_last_plan(&self, path: &Path) -> Result<()> {
        let plan = self
            .session
            .last_plan()
            .ok_or_else(|| Error::Usage("--plan: no query ran, so there is no plan".into()))?;
        self.write_plan_graph(&plan, true, path)
    }

    /// The graph of `plan` written to `path`; after a run on a cluster, the
    /// stages the cluster ran, with their figures, instead of the client's
    /// one operator that received the rows.
    fn write_plan_graph(
        &self,
        plan: &Arc<dyn ExecutionPlan>,
        analyzed: bool,
        path: &Path,
    ) -> Result<()> {
        let format = GraphFormat::from_path(path)?;
        let graph = match self.session.last_job().filter(|_| analyzed) {
            Some(job) => PlanGraph::from_job(&job),
            None => PlanGraph::from_plan(plan, analyzed),
        };
        std::fs::write(path, graph.render(format)?).map_err(|source| Error::file(path, source))?;
        eprintln!("plan written to {}", path.display());
        Ok(())
    }

    /// How results print: to fit `width`, and capped at `max_rows` when
    /// `on_screen` (files and the pager get every row).
    fn layout(&self, width: Option<usize>, on_screen: bool) -> Layout {
        Layout {
            expanded: self.expanded,
            format: self.format,
            max_rows: self.max_rows.filter(|_| on_screen),
            more_rows_hint: self.more_rows_hint,
            width,
        }
    }

    pub async fn run_command(&mut self, command: Command) -> Result<Flow> {
        match command {
            Command::Help => print!("{}", help_text()),
            Command::Quit => return Ok(Flow::Quit),
            Command::ListTables => self.list_tables().await?,
            Command::Describe(name) => self.describe(&name).await?,
            Command::Timing(on) => {
                self.timing = on.unwrap_or(!self.timing);
                eprintln!("timing is {}", if self.timing { "on" } else { "off" });
            }
            Command::Format(format) => self.format = format,
            Command::Include(path) => {
                let text = read_script(&path)?;
                let name = path.display().to_string();
                if self.run_script(&name, &text, false).await? == Flow::Quit {
                    return Ok(Flow::Quit);
                }
            }
            Command::Output(path) => self.redirect(path)?,
            Command::Explain { analyze, file, sql } => self.explain(analyze, file, &sql).await?,
            Command::Expanded(on) => {
                self.expanded = on.unwrap_or(!self.expanded);
                eprintln!(
                    "expanded display is {}",
                    if self.expanded { "on" } else { "off" }
                );
            }
            Command::MaxRows(rows) => {
                self.max_rows = rows;
                match rows {
                    Some(rows) => eprintln!("the screen shows at most {rows} rows"),
                    None => eprintln!("the screen shows every row"),
                }
            }
            Command::Pager(pager) => {
                match &pager {
                    Some(command) => eprintln!("pager is {command}"),
                    None => eprintln!("pager is off"),
                }
                self.pager = pager;
            }
        }
        Ok(Flow::Continue)
    }

    /// Runs every statement and command in `text`, reporting errors as
    /// `NAME:LINE:COL: error: …`. Stops at the first error unless told to go
    /// on (a signal stops it either way); an error makes the result
    /// `Err(Error::Reported(…))`, the worst failure deciding the exit status.
    pub async fn run_script(&mut self, name: &str, text: &str, keep_going: bool) -> Result<Flow> {
        let mut worst: Option<Failure> = None;
        for located in script::split(text).0 {
            match self.run_contained(located.piece).await {
                Ok(Flow::Quit) => return Ok(Flow::Quit),
                Ok(Flow::Continue) => {}
                Err(e) if e.is_broken_pipe() || matches!(e, Error::Reported(_)) => return Err(e),
                Err(e) => {
                    eprintln!("{}", located_message(name, located.start, &e));
                    let failure = e.failure();
                    worst = worst.max(Some(failure));
                    // A signal stops the script; going on is for errors.
                    if !keep_going || failure >= Failure::Interrupted {
                        break;
                    }
                }
            }
        }
        match worst {
            Some(failure) => Err(Error::Reported(failure)),
            None => Ok(Flow::Continue),
        }
    }

    /// Runs one statement or command; a panic inside it, on any thread,
    /// becomes [`Error::Internal`] instead of ending morsel. Unwinding
    /// drops the statement, which removes a COPY's staging and spill files.
    async fn run_contained(&mut self, piece: Piece) -> Result<Flow> {
        // A panic before this piece is not its own.
        let _ = error::take_panic();
        let tasks_before = alive_tasks();
        let run = AssertUnwindSafe(self.run_piece(piece)).catch_unwind().await;
        // DataFusion may have turned a panic of one of its tasks into an
        // error, or swallowed it: the recorded message wins.
        let result = match (run, error::take_panic()) {
            (_, Some(message)) => Err(Error::Internal(message)),
            (Ok(result), None) => result,
            (Err(payload), None) => Err(Error::Internal(error::panic_message(&*payload))),
        };
        if matches!(result, Err(Error::Internal(_))) {
            // The statement's other tasks, cancelled, may still panic the
            // same way: their messages must not be taken for the next one's.
            tasks_ended(tasks_before).await;
            let _ = error::take_panic();
        }
        result
    }

    async fn run_piece(&mut self, piece: Piece) -> Result<Flow> {
        match piece {
            Piece::Statement(sql) => self.run_statement(&sql).await.map(|_| Flow::Continue),
            Piece::Command(line) => match line.parse::<Command>() {
                Ok(command) => Box::pin(self.run_command(command)).await,
                Err(message) => Err(Error::Usage(message)),
            },
        }
    }

    async fn list_tables(&mut self) -> Result<()> {
        let mut columns: [Vec<String>; 4] = Default::default();
        for name in self.session.table_names() {
            let info = self.session.table_info(&name).await?;
            let (location, format, partitions) = match info {
                Some(i) => (i.location, i.format, i.partitions.join(", ")),
                None => (String::new(), String::new(), String::new()),
            };
            for (column, value) in columns.iter_mut().zip([name, format, location, partitions]) {
                column.push(value);
            }
        }
        self.print_strings(&["name", "format", "location", "partitions"], columns)
    }

    async fn describe(&mut self, name: &str) -> Result<()> {
        let schema = self.session.table_schema(name).await?;
        let mut columns: [Vec<String>; 3] = Default::default();
        for field in schema.fields() {
            columns[0].push(field.name().clone());
            columns[1].push(field.data_type().to_string());
            columns[2].push(if field.is_nullable() { "YES" } else { "NO" }.to_string());
        }
        self.print_strings(&["column", "type", "nullable"], columns)
    }

    /// Prints a small result that morsel made itself, in the current format.
    fn print_strings<const N: usize>(
        &mut self,
        names: &[&str; N],
        columns: [Vec<String>; N],
    ) -> Result<()> {
        let schema = Arc::new(Schema::new(
            names
                .iter()
                .map(|n| Field::new(*n, DataType::Utf8, false))
                .collect::<Vec<_>>(),
        ));
        let arrays: Vec<ArrayRef> = columns
            .into_iter()
            .map(|c| Arc::new(StringArray::from(c)) as ArrayRef)
            .collect();
        let batch = RecordBatch::try_new(Arc::clone(&schema), arrays)
            .map_err(|e| Error::query(e.to_string()))?;
        let print = |sink: &mut dyn ResultSink| {
            sink.begin(&schema)?;
            sink.batch(&batch)?;
            sink.end()
        };
        let (to_file, to_screen) = (self.layout(None, false), self.layout(None, true));
        match &mut self.output {
            Some(file) => print(&mut *output::printer(to_file, &mut file.writer)),
            None => print(&mut *output::printer(
                to_screen,
                &mut std::io::stdout().lock(),
            )),
        }
        .map_err(Error::Output)
    }
}

/// Runs a statement that Ctrl-C cancels, with a progress bar if asked.
async fn run_shown(
    session: &Session,
    progress: bool,
    sql: &str,
    sink: &mut dyn ResultSink,
) -> Result<Summary> {
    if !progress {
        return run_cancellable(session, sql, sink).await;
    }
    let bar = StatementBar::new();
    let mut sink = ProgressBarSink {
        inner: sink,
        bar: bar.clone(),
    };
    let result = tokio::select! {
        result = run_cancellable(session, sql, &mut sink) => result,
        () = bar.follow(session) => unreachable!("follow never ends"),
    };
    bar.clear();
    result
}

/// Tasks alive on the runtime.
fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Waits, a second at most, until no more tasks are alive than `before`.
async fn tasks_ended(before: usize) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while alive_tasks() > before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Runs a statement that Ctrl-C cancels, and SIGTERM (see [`terminate`]).
async fn run_cancellable(
    session: &Session,
    sql: &str,
    sink: &mut dyn ResultSink,
) -> Result<Summary> {
    let statement = terminate::Statement::start()?;
    let result = tokio::select! {
        result = session.execute(sql, sink) => result,
        _ = tokio::signal::ctrl_c() => Err(Error::Cancelled),
        () = statement.terminated() => Err(Error::Terminated),
    };
    statement.finish(result)
}

/// A sink that drops the rows: `\explain analyze` wants the run, not its result.
struct Discarded;

impl ResultSink for Discarded {
    fn begin(&mut self, _: &datafusion::arrow::datatypes::SchemaRef) -> std::io::Result<()> {
        Ok(())
    }

    fn batch(&mut self, _: &RecordBatch) -> std::io::Result<()> {
        Ok(())
    }

    fn end(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `NAME:LINE:COL: error: message`, the position pointing into the script.
/// The REPL has no name and shows a position only when the error has one.
/// An internal error is a bug wherever it happened: its line alone.
fn located_message(name: &str, start: Location, error: &Error) -> String {
    if let Error::Internal(_) = error {
        return error.to_string();
    }
    let at = error.location().map(|l| l.offset_by(start));
    match (name, at) {
        ("", Some(at)) => format!("error at {at}: {error}"),
        ("", None) => format!("error: {error}"),
        (name, at) => format!("{name}:{}: error: {error}", at.unwrap_or(start)),
    }
}

pub fn read_script(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::file(path, source))
}

/// An output file that appears only when complete.
///
/// Results are written to a hidden file beside the target and renamed over
/// it on [`OutputFile::commit`]; dropped uncommitted (an error, Ctrl-C), the
/// hidden file is removed, so a failed run never leaves half a result.
struct OutputFile {
    writer: BufWriter<File>,
    temp: PathBuf,
    path: PathBuf,
}

impl OutputFile {
    fn create(path: &Path) -> Result<Self> {
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let temp = path.with_file_name(format!(
            ".{}.morsel-{}",
            file_name.unwrap_or_default(),
            std::process::id()
        ));
        let file = File::create(&temp).map_err(|source| Error::file(path, source))?;
        Ok(Self {
            writer: BufWriter::new(file),
            temp,
            path: path.to_path_buf(),
        })
    }

    fn commit(mut self) -> Result<()> {
        let io = |source| Error::file(&self.path, source);
        self.writer.flush().map_err(io)?;
        std::fs::rename(&self.temp, &self.path).map_err(io)
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        // After a commit the temporary name no longer exists; this is a no-op.
        let _ = std::fs::remove_file(&self.temp);
    }
}
