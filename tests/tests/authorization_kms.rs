//! Grants, aliases and condition keys end to end through `aws-sdk-kms`, with users, roles and two
//! accounts under `--verify-signatures --strict-credentials`: each finding of issue 20 and its
//! neighbour, as AWS's documentation decides them (the in-process suites in `crates/kms/tests`
//! name each page; these check the same rules through a real server, its records included).

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{GrantConstraints, GrantOperation, Tag};
use aws_sdk_kms::Client;
use keytrail_tests::{failure, Failure, Server};

const OWNER: &str = "111122223333";
const OTHER: &str = "444455556666";
const OPEN_KEY: &str = "11111111-2222-3333-4444-555555555555";
const STAGE_KEY: &str = "22222222-2222-3333-4444-555555555555";
const MALLORY_KEY: &str = "33333333-2222-3333-4444-555555555555";
const TEAM_KEY: &str = "44444444-2222-3333-4444-555555555555";

fn key_arn(id: &str) -> String {
    format!("arn:aws:kms:us-east-1:{OWNER}:key/{id}")
}

fn user(name: &str, key: &str, statements: &[&str], tags: &str) -> String {
    let policies: Vec<String> = statements.iter().map(|p| format!("'''{{\"Version\":\"2012-10-17\",\"Statement\":[{p}]}}'''")).collect();
    format!(
        "[[users]]\naccount = \"{OWNER}\"\nname = \"{name}\"\naccess_key_id = \"{key}\"\nsecret_access_key = \"{name}-secret\"\npolicies = [{}]\n{tags}\n",
        policies.join(", ")
    )
}

fn seeded_key(id: &str, aliases: &str, statements: &str) -> String {
    format!(
        "[[keys]]\naccount = \"{OWNER}\"\nregion = \"us-east-1\"\nkey_id = \"{id}\"\naliases = [{aliases}]\npolicy = '''{{\"Version\":\"2012-10-17\",\"Statement\":[{statements}]}}'''\n"
    )
}

const ALL: &str = r#"{"Effect":"Allow","Action":"kms:*","Resource":"*"}"#;
const DELEGATE: &str = r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}"#;

