//! Running the built `morsel` binary from integration tests.
#![allow(dead_code)] // each test crate uses its own subset

pub mod cluster;

use std::path::Path;
use std::process::{Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;

/// `morsel ARGS…` from the repository root, run to completion:
/// (status code, stdout, stderr).
pub fn morsel(args: &[&str]) -> (i32, String, String) {
    morsel_in(Path::new("."), args, None)
}

/// `morsel ARGS…` in `dir`, with `stdin` as its input.
pub fn morsel_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut command = Command::cargo_bin("morsel").expect("binary built");
    command
        .current_dir(dir)
        .args(args)
        // Else a panic prints Rust's report beside morsel's one line.
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("morsel starts");
    {
        use std::io::Write;
        let mut input = child.stdin.take().expect("stdin");
        input
            .write_all(stdin.unwrap_or("").as_bytes())
            .expect("write stdin");
    }
    let output = child.wait_with_output().expect("morsel finishes");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
