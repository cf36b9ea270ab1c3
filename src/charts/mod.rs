//! Prometheus metrics as PNG charts for Telegram: the data types everyone passes around
//! (`series`), values written for people (`units`), and the renderer (`render`, with its `axis`,
//! `gaps`, `legend` and `style`). Pure computation: calls no other module of the service.

mod axis;
mod gaps;
mod legend;
mod limit;
mod render;
pub mod series;
mod style;
mod units;

pub use limit::limit_series;
pub use render::{HEIGHT, RenderError, WIDTH, render_png};
pub use series::{Plot, Series, Stats, Threshold, Unit};
pub use units::format_value;
