//! `keytrail-ceiling`: the HTTP limit of the machine, for `scripts/bench` to measure keytrail
//! against. It serves HTTP/1.1 the way keytrail does (hyper 1, tokio's multi-threaded runtime,
//! keep-alive, `TCP_NODELAY`, the whole body read before answering) and answers every request
//! with the same fixed 200 and a small awsJson body, doing nothing else: no parsing, no
//! signature, no crypto, no record. Whatever keytrail loses against it is keytrail's own work.
//!
//! `--work-us N` adds N microseconds of CPU to every request (a calibrated loop, not a sleep):
//! a server that does nothing but a known amount of work per call, so `scripts/bench` can show
//! how throughput and p99 move with per-call CPU on this machine (targets `ceiling+N`).

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Command line: where to listen.
#[derive(Parser, Debug)]
#[command(name = "keytrail-ceiling", about = "A trivial hyper server answering every request with a fixed 200")]
struct Cli {
    /// Address to listen on (the benchmark gives it keytrail's port).
    #[arg(long, default_value = "127.0.0.1:4599")]
    listen: SocketAddr,
    /// CPU to spend on every request, in microseconds (0: none).
    #[arg(long, default_value_t = 0)]
    work_us: u64,
}

/// Iterations of [`work`] per request, set once at start-up from `--work-us`.
static WORK_ITERATIONS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

/// A loop the optimizer cannot remove or shorten: each step depends on the one before.
fn work(iterations: u64) -> u64 {
    let mut x = std::hint::black_box(0x9e37_79b9_7f4a_7c15_u64);
    for _ in 0..iterations {
        x = std::hint::black_box(x.rotate_left(5) ^ x.wrapping_mul(0x2545_f491_4f6c_dd1d));
    }
    x
}

/// How many iterations of [`work`] take `micros` of CPU here: timed over 50 ms before any load,
/// so the amount of work is fixed even when the run that follows is contended.
fn calibrate(micros: u64) -> u64 {
    if micros == 0 {
        return 0;
    }
    let mut iterations = 1_000u64;
    let per_iteration = loop {
        let start = std::time::Instant::now();
        work(iterations);
        let elapsed = start.elapsed();
        if elapsed >= std::time::Duration::from_millis(50) {
            break elapsed.as_secs_f64() / iterations as f64;
        }
        iterations *= 2;
    };
    (micros as f64 * 1e-6 / per_iteration) as u64
}

/// About the size of an Encrypt response, so the bytes on the wire are comparable.
const FIXED_BODY: &str = r#"{"CiphertextBlob":"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+fw==","EncryptionAlgorithm":"SYMMETRIC_DEFAULT","KeyId":"arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000"}"#;

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the body as keytrail does, so both servers receive the same bytes.
    let _ = req.into_body().collect().await;
    let iterations = WORK_ITERATIONS.get().copied().unwrap_or(0);
    if iterations > 0 {
        std::hint::black_box(work(iterations));
    }
    let mut resp = Response::new(Full::new(Bytes::from_static(FIXED_BODY.as_bytes())));
    resp.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/x-amz-json-1.1"));
    resp.headers_mut().insert("x-amzn-requestid", hyper::header::HeaderValue::from_static("00000000-0000-0000-0000-000000000000"));
    Ok(resp)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    let _ = WORK_ITERATIONS.set(calibrate(cli.work_us));
    let listener = TcpListener::bind(cli.listen).await?;
    eprintln!("keytrail-ceiling listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_work_asked_means_no_iterations() {
        assert_eq!(calibrate(0), 0);
    }

    #[test]
    fn work_asked_is_a_positive_count_that_grows_with_the_time() {
        let small = calibrate(10);
        let large = calibrate(10_000);
        assert!(small > 0, "10 µs of work is at least one iteration");
        assert!(large > small, "10 ms of work ({large} iterations) is more than 10 µs ({small})");
    }

    #[test]
    fn the_loop_depends_on_its_length() {
        assert_ne!(work(1), work(2));
        assert_eq!(work(1000), work(1000));
    }
}
