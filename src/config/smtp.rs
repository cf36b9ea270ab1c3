//! What `smtp.url` means, for the config check and the mail client alike: `smtp://` is SMTP with
//! STARTTLS required, `smtps://` is SMTP over TLS from the first byte, and `smtp+plain://` is
//! cleartext, an explicit opt-in that may carry no credentials (they never travel in clear). Also how
//! the URL is shown: never with its credentials.

use std::fmt;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://`: STARTTLS, and nothing is sent when the server does not offer it.
    StartTls,
    /// `smtps://`: TLS from the start.
    Tls,
    /// `smtp+plain://`: no encryption, and so no credentials.
    Plain,
}

impl fmt::Display for SmtpSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SmtpSecurity::StartTls => "STARTTLS required",
            SmtpSecurity::Tls => "TLS",
            SmtpSecurity::Plain => "cleartext, no credentials",
        })
    }
}

const SCHEMES: &str = "must start with smtp:// (STARTTLS required), smtps:// (TLS) or smtp+plain:// (cleartext, without credentials)";

/// Checks `url` against the rules above and returns it in the mail library's terms (`smtp://…?tls=required`,
/// `smtps://…`, or `smtp://…` for cleartext) with its protection. The error never contains the URL.
pub fn transport_url(url: &str) -> Result<(String, SmtpSecurity), String> {
    let (scheme, rest) = url.split_once("://").ok_or(SCHEMES)?;
    let security = match scheme {
        "smtp" => SmtpSecurity::StartTls,
        "smtps" => SmtpSecurity::Tls,
        "smtp+plain" => SmtpSecurity::Plain,
        _ => return Err(SCHEMES.to_owned()),
    };
    let tls = rest
        .split_once('?')
        .map(|(_, query)| query.split('#').next().unwrap_or_default())
        .into_iter()
        .flat_map(|query| query.split('&'))
        .filter_map(|pair| pair.strip_prefix("tls="))
        .collect::<Vec<_>>();
    match (security, tls.as_slice()) {
        (_, []) | (SmtpSecurity::StartTls, ["required"]) => {}
        (SmtpSecurity::StartTls, _) => {
            return Err(
                "smtp:// always requires STARTTLS (tls=required or no tls parameter); \
                 cleartext is smtp+plain://, without credentials"
                    .to_owned(),
            );
        }
        _ => return Err("the tls parameter belongs to smtp:// only".to_owned()),
    }
    if security == SmtpSecurity::Plain && userinfo(url).is_some() {
        return Err(
            "smtp+plain:// sends everything in clear, so it takes no user or password: \
             use smtp:// (STARTTLS) or smtps:// to authenticate"
                .to_owned(),
        );
    }
    let lettre = match security {
        SmtpSecurity::StartTls if tls.is_empty() => {
            let joint = if rest.contains('?') { '&' } else { '?' };
            format!("{url}{joint}tls=required")
        }
        SmtpSecurity::StartTls | SmtpSecurity::Tls => url.to_owned(),
        SmtpSecurity::Plain => format!("smtp://{rest}"),
    };
    Ok((lettre, security))
}

/// The URL's user and password (still percent-encoded), split the way the `url` crate does: the
/// authority ends at the first `/`, `?` or `#`, the user information at its last `@`.
pub fn userinfo(url: &str) -> Option<(&str, Option<&str>)> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (info, _) = authority.rsplit_once('@')?;
    Some(match info.split_once(':') {
        Some((user, password)) => (user, Some(password)),
        None => (info, None),
    })
}

/// The URL with any `user:pass@` removed.
pub fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<smtp url>".to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scheme_means_one_protection() {
        for (url, lettre, security) in [
            (
                "smtp://u:p@mail.example.com",
                "smtp://u:p@mail.example.com?tls=required",
                SmtpSecurity::StartTls,
            ),
            (
                "smtp://mail.example.com/ehlo?tls=required",
                "smtp://mail.example.com/ehlo?tls=required",
                SmtpSecurity::StartTls,
            ),
            (
                "smtp://mail.example.com/ehlo?x=1",
                "smtp://mail.example.com/ehlo?x=1&tls=required",
                SmtpSecurity::StartTls,
            ),
            (
                "smtps://u:p@mail.example.com",
                "smtps://u:p@mail.example.com",
                SmtpSecurity::Tls,
            ),
            (
                "smtp+plain://relay.local:25",
                "smtp://relay.local:25",
                SmtpSecurity::Plain,
            ),
        ] {
            assert_eq!(
                transport_url(url),
                Ok((lettre.to_owned(), security)),
                "{url}"
            );
        }
    }

    #[test]
    fn cleartext_with_credentials_or_a_weaker_tls_is_refused_without_the_url() {
        for url in [
            "smtp+plain://user:hunter2@relay.local",
            "smtp+plain://user@relay.local",
            "smtp://user:hunter2@mail.example.com?tls=opportunistic",
            "smtp://user:hunter2@mail.example.com?tls=none",
            "smtps://user:hunter2@mail.example.com?tls=required",
            "http://user:hunter2@mail.example.com",
            "user:hunter2@mail.example.com",
        ] {
            let error = transport_url(url).expect_err(url);
            assert!(!error.contains("hunter2"), "{url}: {error}");
        }
    }
}
