//! `morsel_canonical_nan(x)`: a float unchanged, but every NaN the same
//! NaN, the positive one.
//!
//! arrow orders, compares, groups and hashes floats by IEEE's total order,
//! where a NaN with its sign bit set sorts below -inf and differs from the
//! positive one. The NaN that x86 arithmetic makes from numbers (`inf -
//! inf`, `0 * inf`, `0 / 0`, the square root of a negative) is that
//! negative one, so `5 <= x - x` was false for x = inf, `ORDER BY` put it
//! first and `GROUP BY` made two groups of NaN. SQL engines (DuckDB,
//! PostgreSQL) have one NaN, above every number. The rule that calls this
//! function knows where floats are made; this function only maps them.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use datafusion::arrow::datatypes::{ArrowPrimitiveType, DataType, Float32Type, Float64Type};
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

/// The function's name, as plans show it and as it travels to executors.
pub const CANONICAL_NAN: &str = "morsel_canonical_nan";

/// Maps every NaN of a float to the positive NaN.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CanonicalNan {
    signature: Signature,
}

impl Default for CanonicalNan {
    fn default() -> Self {
        Self {
            signature: Signature::uniform(
                1,
                vec![DataType::Float32, DataType::Float64],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for CanonicalNan {
    fn name(&self) -> &str {
        CANONICAL_NAN
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [value] = args.args.as_slice() else {
            return exec_err!("{CANONICAL_NAN} takes one argument");
        };
        match value {
            ColumnarValue::Scalar(scalar) => canonical_scalar(scalar).map(ColumnarValue::Scalar),
            ColumnarValue::Array(array) => canonical_array(array).map(ColumnarValue::Array),
        }
    }
}

fn canonical_scalar(scalar: &ScalarValue) -> Result<ScalarValue> {
    Ok(match scalar {
        ScalarValue::Float64(Some(v)) if v.is_nan() => ScalarValue::Float64(Some(f64::NAN)),
        ScalarValue::Float32(Some(v)) if v.is_nan() => ScalarValue::Float32(Some(f32::NAN)),
        ScalarValue::Float64(_) | ScalarValue::Float32(_) => scalar.clone(),
        other => return exec_err!("{CANONICAL_NAN} takes a float, not {}", other.data_type()),
    })
}

fn canonical_array(array: &ArrayRef) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::Float64 => Ok(canonical(array.as_primitive::<Float64Type>(), f64::NAN)),
        DataType::Float32 => Ok(canonical(array.as_primitive::<Float32Type>(), f32::NAN)),
        other => exec_err!("{CANONICAL_NAN} takes a float, not {other}"),
    }
}

/// `array` with each NaN replaced by `nan`; the array itself when it has
/// none, which is nearly always.
fn canonical<T>(array: &PrimitiveArray<T>, nan: T::Native) -> ArrayRef
where
    T: ArrowPrimitiveType,
    T::Native: num_traits::Float,
{
    use num_traits::Float;
    let has_nan = array.values().iter().any(|v| v.is_nan());
    if !has_nan {
        return Arc::new(array.clone());
    }
    Arc::new(array.unary::<_, T>(|v| if v.is_nan() { nan } else { v }))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::Float64Array;

    use super::*;

    #[test]
    fn every_nan_becomes_the_positive_one_and_numbers_stay() {
        let negative_nan = f64::INFINITY - f64::INFINITY;
        let values = Float64Array::from(vec![Some(negative_nan), None, Some(-0.0), Some(2.5)]);
        let array: ArrayRef = Arc::new(values);
        let mapped = canonical_array(&array).unwrap();
        let mapped = mapped.as_primitive::<Float64Type>();
        assert_eq!(mapped.value(0).to_bits(), f64::NAN.to_bits());
        assert!(mapped.is_null(1));
        assert_eq!(mapped.value(2).to_bits(), (-0.0f64).to_bits());
        assert_eq!(mapped.value(3), 2.5);
        let scalar = canonical_scalar(&ScalarValue::Float64(Some(-f64::NAN))).unwrap();
        assert_eq!(scalar, ScalarValue::Float64(Some(f64::NAN)));
    }
}
