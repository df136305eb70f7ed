//! Asymmetric keys end to end through aws-sdk-kms, with OpenSSL as the oracle: CreateKey of every
//! key spec and usage (and AWS's refusals), DescribeKey and GetPublicKey, Sign checked by
//! `openssl pkeyutl -verify`, OAEP and SM2PKE ciphertexts made by OpenSSL decrypted by Decrypt,
//! DeriveSharedSecret equal to `openssl pkeyutl -derive`, data key pairs that load in OpenSSL,
//! ReEncrypt between symmetric and asymmetric keys, the error cases, and the records.
//! (ML-DSA and Ed25519ph, which OpenSSL 3.0 lacks, are checked by `scripts/e2e_boto3_asymmetric.py`
//! with dilithium-py and PyCryptodome.)

use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeyPairSpec, EncryptionAlgorithmSpec, KeyAgreementAlgorithmSpec, KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec,
};
use aws_sdk_kms::Client;
use keytrail_tests::openssl::{openssl, openssl_ok, Scratch};
use keytrail_tests::{assert_api_record_shape, create_key_of, failure, Server};
use serde_json::{json, Value};
use sha2_free::digest;

const ACCOUNT: &str = "111122223333";

/// Hashes with OpenSSL, so no test digest comes from keytrail's own crates.
mod sha2_free {
    use keytrail_tests::openssl::{openssl_ok, Scratch};

    /// `openssl dgst -<name> -binary` of `data`.
    pub(super) fn digest(scratch: &Scratch, name: &str, data: &[u8]) -> Vec<u8> {
        let input = scratch.write("to-hash", data);
        let out = scratch.path("hashed");
        openssl_ok(&["dgst", &format!("-{name}"), "-binary", "-out", &out, &input]);
        scratch.read("hashed")
    }
}

async fn create(kms: &Client, spec: &str, usage: &str) -> (String, String) {
    let md = create_key_of(kms, spec, usage).await;
    (md.key_id, md.arn.unwrap())
}

async fn public_key(kms: &Client, key: &str) -> Vec<u8> {
    kms.get_public_key().key_id(key).send().await.unwrap().public_key.unwrap().into_inner()
}

fn strings<T: AsRef<str>>(items: &[T]) -> Vec<&str> {
    items.iter().map(AsRef::as_ref).collect()
}

