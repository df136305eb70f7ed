//! The mock clock: moving it forward fires, in time order, what falls due — automatic rotation,
//! deletion at the end of the waiting period, trail deliveries — and records the service events
//! AWS records. No test sleeps.

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::{Blob, DateTime, DateTimeFormat};
use aws_sdk_kms::types::{IncludeKeyMaterial, RotationType};
use keytrail_server::Options;
use keytrail_tests::trail_files::{align_clock, log_files, temp_dir};
use keytrail_tests::Server;
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const DAY: i64 = 86_400;

fn epoch(event_time: &str) -> i64 {
    DateTime::from_str(event_time, DateTimeFormat::DateTime).unwrap().secs()
}

/// The shape AWS publishes for KMS's own events (RotateKey, DeleteKey), field by field and in
/// AWS's order.
fn assert_service_event(r: &Value, name: &str, key_arn: &str) {
    let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = vec![
        "eventVersion",
        "userIdentity",
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "requestParameters",
        "responseElements",
        "eventID",
        "readOnly",
        "resources",
        "eventType",
        "managementEvent",
        "recipientAccountId",
        "serviceEventDetails",
        "eventCategory",
    ];
    if name != "RotateKey" {
        expected.retain(|k| *k != "serviceEventDetails");
    }
    assert_eq!(keys, expected, "{r}");
    assert_eq!(r["eventVersion"], "1.11");
    assert_eq!(r["userIdentity"], json!({ "accountId": ACCOUNT, "invokedBy": "AWS Internal" }));
    assert_eq!(r["eventSource"], "kms.amazonaws.com");
    assert_eq!(r["eventName"], name);
    assert_eq!(r["awsRegion"], "us-east-1");
    assert_eq!(r["sourceIPAddress"], "AWS Internal");
    assert_eq!(r["userAgent"], "AWS Internal");
    assert_eq!(r["requestParameters"], Value::Null);
    assert_eq!(r["readOnly"], false);
    assert_eq!(r["resources"], json!([{ "accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": key_arn }]));
    assert_eq!(r["eventType"], "AwsServiceEvent");
    assert_eq!(r["managementEvent"], true);
    assert_eq!(r["recipientAccountId"], ACCOUNT);
    assert_eq!(r["eventCategory"], "Management");
    assert_eq!(r["eventID"].as_str().unwrap().len(), 36);
}

async fn material_ids(server: &Server, key: &str) -> Vec<String> {
    let out = server.kms().list_key_rotations().key_id(key).include_key_material(IncludeKeyMaterial::AllKeyMaterial).send().await.unwrap();
    out.rotations().iter().map(|r| r.key_material_id().unwrap().to_string()).collect()
}

