#!/usr/bin/env bash
# Runs every test morsel has, installing what the tests need first.
# Usage: bash tests/run.sh     (the README's second command; .ci/run calls it)
set -euo pipefail
cd "$(dirname "$0")/.."

# One build directory outside the clone, so repeated runs on a machine reuse it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/morsel/target}"

# The interop tests read morsel's output back with DuckDB and pyarrow; the S3
# tests run against moto's S3 server on 127.0.0.1 (tests/s3/moto_control.py).
if ! python3 -c "import duckdb, pyarrow" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check duckdb pyarrow
fi
# moto 5.2.1 rejects correctly signed requests whose path or query has escaped
# characters (hive `key=value` keys, list prefixes); 5.2.5 checks them right.
moto_version=5.2.5
if ! python3 -c "import moto, flask, flask_cors, boto3; assert moto.__version__ == '$moto_version'" 2>/dev/null \
    || ! command -v moto_server >/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check "moto[s3]==$moto_version" flask flask-cors
fi

# The REPL test opens results in the default pager, less.
if ! command -v less >/dev/null && command -v apt-get >/dev/null; then
    apt-get install -y -qq less >/dev/null || (apt-get update -qq && apt-get install -y -qq less >/dev/null)
fi

# One build: the integration tests build the binary with the same features as
# the tests (a separate `cargo build` would resolve features differently and
# compile DataFusion a second time).
cargo test --all-targets
# The fuzzers and the soak below as programs: `cargo test --all-targets`
# builds examples only as test harnesses, so a build directory that had
# never built them had none to run. Seconds: nothing but them is compiled.
cargo build --examples

# Differential fuzzing, a fixed-seed slice: random queries over random
# tables against DuckDB, ternary-logic partitioning and an 8 MB memory
# limit (examples/sqlfuzz, docs/reliability.md).
"$CARGO_TARGET_DIR/debug/examples/sqlfuzz" --queries 3000 --seed 8

# Input fuzzing, a fixed-seed slice: mutated Parquet and CSV files, hive
# directory names, SET statements and morsel's own parsers must each give an
# answer or one clear line, in time and within a memory bound
# (examples/inputfuzz, docs/reliability.md).
"$CARGO_TARGET_DIR/debug/examples/inputfuzz" --target all --cases 3000 --seed 11

# The soak: one session, 10,000 statements (queries, spilling joins,
# failures, cancels, COPYs); memory, descriptors and spill files must stay
# flat (examples/soak).
"$CARGO_TARGET_DIR/debug/examples/soak" --statements 10000

# TPC-H at SF 1: generate the data and verify all 22 answers.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
morsel="$CARGO_TARGET_DIR/debug/morsel"
"$morsel" tpch gen --sf 1 --out "$work/sf1"
"$morsel" bench tpch --data "$work/sf1" --iterations 1 --verify
# Out of core: the same 22 under a 100 MB memory limit, spilling.
"$morsel" bench tpch --data "$work/sf1" --iterations 1 --verify --memory-limit 100MB --temp-dir "$work"
# Cluster mode: the same 22 on a scheduler and two executors started for the
# run on loopback (tests/cluster.rs has the processes' own tests).
"$morsel" bench tpch --data "$work/sf1" --iterations 1 --verify --cluster local:2
