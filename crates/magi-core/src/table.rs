//! Column tables for a terminal: each column as wide as its widest cell, two spaces between columns,
//! numbers right-aligned where asked, no trailing blanks. Every tool's listing is laid out here, so a long
//! name widens its column instead of shifting the rest of the line.

use std::io::{self, Write};

/// Where a column's cells sit within its width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table: a header row and the rows under it.
#[derive(Debug, Clone)]
pub struct Table {
    rows: Vec<Vec<String>>,
    align: Vec<Align>,
}

impl Table {
    /// A table with these column headers, every column left-aligned.
    pub fn new<I, S>(header: I) -> Table
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let header: Vec<String> = header.into_iter().map(Into::into).collect();
        let align = vec![Align::Left; header.len()];
        Table {
            rows: vec![header],
            align,
        }
    }

    /// Right-aligns the given columns (0-based), as figures are read.
    pub fn right(mut self, columns: impl IntoIterator<Item = usize>) -> Table {
        for column in columns {
            if let Some(a) = self.align.get_mut(column) {
                *a = Align::Right;
            }
        }
        self
    }

    /// Adds a row; missing cells are blank and cells past the header's columns are dropped.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut row: Vec<String> = cells.into_iter().map(Into::into).collect();
        row.resize(self.align.len(), String::new());
        self.rows.push(row);
    }

    /// How many rows there are under the header.
    pub fn len(&self) -> usize {
        self.rows.len() - 1
    }

    /// Whether there is no row under the header.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The laid-out lines, header first, each ending in a newline.
    pub fn render(&self) -> String {
        self.render_with(|_, _, padded| padded)
    }

    /// The laid-out lines, with each padded cell passed through `paint(row, column, cell)` (row 0 is the
    /// header) so that a caller can colour a cell without the colour codes counting towards its width.
    pub fn render_with(&self, mut paint: impl FnMut(usize, usize, String) -> String) -> String {
        let widths: Vec<usize> = (0..self.align.len())
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for (r, row) in self.rows.iter().enumerate() {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                let w = widths[c];
                let padded = match self.align[c] {
                    Align::Left => format!("{cell:<w$}"),
                    Align::Right => format!("{cell:>w$}"),
                };
                if c > 0 {
                    line.push_str("  ");
                }
                line.push_str(&paint(r, c, padded));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Writes the laid-out lines to `out`.
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(self.render().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_take_their_widest_cell_and_figures_align_right() {
        let mut table = Table::new(["NAME", "SIZE", "NOTE"]).right([1]);
        table.row(["qdrant", "1.5 MiB", ""]);
        table.row(["open-webui", "12 B", "ok"]);
        assert_eq!(
            table.render(),
            "NAME           SIZE  NOTE\n\
             qdrant      1.5 MiB\n\
             open-webui     12 B  ok\n"
        );
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn width_counts_characters_not_bytes_and_paint_does_not_count() {
        let mut table = Table::new(["A", "B"]);
        table.row(["é", "x"]);
        let painted = table.render_with(|r, c, cell| {
            if r == 1 && c == 0 {
                format!("\x1b[1m{cell}\x1b[0m")
            } else {
                cell
            }
        });
        assert_eq!(painted, "A  B\n\x1b[1mé\x1b[0m  x\n");
    }

    #[test]
    fn short_rows_are_padded_and_long_rows_cut_to_the_header() {
        let mut table = Table::new(["A", "B"]);
        table.row(["1"]);
        table.row(["1", "2", "3"]);
        assert_eq!(table.render(), "A  B\n1\n1  2\n");
    }
}
