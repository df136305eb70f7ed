//! Who may do what: identity policies, key policies, explicit denies, conditions, grants,
//! cross-account calls, signatures — each asserting the error and the records in each account.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{GrantConstraints, GrantOperation};
use keytrail_server::Options;
use keytrail_tests::Server;
use serde_json::Value;

const OWNER: &str = "111122223333";
const OTHER: &str = "444455556666";
const OPEN_KEY: &str = "11111111-2222-3333-4444-555555555555";
const BOB_KEY: &str = "22222222-2222-3333-4444-555555555555";
const EC_KEY: &str = "33333333-2222-3333-4444-555555555555";
const SHARED_KEY: &str = "44444444-2222-3333-4444-555555555555";
const TEAM_KEY: &str = "55555555-2222-3333-4444-555555555555";

fn arn(id: &str) -> String {
    format!("arn:aws:kms:us-east-1:{OWNER}:key/{id}")
}

fn config() -> String {
    format!(
        r#"
default_account = "{OWNER}"
[[accounts]]
id = "{OWNER}"
alias = "dev"
[[users]]
account = "{OWNER}"
name = "alice"
access_key_id = "AKIAALICE00000000001"
secret_access_key = "alice-secret"
policies = ['''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:*","Resource":"*"}}]}}''']
[[users]]
account = "{OWNER}"
name = "bob"
access_key_id = "AKIABOB0000000000001"
secret_access_key = "bob-secret"
[[users]]
account = "{OWNER}"
name = "carol"
access_key_id = "AKIACAROL00000000001"
secret_access_key = "carol-secret"
policies = ['''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:*","Resource":"*"}},{{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}}]}}''']
[[roles]]
account = "{OTHER}"
name = "app"
policies = ['''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt","kms:DescribeKey"],"Resource":"*"}}]}}''']
sessions = [{{ name = "ci", access_key_id = "ASIAAPPCI00000000001", secret_access_key = "app-secret" }}]
[[keys]]
account = "{OWNER}"
region = "us-east-1"
key_id = "{OPEN_KEY}"
aliases = ["alias/open"]
[[keys]]
account = "{OWNER}"
region = "us-east-1"
key_id = "{BOB_KEY}"
policy = '''{{"Version":"2012-10-17","Statement":[
  {{"Sid":"root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:root"}},"Action":"kms:*","Resource":"*"}},
  {{"Sid":"bob","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:user/bob"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}}]}}'''
[[keys]]
account = "{OWNER}"
region = "us-east-1"
key_id = "{EC_KEY}"
policy = '''{{"Version":"2012-10-17","Statement":[
  {{"Sid":"admin","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:user/alice"}},"Action":"kms:*","Resource":"*"}},
  {{"Sid":"bob-eng-only","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:user/bob"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
    "Condition":{{"StringEquals":{{"kms:EncryptionContext:Dept":"Eng"}}}}}}]}}'''
[[keys]]
account = "{OWNER}"
region = "us-east-1"
key_id = "{SHARED_KEY}"
aliases = ["alias/shared"]
policy = '''{{"Version":"2012-10-17","Statement":[
  {{"Sid":"root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:root"}},"Action":"kms:*","Resource":"*"}},
  {{"Sid":"other","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":["kms:Encrypt","kms:Decrypt","kms:DescribeKey"],"Resource":"*"}}]}}'''
[[keys]]
account = "{OWNER}"
region = "us-east-1"
key_id = "{TEAM_KEY}"
aliases = ["alias/team-blue"]
policy = '''{{"Version":"2012-10-17","Statement":[
  {{"Sid":"root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:root"}},"Action":"kms:*","Resource":"*"}},
  {{"Sid":"bob-while-a-team-key","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:user/bob"}},"Action":"kms:Encrypt","Resource":"*",
    "Condition":{{"ForAnyValue:StringLike":{{"kms:ResourceAliases":"alias/team-*"}}}}}}]}}'''
"#
    )
}

