//! How charts look: the bundled font (DejaVu Sans, for Latin and Cyrillic alike, so no system font
//! or fontconfig is ever consulted), text sizes readable on a phone, the colours, and how drawing
//! fails.

use std::sync::OnceLock;

use plotters::drawing::DrawingAreaErrorKind;
use plotters::style::{FontDesc, FontFamily, FontStyle, RGBColor, register_font};

static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Shown to the person who asked for the chart.
    #[error("no data for this range")]
    NoData,
    #[error("the bundled chart font could not be loaded")]
    Font,
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    #[error("encoding the chart as PNG failed: {0}")]
    Encode(#[from] png::EncodingError),
}

/// A plotters failure, as a [`RenderError`].
pub(super) fn drawing<E: std::error::Error + Send + Sync>(
    error: DrawingAreaErrorKind<E>,
) -> RenderError {
    RenderError::Draw(error.to_string())
}

pub const TITLE_SIZE: f64 = 36.0;
pub const LABEL_SIZE: f64 = 22.0;
pub const LEGEND_SIZE: f64 = 24.0;

/// Distinct on white and from each other, one per series (at most eight: see `limit_series`).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];
pub const BACKGROUND: RGBColor = RGBColor(255, 255, 255);
pub const TEXT: RGBColor = RGBColor(33, 33, 33);
pub const GRID: RGBColor = RGBColor(226, 226, 226);
pub const AXIS: RGBColor = RGBColor(110, 110, 110);
pub const THRESHOLD: RGBColor = RGBColor(90, 90, 90);
/// Laid over the plot at `SHADE_OPACITY`, so the lines stay visible through it.
pub const SHADE: RGBColor = RGBColor(235, 64, 52);
pub const SHADE_OPACITY: f64 = 0.14;

/// The colour of the `index`th series.
pub fn series_colour(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// Registers the bundled font with plotters, once per process.
pub fn ensure_font() -> Result<(), RenderError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        register_font(
            FontFamily::SansSerif.as_str(),
            FontStyle::Normal,
            DEJAVU_SANS,
        )
        .is_ok()
    });
    if ok { Ok(()) } else { Err(RenderError::Font) }
}

pub fn font(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::SansSerif, size, FontStyle::Normal)
}

/// The width `text` takes in `font`, in pixels.
pub fn text_width(font: &FontDesc, text: &str) -> Result<i32, RenderError> {
    let (width, _) = font
        .box_size(text)
        .map_err(|e| RenderError::Draw(e.to_string()))?;
    Ok(i32::try_from(width).unwrap_or(i32::MAX))
}

/// `text`, cut short with "…" if it is wider than `max_width` pixels.
pub fn fit(font: &FontDesc, text: &str, max_width: i32) -> Result<String, RenderError> {
    if text_width(font, text)? <= max_width {
        return Ok(text.to_owned());
    }
    let cuts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    // The longest prefix that fits with its ellipsis; widths grow with length, so bisect.
    let (mut fits, mut too_long) = (0, cuts.len());
    while too_long - fits > 1 {
        let mid = (fits + too_long) / 2;
        if text_width(font, &shortened(text, cuts[mid]))? <= max_width {
            fits = mid;
        } else {
            too_long = mid;
        }
    }
    Ok(shortened(text, cuts[fits]))
}

fn shortened(text: &str, end: usize) -> String {
    format!("{}…", text[..end].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_to_fit_with_an_ellipsis() {
        ensure_font().unwrap();
        let font = font(LEGEND_SIZE);
        let name = "pg_stat_database_blks_hit{datname=\"заказы_архив_2026\"}";
        let cut = fit(&font, name, 300).unwrap();
        assert!(cut.ends_with('…') && cut.len() < name.len(), "{cut}");
        assert!(text_width(&font, &cut).unwrap() <= 300);
        assert_eq!(fit(&font, "short", 300).unwrap(), "short");
    }
}
