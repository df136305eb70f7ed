//! STS on keytrail's endpoint, through the AWS SDK for Rust's STS client: GetCallerIdentity for
//! each kind of principal; AssumeRole allowed and refused by trust policies (the account
//! default, a named principal, external ids, session tags, MFA, durations, role chaining, across
//! accounts); the temporary credentials then signing KMS calls as the role session, recorded as
//! `AssumedRole` with the session's `sessionContext`, refused once expired; the calls' own
//! records as AWS writes them; sessions across a restart with `--data-dir`.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_sts::types::Tag;
use keytrail_server::Options;
use keytrail_tests::{failure, Server};
use serde_json::Value;

const DEV: &str = "111122223333";
const PROD: &str = "444455556666";
const TAGGED_KEY: &str = "66666666-2222-3333-4444-555555555555";

fn config() -> String {
    format!(
        r#"
default_account = "{DEV}"
[[users]]
account = "{DEV}"
name = "alice"
access_key_id = "AKIAALICE00000000001"
secret_access_key = "alice-secret"
policies = ['''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession","kms:*"],"Resource":"*"}}]}}''']
[[users]]
account = "{DEV}"
name = "bob"
access_key_id = "AKIABOB0000000000001"
secret_access_key = "bob-secret"
[[roles]]
account = "{DEV}"
name = "app"
policies = ['''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["kms:*","sts:AssumeRole"],"Resource":"*"}}]}}''']
sessions = [{{ name = "ci", access_key_id = "ASIAAPPCI00000000001", secret_access_key = "app-secret" }}]
[[roles]]
account = "{DEV}"
name = "bobs"
trust_policy = '''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{DEV}:user/bob"}},"Action":"sts:AssumeRole"}}]}}'''
policies = ['''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:*","Resource":"*"}}]}}''']
[[roles]]
account = "{DEV}"
name = "vendor"
max_session_duration = 7200
trust_policy = '''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{DEV}"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"sts:ExternalId":"vendor-7"}}}}}}]}}'''
[[roles]]
account = "{DEV}"
name = "tagged"
trust_policy = '''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{DEV}"}},"Action":["sts:AssumeRole","sts:TagSession"]}}]}}'''
policies = ['''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:*","Resource":"*"}}]}}''']
[[roles]]
account = "{PROD}"
name = "deploy"
trust_policy = '''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{DEV}:root"}},"Action":"sts:AssumeRole"}}]}}'''
policies = ['''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:*","Resource":"*"}}]}}''']
[[keys]]
account = "{DEV}"
region = "us-east-1"
key_id = "{TAGGED_KEY}"
policy = '''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{DEV}:root"}},"Action":"kms:*","Resource":"*"}},
  {{"Effect":"Allow","Principal":{{"AWS":"*"}},"Action":"kms:Encrypt","Resource":"*","Condition":{{"StringEquals":{{"aws:PrincipalTag/Project":"blue"}}}}}}]}}'''
"#
    )
}

async fn server() -> Server {
    Server::start_with(Options::from_config(&config()).unwrap()).await
}

