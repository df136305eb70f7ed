//! Condition keys KMS and AWS supply, case by case from AWS's documentation, through the real
//! authorizer in process. Pages: "AWS KMS condition keys"
//! (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html), "Using ABAC for
//! AWS KMS" (https://docs.aws.amazon.com/kms/latest/developerguide/abac.html), and the IAM User
//! Guide's "AWS global condition context keys"
//! (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html) and
//! example policies.

mod common;

use common::*;
use keytrail_iam::RequestOrigin;
use serde_json::{json, Value};

fn encrypt(key: &str, context: Value) -> Value {
    json!({ "KeyId": key, "Plaintext": "aGVsbG8=", "EncryptionContext": context })
}

fn data_key(key: &str, context: Value) -> Value {
    json!({ "KeyId": key, "KeySpec": "AES_256", "EncryptionContext": context })
}

fn world(extra: Vec<Who>) -> World {
    let mut who = vec![user(OWNER, "alice", &[ALLOW_ALL]), session(OWNER, "app", &[ALLOW_ALL])];
    who.extend(extra);
    World::new(who)
}

/// kms:EncryptionContext:context-key, the page's Deny example ("forbid … if the encryption context
/// in the request includes a Stage=Restricted encryption context pair"): condition key names are
/// case-insensitive, values case-sensitive — and a decoy pair whose key differs only in case
/// (`stage=Test` next to `Stage=Restricted`) does not hide the forbidden pair.
#[test]
fn encryption_context_deny_sees_every_case_of_the_key() {
    let w = world(vec![]);
    let deny = r#"{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"kms:GenerateDataKey","Resource":"*",
        "Condition":{"StringEquals":{"kms:EncryptionContext:Stage":"Restricted"}}}"#;
    let key = w.key(Some(&key_policy(&format!("{},{deny}", delegate_to(OWNER)))));
    for denied in [
        json!({"Stage": "Restricted"}),
        json!({"stage": "Restricted"}),
        json!({"Stage": "Restricted", "stage": "Test"}),
        json!({"STAGE": "Test", "stage": "Restricted", "Other": "x"}),
    ] {
        assert_denied(w.call("app", "GenerateDataKey", data_key(&key, denied)), RESOURCE_DENY);
    }
    for allowed in [json!({"Stage": "restricted"}), json!({"Stage": "Test"}), json!({}), json!({"Stages": "Restricted"})] {
        assert_allowed(w.call("app", "GenerateDataKey", data_key(&key, allowed)));
    }
    // The page's two-value form: Restricted OR Production.
    let both = r#"{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:Stage":["Restricted","Production"]}}}"#;
    let key = w.key(Some(&key_policy(&format!("{},{both}", delegate_to(OWNER)))));
    assert_denied(w.call("app", "Encrypt", encrypt(&key, json!({"stage": "Production"}))), RESOURCE_DENY);
    assert_allowed(w.call("app", "Encrypt", encrypt(&key, json!({"Stage": "Test"}))));
}

/// The neighbours of the decoy: a Deny "unless Stage=Test" (StringNotEquals) and an Allow that
/// requires a pair are both read against the caller when two pairs differ only in key case.
#[test]
fn encryption_context_ambiguity_never_helps_the_caller() {
    let w = world(vec![]);
    let unless = r#"{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{"StringNotEquals":{"kms:EncryptionContext:Stage":"Test"}}}"#;
    let key = w.key(Some(&key_policy(&format!("{},{unless}", delegate_to(OWNER)))));
    assert_allowed(w.call("app", "Encrypt", encrypt(&key, json!({"Stage": "Test"}))));
    assert_denied(w.call("app", "Encrypt", encrypt(&key, json!({"Stage": "Prod", "stage": "Test"}))), RESOURCE_DENY);
    // The page's Allow example ("only when the encryption context in the request includes the
    // AppName:ExampleApp pair"), for a role the key policy names.
    let allow = r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"kms:Encrypt","Resource":"*",
        "Condition":{"StringEquals":{"kms:EncryptionContext:AppName":"ExampleApp"}}}"#;
    let key = w.key(Some(&key_policy(allow)));
    assert_allowed(w.call("app", "Encrypt", encrypt(&key, json!({"AppName": "ExampleApp", "Other": "1"}))));
    assert_allowed(w.call("app", "Encrypt", encrypt(&key, json!({"appname": "ExampleApp"}))));
    assert_denied(w.call("app", "Encrypt", encrypt(&key, json!({"AppName": "ExampleApp", "appName": "Evil"}))), NO_RESOURCE);
    assert_denied(w.call("app", "Encrypt", encrypt(&key, json!({"AppName": "exampleapp"}))), NO_RESOURCE);
}

