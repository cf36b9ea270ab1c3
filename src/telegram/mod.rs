//! Telegram as the bot and delivery both meet it: its HTML and length rules (`html`), its rate
//! limits kept before sending (`throttle`, one shared by bot replies and the delivery worker), the
//! Bot API client (`client`: building the `Bot`, deadlines, classifying errors, the patient send)
//! and whether Telegram answers at all, and why not (`reach`). Calls only `config`; knows nothing of
//! alerts, the store or the bot's handlers.

pub mod client;
pub mod html;
pub mod reach;
pub mod throttle;
