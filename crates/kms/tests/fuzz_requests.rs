//! Fuzzing (proptest, bounded): request decoding of every operation through `Kms::call`, and the
//! ciphertext blob parser. Whatever the body, a call returns a response or an AWS error — never a
//! panic — and a failed call changes nothing. Cases: `PROPTEST_CASES` (default below).

use std::sync::Arc;

use keytrail_iam::{Caller, Principal};
use keytrail_kms::crypto::CiphertextBlob;
use keytrail_kms::{AllowAll, Clock, ErrorCode, KeyStore, Kms, Operation};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const OPERATIONS: &[&str] = &[
    "CancelKeyDeletion",
    "ConnectCustomKeyStore",
    "CreateAlias",
    "CreateCustomKeyStore",
    "CreateGrant",
    "CreateKey",
    "Decrypt",
    "DeleteAlias",
    "DeleteCustomKeyStore",
    "DeleteImportedKeyMaterial",
    "DeriveSharedSecret",
    "DescribeCustomKeyStores",
    "DescribeKey",
    "DisableKey",
    "DisableKeyRotation",
    "DisconnectCustomKeyStore",
    "EnableKey",
    "EnableKeyRotation",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "GenerateRandom",
    "GetKeyLastUsage",
    "GetKeyPolicy",
    "GetKeyRotationStatus",
    "GetParametersForImport",
    "GetPublicKey",
    "ImportKeyMaterial",
    "ListAliases",
    "ListGrants",
    "ListKeyPolicies",
    "ListKeyRotations",
    "ListKeys",
    "ListResourceTags",
    "ListRetirableGrants",
    "PutKeyPolicy",
    "ReEncrypt",
    "ReplicateKey",
    "RetireGrant",
    "RevokeGrant",
    "RotateKeyOnDemand",
    "ScheduleKeyDeletion",
    "Sign",
    "TagResource",
    "UntagResource",
    "UpdateAlias",
    "UpdateCustomKeyStore",
    "UpdateKeyDescription",
    "UpdatePrimaryRegion",
    "Verify",
    "VerifyMac",
];

const MEMBERS: &[&str] = &[
    "KeyId",
    "Plaintext",
    "CiphertextBlob",
    "EncryptionContext",
    "Limit",
    "Marker",
    "Description",
    "Tags",
    "TagKey",
    "TagValue",
    "TagKeys",
    "AliasName",
    "TargetKeyId",
    "NumberOfBytes",
    "KeySpec",
    "KeyUsage",
    "CustomerMasterKeySpec",
    "PendingWindowInDays",
    "RotationPeriodInDays",
    "GrantTokens",
    "Policy",
    "PolicyName",
    "GranteePrincipal",
    "RetiringPrincipal",
    "Operations",
    "Constraints",
    "EncryptionContextSubset",
    "EncryptionContextEquals",
    "GrantId",
    "GrantToken",
    "Name",
    "DestinationKeyId",
    "SourceKeyId",
    "SourceEncryptionContext",
    "DestinationEncryptionContext",
    "EncryptionAlgorithm",
    "SourceEncryptionAlgorithm",
    "DestinationEncryptionAlgorithm",
    "BypassPolicyLockoutSafetyCheck",
    "Origin",
    "MultiRegion",
    "KeySpec",
    "IncludeKeyRotations",
    "DryRun",
    "Message",
    "MessageType",
    "Signature",
    "SigningAlgorithm",
    "Mac",
    "MacAlgorithm",
    "KeyPairSpec",
    "PublicKey",
    "KeyAgreementAlgorithm",
];

/// `PROPTEST_CASES` overrides the bounded default (longer runs by hand, shorter in CI if needed).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

fn caller() -> Caller {
    Caller::new(Principal::Root { account: "111122223333".into(), alias: None }, "AKIAIOSFODNN7EXAMPLE".into(), "us-east-1".into())
}

