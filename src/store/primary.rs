//! Which host of a state DSN is the primary (the DSN's hosts: `config::state_hosts`). The store asks
//! each in turn for the first that accepts writes, connects its pool there, and asks again when that
//! one stops answering or stops accepting writes (a switchover, a failover): the pool's next
//! connections go to the new primary. Meanwhile the store's queries fail, so intake answers 503
//! (Alertmanager retries) and `/-/ready` too.

use std::time::Duration;

use sqlx::{Connection, PgConnection};

use crate::config::Hosts;

/// Whether the session may write: `off` on a primary, `on` on a standby or a server set read-only.
pub(super) const READ_ONLY: &str = "SHOW transaction_read_only";

/// How long one host may take to accept a connection and answer whether it takes writes.
const ASK_HOST: Duration = Duration::from_secs(3);

/// No host of the DSN will do; says why for each, by position, never its URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no host of the state DSN accepts writes: {0}")]
pub struct NoPrimary(String);

/// The first host that answers (and accepts writes, when that is asked for), as its URL.
pub async fn find(hosts: &Hosts) -> Result<&str, NoPrimary> {
    if !hosts.must_choose() {
        return Ok(&hosts.urls[0]);
    }
    let mut trouble = Vec::new();
    for (n, url) in hosts.urls.iter().enumerate() {
        match tokio::time::timeout(ASK_HOST, accepts_writes(url)).await {
            Ok(Ok(true)) => return Ok(url),
            Ok(Ok(false)) if !hosts.read_write() => return Ok(url),
            Ok(Ok(false)) => trouble.push(format!("host {} is read-only", n + 1)),
            Ok(Err(e)) => trouble.push(format!("host {}: {}", n + 1, kind(&e))),
            Err(_) => trouble.push(format!("host {} did not answer in time", n + 1)),
        }
    }
    Err(NoPrimary(trouble.join("; ")))
}

/// Whether the server at `url` accepts writes (a standby, or one set read-only, does not).
async fn accepts_writes(url: &str) -> Result<bool, sqlx::Error> {
    let mut conn = PgConnection::connect(url).await?;
    let read_only: String = sqlx::query_scalar(READ_ONLY).fetch_one(&mut conn).await?;
    conn.close().await.ok();
    Ok(read_only == "off")
}

/// What kind of trouble a connection had, without its details (they may quote the URL).
fn kind(error: &sqlx::Error) -> &'static str {
    match error {
        sqlx::Error::Io(_) => "cannot connect",
        sqlx::Error::Tls(_) => "TLS failed",
        sqlx::Error::Database(_) => "refused the connection",
        sqlx::Error::PoolTimedOut => "timed out",
        _ => "failed",
    }
}
