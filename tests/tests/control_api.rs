//! The control API's refusals: a browser page on another origin cannot reset keytrail or move its
//! clock (an `Origin` that is not the `Host`: 403; a "simple" `text/plain` or form POST: 415), and
//! with `--strict-credentials` nothing but health (and the console's static files) answers
//! without the control token or a signed request from an allowed principal. Refused requests
//! change nothing.

use std::time::SystemTime;

use keytrail_server::Options;
use keytrail_tests::signing::Signer;
use keytrail_tests::{raw_http, Server};
use serde_json::Value;

const TOKEN: &str = "control-token-for-the-tests";

fn config() -> String {
    let user = |name: &str, akid: &str| {
        format!(
            "[[users]]\naccount = \"111122223333\"\nname = \"{name}\"\naccess_key_id = \"{akid}\"\nsecret_access_key = \"{name}-secret\"\n\
             policies = ['{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":\"kms:*\",\"Resource\":\"*\"}}]}}']\n"
        )
    };
    format!(
        "control_token = \"{TOKEN}\"\ncontrol_principals = [\"arn:aws:iam::111122223333:user/admin\", \"arn:aws:iam::111122223333:role/ops\"]\n{}{}\
         [[roles]]\naccount = \"111122223333\"\nname = \"ops\"\n\
         sessions = [{{ name = \"night\", access_key_id = \"ASIAOPSNIGHT00000001\", secret_access_key = \"ops-secret\", session_token = \"ops-token\" }}]\n",
        user("admin", "AKIAADMIN00000000001"),
        user("dev", "AKIADEV0000000000001"),
    )
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

#[tokio::test]
async fn cross_origin_and_non_json_writes_are_refused_always() {
    let s = Server::start().await;
    let key = s.kms().create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let clock = s.control("GET", "/_keytrail/clock", None).await["now"].clone();
    let json_type = ("content-type", "application/json");
    let advance = r#"{"advanceSeconds":31536000}"#;

    for origin in ["http://evil.example", "null", "http://127.0.0.1:1", "https://localhost"] {
        let (status, text) = raw_http(s.addr, "POST", "/_keytrail/reset", &[json_type, ("origin", origin)], "").await;
        assert_eq!(status, 403, "{origin}: {text}");
        assert_eq!(json(&text)["__type"], "AccessDeniedException");
        let (status, _) = raw_http(s.addr, "POST", "/_keytrail/clock", &[json_type, ("origin", origin)], advance).await;
        assert_eq!(status, 403, "{origin}");
        let (status, _) = raw_http(s.addr, "GET", "/_keytrail/events", &[("origin", origin)], "").await;
        assert_eq!(status, 403, "{origin}");
    }
    let (status, _) = raw_http(s.addr, "POST", "/_keytrail/reset", &[json_type, ("sec-fetch-site", "cross-site")], "").await;
    assert_eq!(status, 403, "a cross-site fetch without Origin");
    // A browser's "simple" POSTs: text/plain, a form, multipart, or no type at all.
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data; boundary=x"), None] {
        let headers: Vec<(&str, &str)> = content_type.map(|t| ("content-type", t)).into_iter().collect();
        let (status, text) = raw_http(s.addr, "POST", "/_keytrail/clock", &headers, advance).await;
        assert_eq!(status, 415, "{content_type:?}: {text}");
        assert_eq!(json(&text)["__type"], "UnsupportedMediaTypeException");
        let (status, _) = raw_http(s.addr, "POST", "/_keytrail/reset", &headers, "").await;
        assert_eq!(status, 415, "{content_type:?}");
    }
    let seconds = |v: &Value| {
        time::OffsetDateTime::parse(v.as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap().unix_timestamp()
    };
    let now = s.control("GET", "/_keytrail/clock", None).await["now"].clone();
    assert!(seconds(&now) - seconds(&clock) < 60, "the clock did not move: {clock} then {now}");
    assert_eq!(s.app.kms.store.all_keys().len(), 1, "nothing was reset");
    assert_eq!(s.all_event_names().await, ["CreateKey"]);

    // The same origin (a page served by keytrail, such as the console) may write, with JSON.
    let same = format!("http://{}", s.addr);
    let (status, text) =
        raw_http(s.addr, "POST", "/_keytrail/clock", &[("content-type", "application/json; charset=utf-8"), ("origin", &same)], advance)
            .await;
    assert_eq!(status, 200, "{text}");
    let (status, _) = raw_http(s.addr, "GET", "/_keytrail/events", &[("origin", &same), ("sec-fetch-site", "same-origin")], "").await;
    assert_eq!(status, 200);
    // Without strict credentials no token is needed.
    let (status, _) = raw_http(s.addr, "POST", "/_keytrail/reset", &[json_type], "").await;
    assert_eq!(status, 200);
    assert!(s.app.kms.store.all_keys().iter().all(|k| k.id != key));
}

#[tokio::test]
async fn strict_credentials_close_the_control_api_to_all_but_the_token_and_allowed_principals() {
    let mut options = Options::from_config(&config()).unwrap();
    options.strict_credentials = true;
    options.verify_signatures = true;
    let s = Server::start_with(options).await;
    let admin = s.kms_as("AKIAADMIN00000000001", "admin-secret", "us-east-1");
    admin.create_key().send().await.unwrap();
    let json_type = ("content-type", "application/json");
    let bearer = format!("Bearer {TOKEN}");

    // Open: health, and the console's static files (no route yet here: 404, not 403).
    let (status, _) = raw_http(s.addr, "GET", "/_keytrail/health", &[], "").await;
    assert_eq!(status, 200);
    let (status, _) = raw_http(s.addr, "GET", "/_keytrail/console/app.js", &[], "").await;
    assert_eq!(status, 404);
    // Closed without credentials: every other route, the console's data among them.
    for (method, path) in [
        ("GET", "/_keytrail/events"),
        ("GET", "/_keytrail/stats"),
        ("GET", "/_keytrail/clock"),
        ("POST", "/_keytrail/clock"),
        ("POST", "/_keytrail/reset"),
        ("GET", "/_keytrail/console/api/events"),
    ] {
        let (status, text) = raw_http(s.addr, method, path, &[json_type], r#"{"advanceSeconds":1}"#).await;
        assert_eq!(status, 403, "{method} {path}: {text}");
        assert_eq!(json(&text)["__type"], "AccessDeniedException");
        assert!(!text.contains(TOKEN));
    }
    for wrong in ["Bearer nope", "Bearer control-token-for-the-test", "Basic Y29udHJvbA=="] {
        let (status, _) = raw_http(s.addr, "POST", "/_keytrail/reset", &[json_type, ("authorization", wrong)], "").await;
        assert_eq!(status, 403, "{wrong}");
    }
    assert_eq!(s.app.kms.store.all_keys().len(), 1, "nothing was reset");

    // The token opens it.
    let (status, text) = raw_http(s.addr, "GET", "/_keytrail/events", &[("authorization", &bearer)], "").await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(json(&text)["Records"].as_array().map(Vec::len), Some(1));

    // So does a verified signature of an allowed principal, a user's or a session of an allowed role.
    let signed_get = |akid: &'static str, secret: &'static str, token: Option<&'static str>, path: &str| {
        let signer =
            Signer { access_key_id: akid, secret, session_token: token, region: "us-east-1", service: "keytrail", time: SystemTime::now() };
        let host = s.addr.to_string();
        signer.sign("GET", &format!("http://{host}{path}"), &[("host", &host)], b"")
    };
    let path = "/_keytrail/events?eventName=CreateKey";
    for (akid, secret, token) in [("AKIAADMIN00000000001", "admin-secret", None), ("ASIAOPSNIGHT00000001", "ops-secret", Some("ops-token"))]
    {
        let headers = signed_get(akid, secret, token, path);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (status, text) = raw_http(s.addr, "GET", path, &headers, "").await;
        assert_eq!(status, 200, "{akid}: {text}");
        assert_eq!(json(&text)["Records"].as_array().map(Vec::len), Some(1));
    }
    // A configured principal not in control_principals, a wrong secret, a signature for another path.
    for (akid, secret, signed_path) in [
        ("AKIADEV0000000000001", "dev-secret", path),
        ("AKIAADMIN00000000001", "wrong-secret", path),
        ("AKIAADMIN00000000001", "admin-secret", "/_keytrail/events"),
    ] {
        let headers = signed_get(akid, secret, None, signed_path);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (status, text) = raw_http(s.addr, "GET", path, &headers, "").await;
        assert_eq!(status, 403, "{akid} {signed_path}: {text}");
    }
    let (status, text) = raw_http(s.addr, "POST", "/_keytrail/reset", &[json_type, ("authorization", &bearer)], "").await;
    assert_eq!(status, 200, "{text}");
    assert!(s.app.kms.store.all_keys().is_empty());
}
