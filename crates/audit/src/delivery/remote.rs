//! Delivery to a real S3-compatible store (AWS S3, MinIO, Ceph, moto): trail files wait in an
//! outbox folder (the bucket-folder format, durable with `--data-dir`) and one uploader thread
//! puts them into the store with `PutObject` through `aws-sdk-s3`, removing each once the store
//! has acknowledged it.
//!
//! A store that is down or refuses delays delivery and loses nothing: the file stays in the
//! outbox, the trail's status shows the error (`LatestDeliveryError`, or
//! `LatestDigestDeliveryError` for a digest), and the uploader tries again after a backoff that
//! doubles from 1 s to at most [`MAX_BACKOFF`]; files left at shutdown go at the next start.
//! The uploader runs on a thread of its own with its own single-threaded tokio runtime: it never
//! holds up a call, nor the server's tick.
//!
//! Choices: credentials, and the region requests are signed for, come from the standard AWS
//! chain (environment, profile; `us-east-1` when it names no region). Requests use path-style
//! addressing (`<endpoint>/<bucket>/<key>`, which every S3-compatible store serves) and send no
//! optional checksum (older MinIO and Ceph refuse the SDK's default trailing checksums). AWS
//! notes its `LatestDeliveryError` shows S3's error and never a timeout; keytrail also shows a
//! store it cannot reach, since nothing else would say why files do not arrive.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{Region, RequestChecksumCalculation};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use parking_lot::{Condvar, Mutex};

use crate::delivery::folder::{content_headers, BucketFolder, Object};
use crate::delivery::note_attempt;
use crate::trails::Trails;

/// The longest wait between attempts while the store fails.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The mock clock, as Unix seconds (trail statuses are in mock time).
pub type MockNow = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The uploader: its outbox and its thread.
pub struct Uploader {
    outbox: BucketFolder,
    endpoint: String,
    shared: Arc<Shared>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

struct Shared {
    signal: Mutex<Signal>,
    changed: Condvar,
    /// Objects in the outbox at the last scan.
    waiting: AtomicUsize,
}

#[derive(Default)]
struct Signal {
    /// New objects were queued.
    queued: bool,
    /// Stop by this instant (shutdown): upload what can be, then exit.
    stop_by: Option<Instant>,
}

impl Uploader {
    /// Starts uploading what is (and will be) in `outbox` to the store at `endpoint`, noting
    /// each attempt in the status of the trail that delivered the file.
    pub fn start(outbox: PathBuf, endpoint: &str, trails: Trails, now: MockNow) -> Result<Arc<Uploader>, String> {
        let shared = Arc::new(Shared { signal: Mutex::new(Signal::default()), changed: Condvar::new(), waiting: AtomicUsize::new(0) });
        let folder = BucketFolder::outbox(outbox);
        let uploader =
            Arc::new(Uploader { outbox: folder.clone(), endpoint: endpoint.to_string(), shared: shared.clone(), thread: Mutex::new(None) });
        let endpoint = endpoint.to_string();
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("cannot start the S3 uploader: {e}"))?;
        let handle = std::thread::Builder::new()
            .name("keytrail-s3-upload".into())
            .spawn(move || runtime.block_on(run(folder, endpoint, trails, now, shared)))
            .map_err(|e| format!("cannot start the S3 uploader: {e}"))?;
        *uploader.thread.lock() = Some(handle);
        Ok(uploader)
    }

    /// The outbox.
    pub fn outbox(&self) -> &BucketFolder {
        &self.outbox
    }

    /// The store's endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Puts `object` in the outbox (durably) and wakes the uploader.
    pub fn queue(&self, object: &Object) -> std::io::Result<PathBuf> {
        let path = self.outbox.put(object)?;
        self.shared.waiting.fetch_add(1, Ordering::Relaxed);
        self.shared.signal.lock().queued = true;
        self.shared.changed.notify_all();
        Ok(path)
    }

    /// How many files wait in the outbox (as of the uploader's last look).
    pub fn waiting(&self) -> usize {
        self.shared.waiting.load(Ordering::Relaxed)
    }

    /// Uploads what it can within `grace`, then stops the thread. What is left stays in the
    /// outbox for the next start.
    pub fn shutdown(&self, grace: Duration) {
        self.shared.signal.lock().stop_by = Some(Instant::now() + grace);
        self.shared.changed.notify_all();
        if let Some(handle) = self.thread.lock().take() {
            let _ = handle.join();
        }
    }
}

