#!/usr/bin/env bash
# Times morsel and DuckDB on TPC-H with and without a memory limit, with peak
# RSS, on data made by `morsel tpch gen`. Usage:
#   bash benches/out_of_core.sh DATA LIMIT [ITERATIONS] [ANSWERS_DIR]
# e.g. `… /tmp/sf1 100MB 3` or `… /tmp/sf10 1GB 1 /tmp/ans10` (SF 10 answers
# from `python3 benches/duckdb_tpch.py /tmp/sf10 --answers /tmp/ans10`).
# Needs a release build (cargo build --release) and `pip install duckdb`.
set -euo pipefail
cd "$(dirname "$0")/.."
data=$1
limit=$2
iterations=${3:-3}
verify=(--verify ${4:+"$4"})
morsel="${CARGO_TARGET_DIR:-$HOME/.cache/morsel/target}/release/morsel"
spill=$(mktemp -d)
trap 'rm -rf "$spill"' EXIT

measure() {
    local name=$1
    shift
    /usr/bin/time -f "$name: peak RSS %M KB" "$@" 2>&1 >/tmp/out-of-core-run.txt | tail -1
    grep -E '^total|passed' /tmp/out-of-core-run.txt || true
}

measure "morsel, idle with the tables open" "$morsel" "$data" -c "select 1"
measure "morsel, no limit" "$morsel" bench tpch --data "$data" --iterations "$iterations" "${verify[@]}"
measure "morsel, --memory-limit 16GB (nothing spills)" "$morsel" bench tpch --data "$data" \
    --iterations "$iterations" "${verify[@]}" --memory-limit 16GB
measure "morsel, --memory-limit $limit" "$morsel" bench tpch --data "$data" \
    --iterations "$iterations" "${verify[@]}" --memory-limit "$limit" --temp-dir "$spill"
measure "DuckDB, no limit" python3 benches/duckdb_tpch.py "$data" --iterations "$iterations"
measure "DuckDB, memory_limit $limit" python3 benches/duckdb_tpch.py "$data" \
    --iterations "$iterations" --memory-limit "$limit"
