//! Turning engine errors into what a user can act on.
//!
//! DataFusion's errors are accurate but written for its developers: nested,
//! multi-line, and silent about which file a bad row came from. This module
//! makes them one line, pulls out the position in the SQL, suggests the
//! closest table name, and — only after a scan has failed, so the happy path
//! pays nothing — re-reads the scanned files one by one to name the bad one.

use std::any::Any;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::sync::Arc;

use datafusion::arrow::csv::ReaderBuilder;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{
    CsvSource, FileGroup, FileScanConfig, FileScanConfigBuilder, ParquetSource,
};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use datafusion::object_store::ObjectStoreExt;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::parser::ParserError;
use futures::StreamExt;

use crate::catalog::check_parquet;
use crate::error::{self, Error, Location};
use crate::storage::{self, display_path};

/// A one-line [`Error`] for a DataFusion error, with its SQL position if known.
pub fn describe(e: &DataFusionError) -> Error {
    if let Some(message) = remote_store_error(e) {
        return Error::query(message);
    }
    let root = e.find_root();
    let (message, text_location) = match root {
        DataFusionError::SQL(parser_error, _) => {
            let text = match parser_error.as_ref() {
                ParserError::ParserError(s) | ParserError::TokenizerError(s) => s.clone(),
                other => other.to_string(),
            };
            let (text, location) = split_location(&text);
            (format!("syntax error: {text}"), location)
        }
        _ => (
            csv_inference_error(e).unwrap_or_else(|| tidy(&e.strip_backtrace())),
            None,
        ),
    };
    let span_location = e.diagnostic().and_then(|d| d.span).map(|span| Location {
        line: span.start.line,
        column: span.start.column,
    });
    Error::Query {
        message,
        location: span_location.or(text_location),
    }
}

/// sqlparser reports a statement that ends too soon ("… found: EOF")
/// without a position; the fault is at the end of `sql`.
pub fn locate_unfinished(error: Error, sql: &str) -> Error {
    match error {
        Error::Query {
            message,
            location: None,
        } if message.ends_with("found: EOF") => Error::Query {
            message,
            location: Some(end_of(sql)),
        },
        other => other,
    }
}

/// Just past the last character of `sql` that is not white space.
fn end_of(sql: &str) -> Location {
    let text = sql.trim_end();
    let last_line = text.rsplit('\n').next().unwrap_or_default();
    Location {
        line: 1 + text.matches('\n').count() as u64,
        column: 1 + last_line.chars().count() as u64,
    }
}

/// DataFusion names the file of a CSV error found while inferring a schema,
/// and arrow the line; this puts them up front as `PATH:LINE: message`.
fn csv_inference_error(e: &DataFusionError) -> Option<String> {
    let DataFusionError::Context(context, inner) = e else {
        return None;
    };
    let path = context.strip_prefix("Error when processing CSV file ")?;
    let message = tidy(&inner.strip_backtrace());
    let (message, line) = match message.rsplit_once(" at line ") {
        Some((text, line)) if line.parse::<u64>().is_ok() => (text.to_string(), format!(":{line}")),
        _ => (message, String::new()),
    };
    Some(format!(
        "/{path}{line}: {}",
        message.trim_start_matches("Csv error: ")
    ))
}

/// Splits sqlparser's `… at Line: 3, Column: 7` suffix off a message.
fn split_location(text: &str) -> (String, Option<Location>) {
    let Some(at) = text.rfind(" at Line: ") else {
        return (text.to_string(), None);
    };
    let tail = &text[at + " at Line: ".len()..];
    let parsed = tail.split_once(", Column: ").and_then(|(line, column)| {
        Some(Location {
            line: line.trim().parse().ok()?,
            column: column.trim().parse().ok()?,
        })
    });
    match parsed {
        Some(location) => (text[..at].to_string(), Some(location)),
        None => (text.to_string(), None),
    }
}

/// Prefixes DataFusion puts before messages that say nothing to a user.
const NOISE: [&str; 8] = [
    "Csv error: ",
    "Schema error: ",
    "Object Store error: ",
    "Error during planning: ",
    "Execution error: ",
    "External error: ",
    "Arrow error: ",
    "Parquet error: ",
];

