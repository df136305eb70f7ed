//! The one place that says, per `KeySpec`, which `KeyUsage`s AWS allows and which algorithms each
//! usage offers. CreateKey validates against it, DescribeKey and GetPublicKey list from it, and
//! every cryptographic operation checks its algorithm against it.
//!
//! Source: AWS KMS Developer Guide, "Key spec reference" (`symm-asymm-choose-key-spec.html`) and
//! the botocore model's `KeySpec`, `KeyUsageType` and `*AlgorithmSpec` documentation.

/// What a key spec is made of: its family decides which module does its cryptography.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// AES-256-GCM (`SYMMETRIC_DEFAULT`).
    Symmetric,
    /// RSA with a modulus of this many bits.
    Rsa(usize),
    /// An elliptic curve with ECDSA (and ECDH for the NIST curves).
    Ecc(Curve),
    /// Ed25519 (`ECC_NIST_EDWARDS25519`).
    Ed25519,
    /// ML-DSA (FIPS 204) at one of its three parameter sets.
    MlDsa(MlDsaLevel),
    /// The Chinese SM2 curve: SM2DSA, SM2PKE and SM2 key agreement.
    Sm2,
    /// HMAC with a key (and digest) of this many bits.
    Hmac(usize),
}

/// The Weierstrass curves KMS offers for ECDSA/ECDH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256 (secp256r1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
    /// secp256k1 (`ECC_SECG_P256K1`), signing only.
    K256,
}

/// ML-DSA parameter sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MlDsaLevel {
    /// ML-DSA-44.
    L44,
    /// ML-DSA-65.
    L65,
    /// ML-DSA-87.
    L87,
}

/// One key spec's row of the table.
#[derive(Debug)]
pub struct SpecInfo {
    /// The `KeySpec` name.
    pub name: &'static str,
    /// Its family.
    pub family: Family,
    /// The key usages AWS allows for it.
    pub usages: &'static [&'static str],
    /// `EncryptionAlgorithms` of an `ENCRYPT_DECRYPT` key.
    pub encryption: &'static [&'static str],
    /// `SigningAlgorithms` of a `SIGN_VERIFY` key.
    pub signing: &'static [&'static str],
    /// `MacAlgorithms` of a `GENERATE_VERIFY_MAC` key.
    pub mac: &'static [&'static str],
    /// `KeyAgreementAlgorithms` of a `KEY_AGREEMENT` key.
    pub key_agreement: &'static [&'static str],
}

const RSA_SIGNING: &[&str] = &[
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
];
const RSA_ENCRYPTION: &[&str] = &["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"];
const RSA_USAGES: &[&str] = &["ENCRYPT_DECRYPT", "SIGN_VERIFY"];
const NIST_USAGES: &[&str] = &["SIGN_VERIFY", "KEY_AGREEMENT"];
const SIGN_ONLY: &[&str] = &["SIGN_VERIFY"];
const ECDH: &[&str] = &["ECDH"];
const NONE: &[&str] = &[];

macro_rules! row {
    ($name:literal, $family:expr, $usages:expr, enc $enc:expr, sign $sign:expr, mac $mac:expr, agree $agree:expr) => {
        SpecInfo { name: $name, family: $family, usages: $usages, encryption: $enc, signing: $sign, mac: $mac, key_agreement: $agree }
    };
}

/// Every `KeySpec` of the API, in the model's order.
pub static SPECS: &[SpecInfo] = &[
    row!("RSA_2048", Family::Rsa(2048), RSA_USAGES, enc RSA_ENCRYPTION, sign RSA_SIGNING, mac NONE, agree NONE),
    row!("RSA_3072", Family::Rsa(3072), RSA_USAGES, enc RSA_ENCRYPTION, sign RSA_SIGNING, mac NONE, agree NONE),
    row!("RSA_4096", Family::Rsa(4096), RSA_USAGES, enc RSA_ENCRYPTION, sign RSA_SIGNING, mac NONE, agree NONE),
    row!("ECC_NIST_P256", Family::Ecc(Curve::P256), NIST_USAGES, enc NONE, sign &["ECDSA_SHA_256"], mac NONE, agree ECDH),
    row!("ECC_NIST_P384", Family::Ecc(Curve::P384), NIST_USAGES, enc NONE, sign &["ECDSA_SHA_384"], mac NONE, agree ECDH),
    row!("ECC_NIST_P521", Family::Ecc(Curve::P521), NIST_USAGES, enc NONE, sign &["ECDSA_SHA_512"], mac NONE, agree ECDH),
    row!("ECC_SECG_P256K1", Family::Ecc(Curve::K256), SIGN_ONLY, enc NONE, sign &["ECDSA_SHA_256"], mac NONE, agree NONE),
    row!("SYMMETRIC_DEFAULT", Family::Symmetric, &["ENCRYPT_DECRYPT"], enc &["SYMMETRIC_DEFAULT"], sign NONE, mac NONE, agree NONE),
    row!("HMAC_224", Family::Hmac(224), &["GENERATE_VERIFY_MAC"], enc NONE, sign NONE, mac &["HMAC_SHA_224"], agree NONE),
    row!("HMAC_256", Family::Hmac(256), &["GENERATE_VERIFY_MAC"], enc NONE, sign NONE, mac &["HMAC_SHA_256"], agree NONE),
    row!("HMAC_384", Family::Hmac(384), &["GENERATE_VERIFY_MAC"], enc NONE, sign NONE, mac &["HMAC_SHA_384"], agree NONE),
    row!("HMAC_512", Family::Hmac(512), &["GENERATE_VERIFY_MAC"], enc NONE, sign NONE, mac &["HMAC_SHA_512"], agree NONE),
    row!("SM2", Family::Sm2, &["SIGN_VERIFY", "ENCRYPT_DECRYPT", "KEY_AGREEMENT"], enc &["SM2PKE"], sign &["SM2DSA"], mac NONE, agree ECDH),
    row!("ML_DSA_44", Family::MlDsa(MlDsaLevel::L44), SIGN_ONLY, enc NONE, sign &["ML_DSA_SHAKE_256"], mac NONE, agree NONE),
    row!("ML_DSA_65", Family::MlDsa(MlDsaLevel::L65), SIGN_ONLY, enc NONE, sign &["ML_DSA_SHAKE_256"], mac NONE, agree NONE),
    row!("ML_DSA_87", Family::MlDsa(MlDsaLevel::L87), SIGN_ONLY, enc NONE, sign &["ML_DSA_SHAKE_256"], mac NONE, agree NONE),
    row!("ECC_NIST_EDWARDS25519", Family::Ed25519, SIGN_ONLY, enc NONE, sign &["ED25519_SHA_512", "ED25519_PH_SHA_512"], mac NONE, agree NONE),
];

