//! CloudTrail's own API is authorized, end to end through `aws-sdk-cloudtrail` under
//! `--verify-signatures --strict-credentials`: every call needs `cloudtrail:<Operation>` on the
//! trail's ARN (or `*`) in the caller's identity policies ("Actions, resources, and condition keys
//! for AWS CloudTrail", https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudtrail.html;
//! "Policy evaluation logic", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
//! A denied call answers `AccessDeniedException` (HTTP 400), changes nothing, and is recorded.

use aws_sdk_cloudtrail::types::{EventSelector, LookupAttribute, LookupAttributeKey, ReadWriteType};
use aws_sdk_cloudtrail::Client;
use keytrail_tests::{failure, Failure, Server};
use serde_json::Value;

const OWNER: &str = "111122223333";
const OTHER: &str = "444455556666";

fn config() -> String {
    let user = |name: &str, key: &str, policies: &[&str]| {
        let policies: Vec<String> = policies.iter().map(|p| format!("'''{{\"Version\":\"2012-10-17\",\"Statement\":[{p}]}}'''")).collect();
        format!(
            "[[users]]\naccount = \"{OWNER}\"\nname = \"{name}\"\naccess_key_id = \"{key}\"\nsecret_access_key = \"{name}-secret\"\npolicies = [{}]\n",
            policies.join(", ")
        )
    };
    let mut text = format!("default_account = \"{OWNER}\"\n");
    text += &user("ctadmin", "AKIACTADMIN000000001", &[r#"{"Effect":"Allow","Action":"cloudtrail:*","Resource":"*"}"#]);
    // KMS rights only: nothing on CloudTrail.
    text += &user("kmsonly", "AKIAKMSONLY000000001", &[r#"{"Effect":"Allow","Action":"kms:*","Resource":"*"}"#]);
    text += &user(
        "guarded",
        "AKIAGUARDED000000001",
        &[
            r#"{"Effect":"Allow","Action":"cloudtrail:*","Resource":"*"}"#,
            r#"{"Effect":"Deny","Action":["cloudtrail:StopLogging","cloudtrail:DeleteTrail","cloudtrail:UpdateTrail","cloudtrail:PutEventSelectors"],"Resource":"*"}"#,
        ],
    );
    text += &user(
        "scoped",
        "AKIASCOPED0000000001",
        &[r#"{"Effect":"Allow","Action":"cloudtrail:*","Resource":"arn:aws:cloudtrail:us-east-1:111122223333:trail/team-*"}"#],
    );
    text += &user(
        "reader",
        "AKIAREADER0000000001",
        &[
            r#"{"Effect":"Allow","Action":["cloudtrail:LookupEvents","cloudtrail:Get*","cloudtrail:Describe*","cloudtrail:List*"],"Resource":"*"}"#,
        ],
    );
    text += &format!(
        "[[roles]]\naccount = \"{OTHER}\"\nname = \"auditor\"\npolicies = ['''{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":\"cloudtrail:*\",\"Resource\":\"*\"}}]}}''']\nsessions = [{{ name = \"ci\", access_key_id = \"ASIAAUDITOR000000001\", secret_access_key = \"auditor-secret\", session_token = \"asiaauditor000000001-session-token\" }}]\n"
    );
    text
}

fn as_user(s: &Server, name: &str, key: &str) -> Client {
    s.cloudtrail_as(key, &format!("{name}-secret"), "us-east-1")
}

fn trail_arn(name: &str) -> String {
    format!("arn:aws:cloudtrail:us-east-1:{OWNER}:trail/{name}")
}

/// The denial AWS words, for `user` calling `op` on `resource`.
fn denied_message(user: &str, op: &str, resource: &str, why: &str) -> String {
    format!("User: arn:aws:iam::{OWNER}:user/{user} is not authorized to perform: cloudtrail:{op} on resource: {resource} {why}")
}

#[track_caller]
fn assert_denied(f: &Failure, message: &str) {
    assert_eq!(f.code, "AccessDeniedException", "{f:?}");
    assert_eq!(f.message, message);
}

/// Sets up a logging trail `name` as the administrator.
async fn logging_trail(admin: &Client, name: &str) {
    admin.create_trail().name(name).s3_bucket_name("audit-logs").send().await.expect("admin creates the trail");
    admin.start_logging().name(name).send().await.expect("admin starts logging");
}

/// A principal whose policies say nothing of CloudTrail can no longer silence, redirect, narrow,
/// delete or read the trail; nothing changes; each refusal is recorded.
#[tokio::test]
async fn no_policy_no_cloudtrail() {
    let s = Server::start_strict(&config()).await;
    let admin = as_user(&s, "ctadmin", "AKIACTADMIN000000001");
    logging_trail(&admin, "audit").await;
    let intruder = as_user(&s, "kmsonly", "AKIAKMSONLY000000001");
    let arn = trail_arn("audit");
    let no_identity = |op: &str| "because no identity-based policy allows the cloudtrail:".to_string() + op + " action";

    let err = intruder.stop_logging().name("audit").send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400), "CloudTrail answers a denial with HTTP 400");
    let f = failure(err);
    assert_denied(&f, &denied_message("kmsonly", "StopLogging", &arn, &no_identity("StopLogging")));
    let stop_id = f.request_id.clone();
    let f = failure(intruder.delete_trail().name(&arn).send().await.unwrap_err());
    assert_denied(&f, &denied_message("kmsonly", "DeleteTrail", &arn, &no_identity("DeleteTrail")));
    let f = failure(intruder.update_trail().name("audit").s3_bucket_name("attacker-bucket").send().await.unwrap_err());
    assert_denied(&f, &denied_message("kmsonly", "UpdateTrail", &arn, &no_identity("UpdateTrail")));
    let drop_kms = EventSelector::builder().read_write_type(ReadWriteType::All).include_management_events(false).build();
    let f = failure(intruder.put_event_selectors().trail_name("audit").event_selectors(drop_kms).send().await.unwrap_err());
    assert_denied(&f, &denied_message("kmsonly", "PutEventSelectors", &arn, &no_identity("PutEventSelectors")));
    let f = failure(intruder.lookup_events().send().await.unwrap_err());
    assert_denied(&f, &denied_message("kmsonly", "LookupEvents", "*", &no_identity("LookupEvents")));
    for f in [
        failure(intruder.describe_trails().send().await.unwrap_err()),
        failure(intruder.list_trails().send().await.unwrap_err()),
        failure(intruder.get_trail_status().name("audit").send().await.unwrap_err()),
        failure(intruder.create_trail().name("shadow").s3_bucket_name("attacker-bucket").send().await.unwrap_err()),
    ] {
        assert_eq!(f.code, "AccessDeniedException", "{f:?}");
    }

    // Nothing changed: still logging, same bucket, same selectors, one trail.
    let status = admin.get_trail_status().name("audit").send().await.unwrap();
    assert_eq!(status.is_logging(), Some(true));
    let trail = admin.get_trail().name("audit").send().await.unwrap();
    assert_eq!(trail.trail().and_then(|t| t.s3_bucket_name()), Some("audit-logs"));
    let selectors = admin.get_event_selectors().trail_name("audit").send().await.unwrap();
    assert_eq!(selectors.event_selectors()[0].include_management_events(), Some(true));
    assert_eq!(admin.list_trails().send().await.unwrap().trails().len(), 1);

    // The refusal is in history like a KMS denial, with the trail as its resource; the
    // administrator reads it back through LookupEvents.
    let r = s.record_of(&stop_id).await;
    assert_eq!(r["eventSource"], "cloudtrail.amazonaws.com");
    assert_eq!(r["eventName"], "StopLogging");
    assert_eq!(r["errorCode"], "AccessDeniedException");
    assert_eq!(r["errorMessage"], denied_message("kmsonly", "StopLogging", &arn, &no_identity("StopLogging")).as_str());
    assert_eq!(r["userIdentity"]["userName"], "kmsonly");
    assert_eq!(r["resources"][0]["ARN"], arn.as_str());
    assert_eq!(r["resources"][0]["type"], "AWS::CloudTrail::Trail");
    assert_eq!(r["responseElements"], Value::Null);
    let attr = LookupAttribute::builder().attribute_key(LookupAttributeKey::EventName).attribute_value("StopLogging").build().unwrap();
    let found = admin.lookup_events().lookup_attributes(attr).send().await.unwrap();
    let inner: Value = serde_json::from_str(found.events()[0].cloud_trail_event().unwrap()).unwrap();
    assert_eq!(inner["errorCode"], "AccessDeniedException");
    assert_eq!(inner["requestID"], stop_id.as_str());
}

/// An explicit Deny wins over `cloudtrail:*`; the rest of the policy still applies.
#[tokio::test]
async fn an_explicit_deny_wins() {
    let s = Server::start_strict(&config()).await;
    let admin = as_user(&s, "ctadmin", "AKIACTADMIN000000001");
    logging_trail(&admin, "audit").await;
    let guarded = as_user(&s, "guarded", "AKIAGUARDED000000001");
    assert_eq!(guarded.get_trail_status().name("audit").send().await.unwrap().is_logging(), Some(true));
    guarded.lookup_events().send().await.expect("allowed");
    let f = failure(guarded.stop_logging().name("audit").send().await.unwrap_err());
    let why = "with an explicit deny in an identity-based policy";
    assert_denied(&f, &denied_message("guarded", "StopLogging", &trail_arn("audit"), why));
    let f = failure(guarded.delete_trail().name("audit").send().await.unwrap_err());
    assert_denied(&f, &denied_message("guarded", "DeleteTrail", &trail_arn("audit"), why));
    assert_eq!(admin.get_trail_status().name("audit").send().await.unwrap().is_logging(), Some(true));
}

/// A statement on a trail ARN pattern allows those trails only; actions that take no trail
/// (LookupEvents, DescribeTrails, ListTrails) need `*`.
#[tokio::test]
async fn statements_on_trail_arns() {
    let s = Server::start_strict(&config()).await;
    let admin = as_user(&s, "ctadmin", "AKIACTADMIN000000001");
    logging_trail(&admin, "audit").await;
    let scoped = as_user(&s, "scoped", "AKIASCOPED0000000001");
    scoped.create_trail().name("team-blue").s3_bucket_name("blue-logs").send().await.expect("team-* allowed");
    scoped.start_logging().name("team-blue").send().await.unwrap();
    scoped.stop_logging().name(trail_arn("team-blue")).send().await.expect("by ARN too");
    let f = failure(scoped.stop_logging().name("audit").send().await.unwrap_err());
    let why = "because no identity-based policy allows the cloudtrail:StopLogging action";
    assert_denied(&f, &denied_message("scoped", "StopLogging", &trail_arn("audit"), why));
    let f = failure(scoped.create_trail().name("other").s3_bucket_name("x-logs").send().await.unwrap_err());
    assert_eq!(f.code, "AccessDeniedException");
    let f = failure(scoped.lookup_events().send().await.unwrap_err());
    assert_denied(
        &f,
        &denied_message("scoped", "LookupEvents", "*", "because no identity-based policy allows the cloudtrail:LookupEvents action"),
    );
    // A reader reads, and changes nothing.
    let reader = as_user(&s, "reader", "AKIAREADER0000000001");
    assert_eq!(reader.describe_trails().send().await.unwrap().trail_list().len(), 2);
    assert!(reader.lookup_events().send().await.unwrap().events().len() >= 4);
    assert_eq!(failure(reader.stop_logging().name("audit").send().await.unwrap_err()).code, "AccessDeniedException");
}

/// Trails have no resource policy: another account's trail ARN is refused as a cross-account
/// request no resource-based policy allows — whatever the caller's own policies say, and whether
/// or not the trail exists — and recorded in the caller's account only.
#[tokio::test]
async fn another_accounts_trail_is_refused() {
    let s = Server::start_strict(&config()).await;
    let admin = as_user(&s, "ctadmin", "AKIACTADMIN000000001");
    logging_trail(&admin, "audit").await;
    let auditor = s.cloudtrail_as("ASIAAUDITOR000000001", "auditor-secret", "us-east-1");
    let arn = trail_arn("audit");
    for missing in [false, true] {
        let target = if missing { trail_arn("nonexistent") } else { arn.clone() };
        let f = failure(auditor.stop_logging().name(&target).send().await.unwrap_err());
        assert_eq!(f.code, "AccessDeniedException");
        assert_eq!(
            f.message,
            format!("User: arn:aws:sts::{OTHER}:assumed-role/auditor/ci is not authorized to perform: cloudtrail:StopLogging on resource: {target} because no resource-based policy allows the cloudtrail:StopLogging action")
        );
    }
    assert_eq!(admin.get_trail_status().name("audit").send().await.unwrap().is_logging(), Some(true));
    let theirs = s.events(&format!("account={OTHER}&eventName=StopLogging")).await;
    assert_eq!(theirs.len(), 2);
    assert_eq!(theirs[0]["resources"][0]["accountId"], OWNER);
    assert!(s.events(&format!("account={OWNER}&eventName=StopLogging")).await.is_empty());
    // Its own account's trails it may manage.
    auditor.create_trail().name("their-trail").s3_bucket_name("their-logs").send().await.expect("own account");
}
