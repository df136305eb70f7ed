// The AWS SDK for JavaScript v3 (pinned in ../package-lock.json): KMS, CloudTrail and STS
// clients given only an endpoint, region and credentials; AssumeRole's credentials then sign
// KMS calls as the role session. Asserts the answers and the records.
import { KMSClient, CreateKeyCommand, EncryptCommand, DecryptCommand, GenerateDataKeyCommand, ListAliasesCommand } from "@aws-sdk/client-kms";
import { CloudTrailClient, CreateTrailCommand, AddTagsCommand, ListTagsCommand, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { STSClient, GetCallerIdentityCommand, AssumeRoleCommand } from "@aws-sdk/client-sts";
import { ENDPOINT, assert, names, records, say } from "../lib/compat.mjs";

const alice = { accessKeyId: "AKIAALICE00000000001", secretAccessKey: "alice-secret" };
const config = (credentials) => ({ endpoint: ENDPOINT, region: "us-east-1", credentials });

const kms = new KMSClient(config(alice));
const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: "compat js v3", Tags: [{ TagKey: "team", TagValue: "js" }] }));
assert.equal(KeyMetadata.KeyState, "Enabled");
const plaintext = new TextEncoder().encode("from the JavaScript SDK");
const enc = await kms.send(new EncryptCommand({ KeyId: KeyMetadata.Arn, Plaintext: plaintext, EncryptionContext: { app: "js" } }));
const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { app: "js" } }));
assert.deepEqual(Buffer.from(dec.Plaintext), Buffer.from(plaintext));
assert.equal(dec.KeyId, KeyMetadata.Arn);
const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: KeyMetadata.KeyId, KeySpec: "AES_256" }));
assert.equal(dk.Plaintext.length, 32);
await kms.send(new ListAliasesCommand({}));
say("KMS answers as AWS does");

const ct = new CloudTrailClient(config(alice));
const trail = await ct.send(new CreateTrailCommand({ Name: "js-trail", S3BucketName: "js-logs" }));
await ct.send(new AddTagsCommand({ ResourceId: trail.TrailARN, TagsList: [{ Key: "owner", Value: "js" }] }));
const tags = await ct.send(new ListTagsCommand({ ResourceIdList: [trail.TrailARN] }));
assert.deepEqual(tags.ResourceTagList[0].TagsList, [{ Key: "owner", Value: "js" }]);
const lookup = await ct.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "Encrypt" }] }));
assert.equal(lookup.Events.length, 1);
assert.equal(JSON.parse(lookup.Events[0].CloudTrailEvent).requestParameters.encryptionContext.app, "js");
say("CloudTrail answers as AWS does (trail tags too)");

const sts = new STSClient(config(alice));
const me = await sts.send(new GetCallerIdentityCommand({}));
assert.equal(me.Arn, "arn:aws:iam::111122223333:user/alice");
const assumed = await sts.send(new AssumeRoleCommand({ RoleArn: "arn:aws:iam::111122223333:role/app", RoleSessionName: "js-session", DurationSeconds: 900 }));
assert.match(assumed.Credentials.AccessKeyId, /^ASIA[A-Z2-7]{16}$/);
assert.ok(assumed.Credentials.Expiration instanceof Date);
const session = {
  accessKeyId: assumed.Credentials.AccessKeyId,
  secretAccessKey: assumed.Credentials.SecretAccessKey,
  sessionToken: assumed.Credentials.SessionToken,
};
const asRole = await new STSClient(config(session)).send(new GetCallerIdentityCommand({}));
assert.equal(asRole.Arn, "arn:aws:sts::111122223333:assumed-role/app/js-session");
await new KMSClient(config(session)).send(new EncryptCommand({ KeyId: KeyMetadata.KeyId, Plaintext: plaintext }));
say("STS answers, and the role session signs KMS calls");

assert.deepEqual(await names(), [
  "CreateKey", "Encrypt", "Decrypt", "GenerateDataKey", "ListAliases",
  "CreateTrail", "AddTags", "ListTags", "LookupEvents",
  "GetCallerIdentity", "AssumeRole", "GetCallerIdentity", "Encrypt",
]);
const all = await records();
assert.ok(all.every((r) => /aws-sdk-js\/3\./.test(r.userAgent)), "the JS SDK's user agent in every record");
assert.deepEqual(all[0].requestParameters.tags, [{ tagKey: "team", tagValue: "js" }]);
const last = all.at(-1);
assert.equal(last.userIdentity.type, "AssumedRole");
assert.equal(last.userIdentity.accessKeyId, session.accessKeyId);
const assumeRecord = all[10];
assert.equal(assumeRecord.eventSource, "sts.amazonaws.com");
assert.equal(assumeRecord.requestParameters.durationSeconds, 900);
assert.ok(!JSON.stringify(assumeRecord).includes(session.secretAccessKey), "no secret in the record");
say("the records are the SDK's calls");