fn role(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

/// The credentials of an AssumeRole answer: (access key id, secret, token).
fn creds(out: &aws_sdk_sts::operation::assume_role::AssumeRoleOutput) -> (String, String, String) {
    let c = out.credentials().expect("credentials");
    (c.access_key_id().to_string(), c.secret_access_key().to_string(), c.session_token().to_string())
}

#[tokio::test]
async fn get_caller_identity_names_every_kind_of_principal() {
    let s = server().await;
    let cases = [
        ("AKIAROOTANYTHING", None, format!("arn:aws:iam::{DEV}:root"), DEV.to_string()),
        ("AKIAALICE00000000001", None, format!("arn:aws:iam::{DEV}:user/alice"), "AIDA".to_string()),
        ("ASIAAPPCI00000000001", None, format!("arn:aws:sts::{DEV}:assumed-role/app/ci"), "AROA".to_string()),
    ];
    for (key, token, arn, user_id_start) in cases {
        let out = s.sts_as(key, "x", token, "us-east-1").get_caller_identity().send().await.unwrap();
        assert_eq!(out.arn(), Some(arn.as_str()));
        assert_eq!(out.account(), Some(DEV));
        assert!(out.user_id().unwrap().starts_with(&user_id_start), "{:?}", out.user_id());
        let r = s.last_event().await;
        assert_eq!((r["eventSource"].as_str(), r["eventName"].as_str()), (Some("sts.amazonaws.com"), Some("GetCallerIdentity")));
        assert_eq!(r["readOnly"], true);
        assert_eq!(r["requestParameters"], Value::Null);
        assert_eq!(r["responseElements"], Value::Null);
        assert_eq!(r["userIdentity"]["arn"], arn.as_str());
        assert!(r.get("resources").is_none());
    }
    let alice = s.sts_as("AKIAALICE00000000001", "alice-secret", None, "us-east-1");
    let out = alice.assume_role().role_arn(role(DEV, "app")).role_session_name("build-42").send().await.unwrap();
    let (id, secret, token) = creds(&out);
    let me = s.sts_as(&id, &secret, Some(&token), "us-east-1").get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some(format!("arn:aws:sts::{DEV}:assumed-role/app/build-42").as_str()));
    assert_eq!(me.user_id(), out.assumed_role_user().map(|u| u.assumed_role_id()));
}

#[tokio::test]
async fn assumed_role_credentials_sign_kms_calls_as_the_role_session() {
    let s = server().await;
    s.advance_clock(3600).await;
    let alice = s.sts_as("AKIAALICE00000000001", "alice-secret", None, "us-east-1");
    let out = alice.assume_role().role_arn(role(DEV, "app")).role_session_name("build-42").duration_seconds(1800).send().await.unwrap();
    let request_id = aws_sdk_sts::operation::RequestId::request_id(&out).unwrap().to_string();
    let (id, secret, token) = creds(&out);
    assert!(id.starts_with("ASIA") && id.len() == 20, "{id}");
    let user = out.assumed_role_user().unwrap();
    assert_eq!(user.arn(), format!("arn:aws:sts::{DEV}:assumed-role/app/build-42"));
    assert!(user.assumed_role_id().starts_with("AROA") && user.assumed_role_id().ends_with(":build-42"));
    // The AssumeRole record, as AWS writes it.
    let r = s.record_of(&request_id).await;
    let issued_at = r["eventTime"].as_str().unwrap().to_string();
    let issued = time::OffsetDateTime::parse(&issued_at, &time::format_description::well_known::Rfc3339).unwrap();
    let real_now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(issued.unix_timestamp() >= real_now + 3500, "issued on the mock clock, an hour ahead");
    assert_eq!(out.credentials().unwrap().expiration().secs(), issued.unix_timestamp() + 1800, "expires on the mock clock");
    assert_eq!((r["eventSource"].as_str(), r["eventName"].as_str()), (Some("sts.amazonaws.com"), Some("AssumeRole")));
    assert_eq!(r["userIdentity"]["type"], "IAMUser");
    assert_eq!(r["readOnly"], true);
    assert_eq!(r["requestParameters"]["roleArn"], role(DEV, "app"));
    assert_eq!(r["requestParameters"]["roleSessionName"], "build-42");
    assert_eq!(r["requestParameters"]["durationSeconds"], 1800);
    let c = &r["responseElements"]["credentials"];
    assert_eq!(c["accessKeyId"], id.as_str());
    assert_eq!(c["sessionToken"], token.as_str(), "AWS's records carry the session token");
    assert!(c["expiration"].as_str().unwrap().ends_with(" AM") || c["expiration"].as_str().unwrap().ends_with(" PM"));
    assert_eq!(r["responseElements"]["assumedRoleUser"]["arn"], user.arn());
    assert!(!r.to_string().contains(&secret), "the secret access key is never recorded");
    assert_eq!(r["resources"], serde_json::json!([{"accountId": DEV, "type": "AWS::IAM::Role", "ARN": role(DEV, "app")}]));
    assert!(r.get("sharedEventID").is_none());

    // The session's own calls.
    let kms = s.kms_with_token(&id, &secret, &token, "us-east-1");
    let key = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let enc = kms.encrypt().key_id(&key).plaintext(Blob::new("hi")).send().await.unwrap();
    assert!(enc.ciphertext_blob.is_some());
    let r = s.last_event().await;
    let identity = &r["userIdentity"];
    assert_eq!(identity["type"], "AssumedRole");
    assert_eq!(identity["arn"], user.arn());
    assert_eq!(identity["principalId"], user.assumed_role_id());
    assert_eq!(identity["accessKeyId"], id.as_str());
    assert_eq!(identity["sessionContext"]["sessionIssuer"]["arn"], role(DEV, "app"));
    assert_eq!(identity["sessionContext"]["attributes"]["creationDate"], issued_at.as_str());
    assert_eq!(identity["sessionContext"]["attributes"]["mfaAuthenticated"], "false");

    // Expired on the mock clock: refused as AWS refuses expired tokens, with no record.
    let before = s.all_events().await.len();
    s.advance_clock(1800).await;
    let e = failure(kms.describe_key().key_id(&key).send().await.unwrap_err());
    assert_eq!(e.code, "ExpiredTokenException");
    assert_eq!(e.message, "The security token included in the request is expired");
    let sts = s.sts_as(&id, &secret, Some(&token), "us-east-1");
    let e = failure(sts.get_caller_identity().send().await.unwrap_err());
    assert_eq!(e.code, "ExpiredToken");
    assert_eq!(s.all_events().await.len(), before);
}

