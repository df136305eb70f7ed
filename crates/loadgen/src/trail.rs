//! A trail for the soak and crash tests, and the records its log files hold.

use std::net::SocketAddr;
use std::path::Path;

use serde_json::{json, Value};

use crate::client::{Conn, OWNER_KEY};

/// Creates trail `name`, logging every management event of the default account in every region,
/// delivering under `<data dir>/s3/<name>-logs`, and starts its logging.
pub(crate) async fn start_trail(addr: SocketAddr, name: &str) -> Result<(), String> {
    let mut conn = Conn::connect(addr).await?;
    let create = json!({"Name": name, "S3BucketName": format!("{name}-logs"), "IsMultiRegionTrail": true});
    for (op, body) in [("CreateTrail", create), ("StartLogging", json!({"Name": name}))] {
        let reply = conn.cloudtrail(OWNER_KEY, op, &body).await?;
        if reply.status != 200 {
            return Err(format!("{op}: {} {}", reply.status, reply.body));
        }
    }
    Ok(())
}

/// Every record in every delivered trail log file under `dir` (gzipped `{"Records":[…]}`).
pub(crate) fn delivered_records(dir: &Path) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().ends_with(".json.gz") {
                let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
                let mut doc: Value =
                    serde_json::from_reader(flate2::read::GzDecoder::new(file)).map_err(|e| format!("{}: {e}", path.display()))?;
                if let Value::Array(records) = doc["Records"].take() {
                    out.extend(records);
                }
            }
        }
    }
    Ok(out)
}