async fn start() -> Server {
    Server::start_with(Options::from_config(&config()).expect("config")).await
}

fn code<E: aws_sdk_kms::error::ProvideErrorMetadata>(e: &E) -> (String, String) {
    (e.code().unwrap_or_default().to_string(), e.message().unwrap_or_default().to_string())
}

async fn encrypt(client: &aws_sdk_kms::Client, key: &str) -> Result<Vec<u8>, (String, String)> {
    client
        .encrypt()
        .key_id(key)
        .plaintext(Blob::new(b"hello".to_vec()))
        .send()
        .await
        .map(|o| o.ciphertext_blob().unwrap().as_ref().to_vec())
        .map_err(|e| code(&e.into_service_error()))
}

#[tokio::test]
async fn identity_policy_decides_when_the_key_policy_delegates_to_the_account() {
    let s = start().await;
    let alice = s.kms_as("AKIAALICE00000000001", "alice-secret", "us-east-1");
    let bob = s.kms_as("AKIABOB0000000000001", "bob-secret", "us-east-1");
    encrypt(&alice, "alias/open").await.expect("alice's identity policy allows");
    let (c, m) = encrypt(&bob, "alias/open").await.unwrap_err();
    assert_eq!(c, "AccessDeniedException");
    assert_eq!(
        m,
        format!("User: arn:aws:iam::{OWNER}:user/bob is not authorized to perform: kms:Encrypt on resource: {} because no identity-based policy allows the kms:Encrypt action", arn(OPEN_KEY))
    );
    let r = s.last_event().await;
    assert_eq!(r["errorCode"], "AccessDeniedException");
    assert_eq!(r["errorMessage"], m.as_str());
    assert_eq!(r["userIdentity"]["type"], "IAMUser");
    assert_eq!(r["userIdentity"]["userName"], "bob");
    assert!(r["userIdentity"]["principalId"].as_str().unwrap().starts_with("AIDA"));
    assert_eq!(r["userIdentity"]["accessKeyId"], "AKIABOB0000000000001");
    assert_eq!(r["recipientAccountId"], OWNER);
    assert_eq!(r["resources"][0]["ARN"], arn(OPEN_KEY));
    assert_eq!(r["requestParameters"]["keyId"], "alias/open");
    assert_eq!(r["responseElements"], Value::Null);
    keytrail_tests::assert_api_record_shape(&r);
}

#[tokio::test]
async fn key_policy_naming_the_user_needs_no_identity_policy_and_explicit_deny_wins() {
    let s = start().await;
    let bob = s.kms_as("AKIABOB0000000000001", "bob-secret", "us-east-1");
    let ct = encrypt(&bob, BOB_KEY).await.expect("key policy names bob");
    bob.decrypt().ciphertext_blob(Blob::new(ct.clone())).send().await.expect("bob decrypts");
    // Not in the statement that names bob: DescribeKey needs IAM, which bob lacks.
    let err = bob.describe_key().key_id(BOB_KEY).send().await.unwrap_err().into_service_error();
    assert_eq!(code(&err).0, "AccessDeniedException");

    let carol = s.kms_as("AKIACAROL00000000001", "carol-secret", "us-east-1");
    let ct = encrypt(&carol, "alias/open").await.expect("carol may encrypt");
    let err = carol.decrypt().ciphertext_blob(Blob::new(ct)).send().await.unwrap_err().into_service_error();
    let (c, m) = code(&err);
    assert_eq!(c, "AccessDeniedException");
    assert!(m.ends_with("with an explicit deny in an identity-based policy"), "{m}");
    let r = s.last_event().await;
    assert_eq!(r["eventName"], "Decrypt");
    assert_eq!(r["errorCode"], "AccessDeniedException");
    assert_eq!(r["resources"][0]["ARN"], arn(OPEN_KEY), "resolved from the ciphertext");
}