#[tokio::test]
async fn trust_policies_decide_who_may_assume() {
    let s = server().await;
    let alice = s.sts_as("AKIAALICE00000000001", "alice-secret", None, "us-east-1");
    let bob = s.sts_as("AKIABOB0000000000001", "bob-secret", None, "us-east-1");
    // The default trust (the account) delegates to identity policies: bob has none.
    let e = failure(bob.assume_role().role_arn(role(DEV, "app")).role_session_name("bb").send().await.unwrap_err());
    assert_eq!(e.code, "AccessDenied");
    assert_eq!(
        e.message,
        format!("User: arn:aws:iam::{DEV}:user/bob is not authorized to perform: sts:AssumeRole on resource: {}", role(DEV, "app"))
    );
    let r = s.record_of(&e.request_id).await;
    assert_eq!(r["errorCode"], "AccessDenied");
    assert_eq!(r["errorMessage"], e.message.as_str());
    assert_eq!(r["responseElements"], Value::Null);
    assert_eq!(r["resources"][0]["ARN"], role(DEV, "app"));
    // A trust policy naming bob himself needs no identity policy; it does not let alice in.
    bob.assume_role().role_arn(role(DEV, "bobs")).role_session_name("bb").send().await.unwrap();
    let e = failure(alice.assume_role().role_arn(role(DEV, "bobs")).role_session_name("aa").send().await.unwrap_err());
    assert_eq!(e.code, "AccessDenied");
    // A role that does not exist is refused the same way.
    let e = failure(alice.assume_role().role_arn(role(DEV, "nope")).role_session_name("aa").send().await.unwrap_err());
    assert_eq!(e.code, "AccessDenied");
    // Root credentials may not assume roles.
    let root = s.sts_as("AKIAROOTANYTHING", "x", None, "us-east-1");
    let e = failure(root.assume_role().role_arn(role(DEV, "app")).role_session_name("rr").send().await.unwrap_err());
    assert_eq!((e.code.as_str(), e.message.as_str()), ("AccessDenied", "Roles may not be assumed by root accounts."));
    // The external id condition.
    let e = failure(alice.assume_role().role_arn(role(DEV, "vendor")).role_session_name("vv").send().await.unwrap_err());
    assert_eq!(e.code, "AccessDenied");
    let e = failure(
        alice.assume_role().role_arn(role(DEV, "vendor")).role_session_name("vv").external_id("vendor-8").send().await.unwrap_err(),
    );
    assert_eq!(e.code, "AccessDenied");
    alice.assume_role().role_arn(role(DEV, "vendor")).role_session_name("vv").external_id("vendor-7").send().await.unwrap();
    assert_eq!(s.last_event().await["requestParameters"]["externalId"], "vendor-7");
    // Tags need sts:TagSession in the trust policy: "app"'s default trust has none.
    let tag = Tag::builder().key("Project").value("blue").build().unwrap();
    let e = failure(alice.assume_role().role_arn(role(DEV, "app")).role_session_name("tt").tags(tag.clone()).send().await.unwrap_err());
    assert_eq!(e.code, "AccessDenied");
    assert!(e.message.contains("sts:TagSession"), "{}", e.message);
}

