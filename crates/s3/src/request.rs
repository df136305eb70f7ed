//! Reading an S3 request: whether it is one at all, its bucket and key (path-style
//! `/<bucket>/<key>` or virtual-host-style `Host: <bucket>.s3.…`), its query, and the operation.

use http::{HeaderMap, Method, Uri};
use percent_encoding::percent_decode_str;

use crate::response::S3Error;

/// The operations keytrail's S3 API tells apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `GET /`.
    ListBuckets,
    /// `HEAD /<bucket>`.
    HeadBucket,
    /// `GET /<bucket>?location`.
    GetBucketLocation,
    /// `GET /<bucket>?list-type=2`.
    ListObjectsV2,
    /// `GET /<bucket>`.
    ListObjects,
    /// `GET /<bucket>/<key>`.
    GetObject,
    /// `HEAD /<bucket>/<key>`.
    HeadObject,
    /// Any request that would change the bucket (PUT, POST, DELETE): the trail bucket is read-only.
    Write,
    /// A read S3 has that keytrail does not serve (`?acl`, `?versioning`, …), named.
    Unsupported(String),
}

impl Operation {
    /// The API name (the record's `eventName`).
    pub fn name(&self) -> &'static str {
        match self {
            Operation::ListBuckets => "ListBuckets",
            Operation::HeadBucket => "HeadBucket",
            Operation::GetBucketLocation => "GetBucketLocation",
            Operation::ListObjectsV2 => "ListObjectsV2",
            Operation::ListObjects => "ListObjects",
            Operation::GetObject => "GetObject",
            Operation::HeadObject => "HeadObject",
            Operation::Write => "Write",
            Operation::Unsupported(_) => "Unsupported",
        }
    }
}

/// One S3 request, read.
pub struct S3Request<'a> {
    /// The method.
    pub method: &'a Method,
    /// The `Host` header (or the URI's authority), as sent.
    pub host: String,
    /// The bucket, if any.
    pub bucket: Option<String>,
    /// The object key, if any.
    pub key: Option<String>,
    /// The query, decoded, in order.
    pub query: Vec<(String, String)>,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// What is asked.
    pub operation: Operation,
}

/// Bucket subresources keytrail answers with `NotImplemented`.
const BUCKET_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "lifecycle",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "tagging",
    "uploads",
    "versioning",
    "versions",
    "website",
    "metadataTable",
];
/// Object subresources keytrail answers with `NotImplemented`.
const OBJECT_SUBRESOURCES: &[&str] =
    &["acl", "attributes", "legal-hold", "retention", "tagging", "torrent", "uploadId", "restore", "select"];

impl<'a> S3Request<'a> {
    /// Reads `method`, `uri` and `headers` as an S3 request.
    pub fn parse(method: &'a Method, uri: &Uri, headers: &'a HeaderMap) -> Result<S3Request<'a>, S3Error> {
        let host = host_of(uri, headers);
        let invalid_uri = || S3Error::new("InvalidURI", 400, "Couldn't parse the specified URI.");
        let path = percent_decode_str(uri.path()).decode_utf8().map_err(|_| invalid_uri())?;
        let path = path.strip_prefix('/').unwrap_or(&path).to_string();
        let (bucket, key) = match bucket_from_host(&host) {
            Some(bucket) => (Some(bucket), path),
            None => match path.split_once('/') {
                Some((b, k)) => (Some(b.to_string()), k.to_string()),
                None => ((!path.is_empty()).then_some(path), String::new()),
            },
        };
        let bucket = bucket.filter(|b| !b.is_empty());
        let key = (!key.is_empty()).then_some(key);
        let mut query = Vec::new();
        if let Some(q) = uri.query() {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                query.push((k.into_owned(), v.into_owned()));
            }
        }
        let has = |name: &str| query.iter().any(|(k, _)| k == name);
        let operation = match (method.as_str(), &bucket, &key) {
            ("GET" | "HEAD", _, _) if !query.is_empty() && has("X-Amz-Credential") => {
                return Err(S3Error::access_denied(
                    "Query-string (presigned URL) authentication is not supported by keytrail; sign the Authorization header.",
                ))
            }
            ("GET", None, _) => Operation::ListBuckets,
            ("HEAD", None, _) => Operation::Unsupported("HEAD /".into()),
            ("GET", Some(_), None) => {
                if has("location") {
                    Operation::GetBucketLocation
                } else if let Some(sub) = BUCKET_SUBRESOURCES.iter().find(|s| has(s)) {
                    Operation::Unsupported(format!("?{sub}"))
                } else if query.iter().any(|(k, v)| k == "list-type" && v == "2") {
                    Operation::ListObjectsV2
                } else if let Some((_, v)) = query.iter().find(|(k, _)| k == "list-type") {
                    return Err(S3Error::invalid_argument("Invalid List Type specified", "list-type", v));
                } else {
                    Operation::ListObjects
                }
            }
            ("HEAD", Some(_), None) => Operation::HeadBucket,
            ("GET" | "HEAD", Some(_), Some(_)) => match OBJECT_SUBRESOURCES.iter().find(|s| has(s)) {
                Some(sub) => Operation::Unsupported(format!("?{sub}")),
                None if method == Method::HEAD => Operation::HeadObject,
                None => Operation::GetObject,
            },
            ("PUT" | "POST" | "DELETE", _, _) => Operation::Write,
            (other, _, _) => Operation::Unsupported(other.to_string()),
        };
        Ok(S3Request { method, host, bucket, key, query, headers, operation })
    }

    /// The query parameter `name`, if given.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The header `name` as text, if given and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Whether a request is for S3: signed for the `s3` service (SigV4 header or presigned query),
