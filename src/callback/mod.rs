//! Inline buttons: what a press means ([`Callback`], written as a payload) and the one way a keyboard
//! reaches Telegram ([`Keyboard`]). A button carries only a short token; its payload is recorded in the
//! store against the message Telegram answered with, so a press is honoured only on the message the
//! bot put that button on (forged data, or data copied from another message, finds nothing).
//!
//! `payload` is the type and its encoding, `parse` reads a payload back (refusing anything this
//! service does not write), `keyboard` makes the buttons, records them and checks a press.

mod keyboard;
mod parse;
mod payload;

pub use keyboard::{Keyboard, Prepared, pressed};
pub use payload::{Callback, MAX_CHOICE, MAX_PAGE, SILENCE_HOURS, TokenScope, token_name_ok};

#[cfg(test)]
mod tests;