/// One line, without the default catalog and schema every name carries.
fn tidy(message: &str) -> String {
    if let Some(limit) = message
        .split("exceeded the allowable limit of ")
        .nth(1)
        .and_then(|rest| rest.split(". ").next())
    {
        return format!(
            "the spill files outgrew --max-temp-size ({limit}); raise it or free disk space"
        );
    }
    if let Some(out_of_memory) = out_of_memory(message) {
        return out_of_memory;
    }
    if let Some(unreachable) = unreachable_cluster(message) {
        return unreachable;
    }
    // A rule that refuses a plan is named before its reason, which is all
    // a user needs.
    if let Some((_, refusal)) = message.split_once("This feature is not implemented: ") {
        return refusal.trim().to_string();
    }
    let mut message = message.replace("datafusion.public.", "");
    while let Some(prefix) = NOISE.iter().find(|p| message.starts_with(*p)) {
        message.drain(..prefix.len());
    }
    cluster_failure(&message)
        .unwrap_or(&message)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A cluster process that could not be reached, named by its address, as
/// one line: Ballista reports the connection's error as the Debug print of
/// `tonic::transport::Error(Transport, ConnectError("tcp connect error",
/// 127.0.0.1:1, Os { …, message: "Connection refused" }))`.
fn unreachable_cluster(message: &str) -> Option<String> {
    let rest = message
        .split("ConnectError(\"tcp connect error\", ")
        .nth(1)?;
    let (address, rest) = rest.split_once(", ")?;
    let reason = rest
        .split("message: \"")
        .nth(1)
        .and_then(|reason| reason.split('"').next())
        .unwrap_or("no connection");
    Some(format!("cannot reach the cluster at {address}: {reason}"))
}

/// What failed in a cluster's job, or what its scheduler said refusing
/// one, without the job's, Ballista's and gRPC's wrapping: `Job 038… failed: Job failed due to stage 1 failed: Task
/// failed due to runtime execution error:
/// DataFusionError(Shared(External(ArrowError(ArithmeticOverflow("…")))))`
/// is the quoted text within.
fn cluster_failure(message: &str) -> Option<&str> {
    if let Some(status) = message.strip_prefix("Status { code: ") {
        // The scheduler refused the request: its gRPC status, whose
        // message is what it said.
        return status
            .split_once("message: \"")
            .and_then(|(_, said)| said.split_once("\", "))
            .map(|(said, _)| said);
    }
    let rest = message.strip_prefix("Job ")?.split_once(" failed: ")?.1;
    let Some((_, task)) = rest.split_once("Task failed due to runtime execution error: ") else {
        return Some(rest);
    };
    let quoted = task
        .split_once("(\"")
        .and_then(|(_, inner)| inner.rsplit_once("\")"))
        .map(|(inner, _)| inner);
    Some(quoted.unwrap_or(task))
}

/// DataFusion's report of an operator that could not spill and found the
/// pool full (its top five consumers, the failed request), as one line.
fn out_of_memory(message: &str) -> Option<String> {
    let failure = message.split("Failed to allocate additional ").nth(1)?;
    let (needed, rest) = failure.split_once(" for ")?;
    let (operator, _) = rest.split_once(" with ")?;
    let pool = message
        .split("pool_size: ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())?;
    Some(format!(
        "out of memory: {operator} needed {needed} more and cannot spill; the pool ({pool}, \
         three quarters of --memory-limit) is full: raise --memory-limit"
    ))
}

/// Adds "did you mean 'x'?" to a table-not-found error when a name is close.
pub fn with_table_suggestion(error: Error, tables: &[String]) -> Error {
    let Error::Query { message, location } = error else {
        return error;
    };
    let missing = ["table '", "No table named '"]
        .iter()
        .find_map(|prefix| message.split_once(prefix))
        .and_then(|(_, rest)| rest.split_once('\''))
        .map(|(name, _)| name.to_string());
    let suggestion = missing.as_deref().and_then(|name| closest(name, tables));
    let message = match suggestion {
        Some(best) => format!("{message}; did you mean '{best}'?"),
        None => message,
    };
    Error::Query { message, location }
}

/// The candidate nearest to `name`, if it is near enough to be a typo.
pub fn closest<'a>(name: &str, candidates: &'a [String]) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(&name, &c.to_ascii_lowercase()), c))
        .filter(|(distance, c)| *distance <= (c.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c.as_str())
}

