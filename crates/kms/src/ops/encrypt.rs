//! Encrypt: up to 4096 bytes under a symmetric key, bound to an encryption context; or, under an
//! RSA or SM2 `ENCRYPT_DECRYPT` key, RSAES-OAEP / SM2PKE of a plaintext within the algorithm's
//! limit, returned as the raw ciphertext AWS returns (OpenSSL decrypts it with the private key's
//! counterpart, and ciphertexts OpenSSL makes with the public key decrypt through Decrypt).

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
            seal_for(key, plaintext.bytes(), &context, &algorithm)
        },
    )?;
    if let Some(material_id) = material_id {
        ctx.additional_event_data = Some(json!({ "keyMaterialId": material_id }));
    }
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
    super::checks::usable_for(key, "ENCRYPT_DECRYPT", operation)?;
    super::checks::algorithm_offered(key, algorithm, key.encryption_algorithms())
}

/// `DryRunOperationException` when the caller asked for a dry run (checked after authorization).
pub(crate) fn dry_run(flag: Option<bool>) -> Result<(), KmsError> {
    if flag == Some(true) {
        Err(KmsError::new(ErrorCode::DryRunOperation, "The request would have succeeded, but the DryRun option is set."))
    } else {
        Ok(())
    }
}

/// Encrypts under any encryption key: a symmetric key's blob and material id, or an asymmetric
/// key's raw ciphertext (no material id: AWS reports one only for symmetric keys).
pub(crate) fn seal_for(
    key: &Key,
    plaintext: &[u8],
    context: &EncryptionContext,
    algorithm: &str,
) -> Result<(Vec<u8>, Option<String>), KmsError> {
    if key.key_spec == "SYMMETRIC_DEFAULT" {
        let (blob, id) = seal(key, plaintext, context)?;
        return Ok((blob, Some(id)));
    }
    check_asymmetric_request(key, context)?;
    let private = key.private_key()?;
    let max = private.max_plaintext(algorithm);
    if plaintext.len() > max {
        return Err(KmsError::validation(format!(
            "Plaintext is too long for encryption algorithm {algorithm} with key spec {}: at most {max} bytes.",
            key.key_spec
        )));
    }
    Ok((private.encrypt(algorithm, plaintext)?, None))
}

/// Choice: AWS supports an encryption context "only on operations with symmetric encryption KMS
/// keys" (botocore `EncryptRequest.EncryptionContext`) and publishes no error text for one sent
/// with an asymmetric key; keytrail refuses it with a `ValidationException`, changing nothing.
pub(crate) fn check_asymmetric_request(key: &Key, context: &EncryptionContext) -> Result<(), KmsError> {
    if context.is_empty() {
        Ok(())
    } else {
        Err(KmsError::validation(format!(
            "EncryptionContext is not supported with asymmetric KMS keys ({} is {}).",
            key.arn(),
            key.key_spec
        )))
    }
}

/// Encrypts under the key's current material; returns the blob and the material id.
pub(crate) fn seal(key: &Key, plaintext: &[u8], context: &EncryptionContext) -> Result<(Vec<u8>, String), KmsError> {
    let (header, material) = current_sealing(key)?;
    Ok((encrypt(&header, &material.secret, plaintext, context)?, material.id.clone()))
}

/// The blob header for the key's current material, and that material.
pub(crate) fn current_sealing(key: &Key) -> Result<(BlobHeader, &crate::key::KeyMaterial), KmsError> {
    let (version, material) = key.current_material().ok_or_else(|| KmsError::invalid_state(&key.arn(), key.state.as_str()))?;
    let header = BlobHeader { key_id: key.id.clone(), account: key.account.clone(), region: key.region.clone(), material_version: version };
    Ok((header, material))
}
