//! HMAC keys and seeded asymmetric keys: GenerateMac/VerifyMac for every HMAC spec checked
//! against `openssl dgst -mac HMAC` with the seeded key bytes, KMSInvalidMacException, and a
//! `[[keys]]` seed with a PKCS#8 PEM whose signatures verify offline with the PEM's own public key.

use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MacAlgorithmSpec, SigningAlgorithmSpec};
use keytrail_server::Options;
use keytrail_tests::openssl::{openssl, openssl_ok, Scratch};
use keytrail_tests::{assert_api_record_shape, failure, Server};
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const HMAC_KEYS: &[(&str, &str, &str, usize)] = &[
    ("HMAC_224", "HMAC_SHA_224", "sha224", 28),
    ("HMAC_256", "HMAC_SHA_256", "sha256", 32),
    ("HMAC_384", "HMAC_SHA_384", "sha384", 48),
    ("HMAC_512", "HMAC_SHA_512", "sha512", 64),
];

fn key_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{:012}", i + 1)
}

fn material(len: usize, i: usize) -> String {
    (0..len).map(|b| format!("{:02x}", (b * 7 + i * 13) % 256)).collect()
}

fn hmac_config() -> String {
    let mut text = String::new();
    for (i, (spec, _, _, len)) in HMAC_KEYS.iter().enumerate() {
        text.push_str(&format!(
            "[[keys]]\naccount = \"{ACCOUNT}\"\nregion = \"us-east-1\"\nkey_id = \"{}\"\nkey_spec = \"{spec}\"\nmaterial_hex = [\"{}\"]\naliases = [\"alias/mac-{i}\"]\n\n",
            key_id(i),
            material(*len, i)
        ));
    }
    text
}

