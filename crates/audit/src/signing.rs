//! CloudTrail's digest signing keys: one RSA key pair per region at a time, whose public half
//! `ListPublicKeys` returns ("CloudTrail uses different private/public key pairs per Region",
//! AWS: Custom implementations of CloudTrail log file integrity validation).
//!
//! A key is valid for 30 days from the start of the first period it signs (AWS's published
//! keys show 30-day validity); a digest whose period ends later gets a new key, valid from
//! where the last one ended, so the validity ranges of one region's keys follow each other
//! without gaps. Keys are never dropped: every digest ever signed stays verifiable. A reset
//! keeps them too — they are CloudTrail's keys, not an account's.
//!
//! Generating an RSA-2048 key takes a few hundred milliseconds: callers run
//! [`SigningKeys::for_period`] and [`SigningKeys::ensure_current`] off the request path.
//! With `--data-dir` each new key is stored wrapped under `root.key` before anything it signed
//! is published ([`SigningKeys::take_unsaved`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The algorithm digest files are signed with, as named in their metadata.
pub const SIGNATURE_ALGORITHM: &str = "SHA256withRSA";

/// How long a key is valid.
pub const KEY_VALIDITY_SECONDS: i64 = 30 * 86_400;

const KEY_BITS: usize = 2048;

/// A key's public facts: what `ListPublicKeys` returns and what is stored beside the wrapped
/// private key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyInfo {
    /// The region whose digests it signs.
    pub region: String,
    /// Hex MD5 of the DER public key, as in `digestPublicKeyFingerprint`.
    pub fingerprint: String,
    /// Start of validity, Unix seconds.
    pub validity_start: i64,
    /// End of validity, Unix seconds.
    pub validity_end: i64,
}

/// One signing key pair.
pub struct SigningKey {
    info: PublicKeyInfo,
    /// The DER `RSAPublicKey` (PKCS #1), `ListPublicKeys`' `Value`.
    public_der: Vec<u8>,
    /// The private key as PKCS #8 DER, kept only to be stored (wrapped).
    pkcs8: Zeroizing<Vec<u8>>,
    pair: RsaKeyPair,
}

impl std::fmt::Debug for SigningKey {
    /// The private half is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("info", &self.info).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh key for `region`, valid from `start` to `end`.
    pub fn generate(region: &str, start: i64, end: i64) -> Result<SigningKey, String> {
        use rsa::pkcs8::EncodePrivateKey;
        let mut rng = getrandom::SysRng;
        let private = rsa::PrivateKey::new(&mut rng, KEY_BITS).map_err(|e| format!("cannot generate a digest signing key: {e}"))?;
        let der = private.to_pkcs8_der().map_err(|e| format!("cannot encode a digest signing key: {e}"))?;
        let info = PublicKeyInfo { region: region.to_string(), fingerprint: String::new(), validity_start: start, validity_end: end };
        SigningKey::from_pkcs8(info, Zeroizing::new(der.as_bytes().to_vec()))
    }

    /// The key stored as `info` and PKCS #8 DER `pkcs8` (its fingerprint is computed again).
    pub fn from_pkcs8(mut info: PublicKeyInfo, pkcs8: Zeroizing<Vec<u8>>) -> Result<SigningKey, String> {
        let pair = RsaKeyPair::from_pkcs8(&pkcs8).map_err(|e| format!("a stored digest signing key does not load: {e}"))?;
        let public_der = pair.public().as_ref().to_vec();
        info.fingerprint = fingerprint(&public_der);
        Ok(SigningKey { info, public_der, pkcs8, pair })
    }

    /// Its public facts.
    pub fn info(&self) -> &PublicKeyInfo {
        &self.info
    }

    /// The DER `RSAPublicKey` (PKCS #1).
    pub fn public_der(&self) -> &[u8] {
        &self.public_der
    }

    /// The private key as PKCS #8 DER, for durable storage only (which wraps it).
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The hex SHA256withRSA (PKCS #1 v1.5) signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<String, String> {
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), message, &mut signature)
            .map_err(|_| "signing a digest file failed".to_string())?;
        Ok(hex::encode(signature))
    }
}

/// CloudTrail's fingerprint of a public key: the hex MD5 of its DER form (it matches the
/// `Fingerprint` and `Value` pairs AWS publishes).
pub fn fingerprint(public_der: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(public_der))
}

/// Every region's keys; a cheap `Clone` handle.
#[derive(Clone, Default)]
pub struct SigningKeys {
    inner: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// Each region's keys, oldest first.
    by_region: BTreeMap<String, Vec<Arc<SigningKey>>>,
    /// Keys made since the last [`SigningKeys::take_unsaved`].
    unsaved: Vec<Arc<SigningKey>>,
}

impl SigningKeys {
    /// No keys yet.
    pub fn new() -> Self {
        SigningKeys::default()
    }

    /// Adds keys loaded from durable storage.
    pub fn restore(&self, keys: Vec<SigningKey>) {
        let mut state = self.inner.lock();
        for key in keys {
            state.by_region.entry(key.info.region.clone()).or_default().push(Arc::new(key));
        }
        for list in state.by_region.values_mut() {
            list.sort_by_key(|k| k.info.validity_start);
        }
    }

    /// The key that signs `region`'s digest for the period ending at `end` that starts at
    /// `start`: the region's newest key if it is still valid at `end`, else a new one.
    pub fn for_period(&self, region: &str, start: i64, end: i64) -> Result<Arc<SigningKey>, String> {
        self.newest_valid_at(region, end, start)
    }

    /// Makes sure `region` has a key valid at `now` (`ListPublicKeys` always shows the current key).
    pub fn ensure_current(&self, region: &str, now: i64) -> Result<(), String> {
        self.newest_valid_at(region, now, now).map(|_| ())
    }

