//! The keytrail server: HTTP, the request middleware, the control API, configuration.
//!
//! The binary (`main.rs`) parses the command line, builds an [`App`] and calls [`run`] with a
//! bound listener and a shutdown future; tests do the same on port 0.
//!
//! Layout:
//! - `http` — routing of one endpoint: KMS (`TrentService.*`), CloudTrail, `/_keytrail/*`.
//! - `kms_api` — the KMS middleware chain: identify → execute (authorizing inside) → audit → respond.
//! - `identify`, `signature`, `signature_fast` — the caller from SigV4, and signature checks.
//! - `records` — a call's CloudTrail records (caller copy, owner copy, service events).
//! - `control` — health, reset, events, clock; `control_access` — who may call them (origin,
//!   content type, and with strict credentials a token or an allowed signed principal).
//! - `cloudtrail_api` — LookupEvents and trails.
//! - `control` — health, reset, events, clock. `cloudtrail_api` — LookupEvents and trails.
//! - `sts_api` — STS's query protocol (AssumeRole, GetCallerIdentity) through the same chain.
//! - `unserved` — the answer, in their own protocol, for services keytrail does not serve.
//! - `s3_api` — the trail bucket over S3 (`keytrail-s3`), with S3's authentication errors.
//! - `protocol` — awsJson1_1 responses and errors. `options` — settings from flags and config.

pub mod cloudtrail_api;
pub mod config;
mod connection;
pub mod control;
pub mod control_access;
mod durable;
pub mod http;
pub mod identify;
pub mod kms_api;
pub mod options;
pub mod protocol;
pub mod records;
pub mod s3_api;
pub mod seeds;
pub mod signature;
pub mod signature_fast;
pub mod sts_api;
pub mod unserved;

use std::future::Future;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::server::graceful::GracefulShutdown;
use keytrail_audit::delivery::folder::BucketFolder;
use keytrail_audit::{CloudTrail, CloudTrailRecord, Recorder};
use keytrail_iam::CredentialDirectory;
use keytrail_kms::report::{DenialLog, ReportOnly};
use keytrail_kms::{Authorizer, Change, Clock, KeyStore, Kms, PolicyAuthorizer};
use keytrail_storage::{Storage, StorageError};
use tokio::net::TcpListener;

pub use options::{Enforcement, Options};

/// How long shutdown lets the uploader send what waits in the outbox (the rest goes at the next
/// start, with `--data-dir`).
const UPLOAD_GRACE: Duration = Duration::from_secs(5);

/// Delivery state put in a commit, noted as stored once that commits.
struct PendingDelivery {
    stored: durable::StoredDelivery,
    keys: Vec<Arc<keytrail_audit::signing::SigningKey>>,
}

/// Facts about one HTTP request that its records need.
#[derive(Clone, Debug)]
pub struct RequestMeta {
    /// The request id sent back as `x-amzn-RequestId`.
    pub request_id: String,
    /// The peer's IP address.
    pub source_ip: String,
    /// The `User-Agent` header, at most 1 KB.
    pub user_agent: Option<String>,
}

impl RequestMeta {
    /// Where the request came from, as policies see it (`aws:SourceIp`, `aws:SecureTransport`,
    /// `aws:UserAgent`).
    pub fn origin(&self) -> keytrail_iam::RequestOrigin {
        keytrail_iam::RequestOrigin {
            source_ip: self.source_ip.parse().ok(),
            // TLS hook: keytrail serves plain HTTP today; the connection that terminates TLS sets
            // this to true (aws:SecureTransport).
            secure_transport: false,
            user_agent: self.user_agent.clone(),
        }
    }
}

/// Why keytrail could not start.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// The whole service state: a cheap `Clone` handle shared by every connection.
#[derive(Clone)]
pub struct App {
    /// Settings.
    pub options: Arc<Options>,
    /// The KMS service.
    pub kms: Kms,
    /// Where every record goes.
    pub recorder: Recorder,
    /// The mock clock.
    pub clock: Clock,
    /// Access keys and their principals.
    pub credentials: Arc<CredentialDirectory>,
    /// Durable state with `--data-dir`; `None` keeps everything in memory.
    pub storage: Option<Storage>,
    /// CloudTrail: trails, their log-file delivery, LookupEvents.
    pub cloudtrail: CloudTrail,
    /// The S3 API over the trail bucket folder.
    pub s3: Arc<keytrail_s3::S3Service>,
    /// SigV4 signing keys derived so far (`--verify-signatures`).
    pub signing_keys: Arc<signature_fast::SigningKeyCache>,
    /// STS: the config's roles, and the sessions AssumeRole issues into `credentials`.
    pub sts: Arc<keytrail_sts::Sts>,
    /// Services a client called that keytrail does not serve (each warned about once).
    pub unserved: Arc<unserved::Warned>,
    /// With `--enforcement report`: the calls strict enforcement would have denied.
    pub denials: Arc<DenialLog>,
    /// With `--data-dir`: the trails' delivery marks and digest chains as last committed (stored
    /// again when they change).
    stored_delivery: Arc<parking_lot::Mutex<durable::StoredDelivery>>,
    /// Held by `tick` and `reset`, so a rotation or a delivery that falls due never runs halfway
    /// through a reset (it could write back to the data dir a key or a trail's mark just wiped).
    maintenance: Arc<tokio::sync::Mutex<()>>,
}

