//! Log file integrity validation: each validating trail's chain of signed digest files
//! (AWS: CloudTrail digest file structure; Custom implementations of CloudTrail log file
//! integrity validation; the AWS CLI's `validate-logs`, `awscli/customizations/cloudtrail/
//! validation.py`, is the oracle the tests run).
//!
//! A [`DigestChain`] exists per trail and region while the trail logs with validation on. Every
//! log file delivered for it is noted ([`DeliveredFile`]); once an hour of mock time has passed
//! since the chain's last digest, a digest file lists those files (none: an "empty" digest, as
//! AWS writes), names the previous digest with its hash and signature, and is signed with the
//! region's key; its signature goes into the object's metadata (`x-amz-meta-signature`,
//! `x-amz-meta-signature-algorithm`).
//!
//! Choices where AWS's behaviour depends on its infrastructure:
//! - The first digest of a chain (validation or logging just turned on, or a restart without a
//!   data dir) is a starting digest: its `previous…` fields are null.
//! - A chain's periods are whole hours from its start. When the mock clock jumps several hours
//!   at once, one digest covers all of them rather than one empty digest per hour.
//! - A multi-region trail has a chain for its home region from the start and one for each other
//!   region from the first log file delivered there (keytrail knows no fixed list of regions).
//! - When a trail stops logging, turns validation off or is deleted, its chain ends with a final
//!   digest covering the log files delivered up to then (its pending records are delivered
//!   first, so the StopLogging period is covered); the next chain starts anew.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::delivery::folder::{Object, ObjectKind, Sidecar};
use crate::delivery::log_file::{gzip, Location};
use crate::signing::{SigningKeys, SIGNATURE_ALGORITHM};
use crate::timefmt;
use crate::trails::{Trail, TrailKey};

/// One hour: a digest file's period.
pub const DIGEST_PERIOD_SECONDS: i64 = 3600;

/// A log file delivered since a chain's last digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveredFile {
    /// Its bucket.
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// Hex SHA-256 of its uncompressed content.
    pub sha256: String,
    /// Its oldest record's `eventTime`, Unix seconds.
    pub oldest: i64,
    /// Its newest record's `eventTime`, Unix seconds.
    pub newest: i64,
}

/// The digest file a chain wrote last, as the next one names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviousDigest {
    /// Its bucket.
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// Hex SHA-256 of its uncompressed content.
    pub sha256: String,
    /// Its hex signature.
    pub signature: String,
}

/// One trail's digest chain in one region. Serializable: with `--data-dir` the chains are
/// stored as they change, with the delivery marks, so a restart continues them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestChain {
    /// The trail.
    pub trail: TrailKey,
    /// The region whose log files it covers (the digest's "source" region).
    pub region: String,
    /// Where its digests go: the trail's bucket and prefix (kept here for the final digest of a
    /// deleted trail).
    pub bucket: String,
    /// The trail's key prefix.
    pub prefix: Option<String>,
    /// Start of the current period (`digestStartTime`), Unix seconds.
    pub start: i64,
    /// The last digest written; `None` until the first (a starting digest).
    pub previous: Option<PreviousDigest>,
    /// Log files delivered in the current period.
    pub files: Vec<DeliveredFile>,
}

/// Every chain; owned by [`Delivery`](crate::delivery::Delivery), which alone changes them.
#[derive(Default)]
pub struct DigestChains {
    chains: BTreeMap<(TrailKey, String), DigestChain>,
}

/// Whether `trail` keeps digest chains now.
pub fn validates(trail: &Trail) -> bool {
    trail.log_file_validation_enabled && trail.status.is_logging
}

impl DigestChains {
    /// Every chain, for durable storage.
    pub fn snapshot(&self) -> Vec<DigestChain> {
        self.chains.values().cloned().collect()
    }

    /// Replaces every chain (start-up from durable storage).
    pub fn restore(&mut self, chains: Vec<DigestChain>) {
        self.chains = chains.into_iter().map(|c| ((c.trail.clone(), c.region.clone()), c)).collect();
    }