#[tokio::test]
async fn automatic_rotation_after_the_rotation_period() {
    let server = Server::start().await;
    let kms = server.kms();
    let meta = kms.create_key().send().await.unwrap();
    let (key_id, arn) = (meta.key_metadata().unwrap().key_id().to_string(), meta.key_metadata().unwrap().arn().unwrap().to_string());
    let old = kms.encrypt().key_id(&key_id).plaintext(Blob::new(b"before".to_vec())).send().await.unwrap();
    kms.enable_key_rotation().key_id(&key_id).rotation_period_in_days(90).send().await.unwrap();
    let enabled_at = epoch(server.last_event().await["eventTime"].as_str().unwrap());
    let before = material_ids(&server, &key_id).await;
    assert_eq!(before.len(), 1);

    server.advance_clock(89 * DAY).await;
    assert!(server.events("eventName=RotateKey").await.is_empty(), "not due yet");
    server.advance_clock(2 * DAY).await;
    let rotations = server.events("eventName=RotateKey").await;
    assert_eq!(rotations.len(), 1, "{rotations:?}");
    let r = &rotations[0];
    assert_service_event(r, "RotateKey", &arn);
    assert_eq!(r["responseElements"], Value::Null);
    assert!((epoch(r["eventTime"].as_str().unwrap()) - (enabled_at + 90 * DAY)).abs() <= 1, "fires when due, not when noticed");
    let after = material_ids(&server, &key_id).await;
    assert_eq!(after.len(), 2);
    assert_eq!(after[0], before[0]);
    assert_eq!(
        r["serviceEventDetails"],
        json!({
            "rotationType": "AUTOMATIC",
            "keyOrigin": "AWS_KMS",
            "previousKeyMaterialId": before[0],
            "currentKeyMaterialId": after[1],
            "keyId": key_id,
        })
    );
    let listed = kms.list_key_rotations().key_id(&key_id).send().await.unwrap();
    assert_eq!(listed.rotations().len(), 1);
    assert_eq!(listed.rotations()[0].rotation_type(), Some(&RotationType::Automatic));
    let status = kms.get_key_rotation_status().key_id(&key_id).send().await.unwrap();
    // enabled_at is when the call completed, so it may be a second after the period started.
    assert!((status.next_rotation_date().unwrap().secs() - (enabled_at + 180 * DAY)).abs() <= 1);
    // Old ciphertext still decrypts; new encryptions use the new material.
    let plain = kms.decrypt().ciphertext_blob(old.ciphertext_blob().unwrap().clone()).send().await.unwrap();
    assert_eq!(plain.plaintext().unwrap().as_ref(), b"before");
    kms.encrypt().key_id(&key_id).plaintext(Blob::new(b"after".to_vec())).send().await.unwrap();
    assert_eq!(server.last_event().await["additionalEventData"]["keyMaterialId"], after[1].as_str());

    // Event history has it, with no user, access key or request id.
    let ct = server.cloudtrail();
    let attr = LookupAttribute::builder().attribute_key(LookupAttributeKey::EventName).attribute_value("RotateKey").build().unwrap();
    let found = ct.lookup_events().lookup_attributes(attr).send().await.unwrap();
    assert_eq!(found.events().len(), 1);
    let e = &found.events()[0];
    assert_eq!(e.event_id(), r["eventID"].as_str());
    assert_eq!((e.username(), e.access_key_id(), e.read_only()), (None, None, Some("false")));
}

#[tokio::test]
async fn missed_periods_rotate_once_each_in_time_order() {
    let server = Server::start().await;
    let kms = server.kms();
    let key_id = kms.create_key().send().await.unwrap().key_metadata().unwrap().key_id().to_string();
    kms.enable_key_rotation().key_id(&key_id).rotation_period_in_days(90).send().await.unwrap();
    server.advance_clock(200 * DAY).await;
    let rotations = server.events("eventName=RotateKey").await;
    assert_eq!(rotations.len(), 2);
    let times: Vec<i64> = rotations.iter().map(|r| epoch(r["eventTime"].as_str().unwrap())).collect();
    assert!((times[1] - times[0] - 90 * DAY).abs() <= 1, "{times:?}");
    assert_eq!(rotations[1]["serviceEventDetails"]["previousKeyMaterialId"], rotations[0]["serviceEventDetails"]["currentKeyMaterialId"]);
    assert_eq!(material_ids(&server, &key_id).await.len(), 3);
    // Nothing more fires until the next period ends.
    server.advance_clock(DAY).await;
    assert_eq!(server.events("eventName=RotateKey").await.len(), 2);
}

