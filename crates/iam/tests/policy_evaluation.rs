//! The policy evaluator against AWS's documentation: one case per documented rule, each naming
//! the page it comes from. Pure evaluation (no service): a key policy (or none), the caller's
//! identity policies, a principal, an action, a resource and the request's condition keys.

use keytrail_iam::policy::{authorize, authorize_identity, fold_names, DenialReason, PolicyDocument, PolicyKind, RequestContext};
use keytrail_iam::Principal;

const EVALUATION: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html";
const ELEMENTS_ACTION: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html";
const ELEMENTS_NOTACTION: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html";
const ELEMENTS_RESOURCE: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html";
const CONDITION_OPERATORS: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html";
const MULTI_VALUE: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html";
const MULTI_KEYS: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html";
const VARIABLES: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html";
const KMS_KEY_POLICY: &str = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html";
const KMS_DETERMINING: &str = "https://docs.aws.amazon.com/kms/latest/developerguide/determining-access-key-policy.html";
const KMS_CROSS_ACCOUNT: &str = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html";
const KMS_CONDITIONS: &str = "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html";
const PRINCIPAL: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html";
const NOT_PRINCIPAL: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html";

const OWNER: &str = "111122223333";
const OTHER: &str = "444455556666";
const KEY: &str = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// One documented rule, as a request and the answer AWS gives.
struct Case {
    page: &'static str,
    rule: &'static str,
    /// Key policy statements; `None` decides with identity policies alone (an action on no key).
    key_policy: Option<&'static str>,
    /// One identity policy per entry (statements).
    identity: &'static [&'static str],
    caller: Caller,
    action: &'static str,
    resource: &'static str,
    /// Condition keys of the request: `(key, values)`; one value is single-valued, `[]` an empty set.
    context: &'static [(&'static str, &'static [&'static str])],
    /// Encryption context pairs (kms:EncryptionContext:<k>, folded by case as KMS supplies them).
    encryption_context: &'static [(&'static str, &'static str)],
    expect: Result<(), DenialReason>,
}

#[derive(Clone, Copy)]
enum Caller {
    Alice,
    Root,
    OtherSession,
    OtherRoot,
}

impl Caller {
    fn principal(self) -> Principal {
        match self {
            Caller::Alice => Principal::User { account: OWNER.into(), name: "alice".into(), unique_id: "AIDAALICE".into() },
            Caller::Root => Principal::root(OWNER),
            Caller::OtherSession => Principal::AssumedRole {
                account: OTHER.into(),
                role: "ExampleRole".into(),
                role_id: "AROAEXAMPLE".into(),
                session: "s1".into(),
                created: "2024-01-01T00:00:00Z".into(),
                attributes: Default::default(),
            },
            Caller::OtherRoot => Principal::root(OTHER),
        }
    }
}

const fn case(page: &'static str, rule: &'static str) -> Case {
    Case {
        page,
        rule,
        key_policy: None,
        identity: &[],
        caller: Caller::Alice,
        action: "kms:Decrypt",
        resource: KEY,
        context: &[],
        encryption_context: &[],
        expect: Ok(()),
    }
}

const ALLOW_ALL: &str = r#"{"Effect":"Allow","Action":"kms:*","Resource":"*"}"#;
const DEFAULT_KEY_POLICY: &str = r#"{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}"#;

use DenialReason::*;

