//! Trail delivery: gzipped `{"Records":[…]}` log files in CloudTrail's S3 key layout
//! (cloudtrail-for-kms.md §6), written under a local directory that stands for S3.
//!
//! [`Delivery`] is a [`RecordSink`]: as each record is recorded it goes to the pending buffer of
//! every trail that [receives](crate::trails::Trail::receives) it at that moment, so a record
//! from while a trail excluded it is never delivered later. A record is due at the end of the
//! delivery interval (mock time, 5 minutes by default) it falls in; [`Delivery::deliver_due`]
//! writes everything due, one file per trail, region and interval, stamped with the interval's
//! end; [`Delivery::flush_all`] writes everything at shutdown. A trail whose pending records
//! reach [`EARLY_DELIVERY_RECORDS`] gets them all in a file at the next delivery check (every
//! second of real time) instead of at its interval's end: pending records live in memory, and
//! under sustained load five minutes of them grew RSS without bound (the soak measured it).
//! CloudTrail too writes several files per interval when a trail is busy.
//!
//! Pending records are in memory, so with `--data-dir` each trail's *delivery mark* is stored
//! beside it ([`Delivery::delivered_through`]): every record with a sequence number up to the
//! mark that the trail receives is in a log file. After a crash, [`Delivery::resume`] takes the
//! records after each mark back from the on-disk history, so a `kill -9` loses no record from the
//! trail's files. Delivery is at least once: records written to a file after the last stored
//! mark are written again after a crash (CloudTrail, too, may deliver an event more than once).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flate2::write::GzEncoder;
use parking_lot::Mutex;
use time::OffsetDateTime;

use crate::history::{EventLog, EventQuery};
use crate::recorder::{RecordSink, StoredEvent};
use crate::trails::{Trail, TrailKey, Trails};

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

/// Writes trails' log files. Share it as `Arc<Delivery>`; it is registered on the recorder.
pub struct Delivery {
    trails: Trails,
    root: PathBuf,
    interval: i64,
    state: Mutex<State>,
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
    /// Delivery for `trails` into `root` (which stands for S3: `<root>/<bucket>/<prefix>/AWSLogs/…`),
    /// every `interval_seconds` of mock time.
    pub fn new(trails: Trails, root: PathBuf, interval_seconds: i64) -> Self {
        Delivery { trails, root, interval: interval_seconds.max(1), state: Mutex::new(State::default()) }
    }

    /// The directory that stands for S3.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes every pending record that is due at `now`. Returns the paths written.
    pub fn deliver_due(&self, now: OffsetDateTime) -> Vec<PathBuf> {
        self.deliver(now.unix_timestamp(), false)
    }

    /// Writes every pending record, due or not (shutdown). Returns the paths written.
    pub fn flush_all(&self, now: OffsetDateTime) -> Vec<PathBuf> {
        self.deliver(now.unix_timestamp(), true)
    }

    /// Drops the pending records of one trail (DeleteTrail).
    pub fn forget(&self, key: &TrailKey) {
        self.state.lock().pending.remove(key);
    }

    /// Drops every pending record (control API `reset`).
    pub fn clear(&self) {
        let mut state = self.state.lock();
        state.pending.clear();
        state.writing.clear();
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

    fn deliver(&self, now: i64, everything: bool) -> Vec<PathBuf> {
        // (trail, region, publication time) → records, in history order.
        let mut batches: BTreeMap<(TrailKey, String, i64), Vec<Arc<StoredEvent>>> = BTreeMap::new();
        {
            let mut state = self.state.lock();
            let State { pending, writing, .. } = &mut *state;
            for (key, list) in pending.iter_mut() {
                let all = everything || list.len() >= EARLY_DELIVERY_RECORDS;
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
            let result =
                write_log_file(&self.root, &trail.s3_bucket_name, trail.s3_key_prefix.as_deref(), &key.account, &region, at, &events);
            let error = result.as_ref().err().map(|e| e.to_string());
            let was = self.trails.update(&key, |t| {
                t.status.latest_delivery_attempt_time = Some(at);
                if error.is_none() {
                    t.status.latest_delivery_time = Some(at);
                }
                std::mem::replace(&mut t.status.latest_delivery_error, error.clone())
            });
            match result {
                Ok(path) => written.push(path),
                Err(e) => {
                    // Keep the records for the next attempt, as CloudTrail retries; say so once
                    // per new error rather than on every tick.
                    if was.flatten() != error {
                        tracing::warn!(trail = %trail.arn(), error = %e, "could not write a trail log file; will retry");
                    }
                    let due = at;
                    self.state.lock().pending.entry(key).or_default().extend(events.into_iter().map(|event| Pending { due, event }));
                }
            }
        }
        // Written, or back in pending: none is in flight any more.
        self.state.lock().writing.clear();
        written
    }
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

/// Writes one log file and returns its path:
/// `<root>/<bucket>/[<prefix>/]AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz`.
/// The file appears whole (written aside, then renamed), for pipelines that watch the directory.
pub fn write_log_file(
    root: &Path,
    bucket: &str,
    prefix: Option<&str>,
    account: &str,
    region: &str,
    at: i64,
    events: &[Arc<StoredEvent>],
) -> std::io::Result<PathBuf> {
    let t = OffsetDateTime::from_unix_timestamp(at).map_err(std::io::Error::other)?;
    // Account and region become directories: only their AWS forms may (`--account-id` and the
    // SigV4 scope are checked where they come in; this is the last guard before the disk).
    if !keytrail_iam::names::is_account_id(account) || !is_region_name(region) {
        return Err(std::io::Error::other(format!("not a log file path: account {account:?}, region {region:?}")));
    }
    let mut dir = root.join(bucket);
    for segment in prefix.unwrap_or_default().split('/').filter(|s| !s.is_empty()) {
        dir.push(segment);
    }
    dir.push("AWSLogs");
    dir.push(account);
    dir.push("CloudTrail");
    dir.push(region);
    dir.push(format!("{:04}", t.year()));
    dir.push(format!("{:02}", u8::from(t.month())));
    dir.push(format!("{:02}", t.day()));
    create_private_dir(&dir)?;
    let stamp = format!("{:04}{:02}{:02}T{:02}{:02}Z", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute());
    let name = format!("{account}_CloudTrail_{region}_{stamp}_{}.json.gz", unique_string());
    let body = records_document(events);
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes())?;
    let bytes = gz.finish()?;
    let path = dir.join(&name);
    let aside = dir.join(format!(".{name}.part"));
    // Synced before the rename and the rename synced after it: with `--data-dir` a trail's
    // delivery mark moves past these records once this returns, so the file must outlive a
    // machine crash too, not only keytrail's. (One file per trail and interval: rare.)
    let mut file = private_file(&aside)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&aside, &path)?;
    std::fs::File::open(&dir)?.sync_all()?;
    Ok(path)
}

/// Creates `dir` and its missing parents readable by the owner only (0700): trail log files
/// hold every caller's records.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Creates (or truncates) `path` for writing, readable by its owner only (0600).
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
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

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::record::tests::sample;
    use crate::recorder::Recorder;
    use crate::selectors::{EventSelector, Selectors};
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
}
