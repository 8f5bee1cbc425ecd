#!/usr/bin/env bash
# Generates TPC-H at scale factor SF, then times morsel and DuckDB on the same
# Parquet files, best of 3. Usage: bash benches/tpch_compare.sh SF [WORKDIR]
# Needs a release build (cargo build --release) and `pip install duckdb`.
set -euo pipefail
cd "$(dirname "$0")/.."
sf=$1
work=${2:-/tmp/morsel-bench}
morsel="${CARGO_TARGET_DIR:-$HOME/.cache/morsel/target}/release/morsel"
data="$work/sf$sf"
mkdir -p "$work"

echo "== generate SF $sf"
/usr/bin/time -f "generated in %e s, peak RSS %M KB" "$morsel" tpch gen --sf "$sf" --out "$data"
du -sh "$data"
echo "== morsel"
/usr/bin/time -f "morsel peak RSS %M KB" "$morsel" bench tpch --data "$data" --iterations 3 \
    --json "$work/sf$sf-morsel.json" 2>/dev/null
echo "== duckdb"
/usr/bin/time -f "duckdb peak RSS %M KB" python3 benches/duckdb_tpch.py "$data" --iterations 3
