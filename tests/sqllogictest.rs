//! Runs every `tests/slt/*.slt` file against a fresh morsel session.
//!
//! Each file starts with the tables of `testdata/data` registered, as
//! `morsel testdata/data` would. Values print as the `table` format prints
//! them, with `NULL` for nulls.

use std::path::PathBuf;

use async_trait::async_trait;
use datafusion::arrow::datatypes::DataType;
use morsel::error::Error;
use morsel::execution::{Collected, Session, SessionOptions};
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType};

struct MorselDb {
    session: Session,
}

#[async_trait]
impl AsyncDB for MorselDb {
    type Error = Error;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, Error> {
        let mut sink = Collected::default();
        self.session.execute(sql, &mut sink).await?;
        let schema = sink.schema.expect("begin is always called");
        if schema.fields().is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let types = schema
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect();
        let rows = morsel::output::text_rows(&sink.batches, "NULL");
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}
}

fn column_type(ty: &DataType) -> DefaultColumnType {
    if ty.is_integer() {
        DefaultColumnType::Integer
    } else if ty.is_floating() || matches!(ty, DataType::Decimal128(..) | DataType::Decimal256(..))
    {
        DefaultColumnType::FloatingPoint
    } else {
        DefaultColumnType::Text
    }
}

async fn connect() -> Result<MorselDb, Error> {
    let session = Session::new(&SessionOptions::default())?;
    for found in session.register_directory("testdata/data").await? {
        found.table?;
    }
    Ok(MorselDb { session })
}

#[tokio::main]
async fn main() {
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/slt")
        .expect("tests/slt exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    let filter = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let (mut passed, mut failed) = (0, 0);
    for file in files {
        if filter
            .as_ref()
            .is_some_and(|f| !file.to_string_lossy().contains(f.as_str()))
        {
            continue;
        }
        let mut runner = sqllogictest::Runner::new(connect);
        match runner.run_file_async(&file).await {
            Ok(()) => {
                passed += 1;
                println!("ok    {}", file.display());
            }
            Err(e) => {
                failed += 1;
                println!("FAIL  {}\n{e}", file.display());
            }
        }
    }
    println!("sqllogictest: {passed} passed, {failed} failed");
    if failed > 0 || passed == 0 {
        std::process::exit(1);
    }
}
