//! CloudTrail records compared field by field with AWS's published examples
//! (`tests/fixtures/cloudtrail-kms-examples/`), the generic record of every other operation,
//! failures, and `--events-out`.
//!
//! How a reference is compared: the example's placeholder key ids, alias names and region are
//! replaced by this run's; then what legitimately differs between a 2014–2025 documentation
//! example and a keytrail record made now by a local root caller is normalised in the
//! reference (see `normalise`): the caller's identity, times, ids, the current eventVersion,
//! fields added to CloudTrail since (managementEvent, eventCategory), no TLS, and the
//! post-December-2022 `responseElements.keyId` rule. After that the two records must be equal
//! as JSON values — every field, every value.

use std::path::PathBuf;

use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, OriginType, Tag};
use aws_sdk_kms::Client;
use keytrail_server::Options;
use keytrail_tests::{assert_api_record_shape, failure, Server};
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const ACCOUNT: &str = "111122223333";
const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
/// The key ids AWS's examples use.
const EXAMPLE_KEY: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const EXAMPLE_OTHER_KEY: &str = "0987dcba-09fe-87dc-65ba-ab0987654321";
const DAY: i64 = 86_400;

/// Top-level fields in AWS's order (cloudtrail-for-kms.md §1).
const FIELD_ORDER: &[&str] = &[
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
    "apiVersion",
    "managementEvent",
    "recipientAccountId",
    "sharedEventID",
    "vpcEndpointId",
    "serviceEventDetails",
    "eventCategory",
    "tlsDetails",
];

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/cloudtrail-kms-examples").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The example `name` with its placeholders replaced: key ids per `keys`, region `us-west-2` → `us-east-1`.
fn reference(name: &str, keys: &[(&str, &str)]) -> Value {
    let mut text = fixture(name).replace("us-west-2", "us-east-1");
    for (from, to) in keys {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.bytes().all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && parts[2].starts_with('4')
}

fn is_material_id(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
}

/// KMS's human date in responseElements: `Aug 10, 2022, 10:38:27 PM`.
fn is_human_date(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let fmt = time::macros::format_description!(
        "[month repr:short] [day padding:none], [year], [hour repr:12 padding:none]:[minute]:[second] [period]"
    );
    time::PrimitiveDateTime::parse(s, &fmt).is_ok()
}

fn root_identity() -> Value {
    json!({
        "type": "Root",
        "principalId": ACCOUNT,
        "arn": format!("arn:aws:iam::{ACCOUNT}:root"),
        "accountId": ACCOUNT,
        "accessKeyId": ACCESS_KEY,
    })
}

fn assert_field_order(r: &Value) {
    let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    let positions: Vec<usize> =
        keys.iter().map(|k| FIELD_ORDER.iter().position(|o| o == k).unwrap_or_else(|| panic!("unexpected field {k} in {r}"))).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "fields out of AWS order: {keys:?}");
}

/// Checks the fields that cannot equal an example's (times, ids, who and where) and returns the
/// reference rewritten so that the rest must be equal.
fn normalise(actual: &Value, mut expected: Value, request_id: Option<&str>, window: (i64, i64)) -> Value {
    let e = expected.as_object_mut().unwrap();
    let a = actual.as_object().unwrap();

    e.insert("eventVersion".into(), json!("1.11"));
    let time = a["eventTime"].as_str().expect("eventTime");
    let parsed = OffsetDateTime::parse(time, &Rfc3339).unwrap_or_else(|_| panic!("eventTime {time}"));
    assert!(time.len() == 20 && time.ends_with('Z'), "eventTime to the second, Z: {time}");
    let t = parsed.unix_timestamp();
    assert!(t >= window.0 && t <= window.1, "eventTime {time} outside [{}, {}]", window.0, window.1);
    e.insert("eventTime".into(), json!(time));
    let event_id = a["eventID"].as_str().expect("eventID");
    assert!(is_uuid(event_id), "eventID {event_id}");
    e.insert("eventID".into(), json!(event_id));

    if let Some(id) = request_id {
        // An API call by this test's caller: root of the default account, over local HTTP.
        e.insert("userIdentity".into(), root_identity());
        e.insert("sourceIPAddress".into(), json!("127.0.0.1"));
        let ua = a["userAgent"].as_str().expect("userAgent");
        assert!(ua.starts_with("aws-sdk-rust/"), "userAgent is the SDK's: {ua}");
        e.insert("userAgent".into(), json!(ua));
        e.insert("requestID".into(), json!(id));
        assert_eq!(e["eventType"], "AwsApiCall");
    } else {
        assert_eq!(e["eventType"], "AwsServiceEvent");
        assert!(!e.contains_key("requestID"));
    }
    // Fields CloudTrail added after some examples were written; always present now.
    e.insert("managementEvent".into(), json!(true));
    e.insert("eventCategory".into(), json!("Management"));
    // keytrail serves plain HTTP: there is no TLS to describe. Choice: omit tlsDetails.
    e.remove("tlsDetails");
    if let Some(Value::Array(resources)) = e.get_mut("resources") {
        for r in resources {
            r.as_object_mut().unwrap().entry("type").or_insert(json!("AWS::KMS::Key"));
        }
    }
    // AWS's field order, so that a failed comparison prints both the same way.
    let mut ordered = Map::new();
    for k in FIELD_ORDER {
        if let Some(v) = e.remove(*k) {
            ordered.insert((*k).to_string(), v);
        }
    }
    assert!(e.is_empty(), "reference has fields this test does not know: {e:?}");
    Value::Object(ordered)
}