#[tokio::test]
async fn key_policy_that_names_neither_the_user_nor_the_account_refuses_even_admins() {
    let s = start().await;
    // EC_KEY's policy names alice and bob only; the root account is not delegated, so the
    // account root is refused for lack of a resource-based allow.
    let root = s.kms();
    let (c, m) = encrypt(&root, EC_KEY).await.unwrap_err();
    assert_eq!(c, "AccessDeniedException");
    assert!(m.ends_with("because no resource-based policy allows the kms:Encrypt action"), "{m}");
}

#[tokio::test]
async fn encryption_context_conditions() {
    let s = start().await;
    let bob = s.kms_as("AKIABOB0000000000001", "bob-secret", "us-east-1");
    let ok = bob
        .encrypt()
        .key_id(EC_KEY)
        .plaintext(Blob::new(b"x".to_vec()))
        .encryption_context("Dept", "Eng")
        .send()
        .await
        .expect("Dept=Eng allowed");
    bob.decrypt()
        .ciphertext_blob(ok.ciphertext_blob().unwrap().clone())
        .encryption_context("Dept", "Eng")
        .send()
        .await
        .expect("decrypt with Dept=Eng");
    for ctx in [Some(("Dept", "Ops")), None] {
        let mut req = bob.encrypt().key_id(EC_KEY).plaintext(Blob::new(b"x".to_vec()));
        if let Some((k, v)) = ctx {
            req = req.encryption_context(k, v);
        }
        let err = req.send().await.unwrap_err().into_service_error();
        assert_eq!(code(&err).0, "AccessDeniedException", "{ctx:?}");
    }
    let r = s.last_event().await;
    assert_eq!(r["errorCode"], "AccessDeniedException");
}

#[tokio::test]
async fn cross_account_allowed_is_recorded_in_both_accounts() {
    let s = start().await;
    let app = s.kms_as("ASIAAPPCI00000000001", "app-secret", "us-east-1");
    let ct = encrypt(&app, &arn(SHARED_KEY)).await.expect("key policy allows the other account, role policy allows");
    let out = app.decrypt().ciphertext_blob(Blob::new(ct)).send().await.expect("decrypt cross-account without key id");
    assert_eq!(out.plaintext().unwrap().as_ref(), b"hello");

    let mine = s.events(&format!("account={OTHER}&eventName=Encrypt")).await;
    let theirs = s.events(&format!("account={OWNER}&eventName=Encrypt")).await;
    assert_eq!((mine.len(), theirs.len()), (1, 1));
    let (a, b) = (&mine[0], &theirs[0]);
    assert_eq!(a["recipientAccountId"], OTHER);
    assert_eq!(b["recipientAccountId"], OWNER);
    assert_eq!(a["userIdentity"]["type"], "AssumedRole");
    assert_eq!(a["userIdentity"]["arn"], format!("arn:aws:sts::{OTHER}:assumed-role/app/ci"));
    assert_eq!(a["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"], format!("arn:aws:iam::{OTHER}:role/app"));
    assert_eq!(a["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"], "false");
    let pid = a["userIdentity"]["principalId"].as_str().unwrap();
    assert!(pid.starts_with("AROA") && pid.ends_with(":ci"), "{pid}");
    assert_eq!(b["userIdentity"], serde_json::json!({"type": "AWSAccount", "principalId": pid, "accountId": OTHER}));
    assert!(a["sharedEventID"].is_string());
    assert_eq!(a["sharedEventID"], b["sharedEventID"]);
    assert_ne!(a["eventID"], b["eventID"]);
    assert_eq!(a["requestID"], b["requestID"]);
    for r in [a, b] {
        assert_eq!(r["resources"][0]["accountId"], OWNER);
        assert_eq!(r["resources"][0]["ARN"], arn(SHARED_KEY));
        keytrail_tests::assert_api_record_shape(r);
    }
    // Same-account calls carry no sharedEventID.
    encrypt(&s.kms(), SHARED_KEY).await.unwrap();
    assert!(s.last_event().await.get("sharedEventID").is_none());
}