/// The `DataKeyPairSpec`s: every asymmetric spec but ML-DSA (botocore model).
pub const DATA_KEY_PAIR_SPECS: &[&str] = &[
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "SM2",
    "ECC_NIST_EDWARDS25519",
];

/// Every `SigningAlgorithmSpec` the API names.
pub const SIGNING_ALGORITHMS: &[&str] = &[
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "ECDSA_SHA_256",
    "ECDSA_SHA_384",
    "ECDSA_SHA_512",
    "SM2DSA",
    "ML_DSA_SHAKE_256",
    "ED25519_SHA_512",
    "ED25519_PH_SHA_512",
];

/// Every `MacAlgorithmSpec`.
pub const MAC_ALGORITHMS: &[&str] = &["HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512"];

/// The regions that offer SM2 keys. AWS: "The SM2 key spec is available only in China Regions"
/// (botocore `KeySpec` / CreateKey documentation); the China Regions are Beijing and Ningxia.
pub const SM2_REGIONS: &[&str] = &["cn-north-1", "cn-northwest-1"];

/// The row for `name`, if it is a key spec.
pub fn spec(name: &str) -> Option<&'static SpecInfo> {
    // Every symmetric Encrypt/Decrypt asks: answered without the scan.
    if name == "SYMMETRIC_DEFAULT" {
        return SPECS.get(SYMMETRIC_ROW);
    }
    SPECS.iter().find(|s| s.name == name)
}

/// Where `SYMMETRIC_DEFAULT` is in [`SPECS`] (checked by a test).
const SYMMETRIC_ROW: usize = 7;

/// The algorithms a key of `spec` and `usage` offers, as DescribeKey and GetPublicKey list them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Algorithms {
    /// `EncryptionAlgorithms`.
    pub encryption: &'static [&'static str],
    /// `SigningAlgorithms`.
    pub signing: &'static [&'static str],
    /// `MacAlgorithms`.
    pub mac: &'static [&'static str],
    /// `KeyAgreementAlgorithms`.
    pub key_agreement: &'static [&'static str],
}

/// What a key of `spec` with `usage` offers; nothing for an unknown spec or a usage it lacks.
pub fn algorithms(spec_name: &str, usage: &str) -> Algorithms {
    let Some(s) = spec(spec_name) else { return Algorithms::default() };
    match usage {
        "ENCRYPT_DECRYPT" => Algorithms { encryption: s.encryption, ..Algorithms::default() },
        "SIGN_VERIFY" => Algorithms { signing: s.signing, ..Algorithms::default() },
        "GENERATE_VERIFY_MAC" => Algorithms { mac: s.mac, ..Algorithms::default() },
        "KEY_AGREEMENT" => Algorithms { key_agreement: s.key_agreement, ..Algorithms::default() },
        _ => Algorithms::default(),
    }
}

/// The digest length a `DIGEST` message must have for `algorithm` (None: the algorithm takes
/// no DIGEST message).
pub fn digest_len(algorithm: &str) -> Option<usize> {
    match algorithm {
        "SM2DSA" => Some(32),
        a if a.ends_with("SHA_256") => Some(32),
        a if a.ends_with("SHA_384") => Some(48),
        a if a.ends_with("SHA_512") => Some(64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_covers_the_model() {
        assert_eq!(SPECS[SYMMETRIC_ROW].name, "SYMMETRIC_DEFAULT");
        assert_eq!(SPECS.len(), crate::ops::create_key::KEY_SPECS.len());
        for name in crate::ops::create_key::KEY_SPECS {
            let s = spec(name).expect("every KeySpec has a row");
            assert!(!s.usages.is_empty());
            for usage in s.usages {
                let a = algorithms(name, usage);
                let offered = a.encryption.len() + a.signing.len() + a.mac.len() + a.key_agreement.len();
                assert!(offered > 0, "{name}/{usage} offers no algorithm");
            }
            for a in s.signing {
                assert!(SIGNING_ALGORITHMS.contains(a));
            }
        }
        for name in DATA_KEY_PAIR_SPECS {
            assert!(spec(name).is_some_and(|s| s.usages.contains(&"SIGN_VERIFY")));
        }
    }
}
