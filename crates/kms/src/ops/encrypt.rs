//! Encrypt: up to 4096 bytes under a symmetric key, bound to an encryption context.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::authorize::AccessRequest;
use crate::crypto::{encrypt, BlobHeader, EncryptionContext};
use crate::key::Key;
use crate::wire::{b64, Blob};
use crate::{validate, AliasUse, CallContext, ErrorCode, Kms, KmsError};

/// The encryption algorithms the API names.
pub(crate) const ENCRYPTION_ALGORITHMS: &[&str] = &["SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"];

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: Option<String>,
    plaintext: Option<Blob>,
    encryption_context: Option<EncryptionContext>,
    grant_tokens: Option<Vec<String>>,
    encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

pub(crate) fn run(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: Request = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    let plaintext = validate::required(req.plaintext, "plaintext")?;
    validate::secret_length(plaintext.bytes(), "plaintext", 1, 4096)?;
    validate::encryption_context(&req.encryption_context, "encryptionContext")?;
    validate::grant_tokens(&req.grant_tokens)?;
    let algorithm = algorithm(req.encryption_algorithm, "encryptionAlgorithm")?;
    ctx.default_param("encryptionAlgorithm", json!(algorithm));
    let context = req.encryption_context.unwrap_or_default();
    let tokens = req.grant_tokens.unwrap_or_default();

    let arn = kms.resolve(ctx, &key_id, AliasUse::Allowed)?;
    let caller = ctx.caller;
    let (blob, material_id) = kms.read_key(
        &arn,
        |key| kms.authorize(&crypto_access(caller, "kms:Encrypt", key, &context, &key_id, &tokens, &algorithm)),
        |key| {
            check_encrypt_key(key, "Encrypt", &algorithm)?;
            dry_run(req.dry_run)?;
            seal(key, plaintext.bytes(), &context)
        },
    )?;
    ctx.additional_event_data = Some(json!({ "keyMaterialId": material_id }));
    Ok(json!({ "CiphertextBlob": b64(&blob), "KeyId": arn, "EncryptionAlgorithm": algorithm }))
}

/// The access a symmetric crypto operation asks for, with its condition keys.
pub(crate) fn crypto_access<'a>(
    caller: &'a keytrail_iam::Caller,
    action: &'static str,
    key: &'a Key,
    context: &'a EncryptionContext,
    key_id_sent: &'a str,
    tokens: &'a [String],
    algorithm: &str,
) -> AccessRequest<'a> {
    AccessRequest {
        encryption_context: Some(context),
        request_alias: key_id_sent.contains("alias/").then_some(key_id_sent),
        grant_tokens: tokens,
        extra_conditions: vec![("kms:encryptionalgorithm", vec![algorithm.to_string()])],
        ..AccessRequest::new(caller, action, Some(key))
    }
}

/// Validates an `EncryptionAlgorithm` member, defaulting to `SYMMETRIC_DEFAULT`.
pub(crate) fn algorithm(value: Option<String>, field: &str) -> Result<String, KmsError> {
    let a = value.unwrap_or_else(|| "SYMMETRIC_DEFAULT".into());
    validate::one_of(&a, field, ENCRYPTION_ALGORITHMS)?;
    Ok(a)
}

/// Checks the key can encrypt now with `algorithm` (state, usage, algorithm).
pub(crate) fn check_encrypt_key(key: &Key, operation: &str, algorithm: &str) -> Result<(), KmsError> {
    key.check_usable()?;
    if key.key_usage != "ENCRYPT_DECRYPT" {
        return Err(KmsError::new(
            ErrorCode::InvalidKeyUsage,
            format!("{} key usage is {} which is not valid for {operation}.", key.arn(), key.key_usage),
        ));
    }
    if !key.encryption_algorithms().contains(&algorithm) {
        return Err(KmsError::new(
            ErrorCode::InvalidKeyUsage,
            format!("Algorithm {algorithm} is incompatible with key spec {}.", key.key_spec),
        ));
    }
    Ok(())
}

/// `DryRunOperationException` when the caller asked for a dry run (checked after authorization).
pub(crate) fn dry_run(flag: Option<bool>) -> Result<(), KmsError> {
    if flag == Some(true) {
        Err(KmsError::new(ErrorCode::DryRunOperation, "The request would have succeeded, but the DryRun option is set."))
    } else {
        Ok(())
    }
}

/// Encrypts under the key's current material; returns the blob and the material id.
pub(crate) fn seal(key: &Key, plaintext: &[u8], context: &EncryptionContext) -> Result<(Vec<u8>, String), KmsError> {
    let (version, material) = key.current_material().ok_or_else(|| KmsError::invalid_state(&key.arn(), key.state.as_str()))?;
    let header = BlobHeader { key_id: key.id.clone(), account: key.account.clone(), region: key.region.clone(), material_version: version };
    Ok((encrypt(&header, &material.secret, plaintext, context)?, material.id.clone()))
}
