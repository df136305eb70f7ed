//! GetPublicKey: the DER SubjectPublicKeyInfo of an asymmetric key, with what it may be used for.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::authorize::AccessRequest;
use crate::wire::b64;
use crate::{validate, AliasUse, CallContext, ErrorCode, Kms, KmsError};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: Option<String>,
    grant_tokens: Option<Vec<String>>,
}

pub(crate) fn run(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: Request = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    validate::grant_tokens(&req.grant_tokens)?;
    let tokens = req.grant_tokens.unwrap_or_default();
    let arn = kms.resolve(ctx, &key_id, AliasUse::Allowed)?;
    let caller = ctx.caller;
    kms.read_key(
        &arn,
        |key| {
            kms.authorize(&AccessRequest {
                grant_tokens: &tokens,
                request_alias: key_id.contains("alias/").then_some(key_id.as_str()),
                ..AccessRequest::new(caller, "kms:GetPublicKey", Some(key))
            })
        },
        |key| {
            // Choice: a symmetric or HMAC key has no public key; the model lists
            // UnsupportedOperationException for GetPublicKey, and AWS's key-state table has
            // GetPublicKey fail on disabled keys (checked first).
            key.check_usable()?;
            if !key.is_asymmetric() {
                return Err(KmsError::new(
                    ErrorCode::UnsupportedOperation,
                    format!("{} is not an asymmetric KMS key; it has no public key.", key.arn()),
                ));
            }
            let public = key.private_key()?.public_key_der()?;
            let mut out = json!({
                "KeyId": key.arn(),
                "PublicKey": b64(&public),
                "CustomerMasterKeySpec": key.key_spec,
                "KeySpec": key.key_spec,
                "KeyUsage": key.key_usage,
            });
            let a = key.algorithms();
            for (member, list) in
                [("EncryptionAlgorithms", a.encryption), ("SigningAlgorithms", a.signing), ("KeyAgreementAlgorithms", a.key_agreement)]
            {
                if !list.is_empty() {
                    out[member] = json!(list);
                }
            }
            Ok(out)
        },
    )
}