/// A service with a symmetric key (alias `alias/fuzz`) and a ciphertext made with it, a P-256
/// key of each of its usages (`alias/fuzz-ec`, `alias/fuzz-ecdh`) and an HMAC key (`alias/fuzz-mac`).
fn service() -> (Kms, String) {
    let kms = Kms::new(KeyStore::new(), Clock::new(), Arc::new(AllowAll));
    let c = caller();
    let created = kms.call(&c, Operation::CreateKey, br#"{"Description":"fuzz"}"#);
    let id = created.result.unwrap()["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    let alias = json!({"AliasName": "alias/fuzz", "TargetKeyId": id}).to_string();
    kms.call(&c, Operation::CreateAlias, alias.as_bytes()).result.unwrap();
    let enc = kms.call(&c, Operation::Encrypt, json!({"KeyId": id, "Plaintext": "aGVsbG8="}).to_string().as_bytes());
    let ct = enc.result.unwrap()["CiphertextBlob"].as_str().unwrap().to_string();
    for (alias, spec, usage) in [
        ("alias/fuzz-ec", "ECC_NIST_P256", "SIGN_VERIFY"),
        ("alias/fuzz-ecdh", "ECC_NIST_P256", "KEY_AGREEMENT"),
        ("alias/fuzz-mac", "HMAC_256", "GENERATE_VERIFY_MAC"),
    ] {
        let created = kms.call(&c, Operation::CreateKey, json!({"KeySpec": spec, "KeyUsage": usage}).to_string().as_bytes());
        let id = created.result.unwrap()["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
        kms.call(&c, Operation::CreateAlias, json!({"AliasName": alias, "TargetKeyId": id}).to_string().as_bytes()).result.unwrap();
    }
    (kms, ct)
}

/// Everything a call could change, as text.
fn fingerprint(kms: &Kms) -> String {
    let mut keys: Vec<String> = kms.store.all_keys().iter().map(|k| serde_json::to_string(k).unwrap()).collect();
    keys.sort();
    let mut aliases: Vec<String> = kms.store.all_aliases().iter().map(|a| serde_json::to_string(a).unwrap()).collect();
    aliases.sort();
    format!("{keys:?}{aliases:?}")
}

fn leaf(ct: String) -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![Just(0i64), Just(1), Just(-1), Just(1000), Just(1001), Just(i64::MAX), Just(4_294_967_296)].prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        "[A-Za-z0-9+/=]{0,80}".prop_map(Value::String),
        prop_oneof![
            Just(KEY_ID.to_string()),
            Just("alias/fuzz".to_string()),
            Just("alias/aws/ebs".to_string()),
            Just(format!("arn:aws:kms:us-east-1:111122223333:key/{KEY_ID}")),
            Just("arn:aws:kms:us-east-1:111122223333:alias/fuzz".to_string()),
            Just("SYMMETRIC_DEFAULT".to_string()),
            Just("AES_256".to_string()),
            Just("alias/fuzz-ec".to_string()),
            Just("alias/fuzz-ecdh".to_string()),
            Just("alias/fuzz-mac".to_string()),
            Just("ECDSA_SHA_256".to_string()),
            Just("HMAC_SHA_256".to_string()),
            Just("ECDH".to_string()),
            Just("RAW".to_string()),
            Just("DIGEST".to_string()),
            Just("EXTERNAL_MU".to_string()),
            Just("ECC_NIST_P256".to_string()),
            Just("ECC_NIST_EDWARDS25519".to_string()),
            Just("ML_DSA_44".to_string()),
            Just("SIGN_VERIFY".to_string()),
            Just("RSAES_OAEP_SHA_256".to_string()),
            // A DER P-256 SubjectPublicKeyInfo prefix and a 32-byte digest, base64.
            Just("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE".to_string()),
            Just("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_string()),
            Just(ct),
            Just("x".repeat(9000)),
        ]
        .prop_map(Value::String),
    ]
}

fn value(ct: String) -> impl Strategy<Value = Value> {
    leaf(ct).prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(MEMBERS), inner), 0..6)
                .prop_map(|kv| { Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>()) }),
        ]
    })
}

/// A request body: an object of plausible members (mostly), or any JSON value.
fn body(ct: String) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec((prop::sample::select(MEMBERS), value(ct.clone())), 0..8).prop_map(|kv| {
            Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>()).to_string().into_bytes()
        }),
        1 => value(ct).prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ]
}

fn check(kms: &Kms, op: Operation, body: &[u8]) -> Result<(), TestCaseError> {
    let before = fingerprint(kms);
    let outcome = kms.call(&caller(), op, body);
    match &outcome.result {
        Ok(v) => prop_assert!(v.is_object(), "{op:?} answered a non-object"),
        Err(e) => {
            prop_assert!(!e.message().is_empty(), "{op:?}: empty error message");
            prop_assert!(
                e.code().http_status() < 500 || e.code() == ErrorCode::UnsupportedOperation,
                "{op:?}: {:?} {}",
                e.code(),
                e.message()
            );
            prop_assert!(outcome.changes.is_empty());
            prop_assert_eq!(fingerprint(kms), before, "{:?} failed but changed state: {}", op, e.message());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(2000), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_operation_decodes_any_body_without_panic_or_partial_change(
        op in prop::sample::select(OPERATIONS),
        seed_body in body("KCIPHERTEXT".into()),
    ) {
        let (kms, ct) = service();
        let body = String::from_utf8_lossy(&seed_body).replace("KCIPHERTEXT", &ct).into_bytes();
        let op = Operation::from_name(op).expect("known operation");
        check(&kms, op, &body)?;
    }
}

fn valid_blob() -> Vec<u8> {
    let (_, ct) = service();
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(ct).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(4000), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn blob_parser_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(blob) = CiphertextBlob::parse(&bytes) {
            prop_assert_eq!(blob.header.encode(), blob.header_bytes.to_vec());
            prop_assert!(blob.sealed.len() >= 16);
        }
    }

    #[test]
    fn blob_parser_takes_mutated_real_blobs(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4), cut in any::<prop::sample::Index>(), truncate in any::<bool>()) {
        let mut bytes = valid_blob();
        for (i, b) in flips {
            let i = i.index(bytes.len());
            bytes[i] ^= b | 1;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        if let Ok(blob) = CiphertextBlob::parse(&bytes) {
            prop_assert_eq!(blob.header.encode(), blob.header_bytes.to_vec());
        }
    }

    #[test]
    fn decrypt_of_a_tampered_ciphertext_fails_cleanly(flip in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (kms, ct) = service();
        use base64::Engine;
        let mut bytes = base64::engine::general_purpose::STANDARD.decode(&ct).unwrap();
        let i = flip.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let body = json!({"CiphertextBlob": base64::engine::general_purpose::STANDARD.encode(&bytes)}).to_string();
        let outcome = kms.call(&caller(), Operation::Decrypt, body.as_bytes());
        let err = outcome.result.expect_err("a tampered ciphertext must not decrypt");
        prop_assert!(matches!(err.code(), ErrorCode::InvalidCiphertext | ErrorCode::NotFound), "{:?}", err.code());
    }
}
