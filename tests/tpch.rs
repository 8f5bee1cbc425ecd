//! TPC-H end to end at SF 0.01: generate, run all 22 queries, verify.

use std::path::Path;

use tempfile::TempDir;

mod common;
use common::morsel;

fn generate(dir: &Path, format: &str) {
    let (code, _, err) = morsel(&[
        "tpch",
        "gen",
        "--sf",
        "0.01",
        "--out",
        dir.to_str().unwrap(),
        "--format",
        format,
    ]);
    assert_eq!((code, err.as_str()), (0, ""));
}

#[test]
fn sf001_parquet_verifies_all_22_queries() {
    let data = TempDir::new().unwrap();
    generate(data.path(), "parquet");
    for table in [
        "region", "nation", "supplier", "part", "partsupp", "customer", "orders", "lineitem",
    ] {
        assert!(
            data.path().join(table).join("part-0.parquet").is_file(),
            "{table}"
        );
    }
    let json = data.path().join("results.json");
    let (code, out, err) = morsel(&[
        "bench",
        "tpch",
        "--data",
        data.path().to_str().unwrap(),
        "--iterations",
        "1",
        "--verify",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(out.matches("verified").count(), 22, "{out}");
    assert!(out.contains("tpch: 22 passed, 0 failed"), "{out}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(report["scale_factor"], 0.01);
    let queries = report["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 22);
    assert_eq!(queries[0]["rows"], 4);
    assert!(
        queries
            .iter()
            .all(|q| q["status"] == "verified" && q["min_s"].as_f64().unwrap() > 0.0)
    );
    assert!(report["peak_rss_bytes"].as_u64().unwrap() > 0);

    // Q15 reads its CTE's lineitem once, the `max` of the subquery as a
    // window (the scalar_aggregate_as_window rule); under a memory limit,
    // where that window's buffer could not spill, twice.
    let q15 = std::fs::read_to_string("queries/tpch/q15.sql").unwrap();
    let explain = format!("EXPLAIN {q15}");
    let data = data.path().to_str().unwrap();
    for (limit, scans, windows) in [(None, 1, 1), (Some("100MB"), 2, 0)] {
        let mut args = vec![data, "-q", "--format", "csv", "-c", &explain];
        args.extend(limit.iter().flat_map(|limit| ["--memory-limit", *limit]));
        let (code, plan, err) = morsel(&args);
        assert_eq!(code, 0, "{err}");
        let logical = plan.split("physical_plan").next().unwrap();
        assert_eq!(
            logical.matches("TableScan: lineitem").count(),
            scans,
            "{plan}"
        );
        assert_eq!(logical.matches("WindowAggr").count(), windows, "{plan}");
    }
}

#[test]
fn csv_tables_and_single_query_files_give_the_reference_answers() {
    let data = TempDir::new().unwrap();
    generate(data.path(), "csv");
    let dir = data.path().to_str().unwrap();
    let (code, out, err) = morsel(&[
        "bench",
        "tpch",
        "--data",
        dir,
        "--queries",
        "1,3,6,13,22",
        "--iterations",
        "1",
        "--verify",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(out.matches("verified").count(), 5, "{out}");

    // One query file prints exactly that query's result.
    let (code, out, _) = morsel(&[dir, "-f", "queries/tpch/q04.sql", "--format", "csv"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "o_orderpriority,order_count\n1-URGENT,93\n2-HIGH,103\n3-MEDIUM,109\n4-NOT SPECIFIED,102\n5-LOW,128\n"
    );
}

#[test]
fn a_wrong_answer_fails_with_the_first_differing_row() {
    let data = TempDir::new().unwrap();
    generate(data.path(), "parquet");
    let answers = TempDir::new().unwrap();
    let q06 = std::fs::read_to_string("testdata/tpch/answers/sf0.01/q06.csv").unwrap();
    let (header, value) = q06.trim_end().split_once('\n').unwrap();
    let wrong: f64 = value.parse::<f64>().unwrap() + 100.0;
    std::fs::write(
        answers.path().join("q06.csv"),
        format!("{header}\n{wrong}\n"),
    )
    .unwrap();
    let (code, out, _) = morsel(&[
        "bench",
        "tpch",
        "--data",
        data.path().to_str().unwrap(),
        "--queries",
        "6,7",
        "--iterations",
        "1",
        "--verify",
        answers.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("Q06: row 1 differs: expected {wrong}, got ")),
        "{out}"
    );
    // Q07 has no answer in that folder: reported, and the run went on.
    assert!(out.contains("Q07: ") && out.contains("q07.csv"), "{out}");
    assert!(out.contains("tpch: 0 passed, 2 failed"), "{out}");
}

/// SF 0.01 with every table but NATION and REGION cut into `files` files.
fn files_a_table(files: &str) -> TempDir {
    let data = TempDir::new().unwrap();
    let (code, _, err) = morsel(&[
        "tpch",
        "gen",
        "--sf",
        "0.01",
        "--out",
        data.path().to_str().unwrap(),
        "--files-per-table",
        files,
    ]);
    assert_eq!((code, err.as_str()), (0, ""));
    data
}

/// `sql` over the tables of `dir` on two threads, as CSV.
fn on_two_threads(dir: &Path, sql: &str) -> String {
    let (code, out, err) = morsel(&[
        dir.to_str().unwrap(),
        "--threads",
        "2",
        "--format",
        "csv",
        "-c",
        sql,
    ]);
    assert_eq!(code, 0, "{err}");
    out
}

const JOINED: &str = "SELECT count(*) AS n, sum(l_quantity) AS q FROM orders JOIN lineitem \
                      ON o_orderkey = l_orderkey";
/// `JOINED` and `GROUPED` at SF 0.01, as DuckDB answers them.
const SF001_ANSWERS: &str = "n,q\n60175,1536127.00\nn,q\n15000,305.00\n";
const GROUPED: &str = "SELECT count(*) AS n, max(q) AS q FROM (SELECT l_orderkey, \
                       sum(l_quantity) AS q FROM lineitem GROUP BY l_orderkey) g";

/// The answers of `JOINED` and `GROUPED` over the tables of `dir`, checked
/// to equal the same read through globs (which the catalog never declares
/// key ranges for), and the plan of `JOINED`.
fn answers_and_plan(dir: &Path) -> (String, String) {
    let glob = |table: &str| format!("'{}/{table}/*.parquet'", dir.display());
    let through_globs = |sql: &str| {
        sql.replace("orders", &glob("orders"))
            .replace("FROM lineitem", &format!("FROM {}", glob("lineitem")))
            .replace("JOIN lineitem", &format!("JOIN {}", glob("lineitem")))
    };
    let answers = |joined: &str, grouped: &str| {
        format!(
            "{}{}",
            on_two_threads(dir, joined),
            on_two_threads(dir, grouped)
        )
    };
    let direct = answers(JOINED, GROUPED);
    let reference = answers(&through_globs(JOINED), &through_globs(GROUPED));
    assert_eq!(direct, reference);
    (direct, on_two_threads(dir, &format!("EXPLAIN {JOINED}")))
}

#[test]
fn files_cut_at_the_same_keys_are_joined_file_by_file() {
    let data = files_a_table("2");
    let (direct, plan) = answers_and_plan(data.path());
    assert!(plan.contains("Range([o_orderkey"), "{plan}");
    assert!(plan.contains("Range([l_orderkey"), "{plan}");
    assert!(!plan.contains("RepartitionExec"), "{plan}");
    assert_eq!(direct, SF001_ANSWERS);
    // Four threads, two files: a partition per file would idle two cores.
    let (code, plan, _) = morsel(&[
        data.path().to_str().unwrap(),
        "--threads",
        "4",
        "-c",
        &format!("EXPLAIN {JOINED}"),
    ]);
    assert_eq!(code, 0);
    assert!(!plan.contains("output_partitioning=Range"), "{plan}");

    // Four files on two threads: two runs of two consecutive files.
    let four = files_a_table("4");
    let (direct, plan) = answers_and_plan(four.path());
    assert!(plan.contains("Range([l_orderkey"), "{plan}");
    assert!(plan.contains("file_groups={2 groups"), "{plan}");
    assert!(!plan.contains("RepartitionExec"), "{plan}");
    assert_eq!(direct, SF001_ANSWERS);
}

#[test]
fn files_out_of_key_order_or_overlapping_are_read_without_ranges() {
    // Path order is not key order: the second range comes first.
    let shuffled = files_a_table("2");
    let orders = shuffled.path().join("orders");
    std::fs::rename(orders.join("part-0.parquet"), orders.join("part-9.parquet")).unwrap();
    let (direct, plan) = answers_and_plan(shuffled.path());
    assert!(!plan.contains("Range([o_orderkey"), "{plan}");
    assert_eq!(direct, SF001_ANSWERS);

    // A copy of the first file overlaps it.
    let overlapping = files_a_table("2");
    let lineitem = overlapping.path().join("lineitem");
    std::fs::copy(
        lineitem.join("part-0.parquet"),
        lineitem.join("part-0b.parquet"),
    )
    .unwrap();
    let (direct, plan) = answers_and_plan(overlapping.path());
    assert!(!plan.contains("Range([l_orderkey"), "{plan}");
    assert_ne!(direct, SF001_ANSWERS);
}

#[test]
fn files_that_do_not_say_they_are_sorted_are_read_without_ranges() {
    // Disjoint key ranges in path order, but each file's rows shuffled,
    // so nothing says the file is sorted.
    let data = files_a_table("2");
    let dir = data.path().to_str().unwrap();
    let (code, _, err) = morsel(&[
        dir,
        "-c",
        &format!(
            "COPY (SELECT * FROM lineitem WHERE l_orderkey < 30000 ORDER BY random()) TO '{dir}/l2/part-0.parquet'"
        ),
        "-c",
        &format!(
            "COPY (SELECT * FROM lineitem WHERE l_orderkey >= 30000 ORDER BY random()) TO '{dir}/l2/part-1.parquet'"
        ),
    ]);
    assert_eq!(code, 0, "{err}");
    let plan = on_two_threads(
        data.path(),
        "EXPLAIN SELECT count(*) FROM orders JOIN l2 ON o_orderkey = l_orderkey",
    );
    assert!(!plan.contains("Range([l_orderkey"), "{plan}");
}

#[test]
fn a_file_added_after_the_table_opened_ends_its_ranges() {
    let data = files_a_table("2");
    let dir = data.path().to_str().unwrap();
    // One session: the join, a COPY of 40 more line items into the
    // table's directory, the join again; then a fresh session's answer.
    let (code, out, err) = morsel(&[
        dir,
        "--threads",
        "2",
        "--format",
        "csv",
        "-c",
        JOINED,
        "-c",
        &format!(
            "COPY (SELECT * FROM lineitem ORDER BY l_orderkey LIMIT 40) TO '{dir}/lineitem/part-5.parquet'"
        ),
        "-c",
        JOINED,
    ]);
    assert_eq!(code, 0, "{err}");
    let fresh = on_two_threads(data.path(), JOINED);
    assert!(
        out.starts_with("n,q\n60175,1536127.00\n") && out.ends_with(&fresh),
        "{out}"
    );
    assert!(fresh.starts_with("n,q\n60215,"), "{fresh}");
}
