//! A view's rows as an aligned monospace table that fits one Telegram message, a page at a time.

use crate::exec::Table;
use crate::i18n::Lang;
use crate::telegram::html::{MAX_MESSAGE_LEN, escape, visible_len};
use crate::tr;

/// Cells are cut to this many characters so one long value cannot push the rest off the page.
const MAX_CELL: usize = 40;
/// Room kept for the title and the footer around the table.
const BUDGET: usize = MAX_MESSAGE_LEN - 400;
/// The most rows a page shows.
pub const MAX_ROWS_PER_PAGE: usize = 25;

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

/// Rows on one page, from the number of columns alone, so that a page can be cut from a stream
/// without holding the other rows: wide cells are cut at `MAX_CELL`, and lines past the budget are
/// dropped rather than overflowing the message.
pub fn rows_per_page(columns: usize) -> usize {
    let width = columns.max(1) * 18;
    (BUDGET / width).clamp(3, MAX_ROWS_PER_PAGE)
}

fn widths(columns: &[String], rows: &[Vec<Option<String>>]) -> Vec<usize> {
    let mut widths: Vec<usize> = columns
        .iter()
        .map(|c| c.chars().count().min(MAX_CELL))
        .collect();
    for row in rows {
        for (i, value) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell(value).chars().count());
            }
        }
    }
    widths
}

/// One page of a result: the rows of that page, where they start, and how many rows there are.
pub struct PageRows<'a> {
    pub columns: &'a [String],
    pub rows: &'a [Vec<Option<String>>],
    pub start: usize,
    pub total: usize,
    /// `total` is only a lower bound: more rows exist than were read.
    pub truncated: bool,
}

/// The page under `title`, as HTML.
pub fn render(title: &str, page: &PageRows<'_>, lang: Lang) -> String {
    let widths = widths(page.columns, page.rows);
    let header: Vec<String> = page
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
    for row in page.rows {
        let cells: Vec<String> = row.iter().map(cell).collect();
        lines.push(line(&cells, &widths));
    }
    let mut body = String::new();
    let mut shown = 0;
    for (i, l) in lines.iter().enumerate() {
        let escaped = escape(l);
        // Very wide tables: stop before the limit rather than send a broken message.
        if visible_len(&body) + visible_len(&escaped) > BUDGET {
            break;
        }
        body.push_str(&escaped);
        body.push('\n');
        shown = i.saturating_sub(1);
    }
    let footer = if page.total == 0 {
        tr!(lang, "table-no-rows")
    } else {
        let total = format!("{}{}", page.total, if page.truncated { "+" } else { "" });
        tr!(
            lang,
            "table-rows",
            first = page.start + 1,
            last = page.start + shown,
            total = total
        )
    };
    format!(
        "<b>{}</b>\n<pre>{}</pre>{}",
        escape(title),
        body.trim_end(),
        escape(&footer)
    )
}

/// Page `number` (from 0) of a whole table in memory (action results), and the number of pages.
pub fn page(title: &str, table: &Table, number: usize, lang: Lang) -> (String, usize) {
    let per_page = rows_per_page(table.columns.len());
    let pages = table.rows.len().div_ceil(per_page).max(1);
    let number = number.min(pages - 1);
    let start = number * per_page;
    let end = (start + per_page).min(table.rows.len());
    let html = render(
        title,
        &PageRows {
            columns: &table.columns,
            rows: &table.rows[start..end],
            start,
            total: table.rows.len(),
            truncated: table.truncated,
        },
        lang,
    );
    (html, pages)
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
        let (first, pages) = page("Long queries", &big, 0, Lang::En);
        assert!(
            visible_len(&first) <= MAX_MESSAGE_LEN,
            "{}",
            visible_len(&first)
        );
        assert_eq!(pages, 1000usize.div_ceil(rows_per_page(3)));
        assert!(
            first.contains("'&lt;0&gt;' &amp; x FROM t"),
            "escaped, one line: {first}"
        );
        assert!(first.contains("∅"), "NULL is visible");
        let (last, _) = page("Long queries", &big, pages + 5, Lang::En);
        assert!(last.contains("of 1000"));
        assert!(last.contains("999"));
        let lines: Vec<&str> = first.split('\n').collect();
        assert_eq!(lines[3].find('│'), lines[4].find('│'), "columns align");
    }

    #[test]
    fn empty_tables_say_so() {
        let (text, pages) = page("Nothing", &table(0), 0, Lang::En);
        assert_eq!(pages, 1);
        assert!(text.ends_with("no rows"));
        let (text, _) = page("Пусто", &table(0), 0, Lang::Ru);
        assert!(text.ends_with("нет строк"), "{text}");
    }
}
