//! Trail delivery: gzipped `{"Records":[…]}` log files in CloudTrail's S3 key layout
//! (cloudtrail-for-kms.md §6) and, for trails that validate, signed hourly digest files
//! ([`crate::digests`]), published into a bucket folder that stands for S3 — or into an outbox
//! from which [`remote::Uploader`] puts them into a real S3-compatible store.
//!
//! Layout: `folder` (the on-disk bucket format shared with keytrail's S3 API), `log_file`
//! (one log file's key and body), `remote` (the uploader), and here the [`Delivery`] sink.
//!
//! [`Delivery`] is a [`RecordSink`]: as each record is recorded it goes to the pending buffer of
//! every trail that [receives](crate::trails::Trail::receives) it at that moment, so a record
//! from while a trail excluded it is never delivered later. A record is due at the end of the
//! delivery interval (mock time, 5 minutes by default) it falls in; [`Delivery::deliver_due`]
//! writes everything due, one file per trail, region and interval, stamped with the interval's
//! end, then the digest files that fall due; [`Delivery::flush_all`] writes everything at
//! shutdown. A trail whose pending records reach [`EARLY_DELIVERY_RECORDS`] gets them all in a
//! file at the next delivery check (every second of real time) instead of at its interval's
//! end: pending records live in memory, and under sustained load five minutes of them grew RSS
//! without bound (the soak measured it). CloudTrail too writes several files per interval when a
//! trail is busy.
//!
//! Pending records are in memory, so with `--data-dir` each trail's *delivery mark* is stored
//! beside it ([`Delivery::delivered_through`]): every record with a sequence number up to the
//! mark that the trail receives is in a published log file. After a crash, [`Delivery::resume`]
//! takes the records after each mark back from the on-disk history, so a `kill -9` loses no
//! record from the trail's files. Delivery is at least once: records published after the last
//! stored mark are published again after a crash (CloudTrail, too, may deliver an event more
//! than once); such a file is then in no digest, and the digest chains (stored with the marks)
//! stay whole: a digest published just before a crash that the stored chain does not count is
//! superseded by the next one, which names the same previous digest (and, if the clock has not
//! moved, has the same key, so it replaces it).
//!
//! Choice: log files are not encrypted. The seam for SSE-KMS log files is
//! [`Delivery::encrypt_for_trail`], a no-op until CloudTrail can call KMS as
//! `cloudtrail.amazonaws.com` (issue 24).

pub mod folder;
pub mod log_file;
pub mod remote;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use time::OffsetDateTime;

use crate::digests::{self, DigestChain, DigestChains};
use crate::history::{EventLog, EventQuery};
use crate::recorder::{RecordSink, StoredEvent};
use crate::signing::SigningKeys;
use crate::trails::{Trail, TrailKey, Trails};
pub use folder::create_private_dir;
use folder::{BucketFolder, Object, ObjectKind};
pub use log_file::records_document;
use log_file::Location;

/// CloudTrail's delivery cadence ("about every 5 minutes").
pub const DEFAULT_DELIVERY_INTERVAL_SECONDS: i64 = 300;

/// Pending records of one trail that make its next delivery check write them all at once.
pub const EARLY_DELIVERY_RECORDS: usize = 1000;

/// A record waiting for a trail's next log file.
struct Pending {
    /// When it is due (Unix seconds): the end of its delivery interval.
    due: i64,
    event: Arc<StoredEvent>,
}

/// Where published objects go.
pub enum Destination {
    /// The bucket folder keytrail's S3 API serves: an object is delivered once it is there.
    Folder(BucketFolder),
    /// An outbox folder (same format) that the uploader empties into a real store: an object is
    /// delivered once the store has it.
    Outbox(Arc<remote::Uploader>),
}

/// Writes trails' log and digest files. Share it as `Arc<Delivery>`; it is registered on the
/// recorder.
pub struct Delivery {
    trails: Trails,
    destination: Destination,
    interval: i64,
    keys: SigningKeys,
    state: Mutex<State>,
    /// The digest chains; changed only by `deliver` (the server's tick, one at a time) and reset.
    chains: Mutex<DigestChains>,
}

