//! An SMTP server for tests: accepts every message on a loopback port and keeps it for inspection.
//!
//! It speaks enough SMTP for lettre (EHLO/HELO, AUTH PLAIN and LOGIN with any credentials, MAIL, RCPT,
//! DATA, RSET, NOOP, QUIT; no STARTTLS), and can be told to refuse senders with a given reply code or
//! to be down. Received messages are kept raw, with helpers to read the decoded subject and MIME parts.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};

/// One message the sink accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender (MAIL FROM), without angle brackets.
    pub from: String,
    /// The envelope recipients (RCPT TO), in order, without angle brackets.
    pub to: Vec<String>,
    /// The raw message as transmitted after DATA, dot-stuffing undone, lines ending in CRLF.
    pub data: String,
    /// The Subject header, unfolded and with RFC 2047 encoded words decoded.
    pub subject: String,
    /// The user the session authenticated as, if it did.
    pub auth_user: Option<String>,
}

impl ReceivedMail {
    /// A header of the top-level entity, unfolded (raw: encoded words are left as they are).
    pub fn header(&self, name: &str) -> Option<String> {
        header(split_entity(&self.data).0, name)
    }

    /// The decoded body of the first part whose media type is `content_type` (e.g. `text/plain`),
    /// searching nested multiparts; quoted-printable and base64 are undone and CRLF becomes `\n`.
    pub fn part(&self, content_type: &str) -> Option<String> {
        find_part(&self.data, content_type)
    }
}

#[derive(Default)]
struct State {
    mails: Vec<ReceivedMail>,
    /// Reply codes for the next MAIL FROM commands, one each.
    refusals: VecDeque<u16>,
    down: bool,
    /// The verb of every command received, in any session, in order.
    verbs: Vec<String>,
}

