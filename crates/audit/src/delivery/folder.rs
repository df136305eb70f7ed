//! The bucket folder: a directory that stands for S3, `<root>/<bucket>/<key>`, in the one format
//! its writer (trail delivery) and its readers (keytrail's S3 API, the uploader to a real store)
//! share.
//!
//! - An object is a regular file at `<root>/<bucket>/<key>`; `/` in a key is a directory.
//! - Its user metadata (`x-amz-meta-*`, e.g. a digest file's signature) and, in an outbox, the
//!   trail it was delivered for live in a sidecar, `.<name>.meta.json` beside it. Names that
//!   start with `.` (sidecars, files being written) are never objects.
//! - An object appears whole: its sidecar first, then its body, each written aside, synced and
//!   renamed, and the directory synced, so a crash leaves it complete or absent.
//! - Keys are checked segment by segment ([`is_safe_key`]): no empty, `.`, `..` or hidden
//!   segment, no backslash or control character, so no key names a path outside its bucket.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::trails::TrailKey;

/// One S3 object to deliver.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    /// The bucket.
    pub bucket: String,
    /// The object key (`AWSLogs/…`, with the trail's prefix).
    pub key: String,
    /// The body, as stored (gzipped for log and digest files).
    pub body: Vec<u8>,
    /// What the sidecar says about it.
    pub sidecar: Sidecar,
}

/// What CloudTrail delivers: a log file or a digest file (their statuses are separate in
/// GetTrailStatus).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ObjectKind {
    /// A gzipped `{"Records":[…]}` log file.
    #[default]
    Log,
    /// A signed digest file.
    Digest,
}

/// An object's sidecar: its user metadata and, for the uploader, whose delivery it is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sidecar {
    /// User metadata, names without `x-amz-meta-` (`signature`, `signature-algorithm`).
    #[serde(default)]
    pub metadata: Vec<(String, String)>,
    /// The trail that delivered the object.
    #[serde(default)]
    pub trail: Option<TrailKey>,
    /// Log file or digest.
    #[serde(default)]
    pub kind: ObjectKind,
}

/// The `Content-Type` and `Content-Encoding` an object is served (and uploaded) with.
/// Choice: CloudTrail's log and digest objects show `application/json` with encoding `gzip` in
/// S3 (the S3 console's system metadata of a delivered file); anything else is binary.
pub fn content_headers(key: &str) -> (&'static str, Option<&'static str>) {
    if key.ends_with(".json.gz") {
        ("application/json", Some("gzip"))
    } else {
        ("binary/octet-stream", None)
    }
}

/// Whether `key` can name an object inside its bucket's directory (and nothing outside it).
pub fn is_safe_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 1024
        && key.split('/').all(|s| !s.is_empty() && !s.starts_with('.') && !s.chars().any(|c| c == '\\' || c.is_control()))
}

