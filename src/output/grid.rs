//! Tables for people: the `table` and `markdown` formats.
//!
//! Columns are sized to their content and then squeezed, widest first, until
//! the table fits the terminal; a value cut short ends in `…`. Rows past
//! `max_rows` are counted, not kept, and the table says how many it left out.
//! Expanded display (`\x`) prints each record as a block of `column | value`
//! lines instead, for rows too wide for any terminal.

use std::io::Write;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::{Format, Layout};
use crate::session::ResultSink;

/// Narrowest a squeezed column gets: one character and the ellipsis.
const MIN_COLUMN_WIDTH: usize = 2;

pub struct Grid<'a> {
    layout: Layout,
    out: &'a mut dyn Write,
    header: Vec<String>,
    right_aligned: Vec<bool>,
    rows: Vec<Vec<String>>,
    hidden: usize,
}

impl<'a> Grid<'a> {
    pub fn new(layout: Layout, out: &'a mut dyn Write) -> Self {
        Self {
            layout,
            out,
            header: vec![],
            right_aligned: vec![],
            rows: vec![],
            hidden: 0,
        }
    }

    fn keep_rows(&mut self, batch: &RecordBatch) {
        let room = self.layout.max_rows.unwrap_or(usize::MAX) - self.rows.len();
        let keep = batch.num_rows().min(room);
        self.hidden += batch.num_rows() - keep;
        if keep > 0 {
            let kept = super::text_rows(&[batch.slice(0, keep)], "NULL");
            let format = self.layout.format;
            self.rows.extend(
                kept.into_iter()
                    .map(|row| row.iter().map(|value| cell(value, format)).collect()),
            );
        }
    }

    fn render(&mut self) -> std::io::Result<()> {
        if self.layout.expanded && self.layout.format == Format::Table {
            return self.render_expanded();
        }
        let widths = self.column_widths();
        let markdown = self.layout.format == Format::Markdown;
        let rule = rule_line(&widths, markdown);
        if !markdown {
            writeln!(self.out, "{rule}")?;
        }
        writeln!(self.out, "{}", self.row_line(&self.header, &widths, false))?;
        writeln!(self.out, "{rule}")?;
        for row in &self.rows {
            writeln!(self.out, "{}", self.row_line(row, &widths, true))?;
        }
        if !markdown && !self.rows.is_empty() {
            writeln!(self.out, "{rule}")?;
        }
        self.finish()
    }

    /// One block per record: `-[ RECORD n ]---` and a line per column.
    fn render_expanded(&mut self) -> std::io::Result<()> {
        let name_width = self.header.iter().map(|h| h.width()).max().unwrap_or(0);
        let value_width = self
            .layout
            .width
            .map(|w| w.saturating_sub(name_width + 3).max(MIN_COLUMN_WIDTH));
        for (index, row) in self.rows.iter().enumerate() {
            let title = format!("-[ RECORD {} ]", index + 1);
            let rule_width = self.layout.width.unwrap_or(title.len() + 10).min(80);
            writeln!(self.out, "{title:-<rule_width$}")?;
            for (name, value) in self.header.iter().zip(row) {
                let value = match value_width {
                    Some(width) => truncate(value, width),
                    None => value.clone(),
                };
                let pad = name_width - name.width();
                writeln!(self.out, "{name}{} | {value}", " ".repeat(pad))?;
            }
        }
        if self.rows.is_empty() {
            writeln!(self.out, "(no rows)")?;
        }
        self.finish()
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if self.hidden > 0 {
            writeln!(
                self.out,
                "{} rows shown, {} not shown ({})",
                self.rows.len(),
                self.hidden,
                self.layout.more_rows_hint
            )?;
        }
        self.out.flush()
    }

