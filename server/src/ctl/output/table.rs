//! etcdctl's tables, as olekukonko/tablewriter draws them with etcdctl's
//! settings: `+---+` borders, centered upper-case headers, right-aligned
//! cells, one space of padding, and cells wider than 30 columns wrapped at
//! spaces with the fewest ragged lines (tablewriter's `WrapWords`).

use unicode_width::UnicodeWidthStr;

/// Cells are wrapped to this many columns when they have spaces to wrap at.
pub const MAX_CELL_WIDTH: usize = 30;

/// Extra cost of a wrapped line that is still too long (tablewriter's).
const OVERFLOW_PENALTY: usize = 100_000;

/// Renders `headers` and `rows` (each row as long as `headers`) as text
/// ending in a newline.
pub fn render_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let header_cells: Vec<WrappedCell> = headers.iter().map(|h| wrap_cell(h)).collect();
    let row_cells: Vec<Vec<WrappedCell>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| wrap_cell(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = header_cells.iter().map(|cell| cell.width).collect();
    for row in &row_cells {
        for (column, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(column) {
                *width = (*width).max(cell.width);
            }
        }
    }
    let header_lines: Vec<Vec<String>> = header_cells.into_iter().map(|c| c.lines).collect();
    let row_lines: Vec<Vec<Vec<String>>> = row_cells
        .into_iter()
        .map(|row| row.into_iter().map(|c| c.lines).collect())
        .collect();
    let border = border_line(&widths);
    let mut out = String::new();
    out.push_str(&border);
    push_row(&mut out, &header_lines, &widths, center);
    out.push_str(&border);
    for row in &row_lines {
        push_row(&mut out, row, &widths, pad_left);
    }
    out.push_str(&border);
    out
}

fn border_line(widths: &[usize]) -> String {
    let mut line = String::from("+");
    for width in widths {
        line.push_str(&"-".repeat(width + 2));
        line.push('+');
    }
    line.push('\n');
    line
}

fn push_row(
    out: &mut String,
    cells: &[Vec<String>],
    widths: &[usize],
    align: fn(&str, usize) -> String,
) {
    let height = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
    for line_index in 0..height {
        out.push('|');
        for (column, width) in widths.iter().enumerate() {
            let text = cells
                .get(column)
                .and_then(|lines| lines.get(line_index))
                .map(String::as_str)
                .unwrap_or("");
            out.push(' ');
            out.push_str(&align(text, *width));
            out.push_str(" |");
        }
        out.push('\n');
    }
}

fn display_width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// A cell's lines and the width it claims: the wrap limit or its widest
/// line, whichever is more (a wrapped cell keeps the full limit, as in
/// tablewriter).
struct WrappedCell {
    lines: Vec<String>,
    width: usize,
}

/// Headers: centered, the odd space going right.
fn center(text: &str, width: usize) -> String {
    let gap = width.saturating_sub(display_width(text));
    let left = gap / 2;
    format!("{}{text}{}", " ".repeat(left), " ".repeat(gap - left))
}

/// Cells: right-aligned.
fn pad_left(text: &str, width: usize) -> String {
    let gap = width.saturating_sub(display_width(text));
    format!("{}{text}", " ".repeat(gap))
}

/// Splits a cell into its lines: each newline-separated paragraph wrapped to
/// the cell's own width, capped at [`MAX_CELL_WIDTH`]; paragraphs after the
/// first are preceded by a line holding one space, as tablewriter does.
fn wrap_cell(cell: &str) -> WrappedCell {
    let paragraphs: Vec<&str> = cell.split('\n').collect();
    let limit = paragraphs
        .iter()
        .map(|p| display_width(p))
        .max()
        .unwrap_or(0)
        .min(MAX_CELL_WIDTH);
    let mut lines = Vec::new();
    for (index, paragraph) in paragraphs.iter().enumerate() {
        if index > 0 {
            lines.push(" ".to_string());
        }
        lines.extend(wrap_paragraph(paragraph, limit));
    }
    let widest = lines
        .iter()
        .map(|line| display_width(line))
        .max()
        .unwrap_or(0);
    WrappedCell {
        width: widest.max(limit),
        lines,
    }
}

/// tablewriter's `WrapString`: words split at single spaces (so runs of
/// spaces give empty words), the limit raised to the longest word, then the
/// minimum-raggedness line breaking of `WrapWords`.
fn wrap_paragraph(paragraph: &str, limit: usize) -> Vec<String> {
    let words: Vec<&str> = paragraph.split(' ').collect();
    let limit = words
        .iter()
        .map(|w| display_width(w))
        .max()
        .unwrap_or(0)
        .max(limit);
    let count = words.len();
    let widths: Vec<usize> = words.iter().map(|w| display_width(w)).collect();
    // line_width(i, j): width of words i..=j joined by single spaces.
    let line_width = |i: usize, j: usize| widths[i..=j].iter().sum::<usize>() + (j - i);
    let mut cost = vec![usize::MAX; count];
    let mut next_break = vec![count; count];
    for i in (0..count).rev() {
        if line_width(i, count - 1) <= limit {
            cost[i] = 0;
            next_break[i] = count;
            continue;
        }
        for j in i + 1..count {
            let width = line_width(i, j - 1);
            let slack = limit.abs_diff(width);
            let mut line_cost = slack.saturating_mul(slack).saturating_add(cost[j]);
            if width > limit {
                line_cost = line_cost.saturating_add(OVERFLOW_PENALTY);
            }
            if line_cost < cost[i] {
                cost[i] = line_cost;
                next_break[i] = j;
            }
        }
    }
    let mut lines = Vec::new();
    let mut start = 0;
    while start < count {
        let end = next_break[start].max(start + 1);
        lines.push(words[start..end].join(" "));
        start = end;
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_long_cells_like_tablewriter() {
        let cell = wrap_cell("memberID:3990370604368066554 alarm:NOSPACE ");
        assert_eq!(
            cell.lines,
            ["memberID:3990370604368066554", "alarm:NOSPACE "]
        );
        assert_eq!(cell.width, MAX_CELL_WIDTH);
        assert_eq!(wrap_cell("short").lines, ["short"]);
        assert_eq!(wrap_cell("short").width, 5);
        assert_eq!(wrap_cell("").lines, [""]);
        let long_word = "http://127.0.0.1:23813,http://127.0.0.1:23814";
        assert_eq!(wrap_cell(long_word).lines, [long_word]);
        assert_eq!(wrap_cell(long_word).width, long_word.len());
        assert_eq!(wrap_cell("a\nb").lines, ["a", " ", "b"]);
    }

    #[test]
    fn draws_borders_headers_and_right_aligned_cells() {
        let table = render_table(
            &["ENDPOINT", "HEALTH"],
            &[vec!["127.0.0.1:2379".into(), "true".into()]],
        );
        assert_eq!(
            table,
            "+----------------+--------+\n\
             |    ENDPOINT    | HEALTH |\n\
             +----------------+--------+\n\
             | 127.0.0.1:2379 |   true |\n\
             +----------------+--------+\n"
        );
    }
}
