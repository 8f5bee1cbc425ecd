//! `+`, `-` and `*` of two DECIMALs (Decimal128), computed with one plain
//! machine operation per value wherever the batch's values fit in 64 bits.
//!
//! Arrow computes every decimal `+`, `-` and `*` as a checked 128-bit
//! operation in a closure that returns a `Result` for each value, which is
//! neither inlined nor vectorized: in TPC-H Q1 the two products of
//! `l_extendedprice * (1 - l_discount) * (1 + l_tax)` took a fifth of the
//! query's CPU time. Values that fit in 64 bits cannot overflow 128: a
//! product of two is under 2^126 and a sum under 2^64. So when every value
//! on both sides does (a DECIMAL(18) always; prices and quantities almost
//! always), the result is computed unchecked, and exactly; otherwise the
//! batch takes arrow's checked way. The result has arrow's type either way,
//! and a product's value fits its precision as arrow's does.

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array};
use datafusion::arrow::compute::kernels::numeric;
use datafusion::arrow::compute::{binary, unary};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{ScalarValue, internal_datafusion_err};
use datafusion::error::Result;
use datafusion::logical_expr::interval_arithmetic::Interval;
use datafusion::logical_expr::sort_properties::ExprProperties;
use datafusion::logical_expr::{ColumnarValue, Operator};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::BinaryExpr;
use datafusion::physical_expr_common::datum::apply;

/// A checked `+`, `-` or `*` of two Decimal128 operands (`binary`), which
/// it shows, orders and bounds as itself.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DecimalArithmeticExpr {
    binary: BinaryExpr,
}

impl DecimalArithmeticExpr {
    pub fn new(binary: BinaryExpr) -> Self {
        Self { binary }
    }
}

impl fmt::Display for DecimalArithmeticExpr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.binary.fmt(f)
    }
}

impl PhysicalExpr for DecimalArithmeticExpr {
    fn data_type(&self, input_schema: &Schema) -> Result<DataType> {
        self.binary.data_type(input_schema)
    }

    fn nullable(&self, input_schema: &Schema) -> Result<bool> {
        self.binary.nullable(input_schema)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let left = self.binary.left().evaluate(batch)?;
        let right = self.binary.right().evaluate(batch)?;
        let op = *self.binary.op();
        if let Some(result) = in_64_bits(op, &left, &right)? {
            return Ok(ColumnarValue::Array(result));
        }
        let kernel = match op {
            Operator::Plus => numeric::add,
            Operator::Minus => numeric::sub,
            Operator::Multiply => numeric::mul,
            _ => return self.binary.evaluate(batch),
        };
        apply(&left, &right, kernel)
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        vec![self.binary.left(), self.binary.right()]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        let binary = Arc::new(self.binary.clone()).with_new_children(children)?;
        let binary = binary
            .downcast_ref::<BinaryExpr>()
            .ok_or_else(|| internal_datafusion_err!("{binary} is no longer a binary expression"))?
            .clone();
        Ok(Arc::new(Self { binary }))
    }

    fn evaluate_bounds(&self, children: &[&Interval]) -> Result<Interval> {
        self.binary.evaluate_bounds(children)
    }

    fn get_properties(&self, children: &[ExprProperties]) -> Result<ExprProperties> {
        self.binary.get_properties(children)
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.binary.fmt_sql(f)
    }
}

/// One side of the operation: a column of values, or one value for all.
enum Operand<'a> {
    Values(&'a Decimal128Array),
    Value(i128),
}

/// `left op right` computed without checks, where both are Decimal128 of
/// values that fit in 64 bits (and for `+` and `-`, of scales at most 18
/// apart); `None` where arrow's checked kernel has to do it.
fn in_64_bits(
    op: Operator,
    left: &ColumnarValue,
    right: &ColumnarValue,
) -> Result<Option<ArrayRef>> {
    let (Some((l, lp, ls)), Some((r, rp, rs))) = (operand(left), operand(right)) else {
        return Ok(None);
    };
    if !fits_in_64_bits(&l) || !fits_in_64_bits(&r) {
        return Ok(None);
    }
    // Arrow's result types (`arrow_arith::numeric`, Hive's rules).
    let values = match op {
        Operator::Multiply if ls + rs <= MAX_DIGITS => {
            let precision = (lp + rp + 1).min(MAX_DIGITS);
            combine(l, r, |a, b| wide(a) * wide(b))?.map(|v| (v, precision, ls + rs))
        }
        Operator::Plus | Operator::Minus => {
            let scale = ls.max(rs);
            let (Some(lm), Some(rm)) = (rescale(scale - ls), rescale(scale - rs)) else {
                return Ok(None);
            };
            let precision = (scale + (lp - ls).max(rp - rs) + 1).min(MAX_DIGITS);
            let values = if op == Operator::Plus {
                combine(l, r, |a, b| wide(a) * lm + wide(b) * rm)?
            } else {
                combine(l, r, |a, b| wide(a) * lm - wide(b) * rm)?
            };
            values.map(|v| (v, precision, scale))
        }
        _ => None,
    };
    values
        .map(|(values, precision, scale)| {
            let typed = values.with_precision_and_scale(precision as u8, scale as i8)?;
            Ok(Arc::new(typed) as ArrayRef)
        })
        .transpose()
}

