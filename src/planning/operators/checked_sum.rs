//! `sum` whose integer totals fail on overflow instead of wrapping.
//!
//! DataFusion's `sum` adds integers with wrapping arithmetic, so a BIGINT
//! total past 2^63 comes back negative with no error. PostgreSQL widens to
//! numeric and DuckDB to HUGEINT; morsel keeps DataFusion's BIGINT (and
//! UBIGINT) result types, so plans and outputs keep their shape, and
//! refuses a total that does not fit. [`CheckedSum`] is DataFusion's `sum`
//! with the accumulators of integer sums replaced; every other input type,
//! and `sum(DISTINCT …)`, is DataFusion's own.

use std::fmt::Debug;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::compute;
use datafusion::arrow::datatypes::{
    ArrowNativeTypeOp, ArrowPrimitiveType, DataType, FieldRef, Int64Type, UInt64Type,
};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::functions_aggregate::sum::Sum;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, EmitTo, Expr, GroupsAccumulator, Operator,
    ReversedUDAF, SetMonotonicity, Signature, StatisticsArgs,
};
use datafusion_functions_aggregate_common::aggregate::groups_accumulator::prim_op::PrimitiveGroupsAccumulator;

/// DataFusion's `sum`, failing where an integer total overflows.
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct CheckedSum(Sum);

impl AggregateUDFImpl for CheckedSum {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn signature(&self) -> &Signature {
        self.0.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.0.return_type(arg_types)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        match integer_total(&args) {
            Some(DataType::Int64) => Ok(Box::new(CheckedSumAccumulator::<Int64Type>::new())),
            Some(DataType::UInt64) => Ok(Box::new(CheckedSumAccumulator::<UInt64Type>::new())),
            _ => self.0.accumulator(args),
        }
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.0.state_fields(args)
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        self.0.groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        match integer_total(&args) {
            Some(DataType::Int64) => Ok(CheckedGroups::boxed::<Int64Type>()),
            Some(DataType::UInt64) => Ok(CheckedGroups::boxed::<UInt64Type>()),
            _ => self.0.create_groups_accumulator(args),
        }
    }

    /// A window's running sum: the same accumulator, which also retracts.
    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        match integer_total(&args) {
            Some(_) => self.accumulator(args),
            None => self.0.create_sliding_accumulator(args),
        }
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        self.0.reverse_expr()
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        self.0.order_sensitivity()
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.0.documentation()
    }

    fn set_monotonicity(&self, data_type: &DataType) -> SetMonotonicity {
        self.0.set_monotonicity(data_type)
    }

    fn simplify_expr_op_literal(
        &self,
        agg_function: &AggregateFunction,
        arg: &Expr,
        op: Operator,
        lit: &Expr,
        arg_is_left: bool,
    ) -> Result<Option<Expr>> {
        self.0
            .simplify_expr_op_literal(agg_function, arg, op, lit, arg_is_left)
    }

    fn value_from_stats(&self, statistics_args: &StatisticsArgs) -> Option<ScalarValue> {
        self.0.value_from_stats(statistics_args)
    }
}

/// The integer type of the total, where this sum is one morsel checks.
fn integer_total(args: &AccumulatorArgs) -> Option<DataType> {
    let total = args.return_field.data_type();
    (!args.is_distinct && matches!(total, DataType::Int64 | DataType::UInt64))
        .then(|| total.clone())
}

fn overflow(total: &DataType) -> DataFusionError {
    DataFusionError::Execution(format!(
        "integer overflow: the sum does not fit {}; cast its argument to DECIMAL(38, 0) \
         to sum it exactly",
        sql_name(total)
    ))
}

fn sql_name(total: &DataType) -> &'static str {
    match total {
        DataType::UInt64 => "UBIGINT",
        _ => "BIGINT",
    }
}

/// The total of one group (no GROUP BY, or a window), with the count of
/// values in it, so a window whose values have all left it is NULL again.
#[derive(Debug)]
struct CheckedSumAccumulator<T: ArrowPrimitiveType> {
    sum: T::Native,
    count: u64,
    _type: PhantomData<fn() -> T>,
}

impl<T: ArrowPrimitiveType> CheckedSumAccumulator<T> {
    fn new() -> Self {
        Self {
            sum: T::Native::ZERO,
            count: 0,
            _type: PhantomData,
        }
    }

    fn add(&mut self, values: &ArrayRef) -> Result<()> {
        let values = values.as_primitive::<T>();
        if let Some(part) = compute::sum_checked(values).map_err(|_| overflow(&T::DATA_TYPE))? {
            self.sum = self
                .sum
                .add_checked(part)
                .map_err(|_| overflow(&T::DATA_TYPE))?;
        }
        self.count += (values.len() - values.null_count()) as u64;
        Ok(())
    }

    fn total(&self) -> ScalarValue {
        let sum = (self.count > 0).then_some(self.sum);
        ScalarValue::new_primitive::<T>(sum, &T::DATA_TYPE).unwrap_or(ScalarValue::Null)
    }
}

