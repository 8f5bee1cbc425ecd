//! Engine settings that size threads, queues and batches, kept within
//! bounds a machine can honour.
//!
//! DataFusion checks that such a count is above zero and nothing more: `SET
//! datafusion.execution.batch_size = 9223372036854775807` is accepted, and
//! the next query panics allocating a batch that size; a queue of 2^63
//! permits panics tokio's semaphore; `target_partitions = 100000` plans a
//! query no machine finishes. (Found by `examples/inputfuzz --target
//! setting`.) `SET` is refused with one line instead, naming the bound.

use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::{Expr, Set, Statement as SqlStatement, Value};

use crate::error::{Error, Result};

/// Settings that count partitions, threads or buffered batches.
const COUNTS: [&str; 7] = [
    "datafusion.execution.target_partitions",
    "datafusion.execution.planning_concurrency",
    "datafusion.execution.meta_fetch_concurrency",
    "datafusion.execution.minimum_parallel_output_files",
    "datafusion.execution.max_buffered_batches_per_output_file",
    "datafusion.execution.parquet.maximum_parallel_row_group_writers",
    "datafusion.execution.parquet.maximum_buffered_record_batches_per_stream",
];
/// The most of any of [`COUNTS`]: far beyond any machine's cores.
const MAX_COUNT: u64 = 1024;
/// The most rows in a batch: batches are meant to fit a CPU cache, and
/// DataFusion allocates whole batches up front.
const MAX_BATCH_SIZE: u64 = 1 << 20;

/// `Err` when `statement` sets one of the bounded settings above its bound.
pub fn check(statement: &Statement) -> Result<()> {
    let Statement::Statement(statement) = statement else {
        return Ok(());
    };
    let SqlStatement::Set(Set::SingleAssignment {
        variable, values, ..
    }) = statement.as_ref()
    else {
        return Ok(());
    };
    let name = variable.to_string().to_ascii_lowercase();
    let bound = match name.as_str() {
        "datafusion.execution.batch_size" => MAX_BATCH_SIZE,
        name if COUNTS.contains(&name) => MAX_COUNT,
        _ => return Ok(()),
    };
    match values.as_slice() {
        [value] if number(value).is_some_and(|n| n > bound as u128) => Err(Error::query(format!(
            "SET {variable}: at most {bound}, not {value}"
        ))),
        _ => Ok(()),
    }
}

/// A whole number written as a literal, quoted or not.
fn number(value: &Expr) -> Option<u128> {
    let Expr::Value(value) = value else {
        return None;
    };
    match &value.value {
        Value::Number(text, _) => text.parse().ok(),
        Value::SingleQuotedString(text) => text.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use datafusion::sql::parser::DFParser;

    use super::*;

    fn checked(sql: &str) -> Result<()> {
        let mut statements = DFParser::parse_sql(sql).unwrap();
        check(&statements.pop_front().unwrap())
    }

    #[test]
    fn counts_and_batch_sizes_past_their_bounds_are_refused() {
        let refused = checked("SET datafusion.execution.batch_size = 9223372036854775807");
        assert_eq!(
            refused.unwrap_err().to_string(),
            "SET datafusion.execution.batch_size: at most 1048576, not 9223372036854775807"
        );
        assert!(checked("SET datafusion.execution.target_partitions = '100000'").is_err());
        assert!(
            checked("SET datafusion.execution.target_partitions = 99999999999999999999999")
                .is_err()
        );
    }

    #[test]
    fn values_within_bounds_and_other_settings_pass() {
        for sql in [
            "SET datafusion.execution.batch_size = 8192",
            "SET datafusion.execution.target_partitions = 64",
            "SET datafusion.execution.soft_max_rows_per_output_file = 9223372036854775807",
            "SET s3.region = 'eu-west-1'",
            "SELECT 1",
        ] {
            assert!(checked(sql).is_ok(), "{sql}");
        }
    }
}
