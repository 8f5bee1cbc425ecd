//! `morsel bench tpch`: run, time and verify the 22 queries.
//!
//! Every timed run plans and executes the query and collects its result in
//! memory (nothing is printed), the way a client would consume it. A query
//! that fails is reported and the run goes on; the exit status says whether
//! every query ran and, with `--verify`, matched its reference answer.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};
use serde::Serialize;

use super::{queries, verify};
use crate::error::{Error, Result};
use crate::session::{Collected, EngineOptions, Session};

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub data: String,
    pub queries: Vec<usize>,
    pub iterations: usize,
    pub warmup: usize,
    pub session: EngineOptions,
    pub json: Option<PathBuf>,
    /// `Some(None)`: built-in answers; `Some(Some(dir))`: `dir/qNN.csv`.
    pub verify: Option<Option<PathBuf>>,
}

#[derive(Debug, Serialize)]
struct QueryReport {
    query: usize,
    rows: usize,
    times_s: Vec<f64>,
    min_s: f64,
    median_s: f64,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Report {
    morsel_version: &'static str,
    data: String,
    scale_factor: f64,
    cores: usize,
    threads: usize,
    memory_limit_bytes: Option<usize>,
    iterations: usize,
    warmup: usize,
    queries: Vec<QueryReport>,
    total_min_s: f64,
    total_median_s: f64,
    peak_rss_bytes: Option<u64>,
}

/// Runs the benchmark; `Ok(false)` when a query failed or did not verify.
pub async fn run(options: &BenchOptions) -> Result<bool> {
    let session = Session::new(&options.session)?;
    for found in session.register_directory(&options.data).await? {
        found.table?;
    }
    let scale_factor = detect_scale_factor(&session).await?;
    let answers = Answers::locate(options.verify.as_ref(), scale_factor)?;
    let mut reports = Vec::new();
    for &n in &options.queries {
        let report = run_query(&session, options, n, scale_factor, answers.as_ref()).await;
        eprintln!("Q{n:02} {}", report.status);
        reports.push(report);
    }
    let report = Report {
        morsel_version: env!("CARGO_PKG_VERSION"),
        data: options.data.clone(),
        scale_factor,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        threads: session.target_partitions(),
        memory_limit_bytes: options.session.memory_limit,
        iterations: options.iterations,
        warmup: options.warmup,
        total_min_s: reports.iter().map(|r| r.min_s).sum(),
        total_median_s: reports.iter().map(|r| r.median_s).sum(),
        queries: reports,
        peak_rss_bytes: peak_rss_bytes(),
    };
    print_table(&report);
    if let Some(path) = &options.json {
        let text = serde_json::to_string_pretty(&report).expect("serialisable");
        std::fs::write(path, text + "\n").map_err(|source| Error::file(path, source))?;
    }
    Ok(report.queries.iter().all(|q| q.error.is_none()))
}

async fn run_query(
    session: &Session,
    options: &BenchOptions,
    n: usize,
    scale_factor: f64,
    answers: Option<&Answers>,
) -> QueryReport {
    let sql = queries::query(n, scale_factor);
    let mut times = Vec::with_capacity(options.iterations);
    let mut last = Collected::default();
    for i in 0..options.warmup + options.iterations.max(1) {
        let mut result = Collected::default();
        let started = Instant::now();
        if let Err(e) = session.execute(&sql, &mut result).await {
            return failed(n, times, format!("error: {e}"), e.to_string());
        }
        if i >= options.warmup {
            times.push(started.elapsed());
        }
        last = result;
    }
    let rows = verify::result_rows(&last.batches);
    let sort_keys = session
        .last_plan()
        .and_then(|plan| sort_columns(&plan))
        .or_else(|| {
            session
                .last_logical_plan()
                .and_then(|plan| ordered_by(&plan))
        });
    let status = match answers.map(|a| a.check(n, &rows, sort_keys.as_deref())) {
        None => "ok".to_string(),
        Some(Ok(())) => "verified".to_string(),
        Some(Err(mismatch)) => {
            return report(n, rows.len(), times, "MISMATCH".into(), Some(mismatch));
        }
    };
    report(n, rows.len(), times, status, None)
}

/// The output columns a plan's result is sorted on, when they all are
/// plain columns (every TPC-H ORDER BY is).
fn sort_columns(plan: &Arc<dyn ExecutionPlan>) -> Option<Vec<usize>> {
    plan.output_ordering()?
        .iter()
        .map(|sort| sort.expr.downcast_ref::<Column>().map(Column::index))
        .collect()
}

/// The output columns a query's ORDER BY names, read off its logical plan
/// when its physical one declares no order: a cluster's rows reach the
/// client as one stream of no declared order (Q11 at SF 10 has ties, in
/// another order there than here).
fn ordered_by(plan: &LogicalPlan) -> Option<Vec<usize>> {
    let sort = match plan {
        LogicalPlan::Sort(sort) => sort,
        LogicalPlan::Limit(limit) => match limit.input.as_ref() {
            LogicalPlan::Sort(sort) => sort,
            _ => return None,
        },
        _ => return None,
    };
    sort.expr
        .iter()
        .map(|key| match &key.expr {
            Expr::Column(column) => plan.schema().index_of_column(column).ok(),
            _ => None,
        })
        .collect()
}

fn failed(n: usize, times: Vec<Duration>, status: String, error: String) -> QueryReport {
    report(n, 0, times, status, Some(error))
}

fn report(
    n: usize,
    rows: usize,
    times: Vec<Duration>,
    status: String,
    error: Option<String>,
) -> QueryReport {
    let mut seconds: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
    let times_s = seconds.clone();
    seconds.sort_by(f64::total_cmp);
    let min_s = seconds.first().copied().unwrap_or(0.0);
    let median_s = match seconds.len() {
        0 => 0.0,
        len if len % 2 == 1 => seconds[len / 2],
        len => (seconds[len / 2 - 1] + seconds[len / 2]) / 2.0,
    };
    QueryReport {
        query: n,
        rows,
        times_s,
        min_s,
        median_s,
        status,
        error,
    }
}

/// SUPPLIER has exactly 10,000 rows per unit of scale factor.
async fn detect_scale_factor(session: &Session) -> Result<f64> {
    let mut result = Collected::default();
    session
        .execute("SELECT count(*) FROM supplier", &mut result)
        .await?;
    let rows = verify::result_rows(&result.batches);
    let count: f64 = rows
        .first()
        .and_then(|r| r.first())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::query("cannot count the rows of supplier"))?;
    Ok(count / 10_000.0)
}

