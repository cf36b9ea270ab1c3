//! Email through SMTP: the service's only SMTP client, used when an alert must go out by email (the
//! fallback when Telegram cannot deliver).
//!
//! Owns turning an [`Email`] into a multipart/alternative message (a text/plain and a text/html part)
//! and handing it to the server named by the config's `smtp.url`, through lettre. Calls nothing but
//! that SMTP server. Every failure comes back classified as [`EmailError::Transient`] (worth retrying
//! later) or [`EmailError::Permanent`] (retrying will not help), and no error or `Debug` output ever
//! contains the URL's password.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::{AsyncSmtpTransportBuilder, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::smtp::{transport_url, userinfo, without_credentials};

/// How long connecting (TCP and TLS) may take: a dead server must fail fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one whole send may take, greeting to the final reply; lettre has no read timeout of its own.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// What replaces the password wherever it would appear in a message.
const REDACTED: &str = "***";

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Recipient addresses (`dba@example.com` or `DBA <dba@example.com>`), each a To: recipient.
    pub to: Vec<String>,
    pub subject: String,
    /// The text/plain alternative.
    pub text: String,
    /// The text/html alternative.
    pub html: String,
}

/// Why an email was not sent.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// The SMTP URL or the from address is unusable; found by [`Mailer::new`].
    #[error("invalid SMTP settings: {0}")]
    Config(String),
    /// The server could not be reached, timed out, dropped the connection or answered 4xx: retry later.
    #[error("email not sent (temporary failure): {0}")]
    Transient(String),
    /// The server answered 5xx, or the message itself is unsendable (bad recipient address): retrying
    /// the same message will not help.
    #[error("email not sent (permanent failure): {0}")]
    Permanent(String),
}

impl EmailError {
    /// Whether sending the same message again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, EmailError::Transient(_))
    }
}

/// A client for one SMTP server; cheap to clone (clones share the transport).
#[derive(Clone)]
pub struct Mailer {
    builder: AsyncSmtpTransportBuilder,
    // Built on first send rather than in `new`: lettre spawns a Tokio task when building a transport,
    // and `new` should work outside a runtime (config checks).
    transport: Arc<OnceLock<AsyncSmtpTransport<Tokio1Executor>>>,
    from: Mailbox,
    /// The URL without credentials, for messages.
    server: Arc<str>,
    /// The password as written in the URL and percent-decoded: removed from every error message.
    secrets: Arc<[String]>,
    send_timeout: Duration,
}