#[tokio::test]
async fn every_key_spec_is_created_with_the_usages_aws_allows_and_described() {
    let s = Server::start().await;
    let kms = s.kms();
    let china = s.kms_as("AKIAIOSFODNN7EXAMPLE", "secret", "cn-north-1");
    // (spec, usage, what DescribeKey lists: (member, algorithms)). RSA_3072/RSA_4096 keys are
    // created in the other tests and the durability test; their rows are the same as RSA_2048's.
    let rsa_signing = vec![
        "RSASSA_PKCS1_V1_5_SHA_256",
        "RSASSA_PKCS1_V1_5_SHA_384",
        "RSASSA_PKCS1_V1_5_SHA_512",
        "RSASSA_PSS_SHA_256",
        "RSASSA_PSS_SHA_384",
        "RSASSA_PSS_SHA_512",
    ];
    let cases: Vec<(&str, &str, &str, Vec<&str>)> = vec![
        ("RSA_2048", "SIGN_VERIFY", "signing", rsa_signing.clone()),
        ("RSA_2048", "ENCRYPT_DECRYPT", "encryption", vec!["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]),
        ("ECC_NIST_P256", "SIGN_VERIFY", "signing", vec!["ECDSA_SHA_256"]),
        ("ECC_NIST_P256", "KEY_AGREEMENT", "agreement", vec!["ECDH"]),
        ("ECC_NIST_P384", "SIGN_VERIFY", "signing", vec!["ECDSA_SHA_384"]),
        ("ECC_NIST_P384", "KEY_AGREEMENT", "agreement", vec!["ECDH"]),
        ("ECC_NIST_P521", "SIGN_VERIFY", "signing", vec!["ECDSA_SHA_512"]),
        ("ECC_NIST_P521", "KEY_AGREEMENT", "agreement", vec!["ECDH"]),
        ("ECC_SECG_P256K1", "SIGN_VERIFY", "signing", vec!["ECDSA_SHA_256"]),
        ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY", "signing", vec!["ED25519_SHA_512", "ED25519_PH_SHA_512"]),
        ("ML_DSA_44", "SIGN_VERIFY", "signing", vec!["ML_DSA_SHAKE_256"]),
        ("ML_DSA_65", "SIGN_VERIFY", "signing", vec!["ML_DSA_SHAKE_256"]),
        ("ML_DSA_87", "SIGN_VERIFY", "signing", vec!["ML_DSA_SHAKE_256"]),
        ("HMAC_224", "GENERATE_VERIFY_MAC", "mac", vec!["HMAC_SHA_224"]),
        ("HMAC_256", "GENERATE_VERIFY_MAC", "mac", vec!["HMAC_SHA_256"]),
        ("HMAC_384", "GENERATE_VERIFY_MAC", "mac", vec!["HMAC_SHA_384"]),
        ("HMAC_512", "GENERATE_VERIFY_MAC", "mac", vec!["HMAC_SHA_512"]),
        ("SM2", "SIGN_VERIFY", "signing", vec!["SM2DSA"]),
        ("SM2", "ENCRYPT_DECRYPT", "encryption", vec!["SM2PKE"]),
        ("SM2", "KEY_AGREEMENT", "agreement", vec!["ECDH"]),
    ];
    for (spec, usage, member, algorithms) in cases {
        let client = if spec == "SM2" { &china } else { &kms };
        let (id, _) = create(client, spec, usage).await;
        let md = client.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap();
        assert_eq!(md.key_spec().map(KeySpec::as_str), Some(spec));
        #[allow(deprecated)]
        let deprecated = md.customer_master_key_spec().map(|c| c.as_str().to_string());
        assert_eq!(deprecated.as_deref(), Some(spec), "the deprecated member too");
        assert_eq!(md.key_usage().map(KeyUsageType::as_str), Some(usage));
        let listed = (
            strings(md.encryption_algorithms()),
            strings(md.signing_algorithms()),
            strings(md.mac_algorithms()),
            strings(md.key_agreement_algorithms()),
        );
        let want = |m: &str| if m == member { algorithms.clone() } else { vec![] };
        assert_eq!(listed, (want("encryption"), want("signing"), want("mac"), want("agreement")), "{spec}/{usage}");
        if !spec.starts_with("HMAC") {
            let out = client.get_public_key().key_id(&id).send().await.unwrap();
            assert_eq!(out.key_spec().map(KeySpec::as_str), Some(spec));
            assert_eq!(out.key_usage().map(KeyUsageType::as_str), Some(usage));
            let scratch = Scratch::new("describe");
            let der = scratch.write("pub.der", out.public_key().unwrap().as_ref());
            // OpenSSL 3.0 knows no ML-DSA: those are checked by the boto3 scenario (dilithium-py).
            if !spec.starts_with("ML_DSA") {
                let text = openssl_ok(&["pkey", "-pubin", "-inform", "DER", "-in", &der, "-noout", "-text"]);
                assert!(text.contains("Public-Key") || text.contains("public key") || text.contains("pub:"), "{spec}: {text}");
            }
        }
    }

    // AWS's refusals: ValidationException for a usage the spec does not take; nothing created.
    let before = kms.list_keys().send().await.unwrap().keys().len();
    for (spec, usage) in [
        ("ECC_NIST_P256", "ENCRYPT_DECRYPT"),
        ("ECC_SECG_P256K1", "KEY_AGREEMENT"),
        ("ECC_NIST_EDWARDS25519", "KEY_AGREEMENT"),
        ("ML_DSA_44", "ENCRYPT_DECRYPT"),
        ("HMAC_256", "SIGN_VERIFY"),
        ("RSA_2048", "KEY_AGREEMENT"),
        ("RSA_2048", "GENERATE_VERIFY_MAC"),
        ("SYMMETRIC_DEFAULT", "SIGN_VERIFY"),
    ] {
        let f = failure(kms.create_key().key_spec(KeySpec::from(spec)).key_usage(KeyUsageType::from(usage)).send().await.unwrap_err());
        assert_eq!(f.code, "ValidationException", "{spec}/{usage}: {f:?}");
        assert!(f.message.contains(spec) && f.message.contains(usage), "{}", f.message);
        let r = s.record_of(&f.request_id).await;
        assert_eq!(r["errorCode"], "ValidationException");
        assert_eq!(r["requestParameters"]["keySpec"], spec);
    }
    // An asymmetric spec without a KeyUsage gets the default ENCRYPT_DECRYPT, which ECC refuses.
    let f = failure(kms.create_key().key_spec(KeySpec::EccNistP256).send().await.unwrap_err());
    assert_eq!(f.code, "ValidationException");
    // SM2 only in the China Regions.
    let f = failure(kms.create_key().key_spec(KeySpec::Sm2).key_usage(KeyUsageType::SignVerify).send().await.unwrap_err());
    assert_eq!(f.code, "UnsupportedOperationException", "{f:?}");
    assert!(f.message.contains("cn-north-1"), "{}", f.message);
    assert_eq!(kms.list_keys().send().await.unwrap().keys().len(), before, "refused CreateKeys create nothing");
}

/// Verifies `sig` over `message` with OpenSSL, given the key's SubjectPublicKeyInfo.
fn openssl_verifies(scratch: &Scratch, spki: &[u8], algorithm: &str, message: &[u8], sig: &[u8]) -> bool {
    let public = scratch.write("pub.der", spki);
    let sigfile = scratch.write("sig.bin", sig);
    let base = ["pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", &public, "-sigfile", &sigfile];
    let md = |a: &str| {
        if a.ends_with("SHA_256") {
            "sha256"
        } else if a.ends_with("SHA_384") {
            "sha384"
        } else {
            "sha512"
        }
    };
    let (ok, text) = match algorithm {
        "ED25519_SHA_512" => {
            let m = scratch.write("msg.bin", message);
            openssl(&[&base[..], &["-rawin", "-in", &m]].concat())
        }
        "SM2DSA" => {
            let m = scratch.write("msg.bin", message);
            openssl(&[&base[..], &["-rawin", "-in", &m, "-digest", "sm3", "-pkeyopt", "distid:1234567812345678"]].concat())
        }
        a => {
            // pkeyutl verifies a digest: hash the message with OpenSSL first.
            let d = digest(scratch, md(a), message);
            let dfile = scratch.write("digest.bin", &d);
            let digest_opt = format!("digest:{}", md(a));
            let mut args: Vec<&str> = [&base[..], &["-in", &dfile]].concat();
            if a.starts_with("RSASSA") {
                args.extend(["-pkeyopt", &digest_opt]);
            }
            if a.starts_with("RSASSA_PSS") {
                args.extend(["-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "rsa_pss_saltlen:auto"]);
            }
            openssl(&args)
        }
    };
    ok && text.contains("Signature Verified Successfully")
}

#[tokio::test]
async fn signatures_verify_with_openssl_and_with_verify() {
    let s = Server::start().await;
    let kms = s.kms();
    let china = s.kms_as("AKIAIOSFODNN7EXAMPLE", "secret", "cn-north-1");
    let scratch = Scratch::new("sign");
    let message = b"keytrail signs this release artifact".to_vec();
    let cases: &[(&str, &[&str], bool)] = &[
        (
            "RSA_2048",
            &[
                "RSASSA_PKCS1_V1_5_SHA_256",
                "RSASSA_PKCS1_V1_5_SHA_384",
                "RSASSA_PKCS1_V1_5_SHA_512",
                "RSASSA_PSS_SHA_256",
                "RSASSA_PSS_SHA_384",
                "RSASSA_PSS_SHA_512",
            ],
            true,
        ),
        ("ECC_NIST_P256", &["ECDSA_SHA_256"], true),
        ("ECC_NIST_P384", &["ECDSA_SHA_384"], true),
        ("ECC_NIST_P521", &["ECDSA_SHA_512"], true),
        ("ECC_SECG_P256K1", &["ECDSA_SHA_256"], true),
        ("ECC_NIST_EDWARDS25519", &["ED25519_SHA_512"], false),
        ("SM2", &["SM2DSA"], false),
    ];
    for (spec, algorithms, digests) in cases {
        let client = if *spec == "SM2" { &china } else { &kms };
        let (id, arn) = create(client, spec, "SIGN_VERIFY").await;
        let spki = public_key(client, &id).await;
        for alg in *algorithms {
            let out = client
                .sign()
                .key_id(&id)
                .message(Blob::new(message.clone()))
                .signing_algorithm(SigningAlgorithmSpec::from(*alg))
                .send()
                .await
                .unwrap_or_else(|e| panic!("Sign {spec} {alg}: {e:?}"));
            assert_eq!(out.key_id(), Some(arn.as_str()));
            assert_eq!(out.signing_algorithm().map(|a| a.as_str()), Some(*alg));
            let sig = out.signature().unwrap().as_ref().to_vec();
            assert!(openssl_verifies(&scratch, &spki, alg, &message, &sig), "OpenSSL rejects {spec} {alg} RAW");
            assert!(!openssl_verifies(&scratch, &spki, alg, b"another message", &sig), "OpenSSL is not a yes-man");
            let r = s.record_of(out.request_id().unwrap()).await;
            assert_api_record_shape(&r);
            assert_eq!(r["requestParameters"], json!({"keyId": id, "signingAlgorithm": alg, "messageType": "RAW"}));
            assert_eq!(r["responseElements"], Value::Null);
            assert_eq!(r["resources"], json!([{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": arn}]));
            assert!(r.get("additionalEventData").is_none());

            // Verify accepts it and refuses a changed message or signature.
            let v = client
                .verify()
                .key_id(&id)
                .message(Blob::new(message.clone()))
                .signature(Blob::new(sig.clone()))
                .signing_algorithm(SigningAlgorithmSpec::from(*alg))
                .send()
                .await
                .unwrap();
            assert!(v.signature_valid());
            let mut bad = sig.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            let f = failure(
                client
                    .verify()
                    .key_id(&id)
                    .message(Blob::new(message.clone()))
                    .signature(Blob::new(bad))
                    .signing_algorithm(SigningAlgorithmSpec::from(*alg))
                    .send()
                    .await
                    .unwrap_err(),
            );
            assert_eq!(f.code, "KMSInvalidSignatureException", "{spec} {alg}");
            let r = s.record_of(&f.request_id).await;
            assert_eq!(r["errorCode"], "KMSInvalidSignatureException");
            assert_eq!(r["requestParameters"], json!({"keyId": id, "signingAlgorithm": alg, "messageType": "RAW"}));

            if *digests {
                let md = if alg.ends_with("256") {
                    "sha256"
                } else if alg.ends_with("384") {
                    "sha384"
                } else {
                    "sha512"
                };
                let d = digest(&scratch, md, &message);
                let out = client
                    .sign()
                    .key_id(&id)
                    .message(Blob::new(d.clone()))
                    .message_type(MessageType::Digest)
                    .signing_algorithm(SigningAlgorithmSpec::from(*alg))
                    .send()
                    .await
                    .unwrap();
                let sig = out.signature().unwrap().as_ref().to_vec();
                assert!(openssl_verifies(&scratch, &spki, alg, &message, &sig), "OpenSSL rejects {spec} {alg} DIGEST");
                let f = failure(
                    client
                        .sign()
                        .key_id(&id)
                        .message(Blob::new(&d[1..]))
                        .message_type(MessageType::Digest)
                        .signing_algorithm(SigningAlgorithmSpec::from(*alg))
                        .send()
                        .await
                        .unwrap_err(),
                );
                assert_eq!(
                    (f.code.as_str(), f.message.as_str()),
                    ("ValidationException", &*format!("Digest is invalid length for algorithm {alg}."))
                );
            }
        }
    }
}

#[tokio::test]
async fn ciphertexts_openssl_makes_with_the_public_key_decrypt_and_reencrypt_both_ways() {
    let s = Server::start().await;
    let kms = s.kms();
    let scratch = Scratch::new("oaep");
    let (id, arn) = create(&kms, "RSA_2048", "ENCRYPT_DECRYPT").await;
    let spki = scratch.write("pub.der", &public_key(&kms, &id).await);
    let secret = b"wrapped data key: 0123456789abcdef".to_vec();
    let plain = scratch.write("plain.bin", &secret);
    for (alg, md) in [("RSAES_OAEP_SHA_1", "sha1"), ("RSAES_OAEP_SHA_256", "sha256")] {
        let out = scratch.path("ct.bin");
        openssl_ok(&[
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-keyform",
            "DER",
            "-inkey",
            &spki,
            "-in",
            &plain,
            "-out",
            &out,
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-pkeyopt",
            &format!("rsa_oaep_md:{md}"),
            "-pkeyopt",
            &format!("rsa_mgf1_md:{md}"),
        ]);
        let ct = scratch.read("ct.bin");
        let d = kms
            .decrypt()
            .key_id(&id)
            .ciphertext_blob(Blob::new(ct.clone()))
            .encryption_algorithm(EncryptionAlgorithmSpec::from(alg))
            .send()
            .await
            .unwrap_or_else(|e| panic!("Decrypt {alg}: {e:?}"));
        assert_eq!(d.plaintext().unwrap().as_ref(), &secret[..]);
        assert_eq!(d.key_id(), Some(arn.as_str()));
        assert_eq!(d.key_material_id(), None, "AWS reports material ids for symmetric keys only");
        let r = s.record_of(d.request_id().unwrap()).await;
        assert_eq!(r["requestParameters"], json!({"keyId": id, "encryptionAlgorithm": alg}));
        assert_eq!(r["responseElements"], Value::Null);
        // Without KeyId an asymmetric ciphertext names no key: AWS requires KeyId.
        let f = failure(
            kms.decrypt()
                .ciphertext_blob(Blob::new(ct.clone()))
                .encryption_algorithm(EncryptionAlgorithmSpec::from(alg))
                .send()
                .await
                .unwrap_err(),
        );
        assert_eq!(f.code, "InvalidCiphertextException");
        // The other OAEP hash does not open it.
        let other =
            if alg == "RSAES_OAEP_SHA_1" { EncryptionAlgorithmSpec::RsaesOaepSha256 } else { EncryptionAlgorithmSpec::RsaesOaepSha1 };
        let f = failure(kms.decrypt().key_id(&id).ciphertext_blob(Blob::new(ct)).encryption_algorithm(other).send().await.unwrap_err());
        assert_eq!(f.code, "InvalidCiphertextException");
    }
    // KMS's own OAEP ciphertexts round trip; the limits are AWS's (RSA_2048: 214 / 190 bytes).
    for (alg, max) in [("RSAES_OAEP_SHA_1", 214), ("RSAES_OAEP_SHA_256", 190)] {
        let a = EncryptionAlgorithmSpec::from(alg);
        let ct = kms.encrypt().key_id(&id).plaintext(Blob::new(vec![5u8; max])).encryption_algorithm(a.clone()).send().await.unwrap();
        assert_eq!(ct.ciphertext_blob().unwrap().as_ref().len(), 256, "raw RSAES-OAEP output, no header");
        let r = s.record_of(ct.request_id().unwrap()).await;
        assert_eq!(r["requestParameters"], json!({"keyId": id, "encryptionAlgorithm": alg}));
        let f = failure(
            kms.encrypt().key_id(&id).plaintext(Blob::new(vec![5u8; max + 1])).encryption_algorithm(a.clone()).send().await.unwrap_err(),
        );
        assert_eq!(f.code, "ValidationException", "{f:?}");
        // An encryption context is for symmetric keys only.
        let f = failure(
            kms.encrypt()
                .key_id(&id)
                .plaintext(Blob::new("x"))
                .encryption_context("k", "v")
                .encryption_algorithm(a)
                .send()
                .await
                .unwrap_err(),
        );
        assert_eq!(f.code, "ValidationException");
    }
    // SYMMETRIC_DEFAULT (the default) does not fit an RSA key.
    let f = failure(kms.encrypt().key_id(&id).plaintext(Blob::new("x")).send().await.unwrap_err());
    assert_eq!(
        (f.code.as_str(), f.message.as_str()),
        ("InvalidKeyUsageException", "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.")
    );

    // ReEncrypt symmetric → RSA → symmetric.
    let sym = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let first = kms.encrypt().key_id(&sym).plaintext(Blob::new(secret.clone())).send().await.unwrap().ciphertext_blob.unwrap();
    let to_rsa = kms
        .re_encrypt()
        .ciphertext_blob(first)
        .destination_key_id(&id)
        .destination_encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap();
    assert_eq!(to_rsa.destination_key_material_id(), None);
    assert!(to_rsa.source_key_material_id().is_some());
    let rsa_ct = to_rsa.ciphertext_blob.unwrap();
    let back = kms
        .re_encrypt()
        .ciphertext_blob(rsa_ct.clone())
        .source_key_id(&id)
        .source_encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .destination_key_id(&sym)
        .send()
        .await
        .unwrap();
    let r = s.record_of(back.request_id().unwrap()).await;
    assert_eq!(r["resources"].as_array().map(Vec::len), Some(2));
    assert_eq!(r["resources"][0]["ARN"], arn.as_str(), "source key first");
    let sym_ct = back.ciphertext_blob.unwrap();
    let opened = kms.decrypt().ciphertext_blob(sym_ct).send().await.unwrap();
    assert_eq!(opened.plaintext().unwrap().as_ref(), &secret[..]);
    // A ReEncrypt from an RSA ciphertext without SourceKeyId cannot find its key.
    let f = failure(kms.re_encrypt().ciphertext_blob(rsa_ct).destination_key_id(&sym).send().await.unwrap_err());
    assert_eq!(f.code, "InvalidCiphertextException");

    // SM2PKE in a China Region: OpenSSL encrypts with the public key, Decrypt opens it.
    let china = s.kms_as("AKIAIOSFODNN7EXAMPLE", "secret", "cn-north-1");
    let (sm2, _) = create(&china, "SM2", "ENCRYPT_DECRYPT").await;
    let sm2_pub = scratch.write("sm2.der", &public_key(&china, &sm2).await);
    let out = scratch.path("sm2ct.bin");
    openssl_ok(&["pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", &sm2_pub, "-in", &plain, "-out", &out]);
    let d = china
        .decrypt()
        .key_id(&sm2)
        .ciphertext_blob(Blob::new(scratch.read("sm2ct.bin")))
        .encryption_algorithm(EncryptionAlgorithmSpec::Sm2Pke)
        .send()
        .await
        .unwrap();
    assert_eq!(d.plaintext().unwrap().as_ref(), &secret[..]);
    let ct = china
        .encrypt()
        .key_id(&sm2)
        .plaintext(Blob::new(secret.clone()))
        .encryption_algorithm(EncryptionAlgorithmSpec::Sm2Pke)
        .send()
        .await
        .unwrap();
    let d = china
        .decrypt()
        .key_id(&sm2)
        .ciphertext_blob(ct.ciphertext_blob.unwrap())
        .encryption_algorithm(EncryptionAlgorithmSpec::Sm2Pke)
        .send()
        .await
        .unwrap();
    assert_eq!(d.plaintext().unwrap().as_ref(), &secret[..]);
}

#[tokio::test]
async fn derive_shared_secret_equals_openssl_derive() {
    let s = Server::start().await;
    let kms = s.kms();
    let china = s.kms_as("AKIAIOSFODNN7EXAMPLE", "secret", "cn-north-1");
    let scratch = Scratch::new("ecdh");
    for (spec, curve) in [("ECC_NIST_P256", "P-256"), ("ECC_NIST_P384", "P-384"), ("ECC_NIST_P521", "P-521"), ("SM2", "SM2")] {
        let client = if spec == "SM2" { &china } else { &kms };
        let (id, arn) = create(client, spec, "KEY_AGREEMENT").await;
        let kms_pub = scratch.write("kms.der", &public_key(client, &id).await);
        let peer = scratch.path("peer.pem");
        openssl_ok(&["genpkey", "-algorithm", "EC", "-pkeyopt", &format!("ec_paramgen_curve:{curve}"), "-out", &peer]);
        let peer_pub = scratch.path("peer.der");
        openssl_ok(&["pkey", "-in", &peer, "-pubout", "-outform", "DER", "-out", &peer_pub]);
        let out = client
            .derive_shared_secret()
            .key_id(&id)
            .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
            .public_key(Blob::new(scratch.read("peer.der")))
            .send()
            .await
            .unwrap_or_else(|e| panic!("DeriveSharedSecret {spec}: {e:?}"));
        let secret_out = scratch.path("secret.bin");
        if spec == "SM2" {
            // OpenSSL 3.0 refuses ECDH on SM2 keys ("operation not supported for this keytype"):
            // the peer's side is a second KMS SM2 key instead, and both sides must agree.
            let (other, _) = create(client, spec, "KEY_AGREEMENT").await;
            let theirs = client
                .derive_shared_secret()
                .key_id(&other)
                .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
                .public_key(Blob::new(public_key(client, &id).await))
                .send()
                .await
                .unwrap();
            let ours = client
                .derive_shared_secret()
                .key_id(&id)
                .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
                .public_key(Blob::new(public_key(client, &other).await))
                .send()
                .await
                .unwrap();
            assert_eq!(theirs.shared_secret(), ours.shared_secret());
        } else {
            openssl_ok(&["pkeyutl", "-derive", "-inkey", &peer, "-peerkey", &kms_pub, "-peerform", "DER", "-out", &secret_out]);
            assert_eq!(out.shared_secret().unwrap().as_ref(), &scratch.read("secret.bin")[..], "{spec}: KMS and OpenSSL agree");
        }
        assert_eq!(out.key_origin().map(|o| o.as_str()), Some("AWS_KMS"));
        let r = s.record_of(out.request_id().unwrap()).await;
        assert_api_record_shape(&r);
        assert_eq!(r["eventName"], "DeriveSharedSecret");
        assert_eq!(r["readOnly"], true);
        assert_eq!(r["requestParameters"], json!({"keyId": id, "keyAgreementAlgorithm": "ECDH"}), "no public key in the record");
        assert_eq!(r["responseElements"], Value::Null);
        assert_eq!(r["resources"][0]["ARN"], arn.as_str());
        // A peer key that is not a SubjectPublicKeyInfo, or is on another curve.
        let f = failure(
            client
                .derive_shared_secret()
                .key_id(&id)
                .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
                .public_key(Blob::new(&b"not a key"[..]))
                .send()
                .await
                .unwrap_err(),
        );
        assert_eq!(f.code, "ValidationException");
    }
    // A signing key does not agree keys.
    let (signer, _) = create(&kms, "ECC_NIST_P256", "SIGN_VERIFY").await;
    let f = failure(
        kms.derive_shared_secret()
            .key_id(&signer)
            .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
            .public_key(Blob::new(public_key(&kms, &signer).await))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "InvalidKeyUsageException");
}

#[tokio::test]
async fn data_key_pairs_load_in_openssl_and_their_private_keys_decrypt() {
    let s = Server::start().await;
    let kms = s.kms();
    let china = s.kms_as("AKIAIOSFODNN7EXAMPLE", "secret", "cn-north-1");
    let scratch = Scratch::new("pairs");
    let sym = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    let china_sym = china.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    for spec in ["RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "SM2"] {
        let (client, key) = if spec == "SM2" { (&china, china_sym.as_str()) } else { (&kms, sym.key_id.as_str()) };
        let out = client
            .generate_data_key_pair()
            .key_id(key)
            .key_pair_spec(DataKeyPairSpec::from(spec))
            .encryption_context("purpose", "test")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GenerateDataKeyPair {spec}: {e:?}"));
        assert_eq!(out.key_pair_spec().map(|k| k.as_str()), Some(spec));
        let private = out.private_key_plaintext().unwrap().as_ref().to_vec();
        let der = scratch.write("priv.der", &private);
        let derived = scratch.path("derived.der");
        openssl_ok(&["pkey", "-inform", "DER", "-in", &der, "-pubout", "-outform", "DER", "-out", &derived]);
        assert_eq!(scratch.read("derived.der"), out.public_key().unwrap().as_ref(), "{spec}: the private key's public half is PublicKey");
        let opened = client
            .decrypt()
            .ciphertext_blob(out.private_key_ciphertext_blob().unwrap().clone())
            .encryption_context("purpose", "test")
            .send()
            .await
            .unwrap();
        assert_eq!(opened.plaintext().unwrap().as_ref(), &private[..], "{spec}: Decrypt gives the private key");
        let r = s.record_of(out.request_id().unwrap()).await;
        assert_api_record_shape(&r);
        assert_eq!(r["requestParameters"], json!({"keyId": key, "keyPairSpec": spec, "encryptionContext": {"purpose": "test"}}));
        assert_eq!(r["responseElements"], Value::Null);
        assert!(r["additionalEventData"]["keyMaterialId"].as_str().is_some_and(|m| m.len() == 64));
        let text = r.to_string();
        assert!(!text.contains(&keytrail_b64(&private)), "no private key in the record");
    }
    // Without plaintext: only the ciphertext, which Decrypt opens to the pair's private key.
    let out = kms
        .generate_data_key_pair_without_plaintext()
        .key_id(&sym.key_id)
        .key_pair_spec(DataKeyPairSpec::EccNistP256)
        .send()
        .await
        .unwrap();
    let opened = kms.decrypt().ciphertext_blob(out.private_key_ciphertext_blob().unwrap().clone()).send().await.unwrap();
    let der = scratch.write("priv.der", opened.plaintext().unwrap().as_ref());
    let derived = scratch.path("derived.der");
    openssl_ok(&["pkey", "-inform", "DER", "-in", &der, "-pubout", "-outform", "DER", "-out", &derived]);
    assert_eq!(scratch.read("derived.der"), out.public_key().unwrap().as_ref());
    let r = s.record_of(out.request_id().unwrap()).await;
    assert_eq!(r["eventName"], "GenerateDataKeyPairWithoutPlaintext");
    assert_eq!(r["requestParameters"], json!({"keyId": sym.key_id, "keyPairSpec": "ECC_NIST_P256"}));
    // The wrapping key must be a symmetric encryption key; SM2 pairs only in the China Regions.
    let (rsa, _) = create(&kms, "RSA_2048", "ENCRYPT_DECRYPT").await;
    let f = failure(kms.generate_data_key_pair().key_id(&rsa).key_pair_spec(DataKeyPairSpec::EccNistP256).send().await.unwrap_err());
    assert_eq!(f.code, "InvalidKeyUsageException");
    let f = failure(kms.generate_data_key_pair().key_id(&sym.key_id).key_pair_spec(DataKeyPairSpec::Sm2).send().await.unwrap_err());
    assert_eq!(f.code, "UnsupportedOperationException");
}

fn keytrail_b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn sign_and_verify_refuse_what_aws_refuses_and_change_nothing() {
    let s = Server::start().await;
    let kms = s.kms();
    let (ec, _) = create(&kms, "ECC_NIST_P256", "SIGN_VERIFY").await;
    let (ml, _) = create(&kms, "ML_DSA_44", "SIGN_VERIFY").await;
    let (ed, _) = create(&kms, "ECC_NIST_EDWARDS25519", "SIGN_VERIFY").await;
    let (rsa_enc, _) = create(&kms, "RSA_2048", "ENCRYPT_DECRYPT").await;
    let sym = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let sign = |key: &str, msg: Vec<u8>, mt: MessageType, alg: &str| {
        kms.sign().key_id(key).message(Blob::new(msg)).message_type(mt).signing_algorithm(SigningAlgorithmSpec::from(alg)).send()
    };
    let cases: Vec<(&str, Vec<u8>, MessageType, &str, &str)> = vec![
        (&ec, vec![1; 4097], MessageType::Raw, "ECDSA_SHA_256", "ValidationException"),
        (&ec, vec![1; 31], MessageType::Digest, "ECDSA_SHA_256", "ValidationException"),
        (&ec, vec![1; 64], MessageType::ExternalMu, "ECDSA_SHA_256", "ValidationException"),
        (&ec, vec![1; 10], MessageType::Raw, "RSASSA_PSS_SHA_256", "InvalidKeyUsageException"),
        (&ec, vec![1; 10], MessageType::Raw, "ECDSA_SHA_384", "InvalidKeyUsageException"),
        (&ml, vec![1; 32], MessageType::Digest, "ML_DSA_SHAKE_256", "ValidationException"),
        (&ml, vec![1; 63], MessageType::ExternalMu, "ML_DSA_SHAKE_256", "ValidationException"),
        (&ed, vec![1; 64], MessageType::Digest, "ED25519_SHA_512", "ValidationException"),
        (&ed, vec![1; 64], MessageType::Raw, "ED25519_PH_SHA_512", "ValidationException"),
        (&rsa_enc, vec![1; 10], MessageType::Raw, "RSASSA_PSS_SHA_256", "InvalidKeyUsageException"),
        (&sym, vec![1; 10], MessageType::Raw, "RSASSA_PSS_SHA_256", "InvalidKeyUsageException"),
        ("alias/missing", vec![1; 10], MessageType::Raw, "ECDSA_SHA_256", "NotFoundException"),
    ];
    for (key, msg, mt, alg, code) in cases {
        let f = failure(sign(key, msg.clone(), mt.clone(), alg).await.unwrap_err());
        assert_eq!(f.code, code, "{key} {mt:?} {alg} ({} bytes): {}", msg.len(), f.message);
        let r = s.record_of(&f.request_id).await;
        assert_eq!(r["eventName"], "Sign");
        assert_eq!(r["errorCode"], code);
        assert!(r["requestParameters"].get("message").is_none());
    }
    let f = failure(kms.sign().key_id(&ec).message(Blob::new("m")).send().await.unwrap_err());
    assert_eq!(f.code, "ValidationException", "SigningAlgorithm is required");
    let f = failure(kms.get_public_key().key_id(&sym).send().await.unwrap_err());
    assert_eq!(f.code, "UnsupportedOperationException");

    // Disabled and pending deletion.
    kms.disable_key().key_id(&ec).send().await.unwrap();
    let f = failure(sign(&ec, vec![1; 10], MessageType::Raw, "ECDSA_SHA_256").await.unwrap_err());
    assert_eq!(f.code, "DisabledException");
    let f = failure(kms.get_public_key().key_id(&ec).send().await.unwrap_err());
    assert_eq!(f.code, "DisabledException");
    kms.enable_key().key_id(&ec).send().await.unwrap();
    kms.schedule_key_deletion().key_id(&ec).pending_window_in_days(7).send().await.unwrap();
    let f = failure(sign(&ec, vec![1; 10], MessageType::Raw, "ECDSA_SHA_256").await.unwrap_err());
    assert_eq!(f.code, "KMSInvalidStateException");
    let f = failure(
        kms.verify()
            .key_id(&ec)
            .message(Blob::new("m"))
            .signature(Blob::new("s"))
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "KMSInvalidStateException");
    kms.cancel_key_deletion().key_id(&ec).send().await.unwrap();
    kms.enable_key().key_id(&ec).send().await.unwrap();
    // Still the same key pair after all that.
    let sig = sign(&ec, vec![1; 10], MessageType::Raw, "ECDSA_SHA_256").await.unwrap().signature.unwrap();
    let v = kms
        .verify()
        .key_id(&ec)
        .message(Blob::new(vec![1; 10]))
        .signature(sig)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    assert!(v.signature_valid());
}

#[tokio::test]
async fn rsa_3072_and_4096_keys_sign_and_encrypt() {
    let s = Server::start().await;
    let kms = s.kms();
    let scratch = Scratch::new("bigrsa");
    for (spec, modulus) in [("RSA_3072", 384), ("RSA_4096", 512)] {
        let (signer, _) = create(&kms, spec, "SIGN_VERIFY").await;
        let spki = public_key(&kms, &signer).await;
        let sig = kms
            .sign()
            .key_id(&signer)
            .message(Blob::new("m"))
            .signing_algorithm(SigningAlgorithmSpec::RsassaPssSha512)
            .send()
            .await
            .unwrap()
            .signature
            .unwrap()
            .into_inner();
        assert_eq!(sig.len(), modulus);
        assert!(openssl_verifies(&scratch, &spki, "RSASSA_PSS_SHA_512", b"m", &sig), "{spec}");
        let (enc, _) = create(&kms, spec, "ENCRYPT_DECRYPT").await;
        // AWS's limits: RSA_3072 342 / 318, RSA_4096 470 / 446 bytes.
        let max = modulus - 2 * 32 - 2;
        let ct = kms
            .encrypt()
            .key_id(&enc)
            .plaintext(Blob::new(vec![9u8; max]))
            .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
            .send()
            .await
            .unwrap()
            .ciphertext_blob
            .unwrap();
        let d = kms
            .decrypt()
            .key_id(&enc)
            .ciphertext_blob(ct)
            .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
            .send()
            .await
            .unwrap();
        assert_eq!(d.plaintext().unwrap().as_ref().len(), max);
    }
}

/// Bob: an IAM user whose identity policy lets him create only P-256 keys; everything else he
/// may do comes from key policies and grants.
const BOB_CONFIG: &str = r#"
[[users]]
account = "111122223333"
name = "bob"
access_key_id = "AKIABOB0000000000001"
secret_access_key = "bob-secret"
policies = ['''{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*","Condition":{"StringEquals":{"kms:KeySpec":"ECC_NIST_P256"}}}]}''']
"#;

fn key_policy(bob_statement: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}},{bob_statement}]}}"#
    )
}

#[tokio::test]
async fn condition_keys_and_grants_govern_the_new_operations() {
    use aws_sdk_kms::types::{DataKeyPairSpec, GrantOperation, MacAlgorithmSpec};
    let s = Server::start_with(keytrail_server::Options::from_config(BOB_CONFIG).unwrap()).await;
    let kms = s.kms();
    let bob = s.kms_as("AKIABOB0000000000001", "bob-secret", "us-east-1");
    let bob_arn = format!("arn:aws:iam::{ACCOUNT}:user/bob");
    let allow = |action: &str, key: &str, value: &str| {
        key_policy(&format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"{bob_arn}"}},"Action":"{action}","Resource":"*","Condition":{{"StringEquals":{{"{key}":"{value}"}}}}}}"#
        ))
    };
    let with_policy = |spec: &'static str, usage: &'static str, policy: String| {
        let kms = kms.clone();
        async move {
            kms.create_key()
                .key_spec(KeySpec::from(spec))
                .key_usage(KeyUsageType::from(usage))
                .policy(policy)
                .send()
                .await
                .unwrap()
                .key_metadata
                .unwrap()
                .key_id
        }
    };

    // kms:MessageType and kms:SigningAlgorithm.
    let signer = with_policy("ECC_NIST_P256", "SIGN_VERIFY", allow("kms:Sign", "kms:MessageType", "DIGEST")).await;
    let digest = vec![3u8; 32];
    let sign = |mt: MessageType, msg: Vec<u8>| {
        bob.sign().key_id(&signer).message(Blob::new(msg)).message_type(mt).signing_algorithm(SigningAlgorithmSpec::EcdsaSha256).send()
    };
    sign(MessageType::Digest, digest.clone()).await.expect("DIGEST is allowed");
    let f = failure(sign(MessageType::Raw, b"raw".to_vec()).await.unwrap_err());
    assert_eq!(f.code, "AccessDeniedException", "RAW is not: {f:?}");
    let alg_signer = with_policy("RSA_2048", "SIGN_VERIFY", allow("kms:Sign", "kms:SigningAlgorithm", "RSASSA_PSS_SHA_256")).await;
    let sign_alg = |alg: SigningAlgorithmSpec| bob.sign().key_id(&alg_signer).message(Blob::new("m")).signing_algorithm(alg).send();
    sign_alg(SigningAlgorithmSpec::RsassaPssSha256).await.expect("PSS allowed");
    assert_eq!(failure(sign_alg(SigningAlgorithmSpec::RsassaPkcs1V15Sha256).await.unwrap_err()).code, "AccessDeniedException");

    // kms:MacAlgorithm.
    let mac = with_policy("HMAC_256", "GENERATE_VERIFY_MAC", allow("kms:GenerateMac", "kms:MacAlgorithm", "HMAC_SHA_256")).await;
    bob.generate_mac().key_id(&mac).message(Blob::new("m")).mac_algorithm(MacAlgorithmSpec::HmacSha256).send().await.expect("allowed");
    let f = failure(
        bob.verify_mac()
            .key_id(&mac)
            .message(Blob::new("m"))
            .mac(Blob::new(vec![0u8; 32]))
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "AccessDeniedException", "VerifyMac is another action");

    // kms:KeyAgreementAlgorithm.
    let agree = with_policy("ECC_NIST_P256", "KEY_AGREEMENT", allow("kms:DeriveSharedSecret", "kms:KeyAgreementAlgorithm", "ECDH")).await;
    let peer = public_key(&kms, &agree).await;
    bob.derive_shared_secret()
        .key_id(&agree)
        .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
        .public_key(Blob::new(peer))
        .send()
        .await
        .expect("ECDH allowed");

    // kms:EncryptionAlgorithm on an RSA key.
    let rsa = with_policy("RSA_2048", "ENCRYPT_DECRYPT", allow("kms:Encrypt", "kms:EncryptionAlgorithm", "RSAES_OAEP_SHA_256")).await;
    let enc = |a: EncryptionAlgorithmSpec| bob.encrypt().key_id(&rsa).plaintext(Blob::new("m")).encryption_algorithm(a).send();
    enc(EncryptionAlgorithmSpec::RsaesOaepSha256).await.expect("SHA-256 OAEP allowed");
    assert_eq!(failure(enc(EncryptionAlgorithmSpec::RsaesOaepSha1).await.unwrap_err()).code, "AccessDeniedException");

    // kms:DataKeyPairSpec.
    let wrap = kms
        .create_key()
        .policy(allow("kms:GenerateDataKeyPair", "kms:DataKeyPairSpec", "ECC_NIST_P256"))
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let pair = |spec: DataKeyPairSpec| bob.generate_data_key_pair().key_id(&wrap).key_pair_spec(spec).send();
    pair(DataKeyPairSpec::EccNistP256).await.expect("P-256 pairs allowed");
    assert_eq!(failure(pair(DataKeyPairSpec::EccNistP384).await.unwrap_err()).code, "AccessDeniedException");

    // kms:KeySpec in bob's identity policy, at CreateKey.
    bob.create_key().key_spec(KeySpec::EccNistP256).key_usage(KeyUsageType::SignVerify).send().await.expect("P-256 keys allowed");
    let f = failure(bob.create_key().key_spec(KeySpec::EccNistP384).key_usage(KeyUsageType::SignVerify).send().await.unwrap_err());
    assert_eq!(f.code, "AccessDeniedException");

    // Grants for the new operations: with none, bob can do nothing with a default-policy key.
    let (plain_signer, _) = create(&kms, "ECC_NIST_P256", "SIGN_VERIFY").await;
    let (plain_mac, _) = create(&kms, "HMAC_384", "GENERATE_VERIFY_MAC").await;
    let bob_sign = || bob.sign().key_id(&plain_signer).message(Blob::new("m")).signing_algorithm(SigningAlgorithmSpec::EcdsaSha256).send();
    let bob_mac = || bob.generate_mac().key_id(&plain_mac).message(Blob::new("m")).mac_algorithm(MacAlgorithmSpec::HmacSha384).send();
    assert_eq!(failure(bob_sign().await.unwrap_err()).code, "AccessDeniedException");
    assert_eq!(failure(bob.get_public_key().key_id(&plain_signer).send().await.unwrap_err()).code, "AccessDeniedException");
    assert_eq!(failure(bob_mac().await.unwrap_err()).code, "AccessDeniedException");
    for (key, ops) in [
        (&plain_signer, vec![GrantOperation::Sign, GrantOperation::Verify, GrantOperation::GetPublicKey]),
        (&plain_mac, vec![GrantOperation::GenerateMac, GrantOperation::VerifyMac]),
    ] {
        kms.create_grant().key_id(key).grantee_principal(&bob_arn).set_operations(Some(ops)).send().await.unwrap();
    }
    let sig = bob_sign().await.expect("the grant allows Sign").signature.unwrap();
    bob.verify()
        .key_id(&plain_signer)
        .message(Blob::new("m"))
        .signature(sig)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .expect("and Verify");
    bob.get_public_key().key_id(&plain_signer).send().await.expect("and GetPublicKey");
    let tag = bob_mac().await.expect("the grant allows GenerateMac").mac.unwrap();
    bob.verify_mac()
        .key_id(&plain_mac)
        .message(Blob::new("m"))
        .mac(tag)
        .mac_algorithm(MacAlgorithmSpec::HmacSha384)
        .send()
        .await
        .expect("and VerifyMac");
    // A grant for Sign does not allow DeriveSharedSecret or Decrypt.
    assert_eq!(
        failure(
            bob.derive_shared_secret()
                .key_id(&plain_signer)
                .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
                .public_key(Blob::new(vec![1u8; 10]))
                .send()
                .await
                .unwrap_err()
        )
        .code,
        "AccessDeniedException"
    );
}
