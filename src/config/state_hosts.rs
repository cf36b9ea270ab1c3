//! A PostgreSQL state DSN may name several hosts, as libpq does
//! (`postgres://user@db1:5432,db2:5432/postgram?target_session_attrs=read-write`): the members of a
//! Patroni cluster, say. sqlx connects to one host, so the DSN is split here into one URL per host, and
//! the store asks them in turn which is the primary (`store::primary`).

/// The hosts of a state DSN, as one single-host URL each, in the DSN's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hosts {
    pub urls: Vec<String>,
    /// `target_session_attrs=read-write` (or `primary`): only a host accepting writes will do.
    read_write: bool,
}

/// Why a state DSN cannot be split; never holds the DSN (it may hold a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostsError {
    #[error("must be a postgres:// URL")]
    NotPostgres,
    #[error("names an empty host")]
    EmptyHost,
    #[error("target_session_attrs must be any, read-write or primary")]
    SessionAttrs,
}

impl Hosts {
    /// Splits `url` into one URL per host; `target_session_attrs` is read here and dropped (sqlx
    /// does not know it). A single-host DSN gives one URL.
    pub fn parse(url: &str) -> Result<Hosts, HostsError> {
        let (scheme, rest) = url.split_once("://").ok_or(HostsError::NotPostgres)?;
        if !matches!(scheme, "postgres" | "postgresql") {
            return Err(HostsError::NotPostgres);
        }
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => (format!("{userinfo}@"), hosts),
            None => (String::new(), authority),
        };
        let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
        let mut read_write = false;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("target_session_attrs", value)) => {
                    read_write = match value {
                        "read-write" | "primary" => true,
                        "any" => false,
                        _ => return Err(HostsError::SessionAttrs),
                    }
                }
                _ => kept.push(pair),
            }
        }
        let query = if kept.is_empty() {
            String::new()
        } else {
            format!("?{}", kept.join("&"))
        };
        let urls = hosts
            .split(',')
            .map(|host| {
                if host.trim().is_empty() {
                    return Err(HostsError::EmptyHost);
                }
                Ok(format!("{scheme}://{userinfo}{host}{path}{query}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Hosts { urls, read_write })
    }

    /// Whether there is a choice to make: several hosts, or one that must accept writes.
    pub fn must_choose(&self) -> bool {
        self.urls.len() > 1 || self.read_write
    }

    /// Whether connections must be checked to accept writes as they are made.
    pub fn read_write(&self) -> bool {
        self.read_write
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_host_dsn_gives_one_url_per_host_without_session_attrs() {
        let hosts = Hosts::parse(
            "postgres://app:s3cret@db1:5432,db2:5433,[::1]:5434/postgram?sslmode=prefer&target_session_attrs=read-write",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(hosts.read_write());
        assert!(hosts.must_choose());
        assert_eq!(
            hosts.urls,
            [
                "postgres://app:s3cret@db1:5432/postgram?sslmode=prefer",
                "postgres://app:s3cret@db2:5433/postgram?sslmode=prefer",
                "postgres://app:s3cret@[::1]:5434/postgram?sslmode=prefer",
            ]
        );
    }

    #[test]
    fn a_single_host_dsn_stays_as_it_is() {
        let hosts = Hosts::parse("postgresql://app@db1/postgram").unwrap_or_else(|e| panic!("{e}"));
        assert!(!hosts.must_choose());
        assert_eq!(hosts.urls, ["postgresql://app@db1/postgram"]);
        let any = Hosts::parse("postgres://db1:1,db2:2?target_session_attrs=any")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!any.read_write());
        assert_eq!(any.urls, ["postgres://db1:1", "postgres://db2:2"]);
    }

    #[test]
    fn bad_dsns_are_named_without_their_secrets() {
        assert_eq!(Hosts::parse("mysql://x@y/z"), Err(HostsError::NotPostgres));
        assert_eq!(
            Hosts::parse("postgres://u:pw@a:1,,b:2/db"),
            Err(HostsError::EmptyHost)
        );
        let bad = Hosts::parse("postgres://u:pw@a/db?target_session_attrs=standby");
        assert_eq!(bad, Err(HostsError::SessionAttrs));
        assert!(
            !bad.err()
                .map(|e| e.to_string())
                .unwrap_or_default()
                .contains("pw")
        );
    }
}