/// An execution error, with the file (and for CSV the line) that caused it.
pub async fn locate_in_files(
    ctx: &SessionContext,
    plan: &Arc<dyn ExecutionPlan>,
    logical: &LogicalPlan,
    error: DataFusionError,
) -> Error {
    if !worth_locating(&error) {
        return describe(&error);
    }
    let mut found = first_bad_file_in_plan(ctx, plan).await;
    if found.is_none() && file_scans(plan).is_empty() {
        // A cluster's plan holds no scans here: its executors read the
        // files. Planned here, the same files are read again.
        found = bad_file_in_planning(ctx, logical).await;
    }
    match found {
        Some(found) => Error::query(found),
        None => describe(&error),
    }
}

/// Whether re-reading the scanned files could name a bad one: not when the
/// store itself failed (the network, credentials), which re-reading repeats.
fn worth_locating(error: &DataFusionError) -> bool {
    is_read_error(error) && remote_store_error(error).is_none()
}

/// A failed S3 request anywhere in the error's chain, explained.
fn remote_store_error(error: &DataFusionError) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(store_error) = e.downcast_ref::<object_store::Error>() {
            return storage::remote_error_message(store_error);
        }
        if let Some(DataFusionError::ObjectStore(store_error)) = e.downcast_ref::<DataFusionError>()
        {
            return storage::remote_error_message(store_error);
        }
        current = e.source();
    }
    None
}

/// A physical planning error, with the file that caused it.
///
/// Planning reads Parquet footers for statistics, so a corrupt file can fail
/// a query before it runs. Planning again without statistics gives the scans
/// (already pruned by partition filters) whose files can then be checked.
pub async fn locate_in_planning(
    ctx: &SessionContext,
    logical: &LogicalPlan,
    error: DataFusionError,
) -> Error {
    if !worth_locating(&error) {
        return describe(&error);
    }
    match bad_file_in_planning(ctx, logical).await {
        Some(found) => Error::query(found),
        None => describe(&error),
    }
}

/// The first file a plan reads that fails on its own, planned again
/// without statistics (whose footers may be what failed), by DataFusion's
/// planner, so that a cluster's client has the scans here too.
async fn bad_file_in_planning(ctx: &SessionContext, logical: &LogicalPlan) -> Option<String> {
    let mut state = ctx.state();
    state
        .config_mut()
        .options_mut()
        .execution
        .collect_statistics = false;
    let optimized = state.optimize(logical).ok()?;
    match DefaultPhysicalPlanner::default()
        .create_physical_plan(&optimized, &state)
        .await
    {
        Ok(plan) => first_bad_file_in_plan(ctx, &plan).await,
        Err(_) => None,
    }
}

/// A panic while planning a statement: the file the reader panicked on,
/// named, or the panic again (a bug), when no file fails on its own.
pub async fn blame_planning_panic(
    ctx: &SessionContext,
    logical: &LogicalPlan,
    payload: Box<dyn Any + Send>,
) -> Error {
    blame_file(bad_file_in_planning(ctx, logical).await, payload)
}

/// A panic while running a plan, as [`blame_planning_panic`].
pub async fn blame_running_panic(
    ctx: &SessionContext,
    plan: &Arc<dyn ExecutionPlan>,
    payload: Box<dyn Any + Send>,
) -> Error {
    blame_file(first_bad_file_in_plan(ctx, plan).await, payload)
}

/// The Parquet and CSV readers panic on some corrupt files; a file that
/// fails on its own explains the panic, which is then no bug of ours.
fn blame_file(found: Option<String>, payload: Box<dyn Any + Send>) -> Error {
    match found {
        Some(found) => {
            let _ = error::take_panic();
            Error::query(found)
        }
        None => std::panic::resume_unwind(payload),
    }
}

