//! Photos through the fake: sent and replaced with teloxide as the service sends them (an upload
//! from memory, an HTML caption, an inline keyboard), and refused as Telegram refuses them.

use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::{
    ChatId, InputFile, InputMedia, InputMediaPhoto, MessageId, ParseMode, PhotoSize,
};
use teloxide::{ApiError, RequestError};

use super::{api_error, bot, keyboard};
use crate::support::fake_telegram::FakeTelegram;

/// A real grey PNG of this size, as the `png` crate encodes it.
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer
        .write_image_data(&vec![128; (width * height) as usize])
        .unwrap();
    writer.finish().unwrap();
    bytes
}

/// A PNG that claims this size: the fake reads only the header, and a real image this large would
/// take the test long to encode.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = png(1, 1);
    // The signature (8 bytes), then IHDR's length and type (8), then width and height.
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    bytes
}

/// The start of a baseline JPEG of this size: SOI, an APP0 (JFIF) segment, then SOF0.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
    bytes.extend(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    bytes.extend([0xFF, 0xC0, 0, 11, 8]);
    bytes.extend(height.to_be_bytes());
    bytes.extend(width.to_be_bytes());
    bytes.extend([1, 1, 0x11, 0, 0xFF, 0xD9]);
    bytes
}

fn chart(bytes: &[u8]) -> InputFile {
    InputFile::memory(bytes.to_vec()).file_name("chart.png")
}

fn media(bytes: &[u8], caption: &str) -> InputMedia {
    let photo = InputMediaPhoto::new(chart(bytes))
        .caption(caption)
        .parse_mode(ParseMode::Html);
    InputMedia::Photo(photo)
}

/// The description of an error teloxide has no variant for.
fn unknown<T: std::fmt::Debug>(result: Result<T, RequestError>) -> String {
    match api_error(result) {
        ApiError::Unknown(description) => description,
        other => panic!("expected an error teloxide does not know, got {other:?}"),
    }
}

fn largest(message: &Message) -> &PhotoSize {
    let sizes = message.photo().expect("a photo message");
    sizes.iter().max_by_key(|s| s.width * s.height).unwrap()
}

#[tokio::test]
async fn a_photo_is_stored_with_its_bytes_caption_and_keyboard() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let image = png(100, 50);

    let sent = bot
        .send_photo(ChatId(1), chart(&image))
        .caption("<b>cpu</b> &lt; 90%")
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard("ack:1"))
        .await
        .unwrap();
    assert_eq!(sent.caption(), Some("cpu < 90%"));
    let size = largest(&sent);
    assert_eq!((size.width, size.height), (100, 50));
    assert_eq!(size.file.size as usize, image.len());
    assert!(sent.reply_markup().is_some());

    let stored = fake
        .newest_photo_containing(1, "cpu", Duration::from_secs(5))
        .await;
    assert_eq!(stored.photo.as_deref(), Some(&image[..]), "the exact bytes");
    assert_eq!(stored.text, "<b>cpu</b> &lt; 90%");
    let markup = stored.reply_markup.as_ref().unwrap();
    assert_eq!(markup["inline_keyboard"][0][0]["callback_data"], "ack:1");

    // The upload travels as a file part that the `photo` field attaches.
    let call = &fake.calls_to("sendPhoto")[0];
    let part = call.params["photo"].as_str().unwrap();
    let part = part.strip_prefix("attach://").unwrap();
    assert_eq!(call.params[part]["file_name"], "chart.png");
    assert_eq!(call.params[part]["size"], image.len());

    // Sent again by its file_id, without a caption; a JPEG is a photo too.
    let again = bot
        .send_photo(ChatId(2), InputFile::file_id(size.file.id.clone()))
        .await
        .unwrap();
    assert_eq!(again.caption(), None);
    let jpeg = bot
        .send_photo(ChatId(3), chart(&jpeg_claiming(640, 480)))
        .await
        .unwrap();
    assert_eq!((largest(&jpeg).width, largest(&jpeg).height), (640, 480));
    assert_eq!(fake.photos(2)[0].photo.as_deref(), Some(&image[..]));
    assert_eq!(fake.photos(1).len(), 1);
}

