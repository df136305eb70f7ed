//! One client connection: hyper's HTTP/1 server over it, and the guard that closes it when idle.
//!
//! Why a guard of our own: hyper's `header_read_timeout` arms a timer for every request head it
//! reads — an entry put into and taken out of tokio's timer wheel per call, ~1.9% of a signed
//! Encrypt's CPU (perf). The guard keeps one timer per connection instead: every
//! `idle_connection_timeout` it looks whether a request began since its last look; if none did
//! and none is being answered, it closes the connection. So a connection that sends nothing, or
//! trickles a request head without finishing it (slowloris), is closed after one to two timeouts,
//! and a request being answered is never cut. A body that stalls is `http::BODY_READ_TIMEOUT`'s.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

use crate::{http, App};

/// What the guard reads of a connection's requests.
#[derive(Default)]
struct Activity {
    /// Requests begun since the connection opened.
    begun: AtomicU64,
    /// Requests begun and not yet answered.
    in_flight: AtomicU32,
}

/// Marks a request as being answered while it lives.
struct Answering(Arc<Activity>);

impl Answering {
    fn begin(activity: &Arc<Activity>) -> Answering {
        activity.begun.fetch_add(1, Ordering::Relaxed);
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        Answering(activity.clone())
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves `stream` on a task of its own until the client closes it, the server shuts down
/// (`graceful`), or the connection stays idle (see the module's doc).
/// `slot` is the connection's place under `--max-connections`, given back when it closes.
pub(crate) fn spawn(stream: TcpStream, remote: SocketAddr, app: &Arc<App>, graceful: &GracefulShutdown, slot: OwnedSemaphorePermit) {
    let _ = stream.set_nodelay(true);
    let idle_timeout = app.options.idle_connection_timeout;
    let activity = Arc::new(Activity::default());
    // Formatted once per connection, not per request (it is in every record).
    let source_ip: Arc<str> = remote.ip().to_string().into();
    let service = {
        let (app, activity) = (app.clone(), activity.clone());
        service_fn(move |req| {
            let answering = Answering::begin(&activity);
            let response = http::handle(app.clone(), req, source_ip.clone());
            async move {
                let response = response.await;
                drop(answering);
                response
            }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service);
    let conn = graceful.watch(conn);
    tokio::spawn(async move {
        let _slot = slot;
        let mut conn = std::pin::pin!(conn);
        let mut seen = 0;
        loop {
            tokio::select! {
                ended = conn.as_mut() => {
                    if let Err(e) = ended {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                () = tokio::time::sleep(idle_timeout) => {
                    let begun = activity.begun.load(Ordering::Relaxed);
                    if begun == seen && activity.in_flight.load(Ordering::Relaxed) == 0 {
                        // Dropping the connection closes its socket.
                        tracing::debug!(%remote, "closing a connection idle for {idle_timeout:?}");
                        return;
                    }
                    seen = begun;
                }
            }
        }
    });
}

/// A warning that may repeat many times a second (every accept failing while file descriptors
/// are exhausted, every accept waiting at the connection limit) is logged at most once per
/// [`Warning::INTERVAL`], with how many were left out since.
pub(crate) struct Warning {
    what: &'static str,
    last: Option<std::time::Instant>,
    suppressed: u64,
}

impl Warning {
    /// Shortest time between two lines of the same warning.
    pub(crate) const INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

    pub(crate) fn new(what: &'static str) -> Warning {
        Warning { what, last: None, suppressed: 0 }
    }

    /// Logs the warning with `detail` unless it was logged less than an interval ago.
    pub(crate) fn emit(&mut self, detail: &str) {
        let now = std::time::Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) < Self::INTERVAL) {
            self.suppressed += 1;
            return;
        }
        tracing::warn!(detail, repeated = self.suppressed, "{}", self.what);
        self.last = Some(now);
        self.suppressed = 0;
    }
}
