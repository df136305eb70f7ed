//! SigV4 as AWS refuses it: the credential scope's region, service and date; with
//! `--verify-signatures`, unsigned `X-Amz-*` headers (a captured DescribeKey cannot be replayed as
//! ScheduleKeyDeletion) and role-session keys without their session token. Every refused request
//! changes nothing and leaves no record.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use keytrail_server::options::ControlToken;
use keytrail_server::Options;
use keytrail_tests::signing::Signer;
use keytrail_tests::{failure, raw_http, Server};
use serde_json::Value;

const KEY: &str = "11111111-2222-3333-4444-555555555555";

fn config() -> String {
    format!(
        r#"
[[users]]
account = "111122223333"
name = "alice"
access_key_id = "AKIAALICE00000000001"
secret_access_key = "alice-secret"
policies = ['''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:*","Resource":"*"}}]}}''']
[[roles]]
account = "111122223333"
name = "app"
policies = ['''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:*","Resource":"*"}}]}}''']
sessions = [
  {{ name = "ci", access_key_id = "ASIAAPPCI00000000001", secret_access_key = "ci-secret", session_token = "ci-session-token-0001" }},
  {{ name = "old", access_key_id = "ASIAAPPOLD0000000001", secret_access_key = "old-secret" }},
]
[[keys]]
account = "111122223333"
region = "us-east-1"
key_id = "{KEY}"
"#
    )
}

async fn strict() -> Server {
    let mut options = Options::from_config(&config()).unwrap();
    options.verify_signatures = true;
    options.strict_credentials = true;
    options.control_token = Some(ControlToken("sigv4-test-control-token".into()));
    Server::start_with(options).await
}

fn alice(region: &str, service: &str) -> Signer<'static> {
    let region: &'static str = Box::leak(region.to_string().into_boxed_str());
    let service: &'static str = Box::leak(service.to_string().into_boxed_str());
    Signer { access_key_id: "AKIAALICE00000000001", secret: "alice-secret", session_token: None, region, service, time: SystemTime::now() }
}

