//! The SMTP client (`delivery::email::Mailer`) against the test SMTP sink: what arrives (envelope,
//! subject, both alternatives), that credentials never travel in clear, how refusals and outages are
//! classified, and that no error ever shows the URL's password.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use postgram::delivery::email::{Email, EmailError, Mailer};
use support::smtp_sink::SmtpSink;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const FROM: &str = "postgram@example.com";
const PASSWORD: &str = "s3cret-Pa55";

fn email(subject: &str) -> Email {
    Email {
        to: vec!["dba@example.com".to_owned()],
        subject: subject.to_owned(),
        text: "replication lag is 42s\n.dot-led line\nend".to_owned(),
        html: "<p>replication lag ≥ <b>42s</b></p>".to_owned(),
    }
}

/// `smtp://` with credentials: STARTTLS is required, and the sink does not offer it.
fn authenticated_url(sink: &SmtpSink) -> String {
    format!("smtp://alice:{PASSWORD}@127.0.0.1:{}", sink.port())
}

/// The error's display and debug forms, checked for the password.
fn assert_no_password(error: &EmailError) {
    let text = format!("{error} / {error:?}");
    assert!(!text.contains(PASSWORD), "the password leaked: {text}");
}

#[tokio::test]
async fn delivers_text_and_html_to_every_recipient() {
    let sink = SmtpSink::start().await;
    let mailer = Mailer::new(&sink.url(), &format!("Postgram <{FROM}>")).unwrap();
    let subject = "[FIRING] main — replication lag ≥ 30s";
    let message = Email {
        to: vec![
            "dba@example.com".to_owned(),
            "On Call <oncall@example.com>".to_owned(),
        ],
        ..email(subject)
    };
    mailer.send(&message).await.unwrap();

    let mails = sink.wait_for_mail(1, Duration::from_secs(2)).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.from, FROM);
    assert_eq!(mail.to, ["dba@example.com", "oncall@example.com"]);
    assert_eq!(mail.subject, subject);
    assert_eq!(mail.auth_user, None);
    let to = mail.header("To").unwrap();
    assert!(
        to.contains("dba@example.com") && to.contains("oncall@example.com"),
        "{to}"
    );
    assert!(mail.header("From").unwrap().contains(FROM));
    let content_type = mail.header("Content-Type").unwrap();
    assert!(
        content_type.starts_with("multipart/alternative"),
        "{content_type}"
    );
    assert_eq!(mail.part("text/plain").unwrap(), message.text);
    assert_eq!(mail.part("text/html").unwrap(), message.html);
}

#[tokio::test]
async fn credentials_are_never_sent_to_a_server_without_starttls() {
    let sink = SmtpSink::start().await;
    let mailer = Mailer::new(&authenticated_url(&sink), FROM).unwrap();
    let error = mailer.send(&email("auth")).await.unwrap_err();
    assert!(matches!(error, EmailError::Permanent(_)), "{error:?}");
    assert!(error.to_string().contains("STARTTLS"), "{error}");
    assert_no_password(&error);
    let verbs = sink.verbs();
    assert!(verbs.contains(&"EHLO".to_owned()), "{verbs:?}");
    assert!(
        !verbs.iter().any(|v| v == "AUTH" || v == "MAIL"),
        "nothing went out in clear: {verbs:?}"
    );
    assert!(sink.received().is_empty());

    // Cleartext is an explicit choice, and then it takes no credentials.
    let plain = format!("smtp+plain://alice:{PASSWORD}@127.0.0.1:{}", sink.port());
    let error = Mailer::new(&plain, FROM).unwrap_err();
    assert!(matches!(error, EmailError::Config(_)), "{error:?}");
    assert_no_password(&error);
}

#[tokio::test]
async fn a_4xx_refusal_is_transient_and_a_later_send_succeeds() {
    let sink = SmtpSink::start().await;
    let mailer = Mailer::new(&sink.url(), FROM).unwrap();
    sink.refuse_next(1, 451);
    let error = mailer.send(&email("first try")).await.unwrap_err();
    assert!(matches!(error, EmailError::Transient(_)), "{error:?}");
    assert!(error.is_transient());
    assert!(error.to_string().contains("451"), "{error}");
    assert_no_password(&error);
    assert!(sink.received().is_empty());

    mailer.send(&email("second try")).await.unwrap();
    let mails = sink.received();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, "second try");
}

#[tokio::test]
async fn a_5xx_refusal_is_permanent_and_a_later_send_succeeds() {
    let sink = SmtpSink::start().await;
    let mailer = Mailer::new(&sink.url(), FROM).unwrap();
    sink.refuse_next(1, 550);
    let error = mailer.send(&email("refused")).await.unwrap_err();
    assert!(matches!(error, EmailError::Permanent(_)), "{error:?}");
    assert!(!error.is_transient());
    assert!(error.to_string().contains("550"), "{error}");
    assert_no_password(&error);

    mailer.send(&email("accepted")).await.unwrap();
    assert_eq!(sink.received().len(), 1);
}

