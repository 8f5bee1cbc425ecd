//! Our execution plan operators, and the functions that replace
//! DataFusion's. Each is complete on its own: the rules that put them in
//! plans import them, never the reverse.

mod canonical_nan;
mod checked_integer_arithmetic;
mod checked_sum;
mod decimal_arithmetic;
mod float_min_max;
mod not_in;
mod spilling_join;

pub use canonical_nan::{CANONICAL_NAN, CanonicalNan};
pub use checked_integer_arithmetic::CheckedIntegerArithmetic;
pub use checked_sum::CheckedSum;
pub use decimal_arithmetic::DecimalArithmeticExpr;
pub use float_min_max::FloatMinMax;
pub use not_in::{NotInSubqueryExec, NotInSurvivor, SubqueryFacts};
pub use spilling_join::{POOL_SHARE, SpillingHashJoinExec};