#[tokio::test]
async fn cross_account_denied_is_recorded_in_the_callers_account_only() {
    let s = start().await;
    let app = s.kms_as("ASIAAPPCI00000000001", "app-secret", "us-east-1");
    let (c, m) = encrypt(&app, &arn(OPEN_KEY)).await.unwrap_err();
    assert_eq!(c, "AccessDeniedException");
    assert!(m.starts_with(&format!("User: arn:aws:sts::{OTHER}:assumed-role/app/ci is not authorized to perform: kms:Encrypt")), "{m}");
    assert_eq!(s.events(&format!("account={OTHER}&eventName=Encrypt")).await.len(), 1);
    assert_eq!(s.events(&format!("account={OWNER}&eventName=Encrypt")).await.len(), 0);
    // Aliases never resolve across accounts.
    let (c, _) = encrypt(&app, "alias/shared").await.unwrap_err();
    assert_eq!(c, "NotFoundException");
    // Management actions are never allowed across accounts.
    let err = app.disable_key().key_id(arn(SHARED_KEY)).send().await.unwrap_err().into_service_error();
    assert_eq!(code(&err).0, "AccessDeniedException");
}

#[tokio::test]
async fn grants_allow_their_grantee_within_constraints_until_retired_or_revoked() {
    let s = start().await;
    let alice = s.kms_as("AKIAALICE00000000001", "alice-secret", "us-east-1");
    let bob = s.kms_as("AKIABOB0000000000001", "bob-secret", "us-east-1");
    assert_eq!(encrypt(&bob, OPEN_KEY).await.unwrap_err().0, "AccessDeniedException");
    let grant = alice
        .create_grant()
        .key_id(OPEN_KEY)
        .grantee_principal(format!("arn:aws:iam::{OWNER}:user/bob"))
        .retiring_principal(format!("arn:aws:iam::{OWNER}:user/alice"))
        .operations(GrantOperation::Encrypt)
        .operations(GrantOperation::Decrypt)
        .constraints(GrantConstraints::builder().encryption_context_subset("App", "web").build())
        .name("bob-web")
        .send()
        .await
        .expect("create grant");
    let grant_id = grant.grant_id().unwrap().to_string();
    assert_eq!(grant_id.len(), 64);
    let r = s.last_event().await;
    assert_eq!(r["eventName"], "CreateGrant");
    assert_eq!(r["responseElements"], serde_json::json!({"grantId": grant_id}));
    assert_eq!(r["requestParameters"]["constraints"], serde_json::json!({"encryptionContextSubset": {"App": "web"}}));
    assert_eq!(r["requestParameters"]["operations"], serde_json::json!(["Encrypt", "Decrypt"]));
    // Same name, same parameters: the same grant.
    let again = alice
        .create_grant()
        .key_id(OPEN_KEY)
        .grantee_principal(format!("arn:aws:iam::{OWNER}:user/bob"))
        .retiring_principal(format!("arn:aws:iam::{OWNER}:user/alice"))
        .operations(GrantOperation::Encrypt)
        .operations(GrantOperation::Decrypt)
        .constraints(GrantConstraints::builder().encryption_context_subset("App", "web").build())
        .name("bob-web")
        .send()
        .await
        .unwrap();
    assert_eq!(again.grant_id().unwrap(), grant_id);

    let token = grant.grant_token().unwrap().to_string();
    let ok = bob
        .encrypt()
        .key_id(OPEN_KEY)
        .plaintext(Blob::new(b"g".to_vec()))
        .encryption_context("App", "web")
        .encryption_context("Extra", "1")
        .grant_tokens(&token)
        .send()
        .await
        .expect("grant allows within its constraint");
    bob.decrypt()
        .ciphertext_blob(ok.ciphertext_blob().unwrap().clone())
        .encryption_context("App", "web")
        .encryption_context("Extra", "1")
        .send()
        .await
        .expect("grant allows decrypt");
    let err = bob
        .encrypt()
        .key_id(OPEN_KEY)
        .plaintext(Blob::new(b"g".to_vec()))
        .encryption_context("App", "db")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(code(&err).0, "AccessDeniedException");
    let err = bob
        .encrypt()
        .key_id(OPEN_KEY)
        .plaintext(Blob::new(b"g".to_vec()))
        .grant_tokens("not-a-token")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(code(&err).0, "InvalidGrantTokenException");

    let listed = alice.list_grants().key_id(OPEN_KEY).send().await.unwrap();
    assert_eq!(listed.grants().len(), 1);
    assert_eq!(listed.grants()[0].name(), Some("bob-web"));
    let retirable = alice.list_retirable_grants().retiring_principal(format!("arn:aws:iam::{OWNER}:user/alice")).send().await.unwrap();
    assert_eq!(retirable.grants().len(), 1);

    // Bob is not the retiring principal and RetireGrant is not among his operations.
    let err = bob.retire_grant().grant_token(&token).send().await.unwrap_err().into_service_error();
    assert_eq!(code(&err).0, "AccessDeniedException");
    alice.retire_grant().grant_token(&token).send().await.expect("retiring principal retires");
    assert_eq!(encrypt(&bob, OPEN_KEY).await.unwrap_err().0, "AccessDeniedException");

    let g2 = alice
        .create_grant()
        .key_id(OPEN_KEY)
        .grantee_principal(format!("arn:aws:iam::{OWNER}:user/bob"))
        .operations(GrantOperation::Encrypt)
        .send()
        .await
        .unwrap();
    encrypt(&bob, OPEN_KEY).await.expect("second grant");
    alice.revoke_grant().key_id(OPEN_KEY).grant_id(g2.grant_id().unwrap()).send().await.unwrap();
    assert_eq!(encrypt(&bob, OPEN_KEY).await.unwrap_err().0, "AccessDeniedException");
    let err = alice.revoke_grant().key_id(OPEN_KEY).grant_id(g2.grant_id().unwrap()).send().await.unwrap_err().into_service_error();
    assert_eq!(code(&err).0, "NotFoundException");
    let r = s.events("eventName=RevokeGrant").await;
    assert_eq!(r[0]["responseElements"]["keyId"], arn(OPEN_KEY));
}

