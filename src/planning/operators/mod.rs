//! Our execution plan operators, and the functions that replace
//! DataFusion's. Each is complete on its own: the rules that put them in
//! plans import them, never the reverse.

mod checked_integer_arithmetic;
mod checked_sum;
mod decimal_arithmetic;
mod not_in;
mod spilling_join;

pub use checked_integer_arithmetic::CheckedIntegerArithmetic;
pub use checked_sum::CheckedSum;
pub use decimal_arithmetic::DecimalArithmeticExpr;
pub use not_in::{NotInSubqueryExec, NotInSurvivor, SubqueryFacts};
pub use spilling_join::{POOL_SHARE, SpillingHashJoinExec};
