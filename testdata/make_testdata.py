"""Writes the small data sets under testdata/ that the README and tests use.

Run from the repository root: python3 testdata/make_testdata.py
Needs pyarrow. The output is committed; rerun only to change the data.
"""
import gzip
import os
import random
import struct

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(ROOT, "data")
BAD = os.path.join(ROOT, "bad")
USERS = ["alice", "bob", "carol", "dave", "erin"]
KINDS = ["click", "view", "purchase"]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def events():
    """Hive-partitioned Parquet: events/year=Y/month=M/part-0.parquet, 60 rows."""
    rng = random.Random(7)
    next_id = 1
    for year, month, n in [(2023, 12, 15), (2024, 1, 20), (2024, 2, 25)]:
        rows = {"id": [], "user_name": [], "kind": [], "amount": []}
        for _ in range(n):
            rows["id"].append(next_id)
            rows["user_name"].append(rng.choice(USERS))
            rows["kind"].append(rng.choice(KINDS))
            rows["amount"].append(round(rng.uniform(1, 100), 2))
            next_id += 1
        table = pa.table(rows, schema=pa.schema([
            ("id", pa.int64()), ("user_name", pa.string()),
            ("kind", pa.string()), ("amount", pa.float64())]))
        out = os.path.join(DATA, "events", f"year={year}", f"month={month:02d}")
        os.makedirs(out, exist_ok=True)
        pq.write_table(table, os.path.join(out, "part-0.parquet"))


def logs():
    """Plain (not hive) directories of CSV: logs/2024-01-0D/app.csv."""
    rng = random.Random(11)
    for day in (1, 2, 3):
        lines = ["level,message,ms"]
        for i in range(10):
            level = rng.choice(["INFO", "WARN", "ERROR"])
            lines.append(f"{level},request {day}-{i},{rng.randint(1, 500)}")
        write(os.path.join(DATA, "logs", f"2024-01-0{day}", "app.csv"), "\n".join(lines) + "\n")


def singles():
    """One-file tables: a CSV with quotes and nulls, a TSV, a gzipped CSV."""
    write(os.path.join(DATA, "cities.csv"),
          "name,country,population\n"
          "Amsterdam,NL,921402\n"
          "\"Washington, D.C.\",US,689545\n"
          "Zürich,CH,\n"
          "Lagos,NG,15388000\n")
    write(os.path.join(DATA, "scores.tsv"), "player\tscore\nann\t31\nben\t27\ncai\t45\n")
    with gzip.open(os.path.join(DATA, "countries.csv.gz"), "wt") as f:
        f.write("code,name\nNL,Netherlands\nUS,United States\nCH,Switzerland\nNG,Nigeria\n")


def sales():
    """Hive-partitioned CSV with a string partition key: sales/region=R/part-0.csv."""
    for region, rows in [("eu", [(1, 10.5), (2, 20.0)]), ("us", [(3, 7.25), (4, 1.0), (5, 3.5)])]:
        text = "order_id,total\n" + "".join(f"{o},{t}\n" for o, t in rows)
        write(os.path.join(DATA, "sales", f"region={region}", "part-0.csv"), text)


def csv_options():
    """CSV that needs options: other delimiter and quote, empty fields, NA for null, no header, zstd."""
    write(os.path.join(ROOT, "csv", "semi.csv"), "1;'a;b';\n2;'plain';3.5\n3;;0.25\n")
    write(os.path.join(ROOT, "csv", "na.csv"), "id,label,score\n1,a,NA\n2,NA,3.5\n3,c,0.25\n")
    import duckdb
    duckdb.sql("COPY (SELECT range AS n, 'row ' || range AS label FROM range(5)) "
               f"TO '{os.path.join(ROOT, 'csv', 'numbers.csv.zst')}' (HEADER, COMPRESSION zstd)")


def bad():
    """Broken inputs: each must give a one-line error naming the file."""
    write(os.path.join(BAD, "malformed.csv"), "a,b,c\n1,2,3\n4,5,6\n7,8\n10,11,12\n")
    write(os.path.join(BAD, "badvalue.csv"), "a,b\n1,2\n3,4\nfive,6\n")
    good = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "v": pa.array([0.5, 1.5, 2.5])})
    os.makedirs(BAD, exist_ok=True)
    pq.write_table(good, os.path.join(BAD, "truncated.parquet"))
    with open(os.path.join(BAD, "truncated.parquet"), "r+b") as f:
        f.truncate(40)
    # A partitioned table whose 2023 partition holds a corrupt file: a query
    # that prunes year=2023 must never open it.
    for year in (2023, 2024):
        out = os.path.join(BAD, "pruned", f"year={year}")
        os.makedirs(out, exist_ok=True)
        pq.write_table(good, os.path.join(out, "part-0.parquet"))
    write(os.path.join(BAD, "pruned", "year=2023", "part-0.parquet"), "this is not parquet\n" * 8)
    # CSV files whose columns differ: a clear error naming the odd file.
    write(os.path.join(BAD, "mixed_csv", "x.csv"), "a,b\n1,2\n")
    write(os.path.join(BAD, "mixed_csv", "y.csv"), "a,c\n3,4\n")
    # Two files whose columns differ: a merged schema for Parquet.
    for name, table in [("a.parquet", pa.table({"id": pa.array([1], pa.int64())})),
                        ("b.parquet", pa.table({"id": pa.array([2], pa.int64()),
                                                "extra": pa.array(["x"])}))]:
        out = os.path.join(BAD, "evolving")
        os.makedirs(out, exist_ok=True)
        pq.write_table(table, os.path.join(out, name))


def signed_nans():
    """Floats whose NaNs carry either sign, as numpy's `inf - inf` or `0 / 0`
    writes them: every query must see one NaN, above every number."""
    negative_nan = struct.unpack("<d", struct.pack("<Q", 0xFFF8000000000000))[0]
    values = [1.5, negative_nan, float("nan"), float("-inf"), None, negative_nan]
    table = pa.table({"id": pa.array(range(1, len(values) + 1), pa.int64()),
                      "f": pa.array(values, pa.float64())})
    os.makedirs(os.path.join(ROOT, "nan"), exist_ok=True)
    pq.write_table(table, os.path.join(ROOT, "nan", "signed.parquet"))
    write(os.path.join(ROOT, "nan", "signed.csv"), "id,f\n1,1.5\n2,-nan\n3,NaN\n4,-inf\n5,\n6,-NaN\n")


if __name__ == "__main__":
    events()
    logs()
    singles()
    sales()
    csv_options()
    bad()
    signed_nans()
