//! Grants, case by case from AWS's documentation, through the real authorizer in process.
//!
//! Pages: "Grants in AWS KMS" (https://docs.aws.amazon.com/kms/latest/developerguide/grants.html),
//! "Creating grants" — grant constraints and "Granting CreateGrant permission"
//! (https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html), the
//! `GrantConstraints` API reference (https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantConstraints.html),
//! "Retiring and revoking grants" (https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html),
//! and `ListRetirableGrants` (https://docs.aws.amazon.com/kms/latest/APIReference/API_ListRetirableGrants.html).

mod common;

use common::*;
use serde_json::{json, Value};

fn world() -> World {
    World::new(vec![
        user(OWNER, "alice", &[ALLOW_ALL]),
        user(OWNER, "bob", &[]),
        user(OWNER, "erin", &[r#"{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}"#]),
        user(OWNER, "dave", &[r#"{"Effect":"Allow","Action":"kms:RetireGrant","Resource":"*"}"#]),
        user(OWNER, "carol", &[ALLOW_ALL, r#"{"Effect":"Deny","Action":"kms:RetireGrant","Resource":"*"}"#]),
        session(
            OTHER,
            "app",
            &[r#"{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt","kms:RetireGrant","kms:CreateGrant"],"Resource":"*"}"#],
        ),
        user(OTHER, "ops", &[]),
    ])
}

fn arn_of(account: &str, kind: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{kind}/{name}")
}

/// A CreateGrant body: `operations`, and `constraints` as `{"EncryptionContextSubset": {...}}`.
fn grant(key: &str, grantee: &str, operations: &[&str], constraints: Value) -> Value {
    let mut body = json!({ "KeyId": key, "GranteePrincipal": grantee, "Operations": operations });
    if !constraints.is_null() {
        body["Constraints"] = constraints;
    }
    body
}

fn encrypt(key: &str, context: Value) -> Value {
    json!({ "KeyId": key, "Plaintext": "aGVsbG8=", "EncryptionContext": context })
}

fn grant_id(out: Value) -> String {
    out["GrantId"].as_str().expect("GrantId").to_string()
}

/// "Granting CreateGrant permission": a grantee that got CreateGrant from a grant may create
/// grants with a subset of its operations and constraints at least as strict — and so on down
/// the line — while a principal with CreateGrant from a policy is not so limited.
#[test]
fn a_child_grant_is_at_most_its_parent() {
    let w = world();
    let key = w.key(None);
    let bob = arn_of(OWNER, "user", "bob");
    let erin = arn_of(OWNER, "user", "erin");
    let it = json!({"EncryptionContextSubset": {"Department": "IT"}});
    assert_allowed(w.call("alice", "CreateGrant", grant(&key, &bob, &["GenerateDataKey", "Decrypt", "CreateGrant"], it.clone())));

    // Allowed children: some or all of the operations; pairs added; subset turned into equals.
    let dave = arn_of(OWNER, "user", "dave");
    let children = [
        (&erin, vec!["Decrypt"], json!({"EncryptionContextSubset": {"Department": "IT", "Purpose": "Test"}})),
        (&erin, vec!["CreateGrant", "Decrypt"], json!({"EncryptionContextEquals": {"Department": "IT"}})),
        (&dave, vec!["GenerateDataKey", "Decrypt", "CreateGrant"], it.clone()),
        (&erin, vec!["Decrypt"], json!({"EncryptionContextSubset": {"department": "IT"}})),
    ];
    for (grantee, ops, constraints) in children {
        assert_allowed(w.call("bob", "CreateGrant", grant(&key, grantee, &ops, constraints)));
    }
    // Refused children: another operation, a looser or different constraint, no constraint.
    let refused = [
        (vec!["Encrypt"], it.clone()),
        (vec!["Decrypt", "ReEncryptFrom"], it.clone()),
        (vec!["Decrypt"], Value::Null),
        (vec!["Decrypt"], json!({"EncryptionContextSubset": {"Purpose": "Test"}})),
        (vec!["Decrypt"], json!({"EncryptionContextSubset": {"Department": "HR"}})),
        (vec!["Decrypt"], json!({"EncryptionContextEquals": {"Purpose": "Test"}})),
    ];
    for (ops, constraints) in refused {
        let body = grant(&key, &erin, &ops, constraints.clone());
        assert_denied(w.call("bob", "CreateGrant", body), NO_IDENTITY);
    }

    // The grandchild: erin got [CreateGrant, Decrypt] with EncryptionContextEquals; equals
    // cannot become a subset again.
    let equals = json!({"EncryptionContextEquals": {"Department": "IT"}});
    assert_allowed(w.call("erin", "CreateGrant", grant(&key, &bob, &["Decrypt"], equals)));
    assert_denied(w.call("erin", "CreateGrant", grant(&key, &bob, &["Decrypt"], it.clone())), "kms:CreateGrant");

    // A policy's CreateGrant carries no such limit.
    assert_allowed(w.call("alice", "CreateGrant", grant(&key, &erin, &["Encrypt", "ReEncryptFrom"], Value::Null)));
}

/// CreateGrant's `Constraints`: "Grants with grant constraints can include the DescribeKey and
/// RetireGrant operations, but the constraint doesn't apply to these operations. If a grant with a
/// grant constraint includes the CreateGrant operation, …" — accepted; operations that take no
/// encryption context are refused; and a grant of CreateGrant alone is refused with AWS's text.
#[test]
fn constrained_grants_take_what_aws_takes() {
    let w = world();
    let key = w.key(None);
    let bob = arn_of(OWNER, "user", "bob");
    let c = json!({"EncryptionContextSubset": {"Department": "IT"}});
    for ops in [
        vec!["Decrypt", "CreateGrant"],
        vec!["Decrypt", "DescribeKey"],
        vec!["Decrypt", "RetireGrant"],
        vec![
            "Encrypt",
            "Decrypt",
            "GenerateDataKey",
            "GenerateDataKeyWithoutPlaintext",
            "ReEncryptFrom",
            "ReEncryptTo",
            "DescribeKey",
            "RetireGrant",
            "CreateGrant",
        ],
        vec!["GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"],
        vec!["DescribeKey", "RetireGrant"],
    ] {
        assert_allowed(w.call("alice", "CreateGrant", grant(&key, &bob, &ops, c.clone())));
    }
    for op in ["Sign", "Verify", "GetPublicKey", "GenerateMac", "VerifyMac", "DeriveSharedSecret"] {
        let err = w.call("alice", "CreateGrant", grant(&key, &bob, &["Decrypt", op], c.clone())).unwrap_err();
        assert_eq!(err.code, "ValidationException", "{op}");
        assert!(err.message.contains(op), "{err:?}");
    }
    let err = w.call("alice", "CreateGrant", grant(&key, &bob, &["CreateGrant"], Value::Null)).unwrap_err();
    assert_eq!((err.code, err.message.as_str()), ("ValidationException", "Grants must not contain only the CreateGrant operation."));
    // DescribeKey through a constrained grant needs no encryption context.
    assert_allowed(w.call("bob", "DescribeKey", json!({"KeyId": key})));
}

/// GrantConstraints ("Important"): in a grant constraint the key of each pair is not case
/// sensitive, the value is. Choice: a request holding two pairs whose keys differ only in case
/// meets the constraint only if both have the constrained value.
#[test]
fn constraint_keys_ignore_case_and_values_do_not() {
    let w = world();
    let key = w.key(None);
    let bob = arn_of(OWNER, "user", "bob");
    let subset = json!({"EncryptionContextSubset": {"Department": "IT"}});
    assert_allowed(w.call("alice", "CreateGrant", grant(&key, &bob, &["Encrypt"], subset)));
    assert_allowed(w.call("bob", "Encrypt", encrypt(&key, json!({"Department": "IT", "Purpose": "Test"}))));
    assert_allowed(w.call("bob", "Encrypt", encrypt(&key, json!({"department": "IT"}))));
    for refused in [json!({"Department": "it"}), json!({"Department": "IT", "department": "HR"}), json!({})] {
        assert_denied(w.call("bob", "Encrypt", encrypt(&key, refused)), NO_IDENTITY);
    }
    let equals = json!({"EncryptionContextEquals": {"Department": "IT"}});
    let erin = arn_of(OWNER, "user", "erin");
    let key2 = w.key(Some(&key_policy(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:*","Resource":"*"}"#,
    )));
    assert_allowed(w.call("alice", "CreateGrant", grant(&key2, &erin, &["Encrypt"], equals)));
    assert_allowed(w.call("erin", "Encrypt", encrypt(&key2, json!({"DEPARTMENT": "IT"}))));
    assert_denied(w.call("erin", "Encrypt", encrypt(&key2, json!({"Department": "IT", "Purpose": "Test"}))), NO_RESOURCE);
}

/// "Retiring and revoking grants": the retiring principal may retire; the grantee only if it is
/// also a retiring principal or the grant includes RetireGrant; the account that created the
/// grant may, delegating to its principals with `kms:RetireGrant` in IAM; an IAM Deny on
/// `kms:RetireGrant` applies; a retiring principal that is another account delegates to that
/// account's principals the same way.
#[test]
fn who_may_retire_a_grant() {
    let w = world();
    let key = w.key(None);
    let bob = arn_of(OWNER, "user", "bob");
    let make = |ops: &[&str], retiring: Option<&str>| {
        let mut body = grant(&key, &bob, ops, Value::Null);
        if let Some(r) = retiring {
            body["RetiringPrincipal"] = json!(r);
        }
        grant_id(assert_allowed(w.call("alice", "CreateGrant", body)))
    };
    let retire = |who: &str, id: &str| w.call(who, "RetireGrant", json!({"KeyId": key, "GrantId": id}));

    // The grantee without RetireGrant may not; the named retiring principal may, with no IAM.
    let g = make(&["Decrypt"], Some(&arn_of(OWNER, "user", "erin")));
    assert_denied(retire("bob", &g), NO_IDENTITY);
    assert_allowed(retire("erin", &g));
    // The grantee, when the grant includes RetireGrant.
    let g = make(&["Decrypt", "RetireGrant"], None);
    assert_allowed(retire("bob", &g));
    // The creating account: its root; its principals allowed kms:RetireGrant by IAM (a key
    // administrator); not one without.
    let g = make(&["Decrypt"], None);
    assert_denied(retire("erin", &g), "because no identity-based policy allows the kms:RetireGrant action");
    assert_allowed(retire("dave", &g));
    let g = make(&["Decrypt"], None);
    assert_allowed(retire("root", &g));
    // An IAM Deny on kms:RetireGrant wins, even for the named retiring principal.
    let g = make(&["Decrypt"], Some(&arn_of(OWNER, "user", "carol")));
    assert_denied(retire("carol", &g), IDENTITY_DENY);
    // A retiring principal that is another account: its principals allowed by their IAM.
    let g = make(&["Decrypt"], Some(&format!("arn:aws:iam::{OTHER}:root")));
    assert_denied(retire("ops", &g), "because no identity-based policy allows the kms:RetireGrant action");
    assert_allowed(retire("app", &g));
    // A grant already retired is not found.
    let err = retire("root", &g).unwrap_err();
    assert_eq!(err.code, "NotFoundException");

    // A grant another account created on the key: that account (through IAM) and the key's own
    // account ("the AWS account that owns the KMS key can use the kms:RetireGrant permission")
    // may retire it.
    let shared = w.key(Some(&key_policy(&format!(
        r#"{},{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":"kms:CreateGrant","Resource":"*"}}"#,
        delegate_to(OWNER)
    ))));
    let foreign = |w: &World| {
        let out = assert_allowed(w.call("app", "CreateGrant", grant(&shared, &bob, &["Decrypt"], Value::Null)));
        assert_eq!(
            assert_allowed(w.call("alice", "ListGrants", json!({"KeyId": shared})))["Grants"].as_array().unwrap().last().unwrap()
                ["IssuingAccount"],
            format!("arn:aws:iam::{OTHER}:root")
        );
        grant_id(out)
    };
    let retire_shared = |who: &str, id: &str| w.call(who, "RetireGrant", json!({"KeyId": shared, "GrantId": id}));
    let g = foreign(&w);
    assert_denied(retire_shared("ops", &g), NO_IDENTITY);
    assert_denied(retire_shared("erin", &g), NO_IDENTITY);
    assert_allowed(retire_shared("dave", &g));
    let g = foreign(&w);
    assert_allowed(retire_shared("app", &g));
}

/// "Grants in AWS KMS", grantee principal, with "Allowing users in other accounts to use a KMS
/// key": a grant to an account delegates to the account's IAM, as a key policy naming the
/// account does — the account's principals use it only where their IAM policies allow the
/// operation; the root needs none.
#[test]
fn a_grant_to_an_account_goes_through_iam() {
    let w = world();
    // A key whose policy names only alice: nothing but the grant lets anyone else in.
    let key = w.key(Some(&key_policy(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:*","Resource":"*"}"#,
    )));
    assert_allowed(w.call("alice", "CreateGrant", grant(&key, &format!("arn:aws:iam::{OWNER}:root"), &["Encrypt"], Value::Null)));
    assert_denied(w.call("bob", "Encrypt", encrypt(&key, json!({}))), NO_RESOURCE);
    assert_allowed(w.call("erin", "Encrypt", encrypt(&key, json!({}))));
    assert_allowed(w.call("root", "Encrypt", encrypt(&key, json!({}))));
    // Across accounts: the same rule in the grantee's account.
    assert_allowed(w.call(
        "alice",
        "CreateGrant",
        grant(&key, &format!("arn:aws:iam::{OTHER}:root"), &["Decrypt", "Encrypt"], Value::Null),
    ));
    assert_allowed(w.call("app", "Encrypt", encrypt(&key, json!({}))));
    assert_denied(w.call("ops", "Encrypt", encrypt(&key, json!({}))), NO_RESOURCE);
    // A grant naming the user needs no IAM policy at all.
    assert_allowed(w.call("alice", "CreateGrant", grant(&key, &arn_of(OWNER, "user", "bob"), &["Encrypt"], Value::Null)));
    assert_allowed(w.call("bob", "Encrypt", encrypt(&key, json!({}))));
}

/// ListRetirableGrants: "You must specify a principal in your AWS account." Choice: refused as an
/// AccessDeniedException, as a cross-account request is.
#[test]
fn list_retirable_grants_stays_in_the_callers_account() {
    let w = world();
    let key = w.key(None);
    let mut body = grant(&key, &arn_of(OWNER, "user", "bob"), &["Decrypt"], Value::Null);
    body["RetiringPrincipal"] = json!(arn_of(OWNER, "user", "erin"));
    assert_allowed(w.call("alice", "CreateGrant", body));
    let mine = assert_allowed(w.call("alice", "ListRetirableGrants", json!({"RetiringPrincipal": arn_of(OWNER, "user", "erin")})));
    assert_eq!(mine["Grants"].as_array().map(Vec::len), Some(1));
    let theirs = w.call("alice", "ListRetirableGrants", json!({"RetiringPrincipal": format!("arn:aws:iam::{OTHER}:root")}));
    assert_denied(theirs, "kms:ListRetirableGrants on resource: * because no resource-based policy allows");
    // The IAM permission is still needed in one's own account.
    assert_denied(w.call("bob", "ListRetirableGrants", json!({"RetiringPrincipal": arn_of(OWNER, "user", "bob")})), NO_IDENTITY);
}