fn assert_records_equal(name: &str, actual: &Value, expected: &Value) {
    if actual == expected {
        return;
    }
    let a = actual.as_object().unwrap();
    let e = expected.as_object().unwrap();
    let mut diffs = Vec::new();
    for k in FIELD_ORDER {
        if a.get(*k) != e.get(*k) {
            diffs.push(format!("  {k}:\n    keytrail:  {:?}\n    reference: {:?}", a.get(*k), e.get(*k)));
        }
    }
    panic!("{name}: record differs from the normalised reference\n{}", diffs.join("\n"));
}

struct Recorded {
    server: Server,
    kms: Client,
    started: i64,
}

impl Recorded {
    async fn start() -> Recorded {
        let server = Server::start().await;
        let kms = server.kms();
        Recorded { server, kms, started: OffsetDateTime::now_utc().unix_timestamp() }
    }

    fn window(&self) -> (i64, i64) {
        (self.started, OffsetDateTime::now_utc().unix_timestamp() + 1)
    }

    /// Compares the record of the call with `request_id` with reference `name`, after `adjust`
    /// has applied the documented differences for this operation.
    async fn check(&self, request_id: &str, name: &str, keys: &[(&str, &str)], adjust: impl FnOnce(&Value, &mut Value)) -> Value {
        let actual = self.server.record_of(request_id).await;
        assert_api_record_shape(&actual);
        assert_field_order(&actual);
        let mut expected = normalise(&actual, reference(name, keys), Some(request_id), self.window());
        adjust(&actual, &mut expected);
        assert_records_equal(name, &actual, &expected);
        actual
    }

    async fn check_service_event(
        &self,
        actual: &Value,
        name: &str,
        keys: &[(&str, &str)],
        window: (i64, i64),
        adjust: impl FnOnce(&Value, &mut Value),
    ) {
        assert_field_order(actual);
        let mut expected = normalise(actual, reference(name, keys), None, window);
        adjust(actual, &mut expected);
        assert_records_equal(name, actual, &expected);
    }
}

async fn material_id(kms: &Client, key: &str) -> String {
    kms.describe_key().key_id(key).send().await.unwrap().key_metadata.unwrap().current_key_material_id.unwrap()
}