#[derive(Default)]
struct State {
    pending: BTreeMap<TrailKey, Vec<Pending>>,
    /// The highest sequence number offered to the trails so far.
    seen_through: u64,
    /// Records taken out of `pending` and being written now, per trail: the lowest sequence
    /// number among them (they count as pending for the marks until written or put back).
    writing: BTreeMap<TrailKey, u64>,
}

impl Delivery {
    /// Delivery for `trails` into the bucket folder `root` (`<root>/<bucket>/<prefix>/AWSLogs/…`),
    /// every `interval_seconds` of mock time.
    pub fn new(trails: Trails, root: PathBuf, interval_seconds: i64) -> Self {
        Delivery::with_destination(trails, Destination::Folder(BucketFolder::new(root)), interval_seconds, SigningKeys::new())
    }

    /// Delivery for `trails` to `destination`, signing digests with `keys`.
    pub fn with_destination(trails: Trails, destination: Destination, interval_seconds: i64, keys: SigningKeys) -> Self {
        Delivery {
            trails,
            destination,
            interval: interval_seconds.max(1),
            keys,
            state: Mutex::new(State::default()),
            chains: Mutex::new(DigestChains::default()),
        }
    }

    /// Where objects are published: the bucket folder, or the uploader's outbox.
    pub fn folder(&self) -> &BucketFolder {
        match &self.destination {
            Destination::Folder(f) => f,
            Destination::Outbox(u) => u.outbox(),
        }
    }

    /// The uploader to a real store, if delivery goes to one.
    pub fn uploader(&self) -> Option<&Arc<remote::Uploader>> {
        match &self.destination {
            Destination::Folder(_) => None,
            Destination::Outbox(u) => Some(u),
        }
    }

    /// Writes every pending record that is due at `now`, then the digest files due. Returns the
    /// paths written.
    pub fn deliver_due(&self, now: OffsetDateTime) -> Vec<PathBuf> {
        self.deliver(now.unix_timestamp(), false, false)
    }

    /// Writes every pending record, due or not (shutdown), and the digests due. With
    /// `end_chains` (no data dir: the chains would not survive) every chain ends with a final
    /// digest. Returns the paths written.
    pub fn flush_all(&self, now: OffsetDateTime, end_chains: bool) -> Vec<PathBuf> {
        self.deliver(now.unix_timestamp(), true, end_chains)
    }

    /// Drops the pending records of one trail (DeleteTrail). Its digest chains end at the next
    /// delivery check.
    pub fn forget(&self, key: &TrailKey) {
        self.state.lock().pending.remove(key);
    }

    /// Drops every pending record and digest chain (control API `reset`). Signing keys stay.
    pub fn clear(&self) {
        // One lock at a time: `deliver` holds the chains while it takes the state.
        {
            let mut state = self.state.lock();
            state.pending.clear();
            state.writing.clear();
        }
        self.chains.lock().clear();
    }

    /// The digest chains, for durable storage.
    pub fn digest_chains(&self) -> Vec<DigestChain> {
        self.chains.lock().snapshot()
    }

    /// Continues the chains stored before a restart.
    pub fn restore_digest_chains(&self, chains: Vec<DigestChain>) {
        self.chains.lock().restore(chains);
    }

    /// The digest signing keys.
    pub fn signing_keys(&self) -> &SigningKeys {
        &self.keys
    }

    /// Each trail's delivery mark: every record up to this sequence number that the trail
    /// receives is in one of its log files (none is pending or being written).
    pub fn delivered_through(&self) -> Vec<(TrailKey, u64)> {
        let state = self.state.lock();
        let mut marks = Vec::new();
        self.trails.for_each(|trail| {
            let key = trail.key();
            let pending = state.pending.get(&key).into_iter().flatten().map(|p| p.event.seq);
            let oldest = pending.chain(state.writing.get(&key).copied()).min();
            marks.push((key, oldest.map_or(state.seen_through, |seq| seq.saturating_sub(1))));
        });
        marks
    }

