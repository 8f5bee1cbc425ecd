//! TPC-H built in: generate the data, run the 22 queries, verify and time them.
//!
//! `datagen` writes the tables to a local directory, `upload` carries them
//! into a bucket, `queries` holds the 22 queries and their answers, `bench`
//! runs them through a [`crate::session::Session`] and `verify` compares.

pub mod bench;
pub mod datagen;
pub mod queries;
mod upload;
pub mod verify;

use std::path::Path;

use crate::error::{Error, Result};

/// `morsel tpch gen`: every table into `options.out`, a local directory or
/// an `s3://` prefix (reached with the AWS `profile`, if given).
pub fn generate(options: &datagen::GenOptions, profile: Option<String>) -> Result<()> {
    if !options.scale_factor.is_finite() || options.scale_factor <= 0.0 {
        return Err(Error::Usage("--sf must be greater than 0".into()));
    }
    if crate::storage::is_remote(&options.out) {
        return upload::generate_remote(options, profile);
    }
    let out = Path::new(&options.out);
    if !options.replace {
        refuse_to_replace(out)?;
    }
    datagen::generate_into(options, out, &|_, _| Ok(()))
}

/// An error when `out` already holds a table this would replace.
fn refuse_to_replace(out: &Path) -> Result<()> {
    let existing: Vec<&str> = datagen::TABLES
        .iter()
        .map(|t| t.name())
        .filter(|name| out.join(name).exists())
        .collect();
    match existing.as_slice() {
        [] => Ok(()),
        names => Err(Error::Usage(format!(
            "{}: already holds {}; add --force to replace them",
            out.display(),
            names.join(", ")
        ))),
    }
}
