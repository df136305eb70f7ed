//! Alias operations, case by case from "Controlling access to aliases" (KMS Developer Guide,
//! https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html): each needs its
//! action on the alias ARN through IAM, and on every key it affects through the key policy;
//! ListAliases needs `kms:ListAliases` on `*`. And "Using aliases to control access to KMS keys"
//! (https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html) for
//! `kms:ResourceAliases`.

mod common;

use common::*;
use serde_json::json;

const ALIAS_ADMIN: &[&str] = &[
    // The page's "Limiting alias permissions" example, word for word but for the region.
    r#"{"Sid":"IAMPolicyForAnAliasAllow","Effect":"Allow","Action":["kms:CreateAlias","kms:UpdateAlias","kms:DeleteAlias"],"Resource":"arn:aws:kms:us-east-1:111122223333:alias/*"}"#,
    r#"{"Sid":"IAMPolicyForAnAliasDeny","Effect":"Deny","Action":["kms:CreateAlias","kms:UpdateAlias","kms:DeleteAlias"],"Resource":"arn:aws:kms:us-east-1:111122223333:alias/Restricted*"}"#,
    // And the keys, through IAM (the default key policy delegates).
    r#"{"Sid":"IAMPolicyKeyPermissions","Effect":"Allow","Action":["kms:CreateAlias","kms:UpdateAlias","kms:DeleteAlias"],"Resource":"arn:aws:kms:us-east-1:111122223333:key/*","Condition":{"StringEquals":{"kms:KeyOrigin":"AWS_KMS"}}}"#,
];