#[tokio::test]
async fn key_policy_operations_validate_and_check_lockout() {
    let s = start().await;
    let alice = s.kms_as("AKIAALICE00000000001", "alice-secret", "us-east-1");
    let created = alice.create_key().send().await.unwrap();
    let id = created.key_metadata().unwrap().key_id().to_string();
    let got = alice.get_key_policy().key_id(&id).send().await.unwrap();
    assert_eq!(got.policy_name(), Some("default"));
    assert_eq!(got.policy().unwrap(), keytrail_iam_default_policy(OWNER));
    let r = s.last_event().await;
    assert_eq!(r["eventName"], "GetKeyPolicy");
    assert_eq!(r["responseElements"], Value::Null);
    assert_eq!(r["readOnly"], true);

    let names = alice.list_key_policies().key_id(&id).send().await.unwrap();
    assert_eq!(names.policy_names(), ["default"]);

    let err = alice.put_key_policy().key_id(&id).policy("{not json").send().await.unwrap_err().into_service_error();
    assert_eq!(code(&err).0, "MalformedPolicyDocumentException");
    let bob_only = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:user/bob"}},"Action":"kms:*","Resource":"*"}}]}}"#
    );
    let err = alice.put_key_policy().key_id(&id).policy(&bob_only).send().await.unwrap_err().into_service_error();
    let (c, m) = code(&err);
    assert_eq!(c, "MalformedPolicyDocumentException");
    assert!(m.contains("will not allow you to update the key policy in the future"), "{m}");
    assert_eq!(
        alice.get_key_policy().key_id(&id).send().await.unwrap().policy().unwrap(),
        keytrail_iam_default_policy(OWNER),
        "refused policy changed nothing"
    );
    alice.put_key_policy().key_id(&id).policy(&bob_only).bypass_policy_lockout_safety_check(true).send().await.expect("bypass");
    let r = s.events("eventName=PutKeyPolicy").await.pop().unwrap();
    assert_eq!(r["requestParameters"]["policy"], bob_only.as_str());
    assert_eq!(r["requestParameters"]["policyName"], "default");
    assert_eq!(r["requestParameters"]["bypassPolicyLockoutSafetyCheck"], true);
    assert_eq!(r["responseElements"]["keyId"], created.key_metadata().unwrap().arn().unwrap());
    // Alice is now locked out: the new policy names only bob and does not delegate to IAM.
    let err = alice.describe_key().key_id(&id).send().await.unwrap_err().into_service_error();
    assert_eq!(code(&err).0, "AccessDeniedException");
    // A CreateKey with a malformed policy creates nothing.
    let before = alice.list_keys().send().await.unwrap().keys().len();
    let err = alice.create_key().policy("{\"Statement\":5}").send().await.unwrap_err().into_service_error();
    assert_eq!(code(&err).0, "MalformedPolicyDocumentException");
    assert_eq!(alice.list_keys().send().await.unwrap().keys().len(), before);
}

