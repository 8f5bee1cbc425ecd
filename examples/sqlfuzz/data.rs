//! The fuzzer's tables: random rows of every type the queries use, written
//! as Parquet and CSV (one table hive-partitioned, one empty), and the
//! schema the query generator draws columns from.
//!
//! Values come from small domains so that joins match, groups repeat and
//! rows duplicate; NULLs are everywhere; doubles include 0 (and NaN with
//! `--nan`).
//! morsel reads `tables/`; DuckDB reads the Parquet files, including
//! `oracle/tc.parquet`, the same rows as the CSV table `tc`.

use std::fs::{self, File};
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
    RecordBatch, StringArray,
};
use datafusion::arrow::csv::WriterBuilder;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use rand::Rng;
use rand::rngs::StdRng;

/// The types the generator tracks; each column and expression has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Int,
    Dec,
    Float,
    Str,
    Date,
    Bool,
}

impl Ty {
    /// Types that compare and add with each other.
    pub fn is_numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Dec | Ty::Float)
    }
}

/// A table the queries can name, with its columns.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: &'static str,
    pub columns: Vec<(&'static str, Ty)>,
}

/// `BIGINT i, INTEGER j, DECIMAL(10,2) d, DOUBLE f, VARCHAR s, DATE dt,
/// BOOLEAN b`, each name after `prefix`.
fn wide_columns(prefix: &'static str) -> Vec<(&'static str, Ty)> {
    let names: [&'static str; 7] = match prefix {
        "" => ["i", "j", "d", "f", "s", "dt", "b"],
        _ => ["ei", "ej", "ed", "ef", "es", "edt", "eb"],
    };
    names
        .into_iter()
        .zip([
            Ty::Int,
            Ty::Int,
            Ty::Dec,
            Ty::Float,
            Ty::Str,
            Ty::Date,
            Ty::Bool,
        ])
        .collect()
}

/// The tables every run has, as the generator sees them. Tables share
/// column names (`i`, `s`, `f`), as joined tables often do.
pub fn tables() -> Vec<Table> {
    vec![
        Table {
            name: "ta",
            columns: wide_columns(""),
        },
        Table {
            name: "tb",
            columns: vec![
                ("k", Ty::Int),
                ("i", Ty::Int),
                ("s", Ty::Str),
                ("f", Ty::Float),
            ],
        },
        Table {
            name: "te",
            columns: wide_columns("e"),
        },
        // CSV: no decimal (it would be read as a double) and no NaN, ±∞ or
        // empty string (CSV has no spelling of them that both engines read
        // back as the same value).
        Table {
            name: "tc",
            columns: vec![
                ("ci", Ty::Int),
                ("cf", Ty::Float),
                ("cs", Ty::Str),
                ("cdt", Ty::Date),
                ("cb", Ty::Bool),
            ],
        },
        // Hive-partitioned: `k` comes from `tp/k=N/` directories.
        Table {
            name: "tp",
            columns: vec![
                ("i", Ty::Int),
                ("s", Ty::Str),
                ("f", Ty::Float),
                ("k", Ty::Int),
            ],
        },
    ]
}

const STRINGS: [&str; 12] = [
    "", "a", "ab", "abc", "B", "b", "é", "日本", "a%b", "a_b", " x ", "Zz",
];
const CSV_STRINGS: [&str; 9] = ["a", "ab", "abc", "B", "b", "é", "日本", "a_b", "Zz"];

/// Draws column values; `null_rate` of them NULL.
struct Draw<'a> {
    rng: &'a mut StdRng,
    null_rate: f64,
    /// Whether doubles may be NaN.
    nan: bool,
}

