//! A clear answer for the services keytrail does not serve. `AWS_ENDPOINT_URL` sends every
//! client of an SDK to keytrail; a call whose SigV4 scope names another service gets
//! `501 NotImplemented` in that service's own protocol (so the client shows the message instead
//! of failing to parse the body), naming the service, and keytrail warns once per service.
//!
//! The protocol is read from the request where it shows (an `X-Amz-Target` header is awsJson,
//! a form body with `Action=` is the query or EC2 protocol, a `smithy-protocol` header is
//! RPC v2 CBOR) and otherwise from `services.tsv`, the protocols of botocore's service models by
//! signing name (written by `scripts/gen-services-table`). 501 is not among the statuses SDKs
//! retry, so the error surfaces at once.

use std::collections::HashSet;
use std::sync::OnceLock;

use bytes::Bytes;
use hyper::http::request::Parts;
use hyper::Response;
use parking_lot::Mutex;

use crate::protocol::{bytes_response, Body};

/// Signing name → (protocol, full name), from botocore.
const TABLE: &str = include_str!("services.tsv");

/// The sentence every such answer carries.
pub const SERVED: &str = "keytrail serves AWS KMS, AWS CloudTrail, AWS STS and Amazon S3 (its trail buckets) on this endpoint";

/// The wire protocols an answer can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    AwsJson,
    RestJson,
    Query,
    Ec2,
    RestXml,
    S3,
    Cbor,
}

/// The service behind a signing name, as botocore names it: `(protocol, full name)`.
fn lookup(signing_name: &str) -> Option<(&'static str, &'static str)> {
    static MAP: OnceLock<std::collections::HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    let map = MAP.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut cols = l.split('\t');
                Some((cols.next()?, (cols.next()?, cols.next()?)))
            })
            .collect()
    });
    map.get(signing_name).copied()
}

/// Services already warned about, so each gets one warning line.
#[derive(Default)]
pub struct Warned(Mutex<HashSet<String>>);

impl Warned {
    /// True the first time `service` is seen.
    fn first(&self, service: &str) -> bool {
        let mut seen = self.0.lock();
        // Bounded: scopes are client-chosen text, so a hostile client could name endless ones.
        seen.len() < 1024 && seen.insert(service.to_owned())
    }
}

/// The answer to a request for `service` (the SigV4 scope's service), which keytrail does not serve.
pub fn respond(warned: &Warned, service: &str, parts: &Parts, body: &[u8], request_id: &str) -> Response<Body> {
    let known = lookup(service);
    let named = known.map_or_else(|| format!("the service '{service}'"), |(_, full)| format!("{full} ({service})"));
    if warned.first(service) {
        tracing::warn!(
            service,
            "a client called {named}, which keytrail does not serve; it answers 501 NotImplemented (set that client's endpoint elsewhere)"
        );
    }
    let message = format!("{SERVED}, not {named}. Point this client at its own endpoint.");
    let protocol = protocol_of(parts, body, service, known.map(|(p, _)| p));
    render(protocol, &message, request_id)
}

fn protocol_of(parts: &Parts, body: &[u8], service: &str, table: Option<&str>) -> Protocol {
    let headers = &parts.headers;
    if headers.contains_key("x-amz-target") {
        return Protocol::AwsJson;
    }
    if headers.get("smithy-protocol").is_some_and(|v| v.as_bytes() == b"rpc-v2-cbor") {
        return Protocol::Cbor;
    }
    if keytrail_sts::QueryRequest::names_an_action(parts.uri.query(), body) {
        return if service == "ec2" { Protocol::Ec2 } else { Protocol::Query };
    }
    match table {
        _ if service == "s3" || service == "s3-object-lambda" => Protocol::S3,
        Some("rest-xml") => Protocol::RestXml,
        Some("query") => Protocol::Query,
        Some("ec2") => Protocol::Ec2,
        Some("json") => Protocol::AwsJson,
        Some("smithy-rpc-v2-cbor") => Protocol::Cbor,
        _ => Protocol::RestJson,
    }
}