fn keytrail_iam_default_policy(account: &str) -> String {
    format!(
        "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"arn:aws:iam::{account}:root\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}"
    )
}

#[tokio::test]
async fn account_level_actions_follow_identity_policies() {
    let s = start().await;
    let bob = s.kms_as("AKIABOB0000000000001", "bob-secret", "us-east-1");
    let err = bob.create_key().send().await.unwrap_err().into_service_error();
    let (c, m) = code(&err);
    assert_eq!(c, "AccessDeniedException");
    assert_eq!(m, format!("User: arn:aws:iam::{OWNER}:user/bob is not authorized to perform: kms:CreateKey on resource: * because no identity-based policy allows the kms:CreateKey action"));
    let r = s.last_event().await;
    assert_eq!(r["eventName"], "CreateKey");
    assert!(r.get("resources").is_none());
    // The root of an account with an alias shows it as userName.
    s.kms().list_keys().send().await.unwrap();
    assert_eq!(s.last_event().await["userIdentity"]["userName"], "dev");
}

#[tokio::test]
async fn signatures_are_verified_when_asked() {
    let mut options = Options::from_config(&config()).unwrap();
    options.verify_signatures = true;
    options.strict_credentials = true;
    // Strict credentials close the control API too: the harness reads records with this token.
    options.control_token = Some(keytrail_server::options::ControlToken("test-control-token-0001".into()));
    let s = Server::start_with(options).await;
    let good = s.kms_as("AKIAALICE00000000001", "alice-secret", "us-east-1");
    good.list_keys().send().await.expect("correct signature");
    let bad = s.kms_as("AKIAALICE00000000001", "wrong-secret", "us-east-1");
    let err = bad.list_keys().send().await.unwrap_err().into_service_error();
    let (c, m) = code(&err);
    assert_eq!(c, "InvalidSignatureException");
    assert!(m.starts_with("The request signature we calculated does not match"), "{m}");
    let stranger = s.kms_as("AKIASTRANGER0000001", "x", "us-east-1");
    let err = stranger.list_keys().send().await.unwrap_err().into_service_error();
    assert_eq!(code(&err).0, "UnrecognizedClientException");
    // A stale date is refused before the signature is even compared.
    let (status, body) = keytrail_tests::raw_http(
        s.addr,
        "POST",
        "/",
        &[
            ("x-amz-target", "TrentService.ListKeys"),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-date", "20200101T000000Z"),
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIAALICE00000000001/20200101/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"),
        ],
        "{}",
    )
    .await;
    assert_eq!(status, 400);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["__type"], "InvalidSignatureException");
    assert!(v["message"].as_str().unwrap().starts_with("Signature expired: 20200101T000000Z is now earlier than"), "{v}");
    // Unauthenticated requests leave no record.
    assert_eq!(s.all_event_names().await, ["ListKeys"]);
}

