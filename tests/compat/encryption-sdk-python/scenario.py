"""The AWS Encryption SDK for Python 4 (pinned in ../requirements.txt): the master-key provider
API (StrictAwsKmsMasterKeyProvider over two keys) and the keyring API of the Material Providers
Library (an AWS KMS keyring per key, and a multi-keyring of the two), each message decrypted
again, by each key alone where both wrapped it. keytrail is found through AWS_ENDPOINT_URL_KMS
(the master-key provider) and the boto3 clients handed to the keyrings. Asserts the KMS calls
the SDK made and their records, the SDK's encryption context included.
"""

import logging
import os

import aws_encryption_sdk
import boto3
import botocore.session
from aws_cryptographic_material_providers.mpl import AwsCryptographicMaterialProviders
from aws_cryptographic_material_providers.mpl.config import MaterialProvidersConfig
from aws_cryptographic_material_providers.mpl.models import CreateAwsKmsKeyringInput, CreateMultiKeyringInput
from aws_encryption_sdk import CommitmentPolicy
from compat import ENDPOINT, expect, records, say

os.environ.update(AWS_ACCESS_KEY_ID="AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY="any", AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL_KMS=ENDPOINT)
kms = boto3.client("kms")
key1 = kms.create_key(Description="esdk one")["KeyMetadata"]["Arn"]
key2 = kms.create_key(Description="esdk two")["KeyMetadata"]["Arn"]
esdk = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
context = {"purpose": "compat", "tenant": "blue"}
message = b"a message for the AWS Encryption SDK" * 40


def since(mark):
    """The records after the first `mark` ones."""
    return records()[mark:]


def named(rs, name):
    return [r for r in rs if r["eventName"] == name]


def check_context(record):
    ec = record["requestParameters"]["encryptionContext"]
    expect({k: ec.get(k) for k in context} == context, f"the caller's context in {record['eventName']}: {ec}")
    expect("aws-crypto-public-key" in ec, f"the SDK's signing key in the context of {record['eventName']}")


# 1. Master-key provider API.
mark = len(records())
provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[key1, key2], botocore_session=botocore.session.Session())
ciphertext, header = esdk.encrypt(source=message, key_provider=provider, encryption_context=context)
expect({k.key_provider.key_info.decode() for k in header.encrypted_data_keys} == {key1, key2}, "both keys wrapped the data key")
for only in (key1, key2):
    alone = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[only], botocore_session=botocore.session.Session())
    plaintext, decrypted = esdk.decrypt(source=ciphertext, key_provider=alone)
    expect(plaintext == message, "round trip through the master-key provider")
    expect(all(decrypted.encryption_context.get(k) == v for k, v in context.items()), "context kept")
rs = since(mark)
expect([r["eventName"] for r in rs] == ["GenerateDataKey", "Encrypt", "Decrypt", "Decrypt"], f"records: {rs}")
expect(rs[0]["resources"][0]["ARN"] == key1 and rs[1]["resources"][0]["ARN"] == key2, "generator then second key")
for r in rs:
    check_context(r)
    expect(r["responseElements"] is None, "no key material in a record")
    expect("aws-encryption-sdk-python" in r["userAgent"].lower() or "AwsEncryptionSdkPython" in r["userAgent"], f"the SDK's user agent: {r['userAgent']}")
expect([r["resources"][0]["ARN"] for r in named(rs, "Decrypt")] == [key1, key2], "each key decrypted alone")
say("the master-key provider API encrypts with two keys and decrypts with either")

# 2. Keyring API (Material Providers Library): a multi-keyring of the two keys.
mark = len(records())
mpl = AwsCryptographicMaterialProviders(config=MaterialProvidersConfig())
client = boto3.client("kms", endpoint_url=ENDPOINT)
keyring1 = mpl.create_aws_kms_keyring(input=CreateAwsKmsKeyringInput(kms_key_id=key1, kms_client=client))
keyring2 = mpl.create_aws_kms_keyring(input=CreateAwsKmsKeyringInput(kms_key_id=key2, kms_client=client))
multi = mpl.create_multi_keyring(input=CreateMultiKeyringInput(generator=keyring1, child_keyrings=[keyring2]))
ciphertext, header = esdk.encrypt(source=message, keyring=multi, encryption_context=context)
expect(len(header.encrypted_data_keys) == 2, "the multi-keyring wrapped the data key twice")
for keyring in (keyring2, keyring1, multi):
    plaintext, _ = esdk.decrypt(source=ciphertext, keyring=keyring, encryption_context=context)
    expect(plaintext == message, "round trip through the keyring API")
rs = since(mark)
expect([r["eventName"] for r in rs] == ["GenerateDataKey", "Encrypt", "Decrypt", "Decrypt", "Decrypt"], f"records: {rs}")
for r in rs:
    check_context(r)
expect([r["resources"][0]["ARN"] for r in named(rs, "Decrypt")] == [key2, key1, key1], "each keyring used its own key")
# A keyring of another key cannot decrypt: KMS is asked nothing it could answer.
key3 = kms.create_key()["KeyMetadata"]["Arn"]
other = mpl.create_aws_kms_keyring(input=CreateAwsKmsKeyringInput(kms_key_id=key3, kms_client=client))
logging.disable(logging.CRITICAL)  # the SDK logs the failure it then raises
try:
    esdk.decrypt(source=ciphertext, keyring=other, encryption_context=context)
    expect(False, "a keyring of another key decrypted the message")
except Exception as e:  # the MPL's own error type
    expect("decrypt" in str(e).lower() or "unable" in str(e).lower() or "key" in str(e).lower(), f"error: {e}")
say("the keyring API's multi-keyring of two keys works, and each keyring decrypts alone")
