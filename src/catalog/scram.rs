//! SCRAM-SHA-256 password verifiers (RFC 5802, RFC 7677), in PostgreSQL's stored form
//! `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64). A role created or altered
//! with such a verifier as its password stores it as it is: the server never sees the password.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// PostgreSQL's default iteration count (`scram_iterations` from 16 on).
pub const ITERATIONS: u32 = 4096;
/// PostgreSQL's salt length.
pub const SALT_LEN: usize = 16;

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// PBKDF2-HMAC-SHA-256 with one output block: the SaltedPassword of RFC 5802.
fn salted_password(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut block = salt.to_vec();
    block.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac(password, &block);
    let mut out = u;
    for _ in 1..iterations {
        u = hmac(password, &u);
        out.iter_mut().zip(u).for_each(|(o, x)| *o ^= x);
    }
    out
}

/// ClientKey, StoredKey and ServerKey for a password.
fn keys(password: &str, salt: &[u8], iterations: u32) -> ([u8; 32], [u8; 32], [u8; 32]) {
    let salted = salted_password(password.as_bytes(), salt, iterations);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key: [u8; 32] = Sha256::digest(client_key).into();
    (client_key, stored_key, hmac(&salted, b"Server Key"))
}

/// Why a password cannot be turned into a verifier here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    /// PostgreSQL normalises non-ASCII passwords (SASLprep, NFKC) before hashing; only ASCII ones,
    /// which it leaves as they are, hash the same here.
    #[error("must be ASCII to be hashed (PostgreSQL normalises other characters first)")]
    NotAscii,
    #[error("no random salt could be drawn: {0}")]
    Random(String),
}

/// The verifier of `password` with `salt` and `iterations`.
pub fn verifier_with(password: &str, salt: &[u8], iterations: u32) -> Result<String, ScramError> {
    if !password.is_ascii() {
        return Err(ScramError::NotAscii);
    }
    let (_, stored_key, server_key) = keys(password, salt, iterations);
    Ok(format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored_key),
        STANDARD.encode(server_key)
    ))
}

/// The verifier of `password` with a fresh random salt and PostgreSQL's iteration count.
pub fn verifier(password: &str) -> Result<String, ScramError> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::getrandom(&mut salt).map_err(|e| ScramError::Random(e.to_string()))?;
    verifier_with(password, &salt, ITERATIONS)
}

/// Whether `stored` (a `SCRAM-SHA-256$…` verifier, e.g. from `pg_authid`) is the verifier of
/// `password`: recomputed with its own salt and iteration count.
pub fn verifies(stored: &str, password: &str) -> bool {
    let parsed = stored
        .strip_prefix("SCRAM-SHA-256$")
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(iterations, rest)| {
            let (salt, _) = rest.split_once('$')?;
            Some((iterations.parse::<u32>().ok()?, STANDARD.decode(salt).ok()?))
        });
    match parsed {
        Some((iterations, salt)) if iterations > 0 => {
            verifier_with(password, &salt, iterations).is_ok_and(|v| v == stored)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677, section 3: user "user", password "pencil", and the exchange's proof and signature.
    #[test]
    fn keys_reproduce_the_rfc_7677_exchange() {
        let salt = STANDARD.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let (client_key, stored_key, server_key) = keys("pencil", &salt, 4096);
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
            r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
            c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let signature = hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(signature)
            .map(|(k, s)| k ^ s)
            .collect();
        assert_eq!(
            STANDARD.encode(proof),
            "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(
            STANDARD.encode(hmac(&server_key, auth_message.as_bytes())),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
        let stored = verifier_with("pencil", &salt, 4096).unwrap();
        assert!(stored.starts_with("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"));
        assert!(verifies(&stored, "pencil"));
        assert!(!verifies(&stored, "pencil2"));
    }

    #[test]
    fn every_verifier_has_its_own_salt_and_no_password() {
        let (a, b) = (
            verifier("correct horse").unwrap(),
            verifier("correct horse").unwrap(),
        );
        assert_ne!(a, b);
        assert!(verifies(&a, "correct horse") && verifies(&b, "correct horse"));
        assert!(!a.contains("correct"));
        assert_eq!(verifier("pässword"), Err(ScramError::NotAscii));
        assert!(!verifies("md5abc", "x") && !verifies("SCRAM-SHA-256$0:AA==$x:y", "x"));
    }
}
