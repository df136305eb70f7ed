//! keytrail-testing's own tests: what a user's test does with it, end to end through the SDK.

use aws_sdk_kms::primitives::Blob;
use keytrail_testing::{Identity, Key, KeyTrail, Role, User};

const DEV: &str = "111122223333";
const PROD: &str = "444455556666";
const KEY_ID: &str = "11111111-2222-3333-4444-555555555555";
const ALLOW_KMS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:*","sts:AssumeRole"],"Resource":"*"}]}"#;

fn names(records: &[serde_json::Value]) -> Vec<String> {
    records.iter().map(|r| r["eventName"].as_str().unwrap_or_default().to_owned()).collect()
}

#[tokio::test]
async fn start_gives_a_working_kms_and_its_records() {
    let kt = KeyTrail::start().await;
    let kms = kt.kms(&kt.root());
    let key = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let blob = kms.encrypt().key_id(&key).plaintext(Blob::new("hi")).send().await.unwrap().ciphertext_blob.unwrap();
    let plain = kms.decrypt().ciphertext_blob(blob).send().await.unwrap().plaintext.unwrap();
    assert_eq!(plain.as_ref(), b"hi");
    let records = kt.records().await;
    assert_eq!(names(&records), ["CreateKey", "Encrypt", "Decrypt"]);
    assert_eq!(records[1]["userIdentity"]["type"], "Root");
    assert!(kt.endpoint().starts_with("http://127.0.0.1:"));
    kt.stop().await;
}

#[tokio::test]
async fn the_builder_seeds_principals_and_keys() {
    let kt = KeyTrail::builder()
        .account(DEV, Some("dev"))
        .user(User::new(DEV, "alice").policy(ALLOW_KMS))
        .user(User::new(DEV, "bob"))
        .role(Role::new(DEV, "app").policy(ALLOW_KMS).session("ci"))
        .key(Key::new(DEV, KEY_ID).alias("alias/fixture").description("seeded"))
        .start()
        .await;
    let alice = kt.kms(&kt.user("alice"));
    let described = alice.describe_key().key_id("alias/fixture").send().await.unwrap();
    assert_eq!(described.key_metadata().map(|m| m.description()), Some(Some("seeded")));
    let bob = kt.kms(&kt.user("bob"));
    let denied = bob.describe_key().key_id(KEY_ID).send().await.unwrap_err();
    assert_eq!(aws_sdk_kms::error::ProvideErrorMetadata::code(&denied), Some("AccessDeniedException"));
    kt.kms(&kt.session("app", "ci")).encrypt().key_id(KEY_ID).plaintext(Blob::new("x")).send().await.unwrap();
    let r = kt.records().await.pop().unwrap();
    assert_eq!(r["userIdentity"]["arn"], format!("arn:aws:sts::{DEV}:assumed-role/app/ci"));
    // The root of a named account carries its alias.
    kt.kms(&Identity::root(DEV)).list_keys().send().await.unwrap();
    assert_eq!(kt.records().await.pop().unwrap()["userIdentity"]["userName"], "dev");
}

#[tokio::test]
async fn assume_role_gives_a_session_that_signs_as_the_role() {
    let kt = KeyTrail::builder().user(User::new(DEV, "alice").policy(ALLOW_KMS)).role(Role::new(PROD, "deploy").policy(ALLOW_KMS).trust_policy(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{DEV}:user/alice"}},"Action":"sts:AssumeRole"}}]}}"#
    )))
    .start()
    .await;
    let session = kt.assume_role(&kt.user("alice"), &format!("arn:aws:iam::{PROD}:role/deploy"), "release").await;
    assert!(session.access_key_id.starts_with("ASIA") && session.session_token.is_some());
    let me = kt.sts(&session).get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some(format!("arn:aws:sts::{PROD}:assumed-role/deploy/release").as_str()));
    assert_eq!(names(&kt.records().await), ["AssumeRole", "AssumeRole", "GetCallerIdentity"], "caller's and role owner's copies");
    assert!(!format!("{session:?}").contains(&session.secret_access_key), "Debug shows no secret");
}

#[tokio::test]
async fn the_clock_and_reset_are_the_tests_to_drive() {
    let kt = KeyTrail::builder().key(Key::new(DEV, KEY_ID).rotation_period_days(90)).start().await;
    let before = kt.now();
    kt.advance_clock(91 * 86_400).await;
    assert!(kt.now() - before >= time::Duration::days(91));
    let records = kt.records().await;
    assert_eq!(names(&records), ["RotateKey"], "automatic rotation fell due on the mock clock");
    kt.kms(&kt.root()).create_key().send().await.unwrap();
    kt.reset().await;
    assert!(kt.records().await.is_empty());
    let keys = kt.kms(&kt.root()).list_keys().send().await.unwrap();
    let ids: Vec<&str> = keys.keys().iter().filter_map(|k| k.key_id()).collect();
    assert_eq!(ids, [KEY_ID], "seeds are back, the created key is gone");
}

#[tokio::test]
async fn instances_keep_their_own_state() {
    let (a, b) = (KeyTrail::start().await, KeyTrail::start().await);
    assert_ne!(a.addr(), b.addr());
    a.kms(&a.root()).create_key().send().await.unwrap();
    assert_eq!(a.records().await.len(), 1);
    assert!(b.records().await.is_empty());
    assert!(b.kms(&b.root()).list_keys().send().await.unwrap().keys().is_empty());
}

#[tokio::test]
async fn a_config_file_text_and_options_work_too() {
    let kt = KeyTrail::builder()
        .config_toml(&format!(
            "[[users]]\naccount = \"{DEV}\"\nname = \"carol\"\naccess_key_id = \"AKIACAROL00000000001\"\nsecret_access_key = \"c\"\npolicies = ['{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":\"cloudtrail:DescribeTrails\",\"Resource\":\"*\"}}]}}']\n"
        ))
        .strict_credentials()
        .verify_signatures()
        .start()
        .await;
    let carol = kt.user("carol");
    assert_eq!(carol, Identity::new("AKIACAROL00000000001", "c"));
    let e = kt.kms(&Identity::new("AKIAUNKNOWN", "x")).list_keys().send().await.unwrap_err();
    assert_eq!(aws_sdk_kms::error::ProvideErrorMetadata::code(&e), Some("UnrecognizedClientException"));
    let e = kt.kms(&Identity::new("AKIACAROL00000000001", "wrong")).list_keys().send().await.unwrap_err();
    assert_eq!(aws_sdk_kms::error::ProvideErrorMetadata::code(&e), Some("InvalidSignatureException"));
    // Any AWS SDK client built from the SdkConfig reaches keytrail.
    let conf = kt.sdk_config_in(&carol, "eu-west-1");
    aws_sdk_cloudtrail::Client::new(&conf).describe_trails().send().await.unwrap();
    assert_eq!(kt.records().await.pop().unwrap()["awsRegion"], "eu-west-1");
}

#[tokio::test]
#[should_panic(expected = "keytrail refused the configuration")]
async fn a_bad_configuration_fails_the_test_with_keytrails_message() {
    KeyTrail::builder().key(Key::new(DEV, "not-a-key-id")).start().await;
}
