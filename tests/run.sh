#!/usr/bin/env bash
# Runs every test morsel has, installing what the tests need first.
# Usage: bash tests/run.sh     (the README's second command; .ci/run calls it)
set -euo pipefail
cd "$(dirname "$0")/.."

# One build directory outside the clone, so repeated runs on a machine reuse it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/morsel/target}"

# The interop tests read morsel's output back with DuckDB and pyarrow.
if ! python3 -c "import duckdb, pyarrow" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check duckdb pyarrow
fi

# One build: the integration tests build the binary with the same features as
# the tests (a separate `cargo build` would resolve features differently and
# compile DataFusion a second time).
cargo test --all-targets

# TPC-H at SF 1: generate the data and verify all 22 answers.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
morsel="$CARGO_TARGET_DIR/debug/morsel"
"$morsel" tpch gen --sf 1 --out "$work/sf1"
"$morsel" bench tpch --data "$work/sf1" --iterations 1 --verify
