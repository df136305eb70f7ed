//! GenerateMac and VerifyMac with an HMAC key (`GENERATE_VERIFY_MAC`).
//!
//! AWS (botocore `GenerateMacRequest`): the message is 1–4096 bytes and `MacAlgorithm` must be
//! the key spec's; a MAC that does not verify is `KMSInvalidMacException`.

use serde::Deserialize;
use serde_json::{json, Value};

use super::checks::{algorithm_offered, usable_for};
use super::encrypt::dry_run;
use crate::authorize::AccessRequest;
use crate::crypto::hmac;
use crate::crypto::spec::MAC_ALGORITHMS;
use crate::key::Key;
use crate::wire::{b64, Blob};
use crate::{validate, AliasUse, CallContext, ErrorCode, Kms, KmsError};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: Option<String>,
    message: Option<Blob>,
    mac_algorithm: Option<String>,
    mac: Option<Blob>,
    grant_tokens: Option<Vec<String>>,
    dry_run: Option<bool>,
}

/// Decodes and validates either request; `verify` also needs the MAC. Returns the resolved ARN.
fn prepare(kms: &Kms, ctx: &mut CallContext<'_>, req: &Request, verify: bool) -> Result<(String, String, String), KmsError> {
    let message = validate::required(req.message.as_ref(), "message")?;
    validate::secret_length(message.bytes(), "message", 1, 4096)?;
    let key_id = validate::key_id(req.key_id.clone(), "keyId")?;
    let algorithm = validate::required(req.mac_algorithm.clone(), "macAlgorithm")?;
    validate::one_of(&algorithm, "macAlgorithm", MAC_ALGORITHMS)?;
    if verify {
        let mac = validate::required(req.mac.as_ref(), "mac")?;
        validate::secret_length(mac.bytes(), "mac", 1, 6144)?;
    }
    validate::grant_tokens(&req.grant_tokens)?;
    let arn = kms.resolve(ctx, &key_id, AliasUse::Allowed)?;
    Ok((key_id, algorithm, arn))
}

fn access<'a>(
    caller: &'a keytrail_iam::Caller,
    action: &'static str,
    key: &'a Key,
    key_id: &'a str,
    tokens: &'a [String],
    algorithm: &str,
) -> AccessRequest<'a> {
    AccessRequest {
        request_alias: key_id.contains("alias/").then_some(key_id),
        grant_tokens: tokens,
        extra_conditions: vec![("kms:macalgorithm", vec![algorithm.to_string()])],
        ..AccessRequest::new(caller, action, Some(key))
    }
}

/// The HMAC key's bytes, after the usage and algorithm checks.
fn mac_key<'k>(key: &'k Key, algorithm: &str, operation: &str) -> Result<&'k [u8], KmsError> {
    usable_for(key, "GENERATE_VERIFY_MAC", operation)?;
    algorithm_offered(key, algorithm, key.algorithms().mac)?;
    let (_, material) = key.current_material().ok_or_else(|| KmsError::invalid_state(&key.arn(), key.state.as_str()))?;
    Ok(&material.secret)
}

pub(crate) fn generate(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: Request = crate::wire::decode(body)?;
    let (key_id, algorithm, arn) = prepare(kms, ctx, &req, false)?;
    let tokens = req.grant_tokens.clone().unwrap_or_default();
    let message = req.message.as_ref().map(Blob::bytes).unwrap_or_default();
    let caller = ctx.caller;
    let mac = kms.read_key(
        &arn,
        |key| kms.authorize(&access(caller, "kms:GenerateMac", key, &key_id, &tokens, &algorithm)),
        |key| {
            let secret = mac_key(key, &algorithm, "GenerateMac")?;
            dry_run(req.dry_run)?;
            hmac::generate(&algorithm, secret, message)
        },
    )?;
    Ok(json!({ "Mac": b64(&mac), "MacAlgorithm": algorithm, "KeyId": arn }))
}

pub(crate) fn verify(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: Request = crate::wire::decode(body)?;
    let (key_id, algorithm, arn) = prepare(kms, ctx, &req, true)?;
    let tokens = req.grant_tokens.clone().unwrap_or_default();
    let message = req.message.as_ref().map(Blob::bytes).unwrap_or_default();
    let tag = req.mac.as_ref().map(Blob::bytes).unwrap_or_default();
    let caller = ctx.caller;
    kms.read_key(
        &arn,
        |key| kms.authorize(&access(caller, "kms:VerifyMac", key, &key_id, &tokens, &algorithm)),
        |key| {
            let secret = mac_key(key, &algorithm, "VerifyMac")?;
            dry_run(req.dry_run)?;
            if hmac::verify(&algorithm, secret, message, tag)? {
                Ok(())
            } else {
                Err(KmsError::new(ErrorCode::KmsInvalidMac, "The MAC is invalid for the message, key and MAC algorithm."))
            }
        },
    )?;
    Ok(json!({ "KeyId": arn, "MacValid": true, "MacAlgorithm": algorithm }))
}
