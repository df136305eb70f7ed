//! Sign and Verify with an asymmetric `SIGN_VERIFY` key.
//!
//! AWS's rules (botocore `SignRequest`/`VerifyRequest`, KMS Developer Guide "Sign"): the message
//! is 1–4096 bytes; `MessageType` is RAW (the default), DIGEST (the message is a digest whose
//! length must match the algorithm's hash) or EXTERNAL_MU (ML-DSA only, 64 bytes). ED25519_SHA_512
//! requires RAW and ED25519_PH_SHA_512 requires DIGEST. Choice: DIGEST with ML-DSA and the other
//! mismatched pairings are `ValidationException`s naming both values. A signature that does not
//! verify is `KMSInvalidSignatureException`, never `SignatureValid: false`.

use serde::Deserialize;
use serde_json::{json, Value};

use super::checks::{algorithm_offered, usable_for};
use super::encrypt::dry_run;
use crate::authorize::AccessRequest;
use crate::crypto::asymmetric::MessageType;
use crate::crypto::spec::{digest_len, Family, SIGNING_ALGORITHMS};
use crate::key::Key;
use crate::wire::{b64, Blob};
use crate::{validate, AliasUse, CallContext, ErrorCode, Kms, KmsError};

const MESSAGE_TYPES: &[&str] = &["RAW", "DIGEST", "EXTERNAL_MU"];

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: Option<String>,
    message: Option<Blob>,
    message_type: Option<String>,
    signature: Option<Blob>,
    signing_algorithm: Option<String>,
    grant_tokens: Option<Vec<String>>,
    dry_run: Option<bool>,
}

/// What both operations decoded and validated.
struct Checked {
    key_id: String,
    message: Blob,
    message_type_name: String,
    message_type: MessageType,
    algorithm: String,
    tokens: Vec<String>,
}

fn decode(ctx: &mut CallContext<'_>, req: &mut Request) -> Result<Checked, KmsError> {
    let key_id = validate::key_id(req.key_id.take(), "keyId")?;
    let message = validate::required(req.message.take(), "message")?;
    validate::secret_length(message.bytes(), "message", 1, 4096)?;
    let algorithm = validate::required(req.signing_algorithm.take(), "signingAlgorithm")?;
    validate::one_of(&algorithm, "signingAlgorithm", SIGNING_ALGORITHMS)?;
    let message_type_name = req.message_type.take().unwrap_or_else(|| "RAW".into());
    validate::one_of(&message_type_name, "messageType", MESSAGE_TYPES)?;
    validate::grant_tokens(&req.grant_tokens)?;
    // The record shows the message type even when the caller left it out (AWS's examples do).
    ctx.default_param("messageType", json!(message_type_name));
    let message_type = MessageType::parse(&message_type_name).unwrap_or(MessageType::Raw);
    Ok(Checked { key_id, message, message_type_name, message_type, algorithm, tokens: req.grant_tokens.take().unwrap_or_default() })
}

/// The condition keys of a Sign/Verify request.
fn access<'a>(caller: &'a keytrail_iam::Caller, action: &'static str, key: &'a Key, c: &'a Checked) -> AccessRequest<'a> {
    AccessRequest {
        request_alias: c.key_id.contains("alias/").then_some(c.key_id.as_str()),
        grant_tokens: &c.tokens,
        extra_conditions: vec![("kms:signingalgorithm", vec![c.algorithm.clone()]), ("kms:messagetype", vec![c.message_type_name.clone()])],
        ..AccessRequest::new(caller, action, Some(key))
    }
}

/// Checks the key, algorithm, message type and message length fit together.
fn check(key: &Key, c: &Checked, operation: &str) -> Result<(), KmsError> {
    usable_for(key, "SIGN_VERIFY", operation)?;
    algorithm_offered(key, &c.algorithm, key.algorithms().signing)?;
    let family = key.spec().map(|s| s.family);
    let mismatch =
        || KmsError::validation(format!("MessageType {} is not supported with signing algorithm {}.", c.message_type_name, c.algorithm));
    let length = c.message.bytes().len();
    match c.message_type {
        MessageType::ExternalMu => {
            if !matches!(family, Some(Family::MlDsa(_))) {
                return Err(mismatch());
            }
            if length != 64 {
                return Err(KmsError::validation("The EXTERNAL_MU message must be 64 bytes long."));
            }
        }
        MessageType::Digest => {
            if matches!(family, Some(Family::MlDsa(_))) || c.algorithm == "ED25519_SHA_512" {
                return Err(mismatch());
            }
            if Some(length) != digest_len(&c.algorithm) {
                return Err(KmsError::validation(format!("Digest is invalid length for algorithm {}.", c.algorithm)));
            }
        }
        MessageType::Raw => {
            if c.algorithm == "ED25519_PH_SHA_512" {
                return Err(mismatch());
            }
        }
    }
    Ok(())
}

pub(crate) fn sign(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let mut req: Request = crate::wire::decode(body)?;
    let c = decode(ctx, &mut req)?;
    let arn = kms.resolve(ctx, &c.key_id, AliasUse::Allowed)?;
    let caller = ctx.caller;
    let signature = kms.read_key(
        &arn,
        |key| kms.authorize(&access(caller, "kms:Sign", key, &c)),
        |key| {
            check(key, &c, "Sign")?;
            dry_run(req.dry_run)?;
            key.private_key()?.sign(&c.algorithm, c.message_type, c.message.bytes())
        },
    )?;
    Ok(json!({ "KeyId": arn, "Signature": b64(&signature), "SigningAlgorithm": c.algorithm }))
}

pub(crate) fn verify(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let mut req: Request = crate::wire::decode(body)?;
    let c = decode(ctx, &mut req)?;
    let signature = validate::required(req.signature.take(), "signature")?;
    validate::secret_length(signature.bytes(), "signature", 1, 6144)?;
    let arn = kms.resolve(ctx, &c.key_id, AliasUse::Allowed)?;
    let caller = ctx.caller;
    kms.read_key(
        &arn,
        |key| kms.authorize(&access(caller, "kms:Verify", key, &c)),
        |key| {
            check(key, &c, "Verify")?;
            dry_run(req.dry_run)?;
            if key.private_key()?.verify(&c.algorithm, c.message_type, c.message.bytes(), signature.bytes())? {
                Ok(())
            } else {
                Err(KmsError::new(ErrorCode::KmsInvalidSignature, "The signature is invalid for the message, key and signing algorithm."))
            }
        },
    )?;
    Ok(json!({ "KeyId": arn, "SignatureValid": true, "SigningAlgorithm": c.algorithm }))
}
