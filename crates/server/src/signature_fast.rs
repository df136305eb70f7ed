//! The expected SigV4 signature, computed directly for the shape every KMS and CloudTrail call
//! has: `POST /`, no query string, plain ASCII header values, each signed header once.
//!
//! Why: re-signing through `aws_sigv4::http_request::sign` was ~14% of a signed Encrypt's CPU
//! (`scripts/bench` profile): it builds a header map and a canonical request of owned strings and
//! derives the signing key (four HMACs) on every call. Here the canonical request is written into
//! one buffer, and the signing key — `aws_sigv4::sign::v4::generate_signing_key`, the same
//! derivation — is kept per access key, day, region and service, ready as an HMAC key (the last
//! HMAC is ring's over it, hex-encoded in place: `aws_sigv4::sign::v4::calculate_signature` set
//! the key up again and hex-encoded through a `char` iterator on every call, ~1.2% of a call).
//! `aws-sigv4` stays the reference: any request outside that shape returns `None` and is
//! re-signed by `aws_sigv4` in `signature.rs`, and a property test there checks that this
//! computes exactly what `aws_sigv4` does.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::SystemTime;

use aws_sigv4::sign::v4;
use parking_lot::Mutex;
use ring::digest::{digest, SHA256};
use ring::hmac;

/// Signing keys kept at most; the cache is emptied when full (it only holds configured keys, so
/// this is reached only across many days or regions).
const MAX_CACHED_KEYS: usize = 4096;

/// Derived signing keys: credential (`AKID/YYYYMMDD/region/service/aws4_request`, as in the
/// `Authorization` header) → (the secret it was derived from, key).
#[derive(Default)]
pub struct SigningKeyCache {
    keys: Mutex<HashMap<String, (String, hmac::Key)>>,
}

/// What a request's signature is computed over.
pub struct SignedRequest<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// Path and query as received.
    pub path_and_query: &'a str,
    /// The signed headers, lower-case names with their values as received, in the client's order.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub body: &'a [u8],
    /// `X-Amz-Date` as sent (`YYYYMMDDTHHMMSSZ`).
    pub amz_date: &'a str,
    /// When the request was signed (parsed from `amz_date`).
    pub signed_at: SystemTime,
    /// The credential scope.
    pub access_key_id: &'a str,
    /// The scope's region.
    pub region: &'a str,
    /// The scope's service.
    pub service: &'a str,
}

/// The signing key this thread used last: (access key id, scope, secret, key).
///
/// Why: a run of calls comes with one credential, and looking it up in the shared map took a
/// string built per call, SipHash over it and a lock both workers write. Keyed by everything the
/// key is derived from, so it is right for any cache instance.
struct LastKey {
    access_key_id: String,
    scope: String,
    secret: String,
    key: hmac::Key,
}

thread_local! {
    static LAST_KEY: RefCell<Option<LastKey>> = const { RefCell::new(None) };
}

impl SigningKeyCache {
    /// The hex signature `aws_sigv4` would compute for `req` with `secret`, or `None` when the
    /// request is not of the simple shape this handles.
    pub fn signature(&self, req: &SignedRequest<'_>, secret: &str) -> Option<String> {
        let canonical = canonical_request(req)?;
        let date = req.amz_date.get(..8)?;
        let mut string_to_sign = String::with_capacity(160);
        string_to_sign.push_str("AWS4-HMAC-SHA256\n");
        string_to_sign.push_str(req.amz_date);
        string_to_sign.push('\n');
        // The scope, `YYYYMMDD/region/service/aws4_request`, written in place.
        let scope_start = string_to_sign.len();
        for part in [date, "/", req.region, "/", req.service, "/aws4_request"] {
            string_to_sign.push_str(part);
        }
        let scope_end = string_to_sign.len();
        string_to_sign.push('\n');
        push_hex(&mut string_to_sign, digest(&SHA256, canonical.as_bytes()).as_ref());
        let key = self.signing_key(req, &string_to_sign[scope_start..scope_end], secret);
        let mut signature = String::with_capacity(64);
        push_hex(&mut signature, hmac::sign(&key, string_to_sign.as_bytes()).as_ref());
        Some(signature)
    }

