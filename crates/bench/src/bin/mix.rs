//! `keytrail-mix`: the benchmark's mixed workload, which oha cannot drive (oha sends one fixed
//! request). Each connection sends, one after another, SigV4-signed KMS calls drawn at random:
//! 30% Encrypt of 64 bytes, 30% Decrypt, 20% GenerateDataKey, 10% DescribeKey, all by the
//! allowed identity, and 10% Decrypt by an identity the key's policy does not let in (denied).
//! Every request is signed with `aws-sigv4`, as an SDK would, so the server's check is real.
//! Prints one JSON object: requests, seconds, requests/s, p50/p99 latency, status counts.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpStream;

/// Command line.
#[derive(Parser, Debug, Clone)]
#[command(name = "keytrail-mix", about = "Signed mixed KMS workload with 10% denied calls")]
struct Cli {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1:4599")]
    addr: SocketAddr,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Region signed for.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// `ACCESS_KEY:SECRET` of the allowed caller.
    #[arg(long)]
    allowed: String,
    /// `ACCESS_KEY:SECRET` of the caller the key policy denies.
    #[arg(long)]
    denied: String,
    /// Key id or ARN used by every call.
    #[arg(long)]
    key_id: String,
    /// Base64 ciphertext of that key, for the Decrypt calls.
    #[arg(long)]
    ciphertext: String,
}

/// One caller's credentials, parsed once.
#[derive(Clone)]
struct Caller {
    access_key: String,
    secret: String,
}

impl Caller {
    fn parse(s: &str) -> Result<Caller, String> {
        let (a, k) = s.split_once(':').ok_or_else(|| format!("expected ACCESS_KEY:SECRET, got {s:?}"))?;
        Ok(Caller { access_key: a.to_string(), secret: k.to_string() })
    }
}

/// What one connection saw.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
    ops: BTreeMap<&'static str, u64>,
    transport_errors: u64,
}

/// Tiny xorshift PRNG: the mix needs variety, not cryptographic randomness.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `x-amz-date` for `t`.
fn amz_date(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    format!("{:04}{:02}{:02}T{:02}{:02}{:02}Z", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second())
}

/// Builds a request signed as the SDKs sign it: host, x-amz-date, x-amz-target, content-type.
fn signed_request(cli: &Cli, caller: &Caller, target: &str, body: String) -> Result<hyper::Request<Full<Bytes>>, String> {
    let now = SystemTime::now();
    let date = amz_date(now);
    let host = cli.addr.to_string();
    let target = format!("TrentService.{target}");
    let content_type = "application/x-amz-json-1.1";
    let headers =
        [("content-type", content_type), ("host", host.as_str()), ("x-amz-date", date.as_str()), ("x-amz-target", target.as_str())];
    let identity: Identity = Credentials::new(&caller.access_key, &caller.secret, None, None, "keytrail-mix").into();
    let mut settings = SigningSettings::default();
    settings.excluded_headers = Some(Vec::new());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&cli.region)
        .name("kms")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable =
        SignableRequest::new("POST", "/", headers.iter().copied(), SignableBody::Bytes(body.as_bytes())).map_err(|e| e.to_string())?;
    let signature = sign(signable, &params).map_err(|e| e.to_string())?.signature().to_string();
    let scope = format!("{}/{}/kms/aws4_request", &date[..8], cli.region);
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={signature}",
        caller.access_key
    );
    hyper::Request::post("/")
        .header("content-type", content_type)
        .header("host", host)
        .header("x-amz-date", date)
        .header("x-amz-target", target)
        .header("authorization", authorization)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())
}

/// Draws the next call: (operation label, target, caller is the denied one, body).
fn next_call(cli: &Cli, rng: &mut Rng) -> (&'static str, &'static str, bool, String) {
    const PLAINTEXT_64: &str = "a2V5dHJhaWwtYmVuY2gta2V5dHJhaWwtYmVuY2gta2V5dHJhaWwtYmVuY2gta2V5dHJhaWwtYmVuY2gta2V5dHI=";
    let key = &cli.key_id;
    match rng.below(10) {
        0..=2 => ("Encrypt", "Encrypt", false, json!({"KeyId": key, "Plaintext": PLAINTEXT_64}).to_string()),
        3..=5 => ("Decrypt", "Decrypt", false, json!({"KeyId": key, "CiphertextBlob": cli.ciphertext}).to_string()),
        6..=7 => ("GenerateDataKey", "GenerateDataKey", false, json!({"KeyId": key, "KeySpec": "AES_256"}).to_string()),
        8 => ("DescribeKey", "DescribeKey", false, json!({"KeyId": key}).to_string()),
        _ => ("Decrypt (denied)", "Decrypt", true, json!({"KeyId": key, "CiphertextBlob": cli.ciphertext}).to_string()),
    }
}

async fn connection(cli: Cli, allowed: Caller, denied: Caller, seed: u64, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    'reconnect: while Instant::now() < deadline {
        let stream = match TcpStream::connect(cli.addr).await {
            Ok(s) => s,
            Err(_) => {
                tally.transport_errors += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream)).await else {
            tally.transport_errors += 1;
            continue;
        };
        tokio::spawn(conn);
        while Instant::now() < deadline {
            let (label, target, is_denied, body) = next_call(&cli, &mut rng);
            let caller = if is_denied { &denied } else { &allowed };
            let req = match signed_request(&cli, caller, target, body) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("keytrail-mix: cannot sign: {e}");
                    std::process::exit(2);
                }
            };
            let started = Instant::now();
            let outcome = async {
                sender.ready().await.ok()?;
                let resp = sender.send_request(req).await.ok()?;
                let status = resp.status().as_u16();
                resp.into_body().collect().await.ok()?;
                Some(status)
            }
            .await;
            let Some(status) = outcome else {
                tally.transport_errors += 1;
                continue 'reconnect;
            };
            tally.latencies_us.push(started.elapsed().as_micros().min(u32::MAX as u128) as u32);
            *tally.statuses.entry(status).or_default() += 1;
            *tally.ops.entry(label).or_default() += 1;
        }
    }
    tally
}

fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let i = ((sorted_us.len() as f64 - 1.0) * p).round() as usize;
    sorted_us[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let (allowed, denied) = match (Caller::parse(&cli.allowed), Caller::parse(&cli.denied)) {
        (Ok(a), Ok(d)) => (a, d),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("keytrail-mix: {e}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(cli.seconds);
    let workers: Vec<_> = (0..cli.connections.max(1))
        .map(|i| tokio::spawn(connection(cli.clone(), allowed.clone(), denied.clone(), i as u64 + 1, deadline)))
        .collect();
    let mut all = Tally::default();
    for w in workers {
        let t = w.await.unwrap_or_default();
        all.latencies_us.extend(t.latencies_us);
        all.transport_errors += t.transport_errors;
        for (k, v) in t.statuses {
            *all.statuses.entry(k).or_default() += v;
        }
        for (k, v) in t.ops {
            *all.ops.entry(k).or_default() += v;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    all.latencies_us.sort_unstable();
    let requests = all.latencies_us.len();
    let statuses: BTreeMap<String, u64> = all.statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let out = json!({
        "requests": requests,
        "seconds": seconds,
        "rps": requests as f64 / seconds,
        "p50_ms": percentile_ms(&all.latencies_us, 0.50),
        "p99_ms": percentile_ms(&all.latencies_us, 0.99),
        "statuses": statuses,
        "ops": all.ops,
        "transport_errors": all.transport_errors,
    });
    println!("{out}");
}