    /// Forgets every chain (control API `reset`).
    pub fn clear(&mut self) {
        self.chains.clear();
    }

    /// Trails whose chains must end now: deleted, stopped, or no longer validating.
    pub fn ending(&self, trail_of: impl Fn(&TrailKey) -> Option<Trail>) -> Vec<TrailKey> {
        let mut out: Vec<TrailKey> = Vec::new();
        for (key, _) in self.chains.keys() {
            if !trail_of(key).is_some_and(|t| validates(&t)) && !out.contains(key) {
                out.push(key.clone());
            }
        }
        out
    }

    /// Starts the home-region chain of every validating trail that has none, at `now`, and
    /// keeps each chain's bucket and prefix those of its trail.
    pub fn open(&mut self, trails: &[Trail], now: i64) {
        for trail in trails.iter().filter(|t| validates(t)) {
            self.chains.entry((trail.key(), trail.home_region.clone())).or_insert_with(|| new_chain(trail, &trail.home_region, now));
            for chain in self.chains.values_mut().filter(|c| c.trail == trail.key()) {
                chain.bucket.clone_from(&trail.s3_bucket_name);
                chain.prefix.clone_from(&trail.s3_key_prefix);
            }
        }
    }

    /// Notes a log file delivered for `trail` in `region` at `now`, if the trail keeps a chain
    /// there (a validating multi-region trail gets one for a new region).
    pub fn note(&mut self, trail: &Trail, region: &str, file: DeliveredFile, now: i64) {
        let key = (trail.key(), region.to_string());
        if !self.chains.contains_key(&key) && validates(trail) {
            self.chains.insert(key.clone(), new_chain(trail, region, now));
        }
        if let Some(chain) = self.chains.get_mut(&key) {
            chain.files.push(file);
        }
    }

    /// The digests due at `now`: each chain whose period is over, and every chain of the
    /// trails in `ending` (final digests; those chains are then removed once written).
    pub fn due(&self, now: i64, ending: &[TrailKey]) -> Vec<DueDigest> {
        let mut out = Vec::new();
        for (key, chain) in &self.chains {
            let end = if ending.contains(&key.0) {
                now.max(chain.start)
            } else if now >= chain.start.saturating_add(DIGEST_PERIOD_SECONDS) {
                chain.start + (now - chain.start) / DIGEST_PERIOD_SECONDS * DIGEST_PERIOD_SECONDS
            } else {
                continue;
            };
            out.push(DueDigest { chain: key.clone(), end, last: ending.contains(&key.0) });
        }
        out
    }

    /// The chain at `key`.
    pub fn get(&self, key: &(TrailKey, String)) -> Option<&DigestChain> {
        self.chains.get(key)
    }

    /// After `digest` was published: the chain moves on from it, or ends if it was a final one.
    pub fn advance(&mut self, due: &DueDigest, digest: &DigestFile) {
        if due.last {
            self.chains.remove(&due.chain);
            return;
        }
        if let Some(chain) = self.chains.get_mut(&due.chain) {
            chain.start = due.end;
            chain.previous = Some(digest.written.clone());
            let listed = digest.listed;
            chain.files.drain(..listed.min(chain.files.len()));
        }
    }
}

fn new_chain(trail: &Trail, region: &str, now: i64) -> DigestChain {
    DigestChain {
        trail: trail.key(),
        region: region.to_string(),
        bucket: trail.s3_bucket_name.clone(),
        prefix: trail.s3_key_prefix.clone(),
        start: now,
        previous: None,
        files: Vec::new(),
    }
}

/// A digest to write: which chain, up to when, and whether it ends the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueDigest {
    /// The chain.
    pub chain: (TrailKey, String),
    /// `digestEndTime`.
    pub end: i64,
    /// A final digest.
    pub last: bool,
}

