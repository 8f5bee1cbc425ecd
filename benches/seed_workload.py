"""The seed workload: morsel against DuckDB and Polars, whole process each.

Usage: python3 benches/seed_workload.py DATA_DIR [--morsel BIN] [--rounds N]
                                        [--rows-per-file N] [--files N]
                                        [--keep] [--timeout SECONDS]

The job of a pandas/Dask user this project started from: Parquet files of
random doubles, one aggregation and one join, each written back to Parquet.

Data (generated under DATA_DIR if absent, numpy seed 42):
  DATA_DIR/main/part-0.parquet ... part-{files-1}.parquet
      rows-per-file rows each (default 10 files x 1,000,000 rows),
      col_0 ... col_4: float64, numpy uniform [0, 1).
  DATA_DIR/ref/part-0.parquet
      rows-per-file rows (default 1,000,000), col_0 ... col_4: float64.
      ref.col_0 is a random sample, without replacement, of main's col_0
      values (over all files, in random order); col_1 ... col_4 are fresh
      uniform doubles.
  Why: main's col_0 values are uniform random doubles and so essentially
  unique (10M draws from 2^53 values). Had ref.col_0 been drawn the same
  way, the LEFT JOIN would match (almost) nothing and degenerate into a copy
  of main with NULL columns. Drawing ref's keys from main makes 1M of the
  10M main rows (10%) find exactly one partner, so the join really probes
  and gathers. The aggregation is kept as the issue states it: GROUP BY
  col_0 over unique doubles, i.e. ~10M groups of one row each, a hash
  aggregation whose table is as large as its input.
  With seed 42 and the defaults, exactly one col_0 value occurs twice in
  main and both copies were sampled into ref, so the expected outputs are
  9,999,999 groups and 10,000,002 join rows (2 x 2 instead of 2 x 1).

Jobs (the SQL is the same in morsel and DuckDB; Polars runs the equivalent
lazy plan):
  agg:  COPY (SELECT col_0, avg(col_1), avg(col_2), avg(col_3), avg(col_4)
              FROM main GROUP BY col_0) TO 'agg.parquet'
  join: COPY (SELECT m.*, r.col_1 AS r_col_1, r.col_2 AS r_col_2,
                     r.col_3 AS r_col_3, r.col_4 AS r_col_4
              FROM main m LEFT JOIN ref r ON m.col_0 = r.col_0)
        TO 'join.parquet'

Each job runs in each engine as a fresh process, timed wall-clock from
spawn to exit (so start-up, imports, planning, reading and writing all
count), with the process's peak RSS (/usr/bin/time's %M where present,
otherwise the child's ru_maxrss from wait4, which is the same figure):
  morsel: BIN DATA_DIR -c "COPY (...) TO 'OUT/agg.parquet'" (morsel
          registers each subdirectory of DATA_DIR as a table: main, ref);
  DuckDB: python3 -c '...' creating views over read_parquet('DATA_DIR/main/*.parquet')
          and ref, then the same COPY ... (FORMAT parquet);
  Polars: python3 -c '...' with scan_parquet, group_by().agg(mean) or
          join(how="left"), then sink_parquet (falling back to
          collect().write_parquet if the streaming sink refuses the plan).
Every engine uses its default thread count and memory settings. Within a
round the engines run one after the other, the first engine rotating from
round to round; the table shows the best of the rounds (and the peak RSS of
that best run). Before timing, the data files are read once so that all
engines start from the page cache.

Every output is checked: row count, and per column (by position) the count
of non-null values and their sum, which must agree across the engines (sums
within a relative 1e-6). A disagreement prints a loud failure and exits 1.
Outputs are written under a temporary directory and deleted after each run
(--keep keeps the last round's outputs and prints where).

Needs numpy, polars and duckdb (pip install numpy polars duckdb); the data
is written with pyarrow when it is installed, else with polars.
"""
import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time

try:
    import numpy as np
    import polars as pl
    import duckdb  # noqa: F401  (the DuckDB runs import it in their own process)
except ImportError as error:
    sys.exit(f"seed_workload.py needs numpy, polars and duckdb: {error}\n"
             f"install them with:  pip install numpy polars duckdb")

try:
    import pyarrow
    import pyarrow.parquet
except ImportError:
    pyarrow = None

