//! Aliases (CreateAlias, UpdateAlias, DeleteAlias, ListAliases with KeyId filter and paging) and
//! tags (TagResource, UntagResource, ListResourceTags with paging), with their records.
//! Written against `keytrail-testing` directly, as a user's own tests would be.

use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::Tag;
use aws_sdk_kms::Client;
use keytrail_testing::{Identity, KeyTrail};
use keytrail_tests::{assert_api_record_shape, failure};
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";

async fn new_key(kms: &Client) -> (String, String) {
    let md = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    (md.key_id, md.arn.unwrap())
}

/// The one record of the call whose `x-amzn-RequestId` was `request_id`.
async fn record_of(s: &KeyTrail, request_id: &str) -> Value {
    let mut records: Vec<Value> = s.records().await.into_iter().filter(|r| r["requestID"] == request_id).collect();
    assert_eq!(records.len(), 1, "records with requestID {request_id}: {records:?}");
    records.remove(0)
}

fn alias_arn(name: &str) -> String {
    format!("arn:aws:kms:us-east-1:{ACCOUNT}:{name}")
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().tag_key(k).tag_value(v).build().unwrap()
}

fn resource(arn: &str) -> Value {
    json!({"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": arn})
}

#[tokio::test]
async fn alias_create_update_delete() {
    let s = KeyTrail::start().await;
    let kms = s.kms(&s.root());
    let (a, a_arn) = new_key(&kms).await;
    let (b, b_arn) = new_key(&kms).await;

    let out = kms.create_alias().alias_name("alias/app").target_key_id(&a).send().await.unwrap();
    let r = record_of(&s, out.request_id().unwrap()).await;
    assert_api_record_shape(&r);
    assert_eq!(r["eventName"], "CreateAlias");
    assert_eq!(r["readOnly"], false);
    assert_eq!(r["requestParameters"], json!({"aliasName": "alias/app", "targetKeyId": a}));
    assert_eq!(r["responseElements"], json!({"keyId": a_arn}));
    assert_eq!(r["resources"], json!([resource(&a_arn), resource(&alias_arn("alias/app"))]), "key, then alias");

    let listed = kms.list_aliases().send().await.unwrap();
    assert_eq!(listed.aliases().len(), 1);
    let entry = &listed.aliases()[0];
    assert_eq!(entry.alias_name(), Some("alias/app"));
    assert_eq!(entry.alias_arn(), Some(alias_arn("alias/app").as_str()));
    assert_eq!(entry.target_key_id(), Some(a.as_str()));
    assert!(entry.creation_date().is_some() && entry.last_updated_date().is_some());
    let created = entry.creation_date().unwrap().as_secs_f64();

    let ct_a = kms.encrypt().key_id("alias/app").plaintext(Blob::new("to a")).send().await.unwrap();
    assert_eq!(ct_a.key_id(), Some(a_arn.as_str()));

    // UpdateAlias takes a key id or ARN as the new target.
    let out = kms.update_alias().alias_name("alias/app").target_key_id(&b_arn).send().await.unwrap();
    let r = record_of(&s, out.request_id().unwrap()).await;
    assert_api_record_shape(&r);
    assert_eq!(r["eventName"], "UpdateAlias");
    assert_eq!(r["requestParameters"], json!({"aliasName": "alias/app", "targetKeyId": b_arn}));
    assert_eq!(r["responseElements"], json!({"keyId": b_arn}));
    let arns: Vec<&str> = r["resources"].as_array().unwrap().iter().map(|x| x["ARN"].as_str().unwrap()).collect();
    assert!(arns.contains(&b_arn.as_str()) && arns.contains(&alias_arn("alias/app").as_str()), "{arns:?}");

    let entry = kms.list_aliases().send().await.unwrap().aliases()[0].clone();
    assert_eq!(entry.target_key_id(), Some(b.as_str()));
    assert_eq!(entry.creation_date().unwrap().as_secs_f64(), created, "creation date kept");
    let ct_b = kms.encrypt().key_id("alias/app").plaintext(Blob::new("to b")).send().await.unwrap();
    assert_eq!(ct_b.key_id(), Some(b_arn.as_str()), "the alias now names b");
    // Ciphertexts made through the alias keep their key.
    let dec = kms.decrypt().ciphertext_blob(ct_a.ciphertext_blob.unwrap()).send().await.unwrap();
    assert_eq!(dec.key_id(), Some(a_arn.as_str()));
    let f = failure(kms.decrypt().ciphertext_blob(ct_b.ciphertext_blob.clone().unwrap()).key_id(&a).send().await.unwrap_err());
    assert_eq!(f.code, "IncorrectKeyException");

    let out = kms.delete_alias().alias_name("alias/app").send().await.unwrap();
    let r = record_of(&s, out.request_id().unwrap()).await;
    assert_api_record_shape(&r);
    assert_eq!(r["eventName"], "DeleteAlias");
    assert_eq!(r["requestParameters"], json!({"aliasName": "alias/app"}));
    assert_eq!(r["responseElements"], json!({"keyId": b_arn}));
    assert_eq!(r["resources"], json!([resource(&b_arn), resource(&alias_arn("alias/app"))]));
    assert!(kms.list_aliases().send().await.unwrap().aliases().is_empty());
    let f = failure(kms.encrypt().key_id("alias/app").plaintext(Blob::new("x")).send().await.unwrap_err());
    assert_eq!(f.code, "NotFoundException");
    // The key stays.
    kms.describe_key().key_id(&b).send().await.unwrap();
    // The name can be used again.
    kms.create_alias().alias_name("alias/app").target_key_id(&a_arn).send().await.unwrap();
}

