//! Comparing a query's result with a reference answer.
//!
//! Answers are `|`-separated text with a header row (see
//! `testdata/tpch/answers/README.md`). Numbers match within 1e-6 relative,
//! 0.01 absolute for money, or the last printed digit of the result; strings
//! are trimmed and may be quoted; rows are compared in order, since every
//! multi-row TPC-H query has an ORDER BY.

use datafusion::arrow::record_batch::RecordBatch;

/// The first difference between a result and its answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Mismatch {
    RowCount {
        expected: usize,
        actual: usize,
    },
    ColumnCount {
        expected: usize,
        actual: usize,
    },
    Row {
        row: usize,
        expected: String,
        actual: String,
    },
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::RowCount { expected, actual } => {
                write!(f, "expected {expected} rows, got {actual}")
            }
            Mismatch::ColumnCount { expected, actual } => {
                write!(f, "expected {expected} columns, got {actual}")
            }
            Mismatch::Row {
                row,
                expected,
                actual,
            } => {
                write!(f, "row {row} differs: expected {expected}, got {actual}")
            }
        }
    }
}

/// Result rows as text, the way answers are written (NULL as nothing).
pub fn result_rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    crate::output::text_rows(batches, "")
}

/// `Ok` when `actual` matches the answer text, else the first difference.
pub fn compare(answer: &str, actual: &[Vec<String>]) -> Result<(), Mismatch> {
    let expected: Vec<Vec<&str>> = answer
        .lines()
        .skip(1)
        .map(|l| l.split('|').collect())
        .collect();
    if expected.len() != actual.len() {
        return Err(Mismatch::RowCount {
            expected: expected.len(),
            actual: actual.len(),
        });
    }
    for (i, (want, got)) in expected.iter().zip(actual).enumerate() {
        if want.len() != got.len() {
            return Err(Mismatch::ColumnCount {
                expected: want.len(),
                actual: got.len(),
            });
        }
        if !want.iter().zip(got).all(|(w, g)| same_value(w, g)) {
            return Err(Mismatch::Row {
                row: i + 1,
                expected: want.join("|"),
                actual: got.join("|"),
            });
        }
    }
    Ok(())
}

fn same_value(expected: &str, actual: &str) -> bool {
    let expected = unquote(expected.trim());
    let actual = unquote(actual.trim());
    match (expected.parse::<f64>(), actual.parse::<f64>()) {
        (Ok(e), Ok(a)) => (e - a).abs() <= tolerance(expected, actual, e),
        _ => expected == actual,
    }
}

/// How far two spellings of a number may be apart: 1e-6 relative; a cent
/// for money (two decimals); and a unit of the last digit the engine
/// printed, since a DECIMAL average is cut to fewer digits than a double.
fn tolerance(expected: &str, actual: &str, value: f64) -> f64 {
    let money = if decimals(expected) == 2 { 0.01 } else { 0.0 };
    let rounding = match decimals(actual) {
        0 => 0.0,
        digits => 10f64.powi(-(digits as i32)),
    };
    (1e-6 * value.abs()).max(money).max(rounding)
}

fn decimals(number: &str) -> usize {
    number
        .split_once('.')
        .map_or(0, |(_, fraction)| fraction.len())
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &[&[&str]]) -> Vec<Vec<String>> {
        text.iter()
            .map(|r| r.iter().map(|v| v.to_string()).collect())
            .collect()
    }

    const ANSWER: &str = "name|total|avg\n\"Customer#1\"|100.00|0.3333333333\nBob |5|2\n";

    #[test]
    fn numbers_within_tolerance_and_trimmed_quoted_strings_match() {
        let actual = rows(&[
            &["Customer#1", "100.004", "0.33333333"],
            &["Bob", "5.00", "2.0"],
        ]);
        assert_eq!(compare(ANSWER, &actual), Ok(()));
    }

    #[test]
    fn differences_are_reported_with_the_first_differing_row() {
        let actual = rows(&[
            &["Customer#1", "100.00", "0.3333333333"],
            &["Bob", "5.02", "2"],
        ]);
        assert_eq!(
            compare(ANSWER, &actual),
            Err(Mismatch::Row {
                row: 2,
                expected: "Bob |5|2".into(),
                actual: "Bob|5.02|2".into(),
            })
        );
        assert_eq!(
            compare(ANSWER, &actual[..1]),
            Err(Mismatch::RowCount {
                expected: 2,
                actual: 1
            })
        );
        let swapped = rows(&[
            &["Bob", "5", "2"],
            &["Customer#1", "100.00", "0.3333333333"],
        ]);
        assert!(compare(ANSWER, &swapped).is_err(), "order matters");
    }
}
