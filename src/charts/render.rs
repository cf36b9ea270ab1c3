//! One chart as a PNG: title on top, the plot (shaded firing span, dashed thresholds, one line per
//! series broken at its gaps), the legend underneath. Drawn into memory and encoded there; nothing
//! touches the file system or the system's fonts.

use std::iter;

use plotters::coord::Shift;
use plotters::prelude::{
    BitMapBackend, ChartBuilder, Circle, DashedLineSeries, DrawingArea, EmptyElement,
    IntoDrawingArea, LineSeries, Rectangle, Text,
};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, TextStyle};

use super::axis::{TimeAxis, ValueAxis};
use super::gaps::segments;
use super::legend::{Entry, Legend, Mark};
use super::series::{Plot, Threshold};
use super::style::{
    self, AXIS, BACKGROUND, GRID, LABEL_SIZE, RenderError, SHADE, SHADE_OPACITY, TEXT, THRESHOLD,
    TITLE_SIZE, drawing,
};
use super::units::format_value;

/// Telegram shows photos about 1280 pixels wide; 16:9 keeps the plot readable on a phone.
pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 720;

const PAD: i32 = 24;
const TITLE_HEIGHT: u32 = 64;
const LINE_WIDTH: u32 = 3;
const DOT_RADIUS: i32 = 5;

type Area<'b> = DrawingArea<BitMapBackend<'b>, Shift>;
type Segments<'p> = Vec<&'p [(i64, f64)]>;

/// The chart as a `WIDTH` × `HEIGHT` PNG, or [`RenderError::NoData`] when no series has a finite
/// point in the range: an empty frame would look like a broken chart.
pub fn render_png(plot: &Plot) -> Result<Vec<u8>, RenderError> {
    let lines: Vec<Segments> = plot
        .series
        .iter()
        .map(|s| segments(&s.points, plot.step, plot.from, plot.to))
        .collect();
    let (min, max) = data_extent(&lines).ok_or(RenderError::NoData)?;
    let x = TimeAxis::new(plot.from, plot.to, plot.utc_offset);
    let y = value_axis(plot, min, max);
    style::ensure_font()?;
    let entries = legend_entries(plot, &y);
    let legend = Legend::layout(entries, PAD, WIDTH as i32 - 2 * PAD, plot.lang)?;

    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&BACKGROUND).map_err(drawing)?;
        let (title_area, rest) = root.split_vertically(TITLE_HEIGHT);
        let plot_height = HEIGHT - TITLE_HEIGHT - legend.height();
        let (chart_area, legend_area) = rest.split_vertically(plot_height);
        draw_title(&title_area, plot.title)?;
        draw_chart(&chart_area, plot, &x, &y, &lines)?;
        legend.draw(&legend_area)?;
        root.present().map_err(drawing)?;
    }
    encode(&pixels)
}

/// The y axis for data from `min` to `max` and the thresholds near it.
fn value_axis(plot: &Plot, min: f64, max: f64) -> ValueAxis {
    // A threshold far from the data would squash it into a sliver; the legend names it instead.
    let reach = (max - min).max(max.abs()).max(min.abs());
    let near: Vec<f64> = plot
        .thresholds
        .iter()
        .map(|t| t.value)
        .filter(|v| v.is_finite() && *v >= min - reach && *v <= max + reach)
        .collect();
    let lo = near.iter().copied().fold(min, f64::min);
    let hi = near.iter().copied().fold(max, f64::max);
    // A threshold's label sits above its line: keep the top one clear of the frame.
    let hi = match near.iter().copied().reduce(f64::max) {
        Some(top) => hi.max(top + (hi - lo) * 0.06),
        None => hi,
    };
    ValueAxis::new(plot.unit, lo, hi)
}

fn data_extent(lines: &[Segments]) -> Option<(f64, f64)> {
    lines
        .iter()
        .flatten()
        .flat_map(|segment| segment.iter())
        .map(|&(_, v)| v)
        .fold(None, |extent, v| match extent {
            None => Some((v, v)),
            Some((lo, hi)) => Some((v.min(lo), v.max(hi))),
        })
}

fn legend_entries(plot: &Plot, y: &ValueAxis) -> Vec<Entry> {
    let mut entries: Vec<Entry> = plot
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| Entry {
            mark: Mark::Series(style::series_colour(i)),
            label: s.name.clone(),
        })
        .collect();
    // Thresholds on the chart carry their label on their line; the others are named here.
    for t in plot.thresholds.iter().filter(|t| !y.contains(t.value)) {
        let side = if t.value > y.hi() { "↑" } else { "↓" };
        entries.push(Entry {
            mark: Mark::Threshold,
            label: format!("{} {} {side}", t.label, format_value(plot.unit, t.value)),
        });
    }
    if visible_shade(plot).is_some() {
        entries.push(Entry {
            mark: Mark::Shade,
            label: crate::tr!(plot.lang, "chart-firing"),
        });
    }
    entries
}