    fn signing_key(&self, req: &SignedRequest<'_>, scope: &str, secret: &str) -> hmac::Key {
        let last = LAST_KEY.with_borrow(|last| {
            last.as_ref().filter(|l| l.access_key_id == req.access_key_id && l.scope == scope && l.secret == secret).map(|l| l.key.clone())
        });
        if let Some(key) = last {
            return key;
        }
        let key = self.shared_signing_key(req, scope, secret);
        LAST_KEY.set(Some(LastKey {
            access_key_id: req.access_key_id.to_string(),
            scope: scope.to_string(),
            secret: secret.to_string(),
            key: key.clone(),
        }));
        key
    }

    /// The key from the map all threads share, derived and kept there when missing.
    fn shared_signing_key(&self, req: &SignedRequest<'_>, scope: &str, secret: &str) -> hmac::Key {
        // `AKID/YYYYMMDD/region/service/aws4_request`, as in the `Authorization` header.
        let credential = [req.access_key_id, scope].join("/");
        if let Some((cached_secret, key)) = self.keys.lock().get(&credential) {
            if cached_secret == secret {
                return key.clone();
            }
        }
        let key = hmac::Key::new(hmac::HMAC_SHA256, v4::generate_signing_key(secret, req.signed_at, req.region, req.service).as_ref());
        let mut keys = self.keys.lock();
        if keys.len() >= MAX_CACHED_KEYS {
            keys.clear();
        }
        keys.insert(credential, (secret.to_string(), key.clone()));
        key
    }
}

/// The canonical request, or `None` outside the simple shape (then `aws_sigv4` decides).
fn canonical_request(req: &SignedRequest<'_>) -> Option<String> {
    if req.path_and_query != "/" || !req.amz_date.is_ascii() || req.amz_date.len() != 16 {
        return None;
    }
    let mut headers: Vec<(&str, &str)> = req.headers.to_vec();
    headers.sort_unstable_by(|a, b| a.0.cmp(b.0));
    // aws_sigv4 always signs x-amz-date (its own, from the time given) and joins repeated names.
    if headers.windows(2).any(|w| w[0].0 == w[1].0) || !headers.iter().any(|(n, v)| *n == "x-amz-date" && *v == req.amz_date) {
        return None;
    }
    let plain_name = |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let plain_value = |v: &str| v.bytes().all(|b| (0x20..0x7f).contains(&b));
    if !headers.iter().all(|(n, v)| plain_name(n) && plain_value(v)) {
        return None;
    }
    let mut out = String::with_capacity(256 + headers.iter().map(|(n, v)| n.len() + v.len() + 2).sum::<usize>());
    out.push_str(req.method);
    out.push_str("\n/\n\n");
    for (name, value) in &headers {
        out.push_str(name);
        out.push(':');
        push_trimmed(&mut out, value);
        out.push('\n');
    }
    out.push('\n');
    for (i, (name, _)) in headers.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(name);
    }
    out.push('\n');
    push_hex(&mut out, digest(&SHA256, req.body).as_ref());
    Some(out)
}

/// Lower-case hex of a SHA-256 digest or HMAC, appended without a string of its own.
fn push_hex(out: &mut String, digest: &[u8]) {
    let mut hex = [0u8; 64];
    match hex::encode_to_slice(digest, &mut hex) {
        Ok(()) => out.push_str(std::str::from_utf8(&hex).unwrap_or_default()),
        Err(_) => out.push_str(&hex::encode(digest)),
    }
}

/// SigV4's value normalisation: spaces trimmed at both ends, runs of spaces made one.
fn push_trimmed(out: &mut String, value: &str) {
    let value = value.trim_matches(' ');
    if !value.contains("  ") {
        out.push_str(value);
        return;
    }
    let mut previous_space = false;
    for c in value.chars() {
        if c == ' ' && previous_space {
            continue;
        }
        previous_space = c == ' ';
        out.push(c);
    }
}
