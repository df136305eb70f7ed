//! The crash test: under load, `kill -9` keytrail, restart it on the same data dir, and prove that
//! every acknowledged key still decrypts its ciphertexts, every acknowledged state change is
//! there, and every acknowledged call has its record. Repeated for several cycles. A trail logs
//! throughout: at the end its log files must hold every acknowledged call's record, also those
//! that were waiting for delivery when keytrail was killed.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::json;

use crate::client::{get, Conn, Rng, OWNER_KEY};
use crate::process::{fresh_dir, Keytrail};
use crate::trail::{delivered_records, start_trail};

/// Everything keytrail acknowledged (answered) before it was killed.
#[derive(Default)]
struct Acked {
    /// Key id → whether it should be enabled (None: a state change was in flight at the kill).
    keys: HashMap<String, Option<bool>>,
    /// (key id, ciphertext, plaintext), all base64.
    ciphertexts: Vec<(String, String, String)>,
    /// Request ids of every answered call.
    request_ids: HashSet<String>,
}

async fn worker(addr: SocketAddr, id: u64, stop: Arc<AtomicBool>, acked: Arc<Mutex<Acked>>) {
    let mut rng = Rng::new(id + 1000);
    let Ok(mut conn) = Conn::connect(addr).await else { return };
    let mut mine: Vec<String> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let (op, body, key) = if mine.is_empty() || rng.below(100) < 10 {
            ("CreateKey", json!({"Description": format!("crash {id}")}), None)
        } else {
            let k = mine[rng.below(mine.len() as u64) as usize].clone();
            match rng.below(100) {
                0..=59 => {
                    let n = 1 + rng.below(48) as usize;
                    let pt = B64.encode(rng.bytes(n));
                    ("Encrypt", json!({"KeyId": k, "Plaintext": pt}), Some(k))
                }
                60..=69 => ("RotateKeyOnDemand", json!({"KeyId": k}), Some(k)),
                70..=79 => ("DisableKey", json!({"KeyId": k}), Some(k)),
                80..=89 => ("EnableKey", json!({"KeyId": k}), Some(k)),
                _ => ("DescribeKey", json!({"KeyId": k}), Some(k)),
            }
        };
        if let (Some(k), "DisableKey" | "EnableKey") = (&key, op) {
            // In flight: after a kill, either state is right.
            acked.lock().unwrap().keys.insert(k.clone(), None);
        }
        let reply = match conn.kms(OWNER_KEY, op, &body).await {
            Ok(r) => r,
            Err(_) => return, // killed
        };
        let mut a = acked.lock().unwrap();
        a.request_ids.insert(reply.request_id.clone());
        if reply.status != 200 {
            continue;
        }
        match op {
            "CreateKey" => {
                let kid = reply.body["KeyMetadata"]["KeyId"].as_str().unwrap_or_default().to_string();
                a.keys.insert(kid.clone(), Some(true));
                mine.push(kid);
            }
            "Encrypt" => {
                let ct = reply.body["CiphertextBlob"].as_str().unwrap_or_default().to_string();
                a.ciphertexts.push((key.unwrap_or_default(), ct, body["Plaintext"].as_str().unwrap_or_default().to_string()));
            }
            "DisableKey" => {
                a.keys.insert(key.unwrap_or_default(), Some(false));
            }
            "EnableKey" => {
                a.keys.insert(key.unwrap_or_default(), Some(true));
            }
            _ => {}
        }
    }
}