/// A handle on a running sink; clones share it. The server runs until the test's runtime ends.
#[derive(Clone)]
pub struct SmtpSink {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl SmtpSink {
    /// Starts a sink on 127.0.0.1 and a free port.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    // A client hanging up mid-session is its business, not a test failure.
                    let _ = serve(stream, state).await;
                });
            }
        });
        SmtpSink { port, state }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The sink's URL as a config's `smtp.url`: cleartext, so without credentials.
    pub fn url(&self) -> String {
        format!("smtp+plain://127.0.0.1:{}", self.port)
    }

    /// The verb of every command received so far (`EHLO`, `AUTH`, …), oldest first.
    pub fn verbs(&self) -> Vec<String> {
        self.state.lock().unwrap().verbs.clone()
    }

    /// Every message accepted so far, oldest first.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.state.lock().unwrap().mails.clone()
    }

    /// The next `times` MAIL FROM commands (in any session) are answered with `code` (451: try again
    /// later, 550: refused for good) instead of 250.
    pub fn refuse_next(&self, times: usize, code: u16) {
        let mut state = self.state.lock().unwrap();
        state.refusals.extend(std::iter::repeat_n(code, times));
    }

    /// While down, every new connection is greeted with 421 and closed; open sessions carry on.
    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    /// Waits until at least `count` messages arrived and returns all of them; panics after `limit`.
    pub async fn wait_for_mail(&self, count: usize, limit: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let mails = self.received();
            if mails.len() >= count {
                return mails;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "expected {count} emails within {limit:?}, got {}: {mails:#?}",
                    mails.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// One SMTP session.
async fn serve(stream: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let down = state.lock().unwrap().down;
    if down {
        return reply(&mut write, "421 4.3.2 service not available").await;
    }
    reply(&mut write, "220 sink.test ESMTP ready").await?;

    let mut auth_user: Option<String> = None;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    while let Some(line) = read_line(&mut read).await? {
        let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let verb_upper = verb.to_ascii_uppercase();
        state.lock().unwrap().verbs.push(verb_upper.clone());
        match verb_upper.as_str() {
            "EHLO" => {
                let lines = "250-sink.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME";
                reply(&mut write, lines).await?;
            }
            "HELO" => reply(&mut write, "250 sink.test").await?,
            "AUTH" => {
                let mut words = arg.split_whitespace();
                let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
                let initial = words.next().map(str::to_owned);
                let user = match mechanism.as_str() {
                    "PLAIN" => {
                        let response = match initial {
                            Some(response) => response,
                            None => challenge(&mut read, &mut write, "").await?,
                        };
                        // authorization identity NUL authentication identity NUL password
                        decode_base64(&response)
                            .map(|plain| String::from_utf8_lossy(&plain).into_owned())
                            .and_then(|plain| plain.split('\0').nth(1).map(str::to_owned))
                    }
                    "LOGIN" => {
                        let user = match initial {
                            Some(user) => user,
                            None => challenge(&mut read, &mut write, "VXNlcm5hbWU6").await?,
                        };
                        challenge(&mut read, &mut write, "UGFzc3dvcmQ6").await?;
                        decode_base64(&user).map(|u| String::from_utf8_lossy(&u).into_owned())
                    }
                    _ => {
                        reply(&mut write, "504 5.5.4 unrecognized authentication type").await?;
                        continue;
                    }
                };
                match user {
                    Some(user) => {
                        auth_user = Some(user);
                        reply(&mut write, "235 2.7.0 authentication successful").await?;
                    }
                    None => reply(&mut write, "501 5.5.2 cannot decode response").await?,
                }
            }
            "MAIL" => {
                let refusal = state.lock().unwrap().refusals.pop_front();
                if let Some(code) = refusal {
                    reply(&mut write, &format!("{code} refused by the test sink")).await?;
                } else if let Some(address) = path(arg, "FROM:") {
                    from = Some(address);
                    to.clear();
                    reply(&mut write, "250 2.1.0 ok").await?;
                } else {
                    reply(&mut write, "501 5.5.4 syntax: MAIL FROM:<address>").await?;
                }
            }
            "RCPT" => match (&from, path(arg, "TO:")) {
                (None, _) => reply(&mut write, "503 5.5.1 MAIL first").await?,
                (Some(_), Some(address)) => {
                    to.push(address);
                    reply(&mut write, "250 2.1.5 ok").await?;
                }
                (Some(_), None) => {
                    reply(&mut write, "501 5.5.4 syntax: RCPT TO:<address>").await?;
                }
            },
            "DATA" => {
                let Some(sender) = from.take().filter(|_| !to.is_empty()) else {
                    reply(&mut write, "503 5.5.1 MAIL and RCPT first").await?;
                    continue;
                };
                reply(&mut write, "354 end data with <CR><LF>.<CR><LF>").await?;
                let data = read_data(&mut read).await?;
                let subject = header(split_entity(&data).0, "Subject")
                    .map(|subject| decode_words(&subject))
                    .unwrap_or_default();
                state.lock().unwrap().mails.push(ReceivedMail {
                    from: sender,
                    to: std::mem::take(&mut to),
                    data,
                    subject,
                    auth_user: auth_user.clone(),
                });
                reply(&mut write, "250 2.0.0 queued").await?;
            }
            "RSET" => {
                from = None;
                to.clear();
                reply(&mut write, "250 2.0.0 ok").await?;
            }
            "NOOP" => reply(&mut write, "250 2.0.0 ok").await?,
            "QUIT" => return reply(&mut write, "221 2.0.0 bye").await,
            _ => reply(&mut write, "502 5.5.2 command not implemented").await?,
        }
    }
    Ok(())
}

/// Writes a reply; `text` may hold several CRLF-separated lines.
async fn reply(write: &mut OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    write.write_all(format!("{text}\r\n").as_bytes()).await?;
    write.flush().await
}

/// One line without its line ending; `None` at end of stream.
async fn read_line(
    read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    if read.read_until(b'\n', &mut line).await? == 0 {
        return Ok(None);
    }
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    Ok(Some(String::from_utf8_lossy(&line).into_owned()))
}

/// Sends a 334 challenge and returns the client's answer.
async fn challenge(
    read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    write: &mut OwnedWriteHalf,
    text: &str,
) -> std::io::Result<String> {
    reply(write, &format!("334 {text}")).await?;
    let answer = read_line(read).await?;
    answer.ok_or_else(|| std::io::ErrorKind::UnexpectedEof.into())
}

/// The message after DATA, up to the lone `.` line, with dot-stuffing undone.
async fn read_data(
    read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<String> {
    let mut data = Vec::new();
    loop {
        let mut line = Vec::new();
        if read.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(String::from_utf8_lossy(&data).into_owned());
        }
        let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
        data.extend_from_slice(unstuffed);
    }
}

/// The address in `FROM:<address> [parameters]` (or `TO:`), without brackets.
fn path(arg: &str, prefix: &str) -> Option<String> {
    let rest = arg
        .get(..prefix.len())?
        .eq_ignore_ascii_case(prefix)
        .then(|| &arg[prefix.len()..])?;
    let rest = rest.trim_start();
    let address = match rest.strip_prefix('<') {
        Some(inner) => inner.split_once('>')?.0,
        None => rest.split_whitespace().next().unwrap_or_default(),
    };
    Some(address.to_owned())
}

/// Headers and body of a MIME entity (the body is empty when there is no blank line).
fn split_entity(entity: &str) -> (&str, &str) {
    entity
        .split_once("\r\n\r\n")
        .or_else(|| entity.split_once("\n\n"))
        .unwrap_or((entity, ""))
}

/// The unfolded value of the first header called `name` (case-insensitive) in a header block.
fn header(headers: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in headers.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some(value) = value.as_mut() {
                value.push_str(line);
            }
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((field, rest)) = line.split_once(':')
            && field.trim().eq_ignore_ascii_case(name)
        {
            value = Some(rest.trim_start().to_owned());
        }
    }
    value.map(|value| value.trim().to_owned())
}

/// A header parameter such as `boundary` from `multipart/alternative; boundary="x"`.
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|param| {
        let (key, val) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| val.trim().trim_matches('"').to_owned())
    })
}