const CODE: &str = "NotImplemented";
const STATUS: u16 = 501;

fn render(protocol: Protocol, message: &str, request_id: &str) -> Response<Body> {
    let xml = |s: &str| keytrail_sts::xml::escape(s).into_owned();
    let (content_type, body) = match protocol {
        Protocol::AwsJson | Protocol::RestJson => {
            ("application/json", serde_json::to_vec(&serde_json::json!({ "__type": CODE, "message": message })).unwrap_or_default())
        }
        Protocol::Query | Protocol::RestXml => (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Receiver</Type><Code>{CODE}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
                xml(message),
                xml(request_id)
            )
            .into_bytes(),
        ),
        Protocol::Ec2 => (
            "text/xml",
            format!(
                "<Response><Errors><Error><Code>{CODE}</Code><Message>{}</Message></Error></Errors><RequestID>{}</RequestID></Response>",
                xml(message),
                xml(request_id)
            )
            .into_bytes(),
        ),
        Protocol::S3 => (
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{CODE}</Code><Message>{}</Message><RequestId>{}</RequestId></Error>",
                xml(message),
                xml(request_id)
            )
            .into_bytes(),
        ),
        Protocol::Cbor => ("application/cbor", cbor_error(message)),
    };
    let mut resp = bytes_response(STATUS, request_id, content_type, Bytes::from(body));
    let headers = resp.headers_mut();
    // REST-JSON clients read the code from this header; S3's request id header has its own name.
    headers.insert("x-amzn-errortype", hyper::header::HeaderValue::from_static(CODE));
    if let Ok(v) = hyper::header::HeaderValue::from_str(request_id) {
        headers.insert("x-amz-request-id", v);
    }
    if protocol == Protocol::Cbor {
        headers.insert("smithy-protocol", hyper::header::HeaderValue::from_static("rpc-v2-cbor"));
    }
    resp
}

/// `{"__type": "NotImplemented", "message": …}` in CBOR (RFC 8949): a map of two text strings.
fn cbor_error(message: &str) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, s: &str) {
        let len = s.len() as u64;
        match len {
            0..=23 => out.push(0x60 | len as u8),
            24..=0xff => out.extend([0x78, len as u8]),
            0x100..=0xffff => {
                out.push(0x79);
                out.extend((len as u16).to_be_bytes());
            }
            _ => {
                out.push(0x7a);
                out.extend((len.min(u64::from(u32::MAX)) as u32).to_be_bytes());
            }
        }
        out.extend(s.as_bytes());
    }
    let mut out = vec![0xa2];
    text(&mut out, "__type");
    text(&mut out, CODE);
    text(&mut out, "message");
    text(&mut out, message);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_services_and_protocols() {
        assert_eq!(lookup("sqs"), Some(("json", "Amazon Simple Queue Service")));
        assert_eq!(lookup("s3").map(|(p, _)| p), Some("rest-xml"));
        assert_eq!(lookup("ec2").map(|(p, _)| p), Some("ec2"));
        assert_eq!(lookup("rds").map(|(_, n)| n), Some("Amazon Relational Database Service"));
        assert!(lookup("no-such-service").is_none());
    }

    #[test]
    fn cbor_is_a_map_of_two_texts() {
        let bytes = cbor_error("hi");
        assert_eq!(bytes, [&[0xa2, 0x66][..], b"__type", &[0x6e], b"NotImplemented", &[0x67], b"message", &[0x62], b"hi"].concat());
        let long = cbor_error(&"x".repeat(300));
        assert_eq!(&long[long.len() - 303..long.len() - 300], &[0x79, 0x01, 0x2c]);
    }

    #[test]
    fn each_service_is_warned_about_once() {
        let warned = Warned::default();
        assert!(warned.first("sqs"));
        assert!(!warned.first("sqs"));
        assert!(warned.first("s3"));
    }
}
