"""Times the same 22 TPC-H queries in DuckDB, on the files `morsel tpch gen` wrote.

Usage: python3 benches/duckdb_tpch.py DATA_DIR [--iterations 3] [--memory-limit 1GB] [--threads N]
                                     [--answers DIR]

Reads queries/tpch/qNN.sql (Q11's fraction adjusted to the data's scale
factor exactly as `morsel bench tpch` does) and prints min and median seconds
per query and their totals, in the same layout as morsel's table. With
--answers DIR it also writes each result as DIR/qNN.csv in the layout of the
reference answers (`|`-separated, a header row), so that
`morsel bench tpch --verify DIR` can check a scale factor morsel ships no
answers for against an independent engine.
"""
import argparse
import pathlib
import statistics
import time

import duckdb

TABLES = ["region", "nation", "supplier", "part", "partsupp", "customer", "orders", "lineitem"]
ROOT = pathlib.Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--memory-limit")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--answers", type=pathlib.Path)
    args = parser.parse_args()
    if args.answers:
        args.answers.mkdir(parents=True, exist_ok=True)

    con, sf = connect(args.data, args.memory_limit, args.threads)

    total_min = total_median = 0.0
    print(f"DuckDB {duckdb.__version__} · TPC-H SF {sf:g} · {args.iterations} iteration(s)")
    print(f"{'query':<6} {'rows':>7} {'min (s)':>9} {'median (s)':>11}")
    for n in range(1, 23):
        sql = query(n, sf)
        times = []
        for _ in range(args.iterations):
            started = time.perf_counter()
            result = con.execute(sql)
            rows = result.fetchall()
            times.append(time.perf_counter() - started)
        if args.answers:
            header = [column[0] for column in result.description]
            write_answer(args.answers / f"q{n:02}.csv", header, rows)
        total_min += min(times)
        total_median += statistics.median(times)
        print(f"Q{n:02}    {len(rows):>7} {min(times):>9.3f} {statistics.median(times):>11.3f}")
    print(f"total  {'':>7} {total_min:>9.3f} {total_median:>11.3f}")


def connect(data, memory_limit=None, threads=None):
    """A DuckDB connection with a view over each table's files, and the
    data's scale factor (SUPPLIER rows / 10,000)."""
    con = duckdb.connect()
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {threads}")
    for table in TABLES:
        files = str(pathlib.Path(data) / table / "*.parquet")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{files}')")
    sf = con.execute("SELECT count(*) FROM supplier").fetchone()[0] / 10_000
    return con, sf


def query(n, sf):
    """Query n's SQL, Q11's fraction set for scale factor sf."""
    sql = (ROOT / "queries" / "tpch" / f"q{n:02}.sql").read_text()
    if n == 11:
        sql = sql.replace("0.0001000000", f"{0.0001 / sf:.10f}")
    return sql


def write_answer(path, header, rows):
    lines = ["|".join(header)]
    lines += ["|".join("" if value is None else str(value) for value in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