#[tokio::test]
async fn alias_errors() {
    let s = KeyTrail::start().await;
    let kms = s.kms(&s.root());
    let (a, _) = new_key(&kms).await;
    let (b, _) = new_key(&kms).await;
    kms.create_alias().alias_name("alias/taken").target_key_id(&a).send().await.unwrap();

    let cases = vec![
        (
            "duplicate",
            kms.create_alias().alias_name("alias/taken").target_key_id(&b).send().await.err().map(failure),
            "AlreadyExistsException",
        ),
        (
            "no prefix",
            kms.create_alias().alias_name("taken").target_key_id(&b).send().await.err().map(failure),
            "InvalidAliasNameException",
        ),
        (
            "bare prefix",
            kms.create_alias().alias_name("alias/").target_key_id(&b).send().await.err().map(failure),
            "InvalidAliasNameException",
        ),
        (
            "reserved",
            kms.create_alias().alias_name("alias/aws/s3").target_key_id(&b).send().await.err().map(failure),
            "InvalidAliasNameException",
        ),
        (
            "bad characters",
            kms.create_alias().alias_name("alias/has space").target_key_id(&b).send().await.err().map(failure),
            "ValidationException",
        ),
        (
            "too long",
            kms.create_alias().alias_name(format!("alias/{}", "x".repeat(251))).target_key_id(&b).send().await.err().map(failure),
            "ValidationException",
        ),
        (
            "alias as target",
            kms.create_alias().alias_name("alias/new").target_key_id("alias/taken").send().await.err().map(failure),
            "NotFoundException",
        ),
        (
            "unknown target",
            kms.create_alias()
                .alias_name("alias/new")
                .target_key_id("00000000-0000-4000-8000-000000000000")
                .send()
                .await
                .err()
                .map(failure),
            "NotFoundException",
        ),
        (
            "update unknown",
            kms.update_alias().alias_name("alias/none").target_key_id(&b).send().await.err().map(failure),
            "NotFoundException",
        ),
        (
            "update to alias",
            kms.update_alias().alias_name("alias/taken").target_key_id("alias/taken").send().await.err().map(failure),
            "NotFoundException",
        ),
        ("delete unknown", kms.delete_alias().alias_name("alias/none").send().await.err().map(failure), "NotFoundException"),
        ("delete reserved", kms.delete_alias().alias_name("alias/aws/s3").send().await.err().map(failure), "InvalidAliasNameException"),
    ];
    for (what, err, code) in cases {
        let f = err.unwrap_or_else(|| panic!("{what} should fail"));
        assert_eq!(f.code, code, "{what}: {f:?}");
        let r = record_of(&s, &f.request_id).await;
        assert_api_record_shape(&r);
        assert_eq!(r["errorCode"], code);
        assert_eq!(r["responseElements"], Value::Null);
    }
    // A key of another account cannot be an alias target, even by its ARN.
    let foreign = s.kms(&Identity::root("444455556666")).create_key().send().await.unwrap().key_metadata.unwrap();
    let f = failure(kms.create_alias().alias_name("alias/foreign").target_key_id(foreign.arn.unwrap()).send().await.unwrap_err());
    assert_eq!(f.code, "NotFoundException");
    // Nothing changed.
    let aliases = kms.list_aliases().send().await.unwrap();
    assert_eq!(aliases.aliases().len(), 1);
    assert_eq!(aliases.aliases()[0].target_key_id(), Some(a.as_str()));
}

