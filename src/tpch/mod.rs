//! TPC-H built in: generate the data, run the 22 queries, verify and time them.

pub mod bench;
pub mod datagen;
pub mod queries;
mod upload;
pub mod verify;
