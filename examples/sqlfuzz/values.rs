//! Answers as both engines can be compared: each cell a [`Value`], each
//! answer a multiset of rows.
//!
//! The engines type some results differently (DataFusion's `avg` of a
//! decimal is a decimal, DuckDB's a double; `sum` of BIGINT is a HUGEINT in
//! DuckDB), so every number is compared by value: integers exactly, others
//! within a relative 1e-9 (sums of doubles add in another order), with NaN
//! equal to NaN and -0 to 0.

use std::cmp::Ordering;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::ScalarValue;
use serde_json::Value as Json;

/// One cell of an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Num(f64),
    Str(String),
}

impl Value {
    fn number(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// The order both answers' rows are put in before they are paired: by
    /// kind, then by value, numbers within 1e-6 of zero as zero and every
    /// NaN as one. Numbers were once sorted by a key rounded
    /// to six digits, and rows whose values differed only in the seventh
    /// (-118765.625 and -118766.375) came in either order and were paired
    /// wrongly: a false mismatch (`--seed 9115`, query 36276).
    fn order(&self, other: &Value) -> Ordering {
        let by_kind = self.kind().cmp(&other.kind());
        by_kind.then_with(|| match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            _ => match (self.number(), other.number()) {
                (Some(a), Some(b)) => canonical(a).total_cmp(&canonical(b)),
                _ => Ordering::Equal,
            },
        })
    }

    /// Where a cell's kind sorts: numbers, booleans, strings, NULL.
    fn kind(&self) -> u8 {
        match self {
            Value::Int(_) | Value::Num(_) => 0,
            Value::Bool(_) => 1,
            Value::Str(_) => 2,
            Value::Null => 3,
        }
    }

    /// Whether two cells hold the same value, numbers within tolerance.
    pub fn same(&self, other: &Value) -> bool {
        match (self.number(), other.number()) {
            (Some(a), Some(b)) => same_number(a, b),
            _ => self == other,
        }
    }
}

fn same_number(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-3)
}

pub type Row = Vec<Value>;

/// The rows in an order both engines' answers share.
pub fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by(|a, b| {
        let mut cells = a.iter().zip(b).map(|(x, y)| x.order(y));
        cells
            .find(|order| order.is_ne())
            .unwrap_or_else(|| a.len().cmp(&b.len()))
    });
    rows
}

/// `n` as it is ordered: 0 for a number within 1e-6 of zero (sums of
/// doubles leave 1e-17 where the other engine has 0, and -0.0 is 0), and
/// one NaN for all (their sign bits differ between the engines).
fn canonical(n: f64) -> f64 {
    if n.is_nan() {
        f64::NAN
    } else if n.abs() < 1e-6 {
        0.0
    } else {
        n
    }
}

/// Whether two answers hold the same rows, in any order.
pub fn same_rows(a: &[Row], b: &[Row]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a, b) = (sorted(a.to_vec()), sorted(b.to_vec()));
    a.iter()
        .zip(&b)
        .all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(v, w)| v.same(w)))
}

/// The rows of morsel's answer.
pub fn rows_of_batches(batches: &[RecordBatch]) -> Vec<Row> {
    let mut rows = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .map(|column| cell(column.as_ref(), row))
                    .collect(),
            );
        }
    }
    rows
}

fn cell(column: &dyn datafusion::arrow::array::Array, row: usize) -> Value {
    let Ok(scalar) = ScalarValue::try_from_array(column, row) else {
        return Value::Str("<unreadable>".to_string());
    };
    if scalar.is_null() {
        return Value::Null;
    }
    match scalar {
        ScalarValue::Boolean(Some(b)) => Value::Bool(b),
        ScalarValue::Int8(Some(v)) => Value::Int(v.into()),
        ScalarValue::Int16(Some(v)) => Value::Int(v.into()),
        ScalarValue::Int32(Some(v)) => Value::Int(v.into()),
        ScalarValue::Int64(Some(v)) => Value::Int(v.into()),
        ScalarValue::UInt8(Some(v)) => Value::Int(v.into()),
        ScalarValue::UInt16(Some(v)) => Value::Int(v.into()),
        ScalarValue::UInt32(Some(v)) => Value::Int(v.into()),
        ScalarValue::UInt64(Some(v)) => Value::Int(v.into()),
        ScalarValue::Float32(Some(v)) => Value::Num(v.into()),
        ScalarValue::Float64(Some(v)) => Value::Num(v),
        ScalarValue::Decimal128(Some(v), _, scale) => {
            Value::Num(v as f64 / 10f64.powi(scale.into()))
        }
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Value::Str(s),
        _ => Value::Str(formatted(column, row)),
    }
}

/// A value as arrow displays it: dates as `YYYY-MM-DD`, as DuckDB's too.
fn formatted(column: &dyn datafusion::arrow::array::Array, row: usize) -> String {
    ArrayFormatter::try_new(column, &FormatOptions::default())
        .map(|f| f.value(row).to_string())
        .unwrap_or_else(|e| format!("<{e}>"))
}

/// A row as the DuckDB oracle sends it: `null`, `true`, or `{"i"|"f"|"s": text}`.
pub fn rows_of_json(rows: &[Json]) -> Vec<Row> {
    rows.iter()
        .map(|row| {
            row.as_array()
                .map(|cells| cells.iter().map(json_cell).collect())
                .unwrap_or_default()
        })
        .collect()
}

fn json_cell(cell: &Json) -> Value {
    match cell {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Object(tagged) => {
            let (tag, text) = tagged.iter().next().expect("one tag");
            let text = text.as_str().unwrap_or_default();
            match tag.as_str() {
                "i" => text
                    .parse()
                    .map_or_else(|_| Value::Str(text.to_string()), Value::Int),
                "f" => text
                    .parse()
                    .map_or_else(|_| Value::Str(text.to_string()), Value::Num),
                _ => Value::Str(text.to_string()),
            }
        }
        other => Value::Str(other.to_string()),
    }
}

/// Rows as a short table for a report.
pub fn shown(rows: &[Row]) -> String {
    let mut lines: Vec<String> = sorted(rows.to_vec())
        .iter()
        .take(20)
        .map(|row| {
            row.iter()
                .map(|v| match v {
                    Value::Null => "NULL".to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Int(i) => i.to_string(),
                    Value::Num(n) => n.to_string(),
                    Value::Str(s) => format!("{s:?}"),
                })
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    if rows.len() > 20 {
        lines.push(format!("… {} rows in all", rows.len()));
    }
    lines.join("\n")
}

/// Multiset union of answers, for the ternary-logic oracle.
pub fn union(parts: Vec<Vec<Row>>) -> Vec<Row> {
    parts.into_iter().flatten().collect()
}