/// kms:EncryptionContextKeys: `ForAnyValue` ("at least one … must match"), `ForAllValues`
/// ("limits the encryption context keys to those in the policy condition") together with
/// kms:EncryptionContext:AppName, and `Null: false` ("only when encryption context in the API
/// request is not null").
#[test]
fn encryption_context_keys() {
    let w = world(vec![]);
    let only_app = r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"kms:Encrypt","Resource":"*",
        "Condition":{"StringEquals":{"kms:EncryptionContext:AppName":"ExampleApp"},"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["AppName"]}}}"#;
    let key = w.key(Some(&key_policy(only_app)));
    assert_allowed(w.call("app", "Encrypt", encrypt(&key, json!({"AppName": "ExampleApp"}))));
    assert_denied(w.call("app", "Encrypt", encrypt(&key, json!({"AppName": "ExampleApp", "Project": "Alpha"}))), NO_RESOURCE);
    assert_denied(w.call("app", "Encrypt", encrypt(&key, json!({}))), NO_RESOURCE);
    let not_null = r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"kms:Encrypt","Resource":"*","Condition":{"Null":{"kms:EncryptionContextKeys":false}}}"#;
    let key = w.key(Some(&key_policy(not_null)));
    assert_allowed(w.call("app", "Encrypt", encrypt(&key, json!({"Any": "thing"}))));
    assert_denied(w.call("app", "Encrypt", encrypt(&key, json!({}))), NO_RESOURCE);
}

/// "If you create or update a policy that includes a ForAllValues set operator with the
/// kms:EncryptionContext:context-key …, AWS KMS returns the following error message" — for
/// CreateKey and PutKeyPolicy alike; `ForAnyValue` is accepted.
#[test]
fn for_all_values_on_a_single_valued_key_is_refused() {
    let w = world(vec![]);
    let statement = |op: &str| {
        format!(
            r#"{},{{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{{"{op}":{{"kms:EncryptionContext:Department":"IT"}}}}}}"#,
            delegate_to(OWNER)
        )
    };
    let refused = key_policy(&statement("ForAllValues:StringEquals"));
    let err = w.call("alice", "CreateKey", json!({"Policy": refused})).unwrap_err();
    assert_eq!(err.code, "MalformedPolicyDocumentException");
    assert_eq!(
        err.message,
        "OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key matches requests \
         without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues."
    );
    let key = w.key(None);
    let err = w.call("alice", "PutKeyPolicy", json!({"KeyId": key, "Policy": refused})).unwrap_err();
    assert_eq!(err.code, "MalformedPolicyDocumentException");
    assert_allowed(w.call("alice", "PutKeyPolicy", json!({"KeyId": key, "Policy": key_policy(&statement("ForAnyValue:StringEquals"))})));
}