impl App {
    /// Builds the service from `options`.
    pub fn new(options: Options) -> Result<App, StartError> {
        options.validate().map_err(|e| StartError(e.0))?;
        let events_out: Option<Box<dyn keytrail_audit::events_out::EventsWriter>> = match options.events_out.as_deref() {
            None => None,
            Some("-") => Some(Box::new(std::io::stdout())),
            Some(path) => {
                // Created readable by its owner only: it holds every caller's records.
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(|e| StartError(format!("cannot open --events-out {path}: {e}")))?;
                Some(Box::new(std::io::BufWriter::new(file)))
            }
        };
        let clock = Clock::new();
        let mut directory = seeds::credential_directory(&options.file, &options.account_id, options.strict_credentials, clock.now());
        let session_clock = clock.clone();
        directory.set_session_clock(Arc::new(move || session_clock.now().unix_timestamp()));
        let credentials = Arc::new(directory);
        let sts = Arc::new(keytrail_sts::Sts::new(seeds::sts_roles(&options.file), credentials.clone()));
        let denials = Arc::new(DenialLog::default());
        let mut authorizer: Arc<dyn Authorizer> = Arc::new(PolicyAuthorizer::new(credentials.clone(), clock.clone()));
        if options.enforcement == Enforcement::Report {
            tracing::warn!("report-only enforcement: calls policies deny go through; see GET /_keytrail/denials");
            authorizer = Arc::new(ReportOnly::new(authorizer, denials.clone(), clock.clone()));
        }
        let kms = Kms::new(KeyStore::new(), clock.clone(), authorizer);
        // With --data-dir: load the stored state first, so seeds only add what is not there.
        let (storage, recorder) = durable::open(&options, &kms.store, &clock, events_out)?;
        // The file mirrors the history: an empty history (in memory, or a new data dir) starts
        // it afresh; a data dir's history, and the file with it, go on from the last run.
        if recorder.is_empty() {
            recorder.empty_events_out();
        }
        let (cloudtrail, trail_root) = match cloudtrail_api::start(&options, &recorder, &kms.store, &clock) {
            Ok(c) => c,
            Err(e) => {
                if let Some(s) = &storage {
                    s.close();
                }
                return Err(e);
            }
        };
        let mut stored_delivery = durable::StoredDelivery::default();
        if let Some(s) = &storage {
            let restored = durable::restore_trails(s, &cloudtrail)
                .and_then(|()| durable::restore_sessions(s, &kms.store, &clock, &credentials))
                .and_then(|()| {
                    let chains = durable::restore_digests(s, &cloudtrail)?;
                    Ok(durable::StoredDelivery { marks: durable::resume_delivery(s, &cloudtrail)?, chains })
                });
            match restored {
                Ok(stored) => stored_delivery = stored,
                Err(e) => {
                    s.close();
                    return Err(e);
                }
            }
        }
        let defaults = keytrail_s3::buckets::Defaults { account: options.account_id.clone(), region: options.region.clone() };
        let s3 = Arc::new(keytrail_s3::S3Service::new(BucketFolder::new(trail_root), cloudtrail.trails.clone(), defaults));
        let app = App {
            s3,
            options: Arc::new(options),
            kms,
            recorder,
            clock,
            credentials,
            storage,
            cloudtrail,
            signing_keys: Arc::default(),
            sts,
            unserved: Arc::default(),
            denials,
            stored_delivery: Arc::new(parking_lot::Mutex::new(stored_delivery)),
            maintenance: Arc::default(),
        };
        app.apply_seeds();
        if let Some(storage) = &app.storage {
            if let Err(e) = storage.flush_blocking(&app.kms.store, app.clock.offset()) {
                storage.close();
                return Err(StartError(format!("cannot write seeded keys to the data dir: {e}")));
            }
        }
        Ok(app)
    }

    /// Adds the config's seeded keys and aliases that do not exist yet.
    fn apply_seeds(&self) -> Vec<Change> {
        seeds::apply_key_seeds(&self.options.file, &self.kms.store, self.clock.now())
    }

