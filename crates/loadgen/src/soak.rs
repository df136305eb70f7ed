//! The soak: many connections, a mixed workload, a set time, a trail logging throughout; then
//! every count (history, data dir, --events-out, the trail's log files) must agree and
//! memory must have stayed flat.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

use crate::client::{get, Conn, Rng, OWNER_KEY};
use crate::process::{fresh_dir, Keytrail};
use crate::trail::{delivered_records, start_trail};

/// An unknown 12-digit access key acts as that account's root: not allowed by the default key policy.
const STRANGER_KEY: &str = "444455556666";

/// What one worker saw.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) calls: BTreeMap<String, u64>,
    pub(crate) ok: u64,
    pub(crate) client_errors: u64,
    pub(crate) server_errors: u64,
    pub(crate) dropped: u64,
    pub(crate) unexpected: Vec<String>,
    pub(crate) rotations: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        for (k, v) in other.calls {
            *self.calls.entry(k).or_default() += v;
        }
        self.ok += other.ok;
        self.client_errors += other.client_errors;
        self.server_errors += other.server_errors;
        self.dropped += other.dropped;
        self.rotations += other.rotations;
        self.unexpected.extend(other.unexpected.into_iter().take(20));
    }

    fn total(&self) -> u64 {
        self.calls.values().sum()
    }
}

struct OwnKey {
    id: String,
    enabled: bool,
    rotations: u32,
}

/// Runs one call and checks its outcome against `expect` (`"ok"` or an error code).
async fn call(conn: &mut Conn, tally: &mut Tally, key: &str, op: &str, body: Value, expect: &str) -> Option<Value> {
    match conn.kms(key, op, &body).await {
        Err(e) => {
            tally.dropped += 1;
            tally.unexpected.push(format!("{op}: {e}"));
            None
        }
        Ok(reply) => {
            *tally.calls.entry(op.to_string()).or_default() += 1;
            if reply.status >= 500 {
                tally.server_errors += 1;
            } else if reply.status >= 400 {
                tally.client_errors += 1;
            } else {
                tally.ok += 1;
            }
            let got = if reply.status == 200 { "ok" } else { reply.code() };
            if got != expect {
                tally.unexpected.push(format!("{op}: expected {expect}, got {} {}", reply.status, reply.body));
            }
            (reply.status == 200).then_some(reply.body)
        }
    }
}

async fn worker(addr: SocketAddr, id: u64, stop: Arc<AtomicBool>) -> Tally {
    let mut tally = Tally::default();
    let mut rng = Rng::new(id);
    let mut conn = match Conn::connect(addr).await {
        Ok(c) => c,
        Err(e) => {
            tally.dropped += 1;
            tally.unexpected.push(e);
            return tally;
        }
    };
    let mut keys: Vec<OwnKey> = Vec::new();
    let mut cts: Vec<(usize, String, String)> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        if tally.dropped > 0 {
            break;
        }
        if keys.is_empty() || (keys.len() < 12 && rng.below(100) < 2) {
            if let Some(b) = call(&mut conn, &mut tally, OWNER_KEY, "CreateKey", json!({"Description": format!("soak {id}")}), "ok").await {
                let kid = b["KeyMetadata"]["KeyId"].as_str().unwrap_or_default().to_string();
                keys.push(OwnKey { id: kid, enabled: true, rotations: 0 });
            }
            continue;
        }
        let k = rng.below(keys.len() as u64) as usize;
        let key_id = keys[k].id.clone();
        let usable = if keys[k].enabled { "ok" } else { "DisabledException" };
        match rng.below(100) {
            0..=24 => {
                let n = 1 + rng.below(64) as usize;
                let pt = B64.encode(rng.bytes(n));
                if let Some(b) = call(
                    &mut conn,
                    &mut tally,
                    OWNER_KEY,
                    "Encrypt",
                    json!({"KeyId": key_id, "Plaintext": pt, "EncryptionContext": {"w": id.to_string()}}),
                    usable,
                )
                .await
                {
                    let ct = b["CiphertextBlob"].as_str().unwrap_or_default().to_string();
                    if cts.len() >= 32 {
                        cts.swap_remove(rng.below(32) as usize);
                    }
                    cts.push((k, ct, pt));
                }
            }
            25..=44 => {
                if cts.is_empty() {
                    continue;
                }
                let (ki, ct, pt) = cts[rng.below(cts.len() as u64) as usize].clone();
                let expect = if keys[ki].enabled { "ok" } else { "DisabledException" };
                if let Some(b) = call(
                    &mut conn,
                    &mut tally,
                    OWNER_KEY,
                    "Decrypt",
                    json!({"CiphertextBlob": ct, "EncryptionContext": {"w": id.to_string()}}),
                    expect,
                )
                .await
                {
                    if b["Plaintext"].as_str() != Some(pt.as_str()) {
                        tally.unexpected.push("Decrypt returned another plaintext".into());
                    }
                }
            }
            45..=59 => {
                call(&mut conn, &mut tally, OWNER_KEY, "GenerateDataKey", json!({"KeyId": key_id, "KeySpec": "AES_256"}), usable).await;
            }
            60..=62 => {
                let expect = if !keys[k].enabled {
                    "DisabledException"
                } else if keys[k].rotations >= 25 {
                    "LimitExceededException"
                } else {
                    "ok"
                };
                if call(&mut conn, &mut tally, OWNER_KEY, "RotateKeyOnDemand", json!({"KeyId": key_id}), expect).await.is_some() {
                    keys[k].rotations += 1;
                    tally.rotations += 1;
                }
            }
            63..=68 => {
                let op = if keys[k].enabled { "DisableKey" } else { "EnableKey" };
                if call(&mut conn, &mut tally, OWNER_KEY, op, json!({"KeyId": key_id}), "ok").await.is_some() {
                    keys[k].enabled = !keys[k].enabled;
                }
            }
            69..=78 => {
                let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{key_id}");
                call(&mut conn, &mut tally, STRANGER_KEY, "Encrypt", json!({"KeyId": arn, "Plaintext": "aGk="}), "AccessDeniedException")
                    .await;
            }
            79..=83 => {
                let garbage = B64.encode(rng.bytes(60));
                call(&mut conn, &mut tally, OWNER_KEY, "Decrypt", json!({"CiphertextBlob": garbage}), "InvalidCiphertextException").await;
            }
            84..=88 => {
                call(&mut conn, &mut tally, OWNER_KEY, "ListKeys", json!({"Limit": 10}), "ok").await;
            }
            _ => {
                call(&mut conn, &mut tally, OWNER_KEY, "DescribeKey", json!({"KeyId": key_id}), "ok").await;
            }
        }
    }
    tally
}

