//! Who is calling, and what they may do. Today: API bearer tokens from the config and the Alertmanager
//! webhook token. Tokens are compared through their SHA-256 digests in constant time, so neither the
//! content nor the length of a configured token leaks through timing.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::domain::Role;

/// A caller of the REST API, as named in the config's `api_tokens`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiIdentity {
    pub name: String,
    pub role: Role,
}

pub struct Access {
    webhook: [u8; 32],
    tokens: Vec<([u8; 32], ApiIdentity)>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Access {
    pub fn new(config: &Config) -> Self {
        Self {
            webhook: digest(config.http.webhook_token.expose()),
            tokens: config
                .api_tokens
                .iter()
                .map(|t| {
                    (
                        digest(t.token.expose()),
                        ApiIdentity {
                            name: t.name.clone(),
                            role: t.role,
                        },
                    )
                })
                .collect(),
        }
    }

    /// Whether `token` is the Alertmanager webhook token.
    pub fn is_webhook_token(&self, token: &str) -> bool {
        bool::from(digest(token).ct_eq(&self.webhook))
    }

    /// The identity an API token belongs to. Every configured token is compared, match or not.
    pub fn api_identity(&self, token: &str) -> Option<ApiIdentity> {
        let presented = digest(token);
        let mut found = None;
        for (known, identity) in &self.tokens {
            if bool::from(presented.ct_eq(known)) {
                found = Some(identity.clone());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn tokens_identify_their_owner_and_nothing_else() {
        let config = Config::from_text(
            r#"
telegram: { token: "t" }
http: { webhook_token: "webhook-token-0123456789" }
owners: [1]
api_tokens:
  - { name: grafana, token: "grafana-token-0123456789", role: viewer }
  - { name: ops, token: "ops-token-0123456789abc", role: owner }
"#,
            Path::new("p.yaml"),
            &|_| None,
        )
        .unwrap();
        let access = Access::new(&config);
        assert!(access.is_webhook_token("webhook-token-0123456789"));
        assert!(!access.is_webhook_token("webhook-token-012345678"));
        assert!(!access.is_webhook_token("grafana-token-0123456789"));
        let ops = access.api_identity("ops-token-0123456789abc").unwrap();
        assert_eq!((ops.name.as_str(), ops.role), ("ops", Role::Owner));
        assert_eq!(access.api_identity("webhook-token-0123456789"), None);
        assert_eq!(access.api_identity(""), None);
    }
}
