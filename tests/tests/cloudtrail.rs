//! The CloudTrail API through `aws-sdk-cloudtrail`: LookupEvents (every attribute, time ranges,
//! pagination while calls keep coming, errors), trail CRUD and selectors, and the log files
//! trails deliver, compared with the records in history.

use aws_sdk_cloudtrail::error::ProvideErrorMetadata;
use aws_sdk_cloudtrail::primitives::{DateTime, DateTimeFormat};
use aws_sdk_cloudtrail::types::{
    AdvancedEventSelector, AdvancedFieldSelector, Event, EventSelector, LookupAttribute, LookupAttributeKey, ReadWriteType,
};
use aws_sdk_cloudtrail::Client;
use keytrail_server::Options;
use keytrail_tests::trail_files::{align_clock, delivered_records, log_files, temp_dir};
use keytrail_tests::Server;
use serde_json::Value;

const ACCOUNT: &str = "111122223333";
const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

fn attr(key: LookupAttributeKey, value: &str) -> LookupAttribute {
    LookupAttribute::builder().attribute_key(key).attribute_value(value).build().unwrap()
}

/// Every event for one attribute, page by page.
async fn lookup(ct: &Client, key: LookupAttributeKey, value: &str) -> Vec<Event> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = ct.lookup_events().lookup_attributes(attr(key.clone(), value)).set_next_token(token).send().await.unwrap();
        out.extend(page.events().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return out;
        }
    }
}

fn epoch(event_time: &str) -> i64 {
    DateTime::from_str(event_time, DateTimeFormat::DateTime).unwrap().secs()
}