impl Shared {
    /// Waits up to `timeout`, or until stopped (or, with `on_queue`, until objects are queued).
    /// Returns the stop deadline if stopping.
    fn wait(&self, timeout: Duration, on_queue: bool) -> Option<Instant> {
        let mut signal = self.signal.lock();
        let until = Instant::now() + timeout;
        while signal.stop_by.is_none() && !(on_queue && signal.queued) {
            if self.changed.wait_until(&mut signal, until).timed_out() {
                break;
            }
        }
        signal.queued = false;
        signal.stop_by
    }

    fn stop_by(&self) -> Option<Instant> {
        self.signal.lock().stop_by
    }
}

async fn client(endpoint: &str) -> aws_sdk_s3::Client {
    let region = aws_config::meta::region::RegionProviderChain::default_provider().or_else(Region::new("us-east-1"));
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(region)
        // Retries are the outbox's, with its backoff; one attempt per try here.
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
        .load()
        .await;
    // The endpoint again on the S3 client: an `AWS_ENDPOINT_URL_S3` in the environment must not
    // send trail files elsewhere.
    let config = aws_sdk_s3::config::Builder::from(&shared)
        .endpoint_url(endpoint)
        .force_path_style(true)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

async fn run(outbox: BucketFolder, endpoint: String, trails: Trails, now: MockNow, shared: Arc<Shared>) {
    let client = client(&endpoint).await;
    let mut failures: u32 = 0;
    loop {
        let mut objects = outbox.objects();
        // Log files before the digests that list them.
        objects.sort_by_key(|(_, key, _)| key.contains("/CloudTrail-Digest/"));
        shared.waiting.store(objects.len(), Ordering::Relaxed);
        if objects.is_empty() {
            if shared.stop_by().is_some() || shared.wait(Duration::from_secs(1), true).is_some() {
                return;
            }
            continue;
        }
        for (bucket, key, path) in objects {
            let stop_by = shared.stop_by();
            if stop_by.is_some_and(|t| Instant::now() >= t) {
                return;
            }
            let sidecar = BucketFolder::sidecar(&path);
            let body = match std::fs::read(&path) {
                Ok(b) => b,
                // Removed meanwhile (a reset of the outbox): nothing to send.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot read a file waiting for upload");
                    continue;
                }
            };
            let (content_type, content_encoding) = content_headers(&key);
            let mut put = client.put_object().bucket(&bucket).key(&key).body(ByteStream::from(body)).content_type(content_type);
            if let Some(enc) = content_encoding {
                put = put.content_encoding(enc);
            }
            for (name, value) in &sidecar.metadata {
                put = put.metadata(name, value);
            }
            let attempt = put.send();
            let result = match stop_by {
                Some(t) => tokio::time::timeout(t.saturating_duration_since(Instant::now()), attempt)
                    .await
                    .map_err(|_| "shutting down".to_string()),
                None => Ok(attempt.await),
            };
            let error = match result {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(match e.code() {
                    Some(code) => code.to_string(),
                    None => truncate(format!("cannot reach the S3 store at {endpoint}: {}", innermost(&e))),
                }),
                Err(e) => Some(e),
            };
            let at = now();
            let kind = sidecar.kind;
            let changed = sidecar.trail.as_ref().is_some_and(|t| note_attempt(&trails, t, kind, at, error.clone()));
            match error {
                None => {
                    if let Err(e) = BucketFolder::remove(&path) {
                        tracing::warn!(path = %path.display(), error = %e, "uploaded, but cannot remove it from the outbox (it will be sent again)");
                    }
                    if failures > 0 {
                        tracing::info!(%endpoint, "the S3 store takes trail files again");
                    }
                    failures = 0;
                }
                Some(e) => {
                    if changed || failures == 0 {
                        tracing::warn!(%endpoint, bucket, key, error = %e, "could not upload a trail file; it waits in the outbox");
                    }
                    failures = failures.saturating_add(1);
                    let backoff = Duration::from_secs(1u64 << failures.min(8).saturating_sub(1)).min(MAX_BACKOFF);
                    if stop_by.is_some() || shared.wait(backoff, false).is_some() {
                        return;
                    }
                    break;
                }
            }
        }
    }
}

/// The innermost cause of `e` (the SDK's own wrapping says little: "dispatch failure").
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn truncate(mut text: String) -> String {
    if text.len() > 512 {
        let mut cut = 512;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}