    /// Makes a call's state changes and records durable (in memory: recorded) before its
    /// response is sent. If the data dir cannot be written, this panics: the connection drops
    /// rather than acknowledging what is not on disk. Prefer [`App::try_commit`] where an error
    /// response can be sent instead.
    pub async fn commit(&self, changes: Vec<Change>, records: Vec<CloudTrailRecord>) {
        if let Err(e) = self.try_commit(changes, records).await {
            panic!("keytrail: a call could not be made durable: {e}");
        }
    }

    /// Records the call's records and, with `--data-dir`, returns once its state changes and
    /// records are committed to disk (group commit: one fsync shared by every call queued).
    pub async fn try_commit(&self, changes: Vec<Change>, records: Vec<CloudTrailRecord>) -> Result<(), StorageError> {
        self.try_commit_with(changes, records, None).await
    }

    /// [`App::try_commit`] that also stores the trail set (`trails`), for calls that changed it.
    pub async fn try_commit_with(
        &self,
        changes: Vec<Change>,
        records: Vec<CloudTrailRecord>,
        trails: Option<Vec<keytrail_audit::trails::Trail>>,
    ) -> Result<(), StorageError> {
        self.recorder.record(records);
        let Some(storage) = &self.storage else { return Ok(()) };
        let mut extra = Vec::new();
        let mut delivery = None;
        if let Some(t) = trails {
            extra.push(Storage::put_op(durable::TRAILS_KIND, durable::TRAILS_ID, &t)?);
            // A new trail's mark is stored with it: after a crash it takes back what it missed.
            delivery = self.delivery_state_ops(storage, &mut extra)?;
        }
        let result = storage.commit(&self.kms.store, &changes, extra, self.clock.offset()).await;
        self.delivery_state_stored(delivery, result.is_ok());
        result
    }

    /// Adds to `ops` what of trail delivery changed since last stored: the delivery marks, the
    /// digest chains, new digest signing keys. Returns what to note as stored once committed.
    fn delivery_state_ops(
        &self,
        storage: &Storage,
        ops: &mut Vec<keytrail_storage::StateOp>,
    ) -> Result<Option<PendingDelivery>, StorageError> {
        let marks = self.cloudtrail.delivery.delivered_through();
        let chains = self.cloudtrail.delivery.digest_chains();
        let keys = self.cloudtrail.signing_keys().take_unsaved();
        let (marks_moved, chains_moved) = {
            let stored = self.stored_delivery.lock();
            (marks != stored.marks, chains != stored.chains)
        };
        if !marks_moved && !chains_moved && keys.is_empty() {
            return Ok(None);
        }
        let built = (|| {
            let mut built = Vec::new();
            for key in &keys {
                built.push(storage.signing_key_op(key)?);
            }
            if marks_moved {
                built.push(durable::delivery_marks_op(&marks)?);
            }
            if chains_moved {
                built.push(Storage::put_op(durable::DIGESTS_KIND, durable::DIGESTS_ID, &chains)?);
            }
            Ok::<_, StorageError>(built)
        })();
        match built {
            Ok(built) => {
                ops.extend(built);
                Ok(Some(PendingDelivery { stored: durable::StoredDelivery { marks, chains }, keys }))
            }
            Err(e) => {
                self.cloudtrail.signing_keys().return_unsaved(keys);
                Err(e)
            }
        }
    }

    /// After a commit that carried `pending`: notes it as stored, or (failed) keeps the new
    /// signing keys for the next commit.
    fn delivery_state_stored(&self, pending: Option<PendingDelivery>, committed: bool) {
        let Some(pending) = pending else { return };
        if committed {
            *self.stored_delivery.lock() = pending.stored;
        } else {
            self.cloudtrail.signing_keys().return_unsaved(pending.keys);
        }
    }

    /// Records an STS call and, with `--data-dir`, makes the credentials it issued durable with
    /// its records (secret wrapped under the root key) before the response is sent.
    pub async fn try_commit_session(
        &self,
        records: Vec<CloudTrailRecord>,
        issued: Option<&keytrail_iam::credentials::IssuedSession>,
    ) -> Result<(), StorageError> {
        self.recorder.record(records);
        let Some(storage) = &self.storage else { return Ok(()) };
        let extra = match issued {
            Some(session) => vec![durable::session_op(storage, session)?],
            None => Vec::new(),
        };
        storage.commit(&self.kms.store, &[], extra, self.clock.offset()).await
    }

