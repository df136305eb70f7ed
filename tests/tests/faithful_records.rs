//! Every call that runs leaves its members in its record: a body keytrail cannot record whole is
//! refused (`SerializationException`) before anything runs; secrets are removed at any depth as
//! the botocore model says (custom key store passwords, nested XKS credentials); RetireGrant
//! records `requestParameters: null`, as AWS does (its input may be the grant token itself).

use aws_sdk_kms::types::{GrantOperation, XksProxyAuthenticationCredentialType};
use keytrail_tests::{raw_http, Server};
use serde_json::{json, Value};

const AUTH: &str =
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-target, Signature=00";

async fn kms_raw(s: &Server, op: &str, body: &str) -> (u16, Value) {
    let target = format!("TrentService.{op}");
    let headers = [("x-amz-target", target.as_str()), ("content-type", "application/x-amz-json-1.1"), ("authorization", AUTH)];
    let (status, text) = raw_http(s.addr, "POST", "/", &headers, body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The issue's case: a PutKeyPolicy making a key public, with an unknown member nested deeper
/// than serde_json's recursion limit. It used to run and leave `requestParameters: null`.
#[tokio::test]
async fn a_body_that_cannot_be_recorded_whole_is_refused_before_it_runs() {
    let s = Server::start().await;
    let kms = s.kms();
    let key = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let before = kms.get_key_policy().key_id(&key).send().await.unwrap().policy.unwrap();
    let public = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]}"#;
    let deep = format!("{}1{}", r#"{"a":"#.repeat(200), "}".repeat(200));
    let body = json!({"KeyId": key, "PolicyName": "default", "Policy": public}).to_string();
    let with = |extra: &str| format!("{},\"Padding\":{extra}}}", &body[..body.len() - 1]);

    let (status, v) = kms_raw(&s, "PutKeyPolicy", &with(&deep)).await;
    assert_eq!((status, v["__type"].as_str()), (400, Some("SerializationException")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("128 levels"), "{v}");
    assert_eq!(kms.get_key_policy().key_id(&key).send().await.unwrap().policy.unwrap(), before, "the policy did not change");
    let refused = s.events("eventName=PutKeyPolicy").await;
    assert_eq!(refused.len(), 1, "the refusal is recorded");
    assert_eq!(refused[0]["errorCode"], "SerializationException");
    assert_eq!(refused[0]["requestParameters"], Value::Null);

    // The same, nested shallowly enough to be recorded: it runs, and its record shows all of it.
    let (status, v) = kms_raw(&s, "PutKeyPolicy", &with(r#"{"a":{"b":[1,{"c":null}]}}"#)).await;
    assert_eq!(status, 200, "{v}");
    let done = s.events("eventName=PutKeyPolicy").await;
    assert_eq!(
        done[1]["requestParameters"],
        json!({"keyId": key, "policyName": "default", "policy": public, "padding": {"a": {"b": [1, {"c": null}]}}, "bypassPolicyLockoutSafetyCheck": false})
    );

    // Not an object, or a number no JSON value holds: refused as well, for CloudTrail too.
    for body in ["[1]", "\"text\"", &format!(r#"{{"KeyId":"{key}","Limit":1e400}}"#)] {
        let (status, v) = kms_raw(&s, "DescribeKey", body).await;
        assert_eq!((status, v["__type"].as_str()), (400, Some("SerializationException")), "{body}");
    }
    let ct_auth = AUTH.replace("/kms/", "/cloudtrail/");
    let ct_headers = [
        ("x-amz-target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.CreateTrail"),
        ("content-type", "application/x-amz-json-1.1"),
        ("authorization", ct_auth.as_str()),
    ];
    let (status, text) =
        raw_http(s.addr, "POST", "/", &ct_headers, &format!(r#"{{"Name":"t","S3BucketName":"logs","Tags":{deep}}}"#)).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("SerializationException"), "{text}");
    assert!(s.app.cloudtrail.trails.snapshot().is_empty(), "no trail was created");
}

#[tokio::test]
async fn custom_key_store_passwords_and_nested_credentials_are_never_recorded() {
    let s = Server::start().await;
    let kms = s.kms();
    let cred = XksProxyAuthenticationCredentialType::builder()
        .access_key_id("XKSACCESSKEYSECRET0000001")
        .raw_secret_access_key("XKS-RAW-SECRET-ACCESS-KEY-000000000000000")
        .build()
        .unwrap();
    // keytrail does not serve custom key stores yet: the calls fail, and are recorded all the same.
    let _ = kms
        .create_custom_key_store()
        .custom_key_store_name("xks")
        .custom_key_store_type(aws_sdk_kms::types::CustomKeyStoreType::ExternalKeyStore)
        .xks_proxy_uri_endpoint("https://xks.example.com")
        .xks_proxy_uri_path("/kms/xks/v1")
        .xks_proxy_connectivity(aws_sdk_kms::types::XksProxyConnectivityType::PublicEndpoint)
        .xks_proxy_authentication_credential(cred.clone())
        .key_store_password("KEY-STORE-PASSWORD-SECRET")
        .send()
        .await;
    let _ = kms
        .update_custom_key_store()
        .custom_key_store_id("cks-1234567890abcdef0")
        .key_store_password("KEY-STORE-PASSWORD-SECRET")
        .xks_proxy_authentication_credential(cred)
        .send()
        .await;
    let records = s.all_events().await;
    assert_eq!(keytrail_tests::event_names(&records), ["CreateCustomKeyStore", "UpdateCustomKeyStore"]);
    let text = serde_json::to_string(&records).unwrap();
    for secret in ["KEY-STORE-PASSWORD-SECRET", "XKSACCESSKEYSECRET0000001", "XKS-RAW-SECRET-ACCESS-KEY"] {
        assert!(!text.contains(secret), "{secret} recorded: {text}");
    }
    assert_eq!(records[0]["requestParameters"]["xksProxyAuthenticationCredential"], json!({}), "the member is there, its secrets are not");
    assert_eq!(records[0]["requestParameters"]["xksProxyUriPath"], "/kms/xks/v1");
}

#[tokio::test]
async fn retire_grant_records_null() {
    let s = Server::start().await;
    let kms = s.kms();
    let key = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let grant = kms
        .create_grant()
        .key_id(&key)
        .grantee_principal("arn:aws:iam::111122223333:root")
        .retiring_principal("arn:aws:iam::111122223333:root")
        .operations(GrantOperation::Decrypt)
        .send()
        .await
        .unwrap();
    let token = grant.grant_token.unwrap();
    kms.retire_grant().grant_token(&token).send().await.unwrap();
    let create = s.events("eventName=CreateGrant").await.remove(0);
    assert!(!serde_json::to_string(&create).unwrap().contains(&token), "CreateGrant's record has no grant token");
    let retire = s.events("eventName=RetireGrant").await.remove(0);
    assert_eq!(retire["requestParameters"], Value::Null, "{retire}");
    assert!(!serde_json::to_string(&retire).unwrap().contains(&token));
    assert!(retire["resources"][0]["ARN"].as_str().unwrap().ends_with(&key), "the key is still named");
}
