//! Photos in the fake Bot API: `sendPhoto` and `editMessageMedia`, with Telegram's checks of the
//! upload (size, format, dimensions) and of the caption, and the accessors tests read photos with.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::Digest;

use super::{
    Answer, Failure, FakeTelegram, Files, SentMessage, State, Upload, api_error, bad_request,
    inline_keyboard, int, not_modified, now_unix, parse_text, reply_keyboard, upload,
};

/// Telegram's limit on a caption, counted like message text after entity parsing.
const MAX_CAPTION_UTF16: usize = 1024;
/// Telegram's limit on an uploaded photo.
const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A photo that passed Telegram's checks, with its caption as sent and as seen.
struct Photo {
    bytes: Vec<u8>,
    caption: String,
    visible: String,
}

impl State {
    pub(super) fn send_photo(&mut self, p: &Value, files: &Files, now: Instant) -> Answer {
        let chat_id = self.chat(p)?;
        let photo = self.photo(p, files, "photo")?;
        let reply_markup = inline_keyboard(p)?;
        let reply_keyboard = reply_keyboard(p, chat_id)?;
        self.flood_control(chat_id, now)?;
        let message = SentMessage {
            chat_id,
            message_id: 0,
            text: photo.caption,
            photo: Some(photo.bytes),
            reply_markup,
            reply_keyboard,
            edits: 0,
            sent_at: now,
        };
        Ok(self.store(message, photo.visible))
    }

    /// Replaces a photo (and its caption and keyboard) in place.
    pub(super) fn edit_media(&mut self, p: &Value, files: &Files, now: Instant) -> Answer {
        let chat_id = self.chat(p)?;
        // A multipart field arrives parsed when it is JSON; anything else is unreadable.
        let media = p.get("media").filter(|m| m.is_object());
        let media = media.ok_or_else(|| bad_request("can't parse InputMedia JSON object"))?;
        if media["type"] != "photo" {
            return Err(bad_request(format!(
                "the fake Bot API edits photos only, not {}",
                media["type"]
            )));
        }
        let photo = self.photo(media, files, "media")?;
        let reply_markup = inline_keyboard(p)?;
        let found = self.find(chat_id, int(p, "message_id"));
        let index = found.ok_or_else(|| bad_request("message to edit not found"))?;
        let current = &self.messages[index].message;
        let Some(old) = &current.photo else {
            return Err(bad_request("there is no media in the message to edit"));
        };
        if *old == photo.bytes
            && current.text == photo.caption
            && current.reply_markup == reply_markup
        {
            return Err(not_modified());
        }
        self.flood_control(chat_id, now)?;
        let stored = &mut self.messages[index];
        stored.message.photo = Some(photo.bytes);
        stored.message.text = photo.caption;
        stored.visible = photo.visible;
        // As with Telegram, an edit without reply_markup removes the keyboard.
        stored.message.reply_markup = reply_markup;
        stored.message.edits += 1;
        stored.edit_date = Some(now_unix());
        Ok(super::message_json(stored))
    }

    /// The photo in `p[key]` with `p`'s caption, checked as Telegram checks them.
    fn photo(&self, p: &Value, files: &Files, key: &str) -> Result<Photo, Failure> {
        let bytes = match upload(p, files, key) {
            Upload::File(bytes) => bytes.to_vec(),
            // A photo sent before may be sent again by its file_id.
            Upload::Reference(id) => self
                .messages
                .iter()
                .filter_map(|s| s.message.photo.as_ref())
                .find(|photo| file_ids(photo).0 == id)
                .cloned()
                .ok_or_else(|| bad_request("wrong file identifier/HTTP URL specified"))?,
            Upload::Missing => return Err(bad_request("there is no photo in the request")),
        };
        checked_dimensions(&bytes)?;
        let caption = p["caption"].as_str().unwrap_or_default().to_owned();
        let visible = parse_text(&caption, p)?;
        if visible.encode_utf16().count() > MAX_CAPTION_UTF16 {
            return Err(bad_request("message caption is too long"));
        }
        Ok(Photo {
            bytes,
            caption,
            visible,
        })
    }
}

/// The width and height of a PNG or JPEG, refused as Telegram refuses photos.
fn checked_dimensions(bytes: &[u8]) -> Result<(u32, u32), Failure> {
    if bytes.is_empty() {
        return Err(bad_request("file must be non-empty"));
    }
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(api_error(413, "Request Entity Too Large"));
    }
    let size = dimensions(bytes).ok_or_else(|| bad_request("IMAGE_PROCESS_FAILED"))?;
    let (long, short) = (u64::from(size.0.max(size.1)), u64::from(size.0.min(size.1)));
    // A sum of at most 10000 also keeps each side within 10000.
    if short == 0 || long + short > 10_000 || long > 20 * short {
        return Err(bad_request("PHOTO_INVALID_DIMENSIONS"));
    }
    Ok(size)
}

fn dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    png_dimensions(bytes).or_else(|| jpeg_dimensions(bytes))
}

/// A PNG's width and height, from the IHDR chunk that must come first.
fn png_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let chunk = bytes.strip_prefix(PNG_SIGNATURE)?;
    if chunk.get(4..8)? != b"IHDR" {
        return None;
    }
    let be = |at: usize| Some(u32::from_be_bytes(chunk.get(at..at + 4)?.try_into().ok()?));
    Some((be(8)?, be(12)?))
}

/// A JPEG's width and height, from its first start-of-frame segment.
fn jpeg_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut at = 2;
    loop {
        let &[0xFF, marker, high, low] = bytes.get(at..at + 4)? else {
            return None;
        };
        // SOF0 to SOF15, less DHT, JPG and DAC, which share the range.
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let &[_precision, h1, h0, w1, w0] = bytes.get(at + 4..at + 9)? else {
                return None;
            };
            let side = |high, low| u32::from(u16::from_be_bytes([high, low]));
            return Some((side(w1, w0), side(h1, h0)));
        }
        at += 2 + usize::from(u16::from_be_bytes([high, low]));
    }
}

/// A message's `photo`: the size as uploaded only (Telegram adds smaller ones, which the service
/// never reads).
pub(super) fn sizes(photo: &[u8]) -> Value {
    let (width, height) = dimensions(photo).unwrap_or_default();
    let (file_id, file_unique_id) = file_ids(photo);
    json!([{
        "file_id": file_id, "file_unique_id": file_unique_id, "width": width, "height": height,
        "file_size": photo.len(),
    }])
}

/// A photo's file_id and file_unique_id: the same bytes always get the same ids.
fn file_ids(photo: &[u8]) -> (String, String) {
    let hash: String = sha2::Sha256::digest(photo)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (
        format!("AgACAgQAAx0{}", &hash[..40]),
        format!("AQAD{}", &hash[..16]),
    )
}

impl FakeTelegram {
    /// The photo messages in a chat as they stand now, in the order they were sent.
    pub fn photos(&self, chat_id: i64) -> Vec<SentMessage> {
        let mut photos = self.messages(chat_id);
        photos.retain(|m| m.photo.is_some());
        photos
    }

    /// The newest photo in `chat` whose caption contains `needle`, once there is one.
    pub async fn newest_photo_containing(
        &self,
        chat: i64,
        needle: &str,
        limit: Duration,
    ) -> SentMessage {
        let needle = needle.to_owned();
        let what = format!("a photo captioned {needle:?} in chat {chat}");
        self.wait_for(&what, limit, move |t| {
            t.photos(chat)
                .into_iter()
                .rev()
                .find(|m| m.text.contains(&needle))
        })
        .await
    }
}