    /// After a restart: `history` holds every record; each trail in `marks` takes back, as
    /// pending, the records after its mark that it receives, and records from now on are
    /// numbered after `history`'s last. A trail without a mark (none was stored) starts from
    /// here: what it had pending when keytrail stopped is not known.
    ///
    /// Whether a trail receives a record is decided by the trail as it is now (as stored), not as
    /// it was when the record was made; they differ only if the trail changed in the last
    /// moments before a crash.
    pub fn resume(&self, marks: &[(TrailKey, u64)], history: &dyn EventLog) {
        let mut state = self.state.lock();
        state.seen_through = state.seen_through.max(history.last_seq());
        for (key, mark) in marks {
            let Some(trail) = self.trails.get(key) else { continue };
            let events = history.query(&EventQuery { after_seq: Some(*mark), ..EventQuery::default() });
            let list = state.pending.entry(key.clone()).or_default();
            list.extend(events.into_iter().filter(|e| takes(&trail, e)).map(|e| self.pending(e)));
        }
        state.pending.retain(|_, list| !list.is_empty());
    }

    /// `event`, waiting for the end of its delivery interval.
    fn pending(&self, event: Arc<StoredEvent>) -> Pending {
        Pending { due: self.due_time(event.epoch_seconds), event }
    }

    fn due_time(&self, epoch_seconds: i64) -> i64 {
        (epoch_seconds.div_euclid(self.interval) + 1) * self.interval
    }

    fn deliver(&self, now: i64, everything: bool, end_chains: bool) -> Vec<PathBuf> {
        let mut chains = self.chains.lock();
        let ending: Vec<TrailKey> = if end_chains {
            let mut all: Vec<TrailKey> = chains.snapshot().into_iter().map(|c| c.trail).collect();
            all.dedup();
            all
        } else {
            chains.ending(|k| self.trails.get(k))
        };
        if !end_chains {
            chains.open(&self.trails.filter(digests::validates), now);
        }
        // (trail, region, publication time) → records, in history order.
        let mut batches: BTreeMap<(TrailKey, String, i64), Vec<Arc<StoredEvent>>> = BTreeMap::new();
        {
            let mut state = self.state.lock();
            let State { pending, writing, .. } = &mut *state;
            for (key, list) in pending.iter_mut() {
                // A chain that ends takes its trail's last records in its final digest.
                let all = everything || list.len() >= EARLY_DELIVERY_RECORDS || ending.contains(key);
                let (due, keep): (Vec<Pending>, Vec<Pending>) = std::mem::take(list).into_iter().partition(|p| all || p.due <= now);
                *list = keep;
                if let Some(oldest) = due.iter().map(|p| p.event.seq).min() {
                    let w = writing.entry(key.clone()).or_insert(oldest);
                    *w = (*w).min(oldest);
                }
                for p in due {
                    let region = p.event.summary.aws_region.clone();
                    batches.entry((key.clone(), region, p.due.min(now))).or_default().push(p.event);
                }
            }
            pending.retain(|_, list| !list.is_empty());
        }
        let mut written = Vec::new();
        for ((key, region, at), events) in batches {
            let Some(trail) = self.trails.get(&key) else { continue };
            let location = Location { bucket: &trail.s3_bucket_name, prefix: trail.s3_key_prefix.as_deref() };
            let result = log_file::build(&key, location, &region, at, &events).and_then(|mut file| {
                self.encrypt_for_trail(&trail, &mut file.object);
                self.publish(&file.object, at).map(|path| (path, file.entry))
            });
            match result {
                Ok((path, entry)) => {
                    chains.note(&trail, &region, entry, now);
                    written.push(path);
                }
                Err(e) => {
                    // Kept for the next attempt, as CloudTrail retries.
                    self.failed(&trail, ObjectKind::Log, at, &e.to_string());
                    self.state.lock().pending.entry(key).or_default().extend(events.into_iter().map(|event| Pending { due: at, event }));
                }
            }
        }
        // Written, or back in pending: none is in flight any more.
        self.state.lock().writing.clear();
        for due in chains.due(now, &ending) {
            let Some(chain) = chains.get(&due.chain) else { continue };
            let trail = chain.trail.clone();
            let built = digests::build(chain, due.end, &self.keys);
            match built.and_then(|digest| self.publish(&digest.object, due.end).map(|path| (path, digest)).map_err(|e| e.to_string())) {
                Ok((path, digest)) => {
                    chains.advance(&due, &digest);
                    written.push(path);
                }
                Err(e) => match self.trails.get(&trail) {
                    Some(t) => self.failed(&t, ObjectKind::Digest, due.end, &e),
                    None => {
                        tracing::warn!(trail = %trail.name, error = %e, "could not write the final digest of a deleted trail; will retry")
                    }
                },
            }
        }
        written
    }

