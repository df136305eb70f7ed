//! CreateKey: a new customer managed key of any key spec, with fresh material (AES-256, an HMAC
//! key, or a private key generated for its family).

use serde::Deserialize;
use serde_json::{json, Value};

use crate::authorize::AccessRequest;
use crate::crypto::random_bytes;
use crate::crypto::spec::{Family, SpecInfo, SM2_REGIONS};
use crate::key::{epoch_f64, Key, KeyMaterial, KeyState};
use crate::ops::tags::{validate_tags, TagEntry};
use crate::{validate, CallContext, Change, ErrorCode, Kms, KmsError};

/// Every KeySpec the API defines.
pub(crate) const KEY_SPECS: &[&str] = &[
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "SYMMETRIC_DEFAULT",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
    "ML_DSA_44",
    "ML_DSA_65",
    "ML_DSA_87",
    "ECC_NIST_EDWARDS25519",
];
const KEY_USAGES: &[&str] = &["SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"];
const ORIGINS: &[&str] = &["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"];

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    policy: Option<String>,
    description: Option<String>,
    key_usage: Option<String>,
    customer_master_key_spec: Option<String>,
    key_spec: Option<String>,
    origin: Option<String>,
    custom_key_store_id: Option<String>,
    bypass_policy_lockout_safety_check: Option<bool>,
    tags: Option<Vec<TagEntry>>,
    multi_region: Option<bool>,
    xks_key_id: Option<String>,
}

pub(crate) fn run(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: Request = crate::wire::decode(body)?;
    let description = req.description.unwrap_or_default();
    validate::length(&description, "description", 0, 8192)?;
    if let Some(p) = &req.policy {
        validate::length(p, "policy", 1, 131072)?;
    }
    if let Some(spec) = &req.customer_master_key_spec {
        validate::one_of(spec, "customerMasterKeySpec", KEY_SPECS)?;
    }
    if let Some(spec) = &req.key_spec {
        validate::one_of(spec, "keySpec", KEY_SPECS)?;
        if req.customer_master_key_spec.as_ref().is_some_and(|c| c != spec) {
            return Err(KmsError::validation(
                "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.",
            ));
        }
    }
    let key_spec = req.key_spec.or(req.customer_master_key_spec).unwrap_or_else(|| "SYMMETRIC_DEFAULT".into());
    let key_usage = req.key_usage.unwrap_or_else(|| "ENCRYPT_DECRYPT".into());
    validate::one_of(&key_usage, "keyUsage", KEY_USAGES)?;
    let origin = req.origin.unwrap_or_else(|| "AWS_KMS".into());
    validate::one_of(&origin, "origin", ORIGINS)?;
    let tags = req.tags.unwrap_or_default();
    validate_tags(&tags)?;
    let bypass = req.bypass_policy_lockout_safety_check.unwrap_or(false);
    let multi_region = req.multi_region.unwrap_or(false);

    ctx.default_param("description", json!(description));
    ctx.default_param("keyUsage", json!(key_usage));
    ctx.default_param("keySpec", json!(key_spec));
    ctx.default_param("customerMasterKeySpec", json!(key_spec));
    ctx.default_param("origin", json!(origin));
    ctx.default_param("bypassPolicyLockoutSafetyCheck", json!(bypass));
    ctx.default_param("tags", json!([]));
    ctx.default_param("multiRegion", json!(multi_region));

    let spec = check_spec_and_usage(&key_spec, &key_usage, ctx.region())?;
    if req.custom_key_store_id.is_some() || req.xks_key_id.is_some() || origin == "AWS_CLOUDHSM" || origin == "EXTERNAL_KEY_STORE" {
        return Err(KmsError::new(
            ErrorCode::UnsupportedOperation,
            "keytrail does not support custom key stores; use Origin AWS_KMS or EXTERNAL.",
        ));
    }

    let request_tags: Vec<(String, String)> = tags.iter().map(|t| (t.tag_key.clone(), t.tag_value.clone())).collect();
    let mut conditions = vec![
        ("kms:keyspec", vec![key_spec.clone()]),
        ("kms:customermasterkeyspec", vec![key_spec.clone()]),
        ("kms:keyusage", vec![key_usage.clone()]),
        ("kms:customermasterkeyusage", vec![key_usage.clone()]),
        ("kms:keyorigin", vec![origin.clone()]),
        ("kms:multiregion", vec![multi_region.to_string()]),
    ];
    // Present only when the request sends the member ("kms:BypassPolicyLockoutSafetyCheck").
    if let Some(b) = req.bypass_policy_lockout_safety_check {
        conditions.push(("kms:bypasspolicylockoutsafetycheck", vec![b.to_string()]));
    }
    let tagged = (!request_tags.is_empty()).then_some(request_tags.as_slice());
    kms.authorize(&AccessRequest {
        extra_conditions: conditions,
        request_tags: tagged,
        ..AccessRequest::new(ctx.caller, "kms:CreateKey", None)
    })?;
    // "To use the Tags parameter, you need kms:TagResource permission in an IAM policy" (CreateKey).
    if tagged.is_some() {
        kms.authorize(&AccessRequest { request_tags: tagged, ..AccessRequest::new(ctx.caller, "kms:TagResource", None) })?;
    }

    let id = if multi_region { format!("mrk-{}", hex::encode(random_bytes(16))) } else { uuid::Uuid::new_v4().to_string() };
    let account = ctx.account().to_string();
    let policy = match req.policy {
        Some(p) => crate::policy_check::check_new_policy(&p, ctx.caller, &account, bypass)?,
        None => crate::policy_check::default_policy(&account),
    };
    let (state, materials) = if origin == "EXTERNAL" {
        (KeyState::PendingImport, Vec::new())
    } else {
        (KeyState::Enabled, vec![KeyMaterial::new(new_material(spec)?, ctx.now_secs(), None)])
    };
    let key = Key {
        id,
        account: account.clone(),
        region: ctx.region().to_string(),
        description,
        key_usage,
        key_spec,
        origin,
        state,
        created: epoch_f64(ctx.now),
        deletion_date: None,
        pending_window_days: None,
        multi_region,
        policy: policy.text().to_string(),
        policy_doc: Some(policy),
        grants: Vec::new(),
        tags: tags.into_iter().map(|t| (t.tag_key, t.tag_value)).collect(),
        rotation: None,
        materials,
        seq: kms.store.next_seq(),
    };
    let arn = key.arn();
    let metadata = key.metadata();
    kms.store.insert_key(key);
    ctx.touch(&account, &arn);
    ctx.changes.push(Change::Key(arn));
    ctx.response_elements = Some(json!({ "keyMetadata": record_metadata(&metadata, ctx.now) }));
    Ok(json!({ "KeyMetadata": metadata }))
}

