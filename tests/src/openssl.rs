//! The outside oracle for asymmetric keys: the `openssl` command line, run on files in a scratch
//! directory. Tests check keytrail's signatures, ciphertexts and shared secrets with it, never
//! with keytrail's own code.

use std::path::PathBuf;
use std::process::Command;

/// A scratch directory for one test's key and message files; removed when dropped.
pub struct Scratch {
    /// The directory.
    pub dir: PathBuf,
}

impl Scratch {
    /// A fresh, empty directory named after the test.
    pub fn new(name: &str) -> Scratch {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("keytrail-openssl-{name}-{}-{nanos}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch { dir }
    }

    /// Writes `bytes` to the file `name` and returns its path as a string.
    pub fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).expect("write scratch file");
        path.to_string_lossy().into_owned()
    }

    /// The path of `name` (which may not exist yet).
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// The bytes of the file `name`.
    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `openssl <args>`; returns whether it succeeded and what it printed (stdout then stderr).
pub fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().expect("the openssl command runs (apt-get install openssl)");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Runs `openssl <args>` and panics with its output unless it succeeded.
pub fn openssl_ok(args: &[&str]) -> String {
    let (ok, text) = openssl(args);
    assert!(ok, "openssl {} failed: {text}", args.join(" "));
    text
}