/// A LookupEvents `Event` agrees, member by member, with the record it stands for.
fn assert_event_is(e: &Event, r: &Value) {
    assert_eq!(e.event_id(), r["eventID"].as_str());
    assert_eq!(e.event_name(), r["eventName"].as_str());
    assert_eq!(e.read_only(), Some(r["readOnly"].as_bool().unwrap().to_string().as_str()));
    assert_eq!(e.access_key_id(), r["userIdentity"]["accessKeyId"].as_str());
    assert_eq!(e.event_time().unwrap().secs(), epoch(r["eventTime"].as_str().unwrap()));
    assert_eq!(e.event_source(), r["eventSource"].as_str());
    let resources: Vec<(String, String)> =
        e.resources().iter().map(|x| (x.resource_type().unwrap().to_string(), x.resource_name().unwrap().to_string())).collect();
    let expected: Vec<(String, String)> = r["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| (x["type"].as_str().unwrap().to_string(), x["ARN"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(resources, expected);
    let inner: Value = serde_json::from_str(e.cloud_trail_event().unwrap()).unwrap();
    assert_eq!(&inner, r);
}

/// History's records delivered to `ACCOUNT` in us-east-1, newest first (LookupEvents' order).
async fn history_newest_first(server: &Server) -> Vec<Value> {
    let mut all: Vec<Value> =
        server.events(&format!("account={ACCOUNT}")).await.into_iter().filter(|r| r["awsRegion"] == "us-east-1").collect();
    all.reverse();
    all
}

/// A key with an Encrypt and a Decrypt; returns (key ARN, ciphertext).
async fn key_with_traffic(server: &Server) -> String {
    let kms = server.kms();
    let arn = kms.create_key().send().await.unwrap().key_metadata().unwrap().arn().unwrap().to_string();
    let blob = kms.encrypt().key_id(&arn).plaintext(aws_sdk_kms::primitives::Blob::new(b"hello".to_vec())).send().await.unwrap();
    kms.decrypt().ciphertext_blob(blob.ciphertext_blob().unwrap().clone()).send().await.unwrap();
    arn
}

fn code<E: ProvideErrorMetadata>(e: &E) -> &str {
    e.code().unwrap_or("<none>")
}

#[tokio::test]
async fn lookup_by_every_attribute() {
    let server = Server::start().await;
    let ct = server.cloudtrail();
    let key1 = key_with_traffic(&server).await;
    let key2 = key_with_traffic(&server).await;
    // Another account and another region: never in this caller's results.
    server.kms_as("444455556666", "s", "us-east-1").create_key().send().await.unwrap();
    server.kms_as(ACCESS_KEY, "s", "us-west-2").create_key().send().await.unwrap();
    ct.describe_trails().send().await.unwrap();
    let history = history_newest_first(&server).await;
    let expect = |keep: &dyn Fn(&Value) -> bool| history.iter().filter(|r| keep(r)).cloned().collect::<Vec<_>>();
    // The lookups made here are recorded too; they are newer than the snapshot, so leave them out.
    let check = |events: Vec<Event>, expected: Vec<Value>, what: &str| {
        let events: Vec<Event> = events.into_iter().filter(|e| e.event_name() != Some("LookupEvents")).collect();
        assert!(!expected.is_empty(), "{what}: nothing expected");
        assert_eq!(events.len(), expected.len(), "{what}");
        for (e, r) in events.iter().zip(&expected) {
            assert_event_is(e, r);
        }
    };

    let decrypts = lookup(&ct, LookupAttributeKey::EventName, "Decrypt").await;
    check(decrypts, expect(&|r| r["eventName"] == "Decrypt"), "EventName");
    let one = &history[3];
    let by_id = lookup(&ct, LookupAttributeKey::EventId, one["eventID"].as_str().unwrap()).await;
    check(by_id, vec![one.clone()], "EventId");
    check(lookup(&ct, LookupAttributeKey::ReadOnly, "false").await, expect(&|r| r["readOnly"] == false), "ReadOnly false");
    check(lookup(&ct, LookupAttributeKey::ReadOnly, "true").await, expect(&|r| r["readOnly"] == true), "ReadOnly true");
    // The default account's root, whose user name in event history is `root`.
    let mut roots = lookup(&ct, LookupAttributeKey::Username, "root").await;
    assert!(roots.iter().all(|e| e.username() == Some("root")));
    check(std::mem::take(&mut roots), expect(&|r| r["userIdentity"]["type"] == "Root"), "Username");
    check(
        lookup(&ct, LookupAttributeKey::ResourceType, "AWS::KMS::Key").await,
        expect(&|r| r["resources"][0]["type"] == "AWS::KMS::Key"),
        "ResourceType",
    );
    let by_key = lookup(&ct, LookupAttributeKey::ResourceName, &key1).await;
    assert_eq!(by_key.iter().map(|e| e.event_name().unwrap()).collect::<Vec<_>>(), ["Decrypt", "Encrypt", "CreateKey"]);
    check(by_key, expect(&|r| r["resources"][0]["ARN"] == key1.as_str()), "ResourceName");
    assert_eq!(lookup(&ct, LookupAttributeKey::ResourceName, &key2).await.len(), 3);
    check(
        lookup(&ct, LookupAttributeKey::EventSource, "cloudtrail.amazonaws.com").await,
        expect(&|r| r["eventSource"] == "cloudtrail.amazonaws.com"),
        "EventSource",
    );
    check(
        lookup(&ct, LookupAttributeKey::AccessKeyId, ACCESS_KEY).await,
        expect(&|r| r["userIdentity"]["accessKeyId"] == ACCESS_KEY),
        "AccessKeyId",
    );
    assert!(lookup(&ct, LookupAttributeKey::AccessKeyId, "AKIANOBODY0000000000").await.is_empty());

    // No attribute: everything of this account and region, and only that.
    let all = ct.lookup_events().send().await.unwrap();
    assert!(all.next_token().is_none());
    check(all.events().to_vec(), history.clone(), "no attribute");
    // The other region sees its own CreateKey (and this account's lookups made there: none).
    let west = server.cloudtrail_as(ACCESS_KEY, "s", "us-west-2").lookup_events().send().await.unwrap();
    assert_eq!(west.events().iter().map(|e| e.event_name().unwrap()).collect::<Vec<_>>(), ["CreateKey"]);
}

#[tokio::test]
async fn lookup_time_range_and_the_90_day_window() {
    let server = Server::start().await;
    let ct = server.cloudtrail();
    let kms = server.kms();
    let first = kms.create_key().send().await.unwrap();
    let t1 = first.key_metadata().unwrap().creation_date().unwrap().secs();
    server.advance_clock(3600).await;
    kms.list_keys().send().await.unwrap();
    let t2 = t1 + 3600;
    server.advance_clock(3600).await;
    kms.list_aliases().send().await.unwrap();
    let t3 = t2 + 3600;
    // Look up an hour later, so the lookups' own records fall outside the ranges asked for.
    server.advance_clock(3600).await;
    let names = |out: &aws_sdk_cloudtrail::operation::lookup_events::LookupEventsOutput| {
        out.events().iter().map(|e| e.event_name().unwrap().to_string()).filter(|n| n != "LookupEvents").collect::<Vec<_>>()
    };
    let range = |s: i64, e: i64| ct.lookup_events().start_time(DateTime::from_secs(s)).end_time(DateTime::from_secs(e)).send();
    assert_eq!(names(&range(t1, t1 + 10).await.unwrap()), ["CreateKey"]);
    assert_eq!(names(&range(t1 + 10, t2 + 10).await.unwrap()), ["ListKeys"]);
    assert_eq!(names(&range(t1, t3 + 10).await.unwrap()), ["ListAliases", "ListKeys", "CreateKey"]);
    let after = ct.lookup_events().start_time(DateTime::from_secs(t2 + 10)).send().await.unwrap();
    assert_eq!(names(&after), ["ListAliases"]);
    let before = ct.lookup_events().end_time(DateTime::from_secs(t1 + 10)).send().await.unwrap();
    assert_eq!(names(&before), ["CreateKey"]);

    // Ninety days on, the first two hours have left event history (not /_keytrail/events).
    server.advance_clock(90 * 86_400 - 5400).await;
    let left = ct.lookup_events().lookup_attributes(attr(LookupAttributeKey::EventName, "CreateKey")).send().await.unwrap();
    assert!(left.events().is_empty(), "{:?}", left.events());
    let gone = ct.lookup_events().lookup_attributes(attr(LookupAttributeKey::EventName, "ListKeys")).send().await.unwrap();
    assert!(gone.events().is_empty());
    let still = ct.lookup_events().lookup_attributes(attr(LookupAttributeKey::EventName, "ListAliases")).send().await.unwrap();
    assert_eq!(names(&still), ["ListAliases"]);
    assert_eq!(server.events("eventName=CreateKey").await.len(), 1);
}

#[tokio::test]
async fn pagination_is_stable_while_calls_keep_coming() {
    let server = Server::start().await;
    let ct = server.cloudtrail();
    let kms = server.kms();
    for _ in 0..12 {
        kms.generate_random().number_of_bytes(8).send().await.unwrap();
    }
    let expected: Vec<String> = history_newest_first(&server).await.iter().map(|r| r["eventID"].as_str().unwrap().to_string()).collect();
    assert_eq!(expected.len(), 12);
    let mut seen = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = ct
            .lookup_events()
            .lookup_attributes(attr(LookupAttributeKey::EventSource, "kms.amazonaws.com"))
            .max_results(5)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(page.events().len() <= 5);
        seen.extend(page.events().iter().map(|e| e.event_id().unwrap().to_string()));
        // New events between pages neither repeat nor shift what the next page holds.
        kms.generate_random().number_of_bytes(8).send().await.unwrap();
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected);

    // The SDK's paginator walks the same way.
    let mut paginated = 0;
    let mut stream = ct.lookup_events().max_results(7).into_paginator().send();
    while let Some(page) = stream.next().await {
        paginated += page.unwrap().events().len();
    }
    // 12 + one GenerateRandom and one LookupEvents per page above.
    assert_eq!(paginated, 12 + 3 + 3);
}