#[tokio::test]
async fn denial_error_code_is_configurable_and_reset_reapplies_seeds() {
    let text = format!("access_denied_error_code = \"AccessDenied\"\n{}", config());
    let s = Server::start_with(Options::from_config(&text).unwrap()).await;
    let bob = s.kms_as("AKIABOB0000000000001", "bob-secret", "us-east-1");
    let (c, _) = encrypt(&bob, OPEN_KEY).await.unwrap_err();
    assert_eq!(c, "AccessDeniedException", "the API error keeps AWS's code");
    assert_eq!(s.last_event().await["errorCode"], "AccessDenied", "the record uses the configured code");

    let root = s.kms();
    root.schedule_key_deletion().key_id(OPEN_KEY).pending_window_in_days(7).send().await.unwrap();
    root.create_key().send().await.unwrap();
    s.control("POST", "/_keytrail/reset", None).await;
    assert!(s.all_events().await.is_empty());
    let keys = root.list_keys().send().await.unwrap();
    let mut ids: Vec<&str> = keys.keys().iter().filter_map(|k| k.key_id()).collect();
    ids.sort();
    assert_eq!(ids, [OPEN_KEY, BOB_KEY, EC_KEY, SHARED_KEY, TEAM_KEY]);
    let d = root.describe_key().key_id("alias/open").send().await.unwrap();
    assert_eq!(d.key_metadata().unwrap().key_state().unwrap().as_str(), "Enabled", "seeded key back as configured");
}

#[tokio::test]
async fn seeded_material_is_used_as_given() {
    let material = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let text =
        format!("[[keys]]\naccount = \"{OWNER}\"\nregion = \"us-east-1\"\nkey_id = \"{OPEN_KEY}\"\nmaterial_hex = [\"{material}\"]\n");
    let a = Server::start_with(Options::from_config(&text).unwrap()).await;
    let ct = encrypt(&a.kms(), OPEN_KEY).await.unwrap();
    drop(a);
    // A second server seeded with the same material decrypts the first one's ciphertext.
    let b = Server::start_with(Options::from_config(&text).unwrap()).await;
    let out = b.kms().decrypt().ciphertext_blob(Blob::new(ct)).send().await.expect("same material decrypts");
    assert_eq!(out.plaintext().unwrap().as_ref(), b"hello");
}

/// `kms:ResourceAliases` is the key's aliases at the time of the call (keytrail computes it only
/// when a condition reads it): bob may encrypt under the key while it has a `team-` alias, by
/// its id as well as by the alias, and not once alice deleted that alias.
#[tokio::test]
async fn resource_aliases_condition_follows_the_keys_aliases() {
    let s = start().await;
    let alice = s.kms_as("AKIAALICE00000000001", "alice-secret", "us-east-1");
    let bob = s.kms_as("AKIABOB0000000000001", "bob-secret", "us-east-1");
    encrypt(&bob, TEAM_KEY).await.expect("the key has alias/team-blue");
    encrypt(&bob, "alias/team-blue").await.expect("by its alias too");
    let (c, _) = encrypt(&bob, OPEN_KEY).await.unwrap_err();
    assert_eq!(c, "AccessDeniedException", "another key's policy does not name bob");

    alice.create_alias().alias_name("alias/other-name").target_key_id(TEAM_KEY).send().await.unwrap();
    alice.delete_alias().alias_name("alias/team-blue").send().await.unwrap();
    let (c, m) = encrypt(&bob, TEAM_KEY).await.unwrap_err();
    assert_eq!(c, "AccessDeniedException");
    assert_eq!(
        m,
        format!("User: arn:aws:iam::{OWNER}:user/bob is not authorized to perform: kms:Encrypt on resource: {} because no identity-based policy allows the kms:Encrypt action", arn(TEAM_KEY))
    );
    let r = s.last_event().await;
    assert_eq!(r["eventName"], "Encrypt");
    assert_eq!(r["errorCode"], "AccessDeniedException");
    assert_eq!(r["userIdentity"]["userName"], "bob");

    alice.create_alias().alias_name("alias/team-red").target_key_id(TEAM_KEY).send().await.unwrap();
    encrypt(&bob, "alias/other-name").await.expect("a team- alias again, whichever name the call uses");
}

