//! GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext: a fresh asymmetric key pair whose
//! private key (PKCS#8 DER) is encrypted under a symmetric KMS key, so `Decrypt` opens it.
//!
//! The pair is generated after authorization and outside the KMS key's lock: an RSA_4096 pair
//! takes seconds in a debug build, and the server runs the whole call off the request runtime
//! (`Operation::may_block`). SM2 pairs exist only in the China Regions, as SM2 keys do.

use serde::Deserialize;
use serde_json::{json, Value};

use super::encrypt::{check_encrypt_key, crypto_access, current_sealing, dry_run};
use crate::crypto::asymmetric::{self, PrivateKey};
use crate::crypto::spec::{Family, DATA_KEY_PAIR_SPECS, SM2_REGIONS};
use crate::crypto::{encrypt, EncryptionContext};
use crate::wire::b64;
use crate::{validate, AliasUse, CallContext, ErrorCode, Kms, KmsError};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: Option<String>,
    key_pair_spec: Option<String>,
    encryption_context: Option<EncryptionContext>,
    grant_tokens: Option<Vec<String>>,
    recipient: Option<Value>,
    dry_run: Option<bool>,
}

pub(crate) fn run(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8], with_plaintext: bool) -> Result<Value, KmsError> {
    let req: Request = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    let pair_spec = validate::required(req.key_pair_spec, "keyPairSpec")?;
    validate::one_of(&pair_spec, "keyPairSpec", DATA_KEY_PAIR_SPECS)?;
    validate::encryption_context(&req.encryption_context, "encryptionContext")?;
    validate::grant_tokens(&req.grant_tokens)?;
    super::checks::no_recipient(&req.recipient)?;
    let spec = crate::crypto::spec::spec(&pair_spec).ok_or_else(|| KmsError::validation("Unknown KeyPairSpec."))?;
    if spec.family == Family::Sm2 && !SM2_REGIONS.contains(&ctx.region()) {
        return Err(KmsError::new(
            ErrorCode::UnsupportedOperation,
            format!("KeyPairSpec SM2 is not supported in {}. SM2 is available only in the China Regions.", ctx.region()),
        ));
    }
    let context = req.encryption_context.unwrap_or_default();
    let tokens = req.grant_tokens.unwrap_or_default();
    let (action, operation) = if with_plaintext {
        ("kms:GenerateDataKeyPair", "GenerateDataKeyPair")
    } else {
        ("kms:GenerateDataKeyPairWithoutPlaintext", "GenerateDataKeyPairWithoutPlaintext")
    };

    let arn = kms.resolve(ctx, &key_id, AliasUse::Allowed)?;
    let caller = ctx.caller;
    // Under the lock: authorize, check, and take what sealing needs; the pair is made after.
    let (header, wrapping, material_id) = kms.read_key(
        &arn,
        |key| {
            let mut access = crypto_access(caller, action, key, &context, &key_id, &tokens, "SYMMETRIC_DEFAULT");
            access.extra_conditions.push(("kms:datakeypairspec", vec![pair_spec.clone()]));
            kms.authorize(&access)
        },
        |key| {
            check_encrypt_key(key, operation, "SYMMETRIC_DEFAULT")?;
            dry_run(req.dry_run)?;
            let (header, material) = current_sealing(key)?;
            Ok((header, material.secret.clone(), material.id.clone()))
        },
    )?;
    let private = asymmetric::generate(spec)?;
    let public = PrivateKey::from_pkcs8(spec, &private)?.public_key_der()?;
    let blob = encrypt(&header, &wrapping, &private, &context)?;
    ctx.additional_event_data = Some(json!({ "keyMaterialId": material_id }));
    let mut response = json!({
        "PrivateKeyCiphertextBlob": b64(&blob),
        "PublicKey": b64(&public),
        "KeyId": arn,
        "KeyPairSpec": pair_spec,
        "KeyMaterialId": material_id,
    });
    if with_plaintext {
        response["PrivateKeyPlaintext"] = json!(b64(&private));
    }
    Ok(response)
}
