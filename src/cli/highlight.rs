//! SQL syntax colours for the REPL's input line.
//!
//! A small scanner rather than sqlparser's tokenizer: the line being typed is
//! usually incomplete (an open quote, half a keyword), and highlighting must
//! return exactly the text it was given, only with colour codes around words.

use std::borrow::Cow;

use datafusion::sql::sqlparser::keywords::ALL_KEYWORDS;

const KEYWORD: &str = "\x1b[1;34m";
const STRING: &str = "\x1b[32m";
const NUMBER: &str = "\x1b[35m";
const COMMENT: &str = "\x1b[90m";
const COMMAND: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

/// `line` with ANSI colours: keywords, strings, numbers, comments, commands.
pub fn highlight(line: &str) -> Cow<'_, str> {
    if line.is_empty() {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 32);
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        let (len, colour) = next_token(rest, c);
        let token = &rest[..len];
        match colour {
            Some(colour) => {
                out.push_str(colour);
                out.push_str(token);
                out.push_str(RESET);
            }
            None => out.push_str(token),
        }
        rest = &rest[len..];
    }
    Cow::Owned(out)
}

/// The length of the token at the start of `text` and its colour, if any.
fn next_token(text: &str, first: char) -> (usize, Option<&'static str>) {
    match first {
        '\'' | '"' => {
            let end = text[1..].find(first).map_or(text.len(), |i| i + 2);
            let colour = (first == '\'').then_some(STRING);
            (end, colour)
        }
        '-' if text.starts_with("--") => (text.find('\n').unwrap_or(text.len()), Some(COMMENT)),
        '\\' => (text.find('\n').unwrap_or(text.len()), Some(COMMAND)),
        c if c.is_ascii_digit() => (
            text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
                .unwrap_or(text.len()),
            Some(NUMBER),
        ),
        c if c.is_alphabetic() || c == '_' => {
            let end = text
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(text.len());
            (end, is_keyword(&text[..end]).then_some(KEYWORD))
        }
        c => (c.len_utf8(), None),
    }
}

pub fn is_keyword(word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    ALL_KEYWORDS.binary_search(&upper.as_str()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn colours_without_changing_the_text() {
        for line in [
            "select count(*) from 'data/x.csv' where a = 1.5 -- note",
            "SELECT 'unterminated",
            "\\d events",
            "select \"Mixed Case\" from t;",
            "",
        ] {
            assert_eq!(strip(&highlight(line)), line);
        }
    }

    #[test]
    fn keywords_strings_and_numbers_get_their_colours() {
        let coloured = highlight("select 'a', 42 from t");
        assert!(coloured.contains(&format!("{KEYWORD}select{RESET}")));
        assert!(coloured.contains(&format!("{STRING}'a'{RESET}")));
        assert!(coloured.contains(&format!("{NUMBER}42{RESET}")));
        assert!(coloured.contains(&format!("{KEYWORD}from{RESET}")));
        assert!(!coloured.contains(&format!("{KEYWORD}t{RESET}")));
    }
}
