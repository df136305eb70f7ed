//! GenerateDataKey and GenerateDataKeyWithoutPlaintext: a fresh data key, encrypted under a KMS key.

use serde::Deserialize;
use serde_json::{json, Value};

use super::encrypt::{check_encrypt_key, crypto_access, dry_run, seal};
use crate::crypto::{random_bytes, EncryptionContext};
use crate::wire::b64;
use crate::{validate, AliasUse, CallContext, Kms, KmsError};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: Option<String>,
    encryption_context: Option<EncryptionContext>,
    number_of_bytes: Option<i64>,
    key_spec: Option<String>,
    grant_tokens: Option<Vec<String>>,
    recipient: Option<Value>,
    dry_run: Option<bool>,
}

pub(crate) fn run(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8], with_plaintext: bool) -> Result<Value, KmsError> {
    let req: Request = crate::wire::decode(body)?;
    let key_id = validate::key_id(req.key_id, "keyId")?;
    validate::encryption_context(&req.encryption_context, "encryptionContext")?;
    validate::grant_tokens(&req.grant_tokens)?;
    let size = match (req.number_of_bytes, &req.key_spec) {
        (Some(_), Some(_)) => return Err(KmsError::validation("Please specify either number of bytes or key spec, not both.")),
        (None, None) => return Err(KmsError::validation("Please specify either number of bytes or key spec.")),
        (Some(n), None) => {
            validate::range(n, "numberOfBytes", 1, 1024)?;
            n as usize
        }
        (None, Some(spec)) => {
            validate::one_of(spec, "keySpec", &["AES_256", "AES_128"])?;
            if spec == "AES_256" {
                32
            } else {
                16
            }
        }
    };
    super::checks::no_recipient(&req.recipient)?;
    let context = req.encryption_context.unwrap_or_default();
    let tokens = req.grant_tokens.unwrap_or_default();
    let (action, operation) = if with_plaintext {
        ("kms:GenerateDataKey", "GenerateDataKey")
    } else {
        ("kms:GenerateDataKeyWithoutPlaintext", "GenerateDataKeyWithoutPlaintext")
    };

    let arn = kms.resolve(ctx, &key_id, AliasUse::Allowed)?;
    let caller = ctx.caller;
    let data_key = zeroize::Zeroizing::new(random_bytes(size));
    let (blob, material_id) = kms.read_key(
        &arn,
        |key| kms.authorize(&crypto_access(caller, action, key, &context, &key_id, &tokens, "SYMMETRIC_DEFAULT")),
        |key| {
            check_encrypt_key(key, operation, "SYMMETRIC_DEFAULT")?;
            dry_run(req.dry_run)?;
            seal(key, &data_key, &context)
        },
    )?;
    ctx.additional_event_data = Some(json!({ "keyMaterialId": material_id }));
    let mut response = json!({ "CiphertextBlob": b64(&blob), "KeyId": arn, "KeyMaterialId": material_id });
    if with_plaintext {
        response["Plaintext"] = json!(b64(&data_key));
    }
    Ok(response)
}
