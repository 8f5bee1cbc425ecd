//! Comparing a query's result with a reference answer.
//!
//! Answers are `|`-separated text with a header row (see
//! `testdata/tpch/answers/README.md`). Numbers match within 1e-6 relative,
//! 0.01 absolute for money, or the last printed digit of the result; strings
//! are trimmed and may be quoted. Rows are compared in order, since every
//! multi-row TPC-H query has an ORDER BY, except that rows tied on the
//! ORDER BY columns may come in any order (Q11 at SF 10 has such ties).

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
/// `sort_keys` are the result's ORDER BY columns, if known: rows tied on
/// them may be in any order; without them the order must be the answer's.
pub fn compare(
    answer: &str,
    actual: &[Vec<String>],
    sort_keys: Option<&[usize]>,
) -> Result<(), Mismatch> {
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
    if let Some((want, got)) = expected
        .iter()
        .zip(actual)
        .find(|(w, g)| w.len() != g.len())
    {
        return Err(Mismatch::ColumnCount {
            expected: want.len(),
            actual: got.len(),
        });
    }
    let mut start = 0;
    while start < actual.len() {
        let end = end_of_ties(actual, start, sort_keys);
        match_as_set(&expected[start..end], &actual[start..end], start)?;
        start = end;
    }
    Ok(())
}

/// Where the run of rows tied with `actual[start]` on the sort keys ends.
fn end_of_ties(actual: &[Vec<String>], start: usize, sort_keys: Option<&[usize]>) -> usize {
    let Some(keys) = sort_keys.filter(|keys| !keys.is_empty()) else {
        return start + 1;
    };
    let tied = |row: &Vec<String>| keys.iter().all(|&k| row.get(k) == actual[start].get(k));
    start + actual[start..].iter().take_while(|row| tied(row)).count()
}

/// Matches each actual row with a distinct expected row of the same run.
fn match_as_set(
    expected: &[Vec<&str>],
    actual: &[Vec<String>],
    first: usize,
) -> Result<(), Mismatch> {
    let mut used = vec![false; expected.len()];
    for (i, got) in actual.iter().enumerate() {
        let same = |want: &Vec<&str>| want.iter().zip(got).all(|(w, g)| same_value(w, g));
        match (0..expected.len()).find(|&j| !used[j] && same(&expected[j])) {
            Some(j) => used[j] = true,
            None => {
                return Err(Mismatch::Row {
                    row: first + i + 1,
                    expected: expected[i].join("|"),
                    actual: got.join("|"),
                });
            }
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
        assert_eq!(compare(ANSWER, &actual, None), Ok(()));
    }

    #[test]
    fn differences_are_reported_with_the_first_differing_row() {
        let actual = rows(&[
            &["Customer#1", "100.00", "0.3333333333"],
            &["Bob", "5.02", "2"],
        ]);
        assert_eq!(
            compare(ANSWER, &actual, None),
            Err(Mismatch::Row {
                row: 2,
                expected: "Bob |5|2".into(),
                actual: "Bob|5.02|2".into(),
            })
        );
        assert_eq!(
            compare(ANSWER, &actual[..1], None),
            Err(Mismatch::RowCount {
                expected: 2,
                actual: 1
            })
        );
        let swapped = rows(&[
            &["Bob", "5", "2"],
            &["Customer#1", "100.00", "0.3333333333"],
        ]);
        assert!(compare(ANSWER, &swapped, None).is_err(), "order matters");
    }

    #[test]
    fn rows_tied_on_the_sort_keys_may_come_in_any_order() {
        let answer = "key|value\na|3\nb|2\nc|2\nd|1\n";
        let ties_swapped = rows(&[&["a", "3"], &["c", "2"], &["b", "2"], &["d", "1"]]);
        assert_eq!(compare(answer, &ties_swapped, Some(&[1][..])), Ok(()));
        assert!(compare(answer, &ties_swapped, None).is_err());
        let untied_swapped = rows(&[&["d", "1"], &["b", "2"], &["c", "2"], &["a", "3"]]);
        assert_eq!(
            compare(answer, &untied_swapped, Some(&[1][..])),
            Err(Mismatch::Row {
                row: 1,
                expected: "a|3".into(),
                actual: "d|1".into(),
            })
        );
        let wrong_in_tie = rows(&[&["a", "3"], &["c", "2"], &["e", "2"], &["d", "1"]]);
        assert!(compare(answer, &wrong_in_tie, Some(&[1][..])).is_err());
    }
}
