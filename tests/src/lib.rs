//! Test harness: starts a real keytrail server on port 0 and builds real AWS SDK clients for it.
//!
//! Every end-to-end test goes through here, so the server is exercised exactly as users run it:
//! over HTTP, with SigV4-signed requests from `aws-sdk-kms` and `aws-sdk-cloudtrail`.

pub mod trail_files;

use std::net::SocketAddr;

use aws_credential_types::Credentials;
use keytrail_server::{App, Options};
use serde_json::Value;
use tokio::sync::oneshot;

/// A running keytrail; stops when dropped.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The server state, for assertions that need it.
    pub app: App,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Starts keytrail with default options.
    pub async fn start() -> Server {
        Server::start_with(Options::default()).await
    }

    /// Starts keytrail with `options` (the listen address is replaced by port 0).
    pub async fn start_with(options: Options) -> Server {
        let app = App::new(Options { listen: "127.0.0.1:0".into(), ..options }).expect("keytrail starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel();
        let handle = tokio::spawn(keytrail_server::run(listener, app.clone(), async {
            let _ = rx.await;
        }));
        Server { addr, app, stop: Some(tx), handle: Some(handle) }
    }

    /// The endpoint URL SDKs point at.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A KMS client signing with `access_key` (secret `secret`) for `region`.
    pub fn kms_as(&self, access_key: &str, secret: &str, region: &str) -> aws_sdk_kms::Client {
        let creds = Credentials::new(access_key, secret, None, None, "keytrail-tests");
        let conf = aws_sdk_kms::Config::builder()
            .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(aws_sdk_kms::config::Region::new(region.to_string()))
            .credentials_provider(creds)
            .build();
        aws_sdk_kms::Client::from_conf(conf)
    }

    /// A KMS client for the default account's root in `us-east-1`.
    pub fn kms(&self) -> aws_sdk_kms::Client {
        self.kms_as("AKIAIOSFODNN7EXAMPLE", "secret", "us-east-1")
    }

    /// A CloudTrail client signing with `access_key` for `region`.
    pub fn cloudtrail_as(&self, access_key: &str, secret: &str, region: &str) -> aws_sdk_cloudtrail::Client {
        let creds = Credentials::new(access_key, secret, None, None, "keytrail-tests");
        let conf = aws_sdk_cloudtrail::Config::builder()
            .behavior_version(aws_sdk_cloudtrail::config::BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(aws_sdk_cloudtrail::config::Region::new(region.to_string()))
            .credentials_provider(creds)
            .build();
        aws_sdk_cloudtrail::Client::from_conf(conf)
    }

    /// A CloudTrail client for the default account's root in `us-east-1`.
    pub fn cloudtrail(&self) -> aws_sdk_cloudtrail::Client {
        self.cloudtrail_as("AKIAIOSFODNN7EXAMPLE", "secret", "us-east-1")
    }

    /// An S3 client signing with `access_key` for `region`, as the SDK addresses keytrail's
    /// endpoint by default (an IP address: path-style).
    pub fn s3_as(&self, access_key: &str, secret: &str, region: &str) -> aws_sdk_s3::Client {
        let creds = Credentials::new(access_key, secret, None, None, "keytrail-tests");
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(aws_sdk_s3::config::Region::new(region.to_string()))
            .credentials_provider(creds)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// An S3 client for the default account's root in `us-east-1`.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        self.s3_as("AKIAIOSFODNN7EXAMPLE", "secret", "us-east-1")
    }

    /// `GET /_keytrail/events?<query>` → the `Records` array.
    pub async fn events(&self, query: &str) -> Vec<Value> {
        let body = self.control("GET", &format!("/_keytrail/events?{query}"), None).await;
        body["Records"].as_array().cloned().unwrap_or_default()
    }

    /// All records' `eventName`s, oldest first.
    pub async fn all_event_names(&self) -> Vec<String> {
        event_names(&self.all_events().await)
    }

    /// All records, oldest first.
    pub async fn all_events(&self) -> Vec<Value> {
        self.events("").await
    }

    /// The most recent record.
    pub async fn last_event(&self) -> Value {
        self.all_events().await.pop().expect("at least one record")
    }

    /// The records whose `requestID` is `request_id` (the caller's copy first; a cross-account
    /// call has one more copy).
    pub async fn records_of(&self, request_id: &str) -> Vec<Value> {
        self.all_events().await.into_iter().filter(|r| r["requestID"] == request_id).collect()
    }

    /// The one record whose `requestID` is `request_id`; panics unless there is exactly one.
    pub async fn record_of(&self, request_id: &str) -> Value {
        let mut records = self.records_of(request_id).await;
        assert_eq!(records.len(), 1, "records with requestID {request_id}: {records:?}");
        records.remove(0)
    }

    /// Calls a control route and returns its JSON body.
    pub async fn control(&self, method: &str, path: &str, body: Option<&str>) -> Value {
        let (status, text) = raw_http(self.addr, method, path, &[], body.unwrap_or("")).await;
        assert!(status < 500, "control {path} answered {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Moves the mock clock forward by `seconds`.
    pub async fn advance_clock(&self, seconds: i64) -> Value {
        self.control("POST", "/_keytrail/clock", Some(&format!("{{\"advanceSeconds\":{seconds}}}"))).await
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// The `eventName` of each record, in order: what most assertions on a series of records compare.
pub fn event_names(records: &[Value]) -> Vec<String> {
    records.iter().map(|r| r["eventName"].as_str().expect("eventName").to_string()).collect()
}

/// Sends one raw HTTP/1.1 request (no SDK) and returns (status, body). For hostile-input and
/// control-API tests.
pub async fn raw_http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    // keytrail always sends a Content-Length body (never chunked), so the body is the rest.
    (status, body)
}

/// The fields every KMS API record has, checked against AWS's published shape.
pub fn assert_api_record_shape(r: &Value) {
    assert_eq!(r["eventVersion"], "1.11");
    assert_eq!(r["eventSource"], "kms.amazonaws.com");
    assert_eq!(r["eventType"], "AwsApiCall");
    assert_eq!(r["managementEvent"], true);
    assert_eq!(r["eventCategory"], "Management");
    assert!(r["requestID"].as_str().is_some_and(|s| s.len() == 36), "requestID: {r}");
    assert!(r["eventID"].as_str().is_some_and(|s| s.len() == 36), "eventID: {r}");
    let t = r["eventTime"].as_str().expect("eventTime");
    assert!(t.len() == 20 && t.ends_with('Z'), "eventTime {t}");
    assert!(r.get("requestParameters").is_some() && r.get("responseElements").is_some());
    let keys: Vec<&str> = r.as_object().expect("object").keys().map(String::as_str).collect();
    let order = [
        "eventVersion",
        "userIdentity",
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "errorCode",
        "errorMessage",
        "requestParameters",
        "responseElements",
        "additionalEventData",
        "requestID",
        "eventID",
        "readOnly",
        "resources",
        "eventType",
        "managementEvent",
        "recipientAccountId",
        "sharedEventID",
        "serviceEventDetails",
        "eventCategory",
    ];
    let positions: Vec<usize> =
        keys.iter().map(|k| order.iter().position(|o| o == k).unwrap_or_else(|| panic!("unexpected field {k}"))).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "fields out of AWS order: {keys:?}");
}

/// What a failed SDK call tells a test: the AWS error code and message, and the request id the
/// server sent in `x-amzn-RequestId`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The `__type` of the error (`NotFoundException`).
    pub code: String,
    /// The error message.
    pub message: String,
    /// The `x-amzn-RequestId` header of the error response.
    pub request_id: String,
}

/// Reduces an SDK error to a [`Failure`]; panics when the call did not get an AWS error response
/// (a transport or parsing failure, which no test expects).
pub fn failure<E>(err: aws_sdk_kms::error::SdkError<E, aws_sdk_kms::config::http::HttpResponse>) -> Failure
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_sdk_kms::operation::RequestId;
    let request_id = err.request_id().map(str::to_string);
    let Some(service) = err.as_service_error() else { panic!("expected an AWS error response, got {err:?}") };
    Failure {
        code: service.code().unwrap_or_default().to_string(),
        message: service.message().unwrap_or_default().to_string(),
        request_id: request_id.unwrap_or_else(|| panic!("error response without x-amzn-RequestId: {err:?}")),
    }
}
