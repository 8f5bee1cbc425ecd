//! DuckDB, the first oracle: a Python process running
//! `duckdb_oracle.py`, over tables loaded from the same files morsel reads.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value as Json, json};

use crate::values::{Row, rows_of_json};

pub struct DuckDb {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl DuckDb {
    /// Starts the oracle with tables named as morsel names those in `dir`.
    pub fn start(dir: &Path) -> Self {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sqlfuzz/duckdb_oracle.py");
        let mut child = Command::new("python3")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with duckdb (pip install duckdb)");
        let input = child.stdin.take().expect("stdin");
        let output = BufReader::new(child.stdout.take().expect("stdout"));
        let mut duckdb = Self {
            child,
            input,
            output,
        };
        duckdb.create_tables(dir);
        duckdb
    }

    /// Loads a new set of tables. DuckDB holds each in memory, read from
    /// the same files: its own filters pushed into a Parquet scan drop NaN
    /// rows (`3.5 <= f`, `NOT (3 < f)` over a file holding NaN; DuckDB 2.0.1),
    /// which views over the files would make morsel's mismatches.
    pub fn create_tables(&mut self, dir: &Path) {
        let tables = dir.join("tables");
        let at = |p: &Path| p.display().to_string();
        let tables = [
            (
                "ta",
                format!("read_parquet('{}')", at(&tables.join("ta.parquet"))),
            ),
            (
                "tb",
                format!("read_parquet('{}')", at(&tables.join("tb.parquet"))),
            ),
            (
                "te",
                format!("read_parquet('{}')", at(&tables.join("te.parquet"))),
            ),
            (
                "tc",
                format!("read_parquet('{}')", at(&dir.join("oracle/tc.parquet"))),
            ),
            (
                "tp",
                format!(
                    "read_parquet('{}/**/*.parquet', hive_partitioning = true)",
                    at(&tables.join("tp"))
                ),
            ),
        ];
        for (name, source) in tables {
            let sql = format!("CREATE OR REPLACE TABLE {name} AS SELECT * FROM {source}");
            if let Err(e) = self.query(&sql) {
                panic!("DuckDB table {name}: {e}");
            }
        }
    }

    /// DuckDB's answer to `sql`, or its error.
    pub fn query(&mut self, sql: &str) -> Result<Vec<Row>, String> {
        let request = json!({ "sql": sql }).to_string();
        writeln!(self.input, "{request}").expect("oracle alive");
        self.input.flush().expect("oracle alive");
        let mut line = String::new();
        self.output.read_line(&mut line).expect("oracle answers");
        let answer: Json = serde_json::from_str(&line).expect("a JSON answer");
        match (answer.get("rows"), answer.get("error")) {
            (Some(Json::Array(rows)), _) => Ok(rows_of_json(rows)),
            (_, Some(error)) => Err(error.as_str().unwrap_or_default().to_string()),
            _ => Err(format!("oracle sent {line}")),
        }
    }
}

impl Drop for DuckDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
