//! What Tab offers, from where the cursor is in the statement.
//!
//! After `FROM`/`JOIN` come tables and table functions; in the select list,
//! `WHERE`, `ON`, `GROUP BY`… come the columns of the tables the statement
//! reads (found anywhere in it, so `SELECT na|  FROM cities` works), then
//! functions; `alias.` offers that table's columns; after `SET` come
//! settings. The context is read from words, not a parse: the statement
//! being typed is rarely valid SQL yet.

use std::collections::BTreeMap;

use super::highlight::is_keyword;

/// The names completion draws on, refreshed after every statement.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Tables and their columns.
    pub tables: BTreeMap<String, Vec<String>>,
    pub functions: Vec<String>,
    pub table_functions: Vec<String>,
    pub settings: Vec<String>,
    pub keywords: Vec<String>,
}

/// The kind of name that fits where the cursor is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    Table,
    Column,
    /// After `alias.`: columns of that table only.
    ColumnOf(String),
    Setting,
    Anything,
}

/// Completions for the word ending at the cursor: where it starts, and the
/// candidates in the case the user typed.
pub fn complete(names: &Names, statement: &str, cursor: usize) -> (usize, Vec<String>) {
    let before = &statement[..cursor];
    let start = before
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .map_or(0, |i| i + 1);
    let word = &before[start..];
    let words = words(statement);
    let context = slot_before(&words_before(before, start));
    let (slot, prefix, prefix_start) = match word.rsplit_once('.') {
        // Settings have dots in their names; elsewhere a dot qualifies.
        Some((qualifier, prefix)) if context != Slot::Setting => (
            Slot::ColumnOf(qualifier.to_string()),
            prefix,
            cursor - prefix.len(),
        ),
        _ => (context, word, start),
    };
    let mut candidates = Vec::new();
    let tables = tables_in(&words, names);
    let mut add = |list: &mut dyn Iterator<Item = &String>| {
        candidates.extend(list.filter(|w| starts_with_ignore_case(w, prefix)).cloned());
    };
    match slot {
        Slot::Table => {
            add(&mut names.tables.keys());
            add(&mut names.table_functions.iter());
        }
        Slot::Column => {
            // Before FROM is typed, any table's columns may be meant.
            let in_scope: Vec<&String> = if tables.is_empty() {
                names.tables.keys().collect()
            } else {
                tables.values().collect()
            };
            for table in in_scope {
                add(&mut names.tables[table].iter());
            }
            add(&mut names.functions.iter());
            add(&mut names.keywords.iter());
        }
        Slot::ColumnOf(qualifier) => {
            if let Some(table) = tables.get(&qualifier.to_ascii_lowercase()) {
                add(&mut names.tables[table].iter());
            }
        }
        Slot::Setting => add(&mut names.settings.iter()),
        Slot::Anything => {
            add(&mut names.keywords.iter());
            add(&mut names.functions.iter());
            add(&mut names.tables.keys());
        }
    }
    if prefix.is_empty() {
        // Offering every keyword for an empty word is noise.
        candidates.retain(|c| !names.keywords.contains(c));
    }
    let mut seen = std::collections::HashSet::new();
    candidates.retain(|c| seen.insert(c.clone()));
    let candidates = candidates
        .into_iter()
        .map(|c| match_case(&c, prefix, names))
        .collect();
    (prefix_start, candidates)
}

/// The slot from the words before the one being completed.
fn slot_before(words: &[String]) -> Slot {
    let Some(last) = words.last() else {
        return Slot::Anything;
    };
    if words.first().is_some_and(|w| w == "SET") && words.len() == 1 {
        return Slot::Setting;
    }
    if words.first().is_some_and(|w| w == "SHOW") && words.len() == 1 {
        return Slot::Setting;
    }
    match last.as_str() {
        "FROM" | "JOIN" | "INTO" | "TABLE" | "DESCRIBE" | "UPDATE" => Slot::Table,
        _ => {
            let clause = words.iter().rev().find(|w| CLAUSES.contains(&w.as_str()));
            match clause.map(String::as_str) {
                Some("FROM" | "JOIN") if last == "," => Slot::Table,
                Some("FROM" | "JOIN") => Slot::Anything,
                Some(_) => Slot::Column,
                None => Slot::Anything,
            }
        }
    }
}

/// Keywords that start a part of a statement whose names are columns
/// (or, for FROM and JOIN, tables).
const CLAUSES: [&str; 11] = [
    "SELECT", "WHERE", "BY", "ON", "HAVING", "FROM", "JOIN", "AND", "OR", "USING", "WHEN",
];