SEED = 42
COLUMNS = [f"col_{i}" for i in range(5)]
ENGINES = ["morsel", "duckdb", "polars"]
TITLES = {"morsel": "morsel", "duckdb": "DuckDB", "polars": "Polars"}
JOBS = ["agg", "join"]
SQL = {
    "agg": "SELECT col_0, avg(col_1), avg(col_2), avg(col_3), avg(col_4) "
           "FROM main GROUP BY col_0",
    "join": "SELECT m.*, r.col_1 AS r_col_1, r.col_2 AS r_col_2, "
            "r.col_3 AS r_col_3, r.col_4 AS r_col_4 "
            "FROM main m LEFT JOIN ref r ON m.col_0 = r.col_0",
}
REL_TOL = 1e-6

DUCKDB_SCRIPT = """
import sys, duckdb
data, copy = sys.argv[1], sys.argv[2]
con = duckdb.connect()
for table in ("main", "ref"):
    files = f"{data}/{table}/*.parquet".replace("'", "''")
    con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{files}')")
con.execute(copy)
con.close()
"""

POLARS_SCRIPT = """
import sys, polars as pl
data, job, out = sys.argv[1], sys.argv[2], sys.argv[3]
main = pl.scan_parquet(f"{data}/main/*.parquet")
if job == "agg":
    plan = main.group_by("col_0").agg(
        [pl.col(f"col_{i}").mean() for i in range(1, 5)])
else:
    ref = pl.scan_parquet(f"{data}/ref/*.parquet").select(
        [pl.col("col_0")] + [pl.col(f"col_{i}").alias(f"r_col_{i}") for i in range(1, 5)])
    plan = main.join(ref, on="col_0", how="left")
try:
    plan.sink_parquet(out)
    print("polars: sink_parquet", file=sys.stderr)
except Exception as error:
    print(f"polars: sink_parquet refused ({type(error).__name__}: {error}); "
          "collect().write_parquet instead", file=sys.stderr)
    plan.collect().write_parquet(out)
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", help="data directory (generated if absent)")
    parser.add_argument("--morsel", default=default_morsel(), help="morsel binary")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows-per-file", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--keep", action="store_true",
                        help="keep the last round's output files")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds one run may take before it is killed")
    args = parser.parse_args()
    data = pathlib.Path(args.data).resolve()
    morsel = pathlib.Path(args.morsel).resolve()
    if not os.access(morsel, os.X_OK):
        sys.exit(f"no morsel binary at {morsel}: build it (cargo build --release) or pass --morsel")

    ensure_data(data, args.files, args.rows_per_file)
    warm_page_cache(data)
    describe(morsel, data, args)

    out_dir = pathlib.Path(tempfile.mkdtemp(prefix="seed_workload."))
    best = {(job, engine): None for job in JOBS for engine in ENGINES}
    failures = []
    try:
        for round_no in range(args.rounds):
            order = ENGINES[round_no % 3:] + ENGINES[:round_no % 3]
            last = round_no == args.rounds - 1
            for job in JOBS:
                sums = {}
                for engine in order:
                    out = out_dir / f"{job}-{engine}.parquet"
                    remove(out)
                    seconds, rss_kb, error = run_engine(engine, job, morsel, data, out,
                                                        args.timeout)
                    if error is None and not out.exists():
                        error = "exited 0 but wrote no output file"
                    if error is not None:
                        failures.append(f"{job} / {engine} (round {round_no + 1}): "
                                        f"{error.splitlines()[0]}")
                        print(f"round {round_no + 1} {job:4} {engine:6} FAILED: "
                              + error.rstrip().replace("\n", "\n    "), flush=True)
                        continue
                    sums[engine] = checksum(out)
                    print(f"round {round_no + 1} {job:4} {engine:6} {seconds:8.2f} s "
                          f"{rss_kb / 1024:8.0f} MB  {sums[engine][0]:,} rows", flush=True)
                    if best[(job, engine)] is None or seconds < best[(job, engine)][0]:
                        best[(job, engine)] = (seconds, rss_kb)
                    if not (args.keep and last):
                        remove(out)
                verify(job, sums)
    finally:
        if args.keep:
            print(f"\noutputs of the last round kept in {out_dir}")
        else:
            shutil.rmtree(out_dir, ignore_errors=True)

    print_table(best, args)
    if failures:
        print("\nFAILED RUNS:\n  " + "\n  ".join(failures), file=sys.stderr)
        sys.exit(1)


def default_morsel():
    target = os.environ.get("CARGO_TARGET_DIR")
    if target and (pathlib.Path(target) / "release" / "morsel").exists():
        return str(pathlib.Path(target) / "release" / "morsel")
    return str(pathlib.Path.home() / ".cache" / "morsel" / "target" / "release" / "morsel")


# ---------------------------------------------------------------- data


def ensure_data(data, files, rows):
    main_files = [data / "main" / f"part-{i}.parquet" for i in range(files)]
    ref_file = data / "ref" / "part-0.parquet"
    if all(parquet_rows(f) == rows for f in main_files + [ref_file]) \
            and sorted((data / "main").iterdir()) == sorted(main_files) \
            and list((data / "ref").iterdir()) == [ref_file]:
        return
    for table in ("main", "ref"):
        directory = data / table
        directory.mkdir(parents=True, exist_ok=True)
        strangers = [p for p in directory.iterdir()
                     if not (p.name.startswith("part-") and p.name.endswith(".parquet"))]
        if strangers:
            sys.exit(f"{directory} holds files this script did not write ({strangers[0].name}, ...);"
                     f" they would join the table, so pick another DATA_DIR or remove them")
        for old in directory.iterdir():
            old.unlink()

    print(f"generating {files} x {rows:,} rows in {data}/main and {rows:,} in {data}/ref "
          f"(numpy seed {SEED}, written with {'pyarrow' if pyarrow else 'polars'})", flush=True)
    started = time.perf_counter()
    rng = np.random.default_rng(SEED)
    keys = np.empty(files * rows, dtype=np.float64)
    for i, path in enumerate(main_files):
        columns = {name: rng.random(rows) for name in COLUMNS}
        keys[i * rows:(i + 1) * rows] = columns["col_0"]
        write_parquet(columns, path)
    # ref's keys: a sample of main's keys, so that the join finds partners
    # (see the docstring); at most as many as main has.
    ref_keys = rng.choice(keys, size=min(rows, keys.size), replace=False)
    del keys
    columns = {"col_0": ref_keys}
    columns.update({name: rng.random(ref_keys.size) for name in COLUMNS[1:]})
    write_parquet(columns, ref_file)
    print(f"generated in {time.perf_counter() - started:.1f} s", flush=True)


def parquet_rows(path):
    if not path.is_file():
        return None
    try:
        if pyarrow:
            return pyarrow.parquet.read_metadata(path).num_rows
        return pl.scan_parquet(path).select(pl.len()).collect().item()
    except Exception:
        return None


def write_parquet(columns, path):
    partial = path.with_name(path.name + ".partial")
    if pyarrow:
        pyarrow.parquet.write_table(pyarrow.table(columns), partial)
    else:
        pl.DataFrame(columns).write_parquet(partial)
    partial.rename(path)


def warm_page_cache(data):
    for path in sorted(data.glob("*/*.parquet")):
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass


def describe(morsel, data, args):
    version = subprocess.run([str(morsel), "--version"], capture_output=True, text=True)
    size = sum(p.stat().st_size for p in data.glob("*/*.parquet"))
    print(f"{version.stdout.strip() or morsel}, DuckDB {duckdb.__version__}, "
          f"Polars {pl.__version__}; {os.cpu_count()} cores; "
          f"data {size / 1e6:.0f} MB in {data}; best of {args.rounds} round(s)", flush=True)


# ---------------------------------------------------------------- runs


def sql_string(text):
    return "'" + str(text).replace("'", "''") + "'"


def command_for(engine, job, morsel, data, out):
    if engine == "morsel":
        return [str(morsel), str(data), "-c", f"COPY ({SQL[job]}) TO {sql_string(out)}"]
    if engine == "duckdb":
        copy = f"COPY ({SQL[job]}) TO {sql_string(out)} (FORMAT parquet)"
        return [sys.executable, "-c", DUCKDB_SCRIPT, str(data), copy]
    return [sys.executable, "-c", POLARS_SCRIPT, str(data), job, str(out)]


def run_engine(engine, job, morsel, data, out, timeout):
    """One whole process: (wall seconds, peak RSS in KiB, error or None)."""
    command = command_for(engine, job, morsel, data, out)
    time_file = None
    if os.access("/usr/bin/time", os.X_OK):
        time_file = out.with_suffix(".time")
        command = ["/usr/bin/time", "-f", "%e %M", "-o", str(time_file)] + command
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
        timer = threading.Timer(timeout, kill_group, [process.pid])
        timer.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        rss_kb = usage.ru_maxrss
        if time_file is not None:
            try:
                rss_kb = int(time_file.read_text().split()[-1])
            except (OSError, ValueError, IndexError):
                pass
            remove(time_file)
        if process.returncode != 0:
            log.seek(0)
            tail = log.read().decode(errors="replace")[-2000:]
            if seconds >= timeout:
                return seconds, rss_kb, f"killed after the {timeout:g} s timeout\n{tail}"
            return seconds, rss_kb, f"exit status {process.returncode}\n{tail}"
        if engine == "polars":
            log.seek(0)
            mode = log.read().decode(errors="replace")
            if "refused" in mode:
                print(f"  ({mode.strip().splitlines()[-1]})", flush=True)
    return seconds, rss_kb, None


def kill_group(pid):
    try:
        os.killpg(pid, 9)
    except ProcessLookupError:
        pass


def remove(path):
    try:
        path.unlink()
    except FileNotFoundError:
        pass


# ---------------------------------------------------------------- checks


def checksum(path):
    """(rows, [(non-null count, sum) per column by position])."""
    frame = pl.scan_parquet(path)
    names = frame.collect_schema().names()
    exprs = [pl.len().alias("__rows")]
    for i, name in enumerate(names):
        exprs.append(pl.col(name).count().alias(f"__n{i}"))
        exprs.append(pl.col(name).cast(pl.Float64).sum().alias(f"__s{i}"))
    row = frame.select(exprs).collect().row(0)
    return row[0], [(row[1 + 2 * i], row[2 + 2 * i]) for i in range(len(names))]


def verify(job, sums):
    if len(sums) < 2:
        return
    engines = list(sums)
    reference = engines[0]
    rows, columns = sums[reference]
    problems = []
    for engine in engines[1:]:
        other_rows, other_columns = sums[engine]
        if other_rows != rows:
            problems.append(f"{engine} wrote {other_rows:,} rows, {reference} {rows:,}")
        if len(other_columns) != len(columns):
            problems.append(f"{engine} wrote {len(other_columns)} columns, "
                            f"{reference} {len(columns)}")
            continue
        for i, ((n, s), (other_n, other_s)) in enumerate(zip(columns, other_columns)):
            if n != other_n:
                problems.append(f"column {i}: {engine} has {other_n:,} non-null values, "
                                f"{reference} {n:,}")
            if abs(s - other_s) > REL_TOL * max(abs(s), abs(other_s), 1e-300):
                problems.append(f"column {i}: {engine} sums to {other_s!r}, "
                                f"{reference} to {s!r}")
    if problems:
        bar = "!" * 72
        print(f"\n{bar}\nVERIFICATION FAILED: the engines disagree on the {job} output\n  "
              + "\n  ".join(problems) + f"\n{bar}", file=sys.stderr)
        sys.exit(1)


# ---------------------------------------------------------------- table


def print_table(best, args):
    total_rows = args.files * args.rows_per_file
    print(f"\nSeed workload, {args.files} x {args.rows_per_file:,} rows "
          f"({total_rows:,}) joined with {args.rows_per_file:,}: seconds, best of "
          f"{args.rounds}, whole process (peak RSS of that run)\n")
    header = ["job"] + [TITLES[e] for e in ENGINES] + ["morsel / DuckDB", "morsel / Polars"]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for job in JOBS:
        cells = [job]
        for engine in ENGINES:
            result = best[(job, engine)]
            cells.append("failed" if result is None
                         else f"{result[0]:.2f} s ({result[1] / 1024:.0f} MB)")
        morsel = best[(job, "morsel")]
        for peer in ("duckdb", "polars"):
            other = best[(job, peer)]
            cells.append("—" if morsel is None or other is None
                         else f"{morsel[0] / other[0]:.2f}×")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