impl Mailer {
    /// A client for the server at `url`, sending as `from` (`postgram@example.com` or
    /// `Postgram <postgram@example.com>`).
    ///
    /// `url` is the config's `smtp.url`: `smtp://[user:pass@]host[:port]` is SMTP with STARTTLS
    /// required (port 587: nothing, credentials least of all, is sent to a server that does not offer
    /// it); `smtps://[user:pass@]host[:port]` is implicit TLS (port 465); `smtp+plain://host[:port]`
    /// is cleartext (port 25) and refuses credentials. User and password are
    /// percent-decoded; with them the client authenticates (PLAIN, else LOGIN). A path
    /// (`smtp://host/name`) sets the EHLO name. Connecting may take 10 s and a whole send 30 s.
    pub fn new(url: &str, from: &str) -> Result<Mailer, EmailError> {
        let credentials = userinfo(url);
        let secrets: Vec<String> = credentials
            .and_then(|(_, password)| password)
            .filter(|password| !password.is_empty())
            .map(|password| {
                let mut secrets = vec![password.to_owned()];
                if let Some(decoded) = percent_decode(password)
                    && decoded != password
                {
                    secrets.push(decoded);
                }
                secrets
            })
            .unwrap_or_default();
        let redact = |text: String| redact(&secrets, text);

        // lettre would silently skip authentication for a user without a password.
        if let Some((user, password)) = credentials
            && !user.is_empty()
            && password.is_none_or(str::is_empty)
        {
            return Err(EmailError::Config(
                "the smtp url names a user but no password".to_owned(),
            ));
        }
        let (lettre_url, _) = transport_url(url).map_err(EmailError::Config)?;
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url)
            .map_err(|e| EmailError::Config(redact(format!("smtp url: {e}"))))?
            .timeout(Some(CONNECT_TIMEOUT))
            // One connection per message: a send cut off by the timeout would otherwise return its
            // connection to the pool in mid-conversation, and the next message would read stale replies.
            .pool_config(PoolConfig::new().max_size(0));
        let from: Mailbox = from
            .parse()
            .map_err(|e| EmailError::Config(redact(format!("from address {from:?}: {e}"))))?;
        Ok(Mailer {
            builder,
            transport: Arc::new(OnceLock::new()),
            from,
            server: without_credentials(url).into(),
            secrets: secrets.into(),
            send_timeout: SEND_TIMEOUT,
        })
    }

    /// Sends `email` as multipart/alternative (text/plain, then text/html) to every address in `to`.
    ///
    /// All recipients share one transaction: if the server refuses any of them, nobody gets the
    /// message. A send that times out after the message was transmitted may still have been delivered,
    /// so a retry can duplicate it.
    pub async fn send(&self, email: &Email) -> Result<(), EmailError> {
        let message = self.message(email)?;
        let transport = self.transport.get_or_init(|| self.builder.clone().build());
        match tokio::time::timeout(self.send_timeout, transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(self.classify(&e)),
            Err(_) => Err(EmailError::Transient(format!(
                "{}: no answer within {:?}",
                self.server, self.send_timeout
            ))),
        }
    }

    fn message(&self, email: &Email) -> Result<Message, EmailError> {
        if email.to.is_empty() {
            return Err(EmailError::Permanent(
                "the email has no recipient".to_owned(),
            ));
        }
        // A line break in the subject would end the header: keep it on one line.
        let subject = email.subject.replace(['\r', '\n'], " ");
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject)
            // Spam filters frown on messages without one, and not every relay adds it.
            .message_id(None);
        for to in &email.to {
            let mailbox: Mailbox = to.parse().map_err(|e| {
                EmailError::Permanent(format!("invalid recipient address {to:?}: {e}"))
            })?;
            builder = builder.to(mailbox);
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| EmailError::Permanent(format!("cannot build the message: {e}")))
    }

    fn classify(&self, e: &lettre::transport::smtp::Error) -> EmailError {
        let message = redact(&self.secrets, format!("{}: {e}", self.server));
        if e.is_permanent() || e.is_client() {
            // 5xx replies, and what lettre refuses before asking the server (no common AUTH mechanism,
            // no STARTTLS when required, a non-ASCII address without SMTPUTF8): the same again fails the same.
            EmailError::Permanent(message)
        } else {
            // 4xx replies, connection failures and timeouts (TLS handshakes included), and replies cut
            // off or garbled by a server going away.
            EmailError::Transient(message)
        }
    }
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// `%XX` escapes decoded, or `None` when the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|_| bytes[i] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn redact(secrets: &[String], mut text: String) -> String {
    for secret in secrets {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), REDACTED);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn email() -> Email {
        Email {
            to: vec!["dba@example.com".to_owned()],
            subject: "subject".to_owned(),
            text: "text".to_owned(),
            html: "<p>html</p>".to_owned(),
        }
    }

    #[test]
    fn accepts_every_documented_url_form() {
        for url in [
            "smtp://127.0.0.1",
            "smtp://mail.example.com:2525",
            "smtp://user:pass@mail.example.com:587?tls=required",
            "smtp+plain://relay.example.com:25",
            "smtps://user:p%40ss@mail.example.com",
            "smtps://mail.example.com:465/postgram.example.com",
        ] {
            let mailer = Mailer::new(url, "Postgram <postgram@example.com>");
            assert!(mailer.is_ok(), "{url}: {mailer:?}");
        }
    }

    #[test]
    fn rejects_bad_urls_and_addresses_as_config_errors() {
        for (url, from) in [
            ("http://mail.example.com", "postgram@example.com"),
            (
                "smtp://mail.example.com?tls=sometimes",
                "postgram@example.com",
            ),
            (
                "smtp://user:hunter2@mail.example.com:notaport",
                "postgram@example.com",
            ),
            ("smtps://user:hunter2@:465", "postgram@example.com"),
            ("mail.example.com:25", "postgram@example.com"),
            ("smtp://user@mail.example.com", "postgram@example.com"),
            ("smtp://user:@mail.example.com", "postgram@example.com"),
            (
                "smtp://user:hunter2@mail.example.com?tls=opportunistic",
                "postgram@example.com",
            ),
            (
                "smtp+plain://user:hunter2@relay.local",
                "postgram@example.com",
            ),
            ("smtp://user:hunter2@mail.example.com", "not an address"),
        ] {
            match Mailer::new(url, from) {
                Err(e @ EmailError::Config(_)) => {
                    let text = format!("{e} {e:?}");
                    assert!(!text.contains("hunter2"), "{url}: {text}");
                }
                other => panic!("{url}, {from}: expected a config error, got {other:?}"),
            }
        }
    }

    #[test]
    fn the_password_stays_out_of_debug_and_server_names() {
        let mailer = Mailer::new(
            "smtp://user:hunter2@mail.example.com:2525?tls=required",
            "postgram@example.com",
        )
        .unwrap();
        let debug = format!("{mailer:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(
            debug.contains("smtp://mail.example.com:2525?tls=required"),
            "{debug}"
        );
        assert_eq!(
            without_credentials("smtps://a:b@c@host:465/name"),
            "smtps://host:465/name"
        );
        assert_eq!(without_credentials("nonsense"), "<smtp url>");
    }

    #[test]
    fn secrets_are_the_raw_and_the_decoded_password() {
        let mailer = Mailer::new("smtp://user:p%40ss@mail.example.com", "a@example.com").unwrap();
        assert_eq!(&*mailer.secrets, ["p%40ss".to_owned(), "p@ss".to_owned()]);
        assert_eq!(
            redact(&mailer.secrets, "auth p@ss / p%40ss".to_owned()),
            "auth *** / ***"
        );
        assert_eq!(userinfo("smtp://host"), None);
        assert_eq!(userinfo("smtp://u@host"), Some(("u", None)));
        assert_eq!(percent_decode("a%2Fb%zz%"), Some("a/b%zz%".to_owned()));
        assert_eq!(percent_decode("%ff"), None);
    }

    #[test]
    fn the_subject_stays_one_header_line() {
        let mailer = Mailer::new("smtp://127.0.0.1", "postgram@example.com").unwrap();
        let message = mailer
            .message(&Email {
                subject: "hi\r\nBcc: victim@example.com".to_owned(),
                ..email()
            })
            .unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("\r\nMessage-ID: <"), "{raw}");
    }

    #[tokio::test]
    async fn unsendable_messages_are_permanent_without_contacting_the_server() {
        // Port 9 (discard) is never contacted: the message fails before the transport is used.
        let mailer = Mailer::new("smtp://127.0.0.1:9", "postgram@example.com").unwrap();
        let no_recipient = Email {
            to: vec![],
            ..email()
        };
        let bad_recipient = Email {
            to: vec!["dba@example.com".to_owned(), "not an address".to_owned()],
            ..email()
        };
        for email in [no_recipient, bad_recipient] {
            let result = mailer.send(&email).await;
            assert!(
                matches!(result, Err(EmailError::Permanent(_))),
                "{result:?}"
            );
        }
        assert!(mailer.transport.get().is_none());
    }

    /// A server that writes `greeting` to each connection (nothing: stays silent) and then holds it open.
    async fn scripted_server(greeting: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = stream.write_all(greeting.as_bytes()).await;
                    let mut buf = [0; 512];
                    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                });
            }
        });
        port
    }

    async fn send_to(port: u16) -> EmailError {
        let url = format!("smtp://user:hunter2@127.0.0.1:{port}");
        let mut mailer = Mailer::new(&url, "postgram@example.com").unwrap();
        mailer.send_timeout = Duration::from_millis(300);
        let error = mailer.send(&email()).await.unwrap_err();
        let text = format!("{error} {error:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        error
    }

    #[tokio::test]
    async fn reply_codes_decide_the_class() {
        let error = send_to(scripted_server("421 4.3.2 closing\r\n").await).await;
        assert!(matches!(error, EmailError::Transient(_)), "{error:?}");
        let error = send_to(scripted_server("554 5.7.1 go away\r\n").await).await;
        assert!(matches!(error, EmailError::Permanent(_)), "{error:?}");
    }

    #[tokio::test]
    async fn unreachable_silent_and_vanishing_servers_are_transient() {
        let closed = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let silent = scripted_server("").await;
        // Greets, then answers EHLO with a reply cut off mid-line and closes the connection.
        let vanishing = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            tokio::spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    let _ = stream.write_all(b"220 hi\r\n").await;
                    let mut buf = [0; 512];
                    let _ = stream.read(&mut buf).await;
                    let _ = stream.write_all(b"250-half").await;
                }
            });
            port
        };
        for (port, cause) in [
            (closed, "Connection refused"),
            (silent, "no answer within"),
            (vanishing, "incomplete response"),
        ] {
            let error = send_to(port).await;
            assert!(error.is_transient(), "{error:?}");
            assert!(error.to_string().contains(cause), "{error}");
        }
    }
}