#[tokio::test]
async fn durations_and_names_are_validated_as_sts_does() {
    let s = server().await;
    let alice = s.sts_as("AKIAALICE00000000001", "alice-secret", None, "us-east-1");
    let e = failure(alice.assume_role().role_arn(role(DEV, "app")).role_session_name("x").duration_seconds(600).send().await.unwrap_err());
    assert_eq!(e.code, "ValidationError");
    assert_eq!(
        e.message,
        "2 validation errors detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2; \
         Value '600' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
    );
    let e =
        failure(alice.assume_role().role_arn(role(DEV, "app")).role_session_name("long").duration_seconds(3601).send().await.unwrap_err());
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    );
    let out = alice
        .assume_role()
        .role_arn(role(DEV, "vendor"))
        .role_session_name("long")
        .external_id("vendor-7")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap();
    assert!(out.credentials().is_some(), "vendor's max_session_duration is 7200");
    let e = failure(alice.assume_role().role_arn("arn:aws:iam::111122223333:user/alice").role_session_name("ok").send().await.unwrap_err());
    assert_eq!((e.code.as_str(), e.message.as_str()), ("ValidationError", "Request ARN is invalid"));
    // Role chaining: a session may assume a role for an hour at most.
    let (id, secret, token) = creds(&alice.assume_role().role_arn(role(DEV, "app")).role_session_name("first").send().await.unwrap());
    let chained = s.sts_as(&id, &secret, Some(&token), "us-east-1");
    let e = failure(
        chained
            .assume_role()
            .role_arn(role(DEV, "vendor"))
            .role_session_name("second")
            .external_id("vendor-7")
            .duration_seconds(3601)
            .send()
            .await
            .unwrap_err(),
    );
    assert!(e.message.contains("role chaining"), "{}", e.message);
    let out = chained.assume_role().role_arn(role(DEV, "app")).role_session_name("second").send().await.unwrap();
    assert_eq!(out.assumed_role_user().unwrap().arn(), format!("arn:aws:sts::{DEV}:assumed-role/app/second"));
    assert_eq!(s.last_event().await["userIdentity"]["type"], "AssumedRole");
    // No MFA code without its serial number.
    let e = failure(alice.assume_role().role_arn(role(DEV, "app")).role_session_name("mm").token_code("123456").send().await.unwrap_err());
    assert_eq!(e.code, "AccessDenied");
}

