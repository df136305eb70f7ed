//! GetObject and HeadObject: the object's bytes (or a `Range` of them), its `ETag` (hex MD5 of
//! the body, as S3's for a single PUT), `Last-Modified`, content headers and user metadata
//! (`x-amz-meta-*`), and the conditional requests S3 answers with 304 or 412.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use dashmap::DashMap;
use http::header::{HeaderName, HeaderValue};
use http::Response;

use keytrail_audit::delivery::folder::{content_headers, BucketFolder};

use crate::list::quoted;
use crate::request::S3Request;
use crate::response::{response, RequestIds, S3Error};

/// ETags computed so far, by file and what identifies its content (size, modification time):
/// listing a bucket does not read every file again. Bounded: emptied when it holds too many.
#[derive(Default)]
pub struct EtagCache {
    known: DashMap<std::path::PathBuf, (u64, SystemTime, String)>,
}

const ETAG_CACHE_LIMIT: usize = 100_000;

impl EtagCache {
    /// The hex MD5 of the file at `path` (size `len`, modified `modified`).
    pub fn etag(&self, path: &Path, len: u64, modified: SystemTime) -> String {
        if let Some(e) = self.known.get(path).filter(|e| e.0 == len && e.1 == modified) {
            return e.2.clone();
        }
        let Ok(body) = std::fs::read(path) else { return String::new() };
        let etag = md5_hex(&body);
        self.remember(path, len, modified, &etag);
        etag
    }

    fn remember(&self, path: &Path, len: u64, modified: SystemTime, etag: &str) {
        if self.known.len() >= ETAG_CACHE_LIMIT {
            self.known.clear();
        }
        self.known.insert(path.to_path_buf(), (len, modified, etag.to_string()));
    }
}

fn md5_hex(body: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(body))
}

/// Serves GetObject (`head` false) or HeadObject for the object at `path`, key `key`.
pub fn serve(
    req: &S3Request<'_>,
    ids: &RequestIds,
    path: &Path,
    key: &str,
    etags: &EtagCache,
    head: bool,
) -> Result<Response<Bytes>, S3Error> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => m,
        _ => return Err(S3Error::no_such_key(key)),
    };
    let modified = meta.modified().unwrap_or(UNIX_EPOCH);
    // Whole seconds: HTTP dates carry no more, and conditionals compare what was sent.
    let modified_s = UNIX_EPOCH + Duration::from_secs(modified.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()));
    let body = if head { None } else { Some(std::fs::read(path).map_err(|_| S3Error::no_such_key(key))?) };
    let etag = match &body {
        Some(b) => {
            let e = md5_hex(b);
            etags.remember(path, meta.len(), modified, &e);
            e
        }
        None => etags.etag(path, meta.len(), modified),
    };
    let size = body.as_ref().map_or(meta.len(), |b| b.len() as u64);
    let quoted_etag = quoted(&etag);
    if let Some(status) = precondition(req, &etag, modified_s)? {
        let mut resp = response(status, ids, None, Bytes::new());
        set(&mut resp, "etag", &quoted_etag);
        set(&mut resp, "last-modified", &httpdate::fmt_http_date(modified_s));
        return Ok(resp);
    }
    let range = match req.header("range") {
        Some(r) => parse_range(r, size)?,
        None => None,
    };
    let (status, start, end) = match range {
        Some((s, e)) => (206, s, e),
        None => (200, 0, size.saturating_sub(1)),
    };
    let length = if size == 0 { 0 } else { end - start + 1 };
    let bytes = match body {
        Some(mut b) => {
            if status == 206 {
                b = b[start as usize..=end as usize].to_vec();
            }
            Bytes::from(b)
        }
        None => Bytes::new(),
    };
    let (content_type, content_encoding) = content_headers(key);
    let mut resp = response(status, ids, Some(content_type), bytes);
    set(&mut resp, "content-length", &length.to_string());
    set(&mut resp, "etag", &quoted_etag);
    set(&mut resp, "last-modified", &httpdate::fmt_http_date(modified_s));
    set(&mut resp, "accept-ranges", "bytes");
    if let Some(enc) = content_encoding {
        set(&mut resp, "content-encoding", enc);
    }
    if status == 206 {
        set(&mut resp, "content-range", &format!("bytes {start}-{end}/{size}"));
    }
    for (name, value) in BucketFolder::sidecar(path).metadata {
        set(&mut resp, &format!("x-amz-meta-{}", name.to_ascii_lowercase()), &value);
    }
    Ok(resp)
}

