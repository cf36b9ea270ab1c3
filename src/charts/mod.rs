//! Metrics in chat: the charts catalogue, Prometheus queries and the PNG renderer.

pub mod alert;
pub mod catalogue;
pub mod fetch;
pub mod prometheus;
pub mod series;
pub mod service;
pub mod status;

pub use catalogue::{Chart, ChartQuery, Charts, StatusRow};
pub use series::{Series, Threshold, Unit, format_value, limit_series};
