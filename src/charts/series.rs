//! PLACEHOLDER until the renderer lands: the shared data types.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Series {
    pub name: String,
    pub points: Vec<(i64, f64)>,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Bytes,
    BytesPerSecond,
    Seconds,
    Ratio,
    Percent,
    PerSecond,
    Count,
    None,
}
impl Unit {
    pub const NAMES: &[&str] = &[
        "bytes", "bytes/s", "seconds", "ratio", "percent", "ops/s", "count", "none",
    ];
    pub fn parse(s: &str) -> Option<Unit> {
        Some(match s {
            "bytes" => Unit::Bytes,
            "bytes/s" => Unit::BytesPerSecond,
            "seconds" => Unit::Seconds,
            "ratio" => Unit::Ratio,
            "percent" => Unit::Percent,
            "ops/s" | "per_second" => Unit::PerSecond,
            "count" => Unit::Count,
            "none" => Unit::None,
            _ => return None,
        })
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub value: f64,
    pub label: String,
}
pub struct Stats {
    pub last: Option<f64>,
    pub min: f64,
    pub max: f64,
    pub avg: f64,
}
impl Series {
    pub fn stats(&self) -> Option<Stats> {
        let finite: Vec<f64> = self
            .points
            .iter()
            .map(|p| p.1)
            .filter(|v| v.is_finite())
            .collect();
        if finite.is_empty() {
            return None;
        }
        Some(Stats {
            last: self.points.last().map(|p| p.1).filter(|v| v.is_finite()),
            min: finite.iter().copied().fold(f64::INFINITY, f64::min),
            max: finite.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            avg: finite.iter().sum::<f64>() / finite.len() as f64,
        })
    }
}
pub fn format_value(_unit: Unit, v: f64) -> String {
    format!("{v}")
}
pub fn render_png(_plot: &Plot) -> Result<Vec<u8>, RenderError> {
    Err(RenderError::NoData)
}
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("no data for this range")]
    NoData,
}
pub struct Plot<'a> {
    pub title: &'a str,
    pub unit: Unit,
    pub from: i64,
    pub to: i64,
    pub step: i64,
    pub series: &'a [Series],
    pub thresholds: &'a [Threshold],
    pub shade: Option<(i64, i64)>,
    pub utc_offset: chrono::FixedOffset,
}
pub fn limit_series(series: Vec<Series>, _max: usize) -> Vec<Series> {
    series
}
