//! The legend under the plot: a coloured mark and a name per series (and for thresholds that fall
//! outside the chart, and the shaded span), flowed left to right in as many rows as they need.

use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, DrawingBackend, Rectangle, Text};
use plotters::style::{Color, RGBColor, TextStyle};

use super::style::{self, LEGEND_SIZE, SHADE, SHADE_OPACITY, TEXT, THRESHOLD};
use super::style::{RenderError, drawing};

const ROW_HEIGHT: i32 = 36;
const MARK_WIDTH: i32 = 28;
const MARK_GAP: i32 = 10;
const ENTRY_GAP: i32 = 32;
const PADDING: i32 = 10;
/// Past this the plot would shrink to nothing; the rest is counted instead ("+3 more").
const MAX_ROWS: usize = 5;

#[derive(Debug, Clone, Copy)]
pub enum Mark {
    Series(RGBColor),
    Threshold,
    Shade,
    /// Text alone.
    None,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub mark: Mark,
    pub label: String,
}

/// Entries placed in rows, each at its x.
pub struct Legend {
    rows: Vec<Vec<(i32, Entry)>>,
}

impl Legend {
    /// Flows `entries` into rows `width` pixels wide starting at `left`; a label longer than
    /// half a row is cut short, so two entries always fit side by side.
    /// `lang`: the language of the "+3 more" that stands for the entries left out.
    pub fn layout(
        entries: Vec<Entry>,
        left: i32,
        width: i32,
        lang: crate::i18n::Lang,
    ) -> Result<Legend, RenderError> {
        let font = style::font(LEGEND_SIZE);
        let max_label = width / 2 - MARK_WIDTH - MARK_GAP - ENTRY_GAP;
        let mut rows: Vec<Vec<(i32, Entry)>> = Vec::new();
        let mut x = left;
        for mut entry in entries {
            entry.label = style::fit(&font, &entry.label, max_label)?;
            let entry_width = MARK_WIDTH + MARK_GAP + style::text_width(&font, &entry.label)?;
            let row_full = x > left && x + entry_width > left + width;
            match rows.last_mut() {
                Some(row) if !row_full => row.push((x, entry)),
                _ => {
                    x = left;
                    rows.push(vec![(x, entry)]);
                }
            }
            x += entry_width + ENTRY_GAP;
        }
        if rows.len() > MAX_ROWS {
            let hidden: usize = rows.drain(MAX_ROWS..).map(|row| row.len()).sum();
            if let Some((_, last)) = rows.last_mut().and_then(|row| row.last_mut()) {
                // The entry it replaces is counted too.
                *last = Entry {
                    mark: Mark::None,
                    label: crate::tr!(lang, "chart-more", count = hidden + 1),
                };
            }
        }
        Ok(Legend { rows })
    }

    pub fn height(&self) -> u32 {
        if self.rows.is_empty() {
            return 0;
        }
        (self.rows.len() as i32 * ROW_HEIGHT + 2 * PADDING) as u32
    }

    pub fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), RenderError> {
        let text = TextStyle::from(style::font(LEGEND_SIZE)).color(&TEXT);
        for (row, entries) in self.rows.iter().enumerate() {
            let middle = PADDING + row as i32 * ROW_HEIGHT + ROW_HEIGHT / 2;
            for (x, entry) in entries {
                draw_mark(area, entry.mark, *x, middle)?;
                // Glyphs are drawn from about a third of their size above the anchor (ab_glyph's
                // placement): this puts the text's middle level with the mark's.
                let label_at = (x + MARK_WIDTH + MARK_GAP, middle - 4);
                area.draw(&Text::new(entry.label.as_str(), label_at, &text))
                    .map_err(drawing)?;
            }
        }
        Ok(())
    }
}

fn draw_mark<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    mark: Mark,
    x: i32,
    middle: i32,
) -> Result<(), RenderError> {
    let block = |colour: RGBColor, from: i32, to: i32, half_height: i32| {
        Rectangle::new(
            [(from, middle - half_height), (to, middle + half_height)],
            colour.filled(),
        )
    };
    match mark {
        Mark::None => Ok(()),
        // Solid blocks of the exact line colour: easy to match against the line by eye.
        Mark::Series(colour) => area.draw(&block(colour, x, x + MARK_WIDTH, 5)),
        Mark::Threshold => {
            area.draw(&block(THRESHOLD, x, x + 10, 2))
                .map_err(drawing)?;
            area.draw(&block(THRESHOLD, x + 18, x + MARK_WIDTH, 2))
        }
        Mark::Shade => area.draw(&Rectangle::new(
            [(x, middle - 11), (x + MARK_WIDTH, middle + 11)],
            SHADE.mix(SHADE_OPACITY * 2.0).filled(),
        )),
    }
    .map_err(drawing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crowded_legend_keeps_its_rows_and_counts_the_rest() {
        style::ensure_font().unwrap();
        let entries = (0..40)
            .map(|i| Entry {
                mark: Mark::Threshold,
                label: format!("threshold number {i} with a long label"),
            })
            .collect();
        let legend = Legend::layout(entries, 24, 1232, crate::i18n::Lang::En).unwrap();
        assert_eq!(legend.rows.len(), MAX_ROWS);
        let shown: usize = legend.rows.iter().map(Vec::len).sum();
        let last = &legend.rows[MAX_ROWS - 1].last().unwrap().1;
        assert_eq!(last.label, format!("+{} more", 40 - shown + 1));
    }
}