fn config() -> String {
    let mut t = format!("default_account = \"{OWNER}\"\n");
    t += &user("admin", "AKIAADMIN00000000001", &[ALL], "");
    t += &user("bob", "AKIABOB0000000000001", &[], "");
    t += &user("erin", "AKIAERIN000000000001", &[r#"{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}"#], "");
    t += &user("dave", "AKIADAVE000000000001", &[r#"{"Effect":"Allow","Action":"kms:RetireGrant","Resource":"*"}"#], "");
    t += &user("carol", "AKIACAROL00000000001", &[ALL, r#"{"Effect":"Deny","Action":"kms:RetireGrant","Resource":"*"}"#], "");
    t += &user(
        "mallory",
        "AKIAMALLORY000000001",
        &[r#"{"Effect":"Allow","Action":["kms:CreateAlias","kms:UpdateAlias","kms:DeleteAlias"],"Resource":"arn:aws:kms:*:*:alias/*"}"#],
        "",
    );
    t += &user(
        "aliasadmin",
        "AKIAALIASADMIN000001",
        &[
            r#"{"Effect":"Allow","Action":["kms:CreateAlias","kms:UpdateAlias","kms:DeleteAlias"],"Resource":"*"}"#,
            r#"{"Effect":"Deny","Action":["kms:CreateAlias","kms:UpdateAlias","kms:DeleteAlias"],"Resource":"arn:aws:kms:us-east-1:111122223333:alias/Restricted*"}"#,
        ],
        "",
    );
    t += &user(
        "local",
        "AKIALOCAL00000000001",
        &[ALL, r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"127.0.0.0/8"}}}"#],
        "",
    );
    t += &user(
        "remote",
        "AKIAREMOTE0000000001",
        &[ALL, r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}"#],
        "",
    );
    t += &user(
        "tlsonly",
        "AKIATLSONLY000000001",
        &[ALL, r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#],
        "",
    );
    // ABAC: the key's team tag must be the caller's (IAM User Guide, "What is ABAC for AWS?").
    let by_team = r#"{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}}"#;
    t += &user("blue", "AKIABLUE000000000001", &[by_team], "tags = { Team = \"blue\" }");
    t += &user("red", "AKIARED0000000000001", &[by_team], "tags = { team = \"red\" }");
    t += &user(
        "creator",
        "AKIACREATOR000000001",
        &[r#"{"Effect":"Allow","Action":["kms:CreateKey","kms:PutKeyPolicy"],"Resource":"*"}"#],
        "",
    );
    t += &user(
        "guarded",
        "AKIAGUARDED000000001",
        &[
            ALL,
            r#"{"Effect":"Deny","Action":["kms:CreateKey","kms:PutKeyPolicy"],"Resource":"*","Condition":{"Bool":{"kms:BypassPolicyLockoutSafetyCheck":true}}}"#,
        ],
        "",
    );
    t += &format!(
        "[[roles]]\naccount = \"{OTHER}\"\nname = \"app\"\npolicies = ['''{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":[\"kms:Encrypt\",\"kms:ListRetirableGrants\"],\"Resource\":\"*\"}}]}}''']\nsessions = [{{ name = \"ci\", access_key_id = \"ASIAAPPCI00000000001\", secret_access_key = \"app-secret\", session_token = \"asiaappci00000000001-session-token\" }}]\n"
    );
    t += &seeded_key(OPEN_KEY, "\"alias/open\"", DELEGATE);
    let stage_deny = r#"{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:Stage":"Restricted"}}}"#;
    t += &seeded_key(STAGE_KEY, "", &format!("{DELEGATE},{stage_deny}"));
    let mallory = r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/mallory"},"Action":"kms:*","Resource":"*"}"#;
    t += &seeded_key(MALLORY_KEY, "\"alias/mallory\"", &format!("{DELEGATE},{mallory}"));
    t += &seeded_key(TEAM_KEY, "", DELEGATE);
    t
}

fn client(s: &Server, name: &str, key: &str) -> Client {
    s.kms_as(key, &format!("{name}-secret"), "us-east-1")
}

async fn encrypt(c: &Client, key: &str, context: &[(&str, &str)]) -> Result<(), Failure> {
    let mut req = c.encrypt().key_id(key).plaintext(Blob::new(b"hello".to_vec()));
    for (k, v) in context {
        req = req.encryption_context(*k, *v);
    }
    req.send().await.map(|_| ()).map_err(failure)
}

#[track_caller]
fn assert_denied(result: Result<(), Failure>, reason: &str) -> Failure {
    let f = result.expect_err("expected a denial");
    assert_eq!(f.code, "AccessDeniedException", "{f:?}");
    assert!(f.message.contains(reason), "{}\nshould say: {reason}", f.message);
    f
}

/// Grants: a grantee's CreateGrant through a grant is limited to the parent's operations and
/// constraints; constrained grants take CreateGrant, DescribeKey and RetireGrant; RetireGrant by
/// an IAM-delegated key administrator, not against an IAM Deny; a grant to an account goes through
/// IAM; ListRetirableGrants stays in the caller's account.
#[tokio::test]
async fn grants() {
    let s = Server::start_strict(&config()).await;
    let admin = client(&s, "admin", "AKIAADMIN00000000001");
    let bob = client(&s, "bob", "AKIABOB0000000000001");
    let user_arn = |n: &str| format!("arn:aws:iam::{OWNER}:user/{n}");
    let it = || GrantConstraints::builder().encryption_context_subset("Department", "IT").build();
    let parent = admin
        .create_grant()
        .key_id(OPEN_KEY)
        .grantee_principal(user_arn("bob"))
        .operations(GrantOperation::Decrypt)
        .operations(GrantOperation::CreateGrant)
        .operations(GrantOperation::DescribeKey)
        .operations(GrantOperation::RetireGrant)
        .constraints(it())
        .send()
        .await
        .expect("a constrained grant with CreateGrant, DescribeKey and RetireGrant is accepted");
    bob.describe_key().key_id(OPEN_KEY).send().await.expect("DescribeKey ignores the constraint");
    // Within the parent: allowed. Beyond it: AccessDenied, recorded.
    bob.create_grant()
        .key_id(OPEN_KEY)
        .grantee_principal(user_arn("erin"))
        .operations(GrantOperation::Decrypt)
        .constraints(GrantConstraints::builder().encryption_context_equals("Department", "IT").build())
        .send()
        .await
        .expect("subset of operations, stricter constraint");
    let wider = bob
        .create_grant()
        .key_id(OPEN_KEY)
        .grantee_principal(user_arn("bob"))
        .operations(GrantOperation::Encrypt)
        .constraints(it())
        .send()
        .await;
    let f = assert_denied(wider.map(|_| ()).map_err(failure), "kms:CreateGrant");
    let r = s.record_of(&f.request_id).await;
    assert_eq!((r["eventName"].as_str(), r["errorCode"].as_str()), (Some("CreateGrant"), Some("AccessDeniedException")));
    let looser = bob.create_grant().key_id(OPEN_KEY).grantee_principal(user_arn("bob")).operations(GrantOperation::Decrypt).send().await;
    assert_denied(looser.map(|_| ()).map_err(failure), "kms:CreateGrant");

    // RetireGrant: the key administrator of the owning account through IAM; carol's IAM Deny wins
    // even as retiring principal; bob as grantee with RetireGrant.
    let plain =
        admin.create_grant().key_id(OPEN_KEY).grantee_principal(user_arn("erin")).operations(GrantOperation::Encrypt).send().await.unwrap();
    client(&s, "dave", "AKIADAVE000000000001")
        .retire_grant()
        .key_id(OPEN_KEY)
        .grant_id(plain.grant_id().unwrap())
        .send()
        .await
        .expect("IAM-delegated");
    let carols = admin
        .create_grant()
        .key_id(OPEN_KEY)
        .grantee_principal(user_arn("erin"))
        .retiring_principal(user_arn("carol"))
        .operations(GrantOperation::Encrypt)
        .send()
        .await
        .unwrap();
    let denied = client(&s, "carol", "AKIACAROL00000000001").retire_grant().grant_token(carols.grant_token().unwrap()).send().await;
    assert_denied(denied.map(|_| ()).map_err(failure), "with an explicit deny in an identity-based policy");
    bob.retire_grant().grant_token(parent.grant_token().unwrap()).send().await.expect("the grantee, RetireGrant in its grant");

    // A grant to the account: erin (IAM allows Encrypt) may use it, bob (no IAM) may not.
    let key = admin
        .create_key()
        .policy(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"kms:*","Resource":"*"}}]}}"#,
            user_arn("admin")
        ))
        .send()
        .await
        .unwrap();
    let key = key.key_metadata().unwrap().key_id().to_string();
    admin
        .create_grant()
        .key_id(&key)
        .grantee_principal(format!("arn:aws:iam::{OWNER}:root"))
        .operations(GrantOperation::Encrypt)
        .send()
        .await
        .unwrap();
    encrypt(&client(&s, "erin", "AKIAERIN000000000001"), &key, &[]).await.expect("through erin's IAM policy");
    assert_denied(encrypt(&bob, &key, &[]).await, "because no resource-based policy allows the kms:Encrypt action");

    // ListRetirableGrants for another account's principal.
    let app = s.kms_as("ASIAAPPCI00000000001", "app-secret", "us-east-1");
    let f = app.list_retirable_grants().retiring_principal(user_arn("carol")).send().await.unwrap_err();
    let f = failure(f);
    assert_eq!(f.code, "AccessDeniedException");
    app.list_retirable_grants().retiring_principal(format!("arn:aws:iam::{OTHER}:root")).send().await.expect("its own account");
}

/// Aliases: UpdateAlias needs the current key as well as the new one, so controlling one key does
/// not let mallory repoint another key's alias at it; a Deny on `alias/Restricted*` applies.
#[tokio::test]
async fn aliases() {
    let s = Server::start_strict(&config()).await;
    let mallory = client(&s, "mallory", "AKIAMALLORY000000001");
    let denied = mallory.update_alias().alias_name("alias/open").target_key_id(MALLORY_KEY).send().await;
    let f = assert_denied(denied.map(|_| ()).map_err(failure), &format!("kms:UpdateAlias on resource: {}", key_arn(OPEN_KEY)));
    let r = s.record_of(&f.request_id).await;
    let resources: Vec<&str> = r["resources"].as_array().unwrap().iter().map(|x| x["ARN"].as_str().unwrap()).collect();
    assert!(resources.contains(&format!("arn:aws:kms:us-east-1:{OWNER}:alias/open").as_str()), "{resources:?}");
    assert!(resources.contains(&key_arn(OPEN_KEY).as_str()), "{resources:?}");
    let admin = client(&s, "admin", "AKIAADMIN00000000001");
    let described = admin.describe_key().key_id("alias/open").send().await.unwrap();
    assert_eq!(described.key_metadata().unwrap().key_id(), OPEN_KEY, "the alias still names its key");
    // Its own key's alias it may manage.
    mallory.create_alias().alias_name("alias/mallory-2").target_key_id(MALLORY_KEY).send().await.expect("own key");
    let aliasadmin = client(&s, "aliasadmin", "AKIAALIASADMIN000001");
    aliasadmin.create_alias().alias_name("alias/team").target_key_id(OPEN_KEY).send().await.expect("alias/* and the key through IAM");
    let denied = aliasadmin.create_alias().alias_name("alias/Restricted-keys").target_key_id(OPEN_KEY).send().await;
    assert_denied(denied.map(|_| ()).map_err(failure), "alias/Restricted-keys with an explicit deny in an identity-based policy");
}

/// Condition keys: a decoy encryption-context pair does not bypass a Deny on
/// `kms:EncryptionContext:Stage`; `aws:SourceIp` is the peer's address; `aws:SecureTransport` is
/// false over HTTP; `aws:PrincipalTag` comes from the config's `tags` (and `aws:ResourceTag` from
/// the key's); CreateKey with Tags needs `kms:TagResource`; an IAM Deny on
/// `kms:BypassPolicyLockoutSafetyCheck` applies; ForAllValues on a single-valued key is refused.
#[tokio::test]
async fn condition_keys() {
    let s = Server::start_strict(&config()).await;
    let admin = client(&s, "admin", "AKIAADMIN00000000001");
    for context in
        [&[("Stage", "Restricted")][..], &[("Stage", "Restricted"), ("stage", "Test")], &[("STAGE", "Test"), ("stage", "Restricted")]]
    {
        assert_denied(encrypt(&admin, STAGE_KEY, context).await, "with an explicit deny in a resource-based policy");
    }
    encrypt(&admin, STAGE_KEY, &[("Stage", "Test")]).await.expect("another stage");

    encrypt(&client(&s, "local", "AKIALOCAL00000000001"), OPEN_KEY, &[]).await.expect("from 127.0.0.1");
    assert_denied(
        encrypt(&client(&s, "remote", "AKIAREMOTE0000000001"), OPEN_KEY, &[]).await,
        "with an explicit deny in an identity-based policy",
    );
    assert_denied(
        encrypt(&client(&s, "tlsonly", "AKIATLSONLY000000001"), OPEN_KEY, &[]).await,
        "with an explicit deny in an identity-based policy",
    );

    admin.tag_resource().key_id(TEAM_KEY).tags(Tag::builder().tag_key("team").tag_value("blue").build().unwrap()).send().await.unwrap();
    encrypt(&client(&s, "blue", "AKIABLUE000000000001"), TEAM_KEY, &[]).await.expect("team=blue on both sides");
    assert_denied(encrypt(&client(&s, "red", "AKIARED0000000000001"), TEAM_KEY, &[]).await, "because no identity-based policy allows");

    let creator = client(&s, "creator", "AKIACREATOR000000001");
    creator.create_key().send().await.expect("no tags");
    let tagged = creator.create_key().tags(Tag::builder().tag_key("Purpose").tag_value("Test").build().unwrap()).send().await;
    assert_denied(tagged.map(|_| ()).map_err(failure), "kms:TagResource on resource: * because no identity-based policy allows");

    let guarded = client(&s, "guarded", "AKIAGUARDED000000001");
    let bypass = guarded.create_key().bypass_policy_lockout_safety_check(true).send().await;
    assert_denied(bypass.map(|_| ()).map_err(failure), "kms:CreateKey on resource: * with an explicit deny in an identity-based policy");
    let bypass = guarded
        .put_key_policy()
        .key_id(OPEN_KEY)
        .policy(format!(r#"{{"Version":"2012-10-17","Statement":[{DELEGATE}]}}"#))
        .bypass_policy_lockout_safety_check(true)
        .send()
        .await;
    assert_denied(bypass.map(|_| ()).map_err(failure), "with an explicit deny in an identity-based policy");

    let overly = format!(
        r#"{{"Version":"2012-10-17","Statement":[{DELEGATE},{{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{{"ForAllValues:StringEquals":{{"kms:EncryptionContext:Department":"IT"}}}}}}]}}"#
    );
    let err = failure(admin.put_key_policy().key_id(OPEN_KEY).policy(overly).send().await.unwrap_err());
    assert_eq!(err.code, "MalformedPolicyDocumentException");
    assert!(err.message.starts_with("OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator"), "{err:?}");
}