/// Checks everything acknowledged so far against a freshly restarted keytrail.
async fn verify(addr: SocketAddr, acked: &Acked) -> Result<(usize, usize, usize), String> {
    let mut conn = Conn::connect(addr).await?;
    let mut problems = Vec::new();
    for (key, want) in &acked.keys {
        let r = conn.kms(OWNER_KEY, "DescribeKey", &json!({"KeyId": key})).await?;
        if r.status != 200 {
            problems.push(format!("acknowledged key {key} is gone: {}", r.body));
            continue;
        }
        let enabled = r.body["KeyMetadata"]["Enabled"].as_bool().unwrap_or(false);
        if let Some(want) = want {
            if *want != enabled {
                problems.push(format!("key {key}: acknowledged enabled={want}, found {enabled}"));
            }
        }
        if !enabled {
            conn.kms(OWNER_KEY, "EnableKey", &json!({"KeyId": key})).await?;
        }
    }
    for (key, ct, pt) in &acked.ciphertexts {
        let r = conn.kms(OWNER_KEY, "Decrypt", &json!({"CiphertextBlob": ct})).await?;
        if r.status != 200 || r.body["Plaintext"].as_str() != Some(pt.as_str()) {
            problems.push(format!("ciphertext under {key} no longer decrypts: {} {}", r.status, r.body));
        }
    }
    // Put the acknowledged states back for the next cycle.
    for (key, want) in &acked.keys {
        if *want == Some(false) {
            conn.kms(OWNER_KEY, "DisableKey", &json!({"KeyId": key})).await?;
        }
    }
    let history = get(addr, "/_keytrail/events").await?;
    let ids: HashSet<&str> =
        history["Records"].as_array().map(|a| a.iter().filter_map(|r| r["requestID"].as_str()).collect()).unwrap_or_default();
    let missing = acked.request_ids.iter().filter(|id| !ids.contains(id.as_str())).count();
    if missing > 0 {
        problems.push(format!("{missing} acknowledged calls have no record"));
    }
    if problems.is_empty() {
        Ok((acked.keys.len(), acked.ciphertexts.len(), acked.request_ids.len()))
    } else {
        Err(problems.into_iter().take(10).collect::<Vec<_>>().join("\n"))
    }
}

/// Options of one crash test.
pub(crate) struct CrashOptions {
    pub(crate) bin: std::path::PathBuf,
    pub(crate) clients: u64,
    pub(crate) cycles: u64,
    pub(crate) load_ms: (u64, u64),
}

pub(crate) async fn run(o: CrashOptions) -> Result<(), String> {
    let dir = fresh_dir("crash");
    let data = dir.join("data");
    let acked = Arc::new(Mutex::new(Acked::default()));
    let mut rng = Rng::new(7);
    for cycle in 1..=o.cycles {
        let server = Keytrail::start(&o.bin, &data, None).await?;
        let addr = server.addr;
        if cycle == 1 {
            start_trail(addr, "crash").await?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..o.clients).map(|i| tokio::spawn(worker(addr, cycle * 1000 + i, stop.clone(), acked.clone()))).collect();
        let load = Duration::from_millis(o.load_ms.0 + rng.below(o.load_ms.1 - o.load_ms.0 + 1));
        let started = Instant::now();
        tokio::time::sleep(load).await;
        let answered_before = acked.lock().unwrap().request_ids.len();
        let loaded_for = started.elapsed().as_secs_f64();
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            let _ = w.await;
        }
        let server = Keytrail::start(&o.bin, &data, None).await?;
        // Every worker has stopped: take the tally out to check it, then put it back.
        let a = std::mem::take(&mut *acked.lock().unwrap());
        let result = verify(server.addr, &a).await;
        *acked.lock().unwrap() = a;
        match result {
            Ok((keys, cts, calls)) => println!(
                "crash-test: cycle {cycle}: killed after {:.1} s under load ({} calls answered so far); after restart all {keys} keys, {cts} ciphertexts and {calls} call records are there",
                loaded_for, answered_before
            ),
            Err(e) => {
                server.kill9();
                return Err(format!("cycle {cycle}: {e}"));
            }
        }
        server.stop()?;
    }
    // Stopped cleanly: every pending record is in a log file now.
    let delivered = delivered_records(&data.join("s3"))?;
    let in_files: HashSet<&str> = delivered.iter().filter_map(|r| r["requestID"].as_str()).collect();
    let acked = acked.lock().unwrap();
    let missing = acked.request_ids.iter().filter(|id| !in_files.contains(id.as_str())).count();
    if missing > 0 {
        return Err(format!("{missing} of {} acknowledged calls are in no trail log file", acked.request_ids.len()));
    }
    println!(
        "crash-test: the trail's log files hold all {} acknowledged calls ({} records in files, {} delivered twice after a kill)",
        acked.request_ids.len(),
        delivered.len(),
        delivered.len() - delivered.iter().filter_map(|r| r["eventID"].as_str()).collect::<HashSet<_>>().len()
    );
    let _ = std::fs::remove_dir_all(&dir);
    println!("crash-test: PASS");
    Ok(())
}
