//! The processes' log: Ballista's events, one line each, on stderr.

use log::{Level, LevelFilter, Log, Metadata, Record};

/// Ballista's informational events and everyone's warnings and errors.
struct StderrLog;

impl Log for StderrLog {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= Level::Warn
            || (metadata.level() <= Level::Info && metadata.target().starts_with("ballista"))
    }

    fn log(&self, record: &Record) {
        if self.enabled(record.metadata()) {
            let message = record.args().to_string().replace('\n', " ");
            eprintln!("{} {}", record.level().as_str().to_lowercase(), message);
        }
    }

    fn flush(&self) {}
}

/// Sends the log crate's records to stderr, once per process.
pub fn install() {
    static LOG: StderrLog = StderrLog;
    if log::set_logger(&LOG).is_ok() {
        log::set_max_level(LevelFilter::Info);
    }
}
