//! Statements about S3 that morsel answers itself, before DataFusion sees them.
//!
//! DataFusion's `SET` only knows its own settings, and it has no secrets, so
//! `SET s3.KEY = VALUE`, `SHOW s3.KEY` and DuckDB's
//! `CREATE SECRET (TYPE s3, KEY_ID '…', SECRET '…', …)` are recognised here
//! and applied to the session's [`ObjectStores`].

use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::{
    Expr, SecretOption, Set, Statement as SqlStatement, Value, ValueWithSpan,
};

use crate::error::{Error, Result};
use crate::storage::{ObjectStores, S3Key, S3Settings, s3_bucket};

/// What an S3 statement returns: nothing, or one `SHOW` row.
pub enum Answer {
    Done,
    Show { name: String, value: String },
}

impl Answer {
    /// A `SHOW` answer as the same `name | value` row DataFusion's SHOW gives.
    pub fn into_batch(self) -> Option<RecordBatch> {
        let Answer::Show { name, value } = self else {
            return None;
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, false),
            Field::new("value", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![name])),
                Arc::new(StringArray::from(vec![value])),
            ],
        )
        .ok()
    }
}

/// Applies `statement` if it is about S3; `Ok(None)` leaves it to DataFusion.
pub fn try_apply(statement: &Statement, stores: &ObjectStores) -> Result<Option<Answer>> {
    let Statement::Statement(statement) = statement else {
        return Ok(None);
    };
    match statement.as_ref() {
        SqlStatement::Set(Set::SingleAssignment {
            variable, values, ..
        }) => {
            let Some(key) = S3Key::lookup(&variable.to_string())? else {
                return Ok(None);
            };
            let [value] = values.as_slice() else {
                return Err(Error::query(format!("SET {variable}: expected one value")));
            };
            stores.set(key, &literal(value))?;
            Ok(Some(Answer::Done))
        }
        SqlStatement::ShowVariable { variable } => {
            let name = variable
                .iter()
                .map(|ident| ident.value.as_str())
                .collect::<Vec<_>>()
                .join(".");
            let Some(key) = S3Key::lookup(&name)? else {
                return Ok(None);
            };
            Ok(Some(Answer::Show {
                name: format!("s3.{}", key.name()),
                value: stores.show(key)?,
            }))
        }
        SqlStatement::CreateSecret {
            secret_type,
            options,
            ..
        } => {
            create_secret(&secret_type.value, options, stores)?;
            Ok(Some(Answer::Done))
        }
        _ => Ok(None),
    }
}

/// A SET value as text: `'x'`, `x`, `5` and `true` all work.
fn literal(expr: &Expr) -> String {
    match expr {
        Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(s) | Value::DoubleQuotedString(s),
            ..
        }) => s.clone(),
        Expr::Identifier(ident) => ident.value.clone(),
        other => other.to_string(),
    }
}

/// `CREATE SECRET [name] (TYPE s3, KEY_ID '…', SECRET '…', REGION '…',
/// ENDPOINT '…', URL_STYLE 'path', USE_SSL false, SCOPE 's3://bucket')`.
fn create_secret(secret_type: &str, options: &[SecretOption], stores: &ObjectStores) -> Result<()> {
    if !secret_type.eq_ignore_ascii_case("s3") {
        return Err(Error::query(format!(
            "CREATE SECRET: TYPE {secret_type} is not supported; morsel knows TYPE s3"
        )));
    }
    let mut layer = S3Settings::default();
    let mut scope = None;
    for SecretOption { key, value } in options {
        match key.value.to_ascii_lowercase().as_str() {
            "scope" => scope = Some(value.value.clone()),
            // DuckDB's providers: `config` (the values given) and
            // `credential_chain` (the usual places), which morsel reads anyway.
            "provider" => {}
            name => {
                let key = S3Key::parse(name).ok_or_else(|| {
                    Error::query(format!("CREATE SECRET: unknown option {}", key.value))
                })?;
                layer.set(key, &value.value)?;
            }
        }
    }
    match scope {
        None => stores.apply(&layer),
        Some(scope) => {
            let bucket = s3_bucket(&scope).ok_or_else(|| {
                Error::query(format!(
                    "CREATE SECRET: SCOPE must be an s3:// URL, not '{scope}'"
                ))
            })?;
            stores.apply_to_bucket(bucket, &layer);
        }
    }
    Ok(())
}