#[tokio::test]
async fn macs_equal_openssl_hmac_with_the_seeded_key_and_bad_macs_are_refused() {
    let s = Server::start_with(Options::from_config(&hmac_config()).unwrap()).await;
    let kms = s.kms();
    let scratch = Scratch::new("hmac");
    let message = b"webhook payload {\"id\": 42}".to_vec();
    let input = scratch.write("msg", &message);
    for (i, (spec, alg, md, len)) in HMAC_KEYS.iter().enumerate() {
        let id = key_id(i);
        let md_meta = kms.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap();
        assert_eq!(md_meta.key_spec().map(KeySpec::as_str), Some(*spec));
        assert_eq!(md_meta.key_usage(), Some(&KeyUsageType::GenerateVerifyMac));
        assert_eq!(md_meta.mac_algorithms().iter().map(|a| a.as_str()).collect::<Vec<_>>(), vec![*alg]);

        let out = kms
            .generate_mac()
            .key_id(format!("alias/mac-{i}"))
            .message(Blob::new(message.clone()))
            .mac_algorithm(MacAlgorithmSpec::from(*alg))
            .send()
            .await
            .unwrap();
        let mac = out.mac().unwrap().as_ref().to_vec();
        let expected = scratch.path("expected");
        openssl_ok(&[
            "dgst",
            &format!("-{md}"),
            "-mac",
            "HMAC",
            "-macopt",
            &format!("hexkey:{}", material(*len, i)),
            "-binary",
            "-out",
            &expected,
            &input,
        ]);
        assert_eq!(mac, scratch.read("expected"), "{spec}: the MAC is OpenSSL's HMAC");
        let r = s.record_of(out.request_id().unwrap()).await;
        assert_api_record_shape(&r);
        assert_eq!(r["eventName"], "GenerateMac");
        assert_eq!(r["readOnly"], true);
        assert_eq!(r["requestParameters"], json!({"keyId": format!("alias/mac-{i}"), "macAlgorithm": alg}));
        assert_eq!(r["responseElements"], Value::Null);
        assert_eq!(
            r["resources"],
            json!([{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{id}")}])
        );

        let ok = kms
            .verify_mac()
            .key_id(&id)
            .message(Blob::new(message.clone()))
            .mac(Blob::new(mac.clone()))
            .mac_algorithm(MacAlgorithmSpec::from(*alg))
            .send()
            .await
            .unwrap();
        assert!(ok.mac_valid());
        let r = s.record_of(ok.request_id().unwrap()).await;
        assert_eq!(r["requestParameters"], json!({"keyId": id, "macAlgorithm": alg}), "no message, no MAC");

        let mut bad = mac.clone();
        bad[0] ^= 0x80;
        for (m, tag) in [(message.clone(), bad), (b"other".to_vec(), mac.clone()), (message.clone(), mac[..mac.len() - 1].to_vec())] {
            let f = failure(
                kms.verify_mac()
                    .key_id(&id)
                    .message(Blob::new(m))
                    .mac(Blob::new(tag))
                    .mac_algorithm(MacAlgorithmSpec::from(*alg))
                    .send()
                    .await
                    .unwrap_err(),
            );
            assert_eq!(f.code, "KMSInvalidMacException", "{spec}");
            assert_eq!(s.record_of(&f.request_id).await["errorCode"], "KMSInvalidMacException");
        }
        // Another spec's algorithm is refused.
        let other = if *alg == "HMAC_SHA_256" { MacAlgorithmSpec::HmacSha512 } else { MacAlgorithmSpec::HmacSha256 };
        let f = failure(kms.generate_mac().key_id(&id).message(Blob::new("m")).mac_algorithm(other).send().await.unwrap_err());
        assert_eq!(f.code, "InvalidKeyUsageException");
    }
    // Limits and the wrong kind of key.
    let f = failure(
        kms.generate_mac()
            .key_id(key_id(1))
            .message(Blob::new(vec![0u8; 4097]))
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(f.code, "ValidationException");
    let sym = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let f = failure(
        kms.generate_mac().key_id(&sym).message(Blob::new("m")).mac_algorithm(MacAlgorithmSpec::HmacSha256).send().await.unwrap_err(),
    );
    assert_eq!(f.code, "InvalidKeyUsageException");
    let f = failure(kms.encrypt().key_id(key_id(1)).plaintext(Blob::new("m")).send().await.unwrap_err());
    assert_eq!(f.code, "InvalidKeyUsageException", "an HMAC key does not encrypt");
    kms.disable_key().key_id(key_id(1)).send().await.unwrap();
    let f = failure(
        kms.generate_mac().key_id(key_id(1)).message(Blob::new("m")).mac_algorithm(MacAlgorithmSpec::HmacSha256).send().await.unwrap_err(),
    );
    assert_eq!(f.code, "DisabledException");
    // Created HMAC keys work too (fresh material of the spec's length).
    let created =
        kms.create_key().key_spec(KeySpec::Hmac384).key_usage(KeyUsageType::GenerateVerifyMac).send().await.unwrap().key_metadata.unwrap();
    let mac = kms
        .generate_mac()
        .key_id(&created.key_id)
        .message(Blob::new("m"))
        .mac_algorithm(MacAlgorithmSpec::HmacSha384)
        .send()
        .await
        .unwrap();
    assert_eq!(mac.mac().unwrap().as_ref().len(), 48);
}

#[tokio::test]
async fn a_seeded_signing_key_signs_tokens_that_verify_offline_with_its_pem() {
    let scratch = Scratch::new("seed");
    let pem_path = scratch.path("seed.pem");
    openssl_ok(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", &pem_path]);
    let pem = String::from_utf8(scratch.read("seed.pem")).unwrap();
    let public = scratch.path("seed-pub.pem");
    openssl_ok(&["pkey", "-in", &pem_path, "-pubout", "-out", &public]);
    let config = format!(
        "[[keys]]\naccount = \"{ACCOUNT}\"\nregion = \"us-east-1\"\nkey_id = \"{}\"\nkey_spec = \"ECC_NIST_P256\"\nkey_usage = \"SIGN_VERIFY\"\naliases = [\"alias/jwt\"]\nprivate_key_pem = '''\n{pem}'''\n",
        key_id(9)
    );
    let s = Server::start_with(Options::from_config(&config).unwrap()).await;
    let kms = s.kms();
    let token = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0".to_vec();
    let sig = kms
        .sign()
        .key_id("alias/jwt")
        .message(Blob::new(token.clone()))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap()
        .signature
        .unwrap();
    let msg = scratch.write("token", &token);
    let sigfile = scratch.write("token.sig", sig.as_ref());
    let text = openssl_ok(&["dgst", "-sha256", "-verify", &public, "-signature", &sigfile, &msg]);
    assert!(text.contains("Verified OK"), "{text}");
    // GetPublicKey gives the PEM's public key.
    let der = scratch.path("seed-pub.der");
    openssl_ok(&["pkey", "-in", &pem_path, "-pubout", "-outform", "DER", "-out", &der]);
    let got = kms.get_public_key().key_id("alias/jwt").send().await.unwrap().public_key.unwrap();
    assert_eq!(got.as_ref(), &scratch.read("seed-pub.der")[..]);
    // Reset re-applies the same key.
    s.control("POST", "/_keytrail/reset", Some("{}")).await;
    let again = kms.get_public_key().key_id("alias/jwt").send().await.unwrap().public_key.unwrap();
    assert_eq!(again.as_ref(), got.as_ref());
}

#[test]
fn bad_seeds_are_refused_with_a_message_that_names_the_field_not_the_secret() {
    let scratch = Scratch::new("badseed");
    let pem_path = scratch.path("k.pem");
    openssl_ok(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", &pem_path]);
    let pem = String::from_utf8(scratch.read("k.pem")).unwrap();
    let (ok, _) = openssl(&["version"]);
    assert!(ok);
    let seed = |body: &str| format!("[[keys]]\naccount = \"{ACCOUNT}\"\nregion = \"us-east-1\"\nkey_id = \"{}\"\n{body}\n", key_id(3));
    let cases = [
        (
            format!("key_spec = \"ECC_NIST_P256\"\nkey_usage = \"SIGN_VERIFY\"\nprivate_key_pem = '''{pem}'''"),
            "private_key_pem is not a ECC_NIST_P256 private key",
        ),
        ("key_spec = \"ECC_NIST_P256\"\nkey_usage = \"ENCRYPT_DECRYPT\"".to_string(), "key_usage"),
        ("key_spec = \"RSA_1024\"".to_string(), "key_spec = \"RSA_1024\""),
        ("key_spec = \"HMAC_256\"\nmaterial_hex = [\"abcd\"]".to_string(), "material_hex[0] must be 64 hex characters"),
        ("key_spec = \"SM2\"".to_string(), "China Regions"),
        (
            "key_spec = \"ECC_NIST_P256\"\nkey_usage = \"SIGN_VERIFY\"\nprivate_key_pem = \"not pem\"".to_string(),
            "private_key_pem is not a PEM document",
        ),
        (
            "key_spec = \"ECC_NIST_P256\"\nkey_usage = \"SIGN_VERIFY\"\nmaterial_hex = [\"00\"]".to_string(),
            "material_hex is for symmetric and HMAC keys",
        ),
    ];
    for (body, want) in cases {
        let e = match Options::from_config(&seed(&body)) {
            Ok(_) => panic!("accepted: {body}"),
            Err(e) => e.0,
        };
        assert!(e.contains(want), "{e} (wanted {want})");
        assert!(!e.contains("BEGIN PRIVATE KEY") && !e.contains(&pem[40..80]), "the message shows no key: {e}");
    }
}
