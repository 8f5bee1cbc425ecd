//! Result formats: how rows leave morsel.
//!
//! Machine formats (CSV, TSV, JSON, NDJSON) stream batch by batch (JSON
//! through arrow's writer), so a large result never sits in memory. Human formats
//! (table, markdown) need column widths first, so they keep at most
//! `max_rows` rows and only count the rest.

mod grid;
pub mod plan_graph;

use std::fmt;
use std::io::Write;
use std::str::FromStr;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::json::writer::{JsonArray, JsonFormat, LineDelimited};
use datafusion::arrow::json::{Writer as JsonWriter, WriterBuilder as JsonWriterBuilder};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::session::ResultSink;

pub use grid::Grid;

/// The output formats, as named by `--format` and `\format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Tsv,
    Json,
    Ndjson,
    Markdown,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Table,
        Format::Csv,
        Format::Tsv,
        Format::Json,
        Format::Ndjson,
        Format::Markdown,
    ];

    /// As `--format` and `\format` name it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Markdown => "markdown",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<_> = Format::ALL.iter().map(|f| f.name()).collect();
                format!("unknown format '{s}' (one of: {})", names.join(", "))
            })
    }
}

/// How results are laid out.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub format: Format,
    /// At most this many rows are printed (on the screen; files get all).
    pub max_rows: Option<usize>,
    /// What a reader can do to see the rows `max_rows` left out.
    pub more_rows_hint: &'static str,
    /// Table width to fit (the terminal's); `None` for no limit.
    pub width: Option<usize>,
    /// `\x`: tables print one record per block, a line per column.
    pub expanded: bool,
}

/// The hint of batch mode, where the cap comes from the command line.
pub const RAISE_MAX_ROWS: &str = "raise --max-rows to see more";

/// A sink that writes one statement's result to `out` in `layout`.
pub fn printer<'a>(layout: Layout, out: &'a mut dyn Write) -> Box<dyn ResultSink + 'a> {
    match layout.format {
        Format::Table | Format::Markdown => Box::new(Grid::new(layout, out)),
        Format::Csv => Box::new(Limited::new(layout, Delimited::new(out, b','))),
        Format::Tsv => Box::new(Limited::new(layout, Delimited::new(out, b'\t'))),
        Format::Json => Box::new(Limited::new(layout, Json::<JsonArray>::new(out, true))),
        Format::Ndjson => Box::new(Limited::new(layout, Json::<LineDelimited>::new(out, false))),
    }
}

/// Every value of `batches` as display text, row by row.
pub fn text_rows(batches: &[RecordBatch], null: &str) -> Vec<Vec<String>> {
    let options = FormatOptions::default()
        .with_null(null)
        .with_display_error(true);
    let mut rows = Vec::new();
    for batch in batches {
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .filter_map(|c| ArrayFormatter::try_new(c.as_ref(), &options).ok())
            .collect();
        for row in 0..batch.num_rows() {
            rows.push(
                formatters
                    .iter()
                    .map(|f| f.value(row).to_string())
                    .collect(),
            );
        }
    }
    rows
}

/// Passes on at most `remaining` rows.
/// A machine format capped at `max_rows`: the rows stay well-formed, and
/// how many were left out goes to stderr, where a reader sees it.
struct Limited<S> {
    remaining: usize,
    shown: usize,
    hidden: usize,
    hint: &'static str,
    inner: S,
}

impl<S: ResultSink> Limited<S> {
    fn new(layout: Layout, inner: S) -> Self {
        Self {
            remaining: layout.max_rows.unwrap_or(usize::MAX),
            shown: 0,
            hidden: 0,
            hint: layout.more_rows_hint,
            inner,
        }
    }
}

impl<S: ResultSink> ResultSink for Limited<S> {
    fn begin(&mut self, schema: &SchemaRef) -> std::io::Result<()> {
        self.inner.begin(schema)
    }

    fn batch(&mut self, batch: &RecordBatch) -> std::io::Result<()> {
        let take = batch.num_rows().min(self.remaining);
        self.remaining -= take;
        self.shown += take;
        self.hidden += batch.num_rows() - take;
        if take > 0 {
            self.inner.batch(&batch.slice(0, take))?;
        }
        Ok(())
    }

    fn end(&mut self) -> std::io::Result<()> {
        self.inner.end()?;
        if self.hidden > 0 {
            eprintln!(
                "{} rows shown, {} not shown ({})",
                self.shown, self.hidden, self.hint
            );
        }
        Ok(())
    }
}