    /// The encryption step of a log file: none today. With SSE-KMS (a trail's `KmsKeyId`),
    /// CloudTrail encrypts each log file under a data key it gets from KMS as
    /// `cloudtrail.amazonaws.com`; keytrail stores the key id and writes files unencrypted.
    pub fn encrypt_for_trail(&self, _trail: &Trail, _object: &mut Object) {}

    /// Publishes `object` (published at mock time `at`): into the bucket folder, where it is
    /// delivered now, or into the outbox, whose uploader delivers it.
    fn publish(&self, object: &Object, at: i64) -> std::io::Result<PathBuf> {
        match &self.destination {
            Destination::Folder(folder) => {
                let path = folder.put(object)?;
                if let Some(trail) = &object.sidecar.trail {
                    note_attempt(&self.trails, trail, object.sidecar.kind, at, None);
                }
                Ok(path)
            }
            Destination::Outbox(uploader) => uploader.queue(object),
        }
    }

    fn failed(&self, trail: &Trail, kind: ObjectKind, at: i64, error: &str) {
        if note_attempt(&self.trails, &trail.key(), kind, at, Some(error.to_string())) {
            // Said once per new error rather than on every tick.
            tracing::warn!(trail = %trail.arn(), error, "could not write a trail file; will retry");
        }
    }
}

/// Notes a delivery attempt of a `kind` file for `trail` at `at` in its status: success, or the
/// error. Returns whether the error differs from the last one noted.
pub(crate) fn note_attempt(trails: &Trails, trail: &TrailKey, kind: ObjectKind, at: i64, error: Option<String>) -> bool {
    trails
        .update(trail, |t| {
            let s = &mut t.status;
            match kind {
                ObjectKind::Log => {
                    s.latest_delivery_attempt_time = Some(at);
                    if error.is_none() {
                        s.latest_delivery_time = Some(at);
                    }
                    std::mem::replace(&mut s.latest_delivery_error, error.clone()) != error
                }
                ObjectKind::Digest => {
                    if error.is_none() {
                        s.latest_digest_delivery_time = Some(at);
                    }
                    std::mem::replace(&mut s.latest_digest_delivery_error, error.clone()) != error
                }
            }
        })
        .unwrap_or(false)
}

/// Whether `trail` logs `event`: it receives it, and its region can name a directory.
fn takes(trail: &Trail, event: &StoredEvent) -> bool {
    is_region_name(&event.summary.aws_region) && trail.receives(&event.summary)
}

/// Whether `region` can name a directory: a region name as AWS forms them. The region comes
/// from the caller's SigV4 scope (refused there when it is not a region name), so anything else
/// (`..`, `x\y`) is never written to disk; this checks again where the path is made.
fn is_region_name(region: &str) -> bool {
    keytrail_iam::names::is_region_name(region)
}

