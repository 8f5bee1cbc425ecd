"""DuckDB as the fuzzer's oracle: one JSON request a line on stdin, one
JSON answer a line on stdout.

Request: {"sql": "..."}. Answer: {"rows": [[cell, ...], ...]} or
{"error": "..."}. A cell is null, true/false, or {"i": text} for an integer,
{"f": text} for any other number (NaN and infinities included, which JSON
cannot spell) and {"s": text} for everything else (dates as YYYY-MM-DD).
"""

import datetime
import decimal
import json
import sys

import duckdb


def cell(value):
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {"i": str(value)}
    if isinstance(value, (float, decimal.Decimal)):
        return {"f": repr(float(value))}
    if isinstance(value, datetime.date):
        return {"s": value.isoformat()}
    return {"s": str(value)}


def main():
    con = duckdb.connect()
    con.execute("SET threads = 1")
    for line in sys.stdin:
        request = json.loads(line)
        try:
            rows = con.execute(request["sql"]).fetchall()
            answer = {"rows": [[cell(v) for v in row] for row in rows]}
        except Exception as e:  # every DuckDB error is an answer
            answer = {"error": str(e).splitlines()[0]}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
