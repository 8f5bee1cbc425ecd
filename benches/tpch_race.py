"""Races morsel builds against DuckDB on the same TPC-H files, alternating.

Usage: python3 benches/tpch_race.py DATA_DIR MORSEL [MORSEL ...] [--rounds 3]
                                    [--queries 1-22] [--memory-limit SIZE]
                                    [--answers DIR] [--cluster LABEL=URL ...]

Each round runs the queries once in every contestant, one after the other:
each morsel binary as one `morsel bench tpch --iterations 1 --verify`
process (so every answer is checked: against the answers built in for
SF 0.01 and 1, or those in `--answers DIR`, e.g. computed by
`benches/duckdb_tpch.py DATA --answers DIR`), then DuckDB on a fresh connection
over `read_parquet` views of the same files. A noisy machine slows all
contestants of a round alike; the best of the rounds per query is what the
table shows, with each morsel's ratio to DuckDB. Name a binary
`LABEL=PATH` to label its column (e.g. `before=/tmp/morsel-base`), and
give a labelled one `--cluster LABEL=URL` to run its queries on a cluster
(`local:2` starts one for the run; its start is not timed, and its peak
RSS is the client's alone).
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import duckdb_tpch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("morsels", nargs="+")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", default="1-22")
    parser.add_argument("--memory-limit")
    parser.add_argument("--answers")
    parser.add_argument("--cluster", action="append", default=[])
    args = parser.parse_args()
    clusters = dict(c.split("=", 1) for c in args.cluster)
    queries = parse_queries(args.queries)
    contestants = [label_and_path(m) for m in args.morsels]
    best = {label: {} for label, _ in contestants}
    best["duckdb"] = {}
    peak_rss = {label: 0 for label, _ in contestants}
    for _ in range(args.rounds):
        for label, path in contestants:
            seconds_by_query, rss = run_morsel(path, args, queries, clusters.get(label))
            peak_rss[label] = max(peak_rss[label], rss)
            for query, seconds in seconds_by_query.items():
                keep_best(best[label], query, seconds)
        for query, seconds in run_duckdb(args, queries).items():
            keep_best(best["duckdb"], query, seconds)
    print_table(best, queries)
    for label, rss in peak_rss.items():
        print(f"{label}: peak RSS {rss / 2**20:.0f} MiB")


def parse_queries(text):
    queries = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        queries += range(int(first), int(last or first) + 1)
    return queries


def label_and_path(text):
    label, _, path = text.rpartition("=")
    return (label or pathlib.Path(path).name, path)


def keep_best(table, query, seconds):
    table[query] = min(seconds, table.get(query, float("inf")))


def run_morsel(path, args, queries, cluster):
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        command = [path, "bench", "tpch", "--data", args.data, "--iterations", "1",
                   "--verify", *([args.answers] if args.answers else []),
                   "--queries", ",".join(map(str, queries)), "--json", report.name]
        if args.memory_limit:
            command += ["--memory-limit", args.memory_limit]
        if cluster:
            command += ["--cluster", cluster]
        run = subprocess.run(command, capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"{path} failed:\n{run.stdout}{run.stderr}")
        results = json.load(open(report.name))
    return {r["query"]: r["min_s"] for r in results["queries"]}, results["peak_rss_bytes"]


def run_duckdb(args, queries):
    con, sf = duckdb_tpch.connect(args.data, args.memory_limit)
    times = {}
    for n in queries:
        sql = duckdb_tpch.query(n, sf)
        started = time.perf_counter()
        con.execute(sql).fetchall()
        times[n] = time.perf_counter() - started
    con.close()
    return times


def print_table(best, queries):
    labels = list(best)
    morsels = labels[:-1]
    header = ["query"] + labels + [f"{m} / duckdb" for m in morsels]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for n in queries + ["total"]:
        if n == "total":
            row = {label: sum(best[label].values()) for label in labels}
        else:
            row = {label: best[label][n] for label in labels}
        cells = [f"Q{n}" if n != "total" else "**total**"]
        cells += [f"{row[label]:.3f}" for label in labels]
        cells += [f"{row[m] / row['duckdb']:.2f}" for m in morsels]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
