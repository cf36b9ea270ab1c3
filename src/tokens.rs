//! Fresh secrets and the form they are kept in: tokens and invite codes from the operating system's
//! CSPRNG, and the SHA-256 digests stored instead of them. A leaf: `config` (tokens configured by
//! digest), `access` (checking tokens), `members` (invite links) and `callback` all use it, and it
//! uses none of them.

use sha2::{Digest, Sha256};

/// Created tokens start with this, so they are recognisable in configs and leak scanners.
const TOKEN_PREFIX: &str = "pgm_";
/// Random characters of a token (each one of 64: 192 bits).
const TOKEN_CHARS: usize = 32;

/// The audit log's names for what happens to an API token: the log's vocabulary, kept apart from the
/// words people read.
pub const AUDIT_CREATED: &str = "token created";
pub const AUDIT_REVOKED: &str = "token revoked";
/// The audited reason a token was revoked at once: its creator could not be shown it.
pub const AUDIT_UNSHOWN: &str = "it could not be shown";

/// A fresh API or webhook token from the operating system's CSPRNG (`/tokens`, `postgram init`).
pub fn new_token() -> String {
    format!("{TOKEN_PREFIX}{}", random_code(TOKEN_CHARS))
}

/// A random positive 32-bit number (Telegram's request ids are signed 32-bit integers).
pub fn random_id() -> i32 {
    let mut raw = [0u8; 4];
    getrandom::getrandom(&mut raw).expect("the operating system's random source failed");
    i32::from_be_bytes(raw)
        .checked_abs()
        .unwrap_or(i32::MAX)
        .max(1)
}

/// `bytes` random bytes as URL-safe text (letters, digits, `-`, `_`): fits a deep link's payload.
pub fn random_code(bytes: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut raw = vec![0u8; bytes];
    // The OS random source failing is not something to limp on from: no secret may be predictable.
    getrandom::getrandom(&mut raw).expect("the operating system's random source failed");
    raw.iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 63)]))
        .collect()
}

pub(crate) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Lowercase hex, the stored form of a digest.
pub fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_ids_are_positive_and_differ() {
        let ids: std::collections::HashSet<i32> = (0..64).map(|_| super::random_id()).collect();
        assert!(ids.iter().all(|id| *id > 0), "{ids:?}");
        assert!(ids.len() > 60, "random: {ids:?}");
    }
}
