//! Telegram's HTML parse mode and its length rule: what may stand in a message's text, escaped, and
//! how long Telegram counts it. Used by whatever composes a message (alerts, bot replies, member
//! notices) and, for escaping, by email's HTML.

/// Telegram's limit on message text, after entities.
pub const MAX_MESSAGE_LEN: usize = 4096;

/// Escapes text for Telegram's HTML parse mode (and for email HTML).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// `text` as a person may read it: control characters other than line breaks and tabs (NUL, escape
/// sequences, a lone carriage return), which Telegram refuses and terminals and mail clients misread,
/// become U+FFFD. Labels and annotations are stored verbatim; this is for what leaves the service.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unwanted = |c: char| c.is_control() && c != '\n' && c != '\t';
    if text.contains(unwanted) {
        text.replace(unwanted, "\u{FFFD}").into()
    } else {
        text.into()
    }
}

/// What Telegram counts: the text without tags, entities as one character, in UTF-16 code units.
pub fn visible_len(html: &str) -> usize {
    let mut len = 0;
    let mut chars = html.chars();
    while let Some(c) = chars.next() {
        match c {
            '<' => {
                for c in chars.by_ref() {
                    if c == '>' {
                        break;
                    }
                }
            }
            '&' => {
                for c in chars.by_ref() {
                    if c == ';' {
                        break;
                    }
                }
                len += 1;
            }
            c => len += c.len_utf16(),
        }
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_length_counts_like_telegram() {
        assert_eq!(visible_len("<b>a&amp;b</b>"), 3);
        assert_eq!(visible_len("🔴"), 2, "UTF-16 code units");
        assert_eq!(visible_len("<a href=\"x\">link</a>"), 4);
    }
}