#[tokio::test]
async fn lookup_refuses_bad_arguments() {
    let server = Server::start().await;
    let ct = server.cloudtrail();
    for _ in 0..3 {
        server.kms().list_keys().send().await.unwrap();
    }
    let two = ct
        .lookup_events()
        .lookup_attributes(attr(LookupAttributeKey::EventName, "ListKeys"))
        .lookup_attributes(attr(LookupAttributeKey::ReadOnly, "true"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&two), "InvalidLookupAttributesException");
    for n in [0, 51] {
        let e = ct.lookup_events().max_results(n).send().await.unwrap_err();
        assert_eq!(code(&e), "InvalidMaxResultsException", "MaxResults {n}");
    }
    let e = ct.lookup_events().start_time(DateTime::from_secs(2_000)).end_time(DateTime::from_secs(1_000)).send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidTimeRangeException");
    let page = ct.lookup_events().max_results(1).send().await.unwrap();
    let token = page.next_token().unwrap().to_string();
    let other =
        ct.lookup_events().lookup_attributes(attr(LookupAttributeKey::EventName, "ListKeys")).next_token(&token).send().await.unwrap_err();
    assert_eq!(code(&other), "InvalidNextTokenException");
    let garbage = ct.lookup_events().next_token("not-a-token").send().await.unwrap_err();
    assert_eq!(code(&garbage), "InvalidNextTokenException");
    // The same token with the same parameters still works.
    assert!(ct.lookup_events().max_results(1).next_token(&token).send().await.is_ok());
    // Failed lookups are recorded like any failed call.
    let failed = server.events("eventName=LookupEvents").await;
    let r = failed.iter().find(|r| r["errorCode"] == "InvalidMaxResultsException").expect("recorded");
    assert_eq!(r["eventSource"], "cloudtrail.amazonaws.com");
    assert_eq!(r["readOnly"], true);
    assert_eq!(r["requestParameters"]["maxResults"], 0);
}

