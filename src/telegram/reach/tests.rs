//! Each cause is produced the way it happens: teloxide's own client against loopback listeners
//! (nothing leaves the machine), and Telegram's answers as teloxide parses them.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use teloxide::prelude::*;
use teloxide::{ApiError, RequestError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

const TOKEN: &str = "123456:AAHsecretsecretsecretsecretsecret00";

/// teloxide's `getMe` against `api_url`, which must fail.
async fn get_me_error(api_url: &str) -> RequestError {
    let bot = Bot::new(TOKEN).set_api_url(reqwest::Url::parse(api_url).unwrap());
    bot.get_me().await.expect_err("getMe should fail")
}

#[tokio::test]
async fn a_closed_port_is_connection_refused() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = get_me_error(&format!("http://127.0.0.1:{port}")).await;
    assert_eq!(cause(&error), Cause::Refused);
    assert!(!cause(&error).to_string().contains(TOKEN));
}

#[tokio::test]
async fn a_server_speaking_plain_http_to_https_is_a_tls_failure() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut hello = [0u8; 512];
            let _ = socket.read(&mut hello).await;
            let _ = socket
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let error = get_me_error(&format!("https://127.0.0.1:{port}")).await;
    let found = cause(&error);
    assert!(matches!(found, Cause::Tls(_)), "{found:?} from {error:?}");
    assert!(found.to_string().starts_with("TLS failure: "), "{found}");
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and keeps every connection open without a word.
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(200))
        .build()
        .unwrap();
    let error = client
        .get(format!("http://127.0.0.1:{port}/bot{TOKEN}/getMe"))
        .send()
        .await
        .expect_err("no answer");
    assert_eq!(network(&error), Cause::Timeout);
}

/// hyper-util's connector error, as it reports a failed name lookup (a DNS query would leave the
/// machine, so the chain is built by hand).
#[derive(Debug)]
struct ConnectError(std::io::Error);

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dns error")
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn a_name_that_does_not_resolve_is_a_dns_failure() {
    let lookup =
        std::io::Error::other("failed to lookup address information: Name or service not known");
    assert_eq!(chain(&ConnectError(lookup)), Some(Cause::Dns));
    assert!(Cause::Dns.to_string().starts_with("DNS failure: "));
}

#[test]
fn telegrams_answers_are_sorted_by_what_they_mean() {
    assert_eq!(
        cause(&RequestError::Api(ApiError::InvalidToken)),
        Cause::Token
    );
    assert!(Cause::Token.is_fatal());
    assert_eq!(
        Cause::Token.to_string(),
        "Telegram rejected the bot token (401 Unauthorized): check TELEGRAM_TOKEN (telegram.token), \
         the token BotFather gave"
    );
    assert_eq!(
        cause(&RequestError::Api(ApiError::Unknown(
            "Bad Gateway".to_owned()
        ))),
        Cause::ServerError("Bad Gateway".to_owned())
    );
    let page = |raw: &str| RequestError::InvalidJson {
        source: Arc::new(serde_json::from_str::<serde_json::Value>("<").unwrap_err()),
        raw: raw.into(),
    };
    let nginx = "<html>\r\n<head><title>502 Bad Gateway</title></head><body></body></html>";
    assert_eq!(
        cause(&page(nginx)),
        Cause::ServerError("502 Bad Gateway".to_owned())
    );
    let found = cause(&page("<html><title>404 Not Found</title></html>"));
    assert!(matches!(found, Cause::NotBotApi(_)), "{found:?}");
    assert!(
        found.to_string().contains("check telegram.api_url"),
        "{found}"
    );
    assert!(!cause(&RequestError::Api(ApiError::BotBlocked)).is_fatal());
}

#[tokio::test]
async fn the_status_tells_a_rejection_to_whoever_waits_for_it() {
    let reach = Reach::default();
    assert_eq!(reach.status().to_string(), "connecting");
    reach.set(Status::NotAnswering(Cause::Refused));
    assert!(
        reach
            .status()
            .to_string()
            .starts_with("not answering yet: connection refused")
    );
    let waiting = tokio::spawn({
        let reach = reach.clone();
        async move { reach.fatal().await }
    });
    reach.set(Status::Rejected(Cause::Token));
    assert_eq!(waiting.await.unwrap(), Cause::Token);
}
