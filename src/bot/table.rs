//! A view's rows as an aligned monospace table that fits one Telegram message, a page at a time.

use crate::delivery::render::{MAX_MESSAGE_LEN, escape, visible_len};
use crate::exec::Table;

/// Cells are cut to this many characters so one long value cannot push the rest off the page.
const MAX_CELL: usize = 40;
/// Room kept for the title and the footer around the table.
const BUDGET: usize = MAX_MESSAGE_LEN - 400;
const MAX_ROWS_PER_PAGE: usize = 25;

fn cell(value: &Option<String>) -> String {
    let text = value
        .as_deref()
        .unwrap_or("∅")
        .replace(['\n', '\r', '\t'], " ");
    if text.chars().count() > MAX_CELL {
        let mut cut: String = text.chars().take(MAX_CELL - 1).collect();
        cut.push('…');
        cut
    } else {
        text
    }
}

fn line(cells: &[String], widths: &[usize]) -> String {
    let padded: Vec<String> = cells
        .iter()
        .zip(widths)
        .map(|(c, w)| format!("{c:<w$}", w = *w))
        .collect();
    padded.join(" │ ").trim_end().to_owned()
}

/// How many rows fit on one page.
pub fn rows_per_page(table: &Table) -> usize {
    let widths = widths(table);
    let width: usize = widths.iter().sum::<usize>() + 3 * widths.len().saturating_sub(1) + 1;
    ((BUDGET / width.max(1)).saturating_sub(2)).clamp(1, MAX_ROWS_PER_PAGE)
}

fn widths(table: &Table) -> Vec<usize> {
    let mut widths: Vec<usize> = table
        .columns
        .iter()
        .map(|c| c.chars().count().min(MAX_CELL))
        .collect();
    for row in &table.rows {
        for (i, value) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell(value).chars().count());
            }
        }
    }
    widths
}

/// Page `page` (from 0) of the table under `title`, and the number of pages.
pub fn page(title: &str, table: &Table, page: usize) -> (String, usize) {
    let per_page = rows_per_page(table);
    let pages = table.rows.len().div_ceil(per_page).max(1);
    let page = page.min(pages - 1);
    let widths = widths(table);
    let header: Vec<String> = table
        .columns
        .iter()
        .map(|c| cell(&Some(c.clone())))
        .collect();
    let mut lines = vec![line(&header, &widths)];
    lines.push(
        widths
            .iter()
            .map(|w| "─".repeat(*w))
            .collect::<Vec<_>>()
            .join("─┼─"),
    );
    let start = page * per_page;
    for row in table.rows.iter().skip(start).take(per_page) {
        let cells: Vec<String> = row.iter().map(cell).collect();
        lines.push(line(&cells, &widths));
    }
    let mut body = String::new();
    for l in &lines {
        let escaped = escape(l);
        // Very wide tables: stop before the limit rather than send a broken message.
        if visible_len(&body) + visible_len(&escaped) > BUDGET {
            break;
        }
        body.push_str(&escaped);
        body.push('\n');
    }
    let shown_to = (start + per_page).min(table.rows.len());
    let footer = if table.rows.is_empty() {
        "no rows".to_owned()
    } else {
        format!(
            "rows {}–{shown_to} of {}{}",
            start + 1,
            table.rows.len(),
            if table.truncated {
                " (more were cut)"
            } else {
                ""
            }
        )
    };
    (
        format!(
            "<b>{}</b>\n<pre>{}</pre>{}",
            escape(title),
            body.trim_end(),
            escape(&footer)
        ),
        pages,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: usize) -> Table {
        Table {
            columns: vec!["pid".into(), "query".into(), "state".into()],
            rows: (0..rows)
                .map(|i| {
                    vec![
                        Some(i.to_string()),
                        Some(format!("SELECT '<{i}>' & x\nFROM t {}", "y".repeat(i % 90))),
                        None,
                    ]
                })
                .collect(),
            truncated: false,
        }
    }

    #[test]
    fn pages_fit_a_message_and_align_columns() {
        let big = table(1000);
        let (first, pages) = page("Long queries", &big, 0);
        assert!(
            visible_len(&first) <= MAX_MESSAGE_LEN,
            "{}",
            visible_len(&first)
        );
        assert_eq!(pages, 1000usize.div_ceil(rows_per_page(&big)));
        assert!(
            first.contains("'&lt;0&gt;' &amp; x FROM t"),
            "escaped, one line: {first}"
        );
        assert!(first.contains("∅"), "NULL is visible");
        let (last, _) = page("Long queries", &big, pages + 5);
        assert!(last.contains("of 1000"));
        assert!(last.contains("999"));
        let lines: Vec<&str> = first.split('\n').collect();
        assert_eq!(lines[3].find('│'), lines[4].find('│'), "columns align");
    }

    #[test]
    fn empty_tables_say_so() {
        let (text, pages) = page("Nothing", &table(0), 0);
        assert_eq!(pages, 1);
        assert!(text.ends_with("no rows"));
    }
}
