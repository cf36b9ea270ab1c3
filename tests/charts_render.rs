//! The chart renderer seen from outside: the PNGs it makes are decoded and their pixels checked
//! where the plot, its gaps, the legend and the title must be. No golden images: only facts that
//! any faithful rendering has (a series' colour where its line is, none where its data is missing).
#![allow(clippy::unwrap_used)]

use chrono::FixedOffset;
use postgram::charts::{HEIGHT, Plot, RenderError, Series, Threshold, Unit, WIDTH, render_png};
use postgram::i18n::Lang;

// The series colours, in order (the renderer's palette, which these tests pin down).
const BLUE: [u8; 3] = [31, 119, 180];
const ORANGE: [u8; 3] = [255, 127, 14];
const GREEN: [u8; 3] = [44, 160, 44];
const WHITE: [u8; 3] = [255, 255, 255];

const NOW: i64 = 1_796_047_620;
const STEP: i64 = 60;
const HOUR: i64 = 3600;

struct Image {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Image {
    fn decode(png: &[u8]) -> Image {
        let mut reader = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut rgb).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        Image {
            width: info.width as usize,
            height: info.height as usize,
            rgb,
        }
    }

    fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let at = (y * self.width + x) * 3;
        [self.rgb[at], self.rgb[at + 1], self.rgb[at + 2]]
    }

    /// The pixels in columns `xs` and rows `ys` that satisfy `test`.
    fn count(
        &self,
        xs: std::ops::Range<usize>,
        ys: std::ops::Range<usize>,
        test: impl Fn([u8; 3]) -> bool,
    ) -> usize {
        ys.flat_map(|y| xs.clone().map(move |x| (x, y)))
            .filter(|&(x, y)| test(self.pixel(x, y)))
            .count()
    }

    /// The columns, above `bottom`, where `colour` appears.
    fn columns_of(&self, colour: [u8; 3], bottom: usize) -> Vec<usize> {
        (0..self.width)
            .filter(|&x| (0..bottom).any(|y| self.pixel(x, y) == colour))
            .collect()
    }
}

fn wave(name: &str, from: i64, to: i64, base: f64) -> Series {
    Series {
        name: name.to_owned(),
        points: (from..=to)
            .step_by(STEP as usize)
            .map(|t| (t, base + 10.0 * ((t - from) as f64 / 600.0).sin()))
            .collect(),
    }
}

fn plot<'a>(title: &'a str, series: &'a [Series]) -> Plot<'a> {
    Plot {
        title,
        unit: Unit::Count,
        from: NOW - 6 * HOUR,
        to: NOW,
        step: STEP,
        series,
        thresholds: &[],
        shade: None,
        utc_offset: FixedOffset::east_opt(3 * 3600).unwrap(),
        lang: Lang::En,
    }
}

/// Rows above this hold only the title and the plot (the legend of up to one row lies below).
const ABOVE_LEGEND: usize = HEIGHT as usize - 70;

#[test]
fn a_chart_is_a_full_size_png_with_its_lines_and_legend() {
    let series = [
        wave("connections", NOW - 6 * HOUR, NOW, 50.0),
        wave("idle", NOW - 6 * HOUR, NOW, 30.0),
        wave("active", NOW - 6 * HOUR, NOW, 10.0),
    ];
    let image = Image::decode(&render_png(&plot("Connections", &series)).unwrap());
    assert_eq!(
        (image.width, image.height),
        (WIDTH as usize, HEIGHT as usize)
    );

    // The plot area (well inside the axes) is drawn on, each line long and thick.
    let (plot_x, plot_y) = (200..1150, 90..520);
    let inked = image.count(plot_x.clone(), plot_y.clone(), |p| p != WHITE);
    let area = plot_x.len() * plot_y.len();
    assert!(inked * 100 > area * 2, "{inked} of {area} pixels drawn");
    for colour in [BLUE, ORANGE, GREEN] {
        let line = image.count(plot_x.clone(), plot_y.clone(), |p| p == colour);
        assert!(line > 2000, "{colour:?}: {line} pixels");
    }

    // Each series' colour is in the legend under the plot, where no line reaches.
    for colour in [BLUE, ORANGE, GREEN] {
        let marks = image.count(0..image.width, ABOVE_LEGEND..image.height, |p| p == colour);
        assert!(marks >= 200, "{colour:?} in the legend: {marks} pixels");
    }
}

