//! ListObjectsV2 and ListObjects (v1; the AWS CLI's `validate-logs` pages with its `Marker`)
//! over a bucket's directory: prefix, delimiter (common prefixes), `max-keys` (at most 1000),
//! `start-after` / `marker`, continuation tokens, `encoding-type=url`.
//!
//! The directory is walked in S3's key order ([`walk_sorted`]) and only as far as needed:
//! subdirectories outside the prefix, wholly before the start, or already rolled up into the
//! last common prefix are skipped, and the walk stops at the first element past the page.
//! An element (key or common prefix) is listed only if it sorts after the start, so a page
//! that ended on a common prefix resumes past every key under it. A continuation token is the
//! page's last element, base64url-encoded (opaque to clients, as S3's).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine;
use keytrail_audit::delivery::folder::walk_sorted;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::request::S3Request;
use crate::response::{escape, iso_millis, S3Error, Xml};

/// S3's ceiling (and default) for `max-keys`.
pub const MAX_KEYS: usize = 1000;

/// What `encoding-type=url` leaves as it is: unreserved characters and `/`.
const KEY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');

/// A listing request, read from the query.
#[derive(Clone, Debug, Default)]
pub struct ListParams {
    /// Only keys starting with this.
    pub prefix: String,
    /// Roll keys up at the first occurrence of this after the prefix.
    pub delimiter: Option<String>,
    /// At most this many elements.
    pub max_keys: usize,
    /// Only elements after this.
    pub after: Option<String>,
    /// URL-encode keys and prefixes in the answer.
    pub url_encoded: bool,
}

/// One listed object.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Its key.
    pub key: String,
    /// Its file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written.
    pub modified: SystemTime,
}

/// One page.
#[derive(Debug, Default)]
pub struct Listing {
    /// Objects, in key order.
    pub entries: Vec<Entry>,
    /// Common prefixes, in order.
    pub prefixes: Vec<String>,
    /// More elements follow.
    pub truncated: bool,
    /// The page's last element (key or common prefix), where the next page starts.
    pub last: Option<String>,
}

/// Reads the listing parameters shared by both versions (`start` is `start-after`/the
/// continuation token for v2, `marker` for v1).
pub fn params(req: &S3Request<'_>, start: Option<String>) -> Result<ListParams, S3Error> {
    let max_keys = match req.param("max-keys") {
        None => MAX_KEYS,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| S3Error::invalid_argument("Provided max-keys not an integer or within integer range", "max-keys", v))?
            .min(MAX_KEYS as i64) as usize,
    };
    let url_encoded = match req.param("encoding-type") {
        None => false,
        Some("url") => true,
        Some(other) => return Err(S3Error::invalid_argument("Invalid Encoding Method specified in Request", "encoding-type", other)),
    };
    Ok(ListParams {
        prefix: req.param("prefix").unwrap_or_default().to_string(),
        delimiter: req.param("delimiter").filter(|d| !d.is_empty()).map(str::to_string),
        max_keys,
        after: start.filter(|s| !s.is_empty()),
        url_encoded,
    })
}

/// One page of the objects under `dir`.
pub fn list(dir: &Path, params: &ListParams) -> Listing {
    let mut page = Listing::default();
    if params.max_keys == 0 {
        return page;
    }
    let prefix = params.prefix.as_str();
    let after = params.after.as_deref();
    let mut last_prefix: Option<String> = None;
    let mut count = 0usize;
    // The walk's two callbacks share the page: the first only reads it through `last_prefix`.
    let rolled_up = std::cell::RefCell::new(None::<String>);
    let mut enter = |dir_key: &str| {
        let in_prefix = dir_key.starts_with(prefix) || prefix.starts_with(dir_key);
        let before_start = after.is_some_and(|a| a > dir_key && !a.starts_with(dir_key));
        let rolled = rolled_up.borrow().as_deref().is_some_and(|p| dir_key.starts_with(p));
        in_prefix && !before_start && !rolled
    };
    let mut visit = |key: &str, path: &Path| {
        let Some(rest) = key.strip_prefix(prefix) else { return true };
        let common = params.delimiter.as_deref().and_then(|d| rest.find(d).map(|i| format!("{prefix}{}", &rest[..i + d.len()])));
        let element = common.as_deref().unwrap_or(key);
        if after.is_some_and(|a| element <= a) || (common.is_some() && common == last_prefix) {
            return true;
        }
        let Ok(meta) = std::fs::symlink_metadata(path) else { return true };
        if count == params.max_keys {
            page.truncated = true;
            return false;
        }
        count += 1;
        page.last = Some(element.to_string());
        match common {
            Some(p) => {
                *rolled_up.borrow_mut() = Some(p.clone());
                last_prefix = Some(p.clone());
                page.prefixes.push(p);
            }
            None => page.entries.push(Entry {
                key: key.to_string(),
                path: path.to_path_buf(),
                size: meta.len(),
                modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            }),
        }
        true
    };
    walk_sorted(dir, "", &mut enter, &mut visit);
    page
}

/// A continuation token for a page that ended at `last`.
pub fn token(last: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last)
}

/// The element a continuation token names.
pub fn read_token(token: &str) -> Result<String, S3Error> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| S3Error::invalid_argument("The continuation token provided is incorrect", "continuation-token", token))
}

/// Text as the answer shows it: URL-encoded when asked.
fn shown(params: &ListParams, text: &str) -> String {
    if params.url_encoded {
        utf8_percent_encode(text, KEY_ENCODE).to_string()
    } else {
        text.to_string()
    }
}

/// What each listed object's `<Contents>` needs besides the entry.
pub struct ContentsInfo<'a> {
    /// The object's ETag.
    pub etag: &'a dyn Fn(&Entry) -> String,
    /// `(ID, DisplayName)` of the owner, when the answer shows it.
    pub owner: Option<(String, String)>,
}