#[tokio::test]
async fn on_demand_rotation_records_its_service_event() {
    let server = Server::start().await;
    let kms = server.kms();
    let meta = kms.create_key().send().await.unwrap();
    let (key_id, arn) = (meta.key_metadata().unwrap().key_id().to_string(), meta.key_metadata().unwrap().arn().unwrap().to_string());
    let before = material_ids(&server, &key_id).await;
    kms.rotate_key_on_demand().key_id(&key_id).send().await.unwrap();
    let all = server.all_events().await;
    let n = all.len();
    let (call, event) = (&all[n - 2], &all[n - 1]);
    assert_eq!(call["eventName"], "RotateKeyOnDemand");
    assert_eq!(call["eventType"], "AwsApiCall");
    assert_eq!(call["responseElements"], json!({ "keyId": key_id }));
    assert_service_event(event, "RotateKey", &arn);
    let after = material_ids(&server, &key_id).await;
    assert_eq!(event["serviceEventDetails"]["rotationType"], "ON_DEMAND");
    assert_eq!(event["serviceEventDetails"]["previousKeyMaterialId"], before[0].as_str());
    assert_eq!(event["serviceEventDetails"]["currentKeyMaterialId"], after[1].as_str());
    // Same moment (the call's record takes the time it completed: at most a second later).
    let (t_event, t_call) = (epoch(event["eventTime"].as_str().unwrap()), epoch(call["eventTime"].as_str().unwrap()));
    assert!((0..=1).contains(&(t_call - t_event)), "{t_event} {t_call}");
}

#[tokio::test]
async fn deletion_at_the_end_of_the_waiting_period() {
    let server = Server::start().await;
    let kms = server.kms();
    let meta = kms.create_key().send().await.unwrap();
    let (key_id, arn) = (meta.key_metadata().unwrap().key_id().to_string(), meta.key_metadata().unwrap().arn().unwrap().to_string());
    kms.create_alias().alias_name("alias/doomed").target_key_id(&key_id).send().await.unwrap();
    let scheduled = kms.schedule_key_deletion().key_id(&key_id).pending_window_in_days(7).send().await.unwrap();
    let deletion_date = scheduled.deletion_date().unwrap().secs();

    server.advance_clock(6 * DAY).await;
    assert!(server.events("eventName=DeleteKey").await.is_empty());
    let pending = kms.describe_key().key_id(&key_id).send().await.unwrap();
    assert_eq!(pending.key_metadata().unwrap().key_state().unwrap().as_str(), "PendingDeletion");

    server.advance_clock(2 * DAY).await;
    let deleted = server.events("eventName=DeleteKey").await;
    assert_eq!(deleted.len(), 1);
    let r = &deleted[0];
    assert_service_event(r, "DeleteKey", &arn);
    assert_eq!(r["responseElements"], json!({ "keyId": arn }));
    assert_eq!(epoch(r["eventTime"].as_str().unwrap()), deletion_date);

    let e = kms.describe_key().key_id(&key_id).send().await.unwrap_err();
    assert_eq!(e.code(), Some("NotFoundException"));
    let e = kms.encrypt().key_id(&arn).plaintext(Blob::new(b"x".to_vec())).send().await.unwrap_err();
    assert_eq!(e.code(), Some("NotFoundException"));
    let e = kms.describe_key().key_id("alias/doomed").send().await.unwrap_err();
    assert_eq!(e.code(), Some("NotFoundException"));
    let keys = kms.list_keys().send().await.unwrap();
    assert!(keys.keys().iter().all(|k| k.key_id() != Some(key_id.as_str())));
    // Deleted once: later ticks fire nothing more.
    server.advance_clock(30 * DAY).await;
    assert_eq!(server.events("eventName=DeleteKey").await.len(), 1);
}