#[test]
fn a_gap_in_the_data_is_a_gap_in_the_line() {
    // An hour-long hole in the middle of the range: two runs, never joined.
    let from = NOW - 3 * HOUR;
    let mut series = wave("replication lag", from, NOW, 100.0);
    series
        .points
        .retain(|&(t, _)| t < from + HOUR || t >= from + 2 * HOUR);
    // A NaN makes no bridge either.
    series.points.insert(60, (from + HOUR, f64::NAN));
    let series = [series];
    let mut plot = plot("Lag", &series);
    plot.from = from;
    let image = Image::decode(&render_png(&plot).unwrap());

    let columns = image.columns_of(BLUE, ABOVE_LEGEND);
    let (left, right) = (columns[0], *columns.last().unwrap());
    let span = (right - left) as f64;
    let hole = (left + (span * 0.35) as usize)..(left + (span * 0.65) as usize);
    assert!(
        columns.iter().all(|x| !hole.contains(x)),
        "line pixels in the hole's columns {hole:?}"
    );
    // Both sides of the hole are drawn.
    assert!(columns.iter().filter(|&&x| x < hole.start).count() > 200);
    assert!(columns.iter().filter(|&&x| x >= hole.end).count() > 200);
}

#[test]
fn a_lone_point_between_gaps_is_a_dot() {
    let from = NOW - 3 * HOUR;
    let mut series = wave("standby", from, NOW, 100.0);
    series
        .points
        .retain(|&(t, _)| t < from + HOUR || t == from + 90 * 60 || t >= from + 2 * HOUR);
    let series = [series];
    let mut plot = plot("Lone", &series);
    plot.from = from;
    let image = Image::decode(&render_png(&plot).unwrap());

    let columns = image.columns_of(BLUE, ABOVE_LEGEND);
    let (left, right) = (columns[0], *columns.last().unwrap());
    let span = (right - left) as f64;
    let middle = (left + (span * 0.4) as usize)..(left + (span * 0.6) as usize);
    let dot = image.count(middle, 0..ABOVE_LEGEND, |p| p == BLUE);
    assert!((40..400).contains(&dot), "{dot} pixels of the lone point");
}

#[test]
fn no_finite_point_is_no_data_not_an_empty_frame() {
    let empty = [Series {
        name: "nothing".into(),
        points: vec![],
    }];
    assert!(matches!(
        render_png(&plot("x", &empty)),
        Err(RenderError::NoData)
    ));
    assert!(matches!(
        render_png(&plot("x", &[])),
        Err(RenderError::NoData)
    ));
    let nan = [Series {
        name: "all NaN".into(),
        points: (0..100)
            .map(|i| (NOW - 6 * HOUR + i * STEP, f64::NAN))
            .collect(),
    }];
    assert!(matches!(
        render_png(&plot("x", &nan)),
        Err(RenderError::NoData)
    ));
    let elsewhere = [wave("yesterday", NOW - 30 * HOUR, NOW - 24 * HOUR, 1.0)];
    let error = render_png(&plot("x", &elsewhere)).unwrap_err();
    assert_eq!(error.to_string(), "no data for this range");
}

#[test]
fn cyrillic_titles_and_names_render_as_letters() {
    let ink = |title: &str| {
        let series = [wave("база «заказы»", NOW - 6 * HOUR, NOW, 5.0)];
        let image = Image::decode(&render_png(&plot(title, &series)).unwrap());
        let title_area: Vec<bool> = (0..60)
            .flat_map(|y| (0..image.width).map(move |x| (x, y)))
            .map(|(x, y)| image.pixel(x, y)[0] < 128)
            .collect();
        title_area
    };
    let first = ink("Шум на диске");
    let second = ink("Жук на крыше");
    assert!(first.iter().filter(|&&dark| dark).count() > 500);
    assert!(second.iter().filter(|&&dark| dark).count() > 500);
    // A font without these letters would draw the same empty box for each of them.
    assert_ne!(first, second);
}

#[test]
fn the_firing_span_is_shaded_and_thresholds_are_lines() {
    let series = [wave("load", NOW - 6 * HOUR, NOW, 50.0)];
    let thresholds = [Threshold {
        value: 70.0,
        label: "критично".into(),
    }];
    let mut plot = plot("Load", &series);
    plot.thresholds = &thresholds;
    // Starts before the range: clipped to it.
    plot.shade = Some((NOW - 8 * HOUR, NOW - 3 * HOUR));
    let image = Image::decode(&render_png(&plot).unwrap());

    // White under the translucent red: reddish, lighter than any line.
    let shaded = |p: [u8; 3]| p[0] > 240 && (200..245).contains(&p[1]) && p[1] > p[2] - 10;
    let left = image.count(200..600, 90..520, shaded);
    let right = image.count(700..1150, 90..520, shaded);
    assert!(left > 50_000, "{left} shaded pixels in the firing span");
    assert!(right < 1000, "{right} shaded pixels after it");
    let dashes = image.count(200..1150, 90..520, |p| p == [90, 90, 90]);
    assert!(dashes > 800, "{dashes} threshold pixels");
}