fn set(resp: &mut Response<Bytes>, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
        resp.headers_mut().insert(n, v);
    }
}

/// The answer conditional headers call for, if not the object: RFC 7232's order, as S3 applies
/// it (`If-Match` before `If-Unmodified-Since`, `If-None-Match` before `If-Modified-Since`).
fn precondition(req: &S3Request<'_>, etag: &str, modified: SystemTime) -> Result<Option<u16>, S3Error> {
    let matches = |list: &str| list.split(',').map(str::trim).any(|t| t == "*" || t.trim_matches('"') == etag);
    let date = |v: &str| httpdate::parse_http_date(v).ok();
    let failed = || {
        S3Error::new("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold")
            .with("Condition", "If-Match")
    };
    if let Some(list) = req.header("if-match") {
        if !matches(list) {
            return Err(failed());
        }
    } else if let Some(since) = req.header("if-unmodified-since").and_then(date) {
        if modified > since {
            return Err(failed().with("Condition", "If-Unmodified-Since"));
        }
    }
    if let Some(list) = req.header("if-none-match") {
        if matches(list) {
            return Ok(Some(304));
        }
    } else if let Some(since) = req.header("if-modified-since").and_then(date) {
        if modified <= since {
            return Ok(Some(304));
        }
    }
    Ok(None)
}

/// The byte range `bytes=a-b`, `bytes=a-` or `bytes=-n` asks for in an object of `size` bytes.
/// A header S3 cannot read (several ranges, another unit, bad numbers) is ignored, as S3 does;
/// a range starting past the end is `InvalidRange`.
fn parse_range(header: &str, size: u64) -> Result<Option<(u64, u64)>, S3Error> {
    let Some(spec) = header.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else { return Ok(None) };
    let (a, b) = (a.trim(), b.trim());
    let unsatisfiable = || {
        S3Error::new("InvalidRange", 416, "The requested range is not satisfiable")
            .with("RangeRequested", header)
            .with("ActualObjectSize", size.to_string())
    };
    let number = |s: &str| s.parse::<u64>().ok();
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ok(None),
        (true, false) => match number(b) {
            None => Ok(None),
            Some(0) => Err(unsatisfiable()),
            Some(_) if size == 0 => Err(unsatisfiable()),
            Some(n) => Ok(Some((size.saturating_sub(n), size - 1))),
        },
        (false, _) => {
            let Some(start) = number(a) else { return Ok(None) };
            let end = if b.is_empty() { Some(u64::MAX) } else { number(b) };
            let Some(end) = end else { return Ok(None) };
            if end < start {
                return Ok(None);
            }
            if start >= size {
                return Err(unsatisfiable());
            }
            Ok(Some((start, end.min(size - 1))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_s3_reads_them() {
        assert_eq!(parse_range("bytes=0-9", 100).unwrap(), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100).unwrap(), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100).unwrap(), Some((90, 99)));
        assert_eq!(parse_range("bytes=-200", 100).unwrap(), Some((0, 99)));
        assert_eq!(parse_range("bytes=50-1000", 100).unwrap(), Some((50, 99)));
        assert_eq!(parse_range("bytes=0-1,5-6", 100).unwrap(), None, "several ranges: the whole object");
        assert_eq!(parse_range("items=0-1", 100).unwrap(), None);
        assert_eq!(parse_range("bytes=9-2", 100).unwrap(), None);
        let e = parse_range("bytes=100-", 100).unwrap_err();
        assert_eq!((e.code, e.status), ("InvalidRange", 416));
        assert!(parse_range("bytes=-0", 100).is_err());
    }
}
