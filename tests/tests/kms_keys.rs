//! Keys themselves: CreateKey, DescribeKey, ListKeys (with Limit/Marker), UpdateKeyDescription,
//! the four ways of naming a key, region and account scoping, and operations keytrail answers
//! with UnsupportedOperationException.

use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{EncryptionAlgorithmSpec, KeyManagerType, KeySpec, KeyState, KeyUsageType, OriginType, SigningAlgorithmSpec, Tag};
use aws_sdk_kms::Client;
use keytrail_tests::{assert_api_record_shape, failure, raw_http, Server};
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const OTHER_ACCOUNT: &str = "444455556666";

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.bytes().all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Deprecated in the API but still returned by KMS, next to KeySpec.
#[allow(deprecated)]
fn customer_master_key_spec(md: &aws_sdk_kms::types::KeyMetadata) -> &str {
    md.customer_master_key_spec().map(|s| s.as_str()).unwrap_or_default()
}

async fn new_key(kms: &Client) -> (String, String) {
    let md = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    (md.key_id, md.arn.unwrap())
}

#[tokio::test]
async fn create_key_returns_full_metadata_and_describe_key_accepts_all_four_references() {
    let s = Server::start().await;
    let kms = s.kms();
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let out = kms
        .create_key()
        .description("orders database")
        .tags(Tag::builder().tag_key("team").tag_value("payments").build().unwrap())
        .send()
        .await
        .unwrap();
    let md = out.key_metadata().unwrap();
    let id = md.key_id().to_string();
    let arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{id}");
    assert!(is_uuid(&id), "key id {id}");
    assert_eq!(md.arn(), Some(arn.as_str()));
    assert_eq!(md.aws_account_id(), Some(ACCOUNT));
    assert_eq!(md.description(), Some("orders database"));
    assert!(md.enabled());
    assert_eq!(md.key_state(), Some(&KeyState::Enabled));
    assert_eq!(md.key_usage(), Some(&KeyUsageType::EncryptDecrypt));
    assert_eq!(md.key_spec(), Some(&KeySpec::SymmetricDefault));
    assert_eq!(customer_master_key_spec(md), "SYMMETRIC_DEFAULT");
    assert_eq!(md.origin(), Some(&OriginType::AwsKms));
    assert_eq!(md.key_manager(), Some(&KeyManagerType::Customer));
    assert_eq!(md.encryption_algorithms(), [EncryptionAlgorithmSpec::SymmetricDefault]);
    assert_eq!(md.multi_region(), Some(false));
    assert!(md.deletion_date().is_none());
    let created = md.creation_date().unwrap().as_secs_f64();
    assert!((created - before).abs() < 60.0, "creation date {created} vs now {before}");

    let record = s.record_of(out.request_id().unwrap()).await;
    assert_api_record_shape(&record);
    assert_eq!(record["eventName"], "CreateKey");
    assert_eq!(
        record["requestParameters"],
        json!({
            "description": "orders database",
            "tags": [{"tagKey": "team", "tagValue": "payments"}],
            "keyUsage": "ENCRYPT_DECRYPT",
            "keySpec": "SYMMETRIC_DEFAULT",
            "customerMasterKeySpec": "SYMMETRIC_DEFAULT",
            "origin": "AWS_KMS",
            "bypassPolicyLockoutSafetyCheck": false,
            "multiRegion": false,
        })
    );
    assert_eq!(record["responseElements"]["keyMetadata"]["arn"], arn.as_str());
    assert_eq!(record["resources"], json!([{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": arn}]));

    kms.create_alias().alias_name("alias/orders").target_key_id(&id).send().await.unwrap();
    let alias_arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/orders");
    for reference in [id.as_str(), arn.as_str(), "alias/orders", alias_arn.as_str()] {
        let out = kms.describe_key().key_id(reference).send().await.unwrap();
        let md = out.key_metadata().unwrap();
        assert_eq!(md.arn(), Some(arn.as_str()), "DescribeKey {reference}");
        assert_eq!(md.description(), Some("orders database"));
        let r = s.record_of(out.request_id().unwrap()).await;
        assert_api_record_shape(&r);
        assert_eq!(r["requestParameters"], json!({ "keyId": reference }));
        assert_eq!(r["responseElements"], Value::Null);
        assert_eq!(r["readOnly"], true);
        assert_eq!(r["resources"][0]["ARN"], arn.as_str(), "resources show the resolved key for {reference}");
    }
}

#[tokio::test]
async fn create_key_options_and_errors() {
    let s = Server::start().await;
    let kms = s.kms();

    // Origin EXTERNAL: a key waiting for imported material, unusable until then.
    let md = kms.create_key().origin(OriginType::External).send().await.unwrap().key_metadata.unwrap();
    assert_eq!(md.key_state(), Some(&KeyState::PendingImport));
    assert!(!md.enabled());
    assert_eq!(md.origin(), Some(&OriginType::External));
    let f = failure(kms.encrypt().key_id(&md.key_id).plaintext(Blob::new("x")).send().await.unwrap_err());
    assert_eq!(f.code, "KMSInvalidStateException");

    // Explicit KeySpec/KeyUsage that keytrail supports.
    kms.create_key()
        .key_spec(KeySpec::SymmetricDefault)
        .key_usage(KeyUsageType::EncryptDecrypt)
        .send()
        .await
        .expect("symmetric key with explicit spec");

    let cases: Vec<(Result<_, _>, &str, &str)> = vec![
        (kms.create_key().description("d".repeat(8193)).send().await, "ValidationException", "description"),
        (kms.create_key().key_usage(KeyUsageType::SignVerify).send().await, "ValidationException", "SIGN_VERIFY"),
        (
            kms.create_key().key_spec(KeySpec::EccNistP256).key_usage(KeyUsageType::EncryptDecrypt).send().await,
            "ValidationException",
            "ECC_NIST_P256",
        ),
        (kms.create_key().key_spec(KeySpec::from("AES_999")).send().await, "ValidationException", "keySpec"),
        (
            kms.create_key().tags(Tag::builder().tag_key("aws:reserved").tag_value("x").build().unwrap()).send().await,
            "TagException",
            "aws:",
        ),
        (kms.create_key().custom_key_store_id("cks-1234567890abcdef0").send().await, "UnsupportedOperationException", "custom key store"),
        (kms.create_key().policy("not json").send().await, "MalformedPolicyDocumentException", ""),
    ];
    for (result, code, needle) in cases {
        let f = failure(result.unwrap_err());
        assert_eq!(f.code, code, "{f:?}");
        assert!(f.message.contains(needle), "message {:?} should mention {needle}", f.message);
        let r = s.record_of(&f.request_id).await;
        assert_api_record_shape(&r);
        assert_eq!(r["eventName"], "CreateKey");
        assert_eq!(r["errorCode"], code);
        assert_eq!(r["errorMessage"], f.message.as_str());
        assert_eq!(r["responseElements"], Value::Null);
        assert!(r.get("resources").is_none(), "a key that was not created is not a resource: {r}");
    }
    let keys = kms.list_keys().send().await.unwrap();
    assert_eq!(keys.keys().len(), 2, "failed CreateKey calls create nothing");
}

#[tokio::test]
async fn describe_key_errors_name_what_was_not_found() {
    let s = Server::start().await;
    let kms = s.kms();
    let missing = "00000000-0000-4000-8000-000000000000";
    let cases = [
        (missing.to_string(), "NotFoundException", format!("Key 'arn:aws:kms:us-east-1:{ACCOUNT}:key/{missing}' does not exist")),
        (
            format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{missing}"),
            "NotFoundException",
            format!("Key 'arn:aws:kms:us-east-1:{ACCOUNT}:key/{missing}' does not exist"),
        ),
        (
            "alias/nothing-here".to_string(),
            "NotFoundException",
            format!("Alias arn:aws:kms:us-east-1:{ACCOUNT}:alias/nothing-here is not found."),
        ),
        (
            format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/nothing-here"),
            "NotFoundException",
            format!("Alias arn:aws:kms:us-east-1:{ACCOUNT}:alias/nothing-here is not found."),
        ),
        (
            "arn:aws:kms:us-east-1:1234:key/abc".to_string(),
            "InvalidArnException",
            "ARN arn:aws:kms:us-east-1:1234:key/abc is not a valid KMS key or alias ARN.".to_string(),
        ),
        (
            "".to_string(),
            "ValidationException",
            "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1".to_string(),
        ),
    ];
    for (key_id, code, message) in cases {
        let f = failure(kms.describe_key().key_id(&key_id).send().await.unwrap_err());
        assert_eq!((f.code.as_str(), f.message.as_str()), (code, message.as_str()), "DescribeKey {key_id:?}");
        let r = s.record_of(&f.request_id).await;
        assert_api_record_shape(&r);
        assert_eq!(r["errorCode"], code);
        assert_eq!(r["errorMessage"], message.as_str());
        assert!(r.get("resources").is_none(), "nothing resolved, no resources: {r}");
    }
}

#[tokio::test]
async fn list_keys_pages_with_limit_and_marker() {
    let s = Server::start().await;
    let kms = s.kms();
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(new_key(&kms).await);
    }
    let all = kms.list_keys().send().await.unwrap();
    assert!(!all.truncated());
    assert!(all.next_marker().is_none());
    let listed: Vec<(String, String)> =
        all.keys().iter().map(|k| (k.key_id().unwrap().to_string(), k.key_arn().unwrap().to_string())).collect();
    assert_eq!(listed, created, "all keys, in creation order");

    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    let mut pages = 0;
    loop {
        let out = kms.list_keys().limit(2).set_marker(marker.clone()).send().await.unwrap();
        pages += 1;
        assert!(out.keys().len() <= 2);
        seen.extend(out.keys().iter().map(|k| k.key_id().unwrap().to_string()));
        let r = s.record_of(out.request_id().unwrap()).await;
        assert_api_record_shape(&r);
        let mut expected = json!({ "limit": 2 });
        if let Some(m) = &marker {
            expected["marker"] = json!(m);
        }
        assert_eq!(r["requestParameters"], expected);
        assert_eq!(r["responseElements"], Value::Null);
        assert!(r.get("resources").is_none(), "ListKeys is not about one key: {r}");
        assert_eq!(out.truncated(), out.next_marker().is_some());
        match out.next_marker() {
            Some(m) => marker = Some(m.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>());

    // The SDK's paginator walks the same pages.
    let via_paginator: Vec<String> = kms
        .list_keys()
        .limit(3)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.key_id.unwrap())
        .collect();
    assert_eq!(via_paginator, seen);

    for (limit, marker, code) in [
        (Some(0), None, "ValidationException"),
        (Some(1001), None, "ValidationException"),
        (None, Some("not-a-marker"), "InvalidMarkerException"),
    ] {
        let f = failure(kms.list_keys().set_limit(limit).set_marker(marker.map(String::from)).send().await.unwrap_err());
        assert_eq!(f.code, code, "{f:?}");
        assert_eq!(s.record_of(&f.request_id).await["errorCode"], code);
    }
    // A marker of another list is not a ListKeys marker.
    for _ in 0..3 {
        let (id, _) = new_key(&kms).await;
        kms.create_alias().alias_name(format!("alias/k{}", &id[..8])).target_key_id(id).send().await.unwrap();
    }
    let alias_marker = kms.list_aliases().limit(1).send().await.unwrap().next_marker.unwrap();
    let f = failure(kms.list_keys().marker(alias_marker).send().await.unwrap_err());
    assert_eq!(f.code, "InvalidMarkerException");
}

#[tokio::test]
async fn keys_are_regional() {
    let s = Server::start().await;
    let east = s.kms();
    let west = s.kms_as("AKIAIOSFODNN7EXAMPLE", "secret", "eu-west-1");
    let (id, arn) = new_key(&east).await;
    east.create_alias().alias_name("alias/regional").target_key_id(&id).send().await.unwrap();
    let ct = east.encrypt().key_id(&id).plaintext(Blob::new("regional")).send().await.unwrap().ciphertext_blob.unwrap();

    let west_arn = format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/{id}");
    for reference in [id.as_str(), arn.as_str(), "alias/regional"] {
        let f = failure(west.describe_key().key_id(reference).send().await.unwrap_err());
        assert_eq!(f.code, "NotFoundException", "{reference} from eu-west-1: {f:?}");
        let r = s.record_of(&f.request_id).await;
        assert_eq!(r["awsRegion"], "eu-west-1");
    }
    let f = failure(west.describe_key().key_id(&id).send().await.unwrap_err());
    assert!(f.message.contains(&west_arn), "a bare key id means a key of the caller's region: {}", f.message);
    let f = failure(west.decrypt().ciphertext_blob(ct.clone()).send().await.unwrap_err());
    assert_eq!(f.code, "InvalidCiphertextException", "a ciphertext of another region is not one this region can open");
    assert!(west.list_keys().send().await.unwrap().keys().is_empty());
    assert!(west.list_aliases().send().await.unwrap().aliases().is_empty());

    // eu-west-1 has its own keys; us-east-1 does not see them.
    let (west_id, west_key_arn) = new_key(&west).await;
    assert!(west_key_arn.starts_with(&format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/")));
    let east_ids: Vec<String> = east.list_keys().send().await.unwrap().keys().iter().map(|k| k.key_id().unwrap().to_string()).collect();
    assert_eq!(east_ids, std::slice::from_ref(&id));
    assert!(!east_ids.contains(&west_id));
    let r = s.last_event().await;
    assert_eq!(r["eventName"], "ListKeys");
    assert_eq!(r["awsRegion"], "us-east-1");
    let created_west = s.events("eventName=CreateKey").await.pop().unwrap();
    assert_eq!(created_west["awsRegion"], "eu-west-1");
    assert_eq!(created_west["resources"][0]["ARN"], west_key_arn.as_str());
    // Still decryptable at home.
    let plain = east.decrypt().ciphertext_blob(ct).send().await.unwrap().plaintext.unwrap();
    assert_eq!(plain.as_ref(), b"regional");
}

#[tokio::test]
async fn unknown_twelve_digit_access_key_is_the_root_of_that_account() {
    let s = Server::start().await;
    let default = s.kms();
    let other = s.kms_as(OTHER_ACCOUNT, "any-secret", "us-east-1");
    let out = other.create_key().description("other account").send().await.unwrap();
    let md = out.key_metadata().unwrap();
    assert_eq!(md.aws_account_id(), Some(OTHER_ACCOUNT));
    assert!(md.arn().unwrap().starts_with(&format!("arn:aws:kms:us-east-1:{OTHER_ACCOUNT}:key/")));
    let r = s.record_of(out.request_id().unwrap()).await;
    assert_eq!(
        r["userIdentity"],
        json!({
            "type": "Root",
            "principalId": OTHER_ACCOUNT,
            "arn": format!("arn:aws:iam::{OTHER_ACCOUNT}:root"),
            "accountId": OTHER_ACCOUNT,
            "accessKeyId": OTHER_ACCOUNT,
        })
    );
    assert_eq!(r["recipientAccountId"], OTHER_ACCOUNT);
    assert_eq!(r["resources"][0]["accountId"], OTHER_ACCOUNT);
    assert!(r.get("sharedEventID").is_none(), "a same-account call has one copy: {r}");
    assert_eq!(s.records_of(out.request_id().unwrap()).await.len(), 1);

    // Keys are per account: the default account neither lists nor finds it by id.
    let (mine, _) = new_key(&default).await;
    let ids = |out: aws_sdk_kms::operation::list_keys::ListKeysOutput| {
        out.keys().iter().map(|k| k.key_id().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(ids(default.list_keys().send().await.unwrap()), std::slice::from_ref(&mine));
    assert_eq!(ids(other.list_keys().send().await.unwrap()), [md.key_id().to_string()]);
    let f = failure(default.describe_key().key_id(md.key_id()).send().await.unwrap_err());
    assert_eq!(f.code, "NotFoundException");
    let f = failure(other.describe_key().key_id(&mine).send().await.unwrap_err());
    assert_eq!(f.code, "NotFoundException");

    // Any other unknown access key is the root of the default account.
    let someone = s.kms_as("AKIAUNKNOWNEXAMPLE00", "x", "us-east-1");
    assert_eq!(ids(someone.list_keys().send().await.unwrap()), [mine]);
    let r = s.last_event().await;
    assert_eq!(r["userIdentity"]["type"], "Root");
    assert_eq!(r["userIdentity"]["accountId"], ACCOUNT);
    assert_eq!(r["userIdentity"]["arn"], format!("arn:aws:iam::{ACCOUNT}:root"));
    assert_eq!(r["userIdentity"]["accessKeyId"], "AKIAUNKNOWNEXAMPLE00");
}

#[tokio::test]
async fn update_key_description_takes_key_id_or_arn_only() {
    let s = Server::start().await;
    let kms = s.kms();
    let (id, arn) = new_key(&kms).await;
    kms.create_alias().alias_name("alias/described").target_key_id(&id).send().await.unwrap();
    for (reference, text) in [(id.as_str(), "first"), (arn.as_str(), "second")] {
        let out = kms.update_key_description().key_id(reference).description(text).send().await.unwrap();
        let md = kms.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap();
        assert_eq!(md.description(), Some(text));
        let r = s.record_of(out.request_id().unwrap()).await;
        assert_api_record_shape(&r);
        assert_eq!(r["readOnly"], false);
        assert_eq!(r["requestParameters"], json!({ "keyId": reference, "description": text }));
        assert_eq!(r["responseElements"], json!({ "keyId": arn }));
        assert_eq!(r["resources"][0]["ARN"], arn.as_str());
    }
    // An empty description is allowed (0..=8192 characters).
    kms.update_key_description().key_id(&id).description("").send().await.unwrap();
    // Key-management operations take key ids and key ARNs, not aliases.
    let f = failure(kms.update_key_description().key_id("alias/described").description("x").send().await.unwrap_err());
    assert_eq!(f.code, "NotFoundException");
    let f = failure(kms.update_key_description().key_id(&id).description("x".repeat(8193)).send().await.unwrap_err());
    assert_eq!(f.code, "ValidationException");
}

#[tokio::test]
async fn operations_keytrail_lacks_answer_unsupported_operation_naming_them() {
    let s = Server::start().await;
    let kms = s.kms();
    let (id, arn) = new_key(&kms).await;

    // Sign with a symmetric key: the operation exists, the key cannot do it.
    let sign =
        kms.sign().key_id(&id).message(Blob::new("message to sign")).signing_algorithm(SigningAlgorithmSpec::EcdsaSha256).send().await;
    let f = failure(sign.unwrap_err());
    assert_eq!(f.code, "InvalidKeyUsageException");
    assert!(f.message.contains("Sign"), "{}", f.message);
    let r = s.record_of(&f.request_id).await;
    assert_api_record_shape(&r);
    assert_eq!(r["eventName"], "Sign");
    assert_eq!(r["readOnly"], true);
    assert_eq!(r["errorCode"], "InvalidKeyUsageException");
    assert_eq!(r["requestParameters"], json!({"keyId": id, "signingAlgorithm": "ECDSA_SHA_256", "messageType": "RAW"}), "message left out");

    let others = [
        (
            "GetParametersForImport",
            failure(
                kms.get_parameters_for_import()
                    .key_id(&id)
                    .wrapping_algorithm(aws_sdk_kms::types::AlgorithmSpec::RsaesOaepSha256)
                    .wrapping_key_spec(aws_sdk_kms::types::WrappingKeySpec::Rsa2048)
                    .send()
                    .await
                    .unwrap_err(),
            ),
        ),
        ("ReplicateKey", failure(kms.replicate_key().key_id(&arn).replica_region("eu-west-1").send().await.unwrap_err())),
        ("DescribeCustomKeyStores", failure(kms.describe_custom_key_stores().send().await.unwrap_err())),
    ];
    for (op, f) in others {
        assert_eq!(f.code, "UnsupportedOperationException", "{op}: {f:?}");
        assert!(f.message.contains(op), "{op}: {}", f.message);
        let r = s.record_of(&f.request_id).await;
        assert_eq!(r["eventName"], op);
        assert_eq!(r["errorCode"], "UnsupportedOperationException");
        assert_api_record_shape(&r);
    }

    // A name that is not a KMS operation at all.
    let (status, body) = raw_http(
        s.addr,
        "POST",
        "/",
        &[
            ("x-amz-target", "TrentService.MakeCoffee"),
            ("content-type", "application/x-amz-json-1.1"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00",
            ),
        ],
        "{}",
    )
    .await;
    assert_eq!(status, 400);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["__type"], "UnknownOperationException");
}
