//! What trails deliver: the gzipped `{"Records":[…]}` log files under a trail directory.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::Server;

/// A fresh, empty directory for one test's trail files.
pub fn temp_dir(label: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("keytrail-test-{label}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// One delivered log file.
#[derive(Debug)]
pub struct LogFile {
    /// Its key relative to the trail directory, `/`-separated (`<bucket>/<prefix>/AWSLogs/…`).
    pub key: String,
    /// Its records, decompressed and parsed.
    pub records: Vec<Value>,
}

/// Every log file under `root` (digest files left out), sorted by key (so by publication time
/// within a directory).
pub fn log_files(root: &Path) -> Vec<LogFile> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "gz") && !path.to_string_lossy().contains("/CloudTrail-Digest/") {
                let mut text = String::new();
                flate2::read::GzDecoder::new(std::fs::File::open(&path).expect("open")).read_to_string(&mut text).expect("a gzip file");
                let body: Value = serde_json::from_str(&text).expect("a JSON log file");
                let key = path
                    .strip_prefix(root)
                    .expect("under root")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push(LogFile { key, records: body["Records"].as_array().cloned().expect("Records") });
            }
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// Every digest file under `root` as `(key relative to root, parsed content, uncompressed bytes)`,
/// sorted by key.
pub fn digest_files(root: &Path) -> Vec<(String, Value, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if path.is_dir() {
                dirs.push(path);
            } else if name.ends_with(".json.gz") && !name.starts_with('.') && path.to_string_lossy().contains("/CloudTrail-Digest/") {
                let mut raw = Vec::new();
                flate2::read::GzDecoder::new(std::fs::File::open(&path).expect("open")).read_to_end(&mut raw).expect("a gzip file");
                let key = path.strip_prefix(root).expect("under root").to_string_lossy().into_owned();
                out.push((key, serde_json::from_slice(&raw).expect("a JSON digest"), raw));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every record of every log file under `root`, file by file.
pub fn delivered_records(root: &Path) -> Vec<Value> {
    log_files(root).into_iter().flat_map(|f| f.records).collect()
}

/// Moves the mock clock just past a 5-minute delivery boundary, so a test's calls share one
/// delivery interval however slowly the test runs.
pub async fn align_clock(server: &Server) {
    use aws_sdk_kms::primitives::{DateTime, DateTimeFormat};
    let now = server.control("GET", "/_keytrail/clock", None).await["now"].as_str().expect("now").to_string();
    let secs = DateTime::from_str(&now, DateTimeFormat::DateTime).expect("RFC 3339").secs();
    server.advance_clock((secs / 300 + 1) * 300 + 1 - secs).await;
}