async fn first_bad_file_in_plan(
    ctx: &SessionContext,
    plan: &Arc<dyn ExecutionPlan>,
) -> Option<String> {
    for scan in file_scans(plan) {
        if let Some(found) = first_bad_file(ctx, &scan).await {
            return Some(found);
        }
    }
    None
}

fn is_read_error(error: &DataFusionError) -> bool {
    let text = error.to_string();
    matches!(
        error.find_root(),
        DataFusionError::ArrowError(..)
            | DataFusionError::ParquetError(..)
            | DataFusionError::ObjectStore(..)
            | DataFusionError::IoError(..)
    ) || ["Csv error", "CSV file", "Parquet error", "ArrowError("]
        .iter()
        .any(|needle| text.contains(needle))
}

fn file_scans(plan: &Arc<dyn ExecutionPlan>) -> Vec<FileScanConfig> {
    let mut scans = Vec::new();
    let mut stack = vec![Arc::clone(plan)];
    while let Some(node) = stack.pop() {
        if let Some(config) = node
            .downcast_ref::<DataSourceExec>()
            .and_then(|exec| exec.data_source().downcast_ref::<FileScanConfig>())
        {
            scans.push(config.clone());
        }
        stack.extend(node.children().into_iter().cloned());
    }
    scans
}

/// Re-reads each file of a scan on its own and describes the first that fails.
async fn first_bad_file(ctx: &SessionContext, scan: &FileScanConfig) -> Option<String> {
    let store = ctx
        .runtime_env()
        .object_store(&scan.object_store_url)
        .ok()?;
    let source = scan.file_source();
    for file in scan.file_groups.iter().flat_map(|g| g.files()) {
        let location = &file.object_meta.location;
        let name = display_path(scan.object_store_url.as_str(), location.as_ref());
        let bytes = match store.get(location).await {
            Ok(result) => match result.bytes().await {
                Ok(bytes) => bytes,
                Err(e) => return Some(format!("{name}: {e}")),
            },
            Err(e) => return Some(format!("{name}: {e}")),
        };
        let problem = if let Some(csv) = source.downcast_ref::<CsvSource>() {
            let reader = scan.file_compression_type.convert_read(Cursor::new(bytes));
            match reader {
                Ok(reader) => error::catch_panic(|| check_csv(reader, csv, scan))
                    .unwrap_or_else(|panic| Some(format!(": the CSV reader failed: {panic}"))),
                Err(e) => Some(e.to_string()),
            }
        } else if source.is::<ParquetSource>() {
            match check_parquet(bytes) {
                None => scan_alone(ctx, scan, file).await,
                found => found,
            }
        } else {
            None
        };
        if let Some(problem) = problem {
            return Some(format!("{name}{problem}"));
        }
    }
    None
}

/// `": problem"` when the scan fails or panics on `file` alone. The
/// whole-file check reads pages in order; a scan finds them through the
/// page index, which a corrupt file can point anywhere (the reader then
/// panicked slicing past a page's end).
async fn scan_alone(
    ctx: &SessionContext,
    scan: &FileScanConfig,
    file: &PartitionedFile,
) -> Option<String> {
    let config = FileScanConfigBuilder::from(scan.clone())
        .with_file_groups(vec![FileGroup::new(vec![file.clone()])])
        .build();
    let exec = DataSourceExec::from_data_source(config);
    let read = async {
        let mut stream = exec.execute(0, ctx.task_ctx())?;
        while let Some(batch) = stream.next().await {
            batch?;
        }
        Ok::<_, DataFusionError>(())
    };
    match error::catch_panic_async(read).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!(": not a valid Parquet file: {}", describe(&e))),
        Err(panic) => Some(format!(
            ": not a valid Parquet file (the Parquet reader failed: {panic})"
        )),
    }
}

