//! One trail log file: its S3 key in CloudTrail's layout (cloudtrail-for-kms.md §6) and its
//! gzipped `{"Records":[…]}` body, with what a digest file needs to know of it.

use std::io::Write;
use std::sync::Arc;

use flate2::write::GzEncoder;
use time::OffsetDateTime;

use crate::delivery::folder::{Object, ObjectKind, Sidecar};
use crate::digests::DeliveredFile;
use crate::recorder::StoredEvent;
use crate::trails::TrailKey;

/// Where a trail's files go: bucket and optional key prefix.
#[derive(Clone, Copy, Debug)]
pub struct Location<'a> {
    /// The bucket.
    pub bucket: &'a str,
    /// The key prefix, without a trailing `/`.
    pub prefix: Option<&'a str>,
}

impl Location<'_> {
    /// `<prefix>/AWSLogs/<account>/<folder>/<region>/YYYY/MM/DD/` for time `t`.
    pub(crate) fn dated_dir(&self, account: &str, folder: &str, region: &str, t: OffsetDateTime) -> String {
        let mut key = String::new();
        for segment in self.prefix.unwrap_or_default().split('/').filter(|s| !s.is_empty()) {
            key.push_str(segment);
            key.push('/');
        }
        key.push_str(&format!("AWSLogs/{account}/{folder}/{region}/{:04}/{:02}/{:02}/", t.year(), u8::from(t.month()), t.day()));
        key
    }
}

/// A log file ready to publish, and its entry for the trail's next digest file.
pub struct LogFile {
    /// The object to publish.
    pub object: Object,
    /// Its digest entry (SHA-256 of the uncompressed body, event time range).
    pub entry: DeliveredFile,
}

/// The log file of `events` for `trail` in `region`, published at `at` (Unix seconds):
/// `<prefix>/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz`.
pub fn build(trail: &TrailKey, location: Location<'_>, region: &str, at: i64, events: &[Arc<StoredEvent>]) -> std::io::Result<LogFile> {
    let t = OffsetDateTime::from_unix_timestamp(at).map_err(std::io::Error::other)?;
    let account = &trail.account;
    // Account and region become directories: only their AWS forms may (`--account-id` and the
    // SigV4 scope are checked where they come in; this is the last guard before the disk).
    if !keytrail_iam::names::is_account_id(account) || !keytrail_iam::names::is_region_name(region) {
        return Err(std::io::Error::other(format!("not a log file path: account {account:?}, region {region:?}")));
    }
    let stamp = format!("{:04}{:02}{:02}T{:02}{:02}Z", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute());
    let key = format!(
        "{}{account}_CloudTrail_{region}_{stamp}_{}.json.gz",
        location.dated_dir(account, "CloudTrail", region, t),
        unique_string()
    );
    let body = records_document(events);
    let entry = DeliveredFile {
        bucket: location.bucket.to_string(),
        key: key.clone(),
        sha256: hex::encode(ring::digest::digest(&ring::digest::SHA256, body.as_bytes())),
        oldest: events.iter().map(|e| e.epoch_seconds).min().unwrap_or(at),
        newest: events.iter().map(|e| e.epoch_seconds).max().unwrap_or(at),
    };
    let object = Object {
        bucket: location.bucket.to_string(),
        key,
        body: gzip(body.as_bytes())?,
        sidecar: Sidecar { metadata: Vec::new(), trail: Some(trail.clone()), kind: ObjectKind::Log },
    };
    Ok(LogFile { object, entry })
}

/// `bytes`, gzipped.
pub(crate) fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes)?;
    gz.finish()
}

/// `{"Records":[…]}` of `events`, the body of a trail log file (and of `/_keytrail/events`),
/// built from each record's JSON as kept in history.
pub fn records_document(events: &[Arc<StoredEvent>]) -> String {
    let mut body = String::with_capacity(16 + events.iter().map(|e| e.json.len() + 1).sum::<usize>());
    body.push_str("{\"Records\":[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&e.json);
    }
    body.push_str("]}");
    body
}

/// CloudTrail's 16 random alphanumerics at the end of a log file name.
fn unique_string() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uuid::Uuid::new_v4().as_bytes().iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}