#[tokio::test]
async fn a_server_that_is_down_fails_fast_as_transient() {
    let sink = SmtpSink::start().await;
    let mailer = Mailer::new(&sink.url(), FROM).unwrap();
    sink.set_down(true);
    // The server's 421 answer, not a timeout, ends the attempt.
    let error = mailer.send(&email("while down")).await.unwrap_err();
    assert!(matches!(error, EmailError::Transient(_)), "{error:?}");
    assert!(error.to_string().contains("421"), "{error}");
    assert_no_password(&error);

    sink.set_down(false);
    mailer.send(&email("back up")).await.unwrap();
    assert_eq!(sink.received().len(), 1);
}

#[tokio::test]
async fn nothing_listening_fails_fast_as_transient() {
    let port = support::free_port();
    let url = format!("smtp://alice:{PASSWORD}@127.0.0.1:{port}");
    let mailer = Mailer::new(&url, FROM).unwrap();
    let error = mailer.send(&email("nobody home")).await.unwrap_err();
    assert!(matches!(error, EmailError::Transient(_)), "{error:?}");
    // Refused at once, not waited out until a timeout.
    assert!(error.to_string().contains("refused"), "{error}");
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
    assert_no_password(&error);
}

#[tokio::test]
async fn unusable_settings_are_config_errors_without_the_password() {
    for (url, from) in [
        (format!("http://alice:{PASSWORD}@127.0.0.1:25"), FROM),
        (format!("smtp://alice:{PASSWORD}@127.0.0.1:99999"), FROM),
        (format!("smtp://alice:{PASSWORD}@127.0.0.1?tls=maybe"), FROM),
        (format!("smtp://alice:{PASSWORD}@"), FROM),
        ("smtp://alice@127.0.0.1".to_owned(), FROM),
        (format!("smtp://alice:{PASSWORD}@127.0.0.1"), "no at sign"),
    ] {
        let error = Mailer::new(&url, from).unwrap_err();
        assert!(matches!(error, EmailError::Config(_)), "{url}: {error:?}");
        assert_no_password(&error);
    }
    let mailer = Mailer::new(&format!("smtp://alice:{PASSWORD}@127.0.0.1"), FROM).unwrap();
    let debug = format!("{mailer:?}");
    assert!(!debug.contains(PASSWORD), "{debug}");
}

#[tokio::test]
async fn a_refused_recipient_is_permanent() {
    let sink = SmtpSink::start().await;
    let mailer = Mailer::new(&sink.url(), FROM).unwrap();
    let message = Email {
        to: vec!["not an address".to_owned()],
        ..email("bad recipient")
    };
    let error = mailer.send(&message).await.unwrap_err();
    assert!(matches!(error, EmailError::Permanent(_)), "{error:?}");
    assert!(sink.received().is_empty());
}

/// The sink itself: AUTH LOGIN (lettre prefers PLAIN), RSET, unknown commands and dot-stuffing.
#[tokio::test]
async fn the_sink_speaks_auth_login_and_undoes_dot_stuffing() {
    let sink = SmtpSink::start().await;
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", sink.port()))
        .await
        .unwrap();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut expect = async |send: &str, code: &str| {
        if !send.is_empty() {
            write
                .write_all(format!("{send}\r\n").as_bytes())
                .await
                .unwrap();
        }
        loop {
            let line = lines.next_line().await.unwrap().unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                assert!(line.starts_with(code), "after {send:?}: {line}");
                break;
            }
        }
    };
    expect("", "220").await;
    expect("EHLO client", "250").await;
    expect("AUTH LOGIN", "334 VXNlcm5hbWU6").await; // "Username:"
    expect("Ym9i", "334 UGFzc3dvcmQ6").await; // "bob", then "Password:"
    expect("aWdub3JlZA==", "235").await;
    expect("BOGUS", "502").await;
    expect("MAIL FROM:<old@example.com>", "250").await;
    expect("RSET", "250").await;
    expect("RCPT TO:<x@example.com>", "503").await;
    expect("MAIL FROM:<a@example.com> BODY=8BITMIME", "250").await;
    expect("RCPT TO:<b@example.com>", "250").await;
    expect("NOOP", "250").await;
    expect("DATA", "354").await;
    let body =
        "Subject: =?utf-8?q?caf=C3=A9_?=\r\n =?utf-8?b?4omlIDMwcw==?= ok\r\n\r\n..hidden\r\nend";
    expect(&format!("{body}\r\n."), "250").await;
    expect("QUIT", "221").await;

    let mail = &sink.received()[0];
    assert_eq!(mail.from, "a@example.com");
    assert_eq!(mail.to, ["b@example.com"]);
    assert_eq!(mail.auth_user.as_deref(), Some("bob"));
    assert_eq!(mail.subject, "café ≥ 30s ok");
    assert_eq!(mail.part("text/plain").unwrap(), ".hidden\nend\n");
}