impl<T: ArrowPrimitiveType + Debug> Accumulator for CheckedSumAccumulator<T> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add(&values[0])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.add(&states[0])
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let values = values[0].as_primitive::<T>();
        if let Some(part) = compute::sum_checked(values).map_err(|_| overflow(&T::DATA_TYPE))? {
            self.sum = self
                .sum
                .sub_checked(part)
                .map_err(|_| overflow(&T::DATA_TYPE))?;
        }
        self.count -= (values.len() - values.null_count()) as u64;
        Ok(())
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.total()])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.total())
    }

    fn size(&self) -> usize {
        size_of_val(self)
    }
}

/// DataFusion's accumulator of many groups' totals, adding with checked
/// arithmetic: its adding function cannot return an error, so it marks an
/// overflow, and every call that hands out or takes in totals reports it.
struct CheckedGroups {
    inner: Box<dyn GroupsAccumulator>,
    overflowed: Arc<AtomicBool>,
    total: DataType,
}

impl CheckedGroups {
    fn boxed<T: ArrowPrimitiveType + Send>() -> Box<dyn GroupsAccumulator> {
        let overflowed = Arc::new(AtomicBool::new(false));
        let mark = Arc::clone(&overflowed);
        let add = move |total: &mut T::Native, value: T::Native| match total.add_checked(value) {
            Ok(sum) => *total = sum,
            Err(_) => mark.store(true, Ordering::Relaxed),
        };
        Box::new(Self {
            inner: Box::new(PrimitiveGroupsAccumulator::<T, _>::new(&T::DATA_TYPE, add)),
            overflowed,
            total: T::DATA_TYPE,
        })
    }

    fn check(&self) -> Result<()> {
        match self.overflowed.load(Ordering::Relaxed) {
            true => Err(overflow(&self.total)),
            false => Ok(()),
        }
    }
}

impl GroupsAccumulator for CheckedGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.inner
            .update_batch(values, group_indices, opt_filter, total_num_groups)?;
        self.check()
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.inner
            .merge_batch(values, group_indices, total_num_groups)?;
        self.check()
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        self.check()?;
        self.inner.evaluate(emit_to)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        self.check()?;
        self.inner.state(emit_to)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        self.inner.convert_to_state(values, opt_filter)
    }

    fn size(&self) -> usize {
        self.inner.size()
    }
}

#[cfg(test)]
mod tests {
    use datafusion::logical_expr::AggregateUDF;
    use datafusion::prelude::SessionContext;

    use super::*;

    /// The first column of `query`'s answer, with our `sum` in place.
    async fn column(query: &str) -> Result<Vec<ScalarValue>> {
        let ctx = SessionContext::new();
        ctx.register_udaf(AggregateUDF::from(CheckedSum::default()));
        let batches = ctx.sql(query).await?.collect().await?;
        let mut values = Vec::new();
        for batch in batches {
            for row in 0..batch.num_rows() {
                values.push(ScalarValue::try_from_array(batch.column(0), row)?);
            }
        }
        Ok(values)
    }

    const BIG: &str = "(VALUES (9223372036854775807), (1), (NULL)) t(v)";

    #[tokio::test]
    async fn an_overflowing_total_is_an_error_however_it_is_summed() {
        for query in [
            format!("SELECT sum(v) FROM {BIG}"),
            format!("SELECT sum(v) FROM {BIG} GROUP BY v IS NULL"),
            format!("SELECT sum(v) OVER (ORDER BY v ROWS 1 PRECEDING) FROM {BIG}"),
            "SELECT sum(CAST(v AS INT UNSIGNED) * CAST(4294967296 AS BIGINT UNSIGNED)) \
             FROM (VALUES (4294967295), (4294967295)) t(v)"
                .to_string(),
        ] {
            let error = column(&query).await.expect_err(&query);
            assert!(
                error.to_string().contains("integer overflow"),
                "{query}: {error}"
            );
        }
    }

    #[tokio::test]
    async fn totals_that_fit_are_as_before() {
        let rows = "(VALUES (9223372036854775806), (1), (-5), (-5), (NULL)) t(v)";
        for (query, total) in [
            ("SELECT sum(v) FROM {rows}", 9223372036854775797),
            ("SELECT sum(DISTINCT v) FROM {rows}", 9223372036854775802),
            (
                "SELECT sum(v) FROM {rows} GROUP BY v IS NULL ORDER BY 1 NULLS LAST",
                9223372036854775797,
            ),
        ] {
            let query = query.replace("{rows}", rows);
            let values = column(&query).await.expect(&query);
            assert_eq!(values[0], ScalarValue::Int64(Some(total)), "{query}");
        }
        let window = column(
            "SELECT sum(v) OVER (ORDER BY o ROWS 1 PRECEDING) FROM \
             (VALUES (1, 5), (2, NULL), (3, NULL), (4, 7)) t(o, v) ORDER BY o",
        )
        .await
        .expect("a window");
        let expected = [Some(5), Some(5), None, Some(7)].map(ScalarValue::Int64);
        assert_eq!(window, expected);
    }
}