/// A built and signed digest file.
pub struct DigestFile {
    /// The object to publish (its signature in the sidecar's metadata).
    pub object: Object,
    /// What the next digest names as its previous one.
    pub written: PreviousDigest,
    /// How many of the chain's files it lists (files noted later stay for the next).
    pub listed: usize,
}

/// Builds and signs the digest of `chain` for the period ending at `end`:
/// `<prefix>/AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_<trail>_<home region>_<YYYYMMDDTHHmmssZ>.json.gz`.
pub fn build(chain: &DigestChain, end: i64, keys: &SigningKeys) -> Result<DigestFile, String> {
    let t = OffsetDateTime::from_unix_timestamp(end).map_err(|e| e.to_string())?;
    let iso = |s: i64| OffsetDateTime::from_unix_timestamp(s).map(timefmt::event_time).unwrap_or_default();
    let TrailKey { account, region: home, name } = &chain.trail;
    let region = &chain.region;
    let location = Location { bucket: &chain.bucket, prefix: chain.prefix.as_deref() };
    let stamp = format!("{:04}{:02}{:02}T{:02}{:02}{:02}Z", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second());
    let key = format!(
        "{}{account}_CloudTrail-Digest_{region}_{name}_{home}_{stamp}.json.gz",
        location.dated_dir(account, "CloudTrail-Digest", region, t)
    );
    let signing_key = keys.for_period(region, chain.start, end)?;
    let files = &chain.files;
    let newest = files.iter().map(|f| f.newest).max();
    let oldest = files.iter().map(|f| f.oldest).min();
    let previous = chain.previous.as_ref();
    let log_files: Vec<Value> = files
        .iter()
        .map(|f| {
            json!({
                "s3Bucket": f.bucket,
                "s3Object": f.key,
                "hashValue": f.sha256,
                "hashAlgorithm": "SHA-256",
                "newestEventTime": iso(f.newest),
                "oldestEventTime": iso(f.oldest),
            })
        })
        .collect();
    // Field order as in AWS's sample digest files.
    let document = json!({
        "awsAccountId": account,
        "digestStartTime": iso(chain.start),
        "digestEndTime": iso(end),
        "digestS3Bucket": chain.bucket,
        "digestS3Object": key,
        "digestPublicKeyFingerprint": signing_key.info().fingerprint,
        "digestSignatureAlgorithm": SIGNATURE_ALGORITHM,
        "newestEventTime": newest.map(iso),
        "oldestEventTime": oldest.map(iso),
        "previousDigestS3Bucket": previous.map(|p| &p.bucket),
        "previousDigestS3Object": previous.map(|p| &p.key),
        "previousDigestHashValue": previous.map(|p| &p.sha256),
        "previousDigestHashAlgorithm": previous.map(|_| "SHA-256"),
        "previousDigestSignature": previous.map(|p| &p.signature),
        "logFiles": log_files,
    });
    let text = serde_json::to_string(&document).map_err(|e| e.to_string())?;
    let sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()));
    // The data signing string: end time, bucket/key, hash of this file, previous signature
    // ("null" for a starting digest, as the AWS CLI's Java-compatible check expects).
    let to_sign = format!("{}\n{}/{key}\n{sha256}\n{}", iso(end), chain.bucket, previous.map_or("null", |p| p.signature.as_str()));
    let signature = signing_key.sign(to_sign.as_bytes())?;
    let object = Object {
        bucket: chain.bucket.clone(),
        key: key.clone(),
        body: gzip(text.as_bytes()).map_err(|e| e.to_string())?,
        sidecar: Sidecar {
            metadata: vec![("signature".into(), signature.clone()), ("signature-algorithm".into(), SIGNATURE_ALGORITHM.into())],
            trail: Some(chain.trail.clone()),
            kind: ObjectKind::Digest,
        },
    };
    Ok(DigestFile { object, written: PreviousDigest { bucket: chain.bucket.clone(), key, sha256, signature }, listed: files.len() })
}