#[tokio::test]
async fn deliveries_follow_the_clock_in_time_order() {
    let dir = temp_dir("clock-delivery");
    let server = Server::start_with(Options { trail_dir: Some(dir.clone()), ..Options::default() }).await;
    let ct = server.cloudtrail();
    align_clock(&server).await;
    ct.create_trail().name("timeline").s3_bucket_name("timeline").send().await.unwrap();
    ct.start_logging().name("timeline").send().await.unwrap();
    let kms = server.kms();
    let key_id = kms.create_key().send().await.unwrap().key_metadata().unwrap().key_id().to_string();
    let scheduled = kms.schedule_key_deletion().key_id(&key_id).pending_window_in_days(7).send().await.unwrap();
    let deletion_date = scheduled.deletion_date().unwrap().secs();
    server.advance_clock(8 * DAY).await;

    let files = log_files(&dir);
    // One file for the calls (at the end of their 5-minute interval), one for the deletion (at
    // the end of the interval it fell in, a week later), not one per interval in between.
    let names: Vec<Vec<String>> = files.iter().map(|f| keytrail_tests::event_names(&f.records)).collect();
    assert_eq!(names, [vec!["StartLogging", "CreateKey", "ScheduleKeyDeletion"], vec!["DeleteKey"]]);
    let stamp = |key: &str| key.rsplit('_').nth(1).unwrap().to_string();
    let delete_file = stamp(&files[1].key);
    let due = (deletion_date / 300 + 1) * 300;
    let t = time_parts(due);
    assert_eq!(delete_file, t, "{}", files[1].key);
    assert!(files[1].key.contains(&format!("/{}/{}/{}/", &t[0..4], &t[4..6], &t[6..8])));
    let status = ct.get_trail_status().name("timeline").send().await.unwrap();
    assert_eq!(status.latest_delivery_time().unwrap().secs(), due);
    server.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// `YYYYMMDDTHHmmZ` of Unix time `secs`.
fn time_parts(secs: i64) -> String {
    let s = DateTime::from_secs(secs).fmt(DateTimeFormat::DateTime).unwrap();
    format!("{}{}{}T{}{}Z", &s[0..4], &s[5..7], &s[8..10], &s[11..13], &s[14..16])
}

#[tokio::test]
async fn the_clock_only_moves_forward() {
    let server = Server::start().await;
    let now = server.control("GET", "/_keytrail/clock", None).await["now"].as_str().unwrap().to_string();
    let moved = server.advance_clock(DAY).await;
    let later = moved["now"].as_str().unwrap();
    assert!(epoch(later) - epoch(&now) >= DAY);
    let (status, body) = server.control_raw("POST", "/_keytrail/clock", Some(&format!("{{\"set\":\"{now}\"}}"))).await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = server.control_raw("POST", "/_keytrail/clock", Some("{\"advanceSeconds\":-5}")).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_disabled_key_is_not_rotated_and_rotates_once_when_enabled_again() {
    let server = keytrail_tests::Server::start().await;
    let kms = server.kms();
    let key = kms.create_key().send().await.unwrap().key_metadata().unwrap().key_id().to_string();
    kms.enable_key_rotation().key_id(&key).rotation_period_in_days(90).send().await.unwrap();
    kms.disable_key().key_id(&key).send().await.unwrap();
    server.advance_clock(200 * 86_400).await;
    assert!(server.events("eventName=RotateKey").await.is_empty(), "no rotation while disabled");
    kms.enable_key().key_id(&key).send().await.unwrap();
    server.advance_clock(1).await;
    assert_eq!(server.events("eventName=RotateKey").await.len(), 1, "one rotation after re-enabling");
    let rotations = kms.list_key_rotations().key_id(&key).send().await.unwrap();
    assert_eq!(rotations.rotations().len(), 1);
    let status = kms.get_key_rotation_status().key_id(&key).send().await.unwrap();
    let next = status.next_rotation_date().unwrap().secs();
    let now = time::OffsetDateTime::parse(
        server.control("GET", "/_keytrail/clock", None).await["now"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp();
    assert!((next - now - 90 * 86_400).abs() <= 2, "next rotation a period from now");
}

/// Seconds since the epoch of a clock answer.
fn clock_secs(v: &Value) -> i64 {
    time::OffsetDateTime::parse(v["now"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap().unix_timestamp()
}

/// 9999-12-31T23:59:59Z: the latest time an AWS timestamp holds.
const LATEST: i64 = 253_402_300_799;

/// The mock clock refuses anything past 9999-12-31T23:59:59Z (or overflowing) with a 400 and
/// moves not at all; what it accepted survives a restart with `--data-dir`, and calls work at the
/// very end of time (a deletion date 30 days later stops at the latest time, no panic).
#[tokio::test]
async fn the_clock_refuses_times_past_year_9999_and_a_restart_keeps_what_it_accepted() {
    let dir = temp_dir("clock-bounds");
    let options = || Options { data_dir: Some(dir.join("data")), ..Options::default() };
    let server = Server::start_with(options()).await;
    let start = clock_secs(&server.advance_clock(DAY).await);
    let to_end = LATEST - start;
    for body in [
        json!({"advanceSeconds": i64::MAX}).to_string(),
        r#"{"advanceSeconds": 9223372036854775808}"#.to_string(),
        r#"{"advanceSeconds": 1e30}"#.to_string(),
        r#"{"advanceSeconds": 1.5}"#.to_string(),
        r#"{"advanceSeconds": "60"}"#.to_string(),
        json!({"advanceSeconds": to_end + 3600}).to_string(),
        r#"{"set": "9999-12-31T23:00:00-05:00"}"#.to_string(),
        r#"{"set": "10000-01-01T00:00:00Z"}"#.to_string(),
    ] {
        let (status, text) = server.control_raw("POST", "/_keytrail/clock", Some(&body)).await;
        assert_eq!(status, 400, "{body}: {text}");
        let now = clock_secs(&server.control("GET", "/_keytrail/clock", None).await);
        assert!((now - start).abs() < 60, "{body} moved the clock");
    }
    let (_, text) = server.control_raw("POST", "/_keytrail/clock", Some(&json!({"advanceSeconds": to_end + 3600}).to_string())).await;
    assert!(text.contains("9999-12-31T23:59:59Z"), "{text}");
    let kms = server.kms();
    kms.create_key().send().await.expect("calls still work after refusals");
    server.stop().await;

    // Restarted: the clock is where the last accepted move put it.
    let server = Server::start_with(options()).await;
    assert!((clock_secs(&server.control("GET", "/_keytrail/clock", None).await) - start).abs() < 60);
    // To the last minute of year 9999: accepted, and everything still works there.
    let near = server.control("POST", "/_keytrail/clock", Some(r#"{"set":"9999-12-31T23:59:00Z"}"#)).await;
    assert_eq!(clock_secs(&near), LATEST - 59);
    let kms = server.kms();
    let key = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let scheduled = kms.schedule_key_deletion().key_id(&key).pending_window_in_days(30).send().await.unwrap();
    assert_eq!(scheduled.deletion_date().unwrap().secs(), LATEST, "the deletion date stops at the latest time");
    let (status, _) = server.control_raw("POST", "/_keytrail/clock", Some(r#"{"advanceSeconds":120}"#)).await;
    assert_eq!(status, 400);
    server.control("POST", "/_keytrail/clock", Some(r#"{"set":"9999-12-31T23:59:59Z"}"#)).await;
    assert_eq!(server.events("eventName=DeleteKey").await.len(), 1, "the deletion fell due at the latest time");
    server.stop().await;

    // A data dir whose stored offset is past anything (an older keytrail accepted one) still
    // starts; its clock stands at the latest time.
    let db = rusqlite::Connection::open(dir.join("data").join("keytrail.db")).unwrap();
    db.execute("UPDATE state SET body = ?1 WHERE kind = 'meta' AND id = 'clock_offset_ms'", [i64::MAX.to_string().into_bytes()]).unwrap();
    drop(db);
    let server = Server::start_with(options()).await;
    assert_eq!(clock_secs(&server.control("GET", "/_keytrail/clock", None).await), LATEST);
    server.kms().create_key().send().await.expect("a call at the end of time");
    assert_eq!(server.last_event().await["eventTime"], "9999-12-31T23:59:59Z");
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
