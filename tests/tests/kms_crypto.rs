//! Symmetric cryptography: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext),
//! GenerateRandom — round trips by every key reference, encryption-context binding, wrong keys,
//! damaged and foreign ciphertexts, limits, and the records of each.

use std::collections::HashMap;

use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, EncryptionAlgorithmSpec};
use aws_sdk_kms::Client;
use keytrail_tests::{assert_api_record_shape, failure, Server};
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";

async fn new_key(kms: &Client) -> (String, String) {
    let md = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    (md.key_id, md.arn.unwrap())
}

fn ctx(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

async fn encrypt(kms: &Client, key: &str, plaintext: &[u8], context: Option<HashMap<String, String>>) -> Blob {
    kms.encrypt().key_id(key).plaintext(Blob::new(plaintext)).set_encryption_context(context).send().await.unwrap().ciphertext_blob.unwrap()
}

#[tokio::test]
async fn encrypt_and_decrypt_by_every_key_reference_with_and_without_key_id() {
    let s = Server::start().await;
    let kms = s.kms();
    let (id, arn) = new_key(&kms).await;
    kms.create_alias().alias_name("alias/crypto").target_key_id(&id).send().await.unwrap();
    let alias_arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/crypto");
    let references = [id.as_str(), arn.as_str(), "alias/crypto", alias_arn.as_str()];

    let mut ciphertexts = Vec::new();
    for (i, reference) in references.iter().enumerate() {
        let plaintext = format!("secret number {i}");
        let out = kms.encrypt().key_id(*reference).plaintext(Blob::new(plaintext.as_bytes())).send().await.unwrap();
        assert_eq!(out.key_id(), Some(arn.as_str()), "Encrypt answers with the key ARN for {reference}");
        assert_eq!(out.encryption_algorithm(), Some(&EncryptionAlgorithmSpec::SymmetricDefault));
        let blob = out.ciphertext_blob().unwrap().clone();
        assert!(!blob.as_ref().windows(plaintext.len()).any(|w| w == plaintext.as_bytes()), "ciphertext hides the plaintext");
        let r = s.record_of(out.request_id().unwrap()).await;
        assert_api_record_shape(&r);
        assert_eq!(r["eventName"], "Encrypt");
        assert_eq!(r["readOnly"], true);
        assert_eq!(r["requestParameters"], json!({"keyId": reference, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}));
        assert_eq!(r["responseElements"], Value::Null);
        assert_eq!(r["resources"], json!([{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": arn}]));
        ciphertexts.push((plaintext, blob));
    }
    // Same plaintext twice gives two different ciphertexts (fresh nonce).
    let a = encrypt(&kms, &id, b"same", None).await;
    let b = encrypt(&kms, &id, b"same", None).await;
    assert_ne!(a.as_ref(), b.as_ref());

    for (plaintext, blob) in &ciphertexts {
        // Without KeyId: the key comes from the ciphertext, and the record still names it.
        let out = kms.decrypt().ciphertext_blob(blob.clone()).send().await.unwrap();
        assert_eq!(out.plaintext().unwrap().as_ref(), plaintext.as_bytes());
        assert_eq!(out.key_id(), Some(arn.as_str()));
        assert_eq!(out.encryption_algorithm(), Some(&EncryptionAlgorithmSpec::SymmetricDefault));
        let r = s.record_of(out.request_id().unwrap()).await;
        assert_api_record_shape(&r);
        assert_eq!(r["requestParameters"], json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}));
        assert_eq!(r["resources"][0]["ARN"], arn.as_str(), "resolved from the ciphertext");
        assert_eq!(r["responseElements"], Value::Null);
        // With KeyId, in every form.
        for reference in references {
            let out = kms.decrypt().ciphertext_blob(blob.clone()).key_id(reference).send().await.unwrap();
            assert_eq!(out.plaintext().unwrap().as_ref(), plaintext.as_bytes(), "Decrypt with KeyId {reference}");
            let r = s.record_of(out.request_id().unwrap()).await;
            assert_eq!(r["requestParameters"], json!({"keyId": reference, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}));
            assert_eq!(r["resources"][0]["ARN"], arn.as_str());
        }
    }
}

#[tokio::test]
async fn encryption_context_is_bound_to_the_ciphertext() {
    let s = Server::start().await;
    let kms = s.kms();
    let (id, _) = new_key(&kms).await;
    let ct = encrypt(&kms, &id, b"bound", Some(ctx(&[("ab", "c")]))).await;
    let r = s.last_event().await;
    assert_eq!(r["requestParameters"]["encryptionContext"], json!({"ab": "c"}));

    let ok = kms.decrypt().ciphertext_blob(ct.clone()).set_encryption_context(Some(ctx(&[("ab", "c")]))).send().await;
    assert_eq!(ok.unwrap().plaintext.unwrap().as_ref(), b"bound");
    let r = s.last_event().await;
    assert_eq!(r["requestParameters"]["encryptionContext"], json!({"ab": "c"}), "context is logged as sent");

    for wrong in [
        Some(ctx(&[("a", "bc")])),
        None,
        Some(ctx(&[])),
        Some(ctx(&[("ab", "c"), ("x", "y")])),
        Some(ctx(&[("AB", "c")])),
        Some(ctx(&[("ab", "C")])),
    ] {
        let f = failure(kms.decrypt().ciphertext_blob(ct.clone()).set_encryption_context(wrong.clone()).send().await.unwrap_err());
        assert_eq!(f.code, "InvalidCiphertextException", "context {wrong:?}");
        let r = s.record_of(&f.request_id).await;
        assert_eq!(r["errorCode"], "InvalidCiphertextException");
        assert_eq!(r["errorMessage"], f.message.as_str());
    }

    // Encrypted without a context: decrypting with one fails.
    let bare = encrypt(&kms, &id, b"bare", None).await;
    let f =
        failure(kms.decrypt().ciphertext_blob(bare.clone()).set_encryption_context(Some(ctx(&[("ab", "c")]))).send().await.unwrap_err());
    assert_eq!(f.code, "InvalidCiphertextException");
    assert_eq!(kms.decrypt().ciphertext_blob(bare).send().await.unwrap().plaintext.unwrap().as_ref(), b"bare");

    // The order pairs are sent in does not matter (each HashMap has its own random order).
    let pairs = [("one", "1"), ("two", "2"), ("three", "3"), ("four", "4")];
    let ct = encrypt(&kms, &id, b"many", Some(ctx(&pairs))).await;
    for _ in 0..4 {
        let reordered = ctx(&[pairs[3], pairs[1], pairs[2], pairs[0]]);
        let out = kms.decrypt().ciphertext_blob(ct.clone()).set_encryption_context(Some(reordered)).send().await.unwrap();
        assert_eq!(out.plaintext().unwrap().as_ref(), b"many");
    }

    // Limits: an empty context key is invalid; the whole context is at most 8192 bytes.
    let f = failure(kms.encrypt().key_id(&id).plaintext(Blob::new("x")).encryption_context("", "v").send().await.unwrap_err());
    assert_eq!(f.code, "ValidationException");
    let big = ctx(&[("k", &"v".repeat(8192))]);
    let f = failure(kms.encrypt().key_id(&id).plaintext(Blob::new("x")).set_encryption_context(Some(big)).send().await.unwrap_err());
    assert_eq!(f.code, "ValidationException");
}

#[tokio::test]
async fn a_key_id_naming_another_key_is_incorrect_key() {
    let s = Server::start().await;
    let kms = s.kms();
    let (a, _) = new_key(&kms).await;
    let (b, b_arn) = new_key(&kms).await;
    kms.create_alias().alias_name("alias/b").target_key_id(&b).send().await.unwrap();
    let ct = encrypt(&kms, &a, b"for a", None).await;
    for reference in [b.as_str(), b_arn.as_str(), "alias/b"] {
        let f = failure(kms.decrypt().ciphertext_blob(ct.clone()).key_id(reference).send().await.unwrap_err());
        assert_eq!(f.code, "IncorrectKeyException", "KeyId {reference}");
        assert_eq!(f.message, "The key ID in the request does not identify a CMK that can perform this operation.");
        let r = s.record_of(&f.request_id).await;
        assert_api_record_shape(&r);
        assert_eq!(r["errorCode"], "IncorrectKeyException");
        assert_eq!(r["requestParameters"]["keyId"], reference);
        assert_eq!(r["resources"][0]["ARN"], b_arn.as_str(), "the key the request named");
    }
    // A KeyId naming no key at all is NotFound, checked before the ciphertext.
    let f = failure(kms.decrypt().ciphertext_blob(ct.clone()).key_id("alias/none").send().await.unwrap_err());
    assert_eq!(f.code, "NotFoundException");
    // ReEncrypt's SourceKeyId is checked the same way.
    let f = failure(kms.re_encrypt().ciphertext_blob(ct).source_key_id(&b).destination_key_id(&b).send().await.unwrap_err());
    assert_eq!(f.code, "IncorrectKeyException");
}

#[tokio::test]
async fn damaged_truncated_and_foreign_ciphertexts_are_invalid() {
    let s = Server::start().await;
    let kms = s.kms();
    let (id, _) = new_key(&kms).await;
    let (other, _) = new_key(&kms).await;
    let ct = encrypt(&kms, &id, b"do not tamper", Some(ctx(&[("purpose", "test")]))).await;
    let bytes = ct.as_ref().to_vec();
    let context = Some(ctx(&[("purpose", "test")]));

    let decrypt = |blob: Vec<u8>, key: Option<String>| {
        let kms = kms.clone();
        let context = context.clone();
        async move { kms.decrypt().ciphertext_blob(Blob::new(blob)).set_key_id(key).set_encryption_context(context).send().await }
    };

    // Every single flipped bit anywhere in the blob.
    for i in 0..bytes.len() {
        let mut t = bytes.clone();
        t[i] ^= 0x01;
        let f = failure(decrypt(t, None).await.unwrap_err());
        assert_eq!(f.code, "InvalidCiphertextException", "flipped byte {i}: {f:?}");
    }
    // Every truncation.
    for len in 1..bytes.len() {
        let f = failure(decrypt(bytes[..len].to_vec(), None).await.unwrap_err());
        assert_eq!(f.code, "InvalidCiphertextException", "truncated to {len}: {f:?}");
    }
    // Extra bytes at the end.
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(failure(decrypt(longer, None).await.unwrap_err()).code, "InvalidCiphertextException");
    // Damage to the body with the right KeyId is still InvalidCiphertext.
    let mut t = bytes.clone();
    *t.last_mut().unwrap() ^= 0x80;
    assert_eq!(failure(decrypt(t, Some(id.clone())).await.unwrap_err()).code, "InvalidCiphertextException");
    // The header names the key: point it at another existing key of the same account.
    let swapped = bytes
        .windows(id.len())
        .position(|w| w == id.as_bytes())
        .map(|at| {
            let mut t = bytes.clone();
            t[at..at + id.len()].copy_from_slice(other.as_bytes());
            t
        })
        .expect("the key id is in the blob header");
    assert_eq!(failure(decrypt(swapped, None).await.unwrap_err()).code, "InvalidCiphertextException");

    // Foreign blobs: what a real AWS ciphertext looks like, random bytes, text.
    let mut aws_like = vec![0x01, 0x02, 0x02, 0x00, 0x78];
    aws_like.extend((0..180u32).map(|i| (i * 37 % 251) as u8));
    for foreign in [aws_like, (0..64u8).collect(), b"this is not a ciphertext".to_vec(), vec![0]] {
        let f = failure(decrypt(foreign.clone(), None).await.unwrap_err());
        assert_eq!(f.code, "InvalidCiphertextException", "{foreign:?}");
        let r = s.record_of(&f.request_id).await;
        assert_api_record_shape(&r);
        assert_eq!(r["errorCode"], "InvalidCiphertextException");
        assert!(r.get("resources").is_none(), "no key could be derived: {r}");
    }
    // An empty blob or one over 6144 bytes is a validation error.
    assert_eq!(failure(decrypt(Vec::new(), None).await.unwrap_err()).code, "ValidationException");
    assert_eq!(failure(decrypt(vec![7; 6145], None).await.unwrap_err()).code, "ValidationException");

    // ReEncrypt refuses the same damage.
    let mut t = bytes.clone();
    t[bytes.len() / 2] ^= 0x10;
    let f = failure(kms.re_encrypt().ciphertext_blob(Blob::new(t)).destination_key_id(&id).send().await.unwrap_err());
    assert_eq!(f.code, "InvalidCiphertextException");
    // And the original is intact.
    assert_eq!(decrypt(bytes, None).await.unwrap().plaintext.unwrap().as_ref(), b"do not tamper");
}

#[tokio::test]
async fn re_encrypt_moves_a_ciphertext_to_another_key_and_context() {
    let s = Server::start().await;
    let kms = s.kms();
    let (a, a_arn) = new_key(&kms).await;
    let (b, b_arn) = new_key(&kms).await;
    kms.create_alias().alias_name("alias/dest").target_key_id(&b).send().await.unwrap();
    let ct = encrypt(&kms, &a, b"moving", Some(ctx(&[("from", "a")]))).await;

    let out = kms
        .re_encrypt()
        .ciphertext_blob(ct.clone())
        .source_encryption_context("from", "a")
        .destination_key_id("alias/dest")
        .destination_encryption_context("to", "b")
        .send()
        .await
        .unwrap();
    assert_eq!(out.source_key_id(), Some(a_arn.as_str()));
    assert_eq!(out.key_id(), Some(b_arn.as_str()));
    assert_eq!(out.source_encryption_algorithm(), Some(&EncryptionAlgorithmSpec::SymmetricDefault));
    assert_eq!(out.destination_encryption_algorithm(), Some(&EncryptionAlgorithmSpec::SymmetricDefault));
    let moved = out.ciphertext_blob().unwrap().clone();
    let r = s.record_of(out.request_id().unwrap()).await;
    assert_api_record_shape(&r);
    assert_eq!(r["readOnly"], true);
    assert_eq!(
        r["requestParameters"],
        json!({
            "sourceEncryptionContext": {"from": "a"},
            "destinationKeyId": "alias/dest",
            "destinationEncryptionContext": {"to": "b"},
            "sourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "destinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        })
    );
    assert_eq!(r["responseElements"], Value::Null);
    assert_eq!(
        r["resources"],
        json!([
            {"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": a_arn},
            {"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": b_arn},
        ]),
        "source first, then destination"
    );

    let out = kms.decrypt().ciphertext_blob(moved.clone()).encryption_context("to", "b").send().await.unwrap();
    assert_eq!(out.plaintext().unwrap().as_ref(), b"moving");
    assert_eq!(out.key_id(), Some(b_arn.as_str()));
    let f = failure(kms.decrypt().ciphertext_blob(moved.clone()).encryption_context("from", "a").send().await.unwrap_err());
    assert_eq!(f.code, "InvalidCiphertextException");
    let f = failure(kms.decrypt().ciphertext_blob(moved).key_id(&a).encryption_context("to", "b").send().await.unwrap_err());
    assert_eq!(f.code, "IncorrectKeyException");

    // With SourceKeyId, the record shows it too; same key as destination works (new context).
    let out = kms
        .re_encrypt()
        .ciphertext_blob(ct.clone())
        .source_key_id(&a)
        .source_encryption_context("from", "a")
        .destination_key_id(&a)
        .send()
        .await
        .unwrap();
    let r = s.record_of(out.request_id().unwrap()).await;
    assert_eq!(r["requestParameters"]["sourceKeyId"], a.as_str());
    assert_eq!(kms.decrypt().ciphertext_blob(out.ciphertext_blob.unwrap()).send().await.unwrap().plaintext.unwrap().as_ref(), b"moving");

    // Wrong source context, unknown destination.
    let f = failure(kms.re_encrypt().ciphertext_blob(ct.clone()).destination_key_id(&b).send().await.unwrap_err());
    assert_eq!(f.code, "InvalidCiphertextException");
    let f = failure(
        kms.re_encrypt()
            .ciphertext_blob(ct)
            .source_encryption_context("from", "a")
            .destination_key_id("alias/none")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "NotFoundException");
}

#[tokio::test]
async fn generate_data_key_and_without_plaintext() {
    let s = Server::start().await;
    let kms = s.kms();
    let (id, arn) = new_key(&kms).await;
    kms.create_alias().alias_name("alias/dk").target_key_id(&id).send().await.unwrap();

    for (spec, bytes, expected_len) in [
        (Some(DataKeySpec::Aes256), None, 32usize),
        (Some(DataKeySpec::Aes128), None, 16),
        (None, Some(1), 1),
        (None, Some(64), 64),
        (None, Some(1024), 1024),
    ] {
        let out = kms
            .generate_data_key()
            .key_id("alias/dk")
            .set_key_spec(spec.clone())
            .set_number_of_bytes(bytes)
            .encryption_context("use", "dk")
            .send()
            .await
            .unwrap();
        assert_eq!(out.key_id(), Some(arn.as_str()));
        let plain = out.plaintext().unwrap().as_ref().to_vec();
        assert_eq!(plain.len(), expected_len);
        let blob = out.ciphertext_blob().unwrap().clone();
        let r = s.record_of(out.request_id().unwrap()).await;
        assert_api_record_shape(&r);
        let mut expected = json!({"keyId": "alias/dk", "encryptionContext": {"use": "dk"}});
        if let Some(spec) = &spec {
            expected["keySpec"] = json!(spec.as_str());
        }
        if let Some(n) = bytes {
            expected["numberOfBytes"] = json!(n);
        }
        assert_eq!(r["requestParameters"], expected);
        assert_eq!(r["responseElements"], Value::Null);
        assert_eq!(r["resources"][0]["ARN"], arn.as_str(), "alias resolved in resources");
        // The encrypted copy decrypts to the plaintext copy, under the same context only.
        let dec = kms.decrypt().ciphertext_blob(blob.clone()).encryption_context("use", "dk").send().await.unwrap();
        assert_eq!(dec.plaintext().unwrap().as_ref(), plain.as_slice());
        assert_eq!(failure(kms.decrypt().ciphertext_blob(blob).send().await.unwrap_err()).code, "InvalidCiphertextException");
    }
    // Two data keys are different.
    let one = kms.generate_data_key().key_id(&id).key_spec(DataKeySpec::Aes256).send().await.unwrap();
    let two = kms.generate_data_key().key_id(&id).key_spec(DataKeySpec::Aes256).send().await.unwrap();
    assert_ne!(one.plaintext().unwrap().as_ref(), two.plaintext().unwrap().as_ref());

    let out = kms.generate_data_key_without_plaintext().key_id(&arn).key_spec(DataKeySpec::Aes256).send().await.unwrap();
    assert_eq!(out.key_id(), Some(arn.as_str()));
    let dec = kms.decrypt().ciphertext_blob(out.ciphertext_blob().unwrap().clone()).send().await.unwrap();
    assert_eq!(dec.plaintext().unwrap().as_ref().len(), 32);
    let r = s.record_of(out.request_id().unwrap()).await;
    assert_api_record_shape(&r);
    assert_eq!(r["eventName"], "GenerateDataKeyWithoutPlaintext");
    assert_eq!(r["readOnly"], true);
    assert_eq!(r["requestParameters"], json!({"keyId": arn, "keySpec": "AES_256"}));
    assert_eq!(r["responseElements"], Value::Null);

    // KeySpec or NumberOfBytes, exactly one; NumberOfBytes within 1..=1024.
    let cases = [(None, None), (Some(DataKeySpec::Aes256), Some(32)), (None, Some(0)), (None, Some(1025))];
    for (spec, n) in cases {
        let f = failure(kms.generate_data_key().key_id(&id).set_key_spec(spec.clone()).set_number_of_bytes(n).send().await.unwrap_err());
        assert_eq!(f.code, "ValidationException", "{spec:?} {n:?}");
        let f = failure(
            kms.generate_data_key_without_plaintext()
                .key_id(&id)
                .set_key_spec(spec.clone())
                .set_number_of_bytes(n)
                .send()
                .await
                .unwrap_err(),
        );
        assert_eq!(f.code, "ValidationException", "{spec:?} {n:?}");
    }
    let f = failure(kms.generate_data_key().key_id("alias/none").key_spec(DataKeySpec::Aes256).send().await.unwrap_err());
    assert_eq!(f.code, "NotFoundException");
}

#[tokio::test]
async fn generate_random_returns_the_bytes_asked_for() {
    let s = Server::start().await;
    let kms = s.kms();
    for n in [1, 32, 1024] {
        let out = kms.generate_random().number_of_bytes(n).send().await.unwrap();
        assert_eq!(out.plaintext().unwrap().as_ref().len(), n as usize);
        let r = s.record_of(out.request_id().unwrap()).await;
        assert_api_record_shape(&r);
        assert_eq!(r["eventName"], "GenerateRandom");
        assert_eq!(r["readOnly"], true);
        assert_eq!(r["requestParameters"], json!({"numberOfBytes": n}));
        assert_eq!(r["responseElements"], Value::Null);
        assert!(r.get("resources").is_none(), "GenerateRandom uses no key: {r}");
    }
    let a = kms.generate_random().number_of_bytes(32).send().await.unwrap().plaintext.unwrap();
    let b = kms.generate_random().number_of_bytes(32).send().await.unwrap().plaintext.unwrap();
    assert_ne!(a.as_ref(), b.as_ref());
    for n in [0, 1025] {
        let f = failure(kms.generate_random().number_of_bytes(n).send().await.unwrap_err());
        assert_eq!(f.code, "ValidationException", "{n}");
        assert!(f.message.contains("numberOfBytes"), "{}", f.message);
    }
}

#[tokio::test]
async fn encrypt_limits_algorithms_and_dry_run() {
    let s = Server::start().await;
    let kms = s.kms();
    let (id, arn) = new_key(&kms).await;
    let max = vec![0x5a; 4096];
    let ct = encrypt(&kms, &id, &max, None).await;
    assert_eq!(kms.decrypt().ciphertext_blob(ct).send().await.unwrap().plaintext.unwrap().as_ref(), max.as_slice());
    for bad in [vec![0x5a; 4097], Vec::new()] {
        let f = failure(kms.encrypt().key_id(&id).plaintext(Blob::new(bad.clone())).send().await.unwrap_err());
        assert_eq!(f.code, "ValidationException", "{} bytes", bad.len());
        assert!(f.message.contains("plaintext"), "{}", f.message);
    }
    // A symmetric key only does SYMMETRIC_DEFAULT.
    let f = failure(
        kms.encrypt()
            .key_id(&id)
            .plaintext(Blob::new("x"))
            .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "InvalidKeyUsageException");
    let r = s.record_of(&f.request_id).await;
    assert_eq!(r["requestParameters"]["encryptionAlgorithm"], "RSAES_OAEP_SHA_256");
    assert_eq!(r["resources"][0]["ARN"], arn.as_str());
    let f = failure(
        kms.encrypt()
            .key_id(&id)
            .plaintext(Blob::new("x"))
            .encryption_algorithm(EncryptionAlgorithmSpec::from("ROT13"))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "ValidationException");

    // DryRun: everything is checked, nothing is done, and the call is recorded.
    let f = failure(kms.encrypt().key_id(&id).plaintext(Blob::new("x")).dry_run(true).send().await.unwrap_err());
    assert_eq!(f.code, "DryRunOperationException");
    let r = s.record_of(&f.request_id).await;
    assert_eq!(r["errorCode"], "DryRunOperationException");
    assert_eq!(r["requestParameters"]["dryRun"], true);
    let f = failure(kms.generate_data_key().key_id(&id).key_spec(DataKeySpec::Aes256).dry_run(true).send().await.unwrap_err());
    assert_eq!(f.code, "DryRunOperationException");
}

#[tokio::test]
async fn every_crypto_operation_accepts_all_four_key_references() {
    let s = Server::start().await;
    let kms = s.kms();
    let (id, arn) = new_key(&kms).await;
    let (other, other_arn) = new_key(&kms).await;
    kms.create_alias().alias_name("alias/four").target_key_id(&id).send().await.unwrap();
    let alias_arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/four");
    for reference in [id.as_str(), arn.as_str(), "alias/four", alias_arn.as_str()] {
        let dk = kms.generate_data_key().key_id(reference).key_spec(DataKeySpec::Aes256).send().await.unwrap();
        assert_eq!(dk.key_id(), Some(arn.as_str()), "GenerateDataKey {reference}");
        let dkw = kms.generate_data_key_without_plaintext().key_id(reference).number_of_bytes(8).send().await.unwrap();
        assert_eq!(dkw.key_id(), Some(arn.as_str()), "GenerateDataKeyWithoutPlaintext {reference}");
        let r = s.record_of(dkw.request_id().unwrap()).await;
        assert_eq!(r["requestParameters"]["keyId"], reference);
        assert_eq!(r["resources"][0]["ARN"], arn.as_str());

        // ReEncrypt: as the source (SourceKeyId) and as the destination.
        let ct = encrypt(&kms, &other, b"four ways", None).await;
        let to = kms.re_encrypt().ciphertext_blob(ct).destination_key_id(reference).send().await.unwrap();
        assert_eq!(to.key_id(), Some(arn.as_str()), "ReEncrypt to {reference}");
        let back = kms
            .re_encrypt()
            .ciphertext_blob(to.ciphertext_blob.unwrap())
            .source_key_id(reference)
            .destination_key_id(&other_arn)
            .send()
            .await
            .unwrap();
        assert_eq!(back.source_key_id(), Some(arn.as_str()), "ReEncrypt from {reference}");
        let r = s.record_of(back.request_id().unwrap()).await;
        assert_eq!(r["requestParameters"]["sourceKeyId"], reference);
        assert_eq!(
            r["resources"],
            json!([
                {"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": arn},
                {"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": other_arn},
            ])
        );
    }
    // An alias ARN of another region or account is not found.
    for foreign in ["arn:aws:kms:eu-west-1:111122223333:alias/four", "arn:aws:kms:us-east-1:444455556666:alias/four"] {
        let f = failure(kms.encrypt().key_id(foreign).plaintext(Blob::new("x")).send().await.unwrap_err());
        assert_eq!(f.code, "NotFoundException", "{foreign}");
    }
}
