//! Key lifecycle: EnableKey/DisableKey, rotation settings (EnableKeyRotation with
//! RotationPeriodInDays, DisableKeyRotation, GetKeyRotationStatus), RotateKeyOnDemand and
//! automatic rotation on the mock clock (ListKeyRotations, old ciphertexts), and deletion
//! (ScheduleKeyDeletion, CancelKeyDeletion, deletion when the waiting period ends).

use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, IncludeKeyMaterial, KeyMaterialState, KeyState, RotationType};
use aws_sdk_kms::Client;
use keytrail_tests::{assert_api_record_shape, failure, Failure, Server};
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const DAY: i64 = 86_400;

async fn new_key(kms: &Client) -> (String, String) {
    let md = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    (md.key_id, md.arn.unwrap())
}

async fn encrypt(kms: &Client, key: &str, plaintext: &str) -> Blob {
    kms.encrypt().key_id(key).plaintext(Blob::new(plaintext)).send().await.unwrap().ciphertext_blob.unwrap()
}

async fn decrypt(kms: &Client, blob: &Blob) -> Result<String, Failure> {
    kms.decrypt()
        .ciphertext_blob(blob.clone())
        .send()
        .await
        .map(|o| String::from_utf8(o.plaintext.unwrap().into_inner()).unwrap())
        .map_err(failure)
}