/// `":LINE: message"` for the first row of a CSV file that does not parse.
fn check_csv(
    reader: Box<dyn Read + Send>,
    csv: &CsvSource,
    scan: &FileScanConfig,
) -> Option<String> {
    let mut reader = BufReader::new(reader);
    if csv.has_header() {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        if let Some(problem) = header_differs(&header, csv.delimiter(), scan) {
            return Some(problem);
        }
        reader = BufReader::new(Box::new(Cursor::new(header.into_bytes()).chain(reader)));
    }
    let mut builder = ReaderBuilder::new(Arc::clone(scan.file_schema()))
        .with_header(csv.has_header())
        .with_delimiter(csv.delimiter())
        .with_quote(csv.quote())
        .with_batch_size(1);
    if let Some(escape) = csv.escape() {
        builder = builder.with_escape(escape);
    }
    let reader = builder.build(reader).ok()?;
    let header_lines = usize::from(csv.has_header());
    for (row, batch) in reader.enumerate() {
        if let Err(e) = batch {
            // arrow counts lines within its batch; the file line is ours.
            let message = tidy(&e.to_string()).replace(" at line 0", "");
            return Some(format!(":{}: {message}", row + 1 + header_lines));
        }
    }
    None
}

/// `": its columns … differ"` when a file's header does not name the table's
/// columns in order: the usual cause of "incorrect number of fields" when
/// the files of one table were written with different columns.
fn header_differs(header: &str, delimiter: u8, scan: &FileScanConfig) -> Option<String> {
    let found: Vec<&str> = header
        .trim_end_matches(['\r', '\n'])
        .split(delimiter as char)
        .map(|name| name.trim_matches('"'))
        .collect();
    let expected: Vec<&str> = scan
        .file_schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    (found != expected).then(|| {
        format!(
            ": its columns ({}) differ from the table's ({}); the CSV files of one table need the same columns",
            shown_names(&found),
            shown_names(&expected)
        )
    })
}

