// The AWS Encryption SDK for JavaScript (@aws-crypto/client-node, pinned in ../package-lock.json):
// a KMS keyring with a generator key and a second key, its KMS clients supplied with keytrail's
// endpoint; the message decrypted by a keyring of each key alone, and a stream round trip.
// Asserts the KMS calls and their records, the SDK's encryption context included.
import { buildClient, CommitmentPolicy, KmsKeyringNode, getClient } from "@aws-crypto/client-node";
import { KMS, KMSClient, CreateKeyCommand } from "@aws-sdk/client-kms";
import { Readable } from "node:stream";
import { ENDPOINT, assert, records, say } from "../lib/compat.mjs";

const credentials = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "any" };
const kms = new KMSClient({ endpoint: ENDPOINT, region: "us-east-1", credentials });
const key1 = (await kms.send(new CreateKeyCommand({ Description: "esdk js one" }))).KeyMetadata.Arn;
const key2 = (await kms.send(new CreateKeyCommand({ Description: "esdk js two" }))).KeyMetadata.Arn;
const clientProvider = getClient(KMS, { endpoint: ENDPOINT, credentials });
const { encrypt, decrypt, encryptStream, decryptUnsignedMessageStream, decryptStream } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const context = { purpose: "compat", language: "js" };
const plaintext = Buffer.from("a message for the AWS Encryption SDK for JavaScript ".repeat(50));
const mark = (await records()).length;

const both = new KmsKeyringNode({ generatorKeyId: key1, keyIds: [key2], clientProvider });
const { result, messageHeader } = await encrypt(both, plaintext, { encryptionContext: context });
assert.equal(messageHeader.encryptedDataKeys.length, 2);
for (const key of [key1, key2]) {
  const alone = new KmsKeyringNode({ keyIds: [key], clientProvider });
  const out = await decrypt(alone, result);
  assert.deepEqual(out.plaintext, plaintext);
  assert.equal(out.messageHeader.encryptionContext.purpose, "compat");
}
say("encrypted under two keys, decrypted with each alone");

// Streams: the same keyring, a message built from a stream.
const chunks = [];
await new Promise((resolve, reject) => {
  Readable.from([plaintext]).pipe(encryptStream(both, { encryptionContext: context })).on("data", (c) => chunks.push(c)).on("end", resolve).on("error", reject);
});
const decrypted = [];
await new Promise((resolve, reject) => {
  Readable.from([Buffer.concat(chunks)]).pipe(decryptStream(new KmsKeyringNode({ keyIds: [key2], clientProvider }))).on("data", (c) => decrypted.push(c)).on("end", resolve).on("error", reject);
});
assert.deepEqual(Buffer.concat(decrypted), plaintext);
assert.ok(decryptUnsignedMessageStream, "the client builds every API");
say("a stream round trip works");

const rs = (await records()).slice(mark);
assert.deepEqual(rs.map((r) => r.eventName), ["GenerateDataKey", "Encrypt", "Decrypt", "Decrypt", "GenerateDataKey", "Encrypt", "Decrypt"]);
assert.deepEqual(rs.map((r) => r.resources[0].ARN), [key1, key2, key1, key2, key1, key2, key2]);
for (const r of rs) {
  const ec = r.requestParameters.encryptionContext;
  assert.equal(ec.purpose, "compat");
  assert.ok("aws-crypto-public-key" in ec, "the SDK's signing key in the context");
  assert.equal(r.responseElements, null);
  assert.match(r.userAgent, /aws-sdk-js/);
}
say("the records are the SDK's KMS calls");
