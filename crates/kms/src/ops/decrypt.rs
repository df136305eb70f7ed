//! Decrypt: finds the key from the ciphertext blob itself; a KeyId, if sent, must agree. An
//! asymmetric ciphertext (raw RSAES-OAEP / SM2PKE output, AWS's format) carries no key id, so
//! AWS requires `KeyId` for it: a KeyId naming an RSA or SM2 key decrypts the bytes as such.

use serde::Deserialize;
use serde_json::{json, Value};

use super::encrypt::{algorithm, check_encrypt_key, crypto_access, dry_run};
use crate::crypto::{decrypt, CiphertextBlob, EncryptionContext};
use crate::key::Key;
use crate::wire::{b64, Blob};
use crate::{validate, AliasUse, CallContext, Kms, KmsError};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    ciphertext_blob: Option<Blob>,
    encryption_context: Option<EncryptionContext>,
    grant_tokens: Option<Vec<String>>,
    key_id: Option<String>,
    encryption_algorithm: Option<String>,
    recipient: Option<Value>,
    dry_run: Option<bool>,
}

pub(crate) fn run(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: Request = crate::wire::decode(body)?;
    let blob = validate::required(req.ciphertext_blob, "ciphertextBlob")?;
    validate::secret_length(blob.bytes(), "ciphertextBlob", 1, 6144)?;
    if let Some(k) = &req.key_id {
        validate::length(k, "keyId", 1, 2048)?;
    }
    validate::encryption_context(&req.encryption_context, "encryptionContext")?;
    validate::grant_tokens(&req.grant_tokens)?;
    let algorithm = algorithm(req.encryption_algorithm, "encryptionAlgorithm")?;
    // Decrypt's record always shows the algorithm, even when the caller left it out.
    ctx.default_param("encryptionAlgorithm", json!(algorithm));
    super::checks::no_recipient(&req.recipient)?;
    let context = req.encryption_context.unwrap_or_default();
    let tokens = req.grant_tokens.unwrap_or_default();

    let (arn, plaintext, material_id) =
        open(kms, ctx, blob.bytes(), req.key_id.as_deref(), &context, &tokens, &algorithm, "kms:Decrypt", req.dry_run, None)?;
    let mut response = json!({ "KeyId": arn, "Plaintext": b64(&plaintext), "EncryptionAlgorithm": algorithm });
    if let Some(material_id) = material_id {
        ctx.additional_event_data = Some(json!({ "keyMaterialId": material_id }));
        response["KeyMaterialId"] = json!(material_id);
    }
    Ok(response)
}

/// What [`open`] gives back: the key ARN, the plaintext, and the material id (symmetric keys only).
pub(crate) type Opened = (String, zeroize::Zeroizing<Vec<u8>>, Option<String>);

/// Decrypts `blob` for Decrypt and ReEncrypt: resolves the key from the blob, checks `key_id`
/// (if sent) names the same key, authorizes `action`, and returns (key ARN, plaintext, material
/// id — symmetric keys only). For ReEncrypt, `destination` is the destination key's ARN
/// (`kms:ReEncryptOnSameKey`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn open(
    kms: &Kms,
    ctx: &mut CallContext<'_>,
    blob: &[u8],
    key_id: Option<&str>,
    context: &EncryptionContext,
    tokens: &[String],
    algorithm: &str,
    action: &'static str,
    dry_run_flag: Option<bool>,
    destination: Option<&str>,
) -> Result<Opened, KmsError> {
    let parsed = CiphertextBlob::parse(blob);
    // Resolved once, and noted as a resource only once known to be wanted: a symmetric blob that
    // does not parse records no key, as before asymmetric keys existed.
    let named = key_id.map(|k| kms.store.resolve(ctx.account(), ctx.region(), k, AliasUse::Allowed));
    if let (Some(Ok(arn)), Some(key_id)) = (&named, key_id) {
        // The common case — a keytrail blob of the named key — skips the asymmetric check.
        let ours = parsed.as_ref().is_ok_and(|p| p.header.key_arn() == *arn);
        if !ours && kms.store.with_key(arn, Key::is_asymmetric).unwrap_or(false) {
            Kms::note_key(ctx, arn);
            let plain = open_asymmetric(kms, ctx, arn, blob, context, tokens, algorithm, action, dry_run_flag, key_id, destination)?;
            return Ok((arn.clone(), plain, None));
        }
    }
    let parsed = parsed?;
    let blob_arn = parsed.header.key_arn();
    if let Some(named) = named {
        let named = named?;
        Kms::note_key(ctx, &named);
        if named != blob_arn {
            return Err(KmsError::incorrect_key());
        }
    } else {
        // A blob naming a key this region does not hold is not one of ours.
        if parsed.header.region != ctx.region() || kms.store.with_key(&blob_arn, |_| ()).is_none() {
            return Err(KmsError::invalid_ciphertext());
        }
        ctx.touch(&parsed.header.account, &blob_arn);
    }
    let caller = ctx.caller;
    let sent = key_id.unwrap_or_default();
    let (plain, material_id) = kms.read_key(
        &blob_arn,
        |key| kms.authorize(&open_access(caller, action, key, context, sent, tokens, algorithm, destination)),
        |key: &Key| {
            check_encrypt_key(key, "Decrypt", algorithm)?;
            dry_run(dry_run_flag)?;
            let material = key.materials.get(parsed.header.material_version as usize).ok_or_else(KmsError::invalid_ciphertext)?;
            Ok((decrypt(&parsed, &material.secret, context)?, material.id.clone()))
        },
    )?;
    Ok((blob_arn, zeroize::Zeroizing::new(plain), Some(material_id)))
}

/// Decrypts a raw asymmetric ciphertext under the RSA or SM2 key `arn` the request named.
#[allow(clippy::too_many_arguments)]
fn open_asymmetric(
    kms: &Kms,
    ctx: &CallContext<'_>,
    arn: &str,
    blob: &[u8],
    context: &EncryptionContext,
    tokens: &[String],
    algorithm: &str,
    action: &'static str,
    dry_run_flag: Option<bool>,
    sent: &str,
    destination: Option<&str>,
) -> Result<zeroize::Zeroizing<Vec<u8>>, KmsError> {
    let caller = ctx.caller;
    kms.read_key(
        arn,
        |key| kms.authorize(&open_access(caller, action, key, context, sent, tokens, algorithm, destination)),
        |key: &Key| {
            check_encrypt_key(key, "Decrypt", algorithm)?;
            super::encrypt::check_asymmetric_request(key, context)?;
            dry_run(dry_run_flag)?;
            key.private_key()?.decrypt(algorithm, blob)
        },
    )
}

/// The access a decryption asks for; ReEncrypt's also carries `kms:ReEncryptOnSameKey`.
#[allow(clippy::too_many_arguments)]
fn open_access<'a>(
    caller: &'a keytrail_iam::Caller,
    action: &'static str,
    key: &'a Key,
    context: &'a EncryptionContext,
    sent: &'a str,
    tokens: &'a [String],
    algorithm: &str,
    destination: Option<&str>,
) -> crate::authorize::AccessRequest<'a> {
    let mut access = crypto_access(caller, action, key, context, sent, tokens, algorithm);
    if let Some(destination) = destination {
        access.extra_conditions.push(("kms:reencryptonsamekey", vec![(destination == key.arn()).to_string()]));
    }
    access
}
