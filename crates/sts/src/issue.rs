//! New temporary credentials: an `ASIA…` access key id, a secret and a session token, from the
//! operating system's generator (ring's `SystemRandom`), as key material is made.

use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};

/// Access key id, secret access key and session token of a new session.
pub(crate) struct NewCredentials {
    pub(crate) access_key_id: String,
    pub(crate) secret: String,
    pub(crate) token: String,
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS generator does not fail on the systems keytrail runs on; were it to, an all-zero
    // buffer must never become a credential, so this stops the call instead.
    SystemRandom::new().fill(&mut bytes).expect("the OS random generator works");
    bytes
}

/// Fresh credentials. The key id has IAM's form for temporary keys: `ASIA` and 16 characters
/// of IAM's base-32 alphabet (20 in all); the secret is 40 base-64 characters like IAM's; the
/// token is opaque to clients (392 base-64 characters: real tokens run to hundreds).
pub(crate) fn new_credentials() -> NewCredentials {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let id_bytes: [u8; 16] = random();
    let mut access_key_id = String::with_capacity(20);
    access_key_id.push_str("ASIA");
    access_key_id.extend(id_bytes.iter().map(|b| ALPHABET[usize::from(b % 32)] as char));
    let b64 = base64::engine::general_purpose::STANDARD;
    let secret = b64.encode(random::<30>());
    let token = b64.encode(random::<294>());
    NewCredentials { access_key_id, secret, token }
}

/// SHA-256 of a session token, the form the credential directory keeps.
pub(crate) fn token_digest(token: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_have_iams_shapes_and_differ() {
        let a = new_credentials();
        let b = new_credentials();
        assert!(a.access_key_id.starts_with("ASIA") && a.access_key_id.len() == 20);
        assert!(a.access_key_id.bytes().all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c)));
        assert_eq!(a.secret.len(), 40);
        assert!(a.token.len() > 300);
        assert!(a.access_key_id != b.access_key_id && a.secret != b.secret && a.token != b.token);
    }
}
