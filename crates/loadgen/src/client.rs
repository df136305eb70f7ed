//! A minimal awsJson1_1 client over one keep-alive HTTP/1.1 connection, and control-API calls.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

/// The default account owner's access key, which the soak and crash tests call with.
pub(crate) const OWNER_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

/// One response.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) request_id: String,
    pub(crate) body: Value,
}

impl Reply {
    pub(crate) fn code(&self) -> &str {
        self.body["__type"].as_str().unwrap_or("")
    }
}

/// One connection; requests go one after another on it.
pub(crate) struct Conn {
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    pub(crate) async fn connect(addr: SocketAddr) -> Result<Conn, String> {
        let stream = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn { sender })
    }

    /// `TrentService.<op>` signed (in form) by `access_key`; Err is a transport failure.
    pub(crate) async fn kms(&mut self, access_key: &str, op: &str, body: &Value) -> Result<Reply, String> {
        self.call(access_key, "kms", &format!("TrentService.{op}"), body).await
    }

    /// A CloudTrail operation, as the Smithy SDKs name it.
    pub(crate) async fn cloudtrail(&mut self, access_key: &str, op: &str, body: &Value) -> Result<Reply, String> {
        self.call(access_key, "cloudtrail", &format!("CloudTrail_20131101.{op}"), body).await
    }

    async fn call(&mut self, access_key: &str, service: &str, target: &str, body: &Value) -> Result<Reply, String> {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={access_key}/20250101/us-east-1/{service}/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000"
        );
        let req = hyper::Request::post("/")
            .header("host", "keytrail")
            .header("x-amz-target", target)
            .header("content-type", "application/x-amz-json-1.1")
            .header("authorization", auth)
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| e.to_string())?;
        self.send(req).await
    }

    async fn send(&mut self, req: hyper::Request<Full<Bytes>>) -> Result<Reply, String> {
        self.sender.ready().await.map_err(|e| format!("connection lost: {e}"))?;
        let resp = self.sender.send_request(req).await.map_err(|e| format!("request failed: {e}"))?;
        let status = resp.status().as_u16();
        let request_id = resp.headers().get("x-amzn-requestid").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let bytes = resp.into_body().collect().await.map_err(|e| format!("body lost: {e}"))?.to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply { status, request_id, body })
    }
}

/// `GET path` on a fresh connection.
pub(crate) async fn get(addr: SocketAddr, path: &str) -> Result<Value, String> {
    let mut conn = Conn::connect(addr).await?;
    let req = hyper::Request::get(path).header("host", "keytrail").body(Full::new(Bytes::new())).map_err(|e| e.to_string())?;
    let reply = conn.send(req).await?;
    if reply.status != 200 {
        return Err(format!("GET {path}: {}", reply.status));
    }
    Ok(reply.body)
}

/// Tiny xorshift PRNG: the workload needs variety, not cryptographic randomness.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
        Rng((seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ nanos) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}
