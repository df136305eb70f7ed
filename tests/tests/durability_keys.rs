//! `--data-dir` with every key type: RSA, ECC, Ed25519, ML-DSA, SM2 and HMAC keys keep their
//! material across a graceful restart and across `kill -9` of the real binary: the same public
//! keys, signatures and MACs made before still verify, ciphertexts still decrypt. Private keys are
//! wrapped like symmetric material: a seeded PKCS#8 key is in no file of the data dir.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{EncryptionAlgorithmSpec, MacAlgorithmSpec, SigningAlgorithmSpec};
use aws_sdk_kms::Client;
use keytrail_server::Options;
use keytrail_tests::openssl::{openssl_ok, Scratch};
use keytrail_tests::{create_key_of, files_under, temp_dir, Server};

/// What a key did before the restart, to be checked after it.
enum Proof {
    Signature { public: Vec<u8>, algorithm: &'static str, signature: Vec<u8> },
    Mac { algorithm: &'static str, mac: Vec<u8> },
    Ciphertext { public: Vec<u8>, algorithm: &'static str, ciphertext: Vec<u8> },
    SharedSecret { peer: Vec<u8>, secret: Vec<u8> },
}

const MESSAGE: &[u8] = b"made before the restart";

/// (region, key spec, usage, algorithm).
const KEYS: &[(&str, &str, &str, &str)] = &[
    ("us-east-1", "RSA_2048", "SIGN_VERIFY", "RSASSA_PSS_SHA_256"),
    ("us-east-1", "RSA_2048", "ENCRYPT_DECRYPT", "RSAES_OAEP_SHA_256"),
    ("us-east-1", "ECC_NIST_P256", "SIGN_VERIFY", "ECDSA_SHA_256"),
    ("us-east-1", "ECC_NIST_P384", "SIGN_VERIFY", "ECDSA_SHA_384"),
    ("us-east-1", "ECC_NIST_P521", "KEY_AGREEMENT", "ECDH"),
    ("us-east-1", "ECC_SECG_P256K1", "SIGN_VERIFY", "ECDSA_SHA_256"),
    ("us-east-1", "ECC_NIST_EDWARDS25519", "SIGN_VERIFY", "ED25519_SHA_512"),
    ("us-east-1", "ML_DSA_44", "SIGN_VERIFY", "ML_DSA_SHAKE_256"),
    ("us-east-1", "ML_DSA_65", "SIGN_VERIFY", "ML_DSA_SHAKE_256"),
    ("us-east-1", "ML_DSA_87", "SIGN_VERIFY", "ML_DSA_SHAKE_256"),
    ("us-east-1", "HMAC_224", "GENERATE_VERIFY_MAC", "HMAC_SHA_224"),
    ("us-east-1", "HMAC_512", "GENERATE_VERIFY_MAC", "HMAC_SHA_512"),
    ("cn-north-1", "SM2", "SIGN_VERIFY", "SM2DSA"),
    ("cn-north-1", "SM2", "ENCRYPT_DECRYPT", "SM2PKE"),
];

fn client(endpoint: &str, region: &str) -> Client {
    let creds = aws_credential_types::Credentials::new("AKIAIOSFODNN7EXAMPLE", "secret", None, None, "durability");
    let conf = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_kms::config::Region::new(region.to_string()))
        .credentials_provider(creds)
        .build();
    Client::from_conf(conf)
}

async fn public_key(kms: &Client, id: &str) -> Vec<u8> {
    kms.get_public_key().key_id(id).send().await.unwrap().public_key.unwrap().into_inner()
}

/// Creates every key type and uses each once; returns (region, key id, proof).
async fn make_keys(endpoint: &str) -> Vec<(&'static str, String, Proof)> {
    let mut out = Vec::new();
    // A peer for the ECDH key: a second P-521 key pair, as a data key pair's public half.
    let plain = client(endpoint, "us-east-1");
    let wrap = plain.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    for (region, spec, usage, algorithm) in KEYS {
        let kms = client(endpoint, region);
        let id = create_key_of(&kms, spec, usage).await.key_id;
        let proof = match *usage {
            "SIGN_VERIFY" => {
                let signature = kms
                    .sign()
                    .key_id(&id)
                    .message(Blob::new(MESSAGE))
                    .signing_algorithm(SigningAlgorithmSpec::from(*algorithm))
                    .send()
                    .await
                    .unwrap()
                    .signature
                    .unwrap()
                    .into_inner();
                Proof::Signature { public: public_key(&kms, &id).await, algorithm, signature }
            }
            "GENERATE_VERIFY_MAC" => {
                let mac = kms
                    .generate_mac()
                    .key_id(&id)
                    .message(Blob::new(MESSAGE))
                    .mac_algorithm(MacAlgorithmSpec::from(*algorithm))
                    .send()
                    .await
                    .unwrap()
                    .mac
                    .unwrap()
                    .into_inner();
                Proof::Mac { algorithm, mac }
            }
            "ENCRYPT_DECRYPT" => {
                let ciphertext = kms
                    .encrypt()
                    .key_id(&id)
                    .plaintext(Blob::new(MESSAGE))
                    .encryption_algorithm(EncryptionAlgorithmSpec::from(*algorithm))
                    .send()
                    .await
                    .unwrap()
                    .ciphertext_blob
                    .unwrap()
                    .into_inner();
                Proof::Ciphertext { public: public_key(&kms, &id).await, algorithm, ciphertext }
            }
            _ => {
                let pair = plain
                    .generate_data_key_pair_without_plaintext()
                    .key_id(&wrap)
                    .key_pair_spec(aws_sdk_kms::types::DataKeyPairSpec::EccNistP521)
                    .send()
                    .await
                    .unwrap();
                let peer = pair.public_key.unwrap().into_inner();
                let secret = kms
                    .derive_shared_secret()
                    .key_id(&id)
                    .key_agreement_algorithm(aws_sdk_kms::types::KeyAgreementAlgorithmSpec::Ecdh)
                    .public_key(Blob::new(peer.clone()))
                    .send()
                    .await
                    .unwrap()
                    .shared_secret
                    .unwrap()
                    .into_inner();
                Proof::SharedSecret { peer, secret }
            }
        };
        out.push((*region, id, proof));
    }
    out
}

/// Every key still does what it did, with the same material.
async fn check_keys(endpoint: &str, keys: &[(&'static str, String, Proof)]) {
    for (region, id, proof) in keys {
        let kms = client(endpoint, region);
        match proof {
            Proof::Signature { public, algorithm, signature } => {
                assert_eq!(&public_key(&kms, id).await, public, "{id}: the same public key");
                let v = kms
                    .verify()
                    .key_id(id)
                    .message(Blob::new(MESSAGE))
                    .signature(Blob::new(signature.clone()))
                    .signing_algorithm(SigningAlgorithmSpec::from(*algorithm))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{id} {algorithm}: the old signature verifies: {e:?}"));
                assert!(v.signature_valid());
            }
            Proof::Mac { algorithm, mac } => {
                kms.verify_mac()
                    .key_id(id)
                    .message(Blob::new(MESSAGE))
                    .mac(Blob::new(mac.clone()))
                    .mac_algorithm(MacAlgorithmSpec::from(*algorithm))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{id} {algorithm}: the old MAC verifies: {e:?}"));
            }
            Proof::Ciphertext { public, algorithm, ciphertext } => {
                assert_eq!(&public_key(&kms, id).await, public);
                let d = kms
                    .decrypt()
                    .key_id(id)
                    .ciphertext_blob(Blob::new(ciphertext.clone()))
                    .encryption_algorithm(EncryptionAlgorithmSpec::from(*algorithm))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{id} {algorithm}: the old ciphertext decrypts: {e:?}"));
                assert_eq!(d.plaintext().unwrap().as_ref(), MESSAGE);
            }
            Proof::SharedSecret { peer, secret } => {
                let again = kms
                    .derive_shared_secret()
                    .key_id(id)
                    .key_agreement_algorithm(aws_sdk_kms::types::KeyAgreementAlgorithmSpec::Ecdh)
                    .public_key(Blob::new(peer.clone()))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(again.shared_secret().unwrap().as_ref(), &secret[..], "{id}: the same private key");
            }
        }
    }
}

#[tokio::test]
async fn every_key_type_survives_a_restart_and_a_seeded_private_key_is_in_no_file() {
    let dir = temp_dir("keys-restart");
    let scratch = Scratch::new("seeded-pem");
    let pem_path = scratch.path("k.pem");
    openssl_ok(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", &pem_path]);
    let der_path = scratch.path("k.der");
    openssl_ok(&["pkey", "-in", &pem_path, "-outform", "DER", "-out", &der_path]);
    let pem = String::from_utf8(scratch.read("k.pem")).unwrap();
    let config = format!(
        "[[keys]]\naccount = \"111122223333\"\nregion = \"us-east-1\"\nkey_id = \"44444444-4444-4444-8444-444444444444\"\nkey_spec = \"ECC_NIST_P256\"\nprivate_key_pem = '''\n{pem}'''\n"
    );
    let options = || Options { data_dir: Some(dir.clone()), ..Options::from_config(&config).unwrap() };
    let server = Server::start_with(options()).await;
    let keys = make_keys(&server.endpoint()).await;
    let seeded_public = public_key(&server.kms(), "44444444-4444-4444-8444-444444444444").await;
    server.stop().await;

    let server = Server::start_with(options()).await;
    check_keys(&server.endpoint(), &keys).await;
    assert_eq!(public_key(&server.kms(), "44444444-4444-4444-8444-444444444444").await, seeded_public);
    server.stop().await;

    // The private keys are wrapped: not the seeded DER, nor its hex or base64, in any file.
    let der = scratch.read("k.der");
    let secret = &der[der.len() - 100..der.len() - 70];
    use base64::Engine;
    let forms = [hex::encode(secret), base64::engine::general_purpose::STANDARD.encode(&der)[40..80].to_string()];
    for file in files_under(&dir) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret), "{} holds the private key", file.display());
        let text = String::from_utf8_lossy(&bytes);
        for f in &forms {
            assert!(!text.contains(f.as_str()), "{} holds the private key as text", file.display());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The keytrail binary: `KEYTRAIL_BIN` (as `scripts/test` sets it) or the workspace's debug build.
fn binary() -> PathBuf {
    let path = std::env::var_os("KEYTRAIL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/keytrail"));
    assert!(path.exists(), "{} does not exist: cargo build -p keytrail-server first", path.display());
    path
}

async fn start_binary(data: &Path) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).unwrap().port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new(binary())
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--data-dir")
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("keytrail starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "keytrail did not listen within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (child, format!("http://{addr}"))
}

#[tokio::test]
async fn every_key_type_survives_kill_9() {
    let dir = temp_dir("keys-kill9");
    let (mut child, endpoint) = start_binary(&dir).await;
    let keys = make_keys(&endpoint).await;
    // SIGKILL right after the last acknowledged call: no flush, no shutdown.
    child.kill().unwrap();
    child.wait().unwrap();
    let (mut child, endpoint) = start_binary(&dir).await;
    check_keys(&endpoint, &keys).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
