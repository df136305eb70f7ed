//! CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.
//!
//! Choices: CreateGrant with a `Name` is idempotent — the same name with identical parameters
//! returns the existing GrantId; other parameters make a new grant. RetireGrant and RevokeGrant
//! record `{"keyId": "<key ARN>"}` as responseElements, like the other void key operations.
//! Who may create (through a parent grant) and retire a grant is decided by the authorizer
//! (`crate::authorization`, `crate::grants`); this file states what the call asks for.

use std::collections::BTreeMap;

use keytrail_iam::policy::{Denial, DenialReason, RequestContext};
use serde::Deserialize;
use serde_json::{json, Value};

use super::list_keys::page_response;
use crate::authorize::AccessRequest;
use crate::crypto::random_bytes;
use crate::grants::{grant_token, parse_grant_token, GrantSpec, CRYPTO_GRANT_OPERATIONS, GRANT_OPERATIONS, UNCONSTRAINED_GRANT_OPERATIONS};
use crate::key::{epoch_f64, Grant};
use crate::paging::paginate;
use crate::{validate, AliasUse, CallContext, Change, ErrorCode, Kms, KmsError};

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Constraints {
    encryption_context_subset: Option<BTreeMap<String, String>>,
    encryption_context_equals: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateRequest {
    key_id: Option<String>,
    grantee_principal: Option<String>,
    retiring_principal: Option<String>,
    operations: Option<Vec<String>>,
    constraints: Option<Constraints>,
    grant_tokens: Option<Vec<String>>,
    name: Option<String>,
    dry_run: Option<bool>,
}

/// A principal ARN a grant may name: an account root, IAM user or role, or a role session.
fn check_principal(value: &str, field: &str) -> Result<(), KmsError> {
    validate::length(value, field, 1, 256)?;
    let valid = value
        .strip_prefix("arn:aws:iam::")
        .map(|r| {
            r.len() > 13
                && r[..12].bytes().all(|b| b.is_ascii_digit())
                && (r[12..] == *":root" || r[12..].starts_with(":user/") || r[12..].starts_with(":role/"))
        })
        .or_else(|| {
            value
                .strip_prefix("arn:aws:sts::")
                .map(|r| r.len() > 13 && r[..12].bytes().all(|b| b.is_ascii_digit()) && r[12..].starts_with(":assumed-role/"))
        })
        .unwrap_or(false);
    if valid {
        Ok(())
    } else {
        Err(KmsError::new(ErrorCode::InvalidArn, format!("ARN does not refer to a valid principal: {value}")))
    }
}

pub(crate) fn create(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: CreateRequest = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    let grantee = validate::required(req.grantee_principal, "granteePrincipal")?;
    check_principal(&grantee, "granteePrincipal")?;
    if let Some(r) = &req.retiring_principal {
        check_principal(r, "retiringPrincipal")?;
    }
    let mut operations = validate::required(req.operations, "operations")?;
    validate::count(operations.len(), "operations", 1, GRANT_OPERATIONS.len())?;
    for op in &operations {
        validate::one_of(op, "operations.member", GRANT_OPERATIONS)?;
    }
    operations.dedup();
    // AWS's answer to `--operations CreateGrant` alone (seen in the wild: ansible/ansible#31960).
    if operations.iter().all(|o| o == "CreateGrant") {
        return Err(KmsError::validation("Grants must not contain only the CreateGrant operation."));
    }
    let constraints = req.constraints.unwrap_or_default();
    validate::encryption_context(&constraints.encryption_context_subset, "constraints.encryptionContextSubset")?;
    validate::encryption_context(&constraints.encryption_context_equals, "constraints.encryptionContextEquals")?;
    let constrained = constraints.encryption_context_subset.is_some() || constraints.encryption_context_equals.is_some();
    // Constraints go with the operations that take an encryption context, and with CreateGrant,
    // DescribeKey and RetireGrant, which they do not apply to (CreateGrant `Constraints`, API
    // reference). Sign, Verify, GetPublicKey, GenerateMac, VerifyMac and DeriveSharedSecret take
    // none: AWS refuses them with a ValidationException whose text it does not publish.
    if constrained {
        if let Some(op) = operations
            .iter()
            .find(|o| !CRYPTO_GRANT_OPERATIONS.contains(&o.as_str()) && !UNCONSTRAINED_GRANT_OPERATIONS.contains(&o.as_str()))
        {
            return Err(KmsError::validation(format!(
                "Encryption context grant constraints are not supported for the {op} operation: it takes no encryption context."
            )));
        }
    }
    if let Some(name) = &req.name {
        validate::length(name, "name", 1, 256)?;
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b)) {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
            )));
        }
    }
    validate::grant_tokens(&req.grant_tokens)?;
    let tokens = req.grant_tokens.unwrap_or_default();
    let arn = kms.resolve(ctx, &key_id, AliasUse::Refused)?;
    let caller = ctx.caller;
    let constraint_type: Vec<String> = [
        constraints.encryption_context_subset.as_ref().map(|_| "EncryptionContextSubset".to_string()),
        constraints.encryption_context_equals.as_ref().map(|_| "EncryptionContextEquals".to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut extra = vec![
        ("kms:grantoperations", operations.clone()),
        ("kms:granteeprincipal", vec![grantee.clone()]),
        ("kms:grantisforawsresource", vec!["false".to_string()]),
    ];
    if let Some(r) = &req.retiring_principal {
        extra.push(("kms:retiringprincipal", vec![r.clone()]));
    }
    if !constraint_type.is_empty() {
        extra.push(("kms:grantconstrainttype", constraint_type));
    }
    let spec = GrantSpec {
        operations: operations.clone(),
        subset: constraints.encryption_context_subset.clone(),
        equals: constraints.encryption_context_equals.clone(),
    };
    // kms:EncryptionContext:<k> and kms:EncryptionContextKeys of a CreateGrant are its
    // constraints' pairs ("kms:EncryptionContext:context-key", KMS condition keys).
    let constraint_context: Option<BTreeMap<String, String>> = constrained.then(|| {
        let mut pairs = spec.subset.clone().unwrap_or_default();
        pairs.extend(spec.equals.clone().unwrap_or_default());
        pairs
    });
    let now = epoch_f64(ctx.now);
    let grant_id = kms
        .store
        .with_key_mut(&arn, |key| {
            kms.authorize(&AccessRequest {
                grant_tokens: &tokens,
                extra_conditions: extra,
                encryption_context: constraint_context.as_ref(),
                new_grant: Some(&spec),
                ..AccessRequest::new(caller, "kms:CreateGrant", Some(key))
            })?;
            key.check_not_pending_deletion()?;
            // "You cannot use an encryption context grant constraint for cryptographic operations
            // with asymmetric KMS keys or HMAC KMS keys" (CreateGrant `Constraints`).
            if constrained && !key.is_symmetric_encryption() {
                return Err(KmsError::validation(format!(
                    "Encryption context grant constraints are not supported for {}: its key spec {} takes no encryption context.",
                    key.arn(),
                    key.key_spec
                )));
            }
            super::encrypt::dry_run(req.dry_run)?;
            let grant = Grant {
                id: hex::encode(random_bytes(32)),
                name: req.name.clone(),
                grantee_principal: grantee.clone(),
                retiring_principal: req.retiring_principal.clone(),
                operations: operations.clone(),
                encryption_context_subset: constraints.encryption_context_subset.clone(),
                encryption_context_equals: constraints.encryption_context_equals.clone(),
                issuing_account: format!("arn:aws:iam::{}:root", caller.account()),
                created: now,
            };
            let same = |g: &Grant| {
                g.name.is_some()
                    && g.name == grant.name
                    && g.grantee_principal == grant.grantee_principal
                    && g.retiring_principal == grant.retiring_principal
                    && g.operations == grant.operations
                    && g.encryption_context_subset == grant.encryption_context_subset
                    && g.encryption_context_equals == grant.encryption_context_equals
            };
            if let Some(existing) = key.grants.iter().find(|g| same(g)) {
                return Ok(existing.id.clone());
            }
            let id = grant.id.clone();
            key.grants.push(grant);
            Ok(id)
        })
        .unwrap_or_else(|| Err(KmsError::key_not_found(&arn)))?;
    ctx.changes.push(Change::Key(arn.clone()));
    ctx.response_elements = Some(json!({ "grantId": grant_id }));
    Ok(json!({ "GrantToken": grant_token(&arn, &grant_id), "GrantId": grant_id }))
}

fn grant_json(arn: &str, g: &Grant) -> Value {
    let mut e = json!({
        "KeyId": arn,
        "GrantId": g.id,
        "CreationDate": g.created,
        "GranteePrincipal": g.grantee_principal,
        "IssuingAccount": g.issuing_account,
        "Operations": g.operations,
    });
    if let Some(n) = &g.name {
        e["Name"] = json!(n);
    }
    if let Some(r) = &g.retiring_principal {
        e["RetiringPrincipal"] = json!(r);
    }
    let mut c = serde_json::Map::new();
    if let Some(s) = &g.encryption_context_subset {
        c.insert("EncryptionContextSubset".into(), json!(s));
    }
    if let Some(s) = &g.encryption_context_equals {
        c.insert("EncryptionContextEquals".into(), json!(s));
    }
    if !c.is_empty() {
        e["Constraints"] = Value::Object(c);
    }
    e
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListRequest {
    key_id: Option<String>,
    grant_id: Option<String>,
    grantee_principal: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

pub(crate) fn list(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: ListRequest = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    let arn = kms.resolve(ctx, &key_id, AliasUse::Refused)?;
    let caller = ctx.caller;
    let access = |key: &crate::key::Key| {
        kms.authorize(&AccessRequest {
            extra_conditions: vec![("kms:grantisforawsresource", vec!["false".to_string()])],
            ..AccessRequest::new(caller, "kms:ListGrants", Some(key))
        })
    };
    let grants = kms.read_key(&arn, access, |key| {
        Ok(key
            .grants
            .iter()
            .filter(|g| req.grant_id.as_ref().is_none_or(|id| &g.id == id))
            .filter(|g| req.grantee_principal.as_ref().is_none_or(|p| &g.grantee_principal == p))
            .map(|g| (format!("{:020}:{}", (g.created * 1000.0) as u64, g.id), grant_json(&arn, g)))
            .collect::<Vec<_>>())
    })?;
    let page = paginate("grants", grants, req.limit, req.marker.as_deref(), 50, 100)?;
    Ok(page_response("Grants", page))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RetirableRequest {
    retiring_principal: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

pub(crate) fn list_retirable(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: RetirableRequest = crate::wire::decode(body)?;
    let principal = validate::required(req.retiring_principal, "retiringPrincipal")?;
    check_principal(&principal, "retiringPrincipal")?;
    kms.authorize(&AccessRequest::new(ctx.caller, "kms:ListRetirableGrants", None))?;
    // "Cross-account use: No. You must specify a principal in your AWS account" (ListRetirableGrants,
    // API reference). Choice: refused as a cross-account action is, AccessDenied on `*`.
    let principal_account = principal.split(':').nth(4).unwrap_or_default();
    if principal_account != ctx.account() {
        let request = RequestContext::new(&ctx.caller.principal, "kms:ListRetirableGrants", "*");
        return Err(KmsError::new(ErrorCode::AccessDenied, Denial::new(DenialReason::NoResourcePolicyAllows, &request).message()));
    }
    let region = ctx.region().to_string();
    let mut grants: Vec<(String, Value)> = kms
        .store
        .scan(|key| {
            (key.region == region).then(|| {
                let arn = key.arn();
                key.grants
                    .iter()
                    .filter(|g| g.retiring_principal.as_deref() == Some(principal.as_str()))
                    .map(|g| (format!("{arn}:{}", g.id), grant_json(&arn, g)))
                    .collect::<Vec<_>>()
            })
        })
        .into_iter()
        .flatten()
        .collect();
    grants.sort_by(|a, b| a.0.cmp(&b.0));
    let page = paginate("retirable", grants, req.limit, req.marker.as_deref(), 50, 100)?;
    Ok(page_response("Grants", page))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RetireRequest {
    grant_token: Option<String>,
    key_id: Option<String>,
    grant_id: Option<String>,
    dry_run: Option<bool>,
}

pub(crate) fn retire(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: RetireRequest = crate::wire::decode(body)?;
    let (arn, grant_id) = match (&req.grant_token, &req.key_id, &req.grant_id) {
        (Some(token), _, _) => {
            validate::length(token, "grantToken", 1, 8192)?;
            let (arn, id) = parse_grant_token(token)?;
            if kms.store.with_key(&arn, |_| ()).is_none() {
                return Err(KmsError::key_not_found(&arn));
            }
            let owner = arn.split(':').nth(4).unwrap_or_default().to_string();
            ctx.touch(&owner, &arn);
            (arn, id)
        }
        (None, Some(key_id), Some(id)) => (kms.resolve(ctx, key_id, AliasUse::Refused)?, id.clone()),
        _ => return Err(KmsError::validation("Specify either GrantToken, or both KeyId and GrantId.")),
    };
    let caller = ctx.caller;
    kms.store
        .with_key_mut(&arn, |key| {
            let Some(pos) = key.grants.iter().position(|g| g.id == grant_id) else {
                return Err(KmsError::new(ErrorCode::NotFound, format!("Grant ID {grant_id} not found")));
            };
            kms.authorize(&AccessRequest {
                retiring: Some(&key.grants[pos]),
                ..AccessRequest::new(caller, "kms:RetireGrant", Some(&*key))
            })?;
            super::encrypt::dry_run(req.dry_run)?;
            key.grants.remove(pos);
            Ok(())
        })
        .unwrap_or_else(|| Err(KmsError::key_not_found(&arn)))?;
    ctx.changes.push(Change::Key(arn.clone()));
    Kms::respond_with_key_arn(ctx, &arn);
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RevokeRequest {
    key_id: Option<String>,
    grant_id: Option<String>,
    dry_run: Option<bool>,
}

pub(crate) fn revoke(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: RevokeRequest = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    let grant_id = validate::required(req.grant_id, "grantId")?;
    validate::length(&grant_id, "grantId", 1, 128)?;
    let arn = kms.resolve(ctx, &key_id, AliasUse::Refused)?;
    let extra = vec![("kms:grantisforawsresource", vec!["false".to_string()])];
    kms.change_key_with(ctx, &arn, "kms:RevokeGrant", extra, |key| {
        let Some(pos) = key.grants.iter().position(|g| g.id == grant_id) else {
            return Err(KmsError::new(ErrorCode::NotFound, format!("Grant ID {grant_id} not found")));
        };
        super::encrypt::dry_run(req.dry_run)?;
        key.grants.remove(pos);
        Ok(())
    })?;
    Kms::respond_with_key_arn(ctx, &arn);
    Ok(json!({}))
}