impl Draw<'_> {
    fn null(&mut self) -> bool {
        self.rng.random_bool(self.null_rate)
    }

    fn ints(&mut self, n: usize, range: std::ops::RangeInclusive<i64>) -> Vec<Option<i64>> {
        (0..n)
            .map(|_| (!self.null()).then(|| self.rng.random_range(range.clone())))
            .collect()
    }

    /// Cents, so a DECIMAL(10,2) holds them exactly.
    fn cents(&mut self, n: usize) -> Vec<Option<i128>> {
        (0..n)
            .map(|_| (!self.null()).then(|| self.rng.random_range(-2000..=2000_i128) * 25))
            .collect()
    }

    /// Quarters in [-10, 10], and a tenth of them special where `specials`.
    fn doubles(&mut self, n: usize, specials: bool) -> Vec<Option<f64>> {
        // NaN only with `--nan`, ±∞ and -0.0 never: DataFusion 55 compares
        // them by arrow's total order in some places and by IEEE in others,
        // so answers with them still differ from DuckDB's (open,
        // docs/reliability.md).
        let special: &[f64] = if self.nan && specials {
            &[f64::NAN, 0.0]
        } else {
            &[0.0]
        };
        (0..n)
            .map(|_| {
                if self.null() {
                    None
                } else if self.rng.random_bool(0.1) {
                    Some(special[self.rng.random_range(0..special.len())])
                } else {
                    Some(self.rng.random_range(-40..=40) as f64 / 4.0)
                }
            })
            .collect()
    }

    fn strings(&mut self, n: usize, from: &[&str]) -> Vec<Option<String>> {
        (0..n)
            .map(|_| (!self.null()).then(|| from[self.rng.random_range(0..from.len())].to_string()))
            .collect()
    }

    /// Days in 2023–2025.
    fn dates(&mut self, n: usize) -> Vec<Option<i32>> {
        (0..n)
            .map(|_| {
                (!self.null()).then(|| {
                    19358 + self.rng.random_range(0..3) * 365 + self.rng.random_range(0..5)
                })
            })
            .collect()
    }

    fn bools(&mut self, n: usize) -> Vec<Option<bool>> {
        (0..n)
            .map(|_| (!self.null()).then(|| self.rng.random_bool(0.5)))
            .collect()
    }
}

fn column(name: &str, ty: DataType, array: ArrayRef) -> (Field, ArrayRef) {
    (Field::new(name, ty, true), array)
}

fn batch(columns: Vec<(Field, ArrayRef)>) -> RecordBatch {
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("columns of one length")
}

fn wide_batch(draw: &mut Draw, rows: usize) -> RecordBatch {
    let decimals = Decimal128Array::from(draw.cents(rows))
        .with_precision_and_scale(10, 2)
        .expect("DECIMAL(10,2)");
    let j: Vec<Option<i32>> = draw
        .ints(rows, -30..=30)
        .into_iter()
        .map(|v| v.map(|v| v as i32))
        .collect();
    batch(vec![
        column(
            "i",
            DataType::Int64,
            Arc::new(Int64Array::from(draw.ints(rows, -8..=8))),
        ),
        column("j", DataType::Int32, Arc::new(Int32Array::from(j))),
        column("d", DataType::Decimal128(10, 2), Arc::new(decimals)),
        column(
            "f",
            DataType::Float64,
            Arc::new(Float64Array::from(draw.doubles(rows, true))),
        ),
        column(
            "s",
            DataType::Utf8,
            Arc::new(StringArray::from(draw.strings(rows, &STRINGS))),
        ),
        column(
            "dt",
            DataType::Date32,
            Arc::new(Date32Array::from(draw.dates(rows))),
        ),
        column(
            "b",
            DataType::Boolean,
            Arc::new(BooleanArray::from(draw.bools(rows))),
        ),
    ])
}

fn tb_batch(draw: &mut Draw, rows: usize) -> RecordBatch {
    batch(vec![
        column(
            "k",
            DataType::Int64,
            Arc::new(Int64Array::from(draw.ints(rows, -8..=8))),
        ),
        column(
            "i",
            DataType::Int64,
            Arc::new(Int64Array::from(draw.ints(rows, -8..=8))),
        ),
        column(
            "s",
            DataType::Utf8,
            Arc::new(StringArray::from(draw.strings(rows, &STRINGS))),
        ),
        column(
            "f",
            DataType::Float64,
            Arc::new(Float64Array::from(draw.doubles(rows, true))),
        ),
    ])
}

