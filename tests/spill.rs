//! Joins under a memory limit spill instead of failing, and answer exactly
//! what they answer with memory to spare.

mod common;
use common::morsel;

/// Two tables of 300,000 rows whose keys overlap in part, with NULL keys.
const SETUP: &str = "
CREATE TABLE a AS SELECT CASE WHEN value % 50 = 0 THEN NULL ELSE value END AS k, value % 97 AS v
    FROM range(300000);
CREATE TABLE b AS SELECT CASE WHEN value % 70 = 0 THEN NULL ELSE value * 2 END AS k, value % 89 AS w
    FROM range(300000);
";

/// One query per join type; each sums over its result so outputs are small.
/// `NOT IN` (a null-aware anti join) three times: its answer turns on whether
/// the subquery holds a NULL or nothing at all.
const JOINS: [(&str, &str); 10] = [
    (
        "inner",
        "SELECT count(*), sum(v), sum(w) FROM a JOIN b ON a.k = b.k",
    ),
    (
        "left",
        "SELECT count(*), sum(v), sum(w), count(b.k) FROM a LEFT JOIN b ON a.k = b.k",
    ),
    (
        "right",
        "SELECT count(*), sum(v), sum(w), count(a.k) FROM a RIGHT JOIN b ON a.k = b.k",
    ),
    (
        "full",
        "SELECT count(*), count(a.k), count(b.k), sum(v), sum(w) FROM a FULL JOIN b ON a.k = b.k",
    ),
    (
        "semi",
        "SELECT count(*), sum(v) FROM a WHERE EXISTS (SELECT 1 FROM b WHERE b.k = a.k)",
    ),
    (
        "anti",
        "SELECT count(*), sum(v) FROM a WHERE NOT EXISTS (SELECT 1 FROM b WHERE b.k = a.k)",
    ),
    (
        "filtered",
        "SELECT count(*), sum(v) FROM a JOIN b ON a.k = b.k AND a.v < b.w",
    ),
    (
        "not in",
        "SELECT count(*), sum(v), count(k) FROM a WHERE k NOT IN (SELECT k FROM b WHERE k IS NOT NULL)",
    ),
    (
        "not in, subquery with NULLs",
        "SELECT count(*), sum(v) FROM a WHERE k NOT IN (SELECT k FROM b WHERE w < 50)",
    ),
    (
        "not in, empty subquery",
        "SELECT count(*), sum(v), count(k) FROM a WHERE k NOT IN (SELECT k FROM b WHERE w > 1000)",
    ),
];

fn run_on(threads: &str, sql: &str, limit: Option<&str>) -> (String, String) {
    let script = format!("{SETUP}\n{sql};");
    let mut args = vec!["--format", "csv", "--threads", threads, "-c", &script];
    if let Some(limit) = limit {
        args.extend(["--memory-limit", limit]);
    }
    let (code, out, err) = morsel(&args);
    assert_eq!(code, 0, "{sql} (limit {limit:?}): {err}");
    (out, err)
}

#[test]
fn every_join_type_spills_and_gives_the_unlimited_answer() {
    for (name, sql) in JOINS {
        let (expected, _) = run_on("2", sql, None);
        let (limited, _) = run_on("2", sql, Some("4MB"));
        assert_eq!(limited, expected, "{name}");
    }
}

#[test]
fn the_joins_really_spill_under_a_small_limit() {
    for (name, sql) in [JOINS[0], JOINS[7]] {
        assert_spills("2", name, sql);
    }
}

/// On one thread DataFusion collects every join's build side whole, which
/// cannot spill; morsel runs those joins as partitioned ones that can.
#[test]
fn on_one_thread_the_joins_spill_too() {
    for (name, sql) in [JOINS[0], JOINS[2], JOINS[7]] {
        let (expected, _) = run_on("1", sql, None);
        let (limited, _) = run_on("1", sql, Some("4MB"));
        assert_eq!(limited, expected, "{name}");
        assert_spills("1", name, sql);
    }
}

fn assert_spills(threads: &str, name: &str, sql: &str) {
    let (out, _) = run_on(threads, &format!("EXPLAIN ANALYZE {sql}"), Some("4MB"));
    let join = out
        .lines()
        .find(|l| l.contains("SpillingHashJoinExec"))
        .unwrap_or_else(|| panic!("{name}: no spilling join in: {out}"));
    let spills: u64 = join
        .split("spill_count=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{name}: no spill count in: {join}"));
    assert!(spills > 0, "{name}: {join}");
    assert!(join.contains("output_rows="), "{join}");
}