/// S3's bucket-naming rules (which also keep a bucket name one safe path segment).
pub fn is_bucket_name(bucket: &str) -> bool {
    (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !bucket.contains("..")
}

/// A directory of buckets.
#[derive(Clone, Debug)]
pub struct BucketFolder {
    root: PathBuf,
    /// An outbox keeps every object's sidecar (the uploader needs its trail); a bucket folder
    /// only those with metadata.
    outbox: bool,
}

impl BucketFolder {
    /// The bucket folder at `root` (made when the first object is written).
    pub fn new(root: PathBuf) -> Self {
        BucketFolder { root, outbox: false }
    }

    /// An outbox at `root`: a bucket folder whose objects wait for the uploader.
    pub fn outbox(root: PathBuf) -> Self {
        BucketFolder { root, outbox: true }
    }

    /// The directory holding the buckets.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of `bucket`, if the name is a bucket name.
    pub fn bucket_dir(&self, bucket: &str) -> Option<PathBuf> {
        is_bucket_name(bucket).then(|| self.root.join(bucket))
    }

    /// Where `bucket`/`key` lives, if both are safe names. The path may not exist.
    pub fn object_path(&self, bucket: &str, key: &str) -> Option<PathBuf> {
        if !is_safe_key(key) {
            return None;
        }
        let mut path = self.bucket_dir(bucket)?;
        path.extend(key.split('/'));
        Some(path)
    }

    /// The file of object `bucket`/`key` if it exists as a regular file reached through real
    /// directories only: a symbolic link anywhere on the way (the bucket's directory included)
    /// is no object, so nothing outside the bucket is ever read through one.
    pub fn existing_object(&self, bucket: &str, key: &str) -> Option<PathBuf> {
        let path = self.object_path(bucket, key)?;
        let mut at = self.root.clone();
        let mut segments = std::iter::once(bucket).chain(key.split('/')).peekable();
        while let Some(segment) = segments.next() {
            at.push(segment);
            let kind = std::fs::symlink_metadata(&at).ok()?.file_type();
            let wanted = if segments.peek().is_some() { kind.is_dir() } else { kind.is_file() };
            if !wanted {
                return None;
            }
        }
        Some(path)
    }

    /// The directory of `bucket` if it is a real directory (not a symbolic link).
    pub fn existing_bucket_dir(&self, bucket: &str) -> Option<PathBuf> {
        let dir = self.bucket_dir(bucket)?;
        std::fs::symlink_metadata(&dir).ok().filter(|m| m.file_type().is_dir()).map(|_| dir)
    }

    /// Writes `object` so it appears whole (see the module doc) and returns its path.
    pub fn put(&self, object: &Object) -> std::io::Result<PathBuf> {
        let invalid =
            || std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("not an object name: {}/{}", object.bucket, object.key));
        let path = self.object_path(&object.bucket, &object.key).ok_or_else(invalid)?;
        let dir = path.parent().ok_or_else(invalid)?;
        let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(invalid)?;
        create_private_dir(dir)?;
        if self.outbox || !object.sidecar.metadata.is_empty() {
            let text = serde_json::to_vec(&object.sidecar).map_err(std::io::Error::other)?;
            write_synced(&dir.join(format!(".{name}.meta.json")), &text)?;
        }
        write_synced(&path, &object.body)?;
        // Synced after the renames: the object outlives a machine crash once this returns (a
        // trail's delivery mark moves past its records then).
        std::fs::File::open(dir)?.sync_all()?;
        Ok(path)
    }

    /// The sidecar of the object at `path` (an empty one if it has none).
    pub fn sidecar(path: &Path) -> Sidecar {
        sidecar_path(path).and_then(|p| std::fs::read(p).ok()).and_then(|text| serde_json::from_slice(&text).ok()).unwrap_or_default()
    }

    /// Removes the object at `path` and its sidecar (the uploader, once a real store has it).
    pub fn remove(path: &Path) -> std::io::Result<()> {
        std::fs::remove_file(path)?;
        if let Some(side) = sidecar_path(path) {
            match std::fs::remove_file(side) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Every object as `(bucket, key, path)`, in key order within each bucket, buckets in name
    /// order. Symbolic links and hidden names are skipped.
    pub fn objects(&self) -> Vec<(String, String, PathBuf)> {
        let mut out = Vec::new();
        for (bucket, dir) in self.buckets() {
            walk_sorted(&dir, "", &mut |_| true, &mut |key, path| {
                out.push((bucket.clone(), key.to_string(), path.to_path_buf()));
                true
            });
        }
        out
    }

    /// Every bucket directory as `(name, path)`, in name order.
    pub fn buckets(&self) -> Vec<(String, PathBuf)> {
        let Ok(entries) = std::fs::read_dir(&self.root) else { return Vec::new() };
        let mut out: Vec<(String, PathBuf)> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok().filter(|n| is_bucket_name(n)).map(|n| (n, e.path())))
            .collect();
        out.sort();
        out
    }
}

/// Creates `dir` and its missing parents readable by the owner only (0700): trail log files
/// hold every caller's records.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Creates (or truncates) `path` for writing, readable by its owner only (0600).
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
}

/// `.<name>.meta.json` beside the object at `path`.
fn sidecar_path(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    Some(path.with_file_name(format!(".{name}.meta.json")))
}

/// Writes `bytes` to `path` through a synced file beside it, renamed into place.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("object");
    let aside = path.with_file_name(format!(".{name}.{}.part", uuid::Uuid::new_v4().simple()));
    let mut file = private_file(&aside)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written.and_then(|()| std::fs::rename(&aside, path)) {
        let _ = std::fs::remove_file(&aside);
        return Err(e);
    }
    Ok(())
}

