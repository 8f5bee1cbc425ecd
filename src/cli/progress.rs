//! The progress bar of a running statement, on stderr.
//!
//! It stays hidden for the first half second, so quick statements never
//! flicker, then shows the share of input done (see
//! `session::progress`), rows scanned, elapsed time and an ETA, redrawn ten
//! times a second. It is cleared before the first result row is printed, and
//! when the statement ends or is cancelled.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::session::{ProgressSnapshot, ResultSink, Session};

const DELAY: Duration = Duration::from_millis(500);
const TICK: Duration = Duration::from_millis(100);
/// The bar's resolution: a fraction is drawn as a position out of this.
const STEPS: u64 = 1000;

/// A bar for one statement; [`ProgressBarSink`] and the caller clear it.
#[derive(Clone)]
pub struct StatementBar {
    bar: ProgressBar,
    /// Set once output starts: the bar must not be drawn over results.
    done: Arc<AtomicBool>,
}

impl StatementBar {
    pub fn new() -> Self {
        Self {
            bar: ProgressBar::with_draw_target(Some(STEPS), ProgressDrawTarget::hidden()),
            done: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Draws the session's progress until the statement ends (never returns;
    /// the caller drops it when the statement finishes).
    pub async fn follow(&self, session: &Session) {
        tokio::time::sleep(DELAY).await;
        if self.done.load(Ordering::SeqCst) {
            return std::future::pending().await;
        }
        self.bar.set_draw_target(ProgressDrawTarget::stderr());
        loop {
            if self.done.load(Ordering::SeqCst) {
                return std::future::pending().await;
            }
            if let Some(now) = session.progress().await {
                self.draw(&now);
            }
            tokio::time::sleep(TICK).await;
        }
    }

    fn draw(&self, now: &ProgressSnapshot) {
        match now.fraction {
            Some(fraction) => {
                self.bar.set_style(bar_style());
                self.bar.set_position((fraction * STEPS as f64) as u64);
            }
            None => {
                self.bar.set_style(spinner_style());
                self.bar.tick();
            }
        }
        self.bar.set_message(done_so_far(now));
    }

    pub fn clear(&self) {
        self.done.store(true, Ordering::SeqCst);
        self.bar.finish_and_clear();
    }
}

/// What the bar says has been done: a cluster's stages and tasks, or the
/// rows read here.
fn done_so_far(now: &ProgressSnapshot) -> String {
    match &now.job {
        Some(job) => format!(
            "{} of {} stages, {} of {} tasks",
            job.stages_done(),
            job.stages.len(),
            job.tasks_done(),
            job.tasks()
        ),
        None => format!("{} rows", crate::output::group_digits(now.rows)),
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {percent:>3}% {msg}, ETA {eta}")
        .expect("valid template")
        .progress_chars("=> ")
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{elapsed:>4} {spinner} {msg}").expect("valid template")
}

/// Clears the bar before the first result is printed.
pub struct ProgressBarSink<'a> {
    pub inner: &'a mut dyn ResultSink,
    pub bar: StatementBar,
}

impl ResultSink for ProgressBarSink<'_> {
    fn begin(&mut self, schema: &SchemaRef) -> std::io::Result<()> {
        self.inner.begin(schema)
    }

    fn batch(&mut self, batch: &RecordBatch) -> std::io::Result<()> {
        self.bar.clear();
        self.inner.batch(batch)
    }

    fn end(&mut self) -> std::io::Result<()> {
        self.bar.clear();
        self.inner.end()
    }
}