/// Sends `TrentService.<op>` with `body`, signing `signed` of its headers (`host`, `content-type`,
/// `x-amz-target` by name) and sending `extra` unsigned; returns status and JSON body.
async fn kms_call(s: &Server, signer: &Signer<'_>, op: &str, body: &str, signed: &[&str], extra: &[(&str, &str)]) -> (u16, Value) {
    let host = s.addr.to_string();
    let target = format!("TrentService.{op}");
    let all = [("host", host.as_str()), ("content-type", "application/x-amz-json-1.1"), ("x-amz-target", target.as_str())];
    let to_sign: Vec<(&str, &str)> = all.iter().copied().filter(|(n, _)| signed.contains(n)).collect();
    // The URI names the host, so aws-sigv4 can sign a request that leaves `host` out.
    let added = signer.sign("POST", &format!("http://{host}/"), &to_sign, body.as_bytes());
    let mut headers: Vec<(&str, &str)> = all.iter().copied().filter(|(n, _)| *n != "host").collect();
    headers.extend(added.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    headers.extend_from_slice(extra);
    let (status, text) = raw_http(s.addr, "POST", "/", &headers, body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

const ALL: &[&str] = &["host", "content-type", "x-amz-target"];

#[tokio::test]
async fn the_scope_must_fit_the_api_region_and_date() {
    let s = strict().await;
    let (status, v) = kms_call(&s, &alice("us-east-1", "kms"), "ListKeys", "{}", ALL, &[]).await;
    assert_eq!(status, 200, "{v}");

    let (status, v) = kms_call(&s, &alice("us-east-1", "cloudtrail"), "ListKeys", "{}", ALL, &[]).await;
    assert_eq!((status, v["__type"].as_str()), (400, Some("InvalidSignatureException")));
    assert_eq!(v["message"], "Credential should be scoped to correct service: 'kms'. ");

    for region in ["<script>", "..", "US-EAST-1", "us-east-1x"] {
        let (status, v) = kms_call(&s, &alice(region, "kms"), "CreateKey", "{}", ALL, &[]).await;
        assert_eq!((status, v["__type"].as_str()), (400, Some("InvalidSignatureException")), "{region}");
        assert_eq!(v["message"], format!("Credential should be scoped to a valid region, not '{region}'. "));
    }

    // A scope dated another day than X-Amz-Date (the date the signature was computed for).
    let host = s.addr.to_string();
    let signer = alice("us-east-1", "kms");
    let signed = signer.sign("POST", "/", &[("host", &host), ("x-amz-target", "TrentService.ListKeys")], b"{}");
    let auth = signed.iter().find(|(k, _)| k == "authorization").unwrap().1.clone();
    let date = signed.iter().find(|(k, _)| k == "x-amz-date").unwrap().1.clone();
    let day = &date[..8];
    let other_day = if day.ends_with('1') { format!("{}2", &day[..7]) } else { format!("{}1", &day[..7]) };
    let moved = auth.replace(&format!("/{day}/"), &format!("/{other_day}/"));
    let headers = [("x-amz-target", "TrentService.ListKeys"), ("x-amz-date", date.as_str()), ("authorization", moved.as_str())];
    let (status, text) = raw_http(s.addr, "POST", "/", &headers, "{}").await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((status, v["__type"].as_str()), (400, Some("InvalidSignatureException")));
    assert_eq!(
        v["message"],
        format!("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{other_day}' != '{day}', from '{date}'. ")
    );

    // CloudTrail's scope is `cloudtrail`: a request signed for `kms` is refused there.
    let target = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails";
    let signed = alice("us-east-1", "kms").sign("POST", "/", &[("host", &host), ("x-amz-target", target)], b"{}");
    let mut headers: Vec<(&str, &str)> = vec![("x-amz-target", target)];
    headers.extend(signed.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let (status, text) = raw_http(s.addr, "POST", "/", &headers, "{}").await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("Credential should be scoped to correct service: 'cloudtrail'. "), "{text}");

    // Without --verify-signatures the scope is checked all the same: no key lands in `<script>`.
    let open = Server::start().await;
    let (status, v) = kms_call(&open, &alice("<script>", "kms"), "CreateKey", "{}", ALL, &[]).await;
    assert_eq!((status, v["__type"].as_str()), (400, Some("InvalidSignatureException")));
    assert!(open.app.kms.store.all_keys().is_empty());
    assert!(open.all_events().await.is_empty(), "refused before identification: no record");
    assert_eq!(s.all_event_names().await, ["ListKeys"], "only the well-signed call was recorded");
}

#[tokio::test]
async fn unsigned_amz_headers_are_refused_so_a_capture_cannot_be_replayed() {
    let s = strict().await;
    let signer = alice("us-east-1", "kms");
    let describe = format!(r#"{{"KeyId":"{KEY}"}}"#);
    // Signed without X-Amz-Target: the target could be swapped for any other operation.
    let (status, v) = kms_call(&s, &signer, "ScheduleKeyDeletion", &describe, &["host", "content-type"], &[]).await;
    assert_eq!((status, v["__type"].as_str()), (400, Some("InvalidSignatureException")), "{v}");
    assert_eq!(v["message"], "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.");
    // Any other x-amz-* header must be signed too.
    let (status, v) = kms_call(&s, &signer, "DescribeKey", &describe, ALL, &[("x-amz-extra", "1")]).await;
    assert_eq!(status, 400);
    assert_eq!(v["message"], "'X-Amz-Extra' must be a 'SignedHeader' in the AWS Authorization.");
    // aws-sigv4 always signs the host; a header that leaves it out is written by hand.
    let date = signer.sign("POST", &format!("http://{}/", s.addr), &[], b"").into_iter().find(|(k, _)| k == "x-amz-date").unwrap().1;
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=AKIAALICE00000000001/{}/us-east-1/kms/aws4_request, SignedHeaders=x-amz-date;x-amz-target, Signature=00",
        &date[..8]
    );
    let headers = [("x-amz-target", "TrentService.DescribeKey"), ("x-amz-date", date.as_str()), ("authorization", auth.as_str())];
    let (status, text) = raw_http(s.addr, "POST", "/", &headers, &describe).await;
    assert_eq!(status, 400);
    assert!(text.contains("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."), "{text}");

    // A fully signed DescribeKey, captured and replayed with another target, no longer matches.
    let host = s.addr.to_string();
    let signed = signer.sign("POST", "/", &[("host", &host), ("x-amz-target", "TrentService.DescribeKey")], describe.as_bytes());
    let mut headers: Vec<(&str, &str)> = vec![("x-amz-target", "TrentService.ScheduleKeyDeletion")];
    headers.extend(signed.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let (status, text) = raw_http(s.addr, "POST", "/", &headers, &describe).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("The request signature we calculated does not match"), "{text}");
    headers[0] = ("x-amz-target", "TrentService.DescribeKey");
    let (status, text) = raw_http(s.addr, "POST", "/", &headers, &describe).await;
    assert_eq!(status, 200, "the capture itself is valid: {text}");

    let key = s.app.kms.store.all_keys().into_iter().next().unwrap();
    assert_eq!(format!("{:?}", key.state), "Enabled", "nothing was scheduled for deletion");
    assert_eq!(s.all_event_names().await, ["DescribeKey"]);
}

#[tokio::test]
async fn role_sessions_need_their_session_token() {
    let s = strict().await;
    let session = |akid: &str, secret: &str, token: Option<&str>| {
        let creds = Credentials::new(akid, secret, token.map(str::to_string), None, "keytrail-tests");
        let conf = aws_sdk_kms::Config::builder()
            .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
            .endpoint_url(s.endpoint())
            .region(aws_sdk_kms::config::Region::new("us-east-1"))
            .credentials_provider(creds)
            .build();
        aws_sdk_kms::Client::from_conf(conf)
    };
    let ok = session("ASIAAPPCI00000000001", "ci-secret", Some("ci-session-token-0001"));
    ok.describe_key().key_id(KEY).send().await.expect("the session with its token");
    for (token, why) in [(None, "no token"), (Some("ci-session-token-0002"), "another token"), (Some("ci-session-token-000"), "a prefix")] {
        let f = failure(session("ASIAAPPCI00000000001", "ci-secret", token).describe_key().key_id(KEY).send().await.unwrap_err());
        assert_eq!(f.code, "UnrecognizedClientException", "{why}");
        assert_eq!(f.message, "The security token included in the request is invalid.", "{why}");
    }
    // A long-term key takes no token, and a session configured without one cannot be used.
    let f = failure(session("AKIAALICE00000000001", "alice-secret", Some("x")).list_keys().send().await.unwrap_err());
    assert_eq!(f.code, "UnrecognizedClientException");
    for token in [None, Some("anything")] {
        let f = failure(session("ASIAAPPOLD0000000001", "old-secret", token).list_keys().send().await.unwrap_err());
        assert_eq!(f.code, "UnrecognizedClientException", "{token:?}");
    }
    // The token must be signed like any x-amz-* header.
    let mut signer = alice("us-east-1", "kms");
    signer.access_key_id = "ASIAAPPCI00000000001";
    signer.secret = "ci-secret";
    let (status, v) = kms_call(&s, &signer, "ListKeys", "{}", ALL, &[("x-amz-security-token", "ci-session-token-0001")]).await;
    assert_eq!(status, 400);
    assert_eq!(v["message"], "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.");
    assert_eq!(s.all_event_names().await, ["DescribeKey"]);
    // Without --verify-signatures nothing about a request is checked, the token neither.
    let open = Server::start_with(Options::from_config(&config()).unwrap()).await;
    let unverified = {
        let creds = Credentials::new("ASIAAPPOLD0000000001", "old-secret", None, None, "keytrail-tests");
        let conf = aws_sdk_kms::Config::builder()
            .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
            .endpoint_url(open.endpoint())
            .region(aws_sdk_kms::config::Region::new("us-east-1"))
            .credentials_provider(creds)
            .build();
        aws_sdk_kms::Client::from_conf(conf)
    };
    unverified.list_keys().send().await.expect("unverified mode");
}