async fn state(kms: &Client, key: &str) -> KeyState {
    kms.describe_key().key_id(key).send().await.unwrap().key_metadata.unwrap().key_state.unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Every cryptographic operation on `key` (as KeyId, or as the ciphertext's key) fails with `code`.
async fn crypto_refused(kms: &Client, key: &str, other: &str, blob: &Blob, code: &str) {
    let results: Vec<(&str, Failure)> = vec![
        ("Encrypt", failure(kms.encrypt().key_id(key).plaintext(Blob::new("x")).send().await.unwrap_err())),
        ("Decrypt", decrypt(kms, blob).await.unwrap_err()),
        ("Decrypt+KeyId", failure(kms.decrypt().ciphertext_blob(blob.clone()).key_id(key).send().await.unwrap_err())),
        ("GenerateDataKey", failure(kms.generate_data_key().key_id(key).key_spec(DataKeySpec::Aes256).send().await.unwrap_err())),
        (
            "GenerateDataKeyWithoutPlaintext",
            failure(kms.generate_data_key_without_plaintext().key_id(key).key_spec(DataKeySpec::Aes256).send().await.unwrap_err()),
        ),
        ("ReEncrypt from", failure(kms.re_encrypt().ciphertext_blob(blob.clone()).destination_key_id(other).send().await.unwrap_err())),
    ];
    for (op, f) in results {
        assert_eq!(f.code, code, "{op}: {f:?}");
    }
    let other_blob = encrypt(kms, other, "to move").await;
    let f = failure(kms.re_encrypt().ciphertext_blob(other_blob).destination_key_id(key).send().await.unwrap_err());
    assert_eq!(f.code, code, "ReEncrypt to: {f:?}");
}

#[tokio::test]
async fn disabled_keys_refuse_cryptography_until_enabled() {
    let s = Server::start().await;
    let kms = s.kms();
    let (id, arn) = new_key(&kms).await;
    let (other, _) = new_key(&kms).await;
    kms.create_alias().alias_name("alias/switch").target_key_id(&id).send().await.unwrap();
    let blob = encrypt(&kms, &id, "kept").await;

    let out = kms.disable_key().key_id(&id).send().await.unwrap();
    let r = s.record_of(out.request_id().unwrap()).await;
    assert_api_record_shape(&r);
    assert_eq!(r["eventName"], "DisableKey");
    assert_eq!(r["readOnly"], false);
    assert_eq!(r["requestParameters"], json!({"keyId": id}));
    assert_eq!(r["responseElements"], json!({"keyId": arn}), "void key-management calls record the key ARN");
    assert_eq!(r["resources"], json!([{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": arn}]));

    let md = kms.describe_key().key_id("alias/switch").send().await.unwrap().key_metadata.unwrap();
    assert_eq!(md.key_state(), Some(&KeyState::Disabled));
    assert!(!md.enabled());
    crypto_refused(&kms, &id, &other, &blob, "DisabledException").await;
    let f = failure(kms.encrypt().key_id("alias/switch").plaintext(Blob::new("x")).send().await.unwrap_err());
    assert_eq!(f.code, "DisabledException");
    assert_eq!(f.message, format!("{arn} is disabled."));
    let r = s.record_of(&f.request_id).await;
    assert_eq!(r["errorCode"], "DisabledException");
    assert_eq!(r["errorMessage"], f.message.as_str());
    assert_eq!(r["resources"][0]["ARN"], arn.as_str());

    // Disabling twice is fine; so is enabling twice.
    kms.disable_key().key_id(&arn).send().await.unwrap();
    let out = kms.enable_key().key_id(&arn).send().await.unwrap();
    let r = s.record_of(out.request_id().unwrap()).await;
    assert_eq!(r["eventName"], "EnableKey");
    assert_eq!(r["requestParameters"], json!({"keyId": arn}));
    assert_eq!(r["responseElements"], json!({"keyId": arn}));
    kms.enable_key().key_id(&id).send().await.unwrap();
    assert_eq!(state(&kms, &id).await, KeyState::Enabled);
    assert_eq!(decrypt(&kms, &blob).await.unwrap(), "kept");

    // Enable/Disable name keys by id or ARN only.
    for f in [
        failure(kms.disable_key().key_id("alias/switch").send().await.unwrap_err()),
        failure(kms.enable_key().key_id("alias/switch").send().await.unwrap_err()),
        failure(kms.disable_key().key_id("00000000-0000-4000-8000-000000000000").send().await.unwrap_err()),
    ] {
        assert_eq!(f.code, "NotFoundException", "{f:?}");
    }
}

#[tokio::test]
async fn rotation_settings_with_rotation_period() {
    let s = Server::start().await;
    let kms = s.kms();
    let (id, arn) = new_key(&kms).await;

    let status = kms.get_key_rotation_status().key_id(&id).send().await.unwrap();
    assert!(!status.key_rotation_enabled());
    assert_eq!(status.key_id(), Some(arn.as_str()));
    assert!(status.rotation_period_in_days().is_none());
    assert!(status.next_rotation_date().is_none());
    let r = s.record_of(status.request_id().unwrap()).await;
    assert_api_record_shape(&r);
    assert_eq!(r["readOnly"], true);
    assert_eq!(r["responseElements"], Value::Null);

    let out = kms.enable_key_rotation().key_id(&id).rotation_period_in_days(180).send().await.unwrap();
    let r = s.record_of(out.request_id().unwrap()).await;
    assert_api_record_shape(&r);
    assert_eq!(r["readOnly"], false);
    assert_eq!(r["requestParameters"], json!({"keyId": id, "rotationPeriodInDays": 180}));
    assert_eq!(r["responseElements"], json!({"keyId": arn}));
    let status = kms.get_key_rotation_status().key_id(&arn).send().await.unwrap();
    assert!(status.key_rotation_enabled());
    assert_eq!(status.rotation_period_in_days(), Some(180));
    let next = status.next_rotation_date().unwrap().secs();
    assert!((next - (now() + 180 * DAY)).abs() < 120, "next rotation in 180 days, got {next}");

    // Without a period: 365 days, and the record shows the default.
    let out = kms.enable_key_rotation().key_id(&id).send().await.unwrap();
    let r = s.record_of(out.request_id().unwrap()).await;
    assert_eq!(r["requestParameters"], json!({"keyId": id, "rotationPeriodInDays": 365}));
    let status = kms.get_key_rotation_status().key_id(&id).send().await.unwrap();
    assert_eq!(status.rotation_period_in_days(), Some(365));

    for days in [89, 2561, 0, -1] {
        let f = failure(kms.enable_key_rotation().key_id(&id).rotation_period_in_days(days).send().await.unwrap_err());
        assert_eq!(f.code, "ValidationException", "{days} days");
        assert!(f.message.contains("rotationPeriodInDays"), "{}", f.message);
    }
    for days in [90, 2560] {
        kms.enable_key_rotation().key_id(&id).rotation_period_in_days(days).send().await.unwrap();
    }

    let out = kms.disable_key_rotation().key_id(&arn).send().await.unwrap();
    let r = s.record_of(out.request_id().unwrap()).await;
    assert_eq!(r["requestParameters"], json!({"keyId": arn}));
    assert_eq!(r["responseElements"], json!({"keyId": arn}));
    let status = kms.get_key_rotation_status().key_id(&id).send().await.unwrap();
    assert!(!status.key_rotation_enabled());
    assert!(status.rotation_period_in_days().is_none());

    // Key ids and ARNs only; a disabled key cannot have its rotation changed.
    kms.create_alias().alias_name("alias/rot").target_key_id(&id).send().await.unwrap();
    assert_eq!(failure(kms.enable_key_rotation().key_id("alias/rot").send().await.unwrap_err()).code, "NotFoundException");
    assert_eq!(failure(kms.get_key_rotation_status().key_id("alias/rot").send().await.unwrap_err()).code, "NotFoundException");
    kms.disable_key().key_id(&id).send().await.unwrap();
    assert_eq!(failure(kms.enable_key_rotation().key_id(&id).send().await.unwrap_err()).code, "DisabledException");
    assert_eq!(failure(kms.disable_key_rotation().key_id(&id).send().await.unwrap_err()).code, "DisabledException");

    // Imported key material cannot rotate automatically. AWS's key-state table: for a key
    // whose origin is EXTERNAL, even while it waits for material, Enable/DisableKeyRotation
    // answer "UnsupportedOperationException: <key ARN> origin is EXTERNAL which is not valid for
    // this operation." (not KMSInvalidStateException for the pending import).
    let external = kms.create_key().origin(aws_sdk_kms::types::OriginType::External).send().await.unwrap().key_metadata.unwrap();
    let external_arn = external.arn.unwrap();
    for f in [
        failure(kms.enable_key_rotation().key_id(&external.key_id).send().await.unwrap_err()),
        failure(kms.disable_key_rotation().key_id(&external.key_id).send().await.unwrap_err()),
    ] {
        assert_eq!(f.code, "UnsupportedOperationException", "{f:?}");
        assert_eq!(f.message, format!("{external_arn} origin is EXTERNAL which is not valid for this operation."));
    }
}

#[tokio::test]
async fn rotate_on_demand_adds_material_and_old_ciphertexts_still_decrypt() {
    let s = Server::start().await;
    let kms = s.kms();
    let (id, arn) = new_key(&kms).await;
    let first_material = kms.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap().current_key_material_id.unwrap();
    let old = encrypt(&kms, &id, "before rotation").await;
    let old_dec = kms.decrypt().ciphertext_blob(old.clone()).send().await.unwrap();
    assert_eq!(old_dec.key_material_id(), Some(first_material.as_str()));

    let listed = kms.list_key_rotations().key_id(&id).send().await.unwrap();
    assert!(listed.rotations().is_empty(), "no rotations yet");
    assert!(!listed.truncated());

    let out = kms.rotate_key_on_demand().key_id(&arn).send().await.unwrap();
    assert_eq!(out.key_id(), Some(id.as_str()), "RotateKeyOnDemand returns the bare key id");
    let records = s.all_events().await;
    let at = records.iter().position(|r| r["requestID"] == out.request_id().unwrap()).unwrap();
    let call = &records[at];
    assert_api_record_shape(call);
    assert_eq!(call["eventName"], "RotateKeyOnDemand");
    assert_eq!(call["readOnly"], false);
    assert_eq!(call["requestParameters"], json!({"keyId": arn}));
    assert_eq!(call["responseElements"], json!({"keyId": id}), "as the API returned it (AWS's example shows the bare id)");
    // The rotation itself is a service event right after the call.
    let event = &records[at + 1];
    assert_eq!(event["eventName"], "RotateKey");
    assert_eq!(event["eventType"], "AwsServiceEvent");
    assert_eq!(event["userIdentity"], json!({"accountId": ACCOUNT, "invokedBy": "AWS Internal"}));
    assert!(event.get("requestID").is_none());
    let second_material = kms.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap().current_key_material_id.unwrap();
    assert_ne!(first_material, second_material);
    assert_eq!(
        event["serviceEventDetails"],
        json!({
            "rotationType": "ON_DEMAND",
            "keyOrigin": "AWS_KMS",
            "previousKeyMaterialId": first_material,
            "currentKeyMaterialId": second_material,
            "keyId": id,
        })
    );

    let new = encrypt(&kms, &id, "after rotation").await;
    assert_eq!(decrypt(&kms, &old).await.unwrap(), "before rotation");
    assert_eq!(decrypt(&kms, &new).await.unwrap(), "after rotation");
    let new_dec = kms.decrypt().ciphertext_blob(new).send().await.unwrap();
    assert_eq!(new_dec.key_material_id(), Some(second_material.as_str()));
    let old_dec = kms.decrypt().ciphertext_blob(old.clone()).send().await.unwrap();
    assert_eq!(old_dec.key_material_id(), Some(first_material.as_str()), "old ciphertexts use the old material");

    let listed = kms.list_key_rotations().key_id(&id).send().await.unwrap();
    assert_eq!(listed.rotations().len(), 1);
    let rotation = &listed.rotations()[0];
    assert_eq!(rotation.key_id(), Some(arn.as_str()));
    assert_eq!(rotation.rotation_type(), Some(&RotationType::OnDemand));
    assert_eq!(rotation.key_material_id(), Some(second_material.as_str()));
    assert!((rotation.rotation_date().unwrap().secs() - now()).abs() < 120);
    let all = kms.list_key_rotations().key_id(&id).include_key_material(IncludeKeyMaterial::AllKeyMaterial).send().await.unwrap();
    let states: Vec<_> =
        all.rotations().iter().map(|r| (r.key_material_id().unwrap().to_string(), r.key_material_state().cloned())).collect();
    assert_eq!(
        states,
        [(first_material.clone(), Some(KeyMaterialState::NonCurrent)), (second_material.clone(), Some(KeyMaterialState::Current))]
    );

    // More rotations, then ListKeyRotations in pages.
    for _ in 0..3 {
        kms.rotate_key_on_demand().key_id(&id).send().await.unwrap();
    }
    let mut seen = Vec::new();
    let mut marker = None;
    loop {
        let page = kms.list_key_rotations().key_id(&id).limit(3).set_marker(marker).send().await.unwrap();
        assert!(page.rotations().len() <= 3);
        seen.extend(page.rotations().iter().map(|r| r.key_material_id().unwrap().to_string()));
        let r = s.record_of(page.request_id().unwrap()).await;
        assert_eq!(r["requestParameters"]["limit"], 3);
        assert_eq!(r["resources"][0]["ARN"], arn.as_str());
        assert_eq!(page.truncated(), page.next_marker().is_some());
        marker = page.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0], second_material);
    let f = failure(kms.list_key_rotations().key_id(&id).marker("bogus").send().await.unwrap_err());
    assert_eq!(f.code, "InvalidMarkerException");
    assert_eq!(decrypt(&kms, &old).await.unwrap(), "before rotation", "still, after five materials");

    // Errors: aliases, disabled keys, imported material.
    kms.create_alias().alias_name("alias/rotating").target_key_id(&id).send().await.unwrap();
    assert_eq!(failure(kms.rotate_key_on_demand().key_id("alias/rotating").send().await.unwrap_err()).code, "NotFoundException");
    assert_eq!(failure(kms.list_key_rotations().key_id("alias/rotating").send().await.unwrap_err()).code, "NotFoundException");
    kms.disable_key().key_id(&id).send().await.unwrap();
    let f = failure(kms.rotate_key_on_demand().key_id(&id).send().await.unwrap_err());
    assert_eq!(f.code, "DisabledException");
    let r = s.record_of(&f.request_id).await;
    assert_eq!(r["responseElements"], Value::Null);
    assert_eq!(s.events("eventName=RotateKey").await.len(), 4, "no service event for a refused rotation");
}

#[tokio::test]
async fn automatic_rotation_follows_the_mock_clock() {
    let s = Server::start().await;
    let kms = s.kms();
    let (id, arn) = new_key(&kms).await;
    let (idle, _) = new_key(&kms).await;
    let old = encrypt(&kms, &id, "automatic").await;
    kms.enable_key_rotation().key_id(&id).rotation_period_in_days(90).send().await.unwrap();
    let first_due = kms.get_key_rotation_status().key_id(&id).send().await.unwrap().next_rotation_date.unwrap().secs();

    s.advance_clock(89 * DAY).await;
    assert!(s.events("eventName=RotateKey").await.is_empty(), "not due yet");
    s.advance_clock(2 * DAY).await;
    let events = s.events("eventName=RotateKey").await;
    assert_eq!(events.len(), 1, "one rotation after 90 days: {events:?}");
    let e = &events[0];
    assert_eq!(e["eventType"], "AwsServiceEvent");
    assert_eq!(e["eventVersion"], "1.11");
    assert_eq!(e["userIdentity"], json!({"accountId": ACCOUNT, "invokedBy": "AWS Internal"}));
    assert_eq!(e["sourceIPAddress"], "AWS Internal");
    assert_eq!(e["userAgent"], "AWS Internal");
    assert_eq!(e["requestParameters"], Value::Null);
    assert_eq!(e["responseElements"], Value::Null);
    assert!(e.get("requestID").is_none());
    assert_eq!(e["readOnly"], false);
    assert_eq!(e["resources"], json!([{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": arn}]));
    assert_eq!(e["managementEvent"], true);
    assert_eq!(e["recipientAccountId"], ACCOUNT);
    assert_eq!(e["eventCategory"], "Management");
    assert_eq!(e["serviceEventDetails"]["rotationType"], "AUTOMATIC");
    assert_eq!(e["serviceEventDetails"]["keyOrigin"], "AWS_KMS");
    assert_eq!(e["serviceEventDetails"]["keyId"], id.as_str());

    let rotations = kms.list_key_rotations().key_id(&id).send().await.unwrap();
    assert_eq!(rotations.rotations().len(), 1);
    assert_eq!(rotations.rotations()[0].rotation_type(), Some(&RotationType::Automatic));
    assert_eq!(rotations.rotations()[0].rotation_date().unwrap().secs(), first_due, "rotated when it fell due");
    let status = kms.get_key_rotation_status().key_id(&id).send().await.unwrap();
    assert_eq!(status.next_rotation_date().unwrap().secs(), first_due + 90 * DAY);
    assert_eq!(decrypt(&kms, &old).await.unwrap(), "automatic");
    assert!(kms.list_key_rotations().key_id(&idle).send().await.unwrap().rotations().is_empty(), "rotation is per key");

    // Two more periods at once: two more rotations, in order.
    s.advance_clock(180 * DAY).await;
    let events = s.events("eventName=RotateKey").await;
    assert_eq!(events.len(), 3);
    assert_eq!(events[1]["serviceEventDetails"]["currentKeyMaterialId"], events[2]["serviceEventDetails"]["previousKeyMaterialId"]);
    assert!(events[1]["eventTime"].as_str() < events[2]["eventTime"].as_str());
    assert_eq!(decrypt(&kms, &old).await.unwrap(), "automatic");

    // Disabled rotation stops it.
    kms.disable_key_rotation().key_id(&id).send().await.unwrap();
    s.advance_clock(400 * DAY).await;
    assert_eq!(s.events("eventName=RotateKey").await.len(), 3);
}

#[tokio::test]
async fn schedule_and_cancel_key_deletion() {
    let s = Server::start().await;
    let kms = s.kms();
    let (id, arn) = new_key(&kms).await;
    let (other, _) = new_key(&kms).await;
    let blob = encrypt(&kms, &id, "pending").await;

    let out = kms.schedule_key_deletion().key_id(&id).send().await.unwrap();
    assert_eq!(out.key_id(), Some(arn.as_str()));
    assert_eq!(out.key_state(), Some(&KeyState::PendingDeletion));
    assert_eq!(out.pending_window_in_days(), Some(30), "default waiting period");
    let deletion = out.deletion_date().unwrap().secs();
    assert!((deletion - (now() + 30 * DAY)).abs() < 120);
    let r = s.record_of(out.request_id().unwrap()).await;
    assert_api_record_shape(&r);
    assert_eq!(r["readOnly"], false);
    assert_eq!(r["requestParameters"], json!({"keyId": id, "pendingWindowInDays": 30}));
    assert_eq!(r["responseElements"]["keyId"], arn.as_str());
    assert_eq!(r["responseElements"]["keyState"], "PendingDeletion");
    assert_eq!(r["responseElements"]["pendingWindowInDays"], 30);
    assert!(r["responseElements"]["deletionDate"].as_str().is_some_and(|d| d.ends_with(" AM") || d.ends_with(" PM")));

    let md = kms.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap();
    assert_eq!(md.key_state(), Some(&KeyState::PendingDeletion));
    assert!(!md.enabled());
    assert_eq!(md.deletion_date().unwrap().secs(), deletion);

    crypto_refused(&kms, &id, &other, &blob, "KMSInvalidStateException").await;
    let f = failure(kms.encrypt().key_id(&id).plaintext(Blob::new("x")).send().await.unwrap_err());
    assert_eq!(f.message, format!("{arn} is pending deletion."));
    for (op, f) in [
        ("EnableKey", failure(kms.enable_key().key_id(&id).send().await.unwrap_err())),
        ("DisableKey", failure(kms.disable_key().key_id(&id).send().await.unwrap_err())),
        ("ScheduleKeyDeletion", failure(kms.schedule_key_deletion().key_id(&id).send().await.unwrap_err())),
        ("EnableKeyRotation", failure(kms.enable_key_rotation().key_id(&id).send().await.unwrap_err())),
        ("RotateKeyOnDemand", failure(kms.rotate_key_on_demand().key_id(&id).send().await.unwrap_err())),
        ("UpdateKeyDescription", failure(kms.update_key_description().key_id(&id).description("x").send().await.unwrap_err())),
        ("CreateAlias", failure(kms.create_alias().alias_name("alias/late").target_key_id(&id).send().await.unwrap_err())),
    ] {
        assert_eq!(f.code, "KMSInvalidStateException", "{op}: {f:?}");
        assert_eq!(s.record_of(&f.request_id).await["errorCode"], "KMSInvalidStateException");
    }

    let out = kms.cancel_key_deletion().key_id(&arn).send().await.unwrap();
    assert_eq!(out.key_id(), Some(arn.as_str()));
    let r = s.record_of(out.request_id().unwrap()).await;
    assert_api_record_shape(&r);
    assert_eq!(r["requestParameters"], json!({"keyId": arn}));
    assert_eq!(r["responseElements"], json!({"keyId": arn}));
    let md = kms.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap();
    assert_eq!(md.key_state(), Some(&KeyState::Disabled), "a cancelled deletion leaves the key disabled");
    assert!(md.deletion_date().is_none());
    crypto_refused(&kms, &id, &other, &blob, "DisabledException").await;
    kms.enable_key().key_id(&id).send().await.unwrap();
    assert_eq!(decrypt(&kms, &blob).await.unwrap(), "pending");

    // Cancelling what is not pending deletion; waiting periods outside 7..=30; aliases.
    let f = failure(kms.cancel_key_deletion().key_id(&id).send().await.unwrap_err());
    assert_eq!(f.code, "KMSInvalidStateException");
    for days in [6, 31] {
        let f = failure(kms.schedule_key_deletion().key_id(&id).pending_window_in_days(days).send().await.unwrap_err());
        assert_eq!(f.code, "ValidationException", "{days} days");
        assert!(f.message.contains("pendingWindowInDays"), "{}", f.message);
    }
    kms.create_alias().alias_name("alias/doomed").target_key_id(&id).send().await.unwrap();
    assert_eq!(failure(kms.schedule_key_deletion().key_id("alias/doomed").send().await.unwrap_err()).code, "NotFoundException");
    assert_eq!(failure(kms.cancel_key_deletion().key_id("alias/doomed").send().await.unwrap_err()).code, "NotFoundException");

    // A disabled key can be scheduled too, with the shortest window.
    kms.disable_key().key_id(&id).send().await.unwrap();
    let out = kms.schedule_key_deletion().key_id(&id).pending_window_in_days(7).send().await.unwrap();
    assert_eq!(out.pending_window_in_days(), Some(7));
    let r = s.record_of(out.request_id().unwrap()).await;
    assert_eq!(r["requestParameters"], json!({"keyId": id, "pendingWindowInDays": 7}));
}

#[tokio::test]
async fn key_is_deleted_when_the_waiting_period_ends() {
    let s = Server::start().await;
    let kms = s.kms();
    let (id, arn) = new_key(&kms).await;
    let (kept, _) = new_key(&kms).await;
    kms.create_alias().alias_name("alias/goner").target_key_id(&id).send().await.unwrap();
    let blob = encrypt(&kms, &id, "gone").await;
    kms.schedule_key_deletion().key_id(&id).pending_window_in_days(7).send().await.unwrap();

    s.advance_clock(6 * DAY).await;
    assert_eq!(state(&kms, &id).await, KeyState::PendingDeletion);
    assert!(s.events("eventName=DeleteKey").await.is_empty());
    s.advance_clock(2 * DAY).await;

    let events = s.events("eventName=DeleteKey").await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e["eventType"], "AwsServiceEvent");
    assert_eq!(e["userIdentity"], json!({"accountId": ACCOUNT, "invokedBy": "AWS Internal"}));
    assert_eq!(e["requestParameters"], Value::Null);
    assert_eq!(e["responseElements"], json!({"keyId": arn}));
    assert!(e.get("requestID").is_none());
    assert!(e.get("serviceEventDetails").is_none());
    assert_eq!(e["resources"], json!([{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": arn}]));

    assert_eq!(failure(kms.describe_key().key_id(&id).send().await.unwrap_err()).code, "NotFoundException");
    assert_eq!(failure(kms.describe_key().key_id("alias/goner").send().await.unwrap_err()).code, "NotFoundException");
    let ids: Vec<String> = kms.list_keys().send().await.unwrap().keys().iter().map(|k| k.key_id().unwrap().to_string()).collect();
    assert_eq!(ids, [kept]);
    assert!(kms.list_aliases().send().await.unwrap().aliases().is_empty(), "its aliases went with it");
    assert_eq!(decrypt(&kms, &blob).await.unwrap_err().code, "InvalidCiphertextException");
}

/// botocore's GetKeyRotationStatus documentation: "while the KMS key is disabled, KMS does not
/// rotate the key material. When you re-enable the KMS key, rotation resumes. If the key material
/// in the re-enabled KMS key hasn't been rotated in one [rotation period], KMS rotates it
/// immediately, and every [period] thereafter. If it's been less than [a period] since the key
/// material was rotated, the KMS key resumes its prior rotation schedule."
#[tokio::test]
async fn a_disabled_key_misses_no_rotation_when_it_is_enabled_again() {
    let s = Server::start().await;
    let kms = s.kms();
    let (id, _) = new_key(&kms).await;
    let old = encrypt(&kms, &id, "before").await;
    kms.enable_key_rotation().key_id(&id).rotation_period_in_days(90).send().await.unwrap();
    kms.disable_key().key_id(&id).send().await.unwrap();

    s.advance_clock(100 * DAY).await;
    assert!(s.events("eventName=RotateKey").await.is_empty(), "no rotation while disabled");
    let status = kms.get_key_rotation_status().key_id(&id).send().await.unwrap();
    assert!(status.key_rotation_enabled(), "disabling the key does not change its rotation status");

    // Re-enabled with material older than the period: rotated at once, then every period.
    let out = kms.enable_key().key_id(&id).send().await.unwrap();
    let records = s.all_events().await;
    let at = records.iter().position(|r| r["requestID"] == out.request_id().unwrap()).unwrap();
    let rotated = records.get(at + 1).unwrap_or_else(|| panic!("no RotateKey after EnableKey: {records:?}"));
    assert_eq!(rotated["eventName"], "RotateKey");
    assert_eq!(rotated["eventType"], "AwsServiceEvent");
    assert_eq!(rotated["serviceEventDetails"]["rotationType"], "AUTOMATIC");
    let enabled_at = now() + 100 * DAY;
    let rotations = kms.list_key_rotations().key_id(&id).send().await.unwrap();
    assert_eq!(rotations.rotations().len(), 1);
    assert!((rotations.rotations()[0].rotation_date().unwrap().secs() - enabled_at).abs() < 120);
    let next = kms.get_key_rotation_status().key_id(&id).send().await.unwrap().next_rotation_date.unwrap().secs();
    assert!((next - (enabled_at + 90 * DAY)).abs() < 120, "next rotation one period after the catch-up");
    assert_eq!(decrypt(&kms, &old).await.unwrap(), "before");
    s.advance_clock(89 * DAY).await;
    assert_eq!(s.events("eventName=RotateKey").await.len(), 1);
    s.advance_clock(2 * DAY).await;
    assert_eq!(s.events("eventName=RotateKey").await.len(), 2);
}

#[tokio::test]
async fn a_key_disabled_for_less_than_a_period_keeps_its_rotation_schedule() {
    let s = Server::start().await;
    let kms = s.kms();
    let (id, _) = new_key(&kms).await;
    kms.enable_key_rotation().key_id(&id).rotation_period_in_days(90).send().await.unwrap();
    let due = kms.get_key_rotation_status().key_id(&id).send().await.unwrap().next_rotation_date.unwrap().secs();
    s.advance_clock(30 * DAY).await;
    kms.disable_key().key_id(&id).send().await.unwrap();
    s.advance_clock(30 * DAY).await;
    kms.enable_key().key_id(&id).send().await.unwrap();
    assert!(s.events("eventName=RotateKey").await.is_empty());
    let status = kms.get_key_rotation_status().key_id(&id).send().await.unwrap();
    assert_eq!(status.next_rotation_date().unwrap().secs(), due, "prior schedule resumed");
    s.advance_clock(31 * DAY).await;
    assert_eq!(s.events("eventName=RotateKey").await.len(), 1, "rotated on the original date");

    // Missed the date while disabled, but rotated on demand less than a period ago: the prior
    // schedule resumes (its next date after now), without an immediate rotation.
    s.advance_clock(79 * DAY).await; // day 170; the next date is day 180
    kms.rotate_key_on_demand().key_id(&id).send().await.unwrap();
    kms.disable_key().key_id(&id).send().await.unwrap();
    s.advance_clock(30 * DAY).await; // day 200: missed day 180, material 30 days old
    let before = s.events("eventName=RotateKey").await.len();
    kms.enable_key().key_id(&id).send().await.unwrap();
    assert_eq!(s.events("eventName=RotateKey").await.len(), before, "material younger than the period");
    let next = kms.get_key_rotation_status().key_id(&id).send().await.unwrap().next_rotation_date.unwrap().secs();
    assert_eq!(next, due + 180 * DAY, "the schedule's next date after now");
}

/// botocore's GetKeyRotationStatus documentation: "While a KMS key is pending deletion, its key
/// rotation status is false and KMS does not rotate the key material. If you cancel the
/// deletion, the original key rotation status returns to true."
#[tokio::test]
async fn rotation_status_is_false_while_deletion_is_pending() {
    let s = Server::start().await;
    let kms = s.kms();
    let (id, _) = new_key(&kms).await;
    kms.enable_key_rotation().key_id(&id).rotation_period_in_days(90).send().await.unwrap();
    kms.schedule_key_deletion().key_id(&id).send().await.unwrap();
    let status = kms.get_key_rotation_status().key_id(&id).send().await.unwrap();
    assert!(!status.key_rotation_enabled(), "false while pending deletion");
    assert!(status.next_rotation_date().is_none());
    kms.cancel_key_deletion().key_id(&id).send().await.unwrap();
    let status = kms.get_key_rotation_status().key_id(&id).send().await.unwrap();
    assert!(status.key_rotation_enabled(), "restored when the deletion is cancelled");
    assert_eq!(status.rotation_period_in_days(), Some(90));
}
