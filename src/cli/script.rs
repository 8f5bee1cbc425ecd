//! Splitting SQL text into statements and backslash commands, with positions.
//!
//! A script is cut at each `;` that is outside quotes and comments
//! (`'…'`, `"…"`, `` `…` ``, `E'…'` with backslash escapes, `$$…$$` and
//! `$tag$…$tag$`, `--` and `/* */`). Every
//! piece remembers where it starts, so an error the parser reports at
//! "line 1, column 8" of a statement becomes `FILE:LINE:COL` of the script.
//! A line whose first character is `\` (outside a statement) is a command.

use crate::error::Location;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Statement(String),
    Command(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub piece: Piece,
    pub start: Location,
}

/// The statements and commands in `text`, and whether the last statement was
/// left open (no `;` yet), which the REPL uses to ask for another line.
pub fn split(text: &str) -> (Vec<Located>, bool) {
    Splitter::new(text).run()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    Quoted(char),
    /// In `E'…'`; `true` just after a backslash.
    Escaped(bool),
    /// In a dollar-quoted string, until this byte offset (its closing tag's end).
    DollarQuoted(usize),
    LineComment,
    BlockComment,
}

struct Splitter<'a> {
    text: &'a str,
    pieces: Vec<Located>,
    /// Byte offset and location where the current statement began.
    start: Option<(usize, Location)>,
    /// Whether the current statement has anything but comments.
    has_code: bool,
}

impl<'a> Splitter<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            pieces: vec![],
            start: None,
            has_code: false,
        }
    }

    fn run(mut self) -> (Vec<Located>, bool) {
        let mut state = State::Code;
        let mut here = Location { line: 1, column: 1 };
        let mut chars = self.text.char_indices().peekable();
        let mut after_word = false;
        while let Some((offset, c)) = chars.next() {
            let next = chars.peek().map(|(_, n)| *n);
            let at = here;
            if c == '\n' {
                here = Location {
                    line: here.line + 1,
                    column: 1,
                };
            } else {
                here.column += 1;
            }
            match state {
                State::Code => {
                    if self.start.is_none() && c.is_whitespace() {
                        continue;
                    }
                    if self.start.is_none() && c == '\\' {
                        let end = self.text[offset..]
                            .find('\n')
                            .map_or(self.text.len(), |n| offset + n);
                        self.pieces.push(Located {
                            piece: Piece::Command(self.text[offset..end].trim().to_string()),
                            start: at,
                        });
                        while chars.peek().is_some_and(|(i, _)| *i < end) {
                            chars.next();
                        }
                        continue;
                    }
                    if self.start.is_none() {
                        self.start = Some((offset, at));
                    }
                    let starts_word = !after_word;
                    after_word = c.is_alphanumeric() || c == '_';
                    match (c, next) {
                        ('E' | 'e', Some('\'')) if starts_word => {
                            chars.next();
                            here.column += 1;
                            state = State::Escaped(false);
                            self.has_code = true;
                        }
                        ('$', _) if starts_word && self.dollar_tag(offset).is_some() => {
                            state = State::DollarQuoted(self.dollar_close(offset));
                            self.has_code = true;
                        }
                        ('\'' | '"' | '`', _) => {
                            state = State::Quoted(c);
                            self.has_code = true;
                        }
                        ('-', Some('-')) => state = State::LineComment,
                        ('/', Some('*')) => {
                            chars.next();
                            here.column += 1;
                            state = State::BlockComment;
                        }
                        (';', _) => self.finish(offset),
                        _ if !c.is_whitespace() => self.has_code = true,
                        _ => {}
                    }
                }
                State::Quoted(quote) if c == quote => state = State::Code,
                State::Escaped(true) => state = State::Escaped(false),
                State::Escaped(false) if c == '\\' => state = State::Escaped(true),
                State::Escaped(false) if c == '\'' => state = State::Code,
                State::DollarQuoted(close) if offset + c.len_utf8() >= close => {
                    state = State::Code;
                }
                State::LineComment if c == '\n' => state = State::Code,
                State::BlockComment if c == '*' && next == Some('/') => {
                    chars.next();
                    here.column += 1;
                    state = State::Code;
                }
                _ => {}
            }
        }
        let open = self.has_code;
        self.finish(self.text.len());
        (self.pieces, open)
    }

    /// The tag of a dollar quote opening at `offset` (`$$` or `$name$`).
    fn dollar_tag(&self, offset: usize) -> Option<&'a str> {
        let rest = &self.text[offset + 1..];
        let name = &rest[..rest.find('$')?];
        let valid = name.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        valid.then(|| &self.text[offset..offset + name.len() + 2])
    }

    /// Where the dollar quote opening at `offset` closes: the end of its
    /// tag's next appearance, or never.
    fn dollar_close(&self, offset: usize) -> usize {
        let Some(tag) = self.dollar_tag(offset) else {
            return usize::MAX;
        };
        let body = offset + tag.len();
        self.text[body..]
            .find(tag)
            .map_or(usize::MAX, |at| body + at + tag.len())
    }

    fn finish(&mut self, end: usize) {
        if let Some((begin, location)) = self.start.take()
            && std::mem::take(&mut self.has_code)
        {
            self.pieces.push(Located {
                piece: Piece::Statement(self.text[begin..end].trim_end().to_string()),
                start: location,
            });
        }
        self.has_code = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(text: &str) -> Vec<(String, u64, u64)> {
        split(text)
            .0
            .into_iter()
            .map(|l| match l.piece {
                Piece::Statement(s) | Piece::Command(s) => (s, l.start.line, l.start.column),
            })
            .collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let text = "select ';' as a; -- a;b\nselect 2 /* ; */;\n\n  select \"x;y\" from t";
        assert_eq!(
            statements(text),
            vec![
                ("select ';' as a".to_string(), 1, 1),
                ("-- a;b\nselect 2 /* ; */".to_string(), 1, 18),
                ("select \"x;y\" from t".to_string(), 4, 3),
            ]
        );
    }

    #[test]
    fn reports_an_open_statement() {
        assert!(split("select 1").1);
        assert!(!split("select 1;").1);
        assert!(!split("select 1; -- done").1);
        assert!(split("select 'a;").1);
    }

    #[test]
    fn commands_are_lines_starting_with_backslash() {
        let text = "\\timing on\nselect 1;\n  \\d t\n";
        assert_eq!(
            statements(text),
            vec![
                ("\\timing on".to_string(), 1, 1),
                ("select 1".to_string(), 2, 1),
                ("\\d t".to_string(), 3, 3),
            ]
        );
    }

    #[test]
    fn semicolons_in_dollar_quotes_and_escaped_strings_stay_inside() {
        let text = "select $$a;b$$ as x; select $t$ $$; $t$; select E'it\\'s; ok', e'\\\\';\nselect 'x''y;z'";
        assert_eq!(
            statements(text),
            vec![
                ("select $$a;b$$ as x".to_string(), 1, 1),
                ("select $t$ $$; $t$".to_string(), 1, 22),
                ("select E'it\\'s; ok', e'\\\\'".to_string(), 1, 42),
                ("select 'x''y;z'".to_string(), 2, 1),
            ]
        );
        assert!(
            split("select $$ open;").1,
            "an unclosed dollar quote is open"
        );
        assert!(
            !split("select a$b; select 1;").1,
            "a $ inside a word quotes nothing"
        );
    }

    #[test]
    fn comment_only_text_has_no_statement() {
        assert!(statements("-- nothing here\n/* or here */").is_empty());
    }
}
