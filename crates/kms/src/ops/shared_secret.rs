//! DeriveSharedSecret: ECDH between a `KEY_AGREEMENT` key (NIST curve or SM2) and a peer's
//! public key (DER SubjectPublicKeyInfo on the same curve), returning the raw shared secret.

use serde::Deserialize;
use serde_json::{json, Value};

use super::checks::{algorithm_offered, usable_for};
use super::encrypt::dry_run;
use crate::authorize::AccessRequest;
use crate::wire::{b64, Blob};
use crate::{validate, AliasUse, CallContext, Kms, KmsError};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: Option<String>,
    key_agreement_algorithm: Option<String>,
    public_key: Option<Blob>,
    grant_tokens: Option<Vec<String>>,
    dry_run: Option<bool>,
    recipient: Option<Value>,
}

pub(crate) fn run(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: Request = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    let algorithm = validate::required(req.key_agreement_algorithm, "keyAgreementAlgorithm")?;
    validate::one_of(&algorithm, "keyAgreementAlgorithm", &["ECDH"])?;
    let peer = validate::required(req.public_key, "publicKey")?;
    validate::secret_length(peer.bytes(), "publicKey", 1, 8192)?;
    validate::grant_tokens(&req.grant_tokens)?;
    super::checks::no_recipient(&req.recipient)?;
    let tokens = req.grant_tokens.unwrap_or_default();
    let arn = kms.resolve(ctx, &key_id, AliasUse::Allowed)?;
    let caller = ctx.caller;
    let (secret, origin) = kms.read_key(
        &arn,
        |key| {
            kms.authorize(&AccessRequest {
                request_alias: key_id.contains("alias/").then_some(key_id.as_str()),
                grant_tokens: &tokens,
                extra_conditions: vec![("kms:keyagreementalgorithm", vec![algorithm.clone()])],
                ..AccessRequest::new(caller, "kms:DeriveSharedSecret", Some(key))
            })
        },
        |key| {
            usable_for(key, "KEY_AGREEMENT", "DeriveSharedSecret")?;
            algorithm_offered(key, &algorithm, key.algorithms().key_agreement)?;
            dry_run(req.dry_run)?;
            Ok((key.private_key()?.derive_shared_secret(peer.bytes())?, key.origin.clone()))
        },
    )?;
    Ok(json!({ "KeyId": arn, "SharedSecret": b64(&secret), "KeyAgreementAlgorithm": algorithm, "KeyOrigin": origin }))
}
