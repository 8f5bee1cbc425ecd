//! The 22 TPC-H queries and the reference answers morsel ships.
//!
//! Queries live in `queries/tpch/qNN.sql` so a user can run one with
//! `morsel DIR -f queries/tpch/q05.sql`; they are compiled in here so
//! `morsel bench tpch` works from any directory.

/// Query texts, Q1 first, with the specification's validation parameters.
const QUERIES: [&str; 22] = [
    include_str!("../../queries/tpch/q01.sql"),
    include_str!("../../queries/tpch/q02.sql"),
    include_str!("../../queries/tpch/q03.sql"),
    include_str!("../../queries/tpch/q04.sql"),
    include_str!("../../queries/tpch/q05.sql"),
    include_str!("../../queries/tpch/q06.sql"),
    include_str!("../../queries/tpch/q07.sql"),
    include_str!("../../queries/tpch/q08.sql"),
    include_str!("../../queries/tpch/q09.sql"),
    include_str!("../../queries/tpch/q10.sql"),
    include_str!("../../queries/tpch/q11.sql"),
    include_str!("../../queries/tpch/q12.sql"),
    include_str!("../../queries/tpch/q13.sql"),
    include_str!("../../queries/tpch/q14.sql"),
    include_str!("../../queries/tpch/q15.sql"),
    include_str!("../../queries/tpch/q16.sql"),
    include_str!("../../queries/tpch/q17.sql"),
    include_str!("../../queries/tpch/q18.sql"),
    include_str!("../../queries/tpch/q19.sql"),
    include_str!("../../queries/tpch/q20.sql"),
    include_str!("../../queries/tpch/q21.sql"),
    include_str!("../../queries/tpch/q22.sql"),
];

/// Q11's fraction at SF 1, as written in `q11.sql`.
const Q11_FRACTION_AT_SF1: &str = "0.0001000000";

/// The SQL of query `n` (1-based) for data at scale factor `sf`.
///
/// Q11 keeps parts worth more than a fraction of the total, and the
/// specification sets that fraction to 0.0001 / SF; the literal in the file is
/// the SF 1 value, replaced here.
pub fn query(n: usize, sf: f64) -> String {
    let text = QUERIES[n - 1];
    if n == 11 {
        text.replace(Q11_FRACTION_AT_SF1, &format!("{:.10}", 0.0001 / sf))
    } else {
        text.to_string()
    }
}

pub const COUNT: usize = QUERIES.len();

/// Reference answers for the scale factors morsel ships them for.
const ANSWERS_SF0_01: [&str; 22] = [
    include_str!("../../testdata/tpch/answers/sf0.01/q01.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q02.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q03.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q04.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q05.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q06.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q07.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q08.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q09.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q10.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q11.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q12.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q13.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q14.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q15.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q16.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q17.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q18.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q19.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q20.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q21.csv"),
    include_str!("../../testdata/tpch/answers/sf0.01/q22.csv"),
];
const ANSWERS_SF1: [&str; 22] = [
    include_str!("../../testdata/tpch/answers/sf1/q01.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q02.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q03.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q04.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q05.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q06.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q07.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q08.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q09.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q10.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q11.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q12.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q13.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q14.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q15.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q16.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q17.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q18.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q19.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q20.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q21.csv"),
    include_str!("../../testdata/tpch/answers/sf1/q22.csv"),
];

/// The built-in answer to query `n` at `sf`, if morsel has one.
pub fn builtin_answer(n: usize, sf: f64) -> Option<&'static str> {
    if sf == 0.01 {
        Some(ANSWERS_SF0_01[n - 1])
    } else if sf == 1.0 {
        Some(ANSWERS_SF1[n - 1])
    } else {
        None
    }
}

/// Query numbers from a list like `1,3,5-9`.
pub fn parse_selection(text: &str) -> Result<Vec<usize>, String> {
    let mut chosen = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (low, high) = match item.split_once('-') {
            Some((low, high)) => (number(low)?, number(high)?),
            None => (number(item)?, number(item)?),
        };
        if low > high {
            return Err(format!("empty range '{item}'"));
        }
        chosen.extend(low..=high);
    }
    chosen.sort_unstable();
    chosen.dedup();
    Ok(chosen)
}

fn number(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=COUNT).contains(&n) => Ok(n),
        _ => Err(format!("'{text}' is not a query number (1 to {COUNT})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections() {
        assert_eq!(parse_selection("1,3,5-9"), Ok(vec![1, 3, 5, 6, 7, 8, 9]));
        assert_eq!(parse_selection("22, 2-3,3"), Ok(vec![2, 3, 22]));
        assert!(parse_selection("0").is_err());
        assert!(parse_selection("23").is_err());
        assert!(parse_selection("5-2").is_err());
        assert!(parse_selection("x").is_err());
    }

    #[test]
    fn q11_fraction_follows_the_scale_factor() {
        assert!(query(11, 1.0).contains("* 0.0001000000"));
        assert!(query(11, 0.01).contains("* 0.0100000000"));
        assert!(query(11, 10.0).contains("* 0.0000100000"));
        assert_eq!(query(5, 10.0), QUERIES[4]);
    }
}