fn world() -> World {
    World::new(vec![
        user(OWNER, "aliasadmin", ALIAS_ADMIN),
        // kms:* on keys only: nothing on alias ARNs.
        user(OWNER, "keysonly", &[r#"{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:111122223333:key/*"}"#]),
        // May manage any alias, and owns one key through its key policy.
        user(
            OWNER,
            "mallory",
            &[
                r#"{"Effect":"Allow","Action":["kms:CreateAlias","kms:UpdateAlias","kms:DeleteAlias"],"Resource":"arn:aws:kms:*:*:alias/*"}"#,
            ],
        ),
        user(OWNER, "lister", &[r#"{"Effect":"Allow","Action":"kms:ListAliases","Resource":"*"}"#]),
        user(OWNER, "aliaslister", &[r#"{"Effect":"Allow","Action":"kms:ListAliases","Resource":"arn:aws:kms:*:*:alias/*"}"#]),
        // "allow the principal to update aliases only when the target KMS key already has a particular alias"
        user(
            OWNER,
            "tester",
            &[
                r#"{"Effect":"Allow","Action":"kms:UpdateAlias","Resource":"arn:aws:kms:*:*:alias/*"}"#,
                r#"{"Effect":"Allow","Action":"kms:UpdateAlias","Resource":"arn:aws:kms:*:*:key/*","Condition":{"ForAnyValue:StringLike":{"kms:ResourceAliases":"alias/test-*"}}}"#,
            ],
        ),
    ])
}

fn alias(name: &str, key: &str) -> serde_json::Value {
    json!({"AliasName": name, "TargetKeyId": key})
}

fn alias_arn(name: &str) -> String {
    format!("arn:aws:kms:us-east-1:{OWNER}:{name}")
}

/// The page's `Restricted*` example: the Deny on the alias ARN pattern applies, the Allow on
/// `alias/*` does the rest; the message names the alias ARN as the resource.
#[test]
fn statements_on_alias_arns_apply() {
    let w = world();
    let key = w.key(None);
    assert_allowed(w.call("aliasadmin", "CreateAlias", alias("alias/test-key", &key)));
    let err = w.call("aliasadmin", "CreateAlias", alias("alias/Restricted-1", &key)).unwrap_err();
    assert_eq!(err.code, "AccessDeniedException");
    assert_eq!(
        err.message,
        format!(
            "User: arn:aws:iam::{OWNER}:user/aliasadmin is not authorized to perform: kms:CreateAlias on resource: {} with an explicit deny in an identity-based policy",
            alias_arn("alias/Restricted-1")
        )
    );
    assert_allowed(w.call("root", "CreateAlias", alias("alias/Restricted-2", &key)));
    assert_denied(w.call("aliasadmin", "DeleteAlias", json!({"AliasName": "alias/Restricted-2"})), IDENTITY_DENY);
    assert_denied(w.call("aliasadmin", "UpdateAlias", alias("alias/Restricted-2", &key)), IDENTITY_DENY);
    assert_allowed(w.call("aliasadmin", "DeleteAlias", json!({"AliasName": "alias/test-key"})));
    // kms:* on key ARNs gives nothing on the alias: "kms:CreateAlias for the alias. Provide this
    // permission in an IAM policy".
    let denied = w.call("keysonly", "CreateAlias", alias("alias/mine", &key));
    assert_denied(
        denied,
        &format!("on resource: {} because no identity-based policy allows the kms:CreateAlias action", alias_arn("alias/mine")),
    );
}

/// "kms:CreateAlias for the KMS key … must be provided in a key policy or in an IAM policy that is
/// delegated from the key policy": a key whose policy does not delegate refuses even an alias
/// administrator; the `kms:KeyOrigin` condition on the key statement (the page's example) is
/// evaluated against the key.
#[test]
fn the_key_needs_its_own_permission() {
    let w = world();
    let locked = w.key(Some(&key_policy(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/nobody"},"Action":"kms:*","Resource":"*"}"#,
    )));
    assert_denied(w.call("aliasadmin", "CreateAlias", alias("alias/locked", &locked)), NO_RESOURCE);
    let external = assert_allowed(w.call("root", "CreateKey", json!({"Origin": "EXTERNAL"})));
    let external = external["KeyMetadata"]["Arn"].as_str().unwrap().to_string();
    assert_denied(w.call("aliasadmin", "CreateAlias", alias("alias/ext", &external)), NO_IDENTITY);
}

/// "To change the KMS key that is associated with an alias, the principal needs three permission
/// elements: one for the alias, one for the current KMS key, and one for the new KMS key." So a
/// principal that controls one key cannot repoint another key's alias at it.
#[test]
fn update_alias_needs_the_current_and_the_new_key() {
    let w = world();
    let victim = w.key(None);
    let mine = w.key(Some(&key_policy(&format!(
        r#"{},{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:user/mallory"}},"Action":"kms:*","Resource":"*"}}"#,
        delegate_to(OWNER)
    ))));
    assert_allowed(w.call("root", "CreateAlias", alias("alias/payments", &victim)));
    let denied = w.call("mallory", "UpdateAlias", alias("alias/payments", &mine));
    assert_denied(denied, &format!("kms:UpdateAlias on resource: {victim} because no identity-based policy allows"));
    let out = assert_allowed(w.call("root", "ListAliases", json!({"KeyId": victim})));
    assert_eq!(out["Aliases"][0]["AliasName"], "alias/payments", "the alias still names the victim's key");
    // The neighbour: pointing an alias of mallory's own key at a key mallory cannot use.
    assert_allowed(w.call("mallory", "CreateAlias", alias("alias/mine", &mine)));
    assert_denied(w.call("mallory", "UpdateAlias", alias("alias/mine", &victim)), &format!("on resource: {victim}"));
    // With permission on both keys, it works.
    assert_allowed(w.call("root", "UpdateAlias", alias("alias/payments", &mine)));
    // DeleteAlias needs the key too.
    assert_allowed(w.call("root", "CreateAlias", alias("alias/other", &victim)));
    assert_denied(w.call("mallory", "DeleteAlias", json!({"AliasName": "alias/other"})), &format!("kms:DeleteAlias on resource: {victim}"));
}

/// "Using aliases to control access": `kms:ResourceAliases` on the key statement of UpdateAlias —
/// allowed only while the (current and new) keys have a `test-` alias.
#[test]
fn resource_aliases_limit_update_alias() {
    let w = world();
    let a = w.key(None);
    let b = w.key(None);
    assert_allowed(w.call("root", "CreateAlias", alias("alias/test-a", &a)));
    assert_allowed(w.call("root", "CreateAlias", alias("alias/moving", &a)));
    assert_denied(w.call("tester", "UpdateAlias", alias("alias/moving", &b)), &format!("on resource: {b}"));
    assert_allowed(w.call("root", "CreateAlias", alias("alias/test-b", &b)));
    assert_allowed(w.call("tester", "UpdateAlias", alias("alias/moving", &b)));
}

/// "kms:ListAliases": IAM policy only, and "the value of the resource element in the policy must
/// be `*`" — a statement on alias ARNs does not allow it.
#[test]
fn list_aliases_is_authorized_on_star() {
    let w = world();
    let key = w.key(None);
    assert_allowed(w.call("root", "CreateAlias", alias("alias/listed", &key)));
    let out = assert_allowed(w.call("lister", "ListAliases", json!({})));
    assert_eq!(out["Aliases"].as_array().map(Vec::len), Some(1));
    assert_denied(
        w.call("aliaslister", "ListAliases", json!({})),
        "kms:ListAliases on resource: * because no identity-based policy allows",
    );
    assert_denied(w.call("keysonly", "ListAliases", json!({})), NO_IDENTITY);
}