#[tokio::test]
async fn session_tags_become_principal_tags() {
    let s = server().await;
    let alice = s.sts_as("AKIAALICE00000000001", "alice-secret", None, "us-east-1");
    let blue = Tag::builder().key("Project").value("blue").build().unwrap();
    let out = alice
        .assume_role()
        .role_arn(role(DEV, "tagged"))
        .role_session_name("tagged")
        .tags(blue)
        .transitive_tag_keys("Project")
        .serial_number("arn:aws:iam::111122223333:mfa/alice")
        .token_code("123456")
        .send()
        .await
        .unwrap();
    let r = s.last_event().await;
    assert_eq!(r["requestParameters"]["tags"], serde_json::json!([{"key": "Project", "value": "blue"}]));
    assert_eq!(r["requestParameters"]["transitiveTagKeys"], serde_json::json!(["Project"]));
    assert_eq!(r["requestParameters"]["serialNumber"], "arn:aws:iam::111122223333:mfa/alice");
    assert!(r["requestParameters"].get("tokenCode").is_none());
    let (id, secret, token) = creds(&out);
    let kms = s.kms_with_token(&id, &secret, &token, "us-east-1");
    kms.encrypt().key_id(TAGGED_KEY).plaintext(Blob::new("p")).send().await.unwrap();
    assert_eq!(s.last_event().await["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"], "true");
    // Duplicate keys (tag keys ignore case) are refused.
    let e = failure(
        alice
            .assume_role()
            .role_arn(role(DEV, "tagged"))
            .role_session_name("dup")
            .tags(Tag::builder().key("a").value("1").build().unwrap())
            .tags(Tag::builder().key("A").value("2").build().unwrap())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, "InvalidParameterValue");
    // Chaining carries the transitive tag into the next session's record.
    let (id, secret, token) = creds(&out);
    let chained = s.sts_as(&id, &secret, Some(&token), "us-east-1");
    let e = failure(chained.assume_role().role_arn(role(DEV, "app")).role_session_name("next").send().await.unwrap_err());
    assert_eq!(e.code, "AccessDenied", "the tagged role's sessions have no sts:AssumeRole in their policies");
    assert_eq!(s.last_event().await["requestParameters"]["incomingTransitiveTags"], serde_json::json!({"Project": "blue"}));
}

#[tokio::test]
async fn principal_tag_conditions_see_session_tags() {
    // A role without identity policies: only the key policy's tag condition can let it in.
    let cfg = format!(
        r#"
[[users]]
account = "{DEV}"
name = "alice"
access_key_id = "AKIAALICE00000000001"
secret_access_key = "alice-secret"
policies = ['''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"*"}}]}}''']
[[roles]]
account = "{DEV}"
name = "bare"
trust_policy = '''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{DEV}"}},"Action":["sts:AssumeRole","sts:TagSession"]}}]}}'''
[[keys]]
account = "{DEV}"
region = "us-east-1"
key_id = "{TAGGED_KEY}"
policy = '''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{DEV}:root"}},"Action":"kms:*","Resource":"*"}},
  {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{DEV}:role/bare"}},"Action":"kms:Encrypt","Resource":"*","Condition":{{"StringEquals":{{"aws:PrincipalTag/Project":"blue"}}}}}}]}}'''
"#
    );
    let s = Server::start_with(Options::from_config(&cfg).unwrap()).await;
    let alice = s.sts_as("AKIAALICE00000000001", "alice-secret", None, "us-east-1");
    for (value, allowed) in [("blue", true), ("red", false)] {
        let tag = Tag::builder().key("Project").value(value).build().unwrap();
        let out = alice.assume_role().role_arn(role(DEV, "bare")).role_session_name(value).tags(tag).send().await.unwrap();
        let (id, secret, token) = creds(&out);
        let kms = s.kms_with_token(&id, &secret, &token, "us-east-1");
        let result = kms.encrypt().key_id(TAGGED_KEY).plaintext(Blob::new("p")).send().await;
        assert_eq!(result.is_ok(), allowed, "Project={value}: {result:?}");
    }
}

#[tokio::test]
async fn cross_account_assume_role_is_recorded_in_both_accounts() {
    let s = server().await;
    let alice = s.sts_as("AKIAALICE00000000001", "alice-secret", None, "us-east-1");
    let out = alice.assume_role().role_arn(role(PROD, "deploy")).role_session_name("release").send().await.unwrap();
    let request_id = aws_sdk_sts::operation::RequestId::request_id(&out).unwrap().to_string();
    let records = s.records_of(&request_id).await;
    assert_eq!(records.len(), 2, "{records:?}");
    let (mine, theirs) = (&records[0], &records[1]);
    assert_eq!(mine["recipientAccountId"], DEV);
    assert_eq!(theirs["recipientAccountId"], PROD);
    assert_eq!(
        theirs["userIdentity"],
        serde_json::json!({"type": "AWSAccount", "principalId": mine["userIdentity"]["principalId"], "accountId": DEV})
    );
    assert!(mine["sharedEventID"].is_string() && mine["sharedEventID"] == theirs["sharedEventID"]);
    assert_ne!(mine["eventID"], theirs["eventID"]);
    // The session belongs to the role's account.
    let (id, secret, token) = creds(&out);
    let me = s.sts_as(&id, &secret, Some(&token), "us-east-1").get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some(PROD));
}