    /// Whether `region` has a key valid at `t` (so [`SigningKeys::ensure_current`] is quick).
    pub fn has_key_at(&self, region: &str, t: i64) -> bool {
        self.inner.lock().by_region.get(region).and_then(|l| l.last()).is_some_and(|k| k.info.validity_end >= t)
    }

    fn newest_valid_at(&self, region: &str, t: i64, first_start: i64) -> Result<Arc<SigningKey>, String> {
        let start = {
            let state = self.inner.lock();
            match state.by_region.get(region).and_then(|l| l.last()) {
                Some(k) if k.info.validity_end >= t => return Ok(k.clone()),
                Some(k) => k.info.validity_end,
                None => first_start.min(t),
            }
        };
        // Generated without the lock held (it takes a while); another caller may have made one
        // meanwhile, and then the first one in wins.
        let end = start.max(t).saturating_add(KEY_VALIDITY_SECONDS);
        let key = Arc::new(SigningKey::generate(region, start, end)?);
        let mut state = self.inner.lock();
        let list = state.by_region.entry(region.to_string()).or_default();
        if let Some(k) = list.last().filter(|k| k.info.validity_end >= t) {
            return Ok(k.clone());
        }
        list.push(key.clone());
        state.unsaved.push(key.clone());
        tracing::info!(region, fingerprint = %key.info.fingerprint, "made a digest signing key");
        Ok(key)
    }

    /// `region`'s keys whose validity overlaps `[start, end]`, newest first.
    pub fn list(&self, region: &str, start: i64, end: i64) -> Vec<Arc<SigningKey>> {
        let state = self.inner.lock();
        let mut keys: Vec<_> = state
            .by_region
            .get(region)
            .into_iter()
            .flatten()
            .filter(|k| k.info.validity_start <= end && k.info.validity_end >= start)
            .cloned()
            .collect();
        keys.reverse();
        keys
    }

    /// The keys made since the last call, for durable storage.
    pub fn take_unsaved(&self) -> Vec<Arc<SigningKey>> {
        std::mem::take(&mut self.inner.lock().unsaved)
    }

    /// Puts back keys whose storing failed, to be stored with the next commit.
    pub fn return_unsaved(&self, keys: Vec<Arc<SigningKey>>) {
        let mut state = self.inner.lock();
        let mut keys = keys;
        keys.append(&mut state.unsaved);
        state.unsaved = keys;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprint of AWS's published example key (Custom implementations of CloudTrail
    /// log file integrity validation, ListPublicKeys sample response).
    #[test]
    fn fingerprints_match_aws() {
        use base64::Engine;
        let value = "MIIBCgKCAQEAn11L2YZ9h7onug2ILi1MWyHiMRsTQjfWE+pHVRLk1QjfWhirG+lpOa8NrwQ/r7Ah5bNL6HepznOU9XTDSfmmnP97mqyc7z/upfZdS/AHhYcGaz7n6Wc/RRBU6VmiPCrAUojuSk6/GjvA8iOPFsYDuBtviXarvuLPlrT9kAd4Lb+rFfR5peEgBEkhlzc5HuWO7S0y+KunqxX6jQBnXGMtxmPBPP0FylgWGNdFtks/4YSKcgqwH0YDcawP9GGGDAeCIqPWIXDLG1jOjRRzWfCmD0iJUkz8vTsn4hq/5ZxRFE7UBAUiVcGbdnDdvVfhF9C3dQiDq3k7adQIziLT0cShgQIDAQAB";
        let der = base64::engine::general_purpose::STANDARD.decode(value).unwrap();
        assert_eq!(fingerprint(&der), "8eba5db5bea9b640d1c96a77256fe7f2");
    }

    #[test]
    fn keys_follow_each_other_and_survive_a_reload() {
        let keys = SigningKeys::new();
        let day = 86_400;
        let first = keys.for_period("us-east-1", 1000, 1000 + 3600).unwrap();
        assert_eq!((first.info().validity_start, first.info().validity_end), (1000, 1000 + 3600 + KEY_VALIDITY_SECONDS));
        assert!(Arc::ptr_eq(&first, &keys.for_period("us-east-1", 4600, 8200).unwrap()), "still valid: reused");
        let later = keys.for_period("us-east-1", 40 * day, 40 * day + 3600).unwrap();
        assert_eq!(later.info().validity_start, first.info().validity_end, "no gap");
        assert_ne!(later.info().fingerprint, first.info().fingerprint);
        assert_eq!(keys.list("us-east-1", 0, i64::MAX).len(), 2);
        assert_eq!(keys.list("us-east-1", 0, 2000)[0].info().fingerprint, first.info().fingerprint);
        assert!(keys.list("eu-west-1", 0, i64::MAX).is_empty(), "per region");
        let unsaved = keys.take_unsaved();
        assert_eq!(unsaved.len(), 2);
        assert!(keys.take_unsaved().is_empty());
        assert!(!format!("{first:?}").contains("pkcs8"), "no private key in Debug");

        let reloaded = SigningKeys::new();
        let copies =
            unsaved.iter().map(|k| SigningKey::from_pkcs8(k.info().clone(), Zeroizing::new(k.pkcs8().to_vec())).unwrap()).collect();
        reloaded.restore(copies);
        let again = reloaded.for_period("us-east-1", 40 * day, 40 * day + 7200).unwrap();
        assert_eq!(again.info(), later.info());
        assert!(reloaded.take_unsaved().is_empty());
        let message = b"2025-01-01T01:00:00Z\nbucket/key\nabc\nnull";
        assert_eq!(again.sign(message).unwrap(), later.sign(message).unwrap(), "PKCS #1 v1.5 is deterministic");
    }
}