fn contents(doc: &mut Xml, params: &ListParams, page: &Listing, info: &ContentsInfo<'_>) {
    for e in &page.entries {
        doc.open("Contents")
            .element("Key", &shown(params, &e.key))
            .element("LastModified", &iso_millis(e.modified))
            .element("ETag", &(info.etag)(e))
            .element("Size", &e.size.to_string());
        if let Some((id, name)) = &info.owner {
            doc.open("Owner").element("ID", id).element("DisplayName", name).close("Owner");
        }
        doc.element("StorageClass", "STANDARD").close("Contents");
    }
    for p in &page.prefixes {
        doc.open("CommonPrefixes").element("Prefix", &shown(params, p)).close("CommonPrefixes");
    }
}

/// The ListObjectsV2 document.
pub fn v2_document(
    bucket: &str,
    params: &ListParams,
    page: &Listing,
    given: (Option<&str>, Option<&str>),
    info: &ContentsInfo<'_>,
) -> String {
    let (continuation, start_after) = given;
    let mut doc = Xml::new("ListBucketResult", true);
    doc.element("Name", bucket).element("Prefix", &shown(params, &params.prefix));
    if let Some(t) = continuation {
        doc.element("ContinuationToken", t);
    }
    if let Some(s) = start_after {
        doc.element("StartAfter", &shown(params, s));
    }
    doc.element("KeyCount", &(page.entries.len() + page.prefixes.len()).to_string()).element("MaxKeys", &params.max_keys.to_string());
    if let Some(d) = &params.delimiter {
        doc.element("Delimiter", &shown(params, d));
    }
    if params.url_encoded {
        doc.element("EncodingType", "url");
    }
    doc.element("IsTruncated", if page.truncated { "true" } else { "false" });
    if let (true, Some(last)) = (page.truncated, &page.last) {
        doc.element("NextContinuationToken", &token(last));
    }
    contents(&mut doc, params, page, info);
    doc.finish("ListBucketResult")
}

/// The ListObjects (v1) document. `NextMarker` is given only with a delimiter, as S3 does
/// (without one, clients continue from the last key).
pub fn v1_document(bucket: &str, params: &ListParams, page: &Listing, info: &ContentsInfo<'_>) -> String {
    let mut doc = Xml::new("ListBucketResult", true);
    doc.element("Name", bucket)
        .element("Prefix", &shown(params, &params.prefix))
        .element("Marker", &shown(params, params.after.as_deref().unwrap_or_default()))
        .element("MaxKeys", &params.max_keys.to_string());
    if let Some(d) = &params.delimiter {
        doc.element("Delimiter", &shown(params, d));
    }
    if params.url_encoded {
        doc.element("EncodingType", "url");
    }
    doc.element("IsTruncated", if page.truncated { "true" } else { "false" });
    if let (true, Some(_), Some(last)) = (page.truncated, &params.delimiter, &page.last) {
        doc.element("NextMarker", &shown(params, last));
    }
    contents(&mut doc, params, page, info);
    doc.finish("ListBucketResult")
}

/// An `ETag` value as S3 writes it in XML and headers: the hex MD5 in quotes.
pub fn quoted(hex_md5: &str) -> String {
    format!("\"{}\"", escape(hex_md5))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(keys: &[&str]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("keytrail-list-{}", uuid::Uuid::new_v4()));
        for k in keys {
            let path = dir.join(k);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, k).unwrap();
        }
        dir
    }

    fn names(page: &Listing) -> Vec<String> {
        page.entries.iter().map(|e| e.key.clone()).chain(page.prefixes.iter().map(|p| format!("{p}*"))).collect()
    }

    fn p(prefix: &str, delimiter: Option<&str>, max_keys: usize, after: Option<&str>) -> ListParams {
        ListParams {
            prefix: prefix.into(),
            delimiter: delimiter.map(Into::into),
            max_keys,
            after: after.map(Into::into),
            url_encoded: false,
        }
    }

    #[test]
    fn prefixes_delimiters_and_pages() {
        let dir = bucket(&["a-b", "a/x/1", "a/x/2", "a/y", "b/1", "b/2", "c"]);
        assert_eq!(names(&list(&dir, &p("", None, 1000, None))), ["a-b", "a/x/1", "a/x/2", "a/y", "b/1", "b/2", "c"]);
        assert_eq!(names(&list(&dir, &p("", Some("/"), 1000, None))), ["a-b", "c", "a/*", "b/*"]);
        assert_eq!(names(&list(&dir, &p("a/", Some("/"), 1000, None))), ["a/y", "a/x/*"]);
        assert_eq!(names(&list(&dir, &p("a/x", None, 1000, None))), ["a/x/1", "a/x/2"]);
        assert_eq!(names(&list(&dir, &p("", None, 1000, Some("a/x/1")))), ["a/x/2", "a/y", "b/1", "b/2", "c"]);
        // Paging through with the delimiter: each page resumes after the last element.
        let mut after: Option<String> = None;
        let mut seen = Vec::new();
        loop {
            let page = list(&dir, &p("", Some("/"), 1, after.as_deref()));
            seen.extend(names(&page));
            if !page.truncated {
                break;
            }
            after = page.last.clone();
        }
        assert_eq!(seen, ["a-b", "a/*", "b/*", "c"]);
        let page = list(&dir, &p("", None, 2, None));
        assert!(page.truncated);
        assert_eq!(read_token(&token(page.last.as_deref().unwrap())).unwrap(), "a/x/1");
        assert!(read_token("!!").is_err());
        assert!(list(&dir, &p("", None, 0, None)).entries.is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