fn cases() -> Vec<Case> {
    vec![
        // --- IAM policy evaluation logic -------------------------------------------------------
        Case { expect: Err(NoIdentityPolicyAllows), ..case(EVALUATION, "by default every request is implicitly denied") },
        Case { identity: &[ALLOW_ALL], ..case(EVALUATION, "an explicit allow in an identity-based policy allows") },
        Case {
            identity: &[r#"{"Effect":"Allow","Action":"kms:*","Resource":"*"},{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}"#],
            expect: Err(ExplicitDenyInIdentityPolicy),
            ..case(EVALUATION, "an explicit deny in the same policy overrides the allow")
        },
        Case {
            identity: &[ALLOW_ALL, r#"{"Effect":"Deny","Action":"kms:*","Resource":"*"}"#],
            expect: Err(ExplicitDenyInIdentityPolicy),
            ..case(EVALUATION, "an explicit deny in any policy overrides an allow in another")
        },
        Case { caller: Caller::Root, ..case(EVALUATION, "an account's root user is not restricted by identity-based policies") },
        Case {
            identity: &[r#"{"Effect":"Deny","Action":"kms:Encrypt","Resource":"*"}"#, ALLOW_ALL],
            ..case(EVALUATION, "a deny that does not match the request changes nothing")
        },
        // --- Action / NotAction / Resource elements ----------------------------------------------
        Case {
            identity: &[r#"{"Effect":"Allow","Action":"KMS:decrypt","Resource":"*"}"#],
            ..case(ELEMENTS_ACTION, "action names are case-insensitive")
        },
        Case {
            identity: &[r#"{"Effect":"Allow","Action":"kms:De*","Resource":"*"}"#],
            ..case(ELEMENTS_ACTION, "a wildcard matches part of an action name")
        },
        Case {
            identity: &[r#"{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}"#],
            expect: Err(NoIdentityPolicyAllows),
            ..case(ELEMENTS_ACTION, "only the listed actions are allowed")
        },
        Case {
            identity: &[r#"{"Effect":"Allow","NotAction":"kms:Decrypt","Resource":"*"}"#],
            expect: Err(NoIdentityPolicyAllows),
            ..case(ELEMENTS_NOTACTION, "NotAction with Allow allows everything except the listed actions")
        },
        Case {
            identity: &[ALLOW_ALL, r#"{"Effect":"Deny","NotAction":"kms:Encrypt","Resource":"*"}"#],
            expect: Err(ExplicitDenyInIdentityPolicy),
            ..case(ELEMENTS_NOTACTION, "NotAction with Deny denies everything except the listed actions")
        },
        Case {
            identity: &[r#"{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:us-west-2:111122223333:key/*"}"#],
            ..case(ELEMENTS_RESOURCE, "a resource ARN with a wildcard")
        },
        Case {
            identity: &[r#"{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:us-east-1:111122223333:key/*"}"#],
            expect: Err(NoIdentityPolicyAllows),
            ..case(ELEMENTS_RESOURCE, "a resource in another region does not match")
        },
        Case {
            identity: &[r#"{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:us-west-2:111122223333:KEY/*"}"#],
            expect: Err(NoIdentityPolicyAllows),
            ..case(ELEMENTS_RESOURCE, "resource ARNs are case-sensitive")
        },
        Case {
            identity: &[r#"{"Effect":"Allow","Action":"kms:*","NotResource":"arn:aws:kms:*:*:alias/*"}"#],
            ..case(
                "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html",
                "NotResource matches every resource but the listed",
            )
        },
        // --- KMS key policies ------------------------------------------------------------------
        Case {
            key_policy: Some(DEFAULT_KEY_POLICY),
            expect: Err(NoIdentityPolicyAllows),
            ..case(KMS_KEY_POLICY, "the default key policy delegates to IAM: no IAM policy, no access")
        },
        Case {
            key_policy: Some(DEFAULT_KEY_POLICY),
            identity: &[ALLOW_ALL],
            ..case(KMS_KEY_POLICY, "the default key policy and an IAM allow")
        },
        Case {
            key_policy: Some(DEFAULT_KEY_POLICY),
            caller: Caller::Root,
            ..case(KMS_KEY_POLICY, "the account root through the default key policy")
        },
        Case {
            key_policy: Some(
                r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:Decrypt","Resource":"*"}"#,
            ),
            ..case(KMS_DETERMINING, "a key policy naming the user allows without any IAM policy")
        },
        Case {
            key_policy: Some(
                r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"kms:*","Resource":"*"}"#,
            ),
            identity: &[ALLOW_ALL],
            expect: Err(NoResourcePolicyAllows),
            ..case(KMS_DETERMINING, "without the key policy's allow, IAM policies are not effective")
        },
        Case {
            key_policy: Some(
                r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"kms:*","Resource":"*"}"#,
            ),
            caller: Caller::Root,
            expect: Err(NoResourcePolicyAllows),
            ..case(KMS_DETERMINING, "even the root user needs the key policy")
        },
        Case {
            key_policy: Some(concat!(
                r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},"#,
                r#"{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*"}"#
            )),
            identity: &[ALLOW_ALL],
            expect: Err(ExplicitDenyInResourcePolicy),
            ..case(KMS_DETERMINING, "an explicit deny in the key policy overrides an IAM allow")
        },
        Case {
            key_policy: Some(
                r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"kms:Decrypt","Resource":"*"}"#,
            ),
            caller: Caller::OtherSession,
            expect: Err(NoIdentityPolicyAllows),
            ..case(KMS_CROSS_ACCOUNT, "cross account: the key policy alone is not sufficient")
        },
        Case {
            key_policy: Some(
                r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"kms:Decrypt","Resource":"*"}"#,
            ),
            identity: &[ALLOW_ALL],
            caller: Caller::OtherSession,
            ..case(KMS_CROSS_ACCOUNT, "cross account: the key policy and the external IAM policy")
        },
        Case {
            key_policy: Some(
                r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:role/ExampleRole"},"Action":"kms:Decrypt","Resource":"*"}"#,
            ),
            caller: Caller::OtherSession,
            expect: Err(NoIdentityPolicyAllows),
            ..case(KMS_CROSS_ACCOUNT, "cross account: naming the external role still needs its IAM policy")
        },
        Case {
            key_policy: Some(DEFAULT_KEY_POLICY),
            identity: &[ALLOW_ALL],
            caller: Caller::OtherSession,
            expect: Err(NoResourcePolicyAllows),
            ..case(KMS_CROSS_ACCOUNT, "cross account: the owner's default key policy lets no other account in")
        },
        Case {
            key_policy: Some(
                r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"kms:Decrypt","Resource":"*"}"#,
            ),
            caller: Caller::OtherRoot,
            ..case(KMS_CROSS_ACCOUNT, "cross account: the external account's root needs no IAM policy")
        },
        Case {
            key_policy: Some(r#"{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}"#),
            ..case(PRINCIPAL, "Principal * names every principal")
        },
        Case {
            key_policy: Some(
                r#"{"Effect":"Allow","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:user/alice","111122223333"]},"Action":"kms:Decrypt","Resource":"*"}"#,
            ),
            expect: Err(NoResourcePolicyAllows),
            ..case(NOT_PRINCIPAL, "NotPrincipal excludes a caller when it and its account are listed")
        },
        // --- Condition operators ---------------------------------------------------------------
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"111122223333","aws:PrincipalType":"User"}}}"#,
            ],
            context: &[("kms:CallerAccount", &["111122223333"]), ("aws:PrincipalType", &["User"])],
            ..case(MULTI_KEYS, "several keys in one condition are ANDed (all true)")
        },
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"111122223333","aws:PrincipalType":"Role"}}}"#,
            ],
            context: &[("kms:CallerAccount", &["111122223333"]), ("aws:PrincipalType", &["User"])],
            expect: Err(NoIdentityPolicyAllows),
            ..case(MULTI_KEYS, "several keys in one condition are ANDed (one false)")
        },
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":["444455556666","111122223333"]}}}"#,
            ],
            context: &[("kms:CallerAccount", &["111122223333"])],
            ..case(MULTI_KEYS, "several values for one key are ORed")
        },
        Case {
            identity: &[
                ALLOW_ALL,
                r#"{"Effect":"Deny","Action":"kms:*","Resource":"*","Condition":{"StringNotEquals":{"kms:CallerAccount":["444455556666","111122223333"]}}}"#,
            ],
            context: &[("kms:CallerAccount", &["111122223333"])],
            ..case(MULTI_KEYS, "a negated operator with several values means none of them")
        },
        Case {
            identity: &[r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"}}}"#],
            expect: Err(NoIdentityPolicyAllows),
            ..case(CONDITION_OPERATORS, "a condition on a missing key is false")
        },
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:SourceVpc":"vpc-1"}}}"#,
            ],
            ..case(CONDITION_OPERATORS, "…IfExists is true when the key is missing")
        },
        Case {
            identity: &[r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"Null":{"aws:SourceVpc":"true"}}}"#],
            ..case(CONDITION_OPERATORS, "Null true: the key is absent")
        },
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/a*"}}}"#,
            ],
            context: &[("aws:PrincipalArn", &["arn:aws:iam::111122223333:user/alice"])],
            ..case(CONDITION_OPERATORS, "StringLike with wildcards")
        },
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"111122223333"}}}"#,
            ],
            context: &[("KMS:CALLERACCOUNT", &["111122223333"])],
            ..case(CONDITION_OPERATORS, "condition key names are case-insensitive")
        },
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"Blue"}}}"#,
            ],
            context: &[("aws:PrincipalTag/team", &["blue"])],
            expect: Err(NoIdentityPolicyAllows),
            ..case(CONDITION_OPERATORS, "StringEquals values are case-sensitive")
        },
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"StringEqualsIgnoreCase":{"aws:PrincipalTag/team":"Blue"}}}"#,
            ],
            context: &[("aws:PrincipalTag/team", &["blue"])],
            ..case(CONDITION_OPERATORS, "StringEqualsIgnoreCase ignores the value's case")
        },
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["AppName"]}}}"#,
            ],
            ..case(MULTI_VALUE, "ForAllValues is true when the request has no value")
        },
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":["AppName"]}}}"#,
            ],
            expect: Err(NoIdentityPolicyAllows),
            ..case(MULTI_VALUE, "ForAnyValue is false when the request has no value")
        },
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["AppName"]}}}"#,
            ],
            context: &[("kms:EncryptionContextKeys", &["AppName", "Project"])],
            expect: Err(NoIdentityPolicyAllows),
            ..case(MULTI_VALUE, "ForAllValues: every request value must match")
        },
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":["AppName"]}}}"#,
            ],
            context: &[("kms:EncryptionContextKeys", &["AppName", "Project"])],
            ..case(MULTI_VALUE, "ForAnyValue: one matching request value is enough")
        },
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":["AppName"]}}}"#,
            ],
            context: &[("kms:EncryptionContextKeys", &[])],
            expect: Err(NoIdentityPolicyAllows),
            ..case(MULTI_VALUE, "an empty set is treated as a missing key")
        },
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}"#,
            ],
            context: &[("aws:SourceIp", &["203.0.113.9"])],
            ..case(CONDITION_OPERATORS, "IpAddress matches a CIDR range")
        },
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}"#,
            ],
            context: &[("aws:CurrentTime", &["2024-05-01T12:00:00Z"])],
            ..case(CONDITION_OPERATORS, "DateLessThan compares dates")
        },
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"NumericLessThanEquals":{"kms:ScheduleKeyDeletionPendingWindowInDays":"30"}}}"#,
            ],
            context: &[("kms:ScheduleKeyDeletionPendingWindowInDays", &["7"])],
            ..case(CONDITION_OPERATORS, "Numeric operators compare numbers")
        },
        Case {
            identity: &[r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}"#],
            context: &[("aws:SecureTransport", &["false"])],
            expect: Err(NoIdentityPolicyAllows),
            ..case(CONDITION_OPERATORS, "Bool")
        },
        // --- Policy variables ------------------------------------------------------------------
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:*:key/*","Condition":{"StringEquals":{"kms:EncryptionContext:user":"${aws:username}"}}}"#,
            ],
            context: &[("aws:username", &["alice"])],
            encryption_context: &[("user", "alice")],
            ..case(VARIABLES, "a variable in a condition value resolves from the request (KMS: ${aws:username} in the encryption context)")
        },
        Case {
            identity: &[
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:user":"${aws:username}"}}}"#,
            ],
            context: &[("aws:username", &["alice"])],
            encryption_context: &[("user", "bob")],
            expect: Err(NoIdentityPolicyAllows),
            ..case(VARIABLES, "…and only the caller's own value matches")
        },
        // --- kms:EncryptionContext:<k>: names case-insensitive, values by the operator ---------
        Case {
            key_policy: Some(
                r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:Appname":"ExampleApp"}}}"#,
            ),
            encryption_context: &[("AppName", "ExampleApp")],
            ..case(KMS_CONDITIONS, "the context key's name is not case sensitive")
        },
        Case {
            key_policy: Some(
                r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:AppName":"ExampleApp"}}}"#,
            ),
            encryption_context: &[("AppName", "exampleapp")],
            expect: Err(NoResourcePolicyAllows),
            ..case(KMS_CONDITIONS, "the value's case is the operator's (StringEquals: sensitive)")
        },
        Case {
            key_policy: Some(concat!(
                r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:*","Resource":"*"},"#,
                r#"{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:Stage":"Restricted"}}}"#
            )),
            encryption_context: &[("Stage", "Restricted"), ("stage", "Test")],
            expect: Err(ExplicitDenyInResourcePolicy),
            ..case(KMS_CONDITIONS, "a Deny on Stage=Restricted is not bypassed by a decoy stage=Test pair")
        },
    ]
}

fn statements(text: &str, kind: PolicyKind) -> PolicyDocument {
    PolicyDocument::parse(&format!(r#"{{"Version":"2012-10-17","Statement":[{text}]}}"#), kind).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn every_documented_rule() {
    let cases = cases();
    assert!(cases.len() >= 50, "the suite covers the pages it names");
    for c in cases {
        let principal = c.caller.principal();
        let mut context = RequestContext::new(&principal, c.action, c.resource);
        for (key, values) in c.context {
            context = match values {
                [one] => context.with_value(key, *one),
                many => context.with_values(key, many.iter().copied()),
            };
        }
        if !c.encryption_context.is_empty() {
            let pairs = c.encryption_context;
            context = context.with_family("kms:encryptioncontext:", move || fold_names(pairs.iter().copied()));
        }
        let identity: Vec<PolicyDocument> = c.identity.iter().map(|s| statements(s, PolicyKind::IdentityPolicy)).collect();
        let decision = match c.key_policy {
            Some(key) => authorize(&statements(key, PolicyKind::KeyPolicy), &identity, &context, OWNER),
            None => authorize_identity(&identity, &context),
        };
        assert_eq!(decision.map_err(|d| d.reason), c.expect, "{} — {}", c.rule, c.page);
    }
}
