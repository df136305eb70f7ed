//! ReEncrypt: decrypts under the source key and encrypts under the destination key, server-side;
//! either side may be symmetric or asymmetric (RSA/SM2), as AWS allows.

use serde::Deserialize;
use serde_json::{json, Value};

use super::decrypt::open;
use super::encrypt::{algorithm, check_encrypt_key, crypto_access, seal_for};
use crate::crypto::EncryptionContext;
use crate::wire::{b64, Blob};
use crate::{validate, AliasUse, CallContext, Kms, KmsError};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    ciphertext_blob: Option<Blob>,
    source_encryption_context: Option<EncryptionContext>,
    source_key_id: Option<String>,
    destination_key_id: Option<String>,
    destination_encryption_context: Option<EncryptionContext>,
    source_encryption_algorithm: Option<String>,
    destination_encryption_algorithm: Option<String>,
    grant_tokens: Option<Vec<String>>,
    dry_run: Option<bool>,
}

pub(crate) fn run(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: Request = crate::wire::decode(body)?;
    let blob = validate::required(req.ciphertext_blob, "ciphertextBlob")?;
    validate::secret_length(blob.bytes(), "ciphertextBlob", 1, 6144)?;
    let destination = validate::key_id(req.destination_key_id, "destinationKeyId")?;
    if let Some(k) = &req.source_key_id {
        validate::length(k, "sourceKeyId", 1, 2048)?;
    }
    validate::encryption_context(&req.source_encryption_context, "sourceEncryptionContext")?;
    validate::encryption_context(&req.destination_encryption_context, "destinationEncryptionContext")?;
    validate::grant_tokens(&req.grant_tokens)?;
    let source_algorithm = algorithm(req.source_encryption_algorithm, "sourceEncryptionAlgorithm")?;
    let destination_algorithm = algorithm(req.destination_encryption_algorithm, "destinationEncryptionAlgorithm")?;
    ctx.default_param("sourceEncryptionAlgorithm", json!(source_algorithm));
    ctx.default_param("destinationEncryptionAlgorithm", json!(destination_algorithm));
    let source_context = req.source_encryption_context.unwrap_or_default();
    let destination_context = req.destination_encryption_context.unwrap_or_default();
    let tokens = req.grant_tokens.unwrap_or_default();

    // The destination's ARN, for kms:ReEncryptOnSameKey on both halves (resolved again below,
    // where it is recorded and its errors reported, after the source's).
    let destination_peek = kms.store.resolve(ctx.account(), ctx.region(), &destination, AliasUse::Allowed).ok();
    let (source_arn, plaintext, source_material) = open(
        kms,
        ctx,
        blob.bytes(),
        req.source_key_id.as_deref(),
        &source_context,
        &tokens,
        &source_algorithm,
        "kms:ReEncryptFrom",
        None,
        Some(destination_peek.as_deref().unwrap_or_default()),
    )?;
    let destination_arn = kms.resolve(ctx, &destination, AliasUse::Allowed)?;
    let caller = ctx.caller;
    let same_key = (source_arn == destination_arn).to_string();
    let (sealed, destination_material) = kms.read_key(
        &destination_arn,
        |key| {
            let mut access =
                crypto_access(caller, "kms:ReEncryptTo", key, &destination_context, &destination, &tokens, &destination_algorithm);
            access.extra_conditions.push(("kms:reencryptonsamekey", vec![same_key]));
            kms.authorize(&access)
        },
        |key| {
            check_encrypt_key(key, "ReEncrypt", &destination_algorithm)?;
            super::encrypt::dry_run(req.dry_run)?;
            seal_for(key, &plaintext, &destination_context, &destination_algorithm)
        },
    )?;
    let mut response = json!({
        "CiphertextBlob": b64(&sealed),
        "SourceKeyId": source_arn,
        "KeyId": destination_arn,
        "SourceEncryptionAlgorithm": source_algorithm,
        "DestinationEncryptionAlgorithm": destination_algorithm,
    });
    // Material ids only for the symmetric side(s): AWS reports them for symmetric keys only.
    if let Some(m) = source_material {
        response["SourceKeyMaterialId"] = json!(m);
    }
    if let Some(m) = destination_material {
        response["DestinationKeyMaterialId"] = json!(m);
    }
    Ok(response)
}