/// signed with S3's old SigV2 scheme, or sent to an S3-style host name. Every request passes
/// here, so it allocates nothing, and a request with `X-Amz-Target` (KMS, CloudTrail) is never
/// S3.
pub fn is_s3_request(uri: &Uri, headers: &HeaderMap) -> bool {
    if headers.contains_key("x-amz-target") {
        return false;
    }
    let auth = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    if auth.starts_with("AWS ") || (auth.starts_with("AWS4-HMAC-SHA256") && auth.contains("/s3/aws4_request")) {
        return true;
    }
    if uri.query().is_some_and(|q| q.contains("%2Fs3%2Faws4_request") || q.contains("/s3/aws4_request")) {
        return true;
    }
    let host = headers.get(http::header::HOST).and_then(|v| v.to_str().ok()).or_else(|| uri.authority().map(|a| a.as_str())).unwrap_or("");
    let name = host_name(host);
    name.starts_with("s3.") || name.starts_with("s3-") || name.contains(".s3.") || name.contains(".s3-") || name.ends_with(".localhost")
}

fn host_of(uri: &Uri, headers: &HeaderMap) -> String {
    headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.to_string()))
        .unwrap_or_default()
}

/// The host without its port.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split(']').next().map_or(host, |h| h.trim_start_matches('['));
    }
    host.rsplit_once(':').filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h)
}

/// The bucket a virtual-host-style `Host` names: `<bucket>.s3.<…>`, `<bucket>.s3-<region>.<…>`,
/// or `<bucket>.localhost` (what SDKs build from an endpoint `http://localhost:PORT`).
fn bucket_from_host(host: &str) -> Option<String> {
    let name = host_name(host).to_ascii_lowercase();
    if name.parse::<std::net::IpAddr>().is_ok() || name.starts_with("s3.") || name.starts_with("s3-") {
        return None;
    }
    let bucket = match name.find(".s3.").or_else(|| name.find(".s3-")) {
        Some(i) => &name[..i],
        None => name.strip_suffix(".localhost")?,
    };
    keytrail_audit::delivery::folder::is_bucket_name(bucket).then(|| bucket.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(method: &str, uri: &str, host: &str) -> Result<(Option<String>, Option<String>, Operation), S3Error> {
        let method: Method = method.parse().unwrap();
        let uri: Uri = uri.parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, host.parse().unwrap());
        let req = S3Request::parse(&method, &uri, &headers)?;
        Ok((req.bucket, req.key, req.operation))
    }

    #[test]
    fn path_and_virtual_host_styles() {
        let some = |s: &str| Some(s.to_string());
        assert_eq!(parse("GET", "/", "127.0.0.1:4599").unwrap(), (None, None, Operation::ListBuckets));
        assert_eq!(
            parse("GET", "/logs?list-type=2&prefix=AWSLogs%2F", "127.0.0.1:4599").unwrap(),
            (some("logs"), None, Operation::ListObjectsV2)
        );
        assert_eq!(parse("GET", "/logs/", "localhost:4599").unwrap(), (some("logs"), None, Operation::ListObjects));
        assert_eq!(
            parse("GET", "/logs/a/b%20c.json.gz", "127.0.0.1").unwrap(),
            (some("logs"), some("a/b c.json.gz"), Operation::GetObject)
        );
        assert_eq!(parse("HEAD", "/a/b", "logs.s3.us-east-1.amazonaws.com").unwrap(), (some("logs"), some("a/b"), Operation::HeadObject));
        assert_eq!(parse("GET", "/?location", "logs.localhost:4599").unwrap(), (some("logs"), None, Operation::GetBucketLocation));
        assert_eq!(parse("GET", "/logs?acl", "s3.amazonaws.com").unwrap().2, Operation::Unsupported("?acl".into()));
        assert_eq!(parse("PUT", "/logs/k", "127.0.0.1").unwrap().2, Operation::Write);
        assert_eq!(parse("GET", "/logs?list-type=3", "127.0.0.1").unwrap_err().code, "InvalidArgument");
        assert_eq!(parse("GET", "/logs/%FF", "127.0.0.1").unwrap_err().code, "InvalidURI");
    }

    #[test]
    fn s3_requests_are_recognised() {
        let check = |auth: Option<&str>, host: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(http::header::HOST, host.parse().unwrap());
            if let Some(a) = auth {
                headers.insert(http::header::AUTHORIZATION, a.parse().unwrap());
            }
            is_s3_request(&"/".parse().unwrap(), &headers)
        };
        assert!(check(
            Some("AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x"),
            "127.0.0.1:4599"
        ));
        assert!(!check(
            Some("AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=x"),
            "127.0.0.1:4599"
        ));
        assert!(check(None, "logs.s3.us-east-1.amazonaws.com"));
        assert!(check(None, "s3.us-east-1.amazonaws.com"));
        assert!(!check(None, "127.0.0.1:4599"));
        assert!(!check(None, "localhost:4599"));
        assert!(!check(None, "kms.us-east-1.amazonaws.com"));
    }
}