/// Options of one soak.
pub(crate) struct SoakOptions {
    pub(crate) bin: std::path::PathBuf,
    pub(crate) clients: u64,
    pub(crate) seconds: u64,
    pub(crate) max_growth_mib: u64,
}

pub(crate) async fn run(o: SoakOptions) -> Result<(), String> {
    let dir = fresh_dir("soak");
    let data = dir.join("data");
    let events_out = dir.join("events.jsonl");
    let server = Keytrail::start(&o.bin, &data, Some(&events_out)).await?;
    let addr = server.addr;
    println!("soak: {} clients for {} s against {} (data dir {})", o.clients, o.seconds, addr, data.display());
    start_trail(addr, "soak").await?;
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..o.clients).map(|i| tokio::spawn(worker(addr, i, stop.clone()))).collect();
    let stats0 = get(addr, "/_keytrail/stats").await?;
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let mut last_stats = (Instant::now(), stats0.clone());
    while started.elapsed() < Duration::from_secs(o.seconds) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples.push((started.elapsed().as_secs_f64(), server.rss_kib()));
        if samples.len().is_multiple_of(10) {
            let now = get(addr, "/_keytrail/stats").await?;
            let secs = last_stats.0.elapsed().as_secs_f64();
            let d = |k: &str| {
                now["storage"][k].as_u64().unwrap_or(0).saturating_sub(last_stats.1["storage"][k].as_u64().unwrap_or(0)) as f64 / secs
            };
            println!(
                "soak: t={:>4.0}s  calls/s {:>7.0}  fsyncs/s {:>6.0}  rss {:>6} KiB  records {}",
                started.elapsed().as_secs_f64(),
                d("acks"),
                d("transactions"),
                server.rss_kib(),
                now["events"]
            );
            last_stats = (Instant::now(), now);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut tally = Tally::default();
    for w in workers {
        tally.add(w.await.map_err(|e| e.to_string())?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stats1 = get(addr, "/_keytrail/stats").await?;
    let rss_end = server.rss_kib();
    let total = tally.total();
    // One record per call and per RotateKey service event, plus the trail's two setup calls.
    let expected_records = total + tally.rotations + TRAIL_SETUP_CALLS;
    let fsyncs = stats1["storage"]["transactions"].as_u64().unwrap_or(0) - stats0["storage"]["transactions"].as_u64().unwrap_or(0);
    println!(
        "soak: {total} calls in {elapsed:.1} s = {:.0} calls/s; {fsyncs} fsyncs = {:.0} fsyncs/s; {:.1} calls per fsync",
        total as f64 / elapsed,
        fsyncs as f64 / elapsed,
        total as f64 / fsyncs.max(1) as f64
    );
    let commits = &stats1["storage"]["commitMicros"];
    let ms = |field: &str| commits[field].as_u64().unwrap_or(0) as f64 / 1000.0;
    println!("soak: commits since start took p50 {:.2} / p90 {:.2} / p99 {:.2} / max {:.1} ms", ms("p50"), ms("p90"), ms("p99"), ms("max"));
    println!(
        "soak: ok {}  4xx {}  5xx {}  dropped {}  rotations {}",
        tally.ok, tally.client_errors, tally.server_errors, tally.dropped, tally.rotations
    );
    println!("soak: per operation {:?}", tally.calls);

    // Memory: after the first quarter (warm), it must not keep growing.
    let warm_at = samples.len() / 4;
    let rss_warm = samples.get(warm_at).map(|s| s.1).unwrap_or(rss_end);
    let rss_peak = samples.iter().map(|s| s.1).max().unwrap_or(rss_end);
    println!(
        "soak: rss warm {} KiB, peak {} KiB, end {} KiB (growth {} KiB)",
        rss_warm,
        rss_peak,
        rss_end,
        rss_end as i64 - rss_warm as i64
    );

    // Records: history (API), the data dir (after a clean stop) and --events-out must all agree.
    let history = get(addr, "/_keytrail/events").await?;
    let records = history["Records"].as_array().cloned().unwrap_or_default();
    let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
    // The trail belongs to the default account: it gets that account's KMS records (denied
    // calls of the stranger's account are recorded in the stranger's account only).
    let trail_expected =
        records.iter().filter(|r| r["eventSource"] == "kms.amazonaws.com" && r["recipientAccountId"] == DEFAULT_ACCOUNT).count() as u64;
    for r in &records {
        *by_name.entry(r["eventName"].as_str().unwrap_or("").to_string()).or_default() += 1;
    }
    drop(history);
    server.stop()?;
    let conn = rusqlite::Connection::open(data.join("keytrail.db")).map_err(|e| e.to_string())?;
    let on_disk: i64 = conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0)).map_err(|e| e.to_string())?;
    let lines = std::fs::read_to_string(&events_out).map_err(|e| e.to_string())?.lines().count();
    // The trail was logging from before the first KMS call: its files hold every KMS record.
    let in_trail = delivered_records(&data.join("s3"))?.iter().filter(|r| r["eventSource"] == "kms.amazonaws.com").count() as u64;
    println!(
        "soak: records expected {expected_records}, history {}, data dir {on_disk}, events-out {lines}; trail files {in_trail} of {trail_expected} KMS records in the trail's account",
        records.len()
    );

    let mut failures = Vec::new();
    if tally.server_errors > 0 {
        failures.push(format!("{} 5xx responses", tally.server_errors));
    }
    if tally.dropped > 0 {
        failures.push(format!("{} dropped connections", tally.dropped));
    }
    if !tally.unexpected.is_empty() {
        failures.push(format!("unexpected outcomes, e.g. {:?}", &tally.unexpected[..tally.unexpected.len().min(5)]));
    }
    if records.len() as u64 != expected_records
        || on_disk as u64 != expected_records
        || lines as u64 != expected_records
        || in_trail != trail_expected
    {
        failures.push("record counts disagree".into());
    }
    for (op, n) in &tally.calls {
        if by_name.get(op).copied().unwrap_or(0) != *n {
            failures.push(format!("{op}: {n} calls but {} records", by_name.get(op).copied().unwrap_or(0)));
        }
    }
    if by_name.get("RotateKey").copied().unwrap_or(0) != tally.rotations {
        failures.push(format!("{} rotations but {} RotateKey records", tally.rotations, by_name.get("RotateKey").copied().unwrap_or(0)));
    }
    let growth_kib = rss_end.saturating_sub(rss_warm);
    if growth_kib > o.max_growth_mib * 1024 {
        failures.push(format!("memory grew by {} MiB after warm-up (limit {} MiB)", growth_kib / 1024, o.max_growth_mib));
    }
    let _ = std::fs::remove_dir_all(&dir);
    if failures.is_empty() {
        println!("soak: PASS");
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// The account keytrail serves by default, which OWNER_KEY acts as root of.
const DEFAULT_ACCOUNT: &str = "111122223333";

/// CreateTrail and StartLogging, recorded (eventSource cloudtrail) before the load.
const TRAIL_SETUP_CALLS: u64 = 2;
