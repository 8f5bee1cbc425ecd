//! `+`, `-` and `*` of two integers that fail on overflow, as functions
//! known by name: `morsel_checked_add`, `morsel_checked_sub`,
//! `morsel_checked_mul`.
//!
//! DataFusion's own operator can be switched to fail on overflow, but
//! DataFusion 55 sends it to another process without the switch. A function
//! travels by its name, and a cluster's executors know these, so arithmetic
//! the scheduler moved into a scan, where no rule of the executor reaches,
//! still fails instead of wrapping.

use std::sync::Arc;

use datafusion::arrow::compute::kernels::numeric;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::exec_err;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, Operator, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility,
};
use datafusion::physical_expr_common::datum::apply;

/// One of `+`, `-` and `*` over two integers of the same type, checked.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CheckedIntegerArithmetic {
    op: Operator,
    signature: Signature,
}

impl CheckedIntegerArithmetic {
    /// The function for `op`, if it is `+`, `-` or `*`.
    pub fn of(op: Operator) -> Option<Self> {
        matches!(op, Operator::Plus | Operator::Minus | Operator::Multiply).then(|| Self {
            op,
            signature: Signature::any(2, Volatility::Immutable),
        })
    }

    /// All three, to register where plans are decoded.
    pub fn all() -> Vec<ScalarUDF> {
        [Operator::Plus, Operator::Minus, Operator::Multiply]
            .into_iter()
            .filter_map(Self::of)
            .map(ScalarUDF::from)
            .collect()
    }
}

impl ScalarUDFImpl for CheckedIntegerArithmetic {
    fn name(&self) -> &str {
        match self.op {
            Operator::Plus => "morsel_checked_add",
            Operator::Minus => "morsel_checked_sub",
            _ => "morsel_checked_mul",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [left, right] if left == right && left.is_integer() => Ok(left.clone()),
            _ => exec_err!(
                "{} takes two integers of one type, not {arg_types:?}",
                self.name()
            ),
        }
    }

    /// NULL only where an operand is, as the operator it replaces.
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|field| field.data_type().clone())
            .collect();
        let nullable = args.arg_fields.iter().any(|field| field.is_nullable());
        Ok(Arc::new(Field::new(
            self.name(),
            self.return_type(&types)?,
            nullable,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [left, right] = args.args.as_slice() else {
            return exec_err!("{} takes two arguments", self.name());
        };
        // arrow's `add`, `sub` and `mul` fail on overflow; the `_wrapping`
        // ones are what the operator runs unchecked.
        match self.op {
            Operator::Plus => apply(left, right, numeric::add),
            Operator::Minus => apply(left, right, numeric::sub),
            _ => apply(left, right, numeric::mul),
        }
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, Int64Array};
    use datafusion::common::ScalarValue;
    use datafusion::common::config::ConfigOptions;

    use super::*;

    fn call(op: Operator, left: ColumnarValue, right: ColumnarValue) -> Result<ColumnarValue> {
        let function = CheckedIntegerArithmetic::of(op).unwrap();
        let field = Arc::new(Field::new("x", DataType::Int64, true));
        function.invoke_with_args(ScalarFunctionArgs {
            args: vec![left, right],
            arg_fields: vec![Arc::clone(&field), Arc::clone(&field)],
            number_rows: 2,
            return_field: field,
            config_options: Arc::new(ConfigOptions::default()),
        })
    }

    #[test]
    fn overflow_fails_and_the_rest_is_arithmetic() {
        let column = || ColumnarValue::Array(Arc::new(Int64Array::from(vec![Some(5), None])));
        let one = || ColumnarValue::Scalar(ScalarValue::Int64(Some(1)));
        let ColumnarValue::Array(sum) = call(Operator::Plus, column(), one()).unwrap() else {
            panic!("an array");
        };
        let sum = sum.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(sum.value(0), 6);
        assert!(sum.is_null(1));
        let largest = ColumnarValue::Scalar(ScalarValue::Int64(Some(i64::MAX)));
        let error = call(Operator::Plus, largest, one()).unwrap_err();
        assert!(error.to_string().contains("Overflow"), "{error}");
        let smallest = ColumnarValue::Scalar(ScalarValue::Int64(Some(i64::MIN)));
        assert!(call(Operator::Minus, smallest, one()).is_err());
        assert!(CheckedIntegerArithmetic::of(Operator::Divide).is_none());
    }
}