/// The digits of a Decimal128.
const MAX_DIGITS: i16 = 38;

/// What a value of a scale `digits` below the result's is multiplied by;
/// `None` past 10^18, where a 64-bit value times it could pass 127 bits.
fn rescale(digits: i16) -> Option<i128> {
    (digits <= 18).then(|| 10i128.pow(digits as u32))
}

/// The values, precision and scale of a Decimal128 side; `None` for any
/// other type, a negative scale, or a NULL value.
fn operand(side: &ColumnarValue) -> Option<(Operand<'_>, i16, i16)> {
    match side {
        ColumnarValue::Array(array) => match array.data_type() {
            DataType::Decimal128(p, s) if *s >= 0 => Some((
                Operand::Values(array.as_primitive()),
                i16::from(*p),
                i16::from(*s),
            )),
            _ => None,
        },
        ColumnarValue::Scalar(ScalarValue::Decimal128(Some(value), p, s)) if *s >= 0 => {
            Some((Operand::Value(*value), i16::from(*p), i16::from(*s)))
        }
        _ => None,
    }
}

fn fits_in_64_bits(operand: &Operand) -> bool {
    match operand {
        // One pass with no early exit, which the compiler vectorizes; a
        // value under a NULL counts too, which at worst sends the batch
        // the checked way.
        Operand::Values(array) => array
            .values()
            .iter()
            .fold(true, |fits, &v| fits & (i128::from(v as i64) == v)),
        Operand::Value(v) => i128::from(*v as i64) == *v,
    }
}

/// The value of `v`, known to fit in 64 bits, as 128 bits again: the
/// product of two such is one widening multiplication.
fn wide(v: i128) -> i128 {
    i128::from(v as i64)
}

fn combine(
    left: Operand,
    right: Operand,
    f: impl Fn(i128, i128) -> i128,
) -> Result<Option<Decimal128Array>> {
    Ok(match (left, right) {
        (Operand::Values(l), Operand::Values(r)) => Some(binary(l, r, f)?),
        (Operand::Values(l), Operand::Value(r)) => Some(unary(l, |a| f(a, r))),
        (Operand::Value(l), Operand::Values(r)) => Some(unary(r, |b| f(l, b))),
        // Two constants are arrow's to fold (the planner has, before this).
        (Operand::Value(_), Operand::Value(_)) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decimals(values: &[Option<i128>], precision: u8, scale: i8) -> ColumnarValue {
        let array = Decimal128Array::from(values.to_vec())
            .with_precision_and_scale(precision, scale)
            .unwrap();
        ColumnarValue::Array(Arc::new(array))
    }

    fn arrows_answer(op: Operator, left: &ColumnarValue, right: &ColumnarValue) -> ArrayRef {
        let kernel = match op {
            Operator::Plus => numeric::add,
            Operator::Minus => numeric::sub,
            _ => numeric::mul,
        };
        apply(left, right, kernel).unwrap().into_array(1).unwrap()
    }

    #[test]
    fn values_within_64_bits_give_arrows_answer_without_its_checks() {
        let prices = decimals(
            &[Some(1999), None, Some(-3512), Some(i64::MIN.into())],
            19,
            2,
        );
        let rates = decimals(&[Some(7), Some(10), None, Some(i64::MAX.into())], 19, 2);
        let one = ColumnarValue::Scalar(ScalarValue::Decimal128(Some(100), 19, 2));
        let whole_one = ColumnarValue::Scalar(ScalarValue::Decimal128(Some(1), 20, 0));
        let tenths = decimals(&[Some(-1), Some(i64::MAX.into()), Some(0), None], 18, 1);
        for (left, right) in [
            (&prices, &rates),
            (&one, &rates),
            (&prices, &one),
            (&whole_one, &rates),
            (&prices, &tenths),
            (&tenths, &whole_one),
        ] {
            for op in [Operator::Plus, Operator::Minus, Operator::Multiply] {
                let ours = in_64_bits(op, left, right).unwrap().expect("fast");
                assert_eq!(&ours, &arrows_answer(op, left, right), "{op}");
            }
        }
    }

    #[test]
    fn values_past_64_bits_or_scales_apart_are_left_to_arrow() {
        let big = decimals(&[Some(1), Some(i128::from(i64::MAX) + 1)], 38, 0);
        let small = decimals(&[Some(2), Some(3)], 38, 0);
        assert!(
            in_64_bits(Operator::Multiply, &big, &small)
                .unwrap()
                .is_none()
        );
        assert!(in_64_bits(Operator::Plus, &small, &big).unwrap().is_none());
        let far_scale = decimals(&[Some(2), Some(3)], 38, 19);
        assert!(
            in_64_bits(Operator::Plus, &small, &far_scale)
                .unwrap()
                .is_none()
        );
        assert!(
            in_64_bits(Operator::Multiply, &small, &far_scale)
                .unwrap()
                .is_some()
        );
        let null = ColumnarValue::Scalar(ScalarValue::Decimal128(None, 38, 0));
        assert!(
            in_64_bits(Operator::Minus, &small, &null)
                .unwrap()
                .is_none()
        );
    }
}
