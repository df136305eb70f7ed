//! `keytrail-ceiling`: the HTTP limit of the machine, for `scripts/bench` to measure keytrail
//! against. It serves HTTP/1.1 the way keytrail does (hyper 1, tokio's multi-threaded runtime,
//! keep-alive, `TCP_NODELAY`, the whole body read before answering) and answers every request
//! with the same fixed 200 and a small awsJson body, doing nothing else: no parsing, no
//! signature, no crypto, no record. Whatever keytrail loses against it is keytrail's own work.

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
}

/// About the size of an Encrypt response, so the bytes on the wire are comparable.
const FIXED_BODY: &str = r#"{"CiphertextBlob":"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+fw==","EncryptionAlgorithm":"SYMMETRIC_DEFAULT","KeyId":"arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000"}"#;

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the body as keytrail does, so both servers receive the same bytes.
    let _ = req.into_body().collect().await;
    let mut resp = Response::new(Full::new(Bytes::from_static(FIXED_BODY.as_bytes())));
    resp.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/x-amz-json-1.1"));
    resp.headers_mut().insert("x-amzn-requestid", hyper::header::HeaderValue::from_static("00000000-0000-0000-0000-000000000000"));
    Ok(resp)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
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