/// Column names for a one-line message: a quoted name may hold a line end
/// (a quote left open in a header swallows the next lines into it).
fn shown_names(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| name.replace('\r', "\\r").replace('\n', "\\n"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::error::ArrowError;
    use datafusion::sql::sqlparser::parser::ParserError;

    use super::*;

    fn message(error: &Error) -> String {
        error.to_string()
    }

    #[test]
    fn a_cluster_failure_is_what_failed_without_its_wrapping() {
        let task = "Job 038HWVYB0C000 failed: Job failed due to stage 1 failed: Task failed \
            due to runtime execution error: DataFusionError(Shared(External(ArrowError(\
            ArithmeticOverflow(\"Overflow happened on: 9223372036854775807 * 2\")))))";
        assert_eq!(tidy(task), "Overflow happened on: 9223372036854775807 * 2");
        let planning = "Job 038HWT3APM000 failed: DataFusion error: Parquet error: Corrupt footer";
        assert_eq!(
            tidy(planning),
            "DataFusion error: Parquet error: Corrupt footer"
        );
        assert_eq!(tidy("Job done"), "Job done");
        let refused = "Status { code: InvalidArgument, message: \"Could not parse plan: Schema \
            error\", metadata: MetadataMap { headers: {} }, source: None }";
        assert_eq!(tidy(refused), "Could not parse plan: Schema error");
        let rule = "Job 1 failed: DataFusion error: a_rule\ncaused by\nThis feature is not \
            implemented: a FULL JOIN cannot";
        assert_eq!(tidy(rule), "a FULL JOIN cannot");
        let refused = "tonic::transport::Error(Transport, ConnectError(ConnectError(\"tcp connect \
            error\", 127.0.0.1:1, Os { code: 111, kind: ConnectionRefused, message: \"Connection \
            refused\" })))";
        assert_eq!(
            tidy(refused),
            "cannot reach the cluster at 127.0.0.1:1: Connection refused"
        );
    }

    #[test]
    fn a_syntax_error_is_one_line_with_its_position() {
        let e = DataFusionError::SQL(
            Box::new(ParserError::ParserError(
                "Expected: end of statement, found: FORM at Line: 2, Column: 10".into(),
            )),
            None,
        );
        let error = describe(&e);
        assert_eq!(
            message(&error),
            "syntax error: Expected: end of statement, found: FORM"
        );
        assert_eq!(
            error.location(),
            Some(Location {
                line: 2,
                column: 10
            })
        );
    }

    #[test]
    fn a_misspelled_table_gets_the_closest_name() {
        let tables = ["events".to_string(), "sales".to_string()];
        let error = with_table_suggestion(Error::query("table 'evnts' not found"), &tables);
        assert_eq!(
            message(&error),
            "table 'evnts' not found; did you mean 'events'?"
        );
        let error = with_table_suggestion(Error::query("table 'zzzzzz' not found"), &tables);
        assert_eq!(message(&error), "table 'zzzzzz' not found");
    }

    #[test]
    fn closest_takes_only_names_near_enough_to_be_typos() {
        let names = ["lineitem".to_string(), "orders".to_string()];
        assert_eq!(closest("LINEITM", &names), Some("lineitem"));
        assert_eq!(closest("ordrs", &names), Some("orders"));
        assert_eq!(closest("customer", &names), None);
    }

    #[test]
    fn engine_prefixes_and_line_breaks_are_dropped() {
        let e = DataFusionError::Plan(
            "No field named amout.\n  Valid fields are datafusion.public.events.amount.".into(),
        );
        assert_eq!(
            message(&describe(&e)),
            "No field named amout.; Valid fields are events.amount."
        );
    }

    #[test]
    fn a_refused_reservation_reads_as_out_of_memory() {
        let e = DataFusionError::ResourcesExhausted(
            "Failed to allocate additional 257.4 KB for FinalHashAggregateStream[1] with 0.0 B \
             already allocated for this reservation - 1.0 MB remain available for the total \
             memory pool: headroom(used: 74.0 MB, pool_size: 75.0 MB)"
                .into(),
        );
        assert_eq!(
            message(&describe(&e)),
            "out of memory: FinalHashAggregateStream[1] needed 257.4 KB more and cannot spill; \
             the pool (75.0 MB, three quarters of --memory-limit) is full: raise --memory-limit"
        );
    }

    #[test]
    fn full_spill_space_names_the_flag() {
        let e = DataFusionError::ResourcesExhausted(
            "The used disk space during the spilling process has exceeded the allowable limit \
             of 64.0 KB. Please try increasing the config: `max_temp_directory_size`."
                .into(),
        );
        assert_eq!(
            message(&describe(&e)),
            "the spill files outgrew --max-temp-size (64.0 KB); raise it or free disk space"
        );
    }

    #[test]
    fn a_csv_error_while_inferring_names_the_file_and_line() {
        let e = DataFusionError::Context(
            "Error when processing CSV file data/bad.csv".into(),
            Box::new(DataFusionError::ArrowError(
                Box::new(ArrowError::CsvError(
                    "incorrect number of fields for line 4, expected 3 got 2 at line 4".into(),
                )),
                None,
            )),
        );
        assert_eq!(
            message(&describe(&e)),
            "/data/bad.csv:4: incorrect number of fields for line 4, expected 3 got 2"
        );
    }

    #[test]
    fn a_failed_s3_request_is_explained_without_its_xml() {
        let source = "Error performing GET http://127.0.0.1:9/b/k in 1ms - Server returned \
                      non-2xx status code: 404 Not Found: <Error><Code>NoSuchBucket</Code>\
                      <Message>The specified bucket does not exist</Message></Error>";
        let e = DataFusionError::ObjectStore(Box::new(object_store::Error::Generic {
            store: "S3",
            source: source.into(),
        }));
        let text = message(&describe(&e));
        assert!(text.starts_with("bucket does not exist"), "{text}");
        assert!(!text.contains("<Error>"), "{text}");
    }

    #[test]
    fn only_read_errors_are_worth_re_reading_files_for() {
        let csv = DataFusionError::ArrowError(
            Box::new(ArrowError::CsvError("incorrect number of fields".into())),
            None,
        );
        assert!(worth_locating(&csv));
        assert!(!worth_locating(&DataFusionError::Plan(
            "no such column".into()
        )));
    }
}
