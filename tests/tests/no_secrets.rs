//! Secrets never leave keytrail except in the response to the caller: no plaintext, data key,
//! ciphertext, random bytes, message, signature, MAC, private key, shared secret or peer public
//! key — raw, base64 (at any alignment) or hex — in
//! any record (`/_keytrail/events`), in the `--events-out` file, or in any log line (a TRACE-level
//! tracing subscriber captures everything logged in this process while the server runs).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeyPairSpec, DataKeySpec, EncryptionAlgorithmSpec, KeyAgreementAlgorithmSpec, MacAlgorithmSpec, SigningAlgorithmSpec,
};
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use keytrail_server::Options;
use keytrail_tests::{create_key_of, failure, raw_http, Server};
use serde_json::Value;

/// Everything logged in this test binary, at every level.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// The AWS SDK and its HTTP client log their own requests and responses (bodies included) at
/// TRACE: that is the test client's business, not keytrail's, so those targets are left out.
/// Everything else — keytrail's crates, hyper and tokio on the server side — is captured.
fn client_side(target: &str) -> bool {
    target.starts_with("aws_") || target.starts_with("hyper_util::client")
}

fn log_capture() -> &'static Capture {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    static LOG: OnceLock<Capture> = OnceLock::new();
    LOG.get_or_init(|| {
        let capture = Capture::default();
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(capture.clone())
            .with_filter(tracing_subscriber::filter::filter_fn(|meta| !client_side(meta.target())));
        tracing_subscriber::registry().with(layer).init();
        capture
    })
}

/// The secrets of one run, and the forms in which each could leak.
#[derive(Default)]
struct Secrets(Vec<(String, Vec<u8>)>);

impl Secrets {
    fn add(&mut self, what: impl Into<String>, bytes: impl AsRef<[u8]>) {
        let bytes = bytes.as_ref().to_vec();
        assert!(bytes.len() >= 12, "a secret this short could match by chance");
        self.0.push((what.into(), bytes));
    }

    /// Text forms: base64 (standard and URL-safe, at each of the three byte alignments, so a
    /// secret inside a larger base64 blob is found too), hex (lower and upper case).
    fn forms(bytes: &[u8]) -> Vec<String> {
        let mut forms = vec![hex::encode(bytes), hex::encode_upper(bytes)];
        for engine in [&STANDARD, &URL_SAFE] {
            for offset in 0..3usize {
                let mut shifted = vec![0u8; offset];
                shifted.extend_from_slice(bytes);
                let encoded = engine.encode(&shifted);
                // Characters that depend only on the secret: skip the ones mixing in the
                // prefix, and the last group (padding, or whatever follows).
                let start = (offset * 8).div_ceil(6);
                let end = encoded.trim_end_matches('=').len().saturating_sub(4);
                if end > start + 8 {
                    forms.push(encoded[start..end].to_string());
                }
            }
        }
        forms
    }

    fn assert_absent(&self, place: &str, haystack: &[u8]) {
        let text = String::from_utf8_lossy(haystack);
        for (what, bytes) in &self.0 {
            assert!(!haystack.windows(bytes.len()).any(|w| w == bytes.as_slice()), "{what} appears raw in {place}");
            for form in Self::forms(bytes) {
                assert!(!text.contains(&form), "{what} appears as {form} in {place}");
            }
        }
    }
}

fn events_out_path(tag: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    std::env::temp_dir().join(format!("keytrail-no-secrets-{tag}-{}-{nanos}.jsonl", std::process::id()))
}

