#!/usr/bin/env python3
"""Asymmetric and HMAC keys through boto3 against a fresh keytrail, with independent oracles.

Starts the built binary (KEYTRAIL_BIN, default target/debug/keytrail) on a free port with
--events-out and RUST_LOG=trace, then through boto3:
- RSA (PKCS#1 v1.5 and PSS, RAW and DIGEST), ECDSA (P-256/384/521, secp256k1) and Ed25519
  signatures verified with the GetPublicKey DER by Python's `cryptography`;
- Ed25519ph (ED25519_PH_SHA_512, DIGEST) verified by PyCryptodome;
- ML-DSA-44/65/87 signatures (RAW, and EXTERNAL_MU with a mu computed by dilithium-py) verified
  by dilithium-py;
- RSAES-OAEP ciphertexts made by `cryptography` decrypted by Decrypt; data key pairs whose
  private key loads in `cryptography` and matches the public key; ECDH equal to
  `cryptography`'s exchange; HMAC equal to Python's `hmac`;
- the errors (wrong usage, wrong algorithm, disabled key, oversized message, wrong digest
  length, invalid signature, invalid MAC) and the record of each call, field by field for the
  requestParameters; no message, signature, MAC, private key or shared secret in the records,
  the --events-out file or the server log.
Exits non-zero on the first failure and always stops the server.
"""

import hashlib
import hmac
import json
import os
import subprocess
import sys
import urllib.request

import boto3
from botocore.config import Config
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from Crypto.Hash import SHA512
from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa
from dilithium_py.ml_dsa import ML_DSA_44, ML_DSA_65, ML_DSA_87

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from boto3_harness import assert_secrets_absent, expect_error, fail, point_boto3_at, run, start, stop  # noqa: E402

ACCOUNT = "111122223333"
HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def rid(response):
    return response["ResponseMetadata"]["RequestId"]


def create(kms, spec, usage):
    return kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]


def cryptography_verify(public_der, algorithm, message, signature, digest=False):
    """Raises InvalidSignature unless `signature` is valid (the oracle for RSA/ECDSA/Ed25519)."""
    key = serialization.load_der_public_key(public_der)
    h = HASHES.get(algorithm[-3:])
    if algorithm == "ED25519_SHA_512":
        key.verify(signature, message)
    elif algorithm.startswith("ECDSA"):
        key.verify(signature, message, ec.ECDSA(Prehashed(h()) if digest else h()))
    elif algorithm.startswith("RSASSA_PSS"):
        pad = padding.PSS(mgf=padding.MGF1(h()), salt_length=padding.PSS.AUTO)
        key.verify(signature, message, pad, Prehashed(h()) if digest else h())
    else:
        key.verify(signature, message, padding.PKCS1v15(), Prehashed(h()) if digest else h())


