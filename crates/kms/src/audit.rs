//! How KMS calls are recorded: what of a request goes into `requestParameters` and what of a
//! response into `responseElements`, by the botocore model's table (`audit_model.rs`, generated
//! by `scripts/gen-sensitive`) and the per-operation rules below. The walk itself is
//! `keytrail_audit::parameters`, shared with CloudTrail's own calls.

use keytrail_audit::parameters::{self, OperationModel, RecordedMembers};
use serde_json::Value;

use crate::audit_model::MODEL;
use crate::{ErrorCode, KmsError, Operation};

/// What a request's record shows of its members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recording {
    /// Every member but the secrets (the rule for every operation but those below).
    Members,
    /// `requestParameters: null`, whatever was sent: RetireGrant, whose input may be the grant
    /// token itself (the KMS Developer Guide's RetireGrant record shows `null`).
    Nothing,
}

/// The recording rule of `op`.
pub fn recording(op: Operation) -> Recording {
    match op {
        Operation::RetireGrant => Recording::Nothing,
        _ => Recording::Members,
    }
}

/// The model entry of `op` (every KMS operation has one: the enum comes from the same model).
/// Both list the operations in name order, so the entry is found by position (a binary search
/// over the names was ~300 instructions of every call), checked by name.
pub fn model_of(op: Operation) -> &'static OperationModel {
    match MODEL.operations.get(op as usize) {
        Some(entry) if entry.name == op.name() => entry,
        _ => MODEL.operation(op.name()),
    }
}

/// The recorded members of `op`'s request `body`, or the `SerializationException` that refuses a
/// body which cannot be recorded whole (before anything runs).
pub fn record_request(op: Operation, body: &[u8]) -> Result<RecordedMembers, KmsError> {
    parameters::record_request(&MODEL, model_of(op), body).map_err(|e| KmsError::new(ErrorCode::Serialization, e.0))
}

/// `requestParameters` of `op`: its recorded members plus `defaults` (or `null`, by its rule).
pub fn request_parameters(op: Operation, members: RecordedMembers, defaults: &[(&'static str, Value)]) -> Option<Value> {
    match recording(op) {
        Recording::Members => parameters::request_parameters(members, defaults),
        Recording::Nothing => None,
    }
}

/// `responseElements` an operation wrote, without any secret member of `op`'s output (a second
/// line of defence: the operations write none).
pub fn response_elements(op: Operation, written: Value) -> Value {
    parameters::without_output_secrets(&MODEL, model_of(op), written)
}

/// A part of a response in the record's spelling (lower camel case, secrets removed), for an
/// operation that builds its responseElements from its response (CreateKey's `keyMetadata`).
pub fn camel_case(value: &Value) -> Value {
    parameters::camel_case(&MODEL, value)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn params(op: Operation, body: &[u8]) -> Result<Option<Value>, KmsError> {
        record_request(op, body).map(|m| request_parameters(op, m, &[]))
    }

    /// The real model's secrets, nested ones included, and RetireGrant's rule.
    #[test]
    fn kms_secrets_by_the_model() {
        let body = br#"{"CustomKeyStoreName":"xks","CustomKeyStoreType":"EXTERNAL_KEY_STORE","KeyStorePassword":"PASSWORD-SECRET",
            "XksProxyAuthenticationCredential":{"AccessKeyId":"AKID-SECRET-0000000000","RawSecretAccessKey":"RAW-SECRET-0000000000000000000000"},
            "XksProxyUriPath":"/kms/xks/v1"}"#;
        let p = params(Operation::CreateCustomKeyStore, body).unwrap().unwrap();
        assert_eq!(
            p,
            json!({"customKeyStoreName":"xks","customKeyStoreType":"EXTERNAL_KEY_STORE","xksProxyAuthenticationCredential":{},"xksProxyUriPath":"/kms/xks/v1"})
        );
        let p = params(Operation::UpdateCustomKeyStore, br#"{"CustomKeyStoreId":"cks-1","KeyStorePassword":"PASSWORD-SECRET"}"#);
        assert_eq!(p.unwrap(), Some(json!({"customKeyStoreId":"cks-1"})));
        for (op, body) in [
            (Operation::Decrypt, &br#"{"CiphertextBlob":"AAAA","GrantTokens":["t"],"Recipient":{"AttestationDocument":"AAAA"}}"#[..]),
            (Operation::Verify, br#"{"Message":"AAAA","Signature":"AAAA"}"#),
            (Operation::VerifyMac, br#"{"Message":"AAAA","Mac":"AAAA"}"#),
            (Operation::ImportKeyMaterial, br#"{"ImportToken":"AAAA","EncryptedKeyMaterial":"AAAA"}"#),
            (Operation::DeriveSharedSecret, br#"{"PublicKey":"AAAA"}"#),
        ] {
            assert_eq!(params(op, body).unwrap(), None, "{op:?}");
        }
        let p = params(Operation::RetireGrant, br#"{"GrantToken":"TOKEN-SECRET","KeyId":"k","GrantId":"g"}"#).unwrap();
        assert_eq!(p, None, "RetireGrant records null");
        assert!(params(Operation::RetireGrant, b"[1]").is_err(), "but its body must still be recordable");
        let grant = response_elements(Operation::CreateGrant, json!({"grantId":"g","grantToken":"t","keyId":"k"}));
        assert_eq!(grant, json!({"grantId":"g","keyId":"k"}));
    }

    /// The enum and the table agree position by position, so `model_of` takes the fast way.
    #[test]
    fn operations_and_table_are_in_the_same_order() {
        for entry in MODEL.operations {
            let op = Operation::from_name(entry.name).unwrap();
            assert_eq!(MODEL.operations.get(op as usize).map(|e| e.name), Some(entry.name));
            assert!(std::ptr::eq(model_of(op), entry));
        }
    }

    #[test]
    fn deep_bodies_are_refused_with_serialization_exception() {
        let body = format!(r#"{{"KeyId":"k","Policy":"{{}}","Extra":{}1{}}}"#, "{\"a\":".repeat(300), "}".repeat(300));
        let err = record_request(Operation::PutKeyPolicy, body.as_bytes()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Serialization);
    }
}