/// Upper-cased keywords and punctuation-free words before `start`, skipping
/// quoted text; keywords are upper-cased so rules can match them.
fn words_before(before: &str, start: usize) -> Vec<String> {
    words(&before[..start])
}

fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' || c == '"' {
            let mut quoted = String::new();
            for (_, q) in chars.by_ref() {
                if q == c {
                    break;
                }
                quoted.push(q);
            }
            if c == '"' {
                out.push(quoted);
            } else {
                out.push("'".to_string());
            }
        } else if c == ',' {
            out.push(",".to_string());
        } else if c.is_alphanumeric() || c == '_' {
            let mut end = i + c.len_utf8();
            while let Some((j, n)) = chars.peek().copied() {
                if n.is_alphanumeric() || n == '_' || n == '.' {
                    end = j + n.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let word = &text[i..end];
            out.push(if is_keyword(word) {
                word.to_ascii_uppercase()
            } else {
                word.to_string()
            });
        }
    }
    out
}

/// Tables the statement reads, by the name or alias it uses for them
/// (lower-cased), mapped to the catalog's name.
fn tables_in(words: &[String], names: &Names) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut in_from = false;
    for (i, word) in words.iter().enumerate() {
        if word == "FROM" || word == "JOIN" {
            in_from = true;
            continue;
        }
        if !in_from {
            continue;
        }
        if let Some(table) = catalog_name(word, names) {
            found.insert(word.to_ascii_lowercase(), table.clone());
            let alias = match words.get(i + 1).map(String::as_str) {
                Some("AS") => words.get(i + 2),
                Some(w) if !is_keyword(w) && w != "," => words.get(i + 1),
                _ => None,
            };
            if let Some(alias) = alias {
                found.insert(alias.to_ascii_lowercase(), table.clone());
            }
        } else if is_keyword(word)
            && !matches!(
                word.as_str(),
                "AS" | "JOIN" | "INNER" | "LEFT" | "RIGHT" | "FULL" | "OUTER" | "CROSS"
            )
        {
            in_from = false;
        }
    }
    found
}

fn catalog_name<'a>(word: &str, names: &'a Names) -> Option<&'a String> {
    names.tables.keys().find(|t| t.eq_ignore_ascii_case(word))
}

fn starts_with_ignore_case(word: &str, prefix: &str) -> bool {
    word.len() >= prefix.len()
        && word.is_char_boundary(prefix.len())
        && word[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Keywords follow the case the user typed (`sel` → `select`).
fn match_case(word: &str, prefix: &str, names: &Names) -> String {
    let keyword = names.keywords.iter().any(|k| k == word);
    if keyword && prefix.chars().any(|c| c.is_ascii_lowercase()) {
        word.to_ascii_lowercase()
    } else {
        word.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        let mut tables = BTreeMap::new();
        tables.insert(
            "cities".to_string(),
            vec!["name".into(), "population".into()],
        );
        tables.insert(
            "events".to_string(),
            vec!["id".into(), "amount".into(), "kind".into()],
        );
        Names {
            tables,
            functions: vec!["abs".into(), "avg".into(), "count".into()],
            table_functions: vec!["range".into()],
            settings: vec!["datafusion.execution.batch_size".into(), "s3.region".into()],
            keywords: vec!["SELECT".into(), "FROM".into(), "WHERE".into(), "AND".into()],
        }
    }

    fn offered(statement: &str) -> Vec<String> {
        complete(&names(), statement, statement.len()).1
    }

    #[test]
    fn columns_of_the_tables_in_from() {
        assert_eq!(offered("SELECT na"), vec!["name"]);
        assert_eq!(offered("SELECT k"), vec!["kind"]);
        let text = "SELECT na FROM cities";
        assert_eq!(complete(&names(), text, "SELECT na".len()).1, vec!["name"]);
        assert_eq!(offered("select * from events where am"), vec!["amount"]);
        assert_eq!(offered("select * from events e where e.k"), vec!["kind"]);
        assert_eq!(
            offered("select * from events where a"),
            vec!["amount", "abs", "avg", "and"]
        );
    }

    #[test]
    fn tables_after_from_and_join() {
        assert_eq!(offered("select * from ev"), vec!["events"]);
        assert_eq!(offered("select * from events join ci"), vec!["cities"]);
        assert_eq!(offered("select * from r"), vec!["range"]);
    }

    #[test]
    fn settings_after_set() {
        assert_eq!(offered("SET s3"), vec!["s3.region"]);
        assert_eq!(
            offered("set datafusion.exec"),
            vec!["datafusion.execution.batch_size"]
        );
    }

    #[test]
    fn keywords_keep_the_typed_case() {
        assert_eq!(offered("sel"), vec!["select"]);
        assert_eq!(offered("SEL"), vec!["SELECT"]);
    }
}