#[tokio::test]
async fn list_aliases_filters_by_key_and_pages() {
    let s = KeyTrail::start().await;
    let kms = s.kms(&s.root());
    let (a, a_arn) = new_key(&kms).await;
    let (b, _) = new_key(&kms).await;
    let (unaliased, _) = new_key(&kms).await;
    for (name, key) in [("alias/e", &a), ("alias/b", &b), ("alias/d", &a), ("alias/a", &a), ("alias/c", &b)] {
        kms.create_alias().alias_name(name).target_key_id(key).send().await.unwrap();
    }
    let names =
        |aliases: &[aws_sdk_kms::types::AliasListEntry]| aliases.iter().map(|x| x.alias_name().unwrap().to_string()).collect::<Vec<_>>();
    let all = kms.list_aliases().send().await.unwrap();
    assert_eq!(names(all.aliases()), ["alias/a", "alias/b", "alias/c", "alias/d", "alias/e"], "sorted by name");
    assert!(!all.truncated());
    let r = record_of(&s, all.request_id().unwrap()).await;
    assert_api_record_shape(&r);
    assert_eq!(r["requestParameters"], Value::Null, "nothing sent, nothing recorded");
    assert_eq!(r["responseElements"], Value::Null);

    for reference in [a.as_str(), a_arn.as_str()] {
        let out = kms.list_aliases().key_id(reference).send().await.unwrap();
        assert_eq!(names(out.aliases()), ["alias/a", "alias/d", "alias/e"], "KeyId {reference}");
        let r = record_of(&s, out.request_id().unwrap()).await;
        assert_eq!(r["requestParameters"], json!({"keyId": reference}));
    }
    assert!(kms.list_aliases().key_id(&unaliased).send().await.unwrap().aliases().is_empty());
    let f = failure(kms.list_aliases().key_id("00000000-0000-4000-8000-000000000000").send().await.unwrap_err());
    assert_eq!(f.code, "NotFoundException");

    let mut seen = Vec::new();
    let mut marker = None;
    let mut pages = 0;
    loop {
        let out = kms.list_aliases().limit(2).set_marker(marker).send().await.unwrap();
        pages += 1;
        seen.extend(names(out.aliases()));
        assert_eq!(out.truncated(), out.next_marker().is_some());
        marker = out.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, names(all.aliases()));
    let filtered_pages: Vec<String> = kms
        .list_aliases()
        .key_id(&a)
        .limit(1)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.alias_name.unwrap())
        .collect();
    assert_eq!(filtered_pages, ["alias/a", "alias/d", "alias/e"]);
    assert_eq!(failure(kms.list_aliases().marker("garbage").send().await.unwrap_err()).code, "InvalidMarkerException");
    assert_eq!(failure(kms.list_aliases().limit(0).send().await.unwrap_err()).code, "ValidationException");

    // Aliases are per region.
    let west = Client::new(&s.sdk_config_in(&Identity::new("AKIAIOSFODNN7EXAMPLE", "secret"), "eu-west-1"));
    assert!(west.list_aliases().send().await.unwrap().aliases().is_empty());
    let (w, _) = new_key(&west).await;
    west.create_alias().alias_name("alias/a").target_key_id(&w).send().await.unwrap();
    let listed = west.list_aliases().send().await.unwrap();
    assert_eq!(listed.aliases()[0].alias_arn(), Some(format!("arn:aws:kms:eu-west-1:{ACCOUNT}:alias/a").as_str()));
    assert_eq!(kms.list_aliases().send().await.unwrap().aliases().len(), 5);
}