/// kms:BypassPolicyLockoutSafetyCheck, the page's IAM Deny example ("prevents users from bypassing
/// the policy lockout safety check"), and its key-policy `Null` example (the key is absent when the
/// request does not send the member).
#[test]
fn bypass_policy_lockout_safety_check() {
    let guard = r#"{"Effect":"Deny","Action":["kms:CreateKey","kms:PutKeyPolicy"],"Resource":"*","Condition":{"Bool":{"kms:BypassPolicyLockoutSafetyCheck":true}}}"#;
    let w = world(vec![user(OWNER, "guarded", &[ALLOW_ALL, guard])]);
    let policy = key_policy(&delegate_to(OWNER));
    assert_denied(w.call("guarded", "CreateKey", json!({"Policy": policy, "BypassPolicyLockoutSafetyCheck": true})), IDENTITY_DENY);
    let out = assert_allowed(w.call("guarded", "CreateKey", json!({"Policy": policy, "BypassPolicyLockoutSafetyCheck": false})));
    let key = out["KeyMetadata"]["Arn"].as_str().unwrap().to_string();
    assert_allowed(w.call("guarded", "CreateKey", json!({})));
    let put = |bypass: Option<bool>| {
        let mut body = json!({"KeyId": key, "Policy": policy});
        if let Some(b) = bypass {
            body["BypassPolicyLockoutSafetyCheck"] = json!(b);
        }
        w.call("guarded", "PutKeyPolicy", body)
    };
    assert_denied(put(Some(true)), IDENTITY_DENY);
    assert_allowed(put(Some(false)));
    assert_allowed(put(None));
    // The Null example in a key policy: PutKeyPolicy allowed only without the member.
    let null = format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:user/alice"}},"Action":"kms:PutKeyPolicy","Resource":"*","Condition":{{"Null":{{"kms:BypassPolicyLockoutSafetyCheck":true}}}}}}"#
    );
    let key = w.key(Some(&key_policy(&null)));
    let body = |extra: Value| {
        let mut b = json!({"KeyId": key, "Policy": key_policy(&null)});
        if !extra.is_null() {
            b["BypassPolicyLockoutSafetyCheck"] = extra;
        }
        b
    };
    assert_allowed(w.call("alice", "PutKeyPolicy", body(Value::Null)));
    assert_denied(w.call("alice", "PutKeyPolicy", body(json!(false))), NO_RESOURCE);
}