fn visible_shade(plot: &Plot) -> Option<(i64, i64)> {
    let (start, end) = plot.shade?;
    let (start, end) = (start.max(plot.from), end.min(plot.to));
    (start < end).then_some((start, end))
}

fn draw_title(area: &Area, title: &str) -> Result<(), RenderError> {
    let font = style::font(TITLE_SIZE);
    let title = style::fit(&font, title, WIDTH as i32 - 2 * PAD)?;
    let text = TextStyle::from(font).color(&TEXT);
    // The bundled font's glyphs hang about half their size below the anchor: this centres them.
    area.draw(&Text::new(title, (PAD, 22), text))
        .map_err(drawing)
}

fn draw_chart(
    area: &Area,
    plot: &Plot,
    x: &TimeAxis,
    y: &ValueAxis,
    lines: &[Segments],
) -> Result<(), RenderError> {
    let labels = TextStyle::from(style::font(LABEL_SIZE)).color(&TEXT);
    let y_label_width = y
        .ticks()
        .iter()
        .map(|&v| style::text_width(&labels.font, &format_value(plot.unit, v)))
        .try_fold(0, |widest, width| width.map(|w| w.max(widest)))?;
    let mut chart = ChartBuilder::on(area)
        .margin_left(PAD as u32 / 2)
        .margin_right(PAD as u32 * 2)
        .margin_top(8)
        .x_label_area_size(70)
        .y_label_area_size(y_label_width as u32 + 20)
        .build_cartesian_2d(x.clone(), y.clone())
        .map_err(drawing)?;
    let time_label = |t: &i64| x.label(*t);
    let value_label = |v: &f64| format_value(plot.unit, *v);
    chart
        .configure_mesh()
        .bold_line_style(GRID.stroke_width(1))
        .axis_style(AXIS.stroke_width(1))
        .x_label_style(labels.clone())
        .y_label_style(labels.clone())
        .x_label_formatter(&time_label)
        .y_label_formatter(&value_label)
        .x_desc(x.zone())
        .axis_desc_style(labels.clone())
        .draw()
        .map_err(drawing)?;

    if let Some((start, end)) = visible_shade(plot) {
        let band = Rectangle::new(
            [(start, y.hi()), (end, y.lo())],
            SHADE.mix(SHADE_OPACITY).filled(),
        );
        chart.draw_series(iter::once(band)).map_err(drawing)?;
    }
    let shown: Vec<&Threshold> = plot
        .thresholds
        .iter()
        .filter(|t| y.contains(t.value))
        .collect();
    for t in &shown {
        let line = [(plot.from, t.value), (plot.to, t.value)];
        chart
            .draw_series(DashedLineSeries::new(
                line,
                14,
                10,
                THRESHOLD.stroke_width(2),
            ))
            .map_err(drawing)?;
    }
    for (index, segments) in lines.iter().enumerate() {
        let colour = style::series_colour(index);
        for segment in segments {
            if let [lone] = segment {
                let dot = Circle::new(*lone, DOT_RADIUS, colour.filled());
                chart.draw_series(iter::once(dot)).map_err(drawing)?;
            } else {
                let line =
                    LineSeries::new(segment.iter().copied(), colour.stroke_width(LINE_WIDTH));
                chart.draw_series(line).map_err(drawing)?;
            }
        }
    }
    // Threshold labels last, so no line is drawn over them.
    let above_right = labels.pos(Pos::new(HPos::Right, VPos::Bottom));
    for t in shown {
        let label = if t.label.is_empty() {
            format_value(plot.unit, t.value)
        } else {
            t.label.clone()
        };
        let text = EmptyElement::at((plot.to, t.value)) + Text::new(label, (-6, -2), &above_right);
        chart.draw_series(iter::once(text)).map_err(drawing)?;
    }
    Ok(())
}

fn encode(pixels: &[u8]) -> Result<Vec<u8>, RenderError> {
    let mut png = Vec::with_capacity(128 * 1024);
    let mut encoder = png::Encoder::new(&mut png, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // A chart is mostly flat colour: the fast encoder compresses it nearly as well as the default.
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels)?;
    writer.finish()?;
    Ok(png)
}