#[tokio::test]
async fn photos_are_refused_as_telegram_refuses_them() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let send = |chat: i64, bytes: &[u8]| bot.send_photo(ChatId(chat), chart(bytes));
    let image = png(100, 50);

    let long = send(1, &image).caption("x".repeat(1025)).await;
    assert_eq!(unknown(long), "Bad Request: message caption is too long");
    let markup = send(1, &image)
        .caption("<b>open")
        .parse_mode(ParseMode::Html)
        .await;
    assert!(matches!(api_error(markup), ApiError::CantParseEntities(_)));
    let text = send(1, b"cpu,load\n1,2\n").await;
    assert_eq!(api_error(text), ApiError::ImageProcessFailed);
    let empty = send(1, b"").await;
    assert_eq!(unknown(empty), "Bad Request: file must be non-empty");
    for (width, height) in [(10_001, 1), (5_001, 5_000), (2_100, 100), (0, 10)] {
        let answer = send(1, &png_claiming(width, height)).await;
        assert_eq!(
            unknown(answer),
            "Bad Request: PHOTO_INVALID_DIMENSIONS",
            "{width}×{height}"
        );
    }
    let mut huge = png(1, 1);
    huge.resize(10 * 1024 * 1024 + 1, 0);
    assert_eq!(
        api_error(send(1, &huge).await),
        ApiError::RequestEntityTooLarge
    );
    assert!(fake.messages(1).is_empty());
    assert_eq!(fake.too_many_requests(), 0, "refusals use no flood budget");

    // At the limits: 1024 visible characters (4096 bytes of HTML), sides of ratio 20.
    send(2, &png(2000, 100))
        .caption(format!("<b>{}</b>", "&lt;".repeat(1024)))
        .parse_mode(ParseMode::Html)
        .await
        .unwrap();
    // And a photo counts against flood control like a message.
    let flooded = bot.send_message(ChatId(2), "next").await;
    assert!(matches!(flooded, Err(RequestError::RetryAfter(_))));
}

#[tokio::test]
async fn edit_message_media_replaces_the_photo_caption_and_keyboard() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let (chat, id) = (ChatId(4), MessageId(1));
    let (before, after) = (png(100, 50), png(200, 100));
    bot.send_photo(chat, chart(&before))
        .caption("<i>firing</i>")
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard("ack:4"))
        .await
        .unwrap();
    fake.pass_time(Duration::from_secs(1));

    let edited = bot
        .edit_message_media(chat, id, media(&after, "<i>resolved</i>"))
        .reply_markup(keyboard("silence:4"))
        .await
        .unwrap();
    assert_eq!(edited.caption(), Some("resolved"));
    assert_eq!(largest(&edited).width, 200);
    assert!(edited.edit_date().is_some());
    let stored = &fake.photos(4)[0];
    assert_eq!(stored.photo.as_deref(), Some(&after[..]));
    assert_eq!(stored.text, "<i>resolved</i>");
    let markup = stored.reply_markup.as_ref().unwrap();
    assert_eq!(
        markup["inline_keyboard"][0][0]["callback_data"],
        "silence:4"
    );
    assert_eq!(stored.edits, 1);

    let same = bot
        .edit_message_media(chat, id, media(&after, "<i>resolved</i>"))
        .reply_markup(keyboard("silence:4"))
        .await;
    assert_eq!(api_error(same), ApiError::MessageNotModified);
    // A real change within a second of the accepted edit is flood-limited.
    let soon = bot
        .edit_message_media(chat, id, media(&before, "<i>resolved</i>"))
        .await;
    assert!(matches!(soon, Err(RequestError::RetryAfter(_))));
    fake.pass_time(Duration::from_secs(1));
    let without_keyboard = bot
        .edit_message_media(chat, id, media(&before, "<i>resolved</i>"))
        .await
        .unwrap();
    assert!(without_keyboard.reply_markup().is_none());
    let stored = &fake.photos(4)[0];
    assert_eq!(
        (stored.photo.as_deref(), stored.edits),
        (Some(&before[..]), 2)
    );

    let as_text = bot.edit_message_text(chat, id, "text").await;
    assert_eq!(
        unknown(as_text),
        "Bad Request: there is no text in the message to edit"
    );
}

#[tokio::test]
async fn edit_message_media_needs_a_photo_message_and_a_valid_photo() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let chat = ChatId(5);
    bot.send_message(chat, "text").await.unwrap();
    bot.send_photo(ChatId(6), chart(&png(10, 10)))
        .await
        .unwrap();
    let image = png(100, 50);

    let on_text = bot
        .edit_message_media(chat, MessageId(1), media(&image, "x"))
        .await;
    assert_eq!(
        unknown(on_text),
        "Bad Request: there is no media in the message to edit"
    );
    let missing = bot
        .edit_message_media(chat, MessageId(9), media(&image, "x"))
        .await;
    assert_eq!(api_error(missing), ApiError::MessageToEditNotFound);
    let not_an_image = bot
        .edit_message_media(ChatId(6), MessageId(1), media(b"<svg/>", "x"))
        .await;
    assert_eq!(api_error(not_an_image), ApiError::ImageProcessFailed);
    let long = bot
        .edit_message_media(ChatId(6), MessageId(1), media(&image, &"x".repeat(1025)))
        .await;
    assert_eq!(unknown(long), "Bad Request: message caption is too long");
    assert_eq!(fake.photos(6)[0].edits, 0);
    assert_eq!(fake.messages(5)[0].text, "text");
}
