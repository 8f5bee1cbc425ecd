//! `morsel tpch gen`: the eight TPC-H tables as Parquet or CSV files.
//!
//! Each table is cut into parts that `tpchgen` can generate independently;
//! a pool of one thread per core takes parts largest first and streams each
//! into its own file batch by batch, so memory stays at a few row groups per
//! thread whatever the scale factor. A table's files are written into a
//! hidden directory and renamed into `OUT/TABLE/` when all are complete.
//! For an `s3://` destination `upload` calls [`generate_into`] with a
//! callback that uploads each finished file into the same hidden layout in
//! the bucket and removes its local copy, so the local disk holds one file
//! per thread.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::arrow::array::RecordBatchReader;
use datafusion::arrow::csv::WriterBuilder as CsvWriterBuilder;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::metadata::SortingColumn;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use indicatif::{ProgressBar, ProgressStyle};
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow, RegionArrow,
    SupplierArrow,
};

use crate::error::{Error, Result};

/// File format of the generated tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenFormat {
    Parquet,
    Csv,
}

/// Parquet compression codecs offered by `--compression`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None,
    Snappy,
    Lz4,
    Zstd,
}

impl GenFormat {
    pub const ALL: [GenFormat; 2] = [GenFormat::Parquet, GenFormat::Csv];

    /// As `--format` names it, and the generated files' extension.
    pub fn name(self) -> &'static str {
        match self {
            GenFormat::Parquet => "parquet",
            GenFormat::Csv => "csv",
        }
    }
}

impl Codec {
    pub const ALL: [Codec; 4] = [Codec::None, Codec::Snappy, Codec::Lz4, Codec::Zstd];

    /// As `--compression` names it.
    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Snappy => "snappy",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
        }
    }

    fn parquet(self) -> Compression {
        match self {
            Codec::None => Compression::UNCOMPRESSED,
            Codec::Snappy => Compression::SNAPPY,
            Codec::Lz4 => Compression::LZ4_RAW,
            Codec::Zstd => Compression::ZSTD(ZstdLevel::default()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GenOptions {
    pub scale_factor: f64,
    /// A directory or an `s3://bucket/prefix/` URL.
    pub out: String,
    pub format: GenFormat,
    /// Files per table (not for NATION and REGION); `None` picks by size.
    pub files_per_table: Option<usize>,
    pub codec: Codec,
    pub row_group_rows: usize,
    pub threads: usize,
    /// Whether tables already at `out` may be replaced (`--force`).
    pub replace: bool,
}

/// Rows per file when the user does not choose a file count.
const ROWS_PER_FILE: f64 = 4_000_000.0;
/// Rows per generated batch.
const BATCH_ROWS: usize = 8192;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Region,
    Nation,
    Supplier,
    Part,
    PartSupp,
    Customer,
    Orders,
    LineItem,
}

pub const TABLES: [Table; 8] = [
    Table::Region,
    Table::Nation,
    Table::Supplier,
    Table::Part,
    Table::PartSupp,
    Table::Customer,
    Table::Orders,
    Table::LineItem,
];

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Region => "region",
            Table::Nation => "nation",
            Table::Supplier => "supplier",
            Table::Part => "part",
            Table::PartSupp => "partsupp",
            Table::Customer => "customer",
            Table::Orders => "orders",
            Table::LineItem => "lineitem",
        }
    }

    /// Rows at `sf`; exact except LINEITEM, which averages four per order.
    fn rows(self, sf: f64) -> u64 {
        let per_sf = match self {
            Table::Region => return 5,
            Table::Nation => return 25,
            Table::Supplier => 10_000.0,
            Table::Part => 200_000.0,
            Table::PartSupp => 800_000.0,
            Table::Customer => 150_000.0,
            Table::Orders => 1_500_000.0,
            Table::LineItem => 6_000_000.0,
        };
        (per_sf * sf).ceil() as u64
    }

    /// Files of the table: one per 4 million rows of the table it is cut
    /// with, rounded up to a multiple of the threads, so each core reads an
    /// equal share.
    fn files(self, options: &GenOptions) -> usize {
        match self {
            Table::Region | Table::Nation => 1,
            _ => options.files_per_table.unwrap_or_else(|| {
                let rows = self.cut_with().rows(options.scale_factor);
                let threads = options.threads.max(1);
                ((rows as f64 / ROWS_PER_FILE).ceil() as usize).div_ceil(threads) * threads
            }),
        }
        .max(1)
    }

    /// The table whose key ranges this one's files share. `tpchgen` makes
    /// part *i* of ORDERS and of LINEITEM from the same orders, and of PART
    /// and PARTSUPP from the same parts: cut into as many files, file *i*
    /// of both holds the same keys, and the catalog lets DataFusion join
    /// them file by file (`catalog/key_ranges.rs`).
    fn cut_with(self) -> Table {
        match self {
            Table::Orders => Table::LineItem,
            Table::Part => Table::PartSupp,
            table => table,
        }
    }

    /// Batches of part `part` (1-based) of `parts`.
    fn reader(self, sf: f64, part: i32, parts: i32) -> Box<dyn RecordBatchReader + Send> {
        match self {
            Table::Region => Box::new(RegionArrow::new(RegionGenerator::new(sf, part, parts))),
            Table::Nation => Box::new(NationArrow::new(NationGenerator::new(sf, part, parts))),
            Table::Supplier => Box::new(
                SupplierArrow::new(SupplierGenerator::new(sf, part, parts))
                    .with_batch_size(BATCH_ROWS),
            ),
            Table::Part => Box::new(
                PartArrow::new(PartGenerator::new(sf, part, parts)).with_batch_size(BATCH_ROWS),
            ),
            Table::PartSupp => Box::new(
                PartSuppArrow::new(PartSuppGenerator::new(sf, part, parts))
                    .with_batch_size(BATCH_ROWS),
            ),
            Table::Customer => Box::new(
                CustomerArrow::new(CustomerGenerator::new(sf, part, parts))
                    .with_batch_size(BATCH_ROWS),
            ),
            Table::Orders => Box::new(
                OrderArrow::new(OrderGenerator::new(sf, part, parts)).with_batch_size(BATCH_ROWS),
            ),
            Table::LineItem => Box::new(
                LineItemArrow::new(LineItemGenerator::new(sf, part, parts))
                    .with_batch_size(BATCH_ROWS),
            ),
        }
    }
}