impl RecordSink for Delivery {
    fn accept(&self, events: &[Arc<StoredEvent>]) {
        let mut state = self.state.lock();
        self.trails.for_each(|trail| {
            for e in events.iter().filter(|e| takes(trail, e)) {
                state.pending.entry(trail.key()).or_default().push(self.pending(e.clone()));
            }
        });
        if let Some(last) = events.iter().map(|e| e.seq).max() {
            state.seen_through = state.seen_through.max(last);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::path::Path;

    use super::*;
    use crate::record::tests::sample;
    use crate::recorder::Recorder;
    use crate::selectors::{EventSelector, Selectors};
    use crate::signing::SigningKeys;
    use crate::trails::Trail;
    use time::macros::datetime;

    fn trail(selectors: Selectors) -> Trail {
        let mut t = Trail::new("t1", "111122223333", "us-east-1", "bucket");
        t.s3_key_prefix = Some("pre/fix".into());
        t.selectors = selectors;
        t.status.is_logging = true;
        t
    }

    fn read_gz(path: &Path) -> serde_json::Value {
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()).read_to_string(&mut text).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn delivers_selected_records_when_due() {
        let root = std::env::temp_dir().join(format!("keytrail-delivery-{}", uuid::Uuid::new_v4()));
        let trails = Trails::new();
        let no_kms = EventSelector { exclude_management_event_sources: vec!["kms.amazonaws.com".into()], ..EventSelector::default() };
        trails.insert_new(trail(Selectors::Default)).unwrap();
        let t2 = Trail { name: "t2".into(), is_multi_region_trail: true, ..trail(Selectors::Basic(vec![no_kms])) };
        trails.insert_new(t2).unwrap();
        let delivery = Arc::new(Delivery::new(trails, root.clone(), 300));
        let recorder = Recorder::new(None);
        recorder.add_sink(delivery.clone());
        let mut west = sample();
        west.aws_region = "us-west-2".into();
        let mut other_account = sample();
        other_account.recipient_account_id = "444455556666".into();
        let mut ct = sample();
        ct.event_source = "cloudtrail.amazonaws.com".into();
        let mut odd_region = sample();
        odd_region.aws_region = "..".into();
        odd_region.event_source = "cloudtrail.amazonaws.com".into();
        let stored = recorder.record(vec![sample(), west, other_account, ct, odd_region]);

        // 2025-01-01T00:00:00Z falls in the interval that ends at 00:05.
        assert!(delivery.deliver_due(datetime!(2025-01-01 00:04:59 UTC)).is_empty());
        let mut files = delivery.deliver_due(datetime!(2025-01-01 00:05 UTC));
        files.sort();
        assert_eq!(files.len(), 2, "{files:?}");
        let dir = root.join("bucket/pre/fix/AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/01");
        for f in &files {
            assert_eq!(f.parent().unwrap(), dir);
            let name = f.file_name().unwrap().to_str().unwrap();
            assert!(name.starts_with("111122223333_CloudTrail_us-east-1_20250101T0005Z_") && name.ends_with(".json.gz"), "{name}");
            assert_eq!(name.len(), "111122223333_CloudTrail_us-east-1_20250101T0005Z_".len() + 16 + ".json.gz".len());
        }
        let bodies: Vec<serde_json::Value> = files.iter().map(|f| read_gz(f)).collect();
        let sizes: Vec<usize> = bodies.iter().map(|b| b["Records"].as_array().unwrap().len()).collect();
        assert!(sizes.contains(&2) && sizes.contains(&1), "{sizes:?}");
        let all: serde_json::Value = serde_json::from_str(&stored[0].json).unwrap();
        assert!(bodies.iter().any(|b| b["Records"][0] == all));
        assert!(delivery.deliver_due(datetime!(2025-01-01 01:00 UTC)).is_empty());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_busy_trail_gets_a_file_before_its_interval_ends() {
        let root = std::env::temp_dir().join(format!("keytrail-delivery-{}", uuid::Uuid::new_v4()));
        let trails = Trails::new();
        trails.insert_new(trail(Selectors::Default)).unwrap();
        let delivery = Arc::new(Delivery::new(trails, root.clone(), 300));
        let recorder = Recorder::new(None);
        recorder.add_sink(delivery.clone());
        // One short of the threshold: nothing is written before the interval ends.
        recorder.record((0..EARLY_DELIVERY_RECORDS - 1).map(|_| sample()).collect());
        assert!(delivery.deliver_due(datetime!(2025-01-01 00:01 UTC)).is_empty());
        // At the threshold: all of them, in one file stamped with the check's time.
        recorder.record(vec![sample()]);
        let files = delivery.deliver_due(datetime!(2025-01-01 00:01 UTC));
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(files[0].file_name().unwrap().to_str().unwrap().contains("_20250101T0001Z_"), "{files:?}");
        assert_eq!(read_gz(&files[0])["Records"].as_array().unwrap().len(), EARLY_DELIVERY_RECORDS);
        assert!(delivery.deliver_due(datetime!(2025-01-01 00:05 UTC)).is_empty(), "nothing is delivered twice");
        std::fs::remove_dir_all(root).unwrap();
    }

    /// The marks say through which record each trail has its files; a new `Delivery` over the
    /// same history (keytrail after a crash) takes back exactly the records after the marks.
    #[test]
    fn after_a_restart_a_trail_takes_back_what_it_had_not_delivered() {
        let root = std::env::temp_dir().join(format!("keytrail-delivery-{}", uuid::Uuid::new_v4()));
        let trails = Trails::new();
        trails.insert_new(trail(Selectors::Default)).unwrap();
        let history = Arc::new(crate::history::MemoryEventLog::default());
        let recorder = Recorder::with_log(history.clone(), None);
        let delivery = Arc::new(Delivery::new(trails.clone(), root.clone(), 300));
        recorder.add_sink(delivery.clone());
        let key = trails.filter(|_| true)[0].key();
        // Nothing received yet: the mark is the last record seen (none).
        assert_eq!(delivery.delivered_through(), [(key.clone(), 0)]);
        recorder.record(vec![sample(), sample(), sample()]);
        assert_eq!(delivery.delivered_through(), [(key.clone(), 0)], "three pending");
        assert_eq!(delivery.deliver_due(datetime!(2025-01-01 00:05 UTC)).len(), 1);
        assert_eq!(delivery.delivered_through(), [(key.clone(), 3)]);
        let mut other_account = sample();
        other_account.recipient_account_id = "444455556666".into();
        recorder.record(vec![other_account]);
        assert_eq!(delivery.delivered_through(), [(key.clone(), 4)], "a record the trail does not receive moves its mark");
        recorder.record(vec![sample(), sample()]);
        let marks = delivery.delivered_through();
        assert_eq!(marks, [(key.clone(), 4)]);

        // "Crash": the pending records are lost with the old Delivery; a new one resumes.
        let resumed = Delivery::new(trails, root.clone(), 300);
        resumed.resume(&marks, &*history);
        assert_eq!(resumed.delivered_through(), [(key.clone(), 4)]);
        let files = resumed.deliver_due(datetime!(2025-01-01 00:05 UTC));
        assert_eq!(files.len(), 1);
        let seqs: Vec<u64> = history.query(&EventQuery { after_seq: Some(4), ..EventQuery::default() }).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [5, 6]);
        let delivered = read_gz(&files[0]);
        assert_eq!(delivered["Records"].as_array().unwrap().len(), 2, "records 5 and 6, not 1-3 again nor 4");
        assert_eq!(resumed.delivered_through(), [(key, 6)]);
        std::fs::remove_dir_all(root).unwrap();
    }

    fn digest_of(path: &Path) -> (serde_json::Value, Vec<u8>) {
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()).read_to_end(&mut raw).unwrap();
        (serde_json::from_slice(&raw).unwrap(), raw)
    }

    /// Checks a digest's signature as the AWS CLI does: the data signing string over the file's
    /// own hash, under the public key ListPublicKeys would return for its fingerprint.
    fn assert_signed(path: &Path, keys: &SigningKeys) {
        let (doc, raw) = digest_of(path);
        let sidecar = BucketFolder::sidecar(path);
        let meta: BTreeMap<_, _> = sidecar.metadata.iter().cloned().collect();
        assert_eq!(meta["signature-algorithm"], "SHA256withRSA");
        let previous = doc["previousDigestSignature"].as_str().unwrap_or("null");
        let to_sign = format!(
            "{}\n{}/{}\n{}\n{previous}",
            doc["digestEndTime"].as_str().unwrap(),
            doc["digestS3Bucket"].as_str().unwrap(),
            doc["digestS3Object"].as_str().unwrap(),
            hex::encode(ring::digest::digest(&ring::digest::SHA256, &raw))
        );
        let key =
            keys.list("us-east-1", 0, i64::MAX).into_iter().find(|k| k.info().fingerprint == doc["digestPublicKeyFingerprint"]).unwrap();
        let public = ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, key.public_der());
        public.verify(to_sign.as_bytes(), &hex::decode(&meta["signature"]).unwrap()).expect("signature verifies");
    }

