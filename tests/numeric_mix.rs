//! Comparisons and arithmetic over every mix of integer, decimal, double and
//! float columns and literals answer as DuckDB answers the same SQL.
//!
//! morsel reads `19.99` as an exact decimal; compared with a DOUBLE column it
//! must still find the row holding 19.99, as DuckDB does. Each query below
//! runs in the morsel binary and in DuckDB (Python), and every cell must
//! agree: booleans and NULLs exactly, numbers within the precision of a
//! FLOAT. Division is left out: DuckDB's `/` divides integers into a
//! DOUBLE, DataFusion's (like PostgreSQL's) into an integer.

mod common;

use std::process::Command;

use common::morsel;

/// Two rows of each type holding the same numbers, and a row of NULLs.
const TABLE: &str = "CREATE TABLE t AS SELECT * FROM (VALUES \
    (CAST(1 AS INTEGER), CAST(3 AS BIGINT), CAST(19.99 AS DECIMAL(10,2)), CAST(19.99 AS DOUBLE), CAST(19.99 AS FLOAT)), \
    (CAST(-2 AS INTEGER), CAST(-35 AS BIGINT), CAST(-35.12 AS DECIMAL(10,2)), CAST(-35.12 AS DOUBLE), CAST(-35.12 AS FLOAT)), \
    (CAST(7 AS INTEGER), CAST(0 AS BIGINT), CAST(0.07 AS DECIMAL(10,2)), CAST(0.07 AS DOUBLE), CAST(0.07 AS FLOAT)), \
    (CAST(NULL AS INTEGER), CAST(NULL AS BIGINT), CAST(NULL AS DECIMAL(10,2)), CAST(NULL AS DOUBLE), CAST(NULL AS FLOAT))) \
    v(i, b, d, f, r)";

/// INTEGER, BIGINT, DECIMAL(10,2), DOUBLE and FLOAT columns, then literals.
const OPERANDS: [&str; 9] = ["i", "b", "d", "f", "r", "2", "19.99", "-35.12", "0.07"];

const COMPARISONS: [&str; 6] = ["=", "<>", "<", "<=", ">", ">="];
const ARITHMETIC: [&str; 3] = ["+", "-", "*"];

/// A query: what it selects, and what follows `FROM t`.
struct Query {
    columns: Vec<String>,
    rest: &'static str,
}

impl Query {
    fn sql(&self) -> String {
        format!("SELECT {} FROM t {}", self.columns.join(", "), self.rest)
    }
}

/// `x OP y` for every pair of operands with a column in it.
fn every_pair(op: &str) -> Query {
    let mut columns = Vec::new();
    for x in OPERANDS {
        for y in OPERANDS {
            if is_column(x) || is_column(y) {
                columns.push(format!("{x} {op} {y}"));
            }
        }
    }
    Query {
        columns,
        rest: "ORDER BY i",
    }
}

fn is_column(operand: &str) -> bool {
    operand.starts_with(|c: char| c.is_ascii_alphabetic())
}

fn queries() -> Vec<Query> {
    let mut queries: Vec<Query> = COMPARISONS
        .iter()
        .chain(&ARITHMETIC)
        .map(|op| every_pair(op))
        .collect();
    let ranges = [
        "f BETWEEN -35.12 AND 0.07",
        "r BETWEEN 0.07 AND 19.99",
        "d BETWEEN f AND 20",
        "f NOT BETWEEN 0.07 AND 19.99",
        "b BETWEEN -35.12 AND 3",
        "f IN (19.99, -35.12)",
        "r IN (0.07, 2)",
        "d IN (f, 1)",
        "f NOT IN (0.07, 19.99)",
        "i IN (1, 7.0)",
    ];
    queries.push(Query {
        columns: ranges.map(String::from).to_vec(),
        rest: "ORDER BY i",
    });
    // The reproduction from the report: 3 rows, not 2.
    queries.push(Query {
        columns: vec!["count(*)".into()],
        rest: "WHERE f = 19.99 OR f = 0.07 OR f = -35.12",
    });
    queries
}

/// Each query's rows as DuckDB gives them, cells as text (`true`, `false`,
/// numbers, empty for NULL).
fn duckdb_rows(queries: &[String]) -> Vec<Vec<Vec<String>>> {
    let script = format!(
        r#"
import duckdb, json
c = duckdb.connect()
c.execute({table:?})
def cell(v):
    if v is None: return ""
    if isinstance(v, bool): return "true" if v else "false"
    return str(v)
print(json.dumps([[[cell(v) for v in row] for row in c.execute(q).fetchall()] for q in {queries:?}]))
"#,
        table = TABLE,
        queries = queries,
    );
    let output = Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "DuckDB failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("DuckDB's rows as JSON")
}

/// The rows morsel gives for `query` over the same table.
fn morsel_rows(query: &str) -> Vec<Vec<String>> {
    let script = format!("{TABLE}; {query}");
    let (code, stdout, stderr) = morsel(&["--format", "csv", "-c", &script]);
    assert_eq!(code, 0, "{query}: {stderr}");
    stdout
        .lines()
        .skip(1)
        .map(|line| line.split(',').map(str::to_string).collect())
        .collect()
}

/// Equal as text, or as numbers within a FLOAT's precision.
fn same_cell(ours: &str, theirs: &str) -> bool {
    if ours == theirs {
        return true;
    }
    match (ours.parse::<f64>(), theirs.parse::<f64>()) {
        (Ok(a), Ok(b)) => (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0),
        _ => false,
    }
}

#[test]
fn every_numeric_mix_answers_as_duckdb() {
    let queries = queries();
    let sql: Vec<String> = queries.iter().map(Query::sql).collect();
    let expected = duckdb_rows(&sql);
    for ((query, sql), expected) in queries.iter().zip(&sql).zip(expected) {
        let rows = morsel_rows(sql);
        assert_eq!(rows.len(), expected.len(), "{sql}");
        for (row, (ours, theirs)) in rows.iter().zip(&expected).enumerate() {
            assert_eq!(ours.len(), theirs.len(), "row {row} of {sql}");
            for ((a, b), column) in ours.iter().zip(theirs).zip(&query.columns) {
                assert!(
                    same_cell(a, b),
                    "row {row}, `{column}`: morsel says {a}, DuckDB {b}"
                );
            }
        }
    }
}