def scenario(addr, work):
    point_boto3_at(addr)
    kms = boto3.client("kms", config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    secrets = {}
    expected = {}  # request id -> (eventName, requestParameters, errorCode or None)
    message = b"boto3 signs this: " + os.urandom(16)
    secrets["message"] = message

    # Signatures, checked by `cryptography`.
    cases = [
        ("RSA_2048", ["RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_512", "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384"]),
        ("ECC_NIST_P256", ["ECDSA_SHA_256"]),
        ("ECC_NIST_P384", ["ECDSA_SHA_384"]),
        ("ECC_NIST_P521", ["ECDSA_SHA_512"]),
        ("ECC_SECG_P256K1", ["ECDSA_SHA_256"]),
        ("ECC_NIST_EDWARDS25519", ["ED25519_SHA_512"]),
    ]
    for spec, algorithms in cases:
        key = create(kms, spec, "SIGN_VERIFY")
        public = kms.get_public_key(KeyId=key)
        assert public["KeySpec"] == spec and public["SigningAlgorithms"], public
        der = public["PublicKey"]
        for alg in algorithms:
            out = kms.sign(KeyId=key, Message=message, SigningAlgorithm=alg)
            secrets[f"{spec} {alg} signature"] = out["Signature"]
            cryptography_verify(der, alg, message, out["Signature"])
            expected[rid(out)] = ("Sign", {"keyId": key, "signingAlgorithm": alg, "messageType": "RAW"}, None)
            try:
                cryptography_verify(der, alg, message + b"!", out["Signature"])
                fail(f"{spec} {alg}: cryptography accepted a changed message")
            except InvalidSignature:
                pass
            v = kms.verify(KeyId=key, Message=message, Signature=out["Signature"], SigningAlgorithm=alg)
            assert v["SignatureValid"] is True
            expected[rid(v)] = ("Verify", {"keyId": key, "signingAlgorithm": alg, "messageType": "RAW"}, None)
            bad = bytearray(out["Signature"])
            bad[-1] ^= 1
            r = expect_error("KMSInvalidSignatureException", kms.verify, KeyId=key, Message=message, Signature=bytes(bad), SigningAlgorithm=alg)
            expected[r] = ("Verify", {"keyId": key, "signingAlgorithm": alg, "messageType": "RAW"}, "KMSInvalidSignatureException")
            if alg.startswith(("RSASSA", "ECDSA")):
                digest = hashlib.new("sha" + alg[-3:], message).digest()
                out = kms.sign(KeyId=key, Message=digest, MessageType="DIGEST", SigningAlgorithm=alg)
                cryptography_verify(der, alg, digest, out["Signature"], digest=True)
                cryptography_verify(der, alg, message, out["Signature"])
                expected[rid(out)] = ("Sign", {"keyId": key, "signingAlgorithm": alg, "messageType": "DIGEST"}, None)
                r = expect_error("ValidationException", kms.sign, KeyId=key, Message=digest[:-1], MessageType="DIGEST", SigningAlgorithm=alg)
                expected[r] = ("Sign", {"keyId": key, "signingAlgorithm": alg, "messageType": "DIGEST"}, "ValidationException")

        if spec == "ECC_NIST_EDWARDS25519":
            # Ed25519ph over the 64-byte digest (KMS hashes it once more): PyCryptodome checks it.
            digest = hashlib.sha512(message).digest()
            out = kms.sign(KeyId=key, Message=digest, MessageType="DIGEST", SigningAlgorithm="ED25519_PH_SHA_512")
            verifier = eddsa.new(ECC.import_key(der), "rfc8032")
            verifier.verify(SHA512.new(digest), out["Signature"])
            try:
                verifier.verify(SHA512.new(message), out["Signature"])
                fail("Ed25519ph: PyCryptodome accepted the wrong prehash")
            except ValueError:
                pass
            expect_error("ValidationException", kms.sign, KeyId=key, Message=message, SigningAlgorithm="ED25519_PH_SHA_512")

    # ML-DSA, checked by dilithium-py (its own FIPS 204 implementation).
    for spec, impl in [("ML_DSA_44", ML_DSA_44), ("ML_DSA_65", ML_DSA_65), ("ML_DSA_87", ML_DSA_87)]:
        key = create(kms, spec, "SIGN_VERIFY")
        der = kms.get_public_key(KeyId=key)["PublicKey"]
        pk = der[-impl._pk_size():]
        out = kms.sign(KeyId=key, Message=message, SigningAlgorithm="ML_DSA_SHAKE_256")
        assert impl.verify(pk, message, out["Signature"]), f"{spec}: dilithium-py rejects the RAW signature"
        assert not impl.verify(pk, message + b"!", out["Signature"])
        mu = impl.prehash_external_mu(pk, message)
        out = kms.sign(KeyId=key, Message=mu, MessageType="EXTERNAL_MU", SigningAlgorithm="ML_DSA_SHAKE_256")
        assert impl.verify(pk, message, out["Signature"]), f"{spec}: dilithium-py rejects the EXTERNAL_MU signature"
        expected[rid(out)] = ("Sign", {"keyId": key, "signingAlgorithm": "ML_DSA_SHAKE_256", "messageType": "EXTERNAL_MU"}, None)
        v = kms.verify(KeyId=key, Message=mu, MessageType="EXTERNAL_MU", Signature=out["Signature"], SigningAlgorithm="ML_DSA_SHAKE_256")
        assert v["SignatureValid"]
        r = expect_error("ValidationException", kms.sign, KeyId=key, Message=hashlib.sha256(message).digest(), MessageType="DIGEST", SigningAlgorithm="ML_DSA_SHAKE_256")
        expected[r] = ("Sign", {"keyId": key, "signingAlgorithm": "ML_DSA_SHAKE_256", "messageType": "DIGEST"}, "ValidationException")

    # RSAES-OAEP: `cryptography` encrypts with the public key, Decrypt opens it.
    key = create(kms, "RSA_3072", "ENCRYPT_DECRYPT")
    public = kms.get_public_key(KeyId=key)
    assert public["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"], public
    pub = serialization.load_der_public_key(public["PublicKey"])
    for alg, h in [("RSAES_OAEP_SHA_1", hashes.SHA1), ("RSAES_OAEP_SHA_256", hashes.SHA256)]:
        plain = os.urandom(40)
        secrets[f"{alg} plaintext"] = plain
        ct = pub.encrypt(plain, padding.OAEP(mgf=padding.MGF1(h()), algorithm=h(), label=None))
        out = kms.decrypt(KeyId=key, CiphertextBlob=ct, EncryptionAlgorithm=alg)
        assert out["Plaintext"] == plain and "KeyMaterialId" not in out, out
        expected[rid(out)] = ("Decrypt", {"keyId": key, "encryptionAlgorithm": alg}, None)
    expect_error("ValidationException", kms.encrypt, KeyId=key, Plaintext=b"x" * 319, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    kms.encrypt(KeyId=key, Plaintext=b"x" * 318, EncryptionAlgorithm="RSAES_OAEP_SHA_256")

    # Data key pairs: the private key loads in `cryptography` and matches the public key.
    wrap = kms.create_key()["KeyMetadata"]["KeyId"]
    for spec in ["RSA_2048", "ECC_NIST_P384", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519"]:
        out = kms.generate_data_key_pair(KeyId=wrap, KeyPairSpec=spec, EncryptionContext={"app": "e2e"})
        private = serialization.load_der_private_key(out["PrivateKeyPlaintext"], password=None)
        derived = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        assert derived == out["PublicKey"], f"{spec}: the private key's public half is PublicKey"
        secrets[f"{spec} data key pair private key"] = out["PrivateKeyPlaintext"]
        opened = kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"], EncryptionContext={"app": "e2e"})
        assert opened["Plaintext"] == out["PrivateKeyPlaintext"]
        expected[rid(out)] = ("GenerateDataKeyPair", {"keyId": wrap, "keyPairSpec": spec, "encryptionContext": {"app": "e2e"}}, None)

    # ECDH: KMS and `cryptography` derive the same secret.
    key = create(kms, "ECC_NIST_P384", "KEY_AGREEMENT")
    kms_pub = serialization.load_der_public_key(kms.get_public_key(KeyId=key)["PublicKey"])
    peer = ec.generate_private_key(ec.SECP384R1())
    peer_der = peer.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    out = kms.derive_shared_secret(KeyId=key, KeyAgreementAlgorithm="ECDH", PublicKey=peer_der)
    assert out["SharedSecret"] == peer.exchange(ec.ECDH(), kms_pub), "ECDH secrets differ"
    secrets["shared secret"] = out["SharedSecret"]
    expected[rid(out)] = ("DeriveSharedSecret", {"keyId": key, "keyAgreementAlgorithm": "ECDH"}, None)

    # HMAC: VerifyMac and its errors here; the oracle (Python's hmac over known key bytes) is the
    # seeded key of seeded_hmac() below.
    key = create(kms, "HMAC_256", "GENERATE_VERIFY_MAC")
    out = kms.generate_mac(KeyId=key, Message=message, MacAlgorithm="HMAC_SHA_256")
    secrets["MAC"] = out["Mac"]
    expected[rid(out)] = ("GenerateMac", {"keyId": key, "macAlgorithm": "HMAC_SHA_256"}, None)
    assert kms.verify_mac(KeyId=key, Message=message, Mac=out["Mac"], MacAlgorithm="HMAC_SHA_256")["MacValid"]
    r = expect_error("KMSInvalidMacException", kms.verify_mac, KeyId=key, Message=message + b"!", Mac=out["Mac"], MacAlgorithm="HMAC_SHA_256")
    expected[r] = ("VerifyMac", {"keyId": key, "macAlgorithm": "HMAC_SHA_256"}, "KMSInvalidMacException")
    expect_error("InvalidKeyUsageException", kms.generate_mac, KeyId=key, Message=message, MacAlgorithm="HMAC_SHA_512")

    # The errors AWS answers.
    signer = create(kms, "ECC_NIST_P256", "SIGN_VERIFY")
    expect_error("InvalidKeyUsageException", kms.sign, KeyId=signer, Message=message, SigningAlgorithm="RSASSA_PSS_SHA_256")
    expect_error("InvalidKeyUsageException", kms.sign, KeyId=wrap, Message=message, SigningAlgorithm="ECDSA_SHA_256")
    expect_error("ValidationException", kms.sign, KeyId=signer, Message=b"x" * 4097, SigningAlgorithm="ECDSA_SHA_256")
    expect_error("ValidationException", kms.create_key, KeySpec="ECC_NIST_P256", KeyUsage="ENCRYPT_DECRYPT")
    expect_error("UnsupportedOperationException", kms.create_key, KeySpec="SM2", KeyUsage="SIGN_VERIFY")
    kms.disable_key(KeyId=signer)
    r = expect_error("DisabledException", kms.sign, KeyId=signer, Message=message, SigningAlgorithm="ECDSA_SHA_256")
    expected[r] = ("Sign", {"keyId": signer, "signingAlgorithm": "ECDSA_SHA_256", "messageType": "RAW"}, "DisabledException")
    kms.enable_key(KeyId=signer)
    kms.schedule_key_deletion(KeyId=signer, PendingWindowInDays=7)
    expect_error("KMSInvalidStateException", kms.sign, KeyId=signer, Message=message, SigningAlgorithm="ECDSA_SHA_256")

    # SM2 in a China Region: SM2DSA verified by OpenSSL (`cryptography` has no SM2).
    china = boto3.client("kms", region_name="cn-north-1", config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    sm2 = china.create_key(KeySpec="SM2", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    der = china.get_public_key(KeyId=sm2)["PublicKey"]
    sig = china.sign(KeyId=sm2, Message=message, SigningAlgorithm="SM2DSA")["Signature"]
    paths = {}
    for name, data in [("pub.der", der), ("sig.bin", sig), ("msg.bin", message)]:
        paths[name] = os.path.join(work, name)
        open(paths[name], "wb").write(data)
    done = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", paths["pub.der"], "-rawin", "-in", paths["msg.bin"],
         "-sigfile", paths["sig.bin"], "-digest", "sm3", "-pkeyopt", "distid:1234567812345678"],
        capture_output=True, text=True,
    )
    assert "Signature Verified Successfully" in done.stdout, done.stdout + done.stderr
    return kms, secrets, expected


def check_records(addr, work, secrets, expected):
    raw = urllib.request.urlopen(f"http://{addr}/_keytrail/events").read()
    records = json.loads(raw)["Records"]
    by_id = {}
    for r in records:
        by_id.setdefault(r.get("requestID"), []).append(r)
    for request_id, (name, params, error) in expected.items():
        got = by_id.get(request_id)
        assert got and len(got) == 1, f"{name} {request_id}: {got}"
        r = got[0]
        assert r["eventName"] == name, r
        assert r["eventSource"] == "kms.amazonaws.com" and r["eventType"] == "AwsApiCall" and r["readOnly"] is True, r
        assert r["requestParameters"] == params, f"{name}: {r['requestParameters']} != {params}"
        assert r["responseElements"] is None, r
        assert r.get("errorCode") == error, r
        assert r["resources"][0]["type"] == "AWS::KMS::Key" and r["resources"][0]["ARN"].endswith(params["keyId"]), r
    events_out = open(os.path.join(work, "events.jsonl"), "rb").read()
    places = {"records": raw, "--events-out": events_out, "server log": open(os.path.join(work, "keytrail.log"), "rb").read()}
    assert_secrets_absent(secrets, places)
    return len(expected)


def seeded_hmac(binary, work):
    """A seeded HMAC_512 key: GenerateMac equals Python's hmac over the configured bytes."""
    material = os.urandom(64)
    config = os.path.join(work, "hmac.toml")
    open(config, "w").write(
        "[[keys]]\naccount = \"111122223333\"\nregion = \"us-east-1\"\n"
        "key_id = \"77777777-7777-4777-8777-777777777777\"\nkey_spec = \"HMAC_512\"\n"
        f"material_hex = [\"{material.hex()}\"]\naliases = [\"alias/webhook\"]\n"
    )
    proc, addr = start(binary, work, "--config", config, log_name="hmac.log")
    try:
        kms = boto3.client("kms", endpoint_url=f"http://{addr}", config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        body = b'{"event":"push","id":42}'
        mac = kms.generate_mac(KeyId="alias/webhook", Message=body, MacAlgorithm="HMAC_SHA_512")["Mac"]
        assert mac == hmac.new(material, body, hashlib.sha512).digest(), "the MAC is Python's HMAC-SHA512"
    finally:
        stop(proc)


def main():
    def body(binary, work):
        proc, addr = start(binary, work, "--events-out", os.path.join(work, "events.jsonl"))
        try:
            _, secrets, expected = scenario(addr, work)
            count = check_records(addr, work, secrets, expected)
        finally:
            stop(proc)
        seeded_hmac(binary, work)
        return f"OK, {count} records checked"

    return run("e2e_boto3_asymmetric", body)


if __name__ == "__main__":
    sys.exit(main())