/// CreateKey: "To use the Tags parameter, you need kms:TagResource permission in an IAM policy";
/// aws:RequestTag/<k> and aws:TagKeys are the request's tags (ABAC: "Tag … in the request matches").
#[test]
fn create_key_with_tags_needs_tag_resource() {
    let w = world(vec![
        user(OWNER, "creator", &[r#"{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*"}"#]),
        user(OWNER, "tagger", &[r#"{"Effect":"Allow","Action":["kms:CreateKey","kms:TagResource"],"Resource":"*"}"#]),
        user(
            OWNER,
            "tested",
            &[
                r#"{"Effect":"Allow","Action":["kms:CreateKey","kms:TagResource"],"Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/Purpose":"Test"}}}"#,
            ],
        ),
    ]);
    let tags = |k: &str, v: &str| json!({"Tags": [{"TagKey": k, "TagValue": v}]});
    assert_allowed(w.call("creator", "CreateKey", json!({})));
    assert_denied(
        w.call("creator", "CreateKey", tags("Purpose", "Test")),
        "kms:TagResource on resource: * because no identity-based policy allows",
    );
    assert_allowed(w.call("tagger", "CreateKey", tags("Purpose", "Test")));
    assert_allowed(w.call("tested", "CreateKey", tags("Purpose", "Test")));
    assert_denied(w.call("tested", "CreateKey", tags("Purpose", "Prod")), NO_IDENTITY);
    assert_denied(w.call("tested", "CreateKey", json!({})), NO_IDENTITY);
}

/// ABAC: aws:ResourceTag in an IAM policy ("allows principals to use … KMS keys with a
/// Purpose=Test tag"), aws:RequestTag on TagResource and aws:TagKeys denying a `Restricted` key on
/// TagResource and UntagResource.
#[test]
fn tags_in_policies() {
    let w = world(vec![
        user(
            OWNER,
            "tested",
            &[
                r#"{"Sid":"AliasBasedIAMPolicy","Effect":"Allow","Action":["kms:Decrypt","kms:Encrypt","kms:GenerateDataKey*","kms:DescribeKey"],
                "Resource":"arn:aws:kms:*:111122223333:key/*","Condition":{"StringEquals":{"aws:ResourceTag/Purpose":"Test"}}}"#,
            ],
        ),
        user(
            OWNER,
            "tagadmin",
            &[
                r#"{"Effect":"Allow","Action":["kms:TagResource","kms:UntagResource"],"Resource":"*"}"#,
                r#"{"Effect":"Deny","Action":["kms:TagResource","kms:UntagResource"],"Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":"Restricted"}}}"#,
                r#"{"Effect":"Deny","Action":"kms:TagResource","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/Owner":"root"}}}"#,
            ],
        ),
    ]);
    let key = w.key(None);
    assert_denied(w.call("tested", "Encrypt", encrypt(&key, json!({}))), NO_IDENTITY);
    let tag = |who: &str, k: &str, v: &str| w.call(who, "TagResource", json!({"KeyId": key, "Tags": [{"TagKey": k, "TagValue": v}]}));
    assert_allowed(tag("tagadmin", "Purpose", "Test"));
    assert_allowed(w.call("tested", "Encrypt", encrypt(&key, json!({}))));
    assert_allowed(tag("tagadmin", "Purpose", "Prod"));
    assert_denied(w.call("tested", "Encrypt", encrypt(&key, json!({}))), NO_IDENTITY);
    assert_denied(tag("tagadmin", "Restricted", "x"), IDENTITY_DENY);
    assert_denied(tag("tagadmin", "Owner", "root"), IDENTITY_DENY);
    assert_allowed(tag("tagadmin", "owner", "someone"));
    assert_allowed(tag("root", "Restricted", "x"));
    let untag = |keys: &[&str]| w.call("tagadmin", "UntagResource", json!({"KeyId": key, "TagKeys": keys}));
    assert_denied(untag(&["Purpose", "Restricted"]), IDENTITY_DENY);
    assert_allowed(untag(&["Purpose"]));
}

/// The request-member keys of key management: kms:RotationPeriodInDays (EnableKeyRotation),
/// kms:ScheduleKeyDeletionPendingWindowInDays (ScheduleKeyDeletion) — both hold the value used,
/// defaulted or sent ("This type of condition works even when the parameter doesn't appear in the
/// request") — and kms:KeyOrigin / kms:KeySpec on CreateKey.
#[test]
fn key_management_request_keys() {
    let w = world(vec![user(
        OWNER,
        "admin",
        &[
            ALLOW_ALL,
            r#"{"Effect":"Deny","Action":"kms:EnableKeyRotation","Resource":"*","Condition":{"NumericLessThan":{"kms:RotationPeriodInDays":180}}}"#,
            r#"{"Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*","Condition":{"NumericLessThan":{"kms:ScheduleKeyDeletionPendingWindowInDays":30}}}"#,
            r#"{"Effect":"Deny","Action":"kms:CreateKey","Resource":"*","Condition":{"StringNotEquals":{"kms:KeyOrigin":"AWS_KMS"}}}"#,
        ],
    )]);
    let key = w.key(None);
    assert_denied(w.call("admin", "EnableKeyRotation", json!({"KeyId": key, "RotationPeriodInDays": 90})), IDENTITY_DENY);
    assert_allowed(w.call("admin", "EnableKeyRotation", json!({"KeyId": key})));
    assert_denied(w.call("admin", "ScheduleKeyDeletion", json!({"KeyId": key, "PendingWindowInDays": 7})), IDENTITY_DENY);
    assert_allowed(w.call("admin", "ScheduleKeyDeletion", json!({"KeyId": key})));
    assert_denied(w.call("admin", "CreateKey", json!({"Origin": "EXTERNAL"})), IDENTITY_DENY);
    assert_allowed(w.call("admin", "CreateKey", json!({"KeySpec": "SYMMETRIC_DEFAULT"})));
}

/// The grant keys of CreateGrant, each with the page's example: kms:GrantOperations with
/// ForAllValues ("only when the grant operations are Encrypt, ReEncryptTo, or both"),
/// kms:GranteePrincipal, kms:GrantConstraintType, kms:GrantIsForAWSResource (false for a
/// principal's own call), and kms:EncryptionContext:<k> read from the constraints.
#[test]
fn grant_condition_keys() {
    let w = world(vec![]);
    let statement = |condition: &str| {
        format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:role/app"}},"Action":["kms:CreateGrant","kms:ListGrants","kms:RevokeGrant"],"Resource":"*","Condition":{condition}}}"#
        )
    };
    let key_with = |condition: &str| w.key(Some(&key_policy(&statement(condition))));
    let grantee = format!("arn:aws:iam::{OWNER}:user/alice");
    let create = |key: &str, ops: &[&str], constraints: Value| {
        let mut body = json!({"KeyId": key, "GranteePrincipal": grantee, "Operations": ops});
        if !constraints.is_null() {
            body["Constraints"] = constraints;
        }
        w.call("app", "CreateGrant", body)
    };
    let key = key_with(r#"{"ForAllValues:StringEquals":{"kms:GrantOperations":["Encrypt","ReEncryptTo"]}}"#);
    assert_allowed(create(&key, &["Encrypt", "ReEncryptTo"], Value::Null));
    assert_allowed(create(&key, &["Encrypt"], Value::Null));
    assert_denied(create(&key, &["Encrypt", "Decrypt"], Value::Null), NO_RESOURCE);
    let key = key_with(r#"{"StringEquals":{"kms:GranteePrincipal":"arn:aws:iam::111122223333:role/LimitedAdminRole"}}"#);
    assert_denied(create(&key, &["Encrypt"], Value::Null), NO_RESOURCE);
    let key = key_with(r#"{"StringEquals":{"kms:GrantConstraintType":"EncryptionContextEquals"}}"#);
    assert_allowed(create(&key, &["Encrypt"], json!({"EncryptionContextEquals": {"Department": "IT"}})));
    assert_denied(create(&key, &["Encrypt"], json!({"EncryptionContextSubset": {"Department": "IT"}})), NO_RESOURCE);
    assert_denied(create(&key, &["Encrypt"], Value::Null), NO_RESOURCE);
    let key = key_with(r#"{"StringEquals":{"kms:EncryptionContext:Department":"IT"}}"#);
    assert_allowed(create(&key, &["Encrypt"], json!({"EncryptionContextSubset": {"Department": "IT"}})));
    assert_denied(create(&key, &["Encrypt"], json!({"EncryptionContextSubset": {"Department": "HR"}})), NO_RESOURCE);
    let key = key_with(r#"{"Bool":{"kms:GrantIsForAWSResource":true}}"#);
    assert_denied(create(&key, &["Encrypt"], Value::Null), NO_RESOURCE);
    assert_denied(w.call("app", "ListGrants", json!({"KeyId": key})), NO_RESOURCE);
    assert_denied(w.call("app", "RevokeGrant", json!({"KeyId": key, "GrantId": "0".repeat(64)})), NO_RESOURCE);
}

/// kms:EncryptionAlgorithm ("denies access … unless the encryption algorithm … is
/// SYMMETRIC_DEFAULT": authorization comes before the key-usage check), kms:ReEncryptOnSameKey,
/// kms:RequestAlias ("only when the Encrypt request uses that alias"), and kms:CallerAccount with
/// `Principal: *` (the EBS key policy example: every identity of one account).
#[test]
fn crypto_request_keys() {
    let w = world(vec![user(OTHER, "outsider", &[ALLOW_ALL]), user(OWNER, "bob", &[])]);
    let policy = format!(
        r#"{},
        {{"Effect":"Deny","Principal":"*","Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*"],"Resource":"*","Condition":{{"StringNotEquals":{{"kms:EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}}}}}},
        {{"Effect":"Deny","Principal":"*","Action":"kms:ReEncrypt*","Resource":"*","Condition":{{"Bool":{{"kms:ReEncryptOnSameKey":true}}}}}},
        {{"Effect":"Allow","Principal":{{"AWS":"*"}},"Action":"kms:Encrypt","Resource":"*","Condition":{{"StringEquals":{{"kms:CallerAccount":"{OTHER}"}}}}}},
        {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:user/bob"}},"Action":"kms:Encrypt","Resource":"*","Condition":{{"StringEquals":{{"kms:RequestAlias":"alias/shared"}}}}}}"#,
        delegate_to(OWNER)
    );
    let key = w.key(Some(&key_policy(&policy)));
    let other = w.key(None);
    let mut body = encrypt(&key, json!({}));
    body["EncryptionAlgorithm"] = json!("RSAES_OAEP_SHA_256");
    assert_denied(w.call("app", "Encrypt", body), RESOURCE_DENY);
    let blob = assert_allowed(w.call("app", "Encrypt", encrypt(&key, json!({}))))["CiphertextBlob"].clone();
    assert_denied(w.call("app", "ReEncrypt", json!({"CiphertextBlob": blob, "DestinationKeyId": key})), RESOURCE_DENY);
    assert_allowed(w.call("app", "ReEncrypt", json!({"CiphertextBlob": blob, "DestinationKeyId": other})));
    assert_allowed(w.call("outsider", "Encrypt", encrypt(&key, json!({}))));
    assert_denied(w.call("outsider", "Encrypt", encrypt(&other, json!({}))), NO_RESOURCE);
    assert_allowed(w.call("root", "CreateAlias", json!({"AliasName": "alias/shared", "TargetKeyId": key})));
    assert_allowed(w.call("bob", "Encrypt", encrypt("alias/shared", json!({}))));
    assert_allowed(w.call("bob", "Encrypt", encrypt(&format!("arn:aws:kms:us-east-1:{OWNER}:alias/shared"), json!({}))));
    assert_denied(w.call("bob", "Encrypt", encrypt(&key, json!({}))), NO_IDENTITY);
}

/// Global keys from the request ("AWS global condition context keys", and the IAM examples
/// "Denies access to AWS based on the source IP", "Allows access within specific dates",
/// "Denies access to AWS based on the requested Region", "aws:SecureTransport"):
/// aws:SourceIp, aws:ViaAWSService, aws:CurrentTime (the mock clock), aws:EpochTime,
/// aws:RequestedRegion, aws:SecureTransport, aws:PrincipalTag, aws:MultiFactorAuthPresent.
#[test]
fn global_request_keys() {
    let ip_guard = r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]},"Bool":{"aws:ViaAWSService":"false"}}}"#;
    let mut tagged = user(
        OWNER,
        "tagged",
        &[r#"{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}}"#],
    );
    tagged.tags = vec![("Team".into(), "blue".into())];
    let w = world(vec![
        user(OWNER, "office", &[ALLOW_ALL, ip_guard]),
        tagged,
        user(
            OWNER,
            "red",
            &[r#"{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}}"#],
        ),
        user(
            OWNER,
            "dated",
            &[
                r#"{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-04-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2100-06-30T23:59:59Z"}}}"#,
            ],
        ),
        user(
            OWNER,
            "epoch",
            &[r#"{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"NumericLessThan":{"aws:EpochTime":4102444800}}}"#],
        ),
        user(
            OWNER,
            "regional",
            &[
                ALLOW_ALL,
                r#"{"Effect":"Deny","NotAction":"iam:*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-central-1","eu-west-1"]}}}"#,
            ],
        ),
        user(
            OWNER,
            "tls",
            &[ALLOW_ALL, r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#],
        ),
        user(
            OWNER,
            "mfa",
            &[
                ALLOW_ALL,
                r#"{"Effect":"Deny","Action":"kms:Encrypt","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}"#,
            ],
        ),
        session(
            OWNER,
            "mfarole",
            &[
                ALLOW_ALL,
                r#"{"Effect":"Deny","Action":"kms:Encrypt","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}"#,
            ],
        ),
    ]);
    let key = w.key(None);
    let from = |ip: &str, tls: bool| RequestOrigin { source_ip: Some(ip.parse().unwrap()), secure_transport: tls, user_agent: None };
    let call = |who: &str, origin: RequestOrigin| w.call_as(&w.caller_from(who, origin), "Encrypt", encrypt(&key, json!({})));
    assert_allowed(call("office", from("203.0.113.7", false)));
    assert_denied(call("office", from("198.51.100.7", false)), IDENTITY_DENY);
    assert_allowed(call("tagged", from("127.0.0.1", false)));
    assert_denied(call("red", from("127.0.0.1", false)), NO_IDENTITY);
    assert_allowed(call("dated", from("127.0.0.1", false)));
    assert_allowed(call("epoch", from("127.0.0.1", false)));
    w.clock.advance(time::Duration::days(365 * 90)).unwrap();
    assert_denied(call("dated", from("127.0.0.1", false)), NO_IDENTITY);
    assert_denied(call("epoch", from("127.0.0.1", false)), NO_IDENTITY);
    assert_denied(call("regional", from("127.0.0.1", false)), IDENTITY_DENY);
    let mut eu = w.caller("regional");
    eu.region = "eu-west-1".into();
    let eu_key = assert_allowed(w.call_as(&eu, "CreateKey", json!({})))["KeyMetadata"]["Arn"].as_str().unwrap().to_string();
    assert_allowed(w.call_as(&eu, "Encrypt", encrypt(&eu_key, json!({}))));
    assert_denied(call("tls", from("127.0.0.1", false)), IDENTITY_DENY);
    assert_allowed(call("tls", from("127.0.0.1", true)));
    // Long-term keys carry no aws:MultiFactorAuthPresent (BoolIfExists holds); sessions carry false.
    assert_denied(call("mfa", from("127.0.0.1", false)), IDENTITY_DENY);
    assert_denied(call("mfarole", from("127.0.0.1", false)), IDENTITY_DENY);
}