/// One file to write: a part of a table.
struct Job {
    table: Table,
    part: usize,
    parts: usize,
}

/// Called with each finished file and its path relative to the output root.
pub type PartDone<'a> = dyn Fn(&Path, &Path) -> Result<()> + Sync + 'a;

/// Generates every table into the local directory `out`, telling `done`
/// about each file when it is complete.
pub fn generate_into(options: &GenOptions, out: &Path, done: &PartDone) -> Result<()> {
    let staging: Vec<(Table, PathBuf)> = TABLES
        .iter()
        .map(|t| (*t, out.join(staging_name(*t))))
        .collect();
    for (_, dir) in &staging {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e))?;
    }
    let result = write_all(options, out, &staging, done).and_then(|()| publish(out, &staging));
    for (_, dir) in &staging {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

/// The hidden directory a table is written into before it is published.
pub fn staging_name(table: Table) -> String {
    format!(".{}.morsel-gen", table.name())
}

fn write_all(
    options: &GenOptions,
    out: &Path,
    staging: &[(Table, PathBuf)],
    done: &PartDone,
) -> Result<()> {
    let mut jobs: Vec<Job> = TABLES
        .iter()
        .flat_map(|&table| {
            let parts = table.files(options);
            (1..=parts).map(move |part| Job { table, part, parts })
        })
        .collect();
    // Largest parts first, so the pool does not end waiting on one big file.
    jobs.sort_by_key(|job| {
        std::cmp::Reverse(job.table.rows(options.scale_factor) / job.parts as u64)
    });

    let total: u64 = TABLES.iter().map(|t| t.rows(options.scale_factor)).sum();
    let progress = ProgressBar::new(total).with_style(
        ProgressStyle::with_template(
            "{elapsed:>4} [{bar:30}] {percent:>3}% {human_pos} rows, ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..options.threads.max(1) {
            scope.spawn(|| {
                while let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if failure.lock().map(|f| f.is_some()).unwrap_or(true) {
                        return;
                    }
                    let dir = &staging
                        .iter()
                        .find(|(t, _)| *t == job.table)
                        .expect("staged")
                        .1;
                    let written = write_part(options, job, dir, &progress)
                        .and_then(|path| done(&path, path.strip_prefix(out).unwrap_or(&path)));
                    if let Err(e) = written {
                        failure.lock().expect("not poisoned").get_or_insert(e);
                    }
                }
            });
        }
    });
    progress.finish_and_clear();
    match failure.into_inner().expect("not poisoned") {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Writes one part file and returns its path.
fn write_part(
    options: &GenOptions,
    job: &Job,
    dir: &Path,
    progress: &ProgressBar,
) -> Result<PathBuf> {
    let extension = options.format.name();
    // Numbers of one width, so that path order is key order.
    let width = (job.parts - 1).to_string().len();
    let path = dir.join(format!("part-{:0width$}.{extension}", job.part - 1));
    let file = File::create(&path).map_err(|e| Error::file(&path, e))?;
    let reader = job
        .table
        .reader(options.scale_factor, job.part as i32, job.parts as i32);
    let schema = reader.schema();
    let mut sink: Box<dyn BatchSink> = match options.format {
        GenFormat::Parquet => {
            let properties = WriterProperties::builder()
                .set_compression(options.codec.parquet())
                .set_max_row_group_row_count(Some(options.row_group_rows))
                .set_statistics_enabled(EnabledStatistics::Page)
                // Every table comes out of `tpchgen` in the order of its
                // first column, its key; saying so lets readers use it.
                .set_sorting_columns(Some(vec![SortingColumn {
                    column_idx: 0,
                    descending: false,
                    nulls_first: false,
                }]))
                .build();
            Box::new(
                ArrowWriter::try_new(BufWriter::new(file), schema, Some(properties))
                    .map_err(|e| Error::query(e.to_string()))?,
            )
        }
        GenFormat::Csv => Box::new(
            CsvWriterBuilder::new()
                .with_header(true)
                .build(BufWriter::new(file)),
        ),
    };
    for batch in reader {
        let batch = batch.map_err(|e| Error::query(e.to_string()))?;
        progress.inc(batch.num_rows() as u64);
        sink.write(&batch).map_err(|e| Error::file(&path, e))?;
    }
    sink.finish().map_err(|e| Error::file(&path, e))?;
    Ok(path)
}

/// A file being written, batch by batch.
trait BatchSink {
    fn write(&mut self, batch: &RecordBatch) -> std::io::Result<()>;
    fn finish(self: Box<Self>) -> std::io::Result<()>;
}

impl BatchSink for ArrowWriter<BufWriter<File>> {
    fn write(&mut self, batch: &RecordBatch) -> std::io::Result<()> {
        ArrowWriter::write(self, batch).map_err(std::io::Error::other)
    }

    fn finish(self: Box<Self>) -> std::io::Result<()> {
        self.close().map(|_| ()).map_err(std::io::Error::other)
    }
}

impl BatchSink for datafusion::arrow::csv::Writer<BufWriter<File>> {
    fn write(&mut self, batch: &RecordBatch) -> std::io::Result<()> {
        datafusion::arrow::csv::Writer::write(self, batch).map_err(std::io::Error::other)
    }

    fn finish(self: Box<Self>) -> std::io::Result<()> {
        use std::io::Write;
        self.into_inner().flush()
    }
}

/// Replaces `OUT/TABLE/` with the freshly written files, table by table.
fn publish(out: &Path, staging: &[(Table, PathBuf)]) -> Result<()> {
    for (table, dir) in staging {
        let target = out.join(table.name());
        if target.exists() {
            std::fs::remove_dir_all(&target).map_err(|e| Error::file(&target, e))?;
        }
        std::fs::rename(dir, &target).map_err(|e| Error::file(&target, e))?;
    }
    Ok(())
}