    /// With `--data-dir`: stores what of trail delivery changed (marks after log files were
    /// written or trails changed, digest chains, new signing keys).
    async fn store_delivery_state(&self) {
        let Some(storage) = &self.storage else { return };
        let mut ops = Vec::new();
        let stored = match self.delivery_state_ops(storage, &mut ops) {
            Ok(None) => return,
            Ok(Some(pending)) => {
                let result = storage.commit(&self.kms.store, &[], ops, self.clock.offset()).await;
                let failed = result.as_ref().err().map(|e| e.to_string());
                self.delivery_state_stored(Some(pending), result.is_ok());
                failed
            }
            Err(e) => Some(e.to_string()),
        };
        // Not fatal: the marks stay behind, so a crash now means records delivered twice.
        if let Some(e) = stored {
            tracing::warn!(error = %e, "could not store the trails' delivery state; will retry");
        }
    }

    /// The `errorCode` a record shows for an API error code (denials are configurable).
    pub fn recorded_error_code<'a>(&'a self, code: &'a str) -> &'a str {
        match (&self.options.file.access_denied_error_code, code) {
            (Some(c), "AccessDeniedException") => c,
            _ => code,
        }
    }

    /// Fires everything the mock clock has made due (rotations, deletions), recording each,
    /// then writes the trail log files that fall due.
    pub async fn tick(&self) {
        let _maintenance = self.maintenance.lock().await;
        let now = self.clock.now();
        let (events, changes) = self.kms.run_due(now);
        if !events.is_empty() || !changes.is_empty() {
            let records = events.iter().map(records::service_event_record).collect();
            self.commit(changes, records).await;
        } else if self.storage.as_ref().is_some_and(|s| s.clock_changed(self.clock.offset())) {
            // A clock move that set nothing off still has to survive a restart.
            self.commit(Vec::new(), Vec::new()).await;
        }
        // After KMS's due events, so a delivery includes the service events that came before it.
        // Off the async workers: files are written and synced, digests signed (and a region's
        // first signing key made).
        let cloudtrail = self.cloudtrail.clone();
        let _ = tokio::task::spawn_blocking(move || cloudtrail.deliver_due(now)).await;
        self.store_delivery_state().await;
    }

    /// Wipes keys, events and trails, and re-applies the configured seeds.
    pub async fn reset(&self) -> Result<(), String> {
        let _maintenance = self.maintenance.lock().await;
        // The data dir first, in one transaction: a reset that fails there changes nothing,
        // in memory or on disk (and, like any failed commit, stops keytrail acknowledging calls).
        if let Some(storage) = &self.storage {
            storage.wipe().await.map_err(|e| e.to_string())?;
            let mut stored = self.stored_delivery.lock();
            stored.marks.clear();
            stored.chains.clear();
        }
        self.kms.store.clear();
        self.recorder.clear();
        self.cloudtrail.clear();
        self.credentials.clear_sessions();
        self.denials.clear();
        let seeded = self.apply_seeds();
        // Seeds are made durable like any call's changes.
        self.try_commit(seeded, Vec::new()).await.map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Flushes outputs at shutdown; with `--data-dir`, commits what is queued and releases it.
    pub async fn shutdown(&self) {
        // Without a data dir the digest chains end here (they would not survive); with one they
        // go on after the restart.
        let (cloudtrail, now, end_chains) = (self.cloudtrail.clone(), self.clock.now(), self.storage.is_none());
        let _ = tokio::task::spawn_blocking(move || cloudtrail.flush_all(now, end_chains)).await;
        self.store_delivery_state().await;
        if let Some(uploader) = self.cloudtrail.delivery.uploader().cloned() {
            let _ = tokio::task::spawn_blocking(move || uploader.shutdown(UPLOAD_GRACE)).await;
        }
        self.recorder.flush();
        if let Some(storage) = self.storage.clone() {
            let _ = tokio::task::spawn_blocking(move || storage.close()).await;
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets in-flight
/// requests finish (up to 10 s), and flushes.
pub async fn run(listener: TcpListener, app: App, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    // Shared by reference count: one increment per request, not one per shared part of the app
    // (a dozen atomic increments on cache lines both cores write).
    let app = Arc::new(app);
    let ticker = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_secs(1));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                app.tick().await;
            }
        })
    };
    tokio::pin!(shutdown);
    // At most `max_connections` at once: at the limit keytrail stops accepting until one closes
    // (new clients wait in the listen backlog) rather than running out of file descriptors.
    let slots = Arc::new(tokio::sync::Semaphore::new(app.options.max_connections));
    let mut full = connection::Warning::new("connection limit reached: new connections wait until one closes (--max-connections)");
    let mut failing = connection::Warning::new("accept failed");
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                full.emit(&format!("{} connections open", app.options.max_connections));
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    _ = &mut shutdown => break,
                }
            }
        };
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // EMFILE and the like repeat at every attempt: one line per interval.
                        failing.emit(&e.to_string());
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                connection::spawn(stream, remote, &app, &graceful, slot);
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    ticker.abort();
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await.is_err() {
        tracing::warn!("in-flight requests did not finish within 10 s");
    }
    app.shutdown().await;
    Ok(())
}