#[tokio::test]
async fn report_only_enforcement_lets_denied_calls_through_and_lists_them() {
    let mut options = Options::from_config(&config()).expect("config");
    options.enforcement = keytrail_server::Enforcement::Report;
    let s = Server::start_with(options).await;
    let bob = s.kms_as("AKIABOB0000000000001", "bob-secret", "us-east-1");
    let carol = s.kms_as("AKIACAROL00000000001", "carol-secret", "us-east-1");
    // bob may Encrypt with BOB_KEY but not DescribeKey; carol's identity policy denies Decrypt.
    let described = bob.describe_key().key_id(BOB_KEY).send().await.expect("report mode lets it through");
    assert_eq!(described.key_metadata().unwrap().key_id(), BOB_KEY);
    let ct = encrypt(&carol, OPEN_KEY).await.unwrap();
    carol.decrypt().ciphertext_blob(Blob::new(ct)).send().await.expect("the explicit deny is only reported");
    encrypt(&bob, BOB_KEY).await.expect("allowed calls are not listed");
    let body = s.control("GET", "/_keytrail/denials", None).await;
    assert_eq!(body["enforcement"], "report");
    let denials = body["Denials"].as_array().unwrap();
    assert_eq!(denials.len(), 2, "{body}");
    assert_eq!(denials[0]["principal"], format!("arn:aws:iam::{OWNER}:user/bob"));
    assert_eq!(denials[0]["action"], "kms:DescribeKey");
    assert_eq!(denials[0]["resource"], arn(BOB_KEY));
    // The key policy lets the account's IAM decide, and bob has no identity policy.
    assert_eq!(denials[0]["policy"], "identity policy");
    assert_eq!(denials[0]["explicitDeny"], false);
    assert!(denials[0]["message"].as_str().unwrap().ends_with("because no identity-based policy allows the kms:DescribeKey action"));
    assert_eq!((denials[1]["action"].as_str(), denials[1]["policy"].as_str()), (Some("kms:Decrypt"), Some("identity policy")));
    assert_eq!(denials[1]["explicitDeny"], true);
    // The records are those of calls that happened: no error.
    let names = s.all_event_names().await;
    assert_eq!(names, ["DescribeKey", "Encrypt", "Decrypt", "Encrypt"]);
    assert!(s.all_events().await.iter().all(|r| r.get("errorCode").is_none()));
    s.control("POST", "/_keytrail/reset", None).await;
    assert_eq!(s.control("GET", "/_keytrail/denials", None).await["Denials"], serde_json::json!([]));
}

#[tokio::test]
async fn strict_enforcement_is_the_default_and_lists_nothing() {
    let s = start().await;
    let bob = s.kms_as("AKIABOB0000000000001", "bob-secret", "us-east-1");
    assert!(bob.describe_key().key_id(BOB_KEY).send().await.is_err());
    let body = s.control("GET", "/_keytrail/denials", None).await;
    assert_eq!(body, serde_json::json!({"enforcement": "strict", "Denials": []}));
}
