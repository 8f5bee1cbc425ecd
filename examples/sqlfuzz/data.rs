//! The fuzzer's tables: random rows of every type the queries use, written
//! as Parquet and CSV (one table hive-partitioned, one empty), and the
//! schema the query generator draws columns from.
//!
//! Values come from small domains so that joins match, groups repeat and
//! rows duplicate; NULLs are everywhere; doubles include 0, -0.0, ±inf and
//! NaN (none but 0 with `--finite`).
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
use datafusion::arrow::datatypes::{Field, Schema};
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
    /// Whether doubles may be NaN, ±inf or -0.0.
    specials: bool,
}

impl Draw<'_> {
    fn null(&mut self) -> bool {
        self.rng.random_bool(self.null_rate)
    }

    /// BIGINTs in [-8, 8].
    fn ints(&mut self, n: usize) -> ArrayRef {
        let values: Vec<Option<i64>> = (0..n)
            .map(|_| (!self.null()).then(|| self.rng.random_range(-8..=8)))
            .collect();
        Arc::new(Int64Array::from(values))
    }

    /// INTEGERs in [-30, 30].
    fn small_ints(&mut self, n: usize) -> ArrayRef {
        let values: Vec<Option<i32>> = (0..n)
            .map(|_| (!self.null()).then(|| self.rng.random_range(-30..=30)))
            .collect();
        Arc::new(Int32Array::from(values))
    }

    /// DECIMAL(10,2)s in quarters, which it holds exactly.
    fn decimals(&mut self, n: usize) -> ArrayRef {
        let cents: Vec<Option<i128>> = (0..n)
            .map(|_| (!self.null()).then(|| self.rng.random_range(-2000..=2000_i128) * 25))
            .collect();
        let decimals = Decimal128Array::from(cents)
            .with_precision_and_scale(10, 2)
            .expect("DECIMAL(10,2)");
        Arc::new(decimals)
    }

    /// DOUBLEs in quarters in [-10, 10], a tenth of them special.
    fn doubles(&mut self, n: usize) -> ArrayRef {
        // NaN, ±inf and -0.0 unless `--finite`: DataFusion 55 compares
        // them by arrow's total order in some places and by IEEE in others,
        // which morsel's rules make one order, DuckDB's (docs/reliability.md).
        let special: &[f64] = if self.specials {
            &[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0]
        } else {
            &[0.0]
        };
        let values: Vec<Option<f64>> = (0..n)
            .map(|row| {
                if self.null() {
                    None
                } else if self.rng.random_bool(0.1) {
                    Some(nan_signed_by_row(
                        special[self.rng.random_range(0..special.len())],
                        row,
                    ))
                } else {
                    Some(self.rng.random_range(-40..=40) as f64 / 4.0)
                }
            })
            .collect();
        Arc::new(Float64Array::from(values))
    }

    fn strings(&mut self, n: usize, from: &[&str]) -> ArrayRef {
        let values: Vec<Option<&str>> = (0..n)
            .map(|_| (!self.null()).then(|| from[self.rng.random_range(0..from.len())]))
            .collect();
        Arc::new(StringArray::from(values))
    }

    /// Days in 2023–2025.
    fn dates(&mut self, n: usize) -> ArrayRef {
        let values: Vec<Option<i32>> = (0..n)
            .map(|_| {
                (!self.null()).then(|| {
                    19358 + self.rng.random_range(0..3) * 365 + self.rng.random_range(0..5)
                })
            })
            .collect();
        Arc::new(Date32Array::from(values))
    }

    fn bools(&mut self, n: usize) -> ArrayRef {
        let values: Vec<Option<bool>> = (0..n)
            .map(|_| (!self.null()).then(|| self.rng.random_bool(0.5)))
            .collect();
        Arc::new(BooleanArray::from(values))
    }
}

/// `arrays` as the columns of `table`, named as [`tables`] names them.
fn batch_of(table: &str, arrays: Vec<ArrayRef>) -> RecordBatch {
    let tables = tables();
    let columns = &tables
        .iter()
        .find(|t| t.name == table)
        .expect("a known table")
        .columns;
    let fields: Vec<Field> = arrays
        .iter()
        .zip(columns)
        .map(|(array, (name, _))| Field::new(*name, array.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("columns of one length")
}

fn wide_batch(draw: &mut Draw, table: &str, rows: usize) -> RecordBatch {
    let arrays = vec![
        draw.ints(rows),
        draw.small_ints(rows),
        draw.decimals(rows),
        draw.doubles(rows),
        draw.strings(rows, &STRINGS),
        draw.dates(rows),
        draw.bools(rows),
    ];
    batch_of(table, arrays)
}

fn write_parquet(path: &Path, batch: &RecordBatch) {
    fs::create_dir_all(path.parent().expect("a file in a directory")).expect("mkdir");
    let file = File::create(path).expect("create Parquet file");
    let mut writer = ArrowWriter::try_new(file, batch.schema(), None).expect("Parquet writer");
    writer.write(batch).expect("write Parquet");
    writer.close().expect("close Parquet");
}

/// A NaN on an odd row with its sign bit set, as numpy's `0 / 0` stores it
/// (every engine must read it as the one NaN); the row, not a draw, picks
/// the sign, so a seed makes the same tables and queries as before.
fn nan_signed_by_row(value: f64, row: usize) -> f64 {
    if value.is_nan() && row % 2 == 1 {
        -f64::NAN
    } else {
        value
    }
}

fn write_csv(path: &Path, batch: &RecordBatch) {
    let file = File::create(path).expect("create CSV file");
    let mut writer = WriterBuilder::new().with_header(true).build(file);
    writer.write(batch).expect("write CSV");
}

/// Writes a new set of tables under `dir` (`tables/` for morsel, `oracle/`
/// for DuckDB's copy of the CSV table), each with up to `max_rows` rows,
/// NaN, ±inf and -0.0 among the doubles when `specials`.
pub fn write_tables(dir: &Path, rng: &mut StdRng, max_rows: usize, specials: bool) {
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
        specials,
    };
    write_parquet(&tables.join("ta.parquet"), &wide_batch(&mut draw, "ta", a));
    let tb = vec![
        draw.ints(b),
        draw.ints(b),
        draw.strings(b, &STRINGS),
        draw.doubles(b),
    ];
    write_parquet(&tables.join("tb.parquet"), &batch_of("tb", tb));
    write_parquet(&tables.join("te.parquet"), &wide_batch(&mut draw, "te", 0));
    // Few NULLs and at least five rows: a CSV column of nothing but empty
    // fields is typed Null, on which `sum` and `avg` fail (open).
    draw.null_rate = draw.null_rate.min(0.1);
    let c = c.max(5);
    // No NaN or ±inf: CSV has no spelling of them that both engines read
    // alike.
    let specials = std::mem::replace(&mut draw.specials, false);
    let tc = batch_of(
        "tc",
        vec![
            draw.ints(c),
            draw.doubles(c),
            draw.strings(c, &CSV_STRINGS),
            draw.dates(c),
            draw.bools(c),
        ],
    );
    draw.specials = specials;
    write_csv(&tables.join("tc.csv"), &tc);
    write_parquet(&oracle.join("tc.parquet"), &tc);
    for k in 0..3 {
        let rows = draw.rng.random_range(1..=max_rows.div_ceil(2));
        let part = batch_of(
            "tp",
            vec![
                draw.ints(rows),
                draw.strings(rows, &STRINGS),
                draw.doubles(rows),
            ],
        );
        write_parquet(&tables.join(format!("tp/k={k}/part-0.parquet")), &part);
    }
}