#[tokio::test]
async fn with_verify_signatures_the_session_token_must_come_along() {
    let mut options = Options::from_config(&config()).unwrap();
    options.verify_signatures = true;
    let s = Server::start_with(options).await;
    let alice = s.sts_as("AKIAALICE00000000001", "alice-secret", None, "us-east-1");
    let (id, secret, token) = creds(&alice.assume_role().role_arn(role(DEV, "app")).role_session_name("signed").send().await.unwrap());
    let good = s.kms_with_token(&id, &secret, &token, "us-east-1");
    good.list_keys().send().await.unwrap();
    let wrong_token = s.kms_with_token(&id, &secret, "not-the-token", "us-east-1");
    assert_eq!(failure(wrong_token.list_keys().send().await.unwrap_err()).code, "UnrecognizedClientException");
    let wrong_secret = s.kms_with_token(&id, "not-the-secret", &token, "us-east-1");
    assert_eq!(failure(wrong_secret.list_keys().send().await.unwrap_err()).code, "InvalidSignatureException");
    let e = failure(s.sts_as(&id, "not-the-secret", Some(&token), "us-east-1").get_caller_identity().send().await.unwrap_err());
    assert_eq!(e.code, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn issued_sessions_survive_a_restart_with_a_data_dir() {
    let dir = std::env::temp_dir().join(format!("keytrail-sts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = || {
        let mut o = Options::from_config(&config()).unwrap();
        o.data_dir = Some(dir.clone());
        o
    };
    let s = Server::start_with(options()).await;
    let alice = s.sts_as("AKIAALICE00000000001", "alice-secret", None, "us-east-1");
    let (id, secret, token) = creds(&alice.assume_role().role_arn(role(DEV, "app")).role_session_name("durable").send().await.unwrap());
    s.stop().await;
    let db = std::fs::read(dir.join("keytrail.db")).unwrap();
    let wal = std::fs::read(dir.join("keytrail.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "the secret is wrapped on disk");
    }
    let s = Server::start_with(options()).await;
    let me = s.sts_as(&id, &secret, Some(&token), "us-east-1").get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some(format!("arn:aws:sts::{DEV}:assumed-role/app/durable").as_str()));
    s.control("POST", "/_keytrail/reset", None).await;
    // A reset forgets issued sessions: the key is unknown again (the default account's root, as
    // any unknown key is without --strict-credentials).
    let me = s.sts_as(&id, &secret, Some(&token), "us-east-1").get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some(format!("arn:aws:iam::{DEV}:root").as_str()));
    s.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn query_protocol_requests_without_an_sdk() {
    let s = server().await;
    // Unsigned: STS's own error, in XML.
    let (status, body) = keytrail_tests::raw_http(
        s.addr,
        "POST",
        "/",
        &[("content-type", "application/x-www-form-urlencoded")],
        "Action=GetCallerIdentity&Version=2011-06-15",
    )
    .await;
    assert_eq!(status, 403);
    assert!(body.starts_with("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"), "{body}");
    assert!(body.contains("<Code>MissingAuthenticationToken</Code>"), "{body}");
    let auth = "AWS4-HMAC-SHA256 Credential=AKIAALICE00000000001/20240101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00";
    let (status, body) =
        keytrail_tests::raw_http(s.addr, "GET", "/?Action=GetCallerIdentity&Version=2011-06-15", &[("authorization", auth)], "").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<Arn>arn:aws:iam::111122223333:user/alice</Arn>"), "{body}");
    let (status, body) =
        keytrail_tests::raw_http(s.addr, "POST", "/", &[("authorization", auth)], "Action=GetSessionToken&Version=2011-06-15").await;
    assert_eq!(status, 501);
    assert!(body.contains("<Code>NotImplemented</Code>") && body.contains("GetSessionToken"), "{body}");
    let (status, body) = keytrail_tests::raw_http(s.addr, "POST", "/", &[("authorization", auth)], "Action=Nope&Version=2011-06-15").await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>InvalidAction</Code>"), "{body}");
}

#[tokio::test]
async fn other_services_get_an_answer_in_their_own_protocol() {
    let s = server().await;
    let scope = |service: &str| {
        format!("AWS4-HMAC-SHA256 Credential=AKIAX/20240101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00")
    };
    // S3 itself is served now (the trail buckets): a bucket that does not exist is S3's NoSuchBucket.
    let (status, body) = keytrail_tests::raw_http(s.addr, "GET", "/my-bucket?list-type=2", &[("authorization", &scope("s3"))], "").await;
    assert_eq!(status, 404);
    assert!(body.contains("<Code>NoSuchBucket</Code>"), "{body}");
    // Route 53 (REST-XML): an XML error document.
    let (status, body) =
        keytrail_tests::raw_http(s.addr, "GET", "/2013-04-01/hostedzone", &[("authorization", &scope("route53"))], "").await;
    assert_eq!(status, 501);
    assert!(body.contains("<Code>NotImplemented</Code>") && body.contains("Amazon Route 53 (route53)"), "{body}");
    // SQS (awsJson 1.0 today): JSON with __type.
    let (status, body) = keytrail_tests::raw_http(
        s.addr,
        "POST",
        "/",
        &[("authorization", &scope("sqs")), ("x-amz-target", "AmazonSQS.ListQueues"), ("content-type", "application/x-amz-json-1.0")],
        "{}",
    )
    .await;
    assert_eq!(status, 501);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["__type"], "NotImplemented");
    assert!(v["message"].as_str().unwrap().contains("keytrail serves AWS KMS, AWS CloudTrail, AWS STS and Amazon S3"), "{v}");
    // IAM (query protocol): <ErrorResponse>.
    let (_, body) =
        keytrail_tests::raw_http(s.addr, "POST", "/", &[("authorization", &scope("iam"))], "Action=ListUsers&Version=2010-05-08").await;
    assert!(body.contains("<ErrorResponse><Error>") && body.contains("Identity and Access Management"), "{body}");
    // EC2: its own <Response><Errors>.
    let (_, body) =
        keytrail_tests::raw_http(s.addr, "POST", "/", &[("authorization", &scope("ec2"))], "Action=DescribeInstances&Version=2016-11-15")
            .await;
    assert!(body.starts_with("<Response><Errors><Error><Code>NotImplemented</Code>"), "{body}");
    // No record for any of them.
    assert!(s.all_events().await.is_empty());
}

#[tokio::test]
async fn an_sdk_profile_with_role_arn_works_unmodified() {
    let s = server().await;
    let dir = std::env::temp_dir().join(format!("keytrail-sts-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config");
    std::fs::write(
        &config,
        format!(
            "[profile base]\naws_access_key_id = AKIAALICE00000000001\naws_secret_access_key = alice-secret\nendpoint_url = {0}\n\n\
             [profile app]\nrole_arn = {1}\nrole_session_name = from-profile\nsource_profile = base\nregion = us-east-1\nendpoint_url = {0}\n",
            s.endpoint(),
            role(DEV, "app")
        ),
    )
    .unwrap();
    let files = aws_runtime::env_config::file::EnvConfigFiles::builder()
        .with_file(aws_runtime::env_config::file::EnvConfigFileKind::Config, &config)
        .build();
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest()).profile_files(files).profile_name("app").load().await;
    let kms = aws_sdk_kms::Client::new(&conf);
    kms.list_keys().send().await.unwrap();
    let names = s.all_event_names().await;
    assert_eq!(names, ["AssumeRole", "ListKeys"]);
    let r = s.last_event().await;
    assert_eq!(r["userIdentity"]["arn"], format!("arn:aws:sts::{DEV}:assumed-role/app/from-profile"));
    let _ = std::fs::remove_dir_all(&dir);
}
