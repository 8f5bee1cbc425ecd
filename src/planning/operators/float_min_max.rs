//! `min` and `max` whose float groups hold NaN above every number and
//! start from the infinities.
//!
//! DataFusion 55's `min` and `max` of many groups compare floats with
//! `partial_cmp` and take the new value where it answers nothing, so a
//! group's NaN was kept or lost by the order of the rows (`max` of 1, NaN, 5
//! answered 5, DuckDB NaN; `min` answered 5 for 1); and they start from the
//! largest finite number, so `max` of a group holding only -inf answered
//! -1.797e308, and `min` of only +inf 1.797e308 (found by sqlfuzz, with NaN in its tables).
//! [`FloatMinMax`] is DataFusion's function with the groups accumulator of
//! 32- and 64-bit floats replaced: NaN is the largest value, as in the
//! ungrouped path (arrow's kernels) and in DuckDB, and the first value of
//! a group counts whatever it is. Every other type, the ungrouped and the
//! windowed accumulators stay DataFusion's.

use datafusion::arrow::datatypes::{ArrowPrimitiveType, DataType, Float32Type, Float64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::functions_aggregate::min_max::{max_udaf, min_udaf};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, GroupsAccumulator, ReversedUDAF,
    SetMonotonicity, Signature, StatisticsArgs,
};
use datafusion_functions_aggregate_common::aggregate::groups_accumulator::prim_op::PrimitiveGroupsAccumulator;
use num_traits::Float;

/// DataFusion's `max` (or `min`), NaN the largest float in every group.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FloatMinMax {
    largest: bool,
    inner: AggregateUDF,
}

impl FloatMinMax {
    /// `max` and `min`, to register in place of DataFusion's.
    pub fn both() -> [Self; 2] {
        [
            Self {
                largest: true,
                inner: max_udaf().as_ref().clone(),
            },
            Self {
                largest: false,
                inner: min_udaf().as_ref().clone(),
            },
        ]
    }

    fn inner(&self) -> &dyn AggregateUDFImpl {
        self.inner.inner().as_ref()
    }
}

impl AggregateUDFImpl for FloatMinMax {
    fn name(&self) -> &str {
        self.inner().name()
    }

    fn signature(&self) -> &Signature {
        self.inner().signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner().return_type(arg_types)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.inner().accumulator(args)
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        self.inner().groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let data_type = args.return_field.data_type();
        Ok(match data_type {
            DataType::Float64 => extremes::<Float64Type>(data_type, self.largest),
            DataType::Float32 => extremes::<Float32Type>(data_type, self.largest),
            _ => return self.inner().create_groups_accumulator(args),
        })
    }

    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.inner().create_sliding_accumulator(args)
    }

    fn is_descending(&self) -> Option<bool> {
        self.inner().is_descending()
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        self.inner().order_sensitivity()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner().coerce_types(arg_types)
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        self.inner().reverse_expr()
    }

    fn value_from_stats(&self, statistics_args: &StatisticsArgs) -> Option<ScalarValue> {
        self.inner().value_from_stats(statistics_args)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner().documentation()
    }

    fn set_monotonicity(&self, data_type: &DataType) -> SetMonotonicity {
        self.inner().set_monotonicity(data_type)
    }
}

/// The largest (or smallest) value of each group, NaN above every number.
/// A group starts from the value no other is beyond: -inf for the largest,
/// NaN for the smallest.
fn extremes<T>(data_type: &DataType, largest: bool) -> Box<dyn GroupsAccumulator>
where
    T: ArrowPrimitiveType + Send,
    T::Native: Float,
{
    if largest {
        let keep_larger = |current: &mut T::Native, new: T::Native| {
            if above(new, *current) {
                *current = new;
            }
        };
        let groups = PrimitiveGroupsAccumulator::<T, _>::new(data_type, keep_larger);
        Box::new(groups.with_starting_value(T::Native::neg_infinity()))
    } else {
        let keep_smaller = |current: &mut T::Native, new: T::Native| {
            if above(*current, new) {
                *current = new;
            }
        };
        let groups = PrimitiveGroupsAccumulator::<T, _>::new(data_type, keep_smaller);
        Box::new(groups.with_starting_value(T::Native::nan()))
    }
}

/// Whether `a` comes after `b` where NaN is the largest value and all NaNs
/// are one.
fn above<F: Float>(a: F, b: F) -> bool {
    !b.is_nan() && (a.is_nan() || a > b)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array};
    use datafusion::logical_expr::EmitTo;

    use super::*;

    /// One group's result of `values` in this order.
    fn one_group(largest: bool, values: &[f64]) -> f64 {
        let mut groups = extremes::<Float64Type>(&DataType::Float64, largest);
        let column: ArrayRef = Arc::new(Float64Array::from(values.to_vec()));
        let group_of_each = vec![0; values.len()];
        groups
            .update_batch(&[column], &group_of_each, None, 1)
            .unwrap();
        let result = groups.evaluate(EmitTo::All).unwrap();
        let result = result.as_primitive::<Float64Type>();
        assert!(result.is_valid(0));
        result.value(0)
    }

    #[test]
    fn nan_is_the_largest_in_any_order_and_infinities_count() {
        for order in [
            [1.0, f64::NAN, 5.0],
            [f64::NAN, 5.0, 1.0],
            [5.0, 1.0, f64::NAN],
        ] {
            assert!(one_group(true, &order).is_nan(), "{order:?}");
            assert_eq!(one_group(false, &order), 1.0, "{order:?}");
        }
        assert_eq!(one_group(true, &[f64::NEG_INFINITY]), f64::NEG_INFINITY);
        assert_eq!(one_group(false, &[f64::INFINITY]), f64::INFINITY);
        assert!(one_group(false, &[f64::NAN, f64::NAN]).is_nan());
    }
}
