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
