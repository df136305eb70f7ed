//! GenerateRandom: bytes from the system CSPRNG.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::authorize::AccessRequest;
use crate::crypto::random_bytes;
use crate::wire::b64;
use crate::{validate, CallContext, ErrorCode, Kms, KmsError};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    number_of_bytes: Option<i64>,
    custom_key_store_id: Option<String>,
    recipient: Option<Value>,
}

pub(crate) fn run(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: Request = crate::wire::decode(body)?;
    let n = validate::required(req.number_of_bytes, "numberOfBytes")?;
    validate::range(n, "numberOfBytes", 1, 1024)?;
    if req.custom_key_store_id.is_some() || req.recipient.is_some() {
        return Err(KmsError::new(
            ErrorCode::UnsupportedOperation,
            "keytrail does not support custom key stores or Recipient for GenerateRandom.",
        ));
    }
    kms.authorize(&AccessRequest::new(ctx.caller, "kms:GenerateRandom", None))?;
    Ok(json!({ "Plaintext": b64(&random_bytes(n as usize)) }))
}