/// CSV or TSV, with a header row. A NULL is an empty field and an empty
/// string is `""`, as DuckDB writes them, so a reader can tell one from the
/// other; a field holding the delimiter, a quote or a line break is quoted.
struct Delimited<'a> {
    out: &'a mut dyn Write,
    delimiter: u8,
    line: Vec<u8>,
}

impl<'a> Delimited<'a> {
    fn new(out: &'a mut dyn Write, delimiter: u8) -> Self {
        Self {
            out,
            delimiter,
            line: Vec::new(),
        }
    }

    /// Appends one field, quoted where it must be, and its separator.
    fn field(&mut self, text: &str, first: bool) {
        if !first {
            self.line.push(self.delimiter);
        }
        let special = |b: &u8| *b == self.delimiter || matches!(b, b'"' | b'\n' | b'\r');
        if text.is_empty() || text.as_bytes().iter().any(special) {
            self.line.push(b'"');
            self.line
                .extend_from_slice(text.replace('"', "\"\"").as_bytes());
            self.line.push(b'"');
        } else {
            self.line.extend_from_slice(text.as_bytes());
        }
    }

    /// Writes the lines held so far; each batch is written at once.
    fn write_lines(&mut self) -> std::io::Result<()> {
        self.out.write_all(&self.line)?;
        self.line.clear();
        Ok(())
    }
}

impl ResultSink for Delimited<'_> {
    fn begin(&mut self, schema: &SchemaRef) -> std::io::Result<()> {
        if schema.fields().is_empty() {
            return Ok(());
        }
        for (i, field) in schema.fields().iter().enumerate() {
            self.field(field.name(), i == 0);
        }
        self.line.push(b'\n');
        self.write_lines()
    }

    fn batch(&mut self, batch: &RecordBatch) -> std::io::Result<()> {
        let options = FormatOptions::default().with_display_error(true);
        let formatters = batch
            .columns()
            .iter()
            .map(|column| ArrayFormatter::try_new(column.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(into_io)?;
        let mut text = String::new();
        for row in 0..batch.num_rows() {
            for (i, (column, formatter)) in batch.columns().iter().zip(&formatters).enumerate() {
                if column.is_null(row) {
                    if i > 0 {
                        self.line.push(self.delimiter);
                    }
                    continue;
                }
                text.clear();
                std::fmt::Write::write_fmt(&mut text, format_args!("{}", formatter.value(row)))
                    .map_err(std::io::Error::other)?;
                self.field(&text, i == 0);
            }
            self.line.push(b'\n');
        }
        self.write_lines()
    }

    fn end(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// A JSON array of objects (`Writer<_, JsonArray>`) or one object per line.
///
/// The writer borrows the output for its whole life, so it is made in
/// `begin` from the output handed over at construction.
struct Json<'a, F: JsonFormat> {
    out: Option<&'a mut dyn Write>,
    writer: Option<JsonWriter<&'a mut dyn Write, F>>,
    /// An array ends without a newline; a line-delimited stream has its own.
    final_newline: bool,
}

impl<'a, F: JsonFormat> Json<'a, F> {
    fn new(out: &'a mut dyn Write, final_newline: bool) -> Self {
        Self {
            out: Some(out),
            writer: None,
            final_newline,
        }
    }
}

impl<F: JsonFormat> ResultSink for Json<'_, F> {
    fn begin(&mut self, schema: &SchemaRef) -> std::io::Result<()> {
        if let Some(out) = self.out.take()
            && !schema.fields().is_empty()
        {
            // A key for every column, `null` included, as DuckDB writes it.
            self.writer = Some(
                JsonWriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build::<_, F>(out),
            );
        }
        Ok(())
    }

    fn batch(&mut self, batch: &RecordBatch) -> std::io::Result<()> {
        match &mut self.writer {
            Some(writer) => writer.write(batch).map_err(into_io),
            None => Ok(()),
        }
    }

    fn end(&mut self) -> std::io::Result<()> {
        let Some(mut writer) = self.writer.take() else {
            return Ok(());
        };
        writer.finish().map_err(into_io)?;
        let out = writer.into_inner();
        if self.final_newline {
            out.write_all(b"\n")?;
        }
        out.flush()
    }
}

/// Arrow's CSV writer reports I/O failures as text; a closed pipe must still
/// be recognisable so `morsel … | head` can end quietly.
fn into_io(e: datafusion::arrow::error::ArrowError) -> std::io::Error {
    match e {
        datafusion::arrow::error::ArrowError::IoError(_, io) => io,
        other if other.to_string().contains("Broken pipe") => {
            std::io::Error::from(std::io::ErrorKind::BrokenPipe)
        }
        other => std::io::Error::other(other),
    }
}

/// `1234567` as `1,234,567`.
pub fn group_digits(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