#[tokio::test]
async fn tags_are_added_replaced_removed_and_listed() {
    let s = KeyTrail::start().await;
    let kms = s.kms(&s.root());
    let md = kms.create_key().tags(tag("env", "dev")).tags(tag("team", "core")).send().await.unwrap().key_metadata.unwrap();
    let (id, arn) = (md.key_id, md.arn.unwrap());
    let tags = |kms: Client, key: String| async move {
        kms.list_resource_tags()
            .key_id(key)
            .send()
            .await
            .unwrap()
            .tags()
            .iter()
            .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
            .collect::<Vec<_>>()
    };
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(tags(kms.clone(), id.clone()).await, [pair("env", "dev"), pair("team", "core")]);

    let out = kms.tag_resource().key_id(&id).tags(tag("env", "prod")).tags(tag("cost", "")).send().await.unwrap();
    let r = record_of(&s, out.request_id().unwrap()).await;
    assert_api_record_shape(&r);
    assert_eq!(r["eventName"], "TagResource");
    assert_eq!(r["readOnly"], false);
    assert_eq!(
        r["requestParameters"],
        json!({"keyId": id, "tags": [{"tagKey": "env", "tagValue": "prod"}, {"tagKey": "cost", "tagValue": ""}]})
    );
    assert_eq!(r["responseElements"], json!({"keyId": arn}));
    assert_eq!(r["resources"], json!([resource(&arn)]));
    assert_eq!(tags(kms.clone(), arn.clone()).await, [pair("env", "prod"), pair("team", "core"), pair("cost", "")]);

    let out = kms.untag_resource().key_id(&arn).tag_keys("team").tag_keys("absent").send().await.unwrap();
    let r = record_of(&s, out.request_id().unwrap()).await;
    assert_api_record_shape(&r);
    assert_eq!(r["eventName"], "UntagResource");
    assert_eq!(r["requestParameters"], json!({"keyId": arn, "tagKeys": ["team", "absent"]}));
    assert_eq!(r["responseElements"], json!({"keyId": arn}));
    assert_eq!(tags(kms.clone(), id.clone()).await, [pair("env", "prod"), pair("cost", "")]);

    // Paging.
    for i in 0..5 {
        kms.tag_resource().key_id(&id).tags(tag(&format!("k{i}"), &format!("v{i}"))).send().await.unwrap();
    }
    let mut seen = Vec::new();
    let mut marker = None;
    loop {
        let out = kms.list_resource_tags().key_id(&id).limit(3).set_marker(marker).send().await.unwrap();
        assert!(out.tags().len() <= 3);
        seen.extend(out.tags().iter().map(|t| t.tag_key().to_string()));
        let r = record_of(&s, out.request_id().unwrap()).await;
        assert_eq!(r["readOnly"], true);
        assert_eq!(r["responseElements"], Value::Null);
        assert_eq!(r["resources"], json!([resource(&arn)]));
        assert_eq!(out.truncated(), out.next_marker().is_some());
        marker = out.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["env", "cost", "k0", "k1", "k2", "k3", "k4"]);
    assert_eq!(failure(kms.list_resource_tags().key_id(&id).marker("nope").send().await.unwrap_err()).code, "InvalidMarkerException");
    assert_eq!(failure(kms.list_resource_tags().key_id(&id).limit(51).send().await.unwrap_err()).code, "ValidationException");

    // Errors.
    kms.create_alias().alias_name("alias/tagged").target_key_id(&id).send().await.unwrap();
    let cases = vec![
        ("aws: prefix", kms.tag_resource().key_id(&id).tags(tag("aws:owner", "x")).send().await.err().map(failure), "TagException"),
        ("AWS: prefix", kms.tag_resource().key_id(&id).tags(tag("AWS:owner", "x")).send().await.err().map(failure), "TagException"),
        ("empty key", kms.tag_resource().key_id(&id).tags(tag("", "x")).send().await.err().map(failure), "ValidationException"),
        (
            "long value",
            kms.tag_resource().key_id(&id).tags(tag("k", &"v".repeat(257))).send().await.err().map(failure),
            "ValidationException",
        ),
        ("alias", kms.tag_resource().key_id("alias/tagged").tags(tag("a", "b")).send().await.err().map(failure), "NotFoundException"),
        ("untag alias", kms.untag_resource().key_id("alias/tagged").tag_keys("env").send().await.err().map(failure), "NotFoundException"),
        ("list alias", kms.list_resource_tags().key_id("alias/tagged").send().await.err().map(failure), "NotFoundException"),
        (
            "unknown key",
            kms.tag_resource().key_id("00000000-0000-4000-8000-000000000000").tags(tag("a", "b")).send().await.err().map(failure),
            "NotFoundException",
        ),
    ];
    for (what, err, code) in cases {
        let f = err.unwrap_or_else(|| panic!("{what} should fail"));
        assert_eq!(f.code, code, "{what}: {f:?}");
        assert_eq!(record_of(&s, &f.request_id).await["errorCode"], code);
    }
    // At most 50 tags per key.
    let mut request = kms.tag_resource().key_id(&id);
    for i in 0..44 {
        request = request.tags(tag(&format!("bulk{i}"), "x"));
    }
    let f = failure(request.send().await.unwrap_err());
    assert_eq!(f.code, "LimitExceededException");
    assert_eq!(tags(kms.clone(), id.clone()).await.len(), 7, "a refused TagResource changes nothing");

    // A key pending deletion cannot be (un)tagged, but its tags can be listed.
    kms.schedule_key_deletion().key_id(&id).send().await.unwrap();
    assert_eq!(failure(kms.tag_resource().key_id(&id).tags(tag("a", "b")).send().await.unwrap_err()).code, "KMSInvalidStateException");
    assert_eq!(failure(kms.untag_resource().key_id(&id).tag_keys("env").send().await.unwrap_err()).code, "KMSInvalidStateException");
    assert_eq!(tags(kms.clone(), id.clone()).await.len(), 7);
}