#[tokio::test]
async fn trail_lifecycle() {
    let dir = temp_dir("lifecycle");
    let server = Server::start_with(Options { trail_dir: Some(dir.clone()), ..Options::default() }).await;
    let ct = server.cloudtrail();
    let created = ct.create_trail().name("audit-trail").s3_bucket_name("audit-logs").s3_key_prefix("kms").send().await.unwrap();
    let arn = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/audit-trail");
    assert_eq!(created.name(), Some("audit-trail"));
    assert_eq!(created.s3_bucket_name(), Some("audit-logs"));
    assert_eq!(created.s3_key_prefix(), Some("kms"));
    assert_eq!(created.trail_arn(), Some(arn.as_str()));
    assert_eq!(created.include_global_service_events(), Some(true));
    assert_eq!(created.is_multi_region_trail(), Some(false));
    assert_eq!(created.log_file_validation_enabled(), Some(false));

    let dup = ct.create_trail().name("audit-trail").s3_bucket_name("x-logs").send().await.unwrap_err();
    assert_eq!(code(&dup), "TrailAlreadyExistsException");
    for bad in ["ab", "bad--name", "-trail", "10.0.0.1"] {
        let e = ct.create_trail().name(bad).s3_bucket_name("audit-logs").send().await.unwrap_err();
        assert_eq!(code(&e), "InvalidTrailNameException", "{bad}");
    }
    let e = ct.create_trail().name("trail2").s3_bucket_name("Bad_Bucket").send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidS3BucketNameException");
    let e = ct.create_trail().name("trail2").s3_bucket_name("ok-bucket").s3_key_prefix("../up").send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidS3PrefixException");

    let got = ct.get_trail().name("audit-trail").send().await.unwrap();
    let t = got.trail().unwrap();
    assert_eq!(t.home_region(), Some("us-east-1"));
    assert_eq!(t.has_custom_event_selectors(), Some(false));
    assert_eq!(ct.get_trail().name(&arn).send().await.unwrap().trail().unwrap().name(), Some("audit-trail"));
    let listed = ct.list_trails().send().await.unwrap();
    assert_eq!(listed.trails().len(), 1);
    assert_eq!(listed.trails()[0].trail_arn(), Some(arn.as_str()));
    assert_eq!(listed.trails()[0].home_region(), Some("us-east-1"));
    let described = ct.describe_trails().send().await.unwrap();
    assert_eq!(described.trail_list().len(), 1);
    assert_eq!(ct.describe_trails().trail_name_list("nope").send().await.unwrap().trail_list().len(), 0);
    assert_eq!(ct.describe_trails().trail_name_list(&arn).send().await.unwrap().trail_list().len(), 1);

    let status = ct.get_trail_status().name("audit-trail").send().await.unwrap();
    assert_eq!(status.is_logging(), Some(false));
    ct.start_logging().name("audit-trail").send().await.unwrap();
    let status = ct.get_trail_status().name("audit-trail").send().await.unwrap();
    assert_eq!(status.is_logging(), Some(true));
    assert!(status.start_logging_time().is_some());

    let updated = ct.update_trail().name("audit-trail").s3_key_prefix("kms/v2").is_multi_region_trail(true).send().await.unwrap();
    assert_eq!(updated.s3_key_prefix(), Some("kms/v2"));
    assert_eq!(updated.is_multi_region_trail(), Some(true));
    // A multi-region trail is visible from other regions, but changed only from its home region.
    let west = server.cloudtrail_as(ACCESS_KEY, "s", "us-west-2");
    assert_eq!(west.get_trail().name("audit-trail").send().await.unwrap().trail().unwrap().home_region(), Some("us-east-1"));
    let e = west.stop_logging().name(&arn).send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidHomeRegionException");
    let e = ct.get_trail().name("arn:aws:cloudtrail:us-east-1:1234:trail/x").send().await.unwrap_err();
    assert_eq!(code(&e), "CloudTrailARNInvalidException");
    // Another account sees none of it: its ARN is refused as a cross-account request without a
    // resource policy (trails have none), and its own trail list is empty.
    let other = server.cloudtrail_as("444455556666", "s", "us-east-1");
    assert_eq!(code(&other.get_trail().name(&arn).send().await.unwrap_err()), "AccessDeniedException");
    assert_eq!(code(&other.get_trail().name("audit-trail").send().await.unwrap_err()), "TrailNotFoundException");
    assert!(other.list_trails().send().await.unwrap().trails().is_empty());

    ct.stop_logging().name("audit-trail").send().await.unwrap();
    let status = ct.get_trail_status().name("audit-trail").send().await.unwrap();
    assert_eq!(status.is_logging(), Some(false));
    assert!(status.stop_logging_time().is_some());
    ct.delete_trail().name("audit-trail").send().await.unwrap();
    let gone = ct.get_trail().name("audit-trail").send().await.unwrap_err();
    assert_eq!(code(&gone), "TrailNotFoundException");
    assert_eq!(gone.message(), Some(format!("Unknown trail: audit-trail for the user: {ACCOUNT}").as_str()));

    // Every call was recorded as CloudTrail's own management event.
    let records = server.events("").await;
    let create = records.iter().find(|r| r["eventName"] == "CreateTrail" && r.get("errorCode").is_none()).unwrap();
    assert_eq!(create["eventSource"], "cloudtrail.amazonaws.com");
    assert_eq!(create["readOnly"], false);
    assert_eq!(create["requestParameters"], serde_json::json!({"name":"audit-trail","s3BucketName":"audit-logs","s3KeyPrefix":"kms"}));
    assert_eq!(create["responseElements"]["trailARN"], arn.as_str());
    assert_eq!(create["responseElements"]["s3BucketName"], "audit-logs");
    assert_eq!(create["resources"], serde_json::json!([{"accountId": ACCOUNT, "type": "AWS::CloudTrail::Trail", "ARN": arn}]));
    for name in ["GetTrail", "ListTrails", "DescribeTrails", "GetTrailStatus"] {
        let r = records.iter().find(|r| r["eventName"] == name).unwrap();
        assert_eq!(r["readOnly"], true, "{name}");
        assert_eq!(r["responseElements"], Value::Null, "{name}");
    }
    for name in ["StartLogging", "StopLogging", "DeleteTrail", "UpdateTrail"] {
        let r = records.iter().find(|r| r["eventName"] == name && r.get("errorCode").is_none()).unwrap();
        assert_eq!(r["readOnly"], false, "{name}");
        assert_eq!(r["requestParameters"]["name"], "audit-trail", "{name}");
    }
    let dup_record = records.iter().find(|r| r["errorCode"] == "TrailAlreadyExistsException").unwrap();
    assert_eq!(dup_record["responseElements"], Value::Null);
    server.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn event_selectors_round_trip() {
    let dir = temp_dir("selectors");
    let server = Server::start_with(Options { trail_dir: Some(dir.clone()), ..Options::default() }).await;
    let ct = server.cloudtrail();
    ct.create_trail().name("sel-trail").s3_bucket_name("sel-logs").send().await.unwrap();
    let default = ct.get_event_selectors().trail_name("sel-trail").send().await.unwrap();
    let s = &default.event_selectors()[0];
    assert_eq!(s.read_write_type(), Some(&ReadWriteType::All));
    assert_eq!(s.include_management_events(), Some(true));
    assert!(s.exclude_management_event_sources().is_empty());
    assert!(default.advanced_event_selectors().is_empty());

    let no_kms = EventSelector::builder()
        .read_write_type(ReadWriteType::WriteOnly)
        .include_management_events(true)
        .exclude_management_event_sources("kms.amazonaws.com")
        .build();
    let put = ct.put_event_selectors().trail_name("sel-trail").event_selectors(no_kms).send().await.unwrap();
    assert_eq!(put.trail_arn(), Some(format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/sel-trail").as_str()));
    let got = ct.get_event_selectors().trail_name("sel-trail").send().await.unwrap();
    for s in [&put.event_selectors()[0], &got.event_selectors()[0]] {
        assert_eq!(s.read_write_type(), Some(&ReadWriteType::WriteOnly));
        assert_eq!(s.include_management_events(), Some(true));
        assert_eq!(s.exclude_management_event_sources(), ["kms.amazonaws.com"]);
        assert!(s.data_resources().is_empty());
    }
    assert_eq!(got.event_selectors().len(), 1);
    assert_eq!(ct.get_trail().name("sel-trail").send().await.unwrap().trail().unwrap().has_custom_event_selectors(), Some(true));

    let advanced = AdvancedEventSelector::builder()
        .name("management without kms")
        .field_selectors(AdvancedFieldSelector::builder().field("eventCategory").equals("Management").build().unwrap())
        .field_selectors(AdvancedFieldSelector::builder().field("eventSource").not_equals("kms.amazonaws.com").build().unwrap())
        .build()
        .unwrap();
    ct.put_event_selectors().trail_name("sel-trail").advanced_event_selectors(advanced.clone()).send().await.unwrap();
    let got = ct.get_event_selectors().trail_name("sel-trail").send().await.unwrap();
    assert_eq!(got.advanced_event_selectors(), std::slice::from_ref(&advanced));
    assert!(got.event_selectors().is_empty());

    let bad = EventSelector::builder().exclude_management_event_sources("s3.amazonaws.com").build();
    let e = ct.put_event_selectors().trail_name("sel-trail").event_selectors(bad).send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidEventSelectorsException");
    let both = ct
        .put_event_selectors()
        .trail_name("sel-trail")
        .event_selectors(EventSelector::builder().build())
        .advanced_event_selectors(advanced)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&both), "InvalidParameterCombinationException");
    let missing = ct.get_event_selectors().trail_name("no-such-trail").send().await.unwrap_err();
    assert_eq!(code(&missing), "TrailNotFoundException");

    let put_record = server.events("eventName=PutEventSelectors").await.into_iter().next().unwrap();
    assert_eq!(
        put_record["requestParameters"]["eventSelectors"][0]["excludeManagementEventSources"],
        serde_json::json!(["kms.amazonaws.com"])
    );
    assert_eq!(put_record["responseElements"]["eventSelectors"][0]["readWriteType"], "WriteOnly");
    server.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn log_files_hold_what_history_holds() {
    let dir = temp_dir("delivery");
    let server = Server::start_with(Options { trail_dir: Some(dir.clone()), ..Options::default() }).await;
    let ct = server.cloudtrail();
    align_clock(&server).await;
    ct.create_trail().name("files").s3_bucket_name("trail-bucket").s3_key_prefix("org/prod").send().await.unwrap();
    ct.start_logging().name("files").send().await.unwrap();
    key_with_traffic(&server).await;
    // Another account's and another region's calls never reach this single-region trail.
    server.kms_as("444455556666", "s", "us-east-1").create_key().send().await.unwrap();
    server.kms_as(ACCESS_KEY, "s", "us-west-2").create_key().send().await.unwrap();
    assert!(log_files(&dir).is_empty(), "nothing is delivered before the interval ends");

    server.advance_clock(300).await;
    let files = log_files(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let key = &files[0].key;
    let prefix = format!("trail-bucket/org/prod/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/");
    assert!(key.starts_with(&prefix), "{key}");
    let rest: Vec<&str> = key[prefix.len()..].split('/').collect();
    assert_eq!(rest.len(), 4, "{key}");
    let name = rest[3];
    let stamp = format!("{}{}{}T", rest[0], rest[1], rest[2]);
    assert!(name.starts_with(&format!("{ACCOUNT}_CloudTrail_us-east-1_{stamp}")), "{name}");
    assert!(name.ends_with(".json.gz"));
    let unique = &name[name.len() - ".json.gz".len() - 16..name.len() - ".json.gz".len()];
    assert!(unique.bytes().all(|b| b.is_ascii_alphanumeric()), "{name}");
    assert_eq!(&name[name.len() - ".json.gz".len() - 17..][..1], "_");

    // The file holds exactly the records of this account and region since StartLogging.
    let history: Vec<Value> = server.events(&format!("account={ACCOUNT}")).await;
    let start = history.iter().position(|r| r["eventName"] == "StartLogging").unwrap();
    let expected: Vec<&Value> = history[start..].iter().filter(|r| r["awsRegion"] == "us-east-1").collect();
    let delivered: Vec<&Value> = files[0].records.iter().collect();
    assert_eq!(delivered, expected);
    assert_eq!(keytrail_tests::event_names(&files[0].records), ["StartLogging", "CreateKey", "Encrypt", "Decrypt"]);

    // Later records wait for the next interval, or for shutdown.
    server.kms().list_keys().send().await.unwrap();
    let last = server.last_event().await;
    server.stop().await;
    let files = log_files(&dir);
    assert_eq!(files.len(), 2);
    assert!(files.iter().any(|f| f.records == [last.clone()]), "{files:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn excluding_kms_stops_kms_records_and_is_itself_recorded() {
    let dir = temp_dir("exclude");
    let server = Server::start_with(Options { trail_dir: Some(dir.clone()), ..Options::default() }).await;
    let ct = server.cloudtrail();
    align_clock(&server).await;
    ct.create_trail().name("no-kms").s3_bucket_name("b-no-kms").is_multi_region_trail(true).send().await.unwrap();
    ct.create_trail().name("everything").s3_bucket_name("b-all").send().await.unwrap();
    ct.start_logging().name("no-kms").send().await.unwrap();
    ct.start_logging().name("everything").send().await.unwrap();
    let kms = server.kms();
    kms.list_keys().send().await.unwrap();
    let exclude = EventSelector::builder().exclude_management_event_sources("kms.amazonaws.com").build();
    ct.put_event_selectors().trail_name("no-kms").event_selectors(exclude).send().await.unwrap();
    kms.list_aliases().send().await.unwrap();
    server.kms_as(ACCESS_KEY, "s", "eu-west-1").create_key().send().await.unwrap();
    // Re-included: later KMS records flow again; the ones from while excluded never do.
    ct.put_event_selectors().trail_name("no-kms").event_selectors(EventSelector::builder().build()).send().await.unwrap();
    kms.generate_random().number_of_bytes(4).send().await.unwrap();
    server.advance_clock(300).await;

    let names = |bucket: &str| keytrail_tests::event_names(&delivered_records(&dir.join(bucket)));
    let no_kms = names("b-no-kms");
    assert_eq!(no_kms, ["StartLogging", "StartLogging", "ListKeys", "PutEventSelectors", "PutEventSelectors", "GenerateRandom"]);
    let all = names("b-all");
    assert_eq!(all, ["StartLogging", "ListKeys", "PutEventSelectors", "ListAliases", "PutEventSelectors", "GenerateRandom"]);
    // The multi-region trail has a directory per region; eu-west-1's CreateKey was excluded.
    let regions: Vec<String> = log_files(&dir.join("b-no-kms")).iter().map(|f| f.key.split('/').nth(3).unwrap().to_string()).collect();
    assert_eq!(regions, ["us-east-1"]);
    // Event history ignores selectors.
    let history = lookup(&ct, LookupAttributeKey::EventSource, "kms.amazonaws.com").await;
    assert_eq!(history.iter().map(|e| e.event_name().unwrap()).collect::<Vec<_>>(), ["GenerateRandom", "ListAliases", "ListKeys"]);
    let put = lookup(&ct, LookupAttributeKey::EventName, "PutEventSelectors").await;
    assert_eq!(put.len(), 2);
    assert_eq!(put[1].resources()[0].resource_name(), Some(format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/no-kms").as_str()));
    server.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn multi_region_trail_writes_a_file_per_region() {
    let dir = temp_dir("multi");
    let server = Server::start_with(Options { trail_dir: Some(dir.clone()), ..Options::default() }).await;
    let ct = server.cloudtrail();
    align_clock(&server).await;
    ct.create_trail().name("everywhere").s3_bucket_name("multi").is_multi_region_trail(true).send().await.unwrap();
    ct.start_logging().name("everywhere").send().await.unwrap();
    let west = server.kms_as(ACCESS_KEY, "s", "us-west-2").create_key().send().await.unwrap();
    server.advance_clock(300).await;
    let files = log_files(&dir);
    let by_region: Vec<(String, Vec<String>)> = files
        .iter()
        .map(|f| {
            let region = f.key.split('/').nth(4).unwrap().to_string();
            assert!(f.key.contains(&format!("_CloudTrail_{region}_")), "{}", f.key);
            (region, keytrail_tests::event_names(&f.records))
        })
        .collect();
    assert_eq!(
        by_region,
        [("us-east-1".to_string(), vec!["StartLogging".to_string()]), ("us-west-2".to_string(), vec!["CreateKey".to_string()])]
    );
    let west_record = &files[1].records[0];
    assert_eq!(west_record["awsRegion"], "us-west-2");
    assert_eq!(west_record["resources"][0]["ARN"], west.key_metadata().unwrap().arn().unwrap());
    server.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn trail_tags_are_added_listed_removed_and_recorded() {
    use aws_sdk_cloudtrail::types::Tag;
    let server = Server::start().await;
    let ct = server.cloudtrail();
    let tag = |k: &str, v: Option<&str>| Tag::builder().key(k).set_value(v.map(str::to_string)).build().unwrap();
    let created = ct.create_trail().name("audit").s3_bucket_name("logs").tags_list(tag("team", Some("sec"))).send().await.unwrap();
    let arn = created.trail_arn().unwrap().to_string();
    ct.add_tags().resource_id(&arn).tags_list(tag("cost", None)).tags_list(tag("team", Some("red"))).send().await.unwrap();
    let r = server.last_event().await;
    assert_eq!((r["eventSource"].as_str(), r["eventName"].as_str()), (Some("cloudtrail.amazonaws.com"), Some("AddTags")));
    assert_eq!(r["readOnly"], false);
    assert_eq!(r["requestParameters"]["resourceId"], arn.as_str());
    assert_eq!(r["requestParameters"]["tagsList"], serde_json::json!([{"key": "cost"}, {"key": "team", "value": "red"}]));
    assert_eq!(r["responseElements"], Value::Null);
    assert_eq!(r["resources"][0]["ARN"], arn.as_str());

    let listed = ct.list_tags().resource_id_list(&arn).send().await.unwrap();
    let entry = &listed.resource_tag_list()[0];
    assert_eq!(entry.resource_id(), Some(arn.as_str()));
    let tags: Vec<(&str, Option<&str>)> = entry.tags_list().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, [("team", Some("red")), ("cost", None)], "a key already there has its value replaced");
    assert_eq!(server.last_event().await["readOnly"], true);

    ct.remove_tags().resource_id("audit").tags_list(tag("team", None)).send().await.unwrap();
    let listed = ct.list_tags().resource_id_list("audit").send().await.unwrap();
    assert_eq!(listed.resource_tag_list()[0].tags_list().len(), 1);

    // The model's limits and CloudTrail's errors.
    let e = ct.add_tags().resource_id(&arn).tags_list(tag("", None)).send().await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidTagParameterException"));
    let fifty: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), Some("v"))).collect();
    let e = ct.add_tags().resource_id(&arn).set_tags_list(Some(fifty)).send().await.unwrap_err();
    assert_eq!(e.code(), Some("TagsLimitExceededException"), "cost + 50 would be 51");
    let e = ct.add_tags().resource_id(arn.replace("audit", "missing")).tags_list(tag("x", None)).send().await.unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
    let e = ct.list_tags().resource_id_list("arn:aws:cloudtrail:us-east-1:1:trail/x").send().await.unwrap_err();
    assert_eq!(e.code(), Some("CloudTrailARNInvalidException"));
    let e = ct.create_trail().name("bad").s3_bucket_name("logs").tags_list(tag("k", Some(""))).send().await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidTagParameterException"));
    let listed = ct.list_tags().resource_id_list(&arn).send().await.unwrap();
    assert_eq!(listed.resource_tag_list()[0].tags_list().len(), 1, "failed calls changed nothing");
}