    /// Content widths, squeezed widest-first until the table fits.
    fn column_widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self
            .header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                self.rows
                    .iter()
                    .map(|r| r[i].width())
                    .chain([h.width()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let Some(limit) = self
            .layout
            .width
            .filter(|_| self.layout.format == Format::Table)
        else {
            return widths;
        };
        // Each column costs its content plus "| " and " ", and the row a final "|".
        let total = |w: &[usize]| w.iter().map(|c| c + 3).sum::<usize>() + 1;
        while total(&widths) > limit {
            let Some((widest, width)) = widths
                .iter()
                .copied()
                .enumerate()
                .max_by_key(|(_, w)| *w)
                .filter(|(_, w)| *w > MIN_COLUMN_WIDTH)
            else {
                break;
            };
            widths[widest] = width - 1;
        }
        widths
    }

    fn row_line(&self, cells: &[String], widths: &[usize], is_data: bool) -> String {
        let mut line = String::from("|");
        for (i, (cell, &width)) in cells.iter().zip(widths).enumerate() {
            let cell = truncate(cell, width);
            let pad = " ".repeat(width - cell.width());
            if is_data && self.right_aligned[i] {
                line.push_str(&format!(" {pad}{cell} |"));
            } else {
                line.push_str(&format!(" {cell}{pad} |"));
            }
        }
        line
    }
}

impl ResultSink for Grid<'_> {
    fn begin(&mut self, schema: &SchemaRef) -> std::io::Result<()> {
        let format = self.layout.format;
        self.header = schema
            .fields()
            .iter()
            .map(|f| cell(f.name(), format))
            .collect();
        self.right_aligned = schema
            .fields()
            .iter()
            .map(|f| f.data_type().is_numeric())
            .collect();
        Ok(())
    }

    fn batch(&mut self, batch: &RecordBatch) -> std::io::Result<()> {
        self.keep_rows(batch);
        Ok(())
    }

    fn end(&mut self) -> std::io::Result<()> {
        if self.header.is_empty() {
            return Ok(());
        }
        self.render()
    }
}

fn rule_line(widths: &[usize], markdown: bool) -> String {
    let (edge, fill) = if markdown { ('|', '-') } else { ('+', '-') };
    let mut line = String::from(edge);
    for width in widths {
        line.extend(std::iter::repeat_n(fill, width + 2));
        line.push(edge);
    }
    line
}

/// A value as a cell of `format`: on one line, and in markdown with `|`
/// escaped, which would otherwise end the cell.
fn cell(value: &str, format: Format) -> String {
    let line = one_line(value);
    match format {
        Format::Markdown if line.contains('|') => line.replace('|', "\\|"),
        _ => line,
    }
}

/// Newlines and tabs would break the grid; show them escaped.
fn one_line(value: &str) -> String {
    if value.contains(['\n', '\r', '\t']) {
        value
            .replace('\n', "\\n")
            .replace('\r', "\\r")
            .replace('\t', "\\t")
    } else {
        value.to_string()
    }
}

/// `value` cut to `width` display columns, ending in `…` when cut.
fn truncate(value: &str, width: usize) -> String {
    if value.width() <= width {
        return value.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in value.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::output::RAISE_MAX_ROWS;

    fn render(layout: Layout) -> String {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("comment", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int64Array::from(vec![1, 22, 333])),
                Arc::new(StringArray::from(vec![
                    Some("a rather long comment that cannot fit"),
                    None,
                    Some("short"),
                ])),
            ],
        )
        .unwrap();
        let mut out = Vec::new();
        let mut grid = Grid::new(layout, &mut out);
        grid.begin(&schema).unwrap();
        grid.batch(&batch).unwrap();
        grid.end().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn fits_the_width_cutting_long_values() {
        let text = render(Layout {
            format: Format::Table,
            max_rows: None,
            more_rows_hint: RAISE_MAX_ROWS,
            width: Some(24),
            expanded: false,
        });
        assert!(text.lines().all(|l| l.width() <= 24), "{text}");
        assert!(text.contains("| a rather long… |"), "{text}");
        assert!(
            text.contains("| 333 | short"),
            "numbers right-aligned: {text}"
        );
        assert!(text.contains("NULL"), "{text}");
    }

    #[test]
    fn says_how_many_rows_it_left_out() {
        let text = render(Layout {
            format: Format::Markdown,
            max_rows: Some(1),
            more_rows_hint: RAISE_MAX_ROWS,
            width: Some(10),
            expanded: false,
        });
        assert_eq!(
            text,
            "| id | comment                               |\n\
             |----|---------------------------------------|\n\
             |  1 | a rather long comment that cannot fit |\n\
             1 rows shown, 2 not shown (raise --max-rows to see more)\n"
        );
    }

    #[test]
    fn expanded_display_prints_a_block_per_record() {
        let text = render(Layout {
            format: Format::Table,
            max_rows: Some(2),
            more_rows_hint: RAISE_MAX_ROWS,
            width: Some(30),
            expanded: true,
        });
        assert_eq!(
            text,
            "-[ RECORD 1 ]-----------------\n\
             id      | 1\n\
             comment | a rather long comme…\n\
             -[ RECORD 2 ]-----------------\n\
             id      | 22\n\
             comment | NULL\n\
             2 rows shown, 1 not shown (raise --max-rows to see more)\n"
        );
    }
}