fn find_part(entity: &str, wanted: &str) -> Option<String> {
    let (headers, body) = split_entity(entity);
    let content_type = header(headers, "Content-Type").unwrap_or_else(|| "text/plain".to_owned());
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if media_type.to_ascii_lowercase().starts_with("multipart/") {
        let boundary = parameter(&content_type, "boundary")?;
        let delimiter = format!("--{boundary}");
        // Before the first delimiter is the preamble, after the closing `--` the epilogue.
        return body
            .split(delimiter.as_str())
            .skip(1)
            .take_while(|part| !part.starts_with("--"))
            .find_map(|part| {
                let part = part.strip_prefix("\r\n").unwrap_or(part);
                // The line break before a delimiter belongs to the delimiter.
                let part = part.strip_suffix("\r\n").unwrap_or(part);
                find_part(part, wanted)
            });
    }
    if !media_type.eq_ignore_ascii_case(wanted) {
        return None;
    }
    let encoding = header(headers, "Content-Transfer-Encoding").unwrap_or_default();
    let bytes = match encoding.to_ascii_lowercase().as_str() {
        "base64" => decode_base64(body)?,
        "quoted-printable" => decode_quoted_printable(body),
        _ => body.as_bytes().to_vec(),
    };
    Some(String::from_utf8_lossy(&bytes).replace("\r\n", "\n"))
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`); whitespace between two
/// encoded words is dropped, and consecutive words are joined before UTF-8 decoding.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("=?") {
        let (before, candidate) = rest.split_at(start);
        match encoded_word(candidate) {
            Some((bytes, length)) => {
                if pending.is_empty() || !before.trim().is_empty() {
                    out.push_str(&String::from_utf8_lossy(&pending));
                    pending.clear();
                    out.push_str(before);
                }
                pending.extend(bytes);
                rest = &candidate[length..];
            }
            None => {
                out.push_str(&String::from_utf8_lossy(&pending));
                pending.clear();
                out.push_str(before);
                out.push_str("=?");
                rest = &candidate[2..];
            }
        }
    }
    out.push_str(&String::from_utf8_lossy(&pending));
    out.push_str(rest);
    out
}

/// The bytes of the encoded word at the start of `text` and its length in `text`.
fn encoded_word(text: &str) -> Option<(Vec<u8>, usize)> {
    let inner = text.strip_prefix("=?")?;
    let (_charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let (payload, _) = inner.split_once("?=")?;
    if payload.contains(char::is_whitespace) {
        return None;
    }
    let bytes = match encoding {
        "b" | "B" => decode_base64(payload)?,
        "q" | "Q" => decode_quoted_printable(&payload.replace('_', " ")),
        _ => return None,
    };
    let length = text.len() - inner.len() + payload.len() + 2;
    Some((bytes, length))
}

/// Standard base64, whitespace ignored; `None` on any other stray character.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            c if c.is_ascii_whitespace() => continue,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Quoted-printable: `=XX` escapes and soft line breaks (`=` at the end of a line).
fn decode_quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let next = &bytes[i + 1..];
            if next.starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if next.starts_with(b"\n") {
                i += 2;
                continue;
            }
            let hex = next.get(..2).and_then(|h| std::str::from_utf8(h).ok());
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}