/// Runs `script` at 4 MB with spill files under a directory of its own,
/// and checks that none are left behind, whatever the outcome.
fn run_spilling(script: &str, extra: &[&str]) -> (i32, String) {
    let temp = tempfile::TempDir::new().unwrap();
    let dir = temp.path().to_str().unwrap();
    let mut args = vec!["--memory-limit", "4MB", "--temp-dir", dir, "-c", script];
    args.extend(extra);
    let (code, _, err) = morsel(&args);
    let left: Vec<_> = std::fs::read_dir(temp.path()).unwrap().collect();
    assert!(left.is_empty(), "spill files left behind: {left:?}");
    (code, err)
}

#[test]
fn timing_reports_peak_memory_and_spills_and_spill_files_go_away() {
    let (code, err) = run_spilling(&format!("{SETUP}\n\\timing on\n{};", JOINS[1].1), &[]);
    assert_eq!(code, 0, "{err}");
    let line = err.lines().last().unwrap_or_default();
    assert!(
        line.contains("peak memory ") && line.contains("spilled "),
        "{err}"
    );
}

#[test]
fn a_full_spill_directory_is_a_clear_error() {
    let script = format!("{SETUP}\n{};", JOINS[0].1);
    let (code, err) = run_spilling(&script, &["--max-temp-size", "64KB"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("outgrew --max-temp-size (64.0 KB)"), "{err}");
}

#[test]
fn an_operator_that_cannot_spill_fails_with_one_clear_line() {
    // A cross join collects one whole side in memory: here two columns of
    // 300,000 rows, 4.8 MB, where the pool has 3 MB.
    let script = format!("{SETUP}\nSELECT max(a.k + a.v + b.k + b.w) FROM a CROSS JOIN b;");
    let (code, err) = run_spilling(&script, &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("out of memory: CrossJoinExec needed ")
            && err.contains("three quarters of --memory-limit) is full"),
        "{err}"
    );
}

/// The node of `operator` in a plan graph written as DOT.
fn dot_node<'a>(dot: &'a str, operator: &str) -> &'a str {
    dot.lines()
        .find(|l| l.contains(&format!("label=\"{operator}")))
        .unwrap_or_else(|| panic!("no {operator} in: {dot}"))
}

/// A node's compute time in milliseconds, from its `N rows · 12.3 ms · …` line.
fn compute_ms(node: &str) -> f64 {
    let figures = node
        .split("\\n")
        .find(|line| line.contains(" rows · "))
        .unwrap_or_else(|| panic!("no figures in: {node}"));
    let time = figures.split(" · ").nth(1).unwrap_or_default();
    match time.split_once(' ') {
        Some((ms, "ms")) => ms.parse().unwrap(),
        Some((s, "s")) => s.parse::<f64>().unwrap() * 1000.0,
        _ => panic!("no compute time in: {node}"),
    }
}

/// The spilling join is the hottest operator of a join query: its picture
/// shows the time it spent (cutting into buckets and joining them) and the
/// memory it held, not the 2 ns it once reported; DataFusion's own join
/// shows its build side's memory too.
#[test]
fn plan_pictures_show_what_joins_cost() {
    let dir = tempfile::TempDir::new().unwrap();
    let dot = dir.path().join("plan.dot");
    let dot_arg = dot.to_str().unwrap();
    let script = format!("{SETUP}\n{};", JOINS[0].1);
    for (limit, join) in [
        (Some("4MB"), "SpillingHashJoinExec"),
        (None, "HashJoinExec"),
    ] {
        let mut args = vec!["--threads", "2", "--plan", dot_arg, "-c", &script];
        if let Some(limit) = limit {
            args.extend(["--memory-limit", limit]);
        }
        let (code, _, err) = morsel(&args);
        assert_eq!(code, 0, "{err}");
        let graph = std::fs::read_to_string(&dot).unwrap();
        let node = dot_node(&graph, join);
        assert!(node.contains("peak "), "{join}: {node}");
        assert!(compute_ms(node) >= 1.0, "{join}: {node}");
    }
}
