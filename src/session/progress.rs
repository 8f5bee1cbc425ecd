//! How far a running query has come, read off its plan while it runs.
//!
//! The amount of input is known before a scan starts: Parquet footers give
//! row counts, listings give file sizes. Scans count their output rows in
//! live metrics, and the session's stores count the bytes they read, so the
//! share of input done is the rows scanned over the rows to scan, or, where
//! row counts are unknown (CSV), the bytes read over the bytes to read.
//! Nothing is added to the query's path: a reader polls these counters.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_plan::ExecutionPlan;

use crate::engine::JobProgress;

/// The input of a plan: its leaves (file scans, generators) and how much
/// they will read, when every leaf is a file scan.
#[derive(Debug)]
pub struct Progress {
    scans: Vec<Arc<dyn ExecutionPlan>>,
    total_rows: Option<usize>,
    total_bytes: u64,
}

/// Where a query stands now.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressSnapshot {
    /// Share of the input done, 0 to 1, when the input's size is known.
    pub fraction: Option<f64>,
    /// Rows the leaves have produced so far.
    pub rows: usize,
    /// The stages and tasks of a cluster's job, when a cluster runs it:
    /// its rows are read there, and `fraction` is its share of tasks done.
    pub job: Option<JobProgress>,
}

impl Progress {
    pub fn of(plan: &Arc<dyn ExecutionPlan>) -> Self {
        let mut scans = Vec::new();
        let mut total_rows = Some(0usize);
        let mut total_bytes = 0u64;
        let mut file_scans = 0;
        let mut stack = vec![Arc::clone(plan)];
        while let Some(node) = stack.pop() {
            let children = node.children();
            if children.is_empty() {
                scans.push(Arc::clone(&node));
            }
            let file_scan = node
                .downcast_ref::<DataSourceExec>()
                .and_then(|exec| exec.data_source().downcast_ref::<FileScanConfig>());
            match file_scan {
                // Generated rows (`range`, VALUES) have no size to measure.
                None if children.is_empty() => total_rows = None,
                None => {}
                Some(config) => {
                    file_scans += 1;
                    // A file a scan reads in byte ranges, one per partition,
                    // appears once per range, each time with the whole
                    // file's row count: count its rows once.
                    let mut counted = HashSet::new();
                    for file in config.file_groups.iter().flat_map(|group| group.files()) {
                        total_bytes += match &file.range {
                            Some(range) => (range.end - range.start).max(0) as u64,
                            None => file.object_meta.size,
                        };
                        if !counted.insert(file.object_meta.location.clone()) {
                            continue;
                        }
                        let rows = file
                            .statistics
                            .as_ref()
                            .and_then(|stats| stats.num_rows.get_value().copied());
                        total_rows = total_rows.zip(rows).map(|(sum, rows)| sum + rows);
                    }
                }
            }
            stack.extend(children.into_iter().cloned());
        }
        if scans.len() != file_scans {
            total_bytes = 0;
        }
        Self {
            scans,
            total_rows,
            total_bytes,
        }
    }

    /// The state of the run, given the bytes read since it started.
    pub fn snapshot(&self, bytes_read: u64) -> ProgressSnapshot {
        let rows: usize = self
            .scans
            .iter()
            .filter_map(|scan| scan.metrics().and_then(|m| m.output_rows()))
            .sum();
        let fraction = match self.total_rows {
            Some(total) if total > 0 => Some(rows as f64 / total as f64),
            _ if self.total_bytes > 0 => Some(bytes_read as f64 / self.total_bytes as f64),
            _ => None,
        };
        ProgressSnapshot {
            fraction: fraction.map(|f| f.clamp(0.0, 1.0)),
            rows,
            job: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineOptions;
    use crate::session::{Collected, Session};

    async fn run(session: &Session, sql: &str) {
        session
            .execute(sql, &mut Collected::default())
            .await
            .unwrap();
    }

    /// On two threads one Parquet file is read in two byte ranges, each
    /// carrying the whole file's row count; the total counts it once (it
    /// was doubled, and progress stood at 42 % with 83 % of rows read).
    #[tokio::test]
    async fn a_file_read_in_ranges_counts_its_rows_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.parquet");
        let options = EngineOptions {
            threads: Some(2),
            ..EngineOptions::default()
        };
        let session = Session::new(&options).unwrap();
        let copy = format!(
            "COPY (SELECT value AS v FROM range(100000)) TO '{}'",
            file.display()
        );
        run(&session, &copy).await;
        run(
            &session,
            "SET datafusion.optimizer.repartition_file_min_size = 1",
        )
        .await;
        let sql = format!("SELECT v FROM '{}' WHERE v % 3 = 0", file.display());
        let plan = session.physical_plan(&sql).await.unwrap();

        let progress = Progress::of(&plan);
        let ranges: usize = progress
            .scans
            .iter()
            .filter_map(|scan| scan.downcast_ref::<DataSourceExec>())
            .filter_map(|exec| exec.data_source().downcast_ref::<FileScanConfig>())
            .flat_map(|config| config.file_groups.iter().flat_map(|g| g.files()))
            .count();
        assert_eq!(ranges, 2, "the file is read in two ranges: {plan:?}");
        assert_eq!(progress.total_rows, Some(100_000));
    }
}