/// Where reference answers come from.
enum Answers {
    BuiltIn(f64),
    Directory(PathBuf),
}

impl Answers {
    fn locate(verify: Option<&Option<PathBuf>>, scale_factor: f64) -> Result<Option<Self>> {
        match verify {
            None => Ok(None),
            Some(Some(dir)) => Ok(Some(Answers::Directory(dir.clone()))),
            Some(None) if queries::builtin_answer(1, scale_factor).is_some() => {
                Ok(Some(Answers::BuiltIn(scale_factor)))
            }
            Some(None) => Err(Error::Usage(format!(
                "morsel has answers for SF 0.01 and 1, not {scale_factor}; give a folder: --verify DIR"
            ))),
        }
    }

    fn check(
        &self,
        n: usize,
        rows: &[Vec<String>],
        sort_keys: Option<&[usize]>,
    ) -> Result<(), String> {
        let text = match self {
            Answers::BuiltIn(sf) => queries::builtin_answer(n, *sf)
                .expect("located")
                .to_string(),
            Answers::Directory(dir) => {
                let path = dir.join(format!("q{n:02}.csv"));
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?
            }
        };
        verify::compare(&text, rows, sort_keys).map_err(|m| m.to_string())
    }
}

fn print_table(report: &Report) {
    println!(
        "TPC-H SF {} · {} threads · {} iteration(s)",
        report.scale_factor, report.threads, report.iterations
    );
    println!(
        "{:<6} {:>7} {:>9} {:>11}  result",
        "query", "rows", "min (s)", "median (s)"
    );
    for q in &report.queries {
        println!(
            "Q{:02}    {:>7} {:>9.3} {:>11.3}  {}",
            q.query, q.rows, q.min_s, q.median_s, q.status
        );
    }
    println!(
        "total  {:>7} {:>9.3} {:>11.3}",
        "", report.total_min_s, report.total_median_s
    );
    for q in &report.queries {
        if let Some(error) = &q.error {
            println!("Q{:02}: {error}", q.query);
        }
    }
    let good = report.queries.iter().filter(|q| q.error.is_none()).count();
    let failed = report.queries.len() - good;
    let verified = report
        .queries
        .iter()
        .filter(|q| q.status == "verified")
        .count();
    // "Passed" only for what was checked against an answer.
    if verified == good {
        println!("tpch: {good} passed, {failed} failed");
    } else {
        println!("tpch: {good} ran, {failed} failed; answers not checked (add --verify)");
    }
}

/// The process's peak resident memory, from `/proc` (Linux only).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn ordered_by_of(sql: &str) -> Option<Vec<usize>> {
        let session = Session::new(&EngineOptions::default()).unwrap();
        session
            .execute(sql, &mut Collected::default())
            .await
            .unwrap();
        ordered_by(&session.last_logical_plan().unwrap())
    }

    #[tokio::test]
    async fn the_order_by_columns_are_read_off_the_logical_plan() {
        let values = "(VALUES (1, 'a', 2.5), (2, 'b', 2.5)) t(k, s, v)";
        let sorted = format!("SELECT k, s, v FROM {values} ORDER BY v DESC, k");
        assert_eq!(ordered_by_of(&sorted).await, Some(vec![2, 0]));
        let limited = format!("SELECT s, v FROM {values} ORDER BY v LIMIT 1");
        assert_eq!(ordered_by_of(&limited).await, Some(vec![1]));
        // An ORDER BY of what the SELECT leaves out: no output column.
        let hidden = format!("SELECT s FROM {values} ORDER BY k");
        assert_eq!(ordered_by_of(&hidden).await, None);
        let computed = format!("SELECT k, v FROM {values} ORDER BY v * 2");
        assert_eq!(ordered_by_of(&computed).await, None);
    }
}