/// Visits the objects under `dir` (whose keys start with `prefix`, `""` or ending in `/`) in S3's
/// key order: byte order of the whole key, which is a directory's entries sorted with each
/// subdirectory's name read as `name/`. `enter(dir_key)` says whether to descend into the
/// subdirectory whose keys all start with `dir_key` (pruning); `visit(key, path)` returns false
/// to stop the walk. Returns false if stopped. Symbolic links and hidden names are skipped, so
/// nothing outside `dir` is ever reached.
pub fn walk_sorted(dir: &Path, prefix: &str, enter: &mut dyn FnMut(&str) -> bool, visit: &mut dyn FnMut(&str, &Path) -> bool) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return true };
    let mut list: Vec<(String, PathBuf, bool)> = Vec::new();
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_symlink() {
            continue;
        }
        let Ok(name) = entry.file_name().into_string() else { continue };
        if name.starts_with('.') || name.chars().any(|c| c == '\\' || c.is_control()) {
            continue;
        }
        if kind.is_dir() {
            list.push((format!("{name}/"), entry.path(), true));
        } else if kind.is_file() {
            list.push((name, entry.path(), false));
        }
    }
    list.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (name, path, is_dir) in list {
        let key = format!("{prefix}{name}");
        if is_dir {
            if enter(&key) && !walk_sorted(&path, &key, enter, visit) {
                return false;
            }
        } else if !visit(&key, &path) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> PathBuf {
        std::env::temp_dir().join(format!("keytrail-folder-{}", uuid::Uuid::new_v4()))
    }

    #[test]
    fn keys_stay_inside_their_bucket() {
        for bad in ["", "..", "a/../b", "a//b", "/abs", "a/.hidden", ".x", "a\\b", "a\0b", "a/b/"] {
            assert!(!is_safe_key(bad), "{bad:?}");
        }
        for ok in ["a", "AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/01/x.json.gz", "a b/c+d=e"] {
            assert!(is_safe_key(ok), "{ok:?}");
        }
        let folder = BucketFolder::new(PathBuf::from("/srv/s3"));
        assert_eq!(folder.object_path("logs", "a/b"), Some(PathBuf::from("/srv/s3/logs/a/b")));
        assert_eq!(folder.object_path("..", "a"), None);
        assert_eq!(folder.object_path("Logs", "a"), None);
    }

    #[test]
    fn objects_appear_whole_with_their_sidecar_and_walk_in_key_order() {
        let root = temp();
        let folder = BucketFolder::new(root.clone());
        let sidecar = Sidecar { metadata: vec![("signature".into(), "ab".into())], ..Sidecar::default() };
        for key in ["a/x", "a-b", "a/y/z", "b"] {
            let object = Object { bucket: "bkt".into(), key: key.into(), body: key.as_bytes().to_vec(), sidecar: sidecar.clone() };
            folder.put(&object).unwrap();
        }
        std::os::unix::fs::symlink("/etc", root.join("bkt/a/etc")).unwrap();
        assert!(folder.existing_object("bkt", "a/etc/hostname").is_none(), "not through a link");
        assert!(folder.existing_object("bkt", "a/etc").is_none());
        assert!(folder.existing_object("bkt", "a").is_none(), "a directory is no object");
        assert_eq!(folder.existing_object("bkt", "a/x"), folder.object_path("bkt", "a/x"));
        let keys: Vec<String> = folder.objects().into_iter().map(|(b, k, _)| format!("{b}/{k}")).collect();
        assert_eq!(keys, ["bkt/a-b", "bkt/a/x", "bkt/a/y/z", "bkt/b"], "byte order, hidden files and links skipped");
        let path = folder.object_path("bkt", "a/x").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"a/x");
        assert_eq!(BucketFolder::sidecar(&path), sidecar);
        BucketFolder::remove(&path).unwrap();
        assert!(!path.exists() && BucketFolder::sidecar(&path) == Sidecar::default());
        let names: Vec<_> = std::fs::read_dir(root.join("bkt/a")).unwrap().flatten().map(|e| e.file_name()).collect();
        assert!(!names.iter().any(|n| n.to_string_lossy().ends_with(".part")), "{names:?}");
        std::fs::remove_dir_all(root).unwrap();
    }
}
