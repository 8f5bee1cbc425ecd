//! Our execution plan operators. Each is complete on its own: the rules
//! that put them in plans import them, never the reverse.

mod not_in;
mod spilling_join;

pub use not_in::{NotInSubqueryExec, NotInSurvivor, SubqueryFacts};
pub use spilling_join::{POOL_SHARE, SpillingHashJoinExec};
