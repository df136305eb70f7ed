//! Test harness: a real keytrail server on port 0 and real AWS SDK clients for it.
//!
//! Every end-to-end test goes through here, so the server is exercised exactly as users run it:
//! over HTTP, with SigV4-signed requests from `aws-sdk-kms`, `aws-sdk-cloudtrail` and
//! `aws-sdk-sts`. The server itself is `keytrail-testing`'s [`KeyTrail`] (the in-process
//! keytrail users' tests run); [`Server`] adds the control-API helpers these tests share.

pub mod openssl;
pub mod signing;
pub mod trail_files;

use std::net::SocketAddr;

use keytrail_server::{App, Options};
use keytrail_testing::{Identity, KeyTrail};
use serde_json::Value;

/// A running keytrail; stops when dropped.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The server state, for assertions that need it.
    pub app: App,
    keytrail: KeyTrail,
}

impl Server {
    /// Starts keytrail with default options.
    pub async fn start() -> Server {
        Server::start_with(Options::default()).await
    }

    /// Starts keytrail with `options` (the listen address is replaced by port 0).
    pub async fn start_with(options: Options) -> Server {
        let keytrail = KeyTrail::start_with(options).await;
        Server { addr: keytrail.addr(), app: keytrail.app().clone(), keytrail }
    }

    /// The in-process keytrail behind this server.
    pub fn keytrail(&self) -> &KeyTrail {
        &self.keytrail
    }

    /// Starts keytrail with the config `text`, checking signatures against its secrets and
    /// refusing unknown access keys (`--verify-signatures --strict-credentials`): how the
    /// authorization suites run, so every caller is exactly the principal its key names.
    /// Strict credentials close the control API to anyone without the control token, so one is
    /// set (unless the config names its own) for the harness's control-API helpers to send.
    pub async fn start_strict(text: &str) -> Server {
        let mut options = Options { verify_signatures: true, strict_credentials: true, ..Options::from_config(text).expect("config") };
        if options.control_token.is_none() {
            options.control_token = Some(keytrail_server::options::ControlToken("keytrail-tests-control-token".into()));
        }
        Server::start_with(options).await
    }

    /// The endpoint URL SDKs point at.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The SDK configuration of a client signing with these credentials for `region`. A
    /// configured role session signs with its configured `session_token` unless `token` is given,
    /// as its SDK would with the credentials it was handed.
    fn sdk_config(&self, access_key: &str, secret: &str, token: Option<&str>, region: &str) -> aws_config::SdkConfig {
        let configured = match self.app.credentials.configured(access_key).map(|k| &k.token) {
            Some(keytrail_iam::SessionToken::Session(Some(t))) => Some(t.clone()),
            _ => None,
        };
        let session_token = token.map(Into::into).or(configured);
        let identity = Identity { access_key_id: access_key.into(), secret_access_key: secret.into(), session_token };
        self.keytrail.sdk_config_in(&identity, region)
    }

    /// A KMS client signing with `access_key` (secret `secret`) for `region`.
    pub fn kms_as(&self, access_key: &str, secret: &str, region: &str) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.sdk_config(access_key, secret, None, region))
    }

    /// A KMS client for the default account's root in `us-east-1`.
    pub fn kms(&self) -> aws_sdk_kms::Client {
        self.kms_as("AKIAIOSFODNN7EXAMPLE", "secret", "us-east-1")
    }

    /// A CloudTrail client signing with `access_key` for `region`.
    pub fn cloudtrail_as(&self, access_key: &str, secret: &str, region: &str) -> aws_sdk_cloudtrail::Client {
        aws_sdk_cloudtrail::Client::new(&self.sdk_config(access_key, secret, None, region))
    }

    /// A CloudTrail client for the default account's root in `us-east-1`.
    pub fn cloudtrail(&self) -> aws_sdk_cloudtrail::Client {
        self.cloudtrail_as("AKIAIOSFODNN7EXAMPLE", "secret", "us-east-1")
    }

    /// An STS client signing with `access_key` (secret `secret`, session token `token`) for `region`.
    pub fn sts_as(&self, access_key: &str, secret: &str, token: Option<&str>, region: &str) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.sdk_config(access_key, secret, token, region))
    }

    /// A KMS client signing with temporary credentials (`token` sent as `X-Amz-Security-Token`).
    pub fn kms_with_token(&self, access_key: &str, secret: &str, token: &str, region: &str) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.sdk_config(access_key, secret, Some(token), region))
    }

    /// An S3 client signing with `access_key` for `region`, as the SDK addresses keytrail's
    /// endpoint by default (an IP address: path-style).
    pub fn s3_as(&self, access_key: &str, secret: &str, region: &str) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::new(&self.sdk_config(access_key, secret, None, region))
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

    /// Calls a control route and returns its JSON body. Writes go as `application/json` (the
    /// control API refuses any other), and with the server's control token when it has one.
    pub async fn control(&self, method: &str, path: &str, body: Option<&str>) -> Value {
        let (status, text) = self.control_raw(method, path, body).await;
        assert!(status < 500, "control {path} answered {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// [`Server::control`] returning the status and body as they came.
    pub async fn control_raw(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let bearer = self.app.options.control_token.as_ref().map(|t| format!("Bearer {}", t.0));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if method != "GET" {
            headers.push(("content-type", "application/json"));
        }
        if let Some(b) = &bearer {
            headers.push(("authorization", b));
        }
        raw_http(self.addr, method, path, &headers, body.unwrap_or("")).await
    }

    /// Moves the mock clock forward by `seconds`.
    pub async fn advance_clock(&self, seconds: i64) -> Value {
        self.control("POST", "/_keytrail/clock", Some(&format!("{{\"advanceSeconds\":{seconds}}}"))).await
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(self) {
        self.keytrail.stop().await;
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

/// A fresh (not yet created) directory under the system temp dir, unique to this process and call.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("keytrail-{name}-{}-{nanos}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Every file under `dir`, recursively (database, WAL, lock, trail log files…).
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Creates a key of `spec` and `usage` (any of AWS's names) and returns its metadata.
pub async fn create_key_of(kms: &aws_sdk_kms::Client, spec: &str, usage: &str) -> aws_sdk_kms::types::KeyMetadata {
    kms.create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::from(spec))
        .key_usage(aws_sdk_kms::types::KeyUsageType::from(usage))
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateKey {spec}/{usage}: {e:?}"))
        .key_metadata
        .expect("KeyMetadata")
}