    /// A validating trail: a starting digest an hour after it starts, listing its log file with
    /// the file's hash; an empty digest the next hour chained to it; a final digest when logging
    /// stops, holding the records still pending; a new chain when it starts again.
    #[test]
    fn digests_chain_hourly_and_end_when_logging_stops() {
        let root = std::env::temp_dir().join(format!("keytrail-digest-{}", uuid::Uuid::new_v4()));
        let trails = Trails::new();
        let mut t = trail(Selectors::Default);
        t.log_file_validation_enabled = true;
        trails.insert_new(t).unwrap();
        let key = trails.filter(|_| true)[0].key();
        let delivery = Arc::new(Delivery::new(trails.clone(), root.clone(), 300));
        let recorder = Recorder::new(None);
        recorder.add_sink(delivery.clone());
        assert!(delivery.deliver_due(datetime!(2025-01-01 00:00:30 UTC)).is_empty(), "the chain starts");
        recorder.record(vec![sample(), sample()]);
        let logs = delivery.deliver_due(datetime!(2025-01-01 00:05 UTC));
        assert_eq!(logs.len(), 1);
        let first = delivery.deliver_due(datetime!(2025-01-01 01:00:30 UTC));
        assert_eq!(first.len(), 1, "{first:?}");
        let first_key = first[0].strip_prefix(root.join("bucket")).unwrap().to_str().unwrap().to_string();
        assert_eq!(
            first_key,
            "pre/fix/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/01/111122223333_CloudTrail-Digest_us-east-1_t1_us-east-1_20250101T010030Z.json.gz"
        );
        let (doc, raw) = digest_of(&first[0]);
        assert_eq!(doc["digestStartTime"], "2025-01-01T00:00:30Z");
        assert_eq!(doc["digestEndTime"], "2025-01-01T01:00:30Z");
        assert_eq!(doc["digestS3Object"], first_key.as_str());
        assert!(doc["previousDigestSignature"].is_null() && doc["previousDigestS3Object"].is_null(), "a starting digest");
        let files = doc["logFiles"].as_array().unwrap();
        assert_eq!(files.len(), 1);
        let mut log_body = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&logs[0]).unwrap()).read_to_end(&mut log_body).unwrap();
        assert_eq!(files[0]["hashValue"], hex::encode(ring::digest::digest(&ring::digest::SHA256, &log_body)));
        assert_eq!(files[0]["s3Object"], logs[0].strip_prefix(root.join("bucket")).unwrap().to_str().unwrap());
        assert_eq!(
            (doc["oldestEventTime"].as_str(), doc["newestEventTime"].as_str()),
            (Some("2025-01-01T00:00:00Z"), Some("2025-01-01T00:00:00Z"))
        );
        assert_signed(&first[0], delivery.signing_keys());

        let second = delivery.deliver_due(datetime!(2025-01-01 02:00:31 UTC));
        assert_eq!(second.len(), 1);
        let (doc2, _) = digest_of(&second[0]);
        assert_eq!(doc2["logFiles"], serde_json::json!([]), "an empty digest");
        assert!(doc2["newestEventTime"].is_null());
        assert_eq!(doc2["previousDigestS3Object"], first_key.as_str());
        assert_eq!(doc2["previousDigestHashValue"], hex::encode(ring::digest::digest(&ring::digest::SHA256, &raw)));
        assert_eq!(doc2["previousDigestSignature"].as_str().unwrap(), BucketFolder::sidecar(&first[0]).metadata[0].1);
        assert_signed(&second[0], delivery.signing_keys());
        assert_eq!(trails.get(&key).unwrap().status.latest_digest_delivery_time, Some(datetime!(2025-01-01 02:00:30 UTC).unix_timestamp()));

        // Stopped with a record pending: its log file and a final digest listing it.
        recorder.record(vec![sample()]);
        trails.update(&key, |t| t.status.is_logging = false);
        let last = delivery.deliver_due(datetime!(2025-01-01 02:01 UTC));
        assert_eq!(last.len(), 2, "{last:?}");
        let (doc3, _) = digest_of(&last[1]);
        assert_eq!(doc3["digestEndTime"], "2025-01-01T02:01:00Z");
        assert_eq!(doc3["logFiles"][0]["s3Object"], last[0].strip_prefix(root.join("bucket")).unwrap().to_str().unwrap());
        assert_signed(&last[1], delivery.signing_keys());
        assert!(delivery.digest_chains().is_empty(), "the chain ended");
        trails.update(&key, |t| t.status.is_logging = true);
        assert!(delivery.deliver_due(datetime!(2025-01-01 03:01 UTC)).is_empty());
        let restarted = delivery.deliver_due(datetime!(2025-01-01 04:01 UTC));
        assert!(digest_of(&restarted[0]).0["previousDigestSignature"].is_null(), "a new starting digest");
        std::fs::remove_dir_all(root).unwrap();
    }
}