#[tokio::test]
async fn records_match_aws_examples_field_by_field() {
    let t = Recorded::start().await;
    let kms = &t.kms;

    // CreateKey: the example creates a key for imported material with an empty description.
    let out = kms.create_key().origin(OriginType::External).description("").send().await.unwrap();
    let external = out.key_metadata().unwrap().key_id().to_string();
    t.check(out.request_id().unwrap(), "CreateKey-iamuser-awsdocs.json", &[(EXAMPLE_KEY, &external)], |a, e| {
        // keytrail also records the members KMS defaults (spec §3.3: multiRegion, tags []).
        e["requestParameters"]["tags"] = json!([]);
        e["requestParameters"]["multiRegion"] = json!(false);
        let created = &a["responseElements"]["keyMetadata"]["creationDate"];
        assert!(is_human_date(created), "creationDate in KMS's human format: {created}");
        e["responseElements"]["keyMetadata"]["creationDate"] = created.clone();
    })
    .await;

    let a = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    let b = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    let (a_id, a_arn, b_id) = (a.key_id.clone(), a.arn.clone().unwrap(), b.key_id.clone());
    let keys = [(EXAMPLE_KEY, a_id.as_str()), (EXAMPLE_OTHER_KEY, b_id.as_str())];
    let a_material = material_id(kms, &a_id).await;
    let with_material = |e: &mut Value| {
        e["additionalEventData"] = json!({ "keyMaterialId": a_material.clone() });
    };

    let out = kms.describe_key().key_id(&a_id).send().await.unwrap();
    t.check(out.request_id().unwrap(), "DescribeKey-iamuser-awsdocs.json", &keys, |_, _| {}).await;

    let out =
        kms.encrypt().key_id(&a_arn).plaintext(Blob::new("example")).encryption_context("Department", "Engineering").send().await.unwrap();
    t.check(out.request_id().unwrap(), "Encrypt-iamuser-awsdocs.json", &keys, |_, e| with_material(e)).await;

    // Decrypt (2025 example, with keyMaterialId): the algorithm is recorded though not sent.
    let ea = [("Department", "Engineering"), ("Project", "Alpha")];
    let mut request = kms.encrypt().key_id(&a_id).plaintext(Blob::new("example"));
    for (k, v) in ea {
        request = request.encryption_context(k, v);
    }
    let ct_a = request.send().await.unwrap().ciphertext_blob.unwrap();
    let mut request = kms.decrypt().ciphertext_blob(ct_a.clone()).key_id(&a_arn);
    for (k, v) in ea {
        request = request.encryption_context(k, v);
    }
    let out = request.send().await.unwrap();
    t.check(out.request_id().unwrap(), "Decrypt-iamuser-v111-tlsdetails-awsdocs2025.json", &keys, |_, e| {
        e["additionalEventData"]["keyMaterialId"] = json!(a_material.clone());
    })
    .await;

    // Decrypt failing with IncorrectKeyException: a ciphertext of B, KeyId naming A.
    let mut request = kms.encrypt().key_id(&b_id).plaintext(Blob::new("example"));
    for (k, v) in ea {
        request = request.encryption_context(k, v);
    }
    let ct_b = request.send().await.unwrap().ciphertext_blob.unwrap();
    let mut request = kms.decrypt().ciphertext_blob(ct_b).key_id(&a_arn);
    for (k, v) in ea {
        request = request.encryption_context(k, v);
    }
    let f = failure(request.send().await.unwrap_err());
    t.check(&f.request_id, "Decrypt-IncorrectKeyException-awsdocs.json", &keys, |_, _| {}).await;

    let mut request = kms.generate_data_key().key_id(&a_id).key_spec(DataKeySpec::Aes256);
    for (k, v) in ea {
        request = request.encryption_context(k, v);
    }
    let out = request.send().await.unwrap();
    t.check(out.request_id().unwrap(), "GenerateDataKey-iamuser-awsdocs.json", &keys, |_, e| with_material(e)).await;

    // Through an alias: the request shows the alias, resources the key.
    kms.create_alias().alias_name("alias/project-key").target_key_id(&a_id).send().await.unwrap();
    let out = kms.generate_data_key().key_id("alias/project-key").key_spec(DataKeySpec::Aes256).send().await.unwrap();
    t.check(out.request_id().unwrap(), "GenerateDataKey-alias-cli-awsdocs.json", &keys, |_, e| with_material(e)).await;

    let out = kms
        .re_encrypt()
        .ciphertext_blob(ct_a)
        .source_encryption_context("Project", "Alpha")
        .source_encryption_context("Department", "Engineering")
        .destination_key_id(&b_id)
        .destination_encryption_context("Level", "3A")
        .send()
        .await
        .unwrap();
    t.check(out.request_id().unwrap(), "ReEncrypt-iamuser-awsdocs.json", &keys, |_, _| {}).await;

    // Void key-management calls: since December 2022 AWS records {"keyId": "<key ARN>"}
    // (cloudtrail-for-kms.md §3.2); these examples predate that.
    let key_arn_response = |e: &mut Value| e["responseElements"] = json!({ "keyId": a_arn.clone() });
    let out = kms.disable_key().key_id(&a_id).send().await.unwrap();
    t.check(out.request_id().unwrap(), "DisableKey-iamuser-pre2022-awsdocs.json", &keys, |_, e| key_arn_response(e)).await;
    let out = kms.enable_key().key_id(&a_id).send().await.unwrap();
    t.check(out.request_id().unwrap(), "EnableKey-iamuser-pre2022-awsdocs.json", &keys, |_, e| key_arn_response(e)).await;
    let out = kms.enable_key_rotation().key_id(&a_id).send().await.unwrap();
    t.check(out.request_id().unwrap(), "EnableKeyRotation-iamuser-awsdocs.json", &keys, |_, e| {
        key_arn_response(e);
        // The example predates RotationPeriodInDays; KMS now shows the period, 365 by default.
        e["requestParameters"]["rotationPeriodInDays"] = json!(365);
    })
    .await;

    // RotateKeyOnDemand returns the bare key id, and its record shows that; then KMS records the
    // rotation itself as a RotateKey service event.
    let out = kms.rotate_key_on_demand().key_id(&a_id).send().await.unwrap();
    let call = t.check(out.request_id().unwrap(), "RotateKeyOnDemand-iamuser-awsdocs2025.json", &keys, |_, _| {}).await;
    let records = t.server.all_events().await;
    let at = records.iter().position(|r| r == &call).unwrap();
    let rotated = material_id(kms, &a_id).await;
    t.check_service_event(&records[at + 1], "RotateKey-ondemand-serviceevent-v111-awsdocs2025.json", &keys, t.window(), |_, e| {
        // The example's key has imported material; this one is AWS_KMS.
        e["serviceEventDetails"]["keyOrigin"] = json!("AWS_KMS");
        e["serviceEventDetails"]["previousKeyMaterialId"] = json!(a_material.clone());
        e["serviceEventDetails"]["currentKeyMaterialId"] = json!(rotated.clone());
    })
    .await;

    let out = kms.create_alias().alias_name("alias/ExampleAlias").target_key_id(&a_id).send().await.unwrap();
    t.check(out.request_id().unwrap(), "CreateAlias-iamuser-awsdocs.json", &keys, |_, e| {
        // Choice (ops/aliases.rs): CreateAlias follows the post-2022 void-call rule too.
        key_arn_response(e);
    })
    .await;

    let out = kms.schedule_key_deletion().key_id(&a_id).pending_window_in_days(20).send().await.unwrap();
    t.check(out.request_id().unwrap(), "ScheduleKeyDeletion-iamuser-awsdocs.json", &keys, |a, e| {
        let date = &a["responseElements"]["deletionDate"];
        assert!(is_human_date(date), "deletionDate in KMS's human format: {date}");
        e["responseElements"]["deletionDate"] = date.clone();
        // spec §3.3: the response also names the waiting period.
        e["responseElements"]["pendingWindowInDays"] = json!(20);
    })
    .await;
    let out = kms.cancel_key_deletion().key_id(&a_id).send().await.unwrap();
    t.check(out.request_id().unwrap(), "CancelKeyDeletion-iamuser-awsdocs.json", &keys, |_, _| {}).await;

    // Service events as the mock clock moves: automatic rotation of A, deletion of B.
    kms.enable_key().key_id(&a_id).send().await.unwrap();
    kms.enable_key_rotation().key_id(&a_id).rotation_period_in_days(90).send().await.unwrap();
    kms.schedule_key_deletion().key_id(&b_id).pending_window_in_days(7).send().await.unwrap();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    t.server.advance_clock(91 * DAY).await;
    let window = (now + 7 * DAY - 120, now + 91 * DAY + 120);

    let deleted = t.server.events("eventName=DeleteKey").await;
    assert_eq!(deleted.len(), 1);
    let b_arn = b.arn.clone().unwrap();
    t.check_service_event(&deleted[0], "DeleteKey-serviceevent-awsdocs.json", &[(EXAMPLE_KEY, &b_id)], window, |_, e| {
        // spec §3.3: post-December-2022 DeleteKey records carry the key ARN.
        e["responseElements"] = json!({ "keyId": b_arn });
    })
    .await;
    let rotations = t.server.events("eventName=RotateKey").await;
    assert_eq!(rotations.len(), 2, "on demand, then automatic");
    let automatic = kms.describe_key().key_id(&a_id).send().await.unwrap().key_metadata.unwrap().current_key_material_id.unwrap();
    t.check_service_event(&rotations[1], "RotateKey-automatic-serviceevent-v111-awsdocs2025.json", &keys, window, |_, e| {
        e["serviceEventDetails"]["previousKeyMaterialId"] = json!(rotated);
        e["serviceEventDetails"]["currentKeyMaterialId"] = json!(automatic);
    })
    .await;
    assert!(is_material_id(&rotations[1]["serviceEventDetails"]["currentKeyMaterialId"]));
}