fn random(n: usize) -> Vec<u8> {
    // Distinct, non-repeating bytes; no need for a CSPRNG to spot a leak.
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[tokio::test]
async fn no_secret_in_records_events_out_or_logs() {
    let log = log_capture();
    tracing::info!(target: "keytrail_tests::no_secrets", "capture started");
    let path = events_out_path("sdk");
    let s = Server::start_with(Options { events_out: Some(path.to_string_lossy().into_owned()), ..Default::default() }).await;
    let kms = s.kms();
    let mut secrets = Secrets::default();

    let a = kms.create_key().description("not secret").send().await.unwrap().key_metadata.unwrap().key_id;
    let b = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    kms.create_alias().alias_name("alias/secrets").target_key_id(&a).send().await.unwrap();

    // Encrypt / Decrypt: text and binary plaintexts, with and without context and KeyId.
    let text = b"TOP-SECRET-PLAINTEXT-do-not-log-7f3a9c".to_vec();
    let binary = random(64);
    secrets.add("text plaintext", &text);
    secrets.add("binary plaintext", &binary);
    let mut ciphertexts = Vec::new();
    for (i, plain) in [&text, &binary].into_iter().enumerate() {
        for key in [a.as_str(), "alias/secrets"] {
            let out =
                kms.encrypt().key_id(key).plaintext(Blob::new(plain.clone())).encryption_context("n", i.to_string()).send().await.unwrap();
            let ct = out.ciphertext_blob.unwrap();
            secrets.add(format!("ciphertext of plaintext {i}"), ct.as_ref());
            let back = kms.decrypt().ciphertext_blob(ct.clone()).encryption_context("n", i.to_string()).send().await.unwrap();
            assert_eq!(back.plaintext().unwrap().as_ref(), plain.as_slice());
            kms.decrypt().ciphertext_blob(ct.clone()).key_id(key).encryption_context("n", i.to_string()).send().await.unwrap();
            ciphertexts.push((ct, i));
        }
    }
    // ReEncrypt: the source and the new ciphertext.
    let (source, i) = ciphertexts[0].clone();
    let out =
        kms.re_encrypt().ciphertext_blob(source).source_encryption_context("n", i.to_string()).destination_key_id(&b).send().await.unwrap();
    secrets.add("re-encrypted ciphertext", out.ciphertext_blob().unwrap().as_ref());

    // Data keys and random bytes.
    for spec in [DataKeySpec::Aes256, DataKeySpec::Aes128] {
        let out = kms.generate_data_key().key_id(&a).key_spec(spec).send().await.unwrap();
        secrets.add("data key", out.plaintext().unwrap().as_ref());
        secrets.add("encrypted data key", out.ciphertext_blob().unwrap().as_ref());
        let dec = kms.decrypt().ciphertext_blob(out.ciphertext_blob().unwrap().clone()).send().await.unwrap();
        assert_eq!(dec.plaintext().unwrap().as_ref(), out.plaintext().unwrap().as_ref());
    }
    let out = kms.generate_data_key().key_id("alias/secrets").number_of_bytes(100).send().await.unwrap();
    secrets.add("100-byte data key", out.plaintext().unwrap().as_ref());
    let out = kms.generate_data_key_without_plaintext().key_id(&a).key_spec(DataKeySpec::Aes256).send().await.unwrap();
    secrets.add("encrypted data key (without plaintext)", out.ciphertext_blob().unwrap().as_ref());
    let hidden = kms.decrypt().ciphertext_blob(out.ciphertext_blob().unwrap().clone()).send().await.unwrap();
    secrets.add("data key made without plaintext", hidden.plaintext().unwrap().as_ref());
    for n in [16, 1024] {
        let out = kms.generate_random().number_of_bytes(n).send().await.unwrap();
        secrets.add("random bytes", out.plaintext().unwrap().as_ref());
    }

    // Rotation: material changes, the ciphertexts and their plaintexts still must not show.
    kms.rotate_key_on_demand().key_id(&a).send().await.unwrap();
    let out = kms.encrypt().key_id(&a).plaintext(Blob::new(text.clone())).send().await.unwrap();
    secrets.add("ciphertext after rotation", out.ciphertext_blob().unwrap().as_ref());

    // Failures carrying secrets: wrong context, tampered blob, wrong key, disabled key,
    // oversized plaintext, unsupported operations with a message and a signature.
    let (ct, _) = ciphertexts[1].clone();
    let mut tampered = ct.as_ref().to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x55;
    secrets.add("tampered ciphertext", &tampered);
    for f in [
        failure(kms.decrypt().ciphertext_blob(ct.clone()).encryption_context("n", "wrong").send().await.unwrap_err()),
        failure(kms.decrypt().ciphertext_blob(Blob::new(tampered)).encryption_context("n", "0").send().await.unwrap_err()),
        failure(kms.decrypt().ciphertext_blob(ct.clone()).key_id(&b).send().await.unwrap_err()),
    ] {
        assert!(f.code == "InvalidCiphertextException" || f.code == "IncorrectKeyException", "{f:?}");
    }
    let big_secret = {
        let mut v = b"OVERSIZED-SECRET-".to_vec();
        v.extend(random(4100));
        v
    };
    secrets.add("oversized plaintext", &big_secret);
    assert_eq!(failure(kms.encrypt().key_id(&a).plaintext(Blob::new(big_secret)).send().await.unwrap_err()).code, "ValidationException");
    kms.disable_key().key_id(&b).send().await.unwrap();
    let refused = b"PLAINTEXT-FOR-A-DISABLED-KEY-91c2".to_vec();
    secrets.add("plaintext refused by a disabled key", &refused);
    assert_eq!(failure(kms.encrypt().key_id(&b).plaintext(Blob::new(refused)).send().await.unwrap_err()).code, "DisabledException");
    // Asymmetric and HMAC keys: messages, signatures, MACs, RSA plaintexts and ciphertexts, data
    // key pairs' private keys, shared secrets and peers' public keys, on success and failure.
    let message = b"MESSAGE-TO-SIGN-never-logged-44d1".to_vec();
    secrets.add("message", &message);
    let signer = create_key_of(&kms, "ECC_NIST_P256", "SIGN_VERIFY").await.key_id;
    let signature = kms
        .sign()
        .key_id(&signer)
        .message(Blob::new(message.clone()))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap()
        .signature
        .unwrap();
    secrets.add("signature", signature.as_ref());
    let verify = |sig: Vec<u8>| {
        kms.verify()
            .key_id(&signer)
            .message(Blob::new(message.clone()))
            .signature(Blob::new(sig))
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
    };
    assert!(verify(signature.as_ref().to_vec()).await.unwrap().signature_valid());
    let forged = random(72);
    secrets.add("forged signature", &forged);
    assert_eq!(failure(verify(forged).await.unwrap_err()).code, "KMSInvalidSignatureException");
    let f = failure(
        kms.sign()
            .key_id(&a)
            .message(Blob::new(message.clone()))
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "InvalidKeyUsageException");

    let mac_key = create_key_of(&kms, "HMAC_256", "GENERATE_VERIFY_MAC").await.key_id;
    let mac = kms
        .generate_mac()
        .key_id(&mac_key)
        .message(Blob::new(message.clone()))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap()
        .mac
        .unwrap();
    secrets.add("MAC", mac.as_ref());
    kms.verify_mac()
        .key_id(&mac_key)
        .message(Blob::new(message.clone()))
        .mac(mac)
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap();
    let wrong_mac = random(32);
    secrets.add("wrong MAC", &wrong_mac);
    let f = failure(
        kms.verify_mac()
            .key_id(&mac_key)
            .message(Blob::new(message.clone()))
            .mac(Blob::new(wrong_mac))
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "KMSInvalidMacException");

    let rsa = create_key_of(&kms, "RSA_2048", "ENCRYPT_DECRYPT").await.key_id;
    let rsa_plain = b"RSA-WRAPPED-SECRET-0c9d2e71".to_vec();
    secrets.add("RSA plaintext", &rsa_plain);
    let rsa_ct = kms
        .encrypt()
        .key_id(&rsa)
        .plaintext(Blob::new(rsa_plain.clone()))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    secrets.add("RSA ciphertext", rsa_ct.as_ref());
    let back = kms
        .decrypt()
        .key_id(&rsa)
        .ciphertext_blob(rsa_ct)
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap();
    assert_eq!(back.plaintext().unwrap().as_ref(), &rsa_plain[..]);

    for spec in [DataKeyPairSpec::EccNistP256, DataKeyPairSpec::Rsa2048] {
        let pair = kms.generate_data_key_pair().key_id(&a).key_pair_spec(spec).send().await.unwrap();
        secrets.add("data key pair private key", pair.private_key_plaintext().unwrap().as_ref());
        secrets.add("encrypted data key pair private key", pair.private_key_ciphertext_blob().unwrap().as_ref());
    }

    let agree = create_key_of(&kms, "ECC_NIST_P256", "KEY_AGREEMENT").await.key_id;
    let peer = kms.generate_data_key_pair().key_id(&a).key_pair_spec(DataKeyPairSpec::EccNistP256).send().await.unwrap();
    secrets.add("peer public key (a DeriveSharedSecret request member AWS leaves out)", peer.public_key().unwrap().as_ref());
    let shared = kms
        .derive_shared_secret()
        .key_id(&agree)
        .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
        .public_key(peer.public_key().unwrap().clone())
        .send()
        .await
        .unwrap();
    secrets.add("shared secret", shared.shared_secret().unwrap().as_ref());

    // Hand-made bodies: secrets in malformed members must not come back in error messages
    // (which are recorded as errorMessage).
    let not_base64 = "NOT-BASE64-SECRET-VALUE-!!-3b7e";
    secrets.add("a value that is not base64", not_base64);
    let broken_json = "BROKEN-JSON-SECRET-c0ffee";
    secrets.add("text of a body that is not JSON", broken_json);
    // A secret member spelled in another case is still a secret: AWS's members are
    // case-sensitive, so KMS ignores it, but the caller meant it as the plaintext.
    let miscased = b"MISCASED-MEMBER-SECRET-5e2a41".to_vec();
    secrets.add("a secret member in another case", &miscased);
    let miscased = STANDARD.encode(&miscased);
    let auth = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00";
    let kms_headers = |op: &'static str| [("x-amz-target", op), ("content-type", "application/x-amz-json-1.1"), ("authorization", auth)];
    for (op, body) in [
        ("TrentService.Encrypt", format!(r#"{{"KeyId":"{a}","Plaintext":"{not_base64}"}}"#)),
        ("TrentService.Decrypt", format!(r#"{{"CiphertextBlob":"{not_base64}"}}"#)),
        ("TrentService.Encrypt", format!(r#"{{"KeyId":"{a}","Plaintext":{{"{broken_json}":1}}}}"#)),
        ("TrentService.Encrypt", format!(r#"{{"KeyId":"{a}","Plaintext":"{broken_json}"#)),
        ("TrentService.Decrypt", format!(r#"{{"CiphertextBlob":["{broken_json}"]}}"#)),
        ("TrentService.Encrypt", format!(r#"{{"KeyId":"{a}","plaintext":"{miscased}"}}"#)),
        ("TrentService.Encrypt", format!(r#"{{"KeyId":"{a}","PLAINTEXT":"{miscased}"}}"#)),
        ("TrentService.Decrypt", format!(r#"{{"ciphertextBlob":"{miscased}"}}"#)),
        ("TrentService.Sign", format!(r#"{{"KeyId":"{a}","message":"{miscased}","SigningAlgorithm":"ECDSA_SHA_256"}}"#)),
    ] {
        let (status, response) = raw_http(s.addr, "POST", "/", &kms_headers(op), &body).await;
        assert_eq!(status, 400, "{op} {body}: {response}");
        secrets.assert_absent("an error response", response.as_bytes());
    }

    let (_, events) = raw_http(s.addr, "GET", "/_keytrail/events", &[], "").await;
    let records: Value = serde_json::from_str(&events).unwrap();
    let count = records["Records"].as_array().unwrap().len();
    assert!(count > 40, "every call was recorded ({count})");
    s.stop().await;
    let file = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(file.iter().filter(|b| **b == b'\n').count(), count, "one line per record in --events-out");

    secrets.assert_absent("the records (/_keytrail/events)", events.as_bytes());
    secrets.assert_absent("the --events-out file", &file);
    let logged = log.0.lock().unwrap().clone();
    assert!(String::from_utf8_lossy(&logged).contains("capture started"), "the log capture works");
    secrets.assert_absent("the log", &logged);

    // The check itself finds a secret where there is one.
    let mut probe = Secrets::default();
    probe.add("probe", &text);
    let leaked = format!("{{\"x\":\"{}\"}}", STANDARD.encode([&b"ab"[..], &text[..], b"cd"].concat()));
    assert!(std::panic::catch_unwind(|| probe.assert_absent("probe", leaked.as_bytes())).is_err());
    let leaked_hex = hex::encode(&text);
    assert!(std::panic::catch_unwind(|| probe.assert_absent("probe", leaked_hex.as_bytes())).is_err());
}
