//! CSV as DataFusion reads it, with a schema inference that keeps a quoted
//! newline inside its record.
//!
//! DataFusion infers a CSV table's schema from pieces of each file cut at
//! newlines by object_store's `newline_delimited_stream`. That cutter looks
//! for the last newline of a read from the read's end, where it cannot know
//! whether a newline is quoted; when a read boundary (8 KiB for a local
//! file) falls just after a quoted newline it cuts the record in two, and a
//! valid file fails with "unequal lengths". [`QuotedCsvFormat`] is
//! DataFusion's CSV format with the pieces cut front to back by
//! [`RecordCutter`]. Reading the rows is DataFusion's own, unchanged.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::{GetExt, Statistics};
use datafusion::datasource::file_format::csv::{CsvFormat, CsvFormatFactory};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::{
    DEFAULT_SCHEMA_INFER_MAX_RECORD, FileFormat, FileFormatFactory,
};
use datafusion::datasource::physical_plan::{FileScanConfig, FileSinkConfig, FileSource};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::{DataFusionError, Result};
use datafusion::physical_expr::LexRequirement;
use datafusion::physical_plan::ExecutionPlan;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};

/// DataFusion's CSV factory, making [`QuotedCsvFormat`]s.
#[derive(Debug, Default)]
pub struct QuotedCsvFactory(CsvFormatFactory);

impl FileFormatFactory for QuotedCsvFactory {
    fn create(
        &self,
        state: &dyn Session,
        format_options: &HashMap<String, String>,
    ) -> Result<Arc<dyn FileFormat>> {
        QuotedCsvFormat::wrap(self.0.create(state, format_options)?)
    }

    fn default(&self) -> Arc<dyn FileFormat> {
        Arc::new(QuotedCsvFormat(Arc::new(CsvFormat::default())))
    }
}

impl QuotedCsvFactory {
    /// DataFusion's factory inside, with its options: what a cluster is
    /// sent, since it writes CSV as DataFusion does.
    pub fn csv(&self) -> Arc<CsvFormatFactory> {
        Arc::new(CsvFormatFactory {
            options: self.0.options.clone(),
        })
    }
}

impl GetExt for QuotedCsvFactory {
    fn get_ext(&self) -> String {
        self.0.get_ext()
    }
}

/// DataFusion's CSV format but for how it cuts a file to infer its schema.
#[derive(Debug)]
pub struct QuotedCsvFormat(Arc<CsvFormat>);

impl QuotedCsvFormat {
    fn wrap(format: Arc<dyn FileFormat>) -> Result<Arc<dyn FileFormat>> {
        let any: Arc<dyn Any + Send + Sync> = format;
        let csv = any
            .downcast::<CsvFormat>()
            .map_err(|_| DataFusionError::Internal("the csv factory made no CsvFormat".into()))?;
        Ok(Arc::new(Self(csv)))
    }

    /// DataFusion's format inside: what reads the rows, and what a cluster
    /// is sent.
    pub fn csv(&self) -> Arc<CsvFormat> {
        Arc::clone(&self.0)
    }

    /// The whole records of `object`, decompressed, in pieces.
    async fn records(
        &self,
        store: &Arc<dyn ObjectStore>,
        object: &ObjectMeta,
    ) -> Result<BoxStream<'static, Result<Bytes>>> {
        let bytes = store
            .get(&object.location)
            .await?
            .into_stream()
            .map_err(|e| DataFusionError::ObjectStore(Box::new(e)))
            .boxed();
        let options = self.0.options();
        let decompressed = FileCompressionType::from(options.compression).convert_stream(bytes)?;
        Ok(whole_records(
            decompressed,
            RecordCutter::new(options.quote, options.escape),
        ))
    }
}

#[async_trait]
impl FileFormat for QuotedCsvFormat {
    fn get_ext(&self) -> String {
        self.0.get_ext()
    }

    fn get_ext_with_compression(&self, compression: &FileCompressionType) -> Result<String> {
        self.0.get_ext_with_compression(compression)
    }

    fn compression_type(&self) -> Option<FileCompressionType> {
        self.0.compression_type()
    }

    /// As DataFusion's: the first `schema_infer_max_rec` records of the
    /// files, in order, merged; a column with no value in them is text.
    async fn infer_schema(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        objects: &[ObjectMeta],
    ) -> Result<SchemaRef> {
        let mut records_to_read = self
            .0
            .options()
            .schema_infer_max_rec
            .unwrap_or(DEFAULT_SCHEMA_INFER_MAX_RECORD);
        let mut schemas = Vec::new();
        for object in objects {
            let in_file = |e: DataFusionError| {
                DataFusionError::Context(
                    format!("Error when processing CSV file {}", object.location),
                    Box::new(e),
                )
            };
            let records = self.records(store, object).await.map_err(in_file)?;
            let (schema, read) = self
                .0
                .infer_schema_from_stream(state, records_to_read, records)
                .await
                .map_err(in_file)?;
            records_to_read -= read;
            schemas.push(schema);
            if records_to_read == 0 {
                break;
            }
        }
        Ok(Arc::new(text_where_untyped(Schema::try_merge(schemas)?)))
    }

    async fn infer_stats(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        table_schema: SchemaRef,
        object: &ObjectMeta,
    ) -> Result<Statistics> {
        self.0.infer_stats(state, store, table_schema, object).await
    }

    async fn create_physical_plan(
        &self,
        state: &dyn Session,
        conf: FileScanConfig,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.0.create_physical_plan(state, conf).await
    }

