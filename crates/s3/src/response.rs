//! S3's REST-XML answers: documents, the `<Error>` body with S3's codes and statuses, and the
//! request ids every response carries (`x-amz-request-id`, `x-amz-id-2`).

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Response, StatusCode};

/// The namespace of S3's result documents.
pub const S3_NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// An S3 error: code, HTTP status, message, and the resource it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Error {
    /// S3's error code (`NoSuchKey`).
    pub code: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The message, in S3's words.
    pub message: String,
    /// Extra elements of the `<Error>` document (`Key`, `BucketName`, `ActualObjectSize`…).
    pub details: Vec<(&'static str, String)>,
}

impl S3Error {
    /// An error with no extra elements.
    pub fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        S3Error { code, status, message: message.into(), details: Vec::new() }
    }

    /// Adds an element to the `<Error>` document.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.details.push((name, value.into()));
        self
    }

    /// `NoSuchBucket` (404).
    pub fn no_such_bucket(bucket: &str) -> Self {
        S3Error::new("NoSuchBucket", 404, "The specified bucket does not exist").with("BucketName", bucket)
    }

    /// `NoSuchKey` (404).
    pub fn no_such_key(key: &str) -> Self {
        S3Error::new("NoSuchKey", 404, "The specified key does not exist.").with("Key", key)
    }

    /// `AccessDenied` (403) with `message`.
    pub fn access_denied(message: impl Into<String>) -> Self {
        S3Error::new("AccessDenied", 403, message)
    }

    /// `InvalidArgument` (400) naming the argument.
    pub fn invalid_argument(message: impl Into<String>, name: &str, value: &str) -> Self {
        S3Error::new("InvalidArgument", 400, message).with("ArgumentName", name).with("ArgumentValue", value)
    }

    /// `NotImplemented` (501): an S3 feature keytrail does not serve.
    pub fn not_implemented(what: &str) -> Self {
        S3Error::new("NotImplemented", 501, format!("A header or query you provided implies functionality that is not implemented: {what}"))
    }
}

/// The ids of one S3 response.
#[derive(Clone, Debug)]
pub struct RequestIds {
    /// `x-amz-request-id`: 16 upper-case hex digits, as S3's; also the record's `requestID`.
    pub request_id: String,
    /// `x-amz-id-2`: S3's extended request id.
    pub id2: String,
}

impl RequestIds {
    /// Fresh ids.
    pub fn new() -> Self {
        use base64::Engine;
        let a = uuid::Uuid::new_v4();
        let b = uuid::Uuid::new_v4();
        let request_id = a.simple().to_string()[..16].to_ascii_uppercase();
        let mut raw = Vec::with_capacity(32);
        raw.extend_from_slice(b.as_bytes());
        raw.extend_from_slice(a.as_bytes());
        RequestIds { request_id, id2: base64::engine::general_purpose::STANDARD.encode(raw) }
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        RequestIds::new()
    }
}

/// Escapes text for an XML element.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A small XML document builder: elements with escaped text.
pub struct Xml(String);

impl Xml {
    /// A document whose root element is `root` (in S3's namespace when `namespaced`).
    pub fn new(root: &str, namespaced: bool) -> Self {
        let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        if namespaced {
            s.push_str(&format!("<{root} xmlns=\"{S3_NAMESPACE}\">"));
        } else {
            s.push_str(&format!("<{root}>"));
        }
        Xml(s)
    }

    /// `<name>text</name>`.
    pub fn element(&mut self, name: &str, text: &str) -> &mut Self {
        self.0.push_str(&format!("<{name}>{}</{name}>", escape(text)));
        self
    }

    /// `<name>`.
    pub fn open(&mut self, name: &str) -> &mut Self {
        self.0.push_str(&format!("<{name}>"));
        self
    }

    /// `</name>`.
    pub fn close(&mut self, name: &str) -> &mut Self {
        self.0.push_str(&format!("</{name}>"));
        self
    }

    /// The document, closing `root`.
    pub fn finish(mut self, root: &str) -> String {
        self.0.push_str(&format!("</{root}>"));
        self.0
    }
}

/// A response with the request ids and `body`.
pub fn response(status: u16, ids: &RequestIds, content_type: Option<&str>, body: Bytes) -> Response<Bytes> {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    for (name, value) in [("x-amz-request-id", ids.request_id.as_str()), ("x-amz-id-2", ids.id2.as_str())] {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
    if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(c).ok()) {
        headers.insert(http::header::CONTENT_TYPE, ct);
    }
    resp
}

/// An XML document response (200).
pub fn xml_response(ids: &RequestIds, document: String) -> Response<Bytes> {
    response(200, ids, Some("application/xml"), Bytes::from(document))
}

/// The error's response: its `<Error>` document, or (`head`: HEAD requests carry no body) its
/// status alone.
pub fn error_response(ids: &RequestIds, err: &S3Error, head: bool) -> Response<Bytes> {
    if head {
        return response(err.status, ids, None, Bytes::new());
    }
    let mut doc = Xml::new("Error", false);
    doc.element("Code", err.code).element("Message", &err.message);
    for (name, value) in &err.details {
        doc.element(name, value);
    }
    doc.element("RequestId", &ids.request_id).element("HostId", &ids.id2);
    response(err.status, ids, Some("application/xml"), Bytes::from(doc.finish("Error")))
}

/// `2025-01-01T00:00:00.000Z`: S3's timestamps in XML.
pub fn iso_millis(t: std::time::SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_s3_documents() {
        let ids = RequestIds::new();
        assert_eq!(ids.request_id.len(), 16);
        assert!(ids.request_id.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
        let resp = error_response(&ids, &S3Error::no_such_key("a<b"), false);
        assert_eq!(resp.status(), 404);
        let body = std::str::from_utf8(resp.body()).unwrap();
        assert!(body.contains("<Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a&lt;b</Key>"), "{body}");
        assert!(body.contains(&format!("<RequestId>{}</RequestId>", ids.request_id)));
        assert_eq!(resp.headers()["x-amz-request-id"], ids.request_id.as_str());
        let head = error_response(&ids, &S3Error::no_such_key("k"), true);
        assert!(head.body().is_empty() && head.status() == 404);
    }
}