/// Checks `usage` is one AWS allows for `spec_name` and that the spec is offered in `region`;
/// returns the spec's row.
///
/// Choices: AWS's message for a usage the spec does not take is not published word for word;
/// keytrail names both and the usages that fit. SM2 outside the China Regions is
/// `UnsupportedOperationException` (the CreateKey error for "a specified parameter is not
/// supported"), since AWS offers SM2 "only in China Regions" (botocore `KeySpec` documentation).
pub(crate) fn check_spec_and_usage(spec_name: &str, usage: &str, region: &str) -> Result<&'static SpecInfo, KmsError> {
    let spec = crate::crypto::spec::spec(spec_name).ok_or_else(|| KmsError::validation(format!("KeySpec {spec_name} is not valid.")))?;
    if !spec.usages.contains(&usage) {
        return Err(KmsError::validation(format!(
            "KeyUsage {usage} is not compatible with KeySpec {spec_name}. Use {}.",
            spec.usages.join(" or ")
        )));
    }
    if spec.family == Family::Sm2 && !SM2_REGIONS.contains(&region) {
        return Err(KmsError::new(
            ErrorCode::UnsupportedOperation,
            format!(
                "KeySpec SM2 is not supported in {region}. SM2 keys are available only in the China Regions ({}).",
                SM2_REGIONS.join(", ")
            ),
        ));
    }
    Ok(spec)
}

/// Fresh key material for `spec`: 32 random bytes (AES-256), the HMAC key length's random bytes,
/// or a new private key as PKCS#8 DER.
pub fn new_material(spec: &SpecInfo) -> Result<Vec<u8>, KmsError> {
    Ok(match spec.family {
        Family::Symmetric => random_bytes(32),
        Family::Hmac(bits) => random_bytes(crate::crypto::hmac::key_len(bits)),
        _ => crate::crypto::asymmetric::generate(spec)?.to_vec(),
    })
}

/// KeyMetadata as CreateKey's record shows it: lower camel case except `AWSAccountId`, and the
/// creation date in KMS's human format.
fn record_metadata(metadata: &Value, now: time::OffsetDateTime) -> Value {
    let mut m = crate::audit::camel_case(metadata);
    if let Some(obj) = m.as_object_mut() {
        if let Some(v) = obj.remove("aWSAccountId") {
            obj.insert("AWSAccountId".into(), v);
        }
        obj.insert("creationDate".into(), json!(human_date(now)));
        obj.remove("currentKeyMaterialId");
    }
    m
}

/// The human date KMS writes in responseElements (`Aug 10, 2022, 10:38:27 PM`).
pub(crate) fn human_date(t: time::OffsetDateTime) -> String {
    let fmt = time::macros::format_description!(
        "[month repr:short] [day padding:none], [year], [hour repr:12 padding:none]:[minute]:[second] [period]"
    );
    t.format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    #[test]
    fn human_date_matches_kms() {
        assert_eq!(super::human_date(datetime!(2022-08-10 22:38:27.123 UTC)), "Aug 10, 2022, 10:38:27 PM");
    }
}