    async fn create_writer_physical_plan(
        &self,
        input: Arc<dyn ExecutionPlan>,
        state: &dyn Session,
        conf: FileSinkConfig,
        order_requirements: Option<LexRequirement>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.0
            .create_writer_physical_plan(input, state, conf, order_requirements)
            .await
    }

    fn file_source(&self, table_schema: TableSchema) -> Arc<dyn FileSource> {
        self.0.file_source(table_schema)
    }
}

/// `schema` with its columns of type Null, which DataFusion infers for a
/// column whose fields are all empty, typed text. DuckDB reads such a
/// column as VARCHAR; as Null, `sum` and `avg` of it failed to plan
/// (sqlfuzz; docs/reliability.md, open class 5).
fn text_where_untyped(schema: Schema) -> Schema {
    let fields = schema.fields().iter().map(|field| match field.data_type() {
        DataType::Null => Arc::new(field.as_ref().clone().with_data_type(DataType::Utf8)),
        _ => Arc::clone(field),
    });
    Schema::new_with_metadata(fields.collect::<Vec<_>>(), schema.metadata().clone())
}

/// `bytes` in pieces that each end where a record ends.
fn whole_records(
    bytes: BoxStream<'static, Result<Bytes>>,
    cutter: RecordCutter,
) -> BoxStream<'static, Result<Bytes>> {
    futures::stream::unfold(Some((bytes, cutter)), |state| async move {
        let (mut bytes, mut cutter) = state?;
        loop {
            match bytes.next().await {
                Some(Ok(read)) => {
                    if let Some(records) = cutter.push(&read) {
                        return Some((Ok(records), Some((bytes, cutter))));
                    }
                }
                Some(Err(e)) => return Some((Err(e), None)),
                None => return cutter.finish().transpose().map(|last| (last, None)),
            }
        }
    })
    .boxed()
}

/// Cuts CSV text after the last newline outside quotes, reading front to
/// back so it always knows whether it is inside a quoted field.
struct RecordCutter {
    quote: u8,
    escape: Option<u8>,
    in_quotes: bool,
    escaped: bool,
    /// Bytes after the last record end, waiting for the rest of their record.
    pending: Vec<u8>,
}

impl RecordCutter {
    fn new(quote: u8, escape: Option<u8>) -> Self {
        Self {
            quote,
            escape,
            in_quotes: false,
            escaped: false,
            pending: Vec::new(),
        }
    }

    /// The records `read` completes, if it completes any.
    fn push(&mut self, read: &[u8]) -> Option<Bytes> {
        let mut last_end = None;
        for (i, &byte) in read.iter().enumerate() {
            if self.escaped {
                self.escaped = false;
            } else if self.in_quotes && Some(byte) == self.escape {
                self.escaped = true;
            } else if byte == self.quote {
                self.in_quotes = !self.in_quotes;
            } else if byte == b'\n' && !self.in_quotes {
                last_end = Some(i + 1);
            }
        }
        let Some(end) = last_end else {
            self.pending.extend_from_slice(read);
            return None;
        };
        self.pending.extend_from_slice(&read[..end]);
        let records = Bytes::from(std::mem::take(&mut self.pending));
        self.pending.extend_from_slice(&read[end..]);
        Some(records)
    }

    /// The last record, which may lack its newline; an error if the text
    /// ends inside quotes, where a reader would take the rest of the file
    /// for one field.
    fn finish(&mut self) -> Result<Option<Bytes>> {
        if self.in_quotes {
            return Err(DataFusionError::Execution(
                "unterminated quote: the file ends inside a quoted field".into(),
            ));
        }
        let rest = std::mem::take(&mut self.pending);
        Ok((!rest.is_empty()).then(|| Bytes::from(rest)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way of reading `text` in two pieces gives the same records.
    #[test]
    fn a_read_boundary_anywhere_keeps_quoted_newlines_in_their_record() {
        let text = b"a,b\n1,x\n2,\"q\nr\"\n3,\"say \"\"hi\"\"\n\"\n4,z\n";
        for at in 0..=text.len() {
            let mut cutter = RecordCutter::new(b'"', None);
            let mut pieces: Vec<Bytes> = [&text[..at], &text[at..]]
                .into_iter()
                .filter_map(|read| cutter.push(read))
                .collect();
            pieces.extend(cutter.finish().expect("quotes close"));
            assert_eq!(pieces.concat(), text, "boundary at {at}");
            for piece in &pieces {
                let mut cut = RecordCutter::new(b'"', None);
                cut.push(piece);
                assert!(
                    !cut.in_quotes,
                    "a piece ends inside quotes (boundary at {at})"
                );
                assert!(piece.ends_with(b"\n"), "a piece ends mid-record");
            }
        }
    }

    #[test]
    fn text_ending_inside_quotes_is_an_error() {
        let mut cutter = RecordCutter::new(b'"', None);
        cutter.push(b"a,b\n1,\"x\n2,3\n");
        let error = cutter.finish().expect_err("unterminated");
        assert!(error.to_string().contains("unterminated quote"), "{error}");
    }

    #[test]
    fn an_escaped_quote_does_not_close_the_field() {
        let mut cutter = RecordCutter::new(b'"', Some(b'\\'));
        assert_eq!(
            cutter.push(b"1,\"a\\\"\nb\"\n2"),
            Some(Bytes::from_static(b"1,\"a\\\"\nb\"\n"))
        );
        assert_eq!(
            cutter.finish().expect("closed"),
            Some(Bytes::from_static(b"2"))
        );
    }
}
