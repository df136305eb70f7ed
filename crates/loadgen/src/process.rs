//! Running keytrail as a child process: start on a free port, wait for health, read its memory,
//! stop it gracefully or kill it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A keytrail process.
pub(crate) struct Keytrail {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
}

impl Keytrail {
    pub(crate) async fn start(bin: &Path, data_dir: &Path, events_out: Option<&Path>) -> Result<Keytrail, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().map_err(|e| format!("{e}"))?;
        let mut cmd = Command::new(bin);
        cmd.arg("--listen").arg(addr.to_string()).arg("--data-dir").arg(data_dir);
        if let Some(p) = events_out {
            cmd.arg("--events-out").arg(p);
        }
        cmd.env("RUST_LOG", "warn").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::inherit());
        let child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut k = Keytrail { child, addr };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if crate::client::get(addr, "/_keytrail/health").await.is_ok() {
                return Ok(k);
            }
            if let Ok(Some(status)) = k.child.try_wait() {
                return Err(format!("keytrail exited at start-up: {status}"));
            }
            if Instant::now() > deadline {
                let _ = k.child.kill();
                return Err("keytrail did not become healthy within 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Resident memory in KiB.
    pub(crate) fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
            .unwrap_or(0)
    }

    /// SIGTERM and wait; the exit status must be success.
    pub(crate) fn stop(mut self) -> Result<(), String> {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let status = self.child.wait().map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("keytrail exited with {status} after SIGTERM"))
        }
    }

    /// SIGKILL: no chance to flush anything.
    pub(crate) fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh empty directory under the system temp dir.
pub(crate) fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("keytrail-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    dir
}
