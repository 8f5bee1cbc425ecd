//! CSV null markers (`'format.null_regex'`) applied when reading.
//!
//! DataFusion 55 uses the option to infer a schema, but its CSV reader never
//! applies it: `NA` in a DOUBLE column fails the scan. So morsel reads such a
//! table's columns as text and converts them in a view on top: a value the
//! regex matches becomes NULL, any other is cast to the column's type.
//! Filters still reach the scan through the view, so partition pruning holds.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{Session, TableProvider, TableProviderFactory};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::datasource::listing::ListingTable;
use datafusion::datasource::listing_table_factory::ListingTableFactory;
use datafusion::datasource::{ViewTable, provider_as_source};
use datafusion::error::Result;
use datafusion::functions::expr_fn::regexp_like;
use datafusion::logical_expr::{
    CreateExternalTable, Expr, LogicalPlanBuilder, cast, ident, lit, when,
};

use super::partitions;

/// A view that reads `cmd`'s files as text and turns `regex` matches into NULL.
pub(super) async fn read_with_null_marker(
    factory: &ListingTableFactory,
    state: &dyn Session,
    cmd: &CreateExternalTable,
    regex: &str,
) -> Result<Arc<dyn TableProvider>> {
    let typed = factory.create(state, cmd).await?;
    let partitions = match typed.downcast_ref::<ListingTable>() {
        Some(table) => partitions::typed_partitions(state, table).await?,
        None => vec![],
    };
    let partition = |field: &Field| partitions.iter().find(|c| c.name == *field.name());
    let schema = typed.schema();
    let text_fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match partition(f) {
            Some(column) => {
                let (name, data_type) = column.listed();
                Field::new(name, data_type, true)
            }
            None => Field::new(f.name(), DataType::Utf8, true),
        })
        .collect();
    let mut text_cmd = cmd.clone();
    text_cmd.schema = Arc::new(DFSchema::try_from(Schema::new(text_fields))?);
    text_cmd.table_partition_cols = partitions.iter().map(|c| c.name.clone()).collect();
    let text = partitions::with_nulls_shown(factory.create(state, &text_cmd).await?, &partitions)?;
    let columns = schema
        .fields()
        .iter()
        .map(|f| match partition(f) {
            Some(_) => Ok(ident(f.name())),
            None => null_or_cast(f, regex),
        })
        .collect::<Result<Vec<_>>>()?;
    let plan = LogicalPlanBuilder::scan(cmd.name.clone(), provider_as_source(text), None)?
        .project(columns)?
        .build()?;
    Ok(Arc::new(ViewTable::new(plan, cmd.definition.clone())))
}

/// `CASE WHEN col ~ regex THEN NULL ELSE CAST(col AS type) END AS col`.
fn null_or_cast(field: &Field, regex: &str) -> Result<Expr> {
    let column = ident(field.name());
    let null = lit(ScalarValue::try_from(field.data_type())?);
    Ok(when(regexp_like(column.clone(), lit(regex), None), null)
        .otherwise(cast(column, field.data_type().clone()))?
        .alias(field.name()))
}