/// The record of every operation without a published example: common fields, readOnly as the
/// spec's table says, the request as sent (lower camel case), responseElements, resources.
#[tokio::test]
async fn every_other_operation_records_its_call() {
    let t = Recorded::start().await;
    let kms = &t.kms;
    let a = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    let b = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    let (a_id, a_arn, b_arn) = (a.key_id.clone(), a.arn.clone().unwrap(), b.arn.clone().unwrap());
    kms.create_alias().alias_name("alias/rec").target_key_id(&a_id).send().await.unwrap();
    let a_material = material_id(kms, &a_id).await;
    let key = |arn: &str| json!([{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": arn}]);
    let alias_arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/rec");

    // (request id, eventName, readOnly, requestParameters, responseElements, resources)
    type Call<'a> = (String, &'a str, bool, Value, Value, Option<Value>);
    let mut calls: Vec<Call> = Vec::new();
    let out = kms.list_keys().limit(10).send().await.unwrap();
    calls.push((out.request_id().unwrap().into(), "ListKeys", true, json!({"limit": 10}), Value::Null, None));
    let out = kms.list_aliases().key_id(&a_arn).send().await.unwrap();
    // ListAliases without KeyId is about no key (no resources, spec §1.1); with KeyId it names
    // one, and keytrail lists the resolved key as it does for every key a call names.
    calls.push((out.request_id().unwrap().into(), "ListAliases", true, json!({"keyId": a_arn}), Value::Null, Some(key(&a_arn))));
    let out = kms.list_aliases().send().await.unwrap();
    calls.push((out.request_id().unwrap().into(), "ListAliases", true, Value::Null, Value::Null, None));
    let out = kms.generate_random().number_of_bytes(16).send().await.unwrap();
    calls.push((out.request_id().unwrap().into(), "GenerateRandom", true, json!({"numberOfBytes": 16}), Value::Null, None));
    let out = kms.generate_data_key_without_plaintext().key_id("alias/rec").number_of_bytes(24).send().await.unwrap();
    calls.push((
        out.request_id().unwrap().into(),
        "GenerateDataKeyWithoutPlaintext",
        true,
        json!({"keyId": "alias/rec", "numberOfBytes": 24}),
        Value::Null,
        Some(key(&a_arn)),
    ));
    let out = kms.get_key_rotation_status().key_id(&a_id).send().await.unwrap();
    calls.push((out.request_id().unwrap().into(), "GetKeyRotationStatus", true, json!({"keyId": a_id}), Value::Null, Some(key(&a_arn))));
    let out = kms.disable_key_rotation().key_id(&a_arn).send().await.unwrap();
    calls.push((
        out.request_id().unwrap().into(),
        "DisableKeyRotation",
        false,
        json!({"keyId": a_arn}),
        json!({"keyId": a_arn}),
        Some(key(&a_arn)),
    ));
    let out = kms.list_key_rotations().key_id(&a_id).limit(5).send().await.unwrap();
    calls.push((
        out.request_id().unwrap().into(),
        "ListKeyRotations",
        true,
        json!({"keyId": a_id, "limit": 5}),
        Value::Null,
        Some(key(&a_arn)),
    ));
    let out = kms.update_key_description().key_id(&a_id).description("new").send().await.unwrap();
    calls.push((
        out.request_id().unwrap().into(),
        "UpdateKeyDescription",
        false,
        json!({"keyId": a_id, "description": "new"}),
        json!({"keyId": a_arn}),
        Some(key(&a_arn)),
    ));
    let out = kms.tag_resource().key_id(&a_id).tags(Tag::builder().tag_key("k").tag_value("v").build().unwrap()).send().await.unwrap();
    calls.push((
        out.request_id().unwrap().into(),
        "TagResource",
        false,
        json!({"keyId": a_id, "tags": [{"tagKey": "k", "tagValue": "v"}]}),
        json!({"keyId": a_arn}),
        Some(key(&a_arn)),
    ));
    let out = kms.list_resource_tags().key_id(&a_id).send().await.unwrap();
    calls.push((out.request_id().unwrap().into(), "ListResourceTags", true, json!({"keyId": a_id}), Value::Null, Some(key(&a_arn))));
    let out = kms.untag_resource().key_id(&a_id).tag_keys("k").send().await.unwrap();
    calls.push((
        out.request_id().unwrap().into(),
        "UntagResource",
        false,
        json!({"keyId": a_id, "tagKeys": ["k"]}),
        json!({"keyId": a_arn}),
        Some(key(&a_arn)),
    ));
    let out = kms.update_alias().alias_name("alias/rec").target_key_id(&b.key_id).send().await.unwrap();
    calls.push((
        out.request_id().unwrap().into(),
        "UpdateAlias",
        false,
        json!({"aliasName": "alias/rec", "targetKeyId": b.key_id}),
        json!({"keyId": b_arn}),
        Some(json!([
            {"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": b_arn},
            {"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": alias_arn},
            {"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": a_arn},
        ])),
    ));
    let out = kms.delete_alias().alias_name("alias/rec").send().await.unwrap();
    calls.push((
        out.request_id().unwrap().into(),
        "DeleteAlias",
        false,
        json!({"aliasName": "alias/rec"}),
        json!({"keyId": b_arn}),
        Some(json!([
            {"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": b_arn},
            {"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": alias_arn},
        ])),
    ));

    let mut event_ids = std::collections::HashSet::new();
    for (request_id, name, read_only, params, response, resources) in calls {
        let r = t.server.record_of(&request_id).await;
        assert_api_record_shape(&r);
        assert_field_order(&r);
        // The DescribeKey example supplies the common part of a key-scoped API call.
        let mut expected =
            normalise(&r, reference("DescribeKey-iamuser-awsdocs.json", &[(EXAMPLE_KEY, &a_id)]), Some(&request_id), t.window());
        expected["eventName"] = json!(name);
        expected["readOnly"] = json!(read_only);
        expected["requestParameters"] = params;
        expected["responseElements"] = response;
        match resources {
            Some(res) => expected["resources"] = res,
            None => {
                expected.as_object_mut().unwrap().remove("resources");
            }
        }
        if name == "GenerateDataKeyWithoutPlaintext" {
            // As GenerateDataKey (2025 docs): the key material that encrypted the data key.
            expected["additionalEventData"] = json!({ "keyMaterialId": a_material });
        }
        let expected = normalise(&r, expected, Some(&request_id), t.window());
        assert_records_equal(name, &r, &expected);
        assert!(event_ids.insert(r["eventID"].as_str().unwrap().to_string()), "eventIDs are unique");
    }
}

#[tokio::test]
async fn failed_calls_are_recorded_with_error_code_and_message() {
    let t = Recorded::start().await;
    let kms = &t.kms;
    let a = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    let (a_id, a_arn) = (a.key_id.clone(), a.arn.clone().unwrap());
    let ct = kms.encrypt().key_id(&a_id).plaintext(Blob::new("x")).send().await.unwrap().ciphertext_blob.unwrap();
    kms.disable_key().key_id(&a_id).send().await.unwrap();
    let missing = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/00000000-0000-4000-8000-000000000000");

    let cases = vec![
        (
            failure(kms.encrypt().key_id(&a_id).plaintext(Blob::new("x")).send().await.unwrap_err()),
            "Encrypt",
            json!({"keyId": a_id, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
            Some(a_arn.clone()),
        ),
        (
            failure(kms.decrypt().ciphertext_blob(ct).send().await.unwrap_err()),
            "Decrypt",
            json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
            Some(a_arn.clone()),
        ),
        (failure(kms.describe_key().key_id(&missing).send().await.unwrap_err()), "DescribeKey", json!({"keyId": missing}), None),
        (
            failure(kms.schedule_key_deletion().key_id(&a_id).pending_window_in_days(3).send().await.unwrap_err()),
            "ScheduleKeyDeletion",
            json!({"keyId": a_id, "pendingWindowInDays": 3}),
            None,
        ),
    ];
    for (f, name, params, resource) in cases {
        let r = t.server.record_of(&f.request_id).await;
        assert_api_record_shape(&r);
        assert_field_order(&r);
        let mut expected =
            normalise(&r, reference("DescribeKey-iamuser-awsdocs.json", &[(EXAMPLE_KEY, &a_id)]), Some(&f.request_id), t.window());
        let e = expected.as_object_mut().unwrap();
        e.insert("eventName".into(), json!(name));
        e.insert("errorCode".into(), json!(f.code));
        e.insert("errorMessage".into(), json!(f.message));
        e.insert("requestParameters".into(), params);
        e.insert("readOnly".into(), json!(name != "ScheduleKeyDeletion"));
        match resource {
            Some(arn) => {
                e.insert("resources".into(), json!([{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": arn}]));
            }
            None => {
                e.remove("resources");
            }
        }
        let expected = normalise(&r, expected, Some(&f.request_id), t.window());
        assert_records_equal(name, &r, &expected);
        assert!(!f.message.is_empty());
    }
    let codes: Vec<String> = t.server.all_events().await.iter().filter_map(|r| r["errorCode"].as_str().map(String::from)).collect();
    assert_eq!(codes, ["DisabledException", "DisabledException", "NotFoundException", "ValidationException"]);
}

#[tokio::test]
async fn events_out_gets_one_json_line_per_record() {
    let path = std::env::temp_dir().join(format!(
        "keytrail-events-out-{}-{}.jsonl",
        std::process::id(),
        OffsetDateTime::now_utc().unix_timestamp_nanos()
    ));
    let server = Server::start_with(Options { events_out: Some(path.to_string_lossy().into_owned()), ..Default::default() }).await;
    let kms = server.kms();
    let id = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let ct = kms.encrypt().key_id(&id).plaintext(Blob::new("line")).send().await.unwrap().ciphertext_blob.unwrap();
    kms.decrypt().ciphertext_blob(ct).send().await.unwrap();
    failure(kms.describe_key().key_id("alias/missing").send().await.unwrap_err());
    kms.rotate_key_on_demand().key_id(&id).send().await.unwrap();
    let west = server.kms_as(ACCESS_KEY, "secret", "eu-west-1");
    west.list_keys().send().await.unwrap();
    // A burst of concurrent calls: still one line per record, in history's order.
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..40 {
        let kms = kms.clone();
        let id = id.clone();
        burst.spawn(async move {
            let out = kms.encrypt().key_id(id).plaintext(Blob::new(format!("burst {i}"))).send().await.unwrap();
            out.request_id().unwrap().to_string()
        });
    }
    let mut burst_ids: Vec<String> = burst.join_all().await;
    let records = server.all_events().await;
    let (_, raw) = keytrail_tests::raw_http(server.addr, "GET", "/_keytrail/events", &[], "").await;
    server.stop().await;

    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(text.ends_with('\n'), "every record ends its line");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7 + 40, "CreateKey, Encrypt, Decrypt, DescribeKey, RotateKeyOnDemand, RotateKey, ListKeys, 40 × Encrypt");
    assert_eq!(records.len(), lines.len());
    let mut recorded_ids: Vec<String> = records[7..].iter().map(|r| r["requestID"].as_str().unwrap().to_string()).collect();
    recorded_ids.sort();
    burst_ids.sort();
    assert_eq!(recorded_ids, burst_ids, "every concurrent call recorded once");
    let names: Vec<String> =
        lines[..7].iter().map(|l| serde_json::from_str::<Value>(l).unwrap()["eventName"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["CreateKey", "Encrypt", "Decrypt", "DescribeKey", "RotateKeyOnDemand", "RotateKey", "ListKeys"]);
    for (line, record) in lines.iter().zip(&records) {
        assert!(!line.trim().is_empty() && !line.contains('\n'));
        let parsed: Value = serde_json::from_str(line).unwrap();
        assert_eq!(&parsed, record, "the file and /_keytrail/events hold the same records, in the same order");
        assert!(raw.contains(line), "byte for byte the same JSON");
        assert_field_order(&parsed);
    }
    assert_eq!(serde_json::from_str::<Value>(lines[3]).unwrap()["errorCode"], "NotFoundException");
    assert_eq!(serde_json::from_str::<Value>(lines[6]).unwrap()["awsRegion"], "eu-west-1");
}

#[tokio::test]
async fn events_out_mirrors_the_history_across_starts_and_resets() {
    let base =
        std::env::temp_dir().join(format!("keytrail-mirror-{}-{}", std::process::id(), OffsetDateTime::now_utc().unix_timestamp_nanos()));
    std::fs::create_dir_all(&base).unwrap();
    let path = base.join("events.jsonl");
    std::fs::write(&path, "{\"stale\":\"from an earlier run\"}\n").unwrap();
    let lines = || std::fs::read_to_string(&path).unwrap().lines().map(str::to_string).collect::<Vec<_>>();
    let options = |data_dir: Option<std::path::PathBuf>| Options {
        events_out: Some(path.to_string_lossy().into_owned()),
        data_dir,
        ..Default::default()
    };

    // In memory: the file starts afresh, and a reset empties it.
    let server = Server::start_with(options(None)).await;
    assert!(lines().is_empty(), "a fresh in-memory keytrail starts the file afresh");
    server.kms().list_keys().send().await.unwrap();
    assert_eq!(server.all_events().await.len(), 1);
    assert_eq!(lines().len(), 1);
    server.control("POST", "/_keytrail/reset", None).await;
    assert!(lines().is_empty(), "reset empties the file with the history");
    server.kms().list_aliases().send().await.unwrap();
    server.all_events().await;
    assert_eq!(lines().len(), 1);
    assert!(lines()[0].contains("\"ListAliases\""));
    server.stop().await;

    // With a data dir the file goes on from where the history is.
    let dir = base.join("data");
    let server = Server::start_with(options(Some(dir.clone()))).await;
    server.kms().list_keys().send().await.unwrap();
    server.stop().await;
    let server = Server::start_with(options(Some(dir.clone()))).await;
    server.kms().list_keys().send().await.unwrap();
    let history = server.all_events().await;
    assert_eq!(history.len(), 2);
    let file = lines();
    assert_eq!(file.len(), 2, "a new data dir started the file afresh; its restart went on");
    for (line, record) in file.iter().zip(&history) {
        assert_eq!(&serde_json::from_str::<Value>(line).unwrap(), record);
    }
    server.control("POST", "/_keytrail/reset", None).await;
    assert!(lines().is_empty(), "a reset of a data dir empties the file too");
    server.stop().await;
    let _ = std::fs::remove_dir_all(&base);
}

#[tokio::test]
async fn motos_reset_route_resets_as_keytrails_does() {
    let server = Server::start().await;
    server.kms().create_key().send().await.unwrap();
    let (status, body) = keytrail_tests::raw_http(server.addr, "POST", "/moto-api/reset", &[], "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), serde_json::json!({"status": "reset"}));
    assert!(server.all_events().await.is_empty());
    assert!(server.kms().list_keys().send().await.unwrap().keys().is_empty());
    let (status, _) = keytrail_tests::raw_http(server.addr, "GET", "/moto-api/reset", &[], "").await;
    assert_ne!(status, 200, "only POST resets");
}

#[tokio::test]
async fn sign_and_verify_records_match_aws_examples_field_by_field() {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};
    let t = Recorded::start().await;
    let kms = &t.kms;
    let key = kms.create_key().key_spec(KeySpec::Rsa2048).key_usage(KeyUsageType::SignVerify).send().await.unwrap().key_metadata.unwrap();
    let keys = [(EXAMPLE_OTHER_KEY, key.key_id.as_str())];
    let out = kms
        .sign()
        .key_id(&key.key_id)
        .message(Blob::new("a release artifact"))
        .message_type(MessageType::Raw)
        .signing_algorithm(SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
        .send()
        .await
        .unwrap();
    t.check(out.request_id().unwrap(), "Sign-iamuser-awsdocs.json", &keys, |_, _| {}).await;
    let out = kms
        .verify()
        .key_id(&key.key_id)
        .message(Blob::new("a release artifact"))
        .message_type(MessageType::Raw)
        .signature(out.signature.unwrap())
        .signing_algorithm(SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
        .send()
        .await
        .unwrap();
    assert!(out.signature_valid());
    t.check(out.request_id().unwrap(), "Verify-iamuser-awsdocs.json", &keys, |_, _| {}).await;
    // Left out, the message type is RAW in the record too (as AWS's examples always show it).
    let out = kms
        .sign()
        .key_id(&key.key_id)
        .message(Blob::new("a release artifact"))
        .signing_algorithm(SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
        .send()
        .await
        .unwrap();
    t.check(out.request_id().unwrap(), "Sign-iamuser-awsdocs.json", &keys, |_, _| {}).await;
}
