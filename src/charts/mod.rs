//! Metrics in chat. The catalogue of charts and health-card rows (`catalogue`), the Prometheus HTTP
//! API (`prometheus`), queries filled for a database and a time window (`fetch`, `alert`, `status`),
//! and the PNG renderer (`render`, with its `axis`, `gaps`, `legend`, `style`, `units`), all behind
//! `service`, which the bot and the REST API call. Reads the config; calls nothing of the bot or HTTP.

pub mod alert;
mod axis;
pub mod catalogue;
pub mod fetch;
mod gaps;
mod legend;
mod limit;
pub mod prometheus;
mod render;
pub mod series;
pub mod service;
pub mod status;
mod style;
mod units;

pub use axis::zone_name;
pub use catalogue::{Chart, ChartQuery, Charts, StatusRow};
pub use limit::{OTHER, limit_series};
pub use render::{HEIGHT, WIDTH, render_png};
pub use series::{Plot, Series, Stats, Threshold, Unit};
pub use style::RenderError;
pub use units::format_value;