fn tc_batch(draw: &mut Draw, rows: usize) -> RecordBatch {
    batch(vec![
        column(
            "i",
            DataType::Int64,
            Arc::new(Int64Array::from(draw.ints(rows, -8..=8))),
        ),
        column(
            "f",
            DataType::Float64,
            Arc::new(Float64Array::from(draw.doubles(rows, false))),
        ),
        column(
            "s",
            DataType::Utf8,
            Arc::new(StringArray::from(draw.strings(rows, &CSV_STRINGS))),
        ),
        column(
            "dt",
            DataType::Date32,
            Arc::new(Date32Array::from(draw.dates(rows))),
        ),
        column(
            "b",
            DataType::Boolean,
            Arc::new(BooleanArray::from(draw.bools(rows))),
        ),
    ])
}

fn tp_batch(draw: &mut Draw, rows: usize) -> RecordBatch {
    batch(vec![
        column(
            "i",
            DataType::Int64,
            Arc::new(Int64Array::from(draw.ints(rows, -8..=8))),
        ),
        column(
            "s",
            DataType::Utf8,
            Arc::new(StringArray::from(draw.strings(rows, &STRINGS))),
        ),
        column(
            "f",
            DataType::Float64,
            Arc::new(Float64Array::from(draw.doubles(rows, true))),
        ),
    ])
}

/// `batch` with its columns named as `table` names them, in order.
fn named(batch: RecordBatch, table: &str) -> RecordBatch {
    let tables = tables();
    let columns = &tables
        .iter()
        .find(|t| t.name == table)
        .expect("a known table")
        .columns;
    let fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .zip(columns)
        .map(|(field, (name, _))| field.as_ref().clone().with_name(*name))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), batch.columns().to_vec())
        .expect("the same columns")
}

fn write_parquet(path: &Path, batch: &RecordBatch) {
    fs::create_dir_all(path.parent().expect("a file in a directory")).expect("mkdir");
    let file = File::create(path).expect("create Parquet file");
    let mut writer = ArrowWriter::try_new(file, batch.schema(), None).expect("Parquet writer");
    writer.write(batch).expect("write Parquet");
    writer.close().expect("close Parquet");
}

fn write_csv(path: &Path, batch: &RecordBatch) {
    let file = File::create(path).expect("create CSV file");
    let mut writer = WriterBuilder::new().with_header(true).build(file);
    writer.write(batch).expect("write CSV");
}

/// Writes a new set of tables under `dir` (`tables/` for morsel, `oracle/`
/// for DuckDB's copy of the CSV table), each with up to `max_rows` rows,
/// NaN among the doubles when `nan`.
pub fn write_tables(dir: &Path, rng: &mut StdRng, max_rows: usize, nan: bool) {
    let tables = dir.join("tables");
    let oracle = dir.join("oracle");
    for sub in [&tables, &oracle] {
        if sub.exists() {
            fs::remove_dir_all(sub).expect("clear old tables");
        }
        fs::create_dir_all(sub).expect("mkdir");
    }
    let null_rate = [0.0, 0.1, 0.3][rng.random_range(0..3)];
    let rows = |rng: &mut StdRng| rng.random_range(1..=max_rows);
    let (a, b, c) = (rows(rng), rows(rng), rows(rng));
    let mut draw = Draw {
        rng,
        null_rate,
        nan,
    };
    write_parquet(&tables.join("ta.parquet"), &wide_batch(&mut draw, a));
    write_parquet(
        &tables.join("tb.parquet"),
        &named(tb_batch(&mut draw, b), "tb"),
    );
    write_parquet(
        &tables.join("te.parquet"),
        &named(wide_batch(&mut draw, 0), "te"),
    );
    // Few NULLs and at least five rows: a CSV column of nothing but empty
    // fields is typed Null, on which `sum` and `avg` fail (open).
    draw.null_rate = draw.null_rate.min(0.1);
    let tc = named(tc_batch(&mut draw, c.max(5)), "tc");
    write_csv(&tables.join("tc.csv"), &tc);
    write_parquet(&oracle.join("tc.parquet"), &tc);
    for k in 0..3 {
        let rows = draw.rng.random_range(1..=max_rows.div_ceil(2));
        let part = named(tp_batch(&mut draw, rows), "tp");
        write_parquet(&tables.join(format!("tp/k={k}/part-0.parquet")), &part);
    }
}
