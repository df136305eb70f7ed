//! The trail bucket through `aws-sdk-s3` on keytrail's endpoint: listing (prefix, delimiter,
//! pages), objects (bodies, ranges, ETags, metadata, conditionals), S3's errors, access by
//! identity policy, what is recorded, and digest files with ListPublicKeys.

use std::path::Path;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use keytrail_server::Options;
use keytrail_tests::trail_files::{digest_files, log_files, temp_dir};
use keytrail_tests::{raw_http, Server};
use serde_json::Value;

const ACCOUNT: &str = "111122223333";

/// A trail `audit` into bucket `trail-logs` with validation on, some KMS calls, and the mock
/// clock moved so its log files and two digests are delivered.
async fn delivered_trail(server: &Server) {
    let ct = server.cloudtrail();
    ct.create_trail().name("audit").s3_bucket_name("trail-logs").enable_log_file_validation(true).send().await.unwrap();
    ct.start_logging().name("audit").send().await.unwrap();
    let kms = server.kms();
    for _ in 0..3 {
        kms.create_key().send().await.unwrap();
    }
    server.advance_clock(300).await;
    kms.list_keys().send().await.unwrap();
    server.advance_clock(3600).await;
    kms.list_aliases().send().await.unwrap();
    server.advance_clock(3600).await;
}

fn md5_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let digest = md5_of(bytes);
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// MD5 from Python's `hashlib` (the oracle outside keytrail).
fn md5_of(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args(["-c", "import hashlib,sys; sys.stdout.write(hashlib.md5(sys.stdin.buffer.read()).hexdigest())"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    hex::decode(String::from_utf8(out.stdout).unwrap()).unwrap()
}

fn files_on_disk(root: &Path) -> Vec<String> {
    let mut keys: Vec<String> = log_files(root).into_iter().map(|f| f.key).collect();
    keys.extend(digest_files(root).into_iter().map(|d| d.0));
    keys.sort();
    keys
}

#[tokio::test]
async fn the_rust_sdk_reads_the_trail_bucket() {
    let dir = temp_dir("s3-read");
    let server = Server::start_with(Options { trail_dir: Some(dir.clone()), ..Options::default() }).await;
    delivered_trail(&server).await;
    let s3 = server.s3();

    let buckets = s3.list_buckets().send().await.unwrap();
    let names: Vec<&str> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["trail-logs"]);
    assert!(buckets.owner().and_then(|o| o.id()).is_some_and(|id| id.len() == 64));
    let location = s3.get_bucket_location().bucket("trail-logs").send().await.unwrap();
    assert!(location.location_constraint().is_none_or(|c| c.as_str().is_empty()), "us-east-1 is the empty constraint: {location:?}");
    s3.head_bucket().bucket("trail-logs").send().await.unwrap();

    // Every file on disk, and nothing else, listed page by page in key order.
    let expected: Vec<String> = files_on_disk(&dir).into_iter().map(|k| k.trim_start_matches("trail-logs/").to_string()).collect();
    assert!(expected.iter().filter(|k| k.contains("/CloudTrail-Digest/")).count() >= 2, "{expected:?}");
    let mut pages = s3.list_objects_v2().bucket("trail-logs").max_keys(2).into_paginator().send();
    let mut listed = Vec::new();
    let mut page_count = 0;
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        page_count += 1;
        assert!(page.key_count().unwrap() <= 2);
        listed.extend(page.contents().iter().map(|o| o.key().unwrap().to_string()));
    }
    assert_eq!(listed, expected);
    assert_eq!(page_count, expected.len().div_ceil(2));
    let by_folder = s3.list_objects_v2().bucket("trail-logs").prefix(format!("AWSLogs/{ACCOUNT}/")).delimiter("/").send().await.unwrap();
    let prefixes: Vec<&str> = by_folder.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(prefixes, [format!("AWSLogs/{ACCOUNT}/CloudTrail-Digest/"), format!("AWSLogs/{ACCOUNT}/CloudTrail/")]);
    assert!(by_folder.contents().is_empty());
    let after = s3.list_objects_v2().bucket("trail-logs").start_after(&expected[0]).send().await.unwrap();
    assert_eq!(after.contents().len(), expected.len() - 1);
    let v1 = s3.list_objects().bucket("trail-logs").marker(&expected[0]).max_keys(1).send().await.unwrap();
    assert_eq!(v1.contents()[0].key(), Some(expected[1].as_str()));
    assert_eq!(v1.is_truncated(), Some(expected.len() > 2));

    // Bodies byte for byte, with S3's ETag (MD5 of the body) and content headers.
    let log_key = expected.iter().find(|k| k.contains("/CloudTrail/")).unwrap();
    let on_disk = std::fs::read(dir.join("trail-logs").join(log_key)).unwrap();
    let got = s3.get_object().bucket("trail-logs").key(log_key).send().await.unwrap();
    let etag = got.e_tag().unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", md5_hex(&on_disk)));
    assert_eq!(got.content_length(), Some(on_disk.len() as i64));
    assert_eq!((got.content_type(), got.content_encoding()), (Some("application/json"), Some("gzip")));
    assert!(got.last_modified().is_some());
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), on_disk.as_slice());
    let listed_etag =
        s3.list_objects_v2().bucket("trail-logs").prefix(log_key).send().await.unwrap().contents()[0].e_tag().unwrap().to_string();
    assert_eq!(listed_etag, etag);
    let range = s3.get_object().bucket("trail-logs").key(log_key).range("bytes=2-9").send().await.unwrap();
    assert_eq!(range.content_range(), Some(format!("bytes 2-9/{}", on_disk.len()).as_str()));
    assert_eq!(range.body.collect().await.unwrap().into_bytes().as_ref(), &on_disk[2..10]);
    let e = s3.get_object().bucket("trail-logs").key(log_key).range(format!("bytes={}-", on_disk.len())).send().await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidRange"));
    let e = s3.get_object().bucket("trail-logs").key(log_key).if_none_match(&etag).send().await.unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(304));
    let e = s3.get_object().bucket("trail-logs").key(log_key).if_match("\"0000\"").send().await.unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(412));
    let later = aws_sdk_s3::primitives::DateTime::from_secs(4_102_444_800);
    let e = s3.get_object().bucket("trail-logs").key(log_key).if_modified_since(later).send().await.unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(304));

    // A digest's signature is in its metadata, as CloudTrail writes it.
    let digest_key = expected.iter().find(|k| k.contains("/CloudTrail-Digest/")).unwrap();
    let head = s3.head_object().bucket("trail-logs").key(digest_key).send().await.unwrap();
    let meta = head.metadata().unwrap();
    assert_eq!(meta.get("signature-algorithm").map(String::as_str), Some("SHA256withRSA"));
    assert!(meta.get("signature").is_some_and(|s| s.len() == 512 && s.bytes().all(|b| b.is_ascii_hexdigit())));
    assert_eq!(head.content_length(), Some(std::fs::metadata(dir.join("trail-logs").join(digest_key)).unwrap().len() as i64));

    // S3's errors; writes refused as by a bucket policy that denies them.
    let e = s3.get_object().bucket("trail-logs").key("AWSLogs/none.json.gz").send().await.unwrap_err();
    assert_eq!(e.code(), Some("NoSuchKey"));
    let e = s3.list_objects_v2().bucket("no-such-logs").send().await.unwrap_err();
    assert_eq!(e.code(), Some("NoSuchBucket"));
    let e = s3.head_object().bucket("trail-logs").key("missing").send().await.unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
    let e = s3.put_object().bucket("trail-logs").key(log_key).body(ByteStream::from_static(b"forged")).send().await.unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    assert!(e.message().unwrap().contains("s3:PutObject"), "{e:?}");
    let e = s3.delete_object().bucket("trail-logs").key(log_key).send().await.unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    assert_eq!(std::fs::read(dir.join("trail-logs").join(log_key)).unwrap(), on_disk, "nothing changed");
    let e = s3.get_bucket_acl().bucket("trail-logs").send().await.unwrap_err();
    assert_eq!(e.code(), Some("NotImplemented"));
    server.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn nothing_outside_a_bucket_can_be_read() {
    let dir = temp_dir("s3-traversal");
    std::fs::create_dir_all(dir.join("trail-logs/AWSLogs")).unwrap();
    std::fs::write(dir.join("secret.txt"), b"not an object").unwrap();
    std::fs::write(dir.join("trail-logs/AWSLogs/.hidden"), b"not an object").unwrap();
    std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("trail-logs/AWSLogs/link")).unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("trail-logs/loop")).unwrap();
    let server = Server::start_with(Options { trail_dir: Some(dir.clone()), ..Options::default() }).await;
    let s3 = server.s3();
    let listed = s3.list_objects_v2().bucket("trail-logs").send().await.unwrap();
    assert!(listed.contents().is_empty(), "links and hidden files are no objects: {:?}", listed.contents());
    for key in ["AWSLogs/link", "AWSLogs/.hidden", "../secret.txt", "AWSLogs/../../secret.txt", "loop/secret.txt", "/etc/passwd"] {
        let e = s3.get_object().bucket("trail-logs").key(key).send().await.unwrap_err();
        assert_eq!(e.code(), Some("NoSuchKey"), "{key}: {e:?}");
    }
    // The same through raw paths, encoded and not (HTTP clients may not normalize them).
    let auth = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00";
    for path in ["/trail-logs/..%2Fsecret.txt", "/trail-logs/../secret.txt", "/..%2Fsecret.txt/x", "/trail-logs/%2e%2e/secret.txt"] {
        let (status, body) = raw_http(server.addr, "GET", path, &[("authorization", auth)], "").await;
        assert!(!body.contains("not an object") && status >= 400, "{path}: {status} {body}");
    }
    server.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// Three IAM users: `reader` (may read the trail bucket), `kmsonly` (KMS only), and `outsider`
/// of another account (may read it as far as its own policy goes).
fn config() -> String {
    let read = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::trail-logs","arn:aws:s3:::trail-logs/*"]}]}"#;
    let kms = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
    let users = [
        (ACCOUNT, "reader", "AKIAREADER0000000001", "reader-secret", read),
        (ACCOUNT, "kmsonly", "AKIAKMSONLY000000001", "kms-secret", kms),
        ("444455556666", "outsider", "AKIAOUTSIDER00000001", "out-secret", read),
    ];
    users
        .iter()
        .map(|(account, name, key, secret, policy)| {
            format!("[[users]]\naccount = \"{account}\"\nname = \"{name}\"\naccess_key_id = \"{key}\"\nsecret_access_key = \"{secret}\"\npolicies = ['''{policy}''']\n\n")
        })
        .collect()
}

#[tokio::test]
async fn identity_policies_and_signatures_gate_the_bucket() {
    let dir = temp_dir("s3-access");
    let options = Options { trail_dir: Some(dir.clone()), verify_signatures: true, ..Options::from_config(&config()).unwrap() };
    let server = Server::start_with(options).await;
    delivered_trail(&server).await;
    let key = log_files(&dir)[0].key.trim_start_matches("trail-logs/").to_string();

    let reader = server.s3_as("AKIAREADER0000000001", "reader-secret", "us-east-1");
    reader.get_object().bucket("trail-logs").key(&key).send().await.unwrap();
    reader.list_objects_v2().bucket("trail-logs").send().await.unwrap();
    let e = reader.list_buckets().send().await.unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    assert_eq!(
        e.message(),
        Some("User: arn:aws:iam::111122223333:user/reader is not authorized to perform: s3:ListAllMyBuckets on resource: arn:aws:s3:::* because no identity-based policy allows the s3:ListAllMyBuckets action")
    );
    let kms_only = server.s3_as("AKIAKMSONLY000000001", "kms-secret", "us-east-1");
    let e = kms_only.get_object().bucket("trail-logs").key(&key).send().await.unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    assert!(e.message().unwrap().contains("because no identity-based policy allows the s3:GetObject action"), "{e:?}");
    let outsider = server.s3_as("AKIAOUTSIDER00000001", "out-secret", "us-east-1");
    let e = outsider.get_object().bucket("trail-logs").key(&key).send().await.unwrap_err();
    assert!(e.message().unwrap().contains("because no resource-based policy allows"), "another account: {e:?}");
    // Wrong secret, unknown... an account root of the owner reads everything.
    let forged = server.s3_as("AKIAREADER0000000001", "wrong", "us-east-1");
    let e = forged.get_object().bucket("trail-logs").key(&key).send().await.unwrap_err();
    assert_eq!(e.code(), Some("SignatureDoesNotMatch"));
    server.s3_as(ACCOUNT, "any", "eu-west-1").list_buckets().send().await.unwrap();
    // No signature at all: anonymous, refused.
    let (status, body) = virtual_host_get(server.addr, "trail-logs.s3.us-east-1.amazonaws.com", &format!("/{key}"), &[]).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    // Sent to S3, signed for KMS.
    let kms_scope =
        "AWS4-HMAC-SHA256 Credential=AKIAREADER0000000001/20250101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00";
    let (status, body) =
        virtual_host_get(server.addr, "trail-logs.s3.us-east-1.amazonaws.com", &format!("/{key}"), &[("authorization", kms_scope)]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("<Code>AuthorizationHeaderMalformed</Code>") && body.contains("incorrect service"), "{body}");
    server.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// A GET with `host` as its `Host` header (virtual-host-style addressing) and `headers`.
async fn virtual_host_get(addr: std::net::SocketAddr, host: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    stream.write_all(format!("GET {path} HTTP/1.1\r\nhost: {host}\r\n{extra}connection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

#[tokio::test]
async fn bucket_level_calls_are_recorded_and_object_reads_are_not() {
    let dir = temp_dir("s3-records");
    let server = Server::start_with(Options { trail_dir: Some(dir.clone()), ..Options::from_config(&config()).unwrap() }).await;
    delivered_trail(&server).await;
    let before = server.all_events().await.len();
    let s3 = server.s3();
    let listed = s3.list_buckets().send().await.unwrap();
    let request_id = {
        use aws_sdk_s3::operation::RequestId;
        listed.request_id().unwrap().to_string()
    };
    s3.get_bucket_location().bucket("trail-logs").send().await.unwrap();
    let key = log_files(&dir)[0].key.trim_start_matches("trail-logs/").to_string();
    s3.get_object().bucket("trail-logs").key(&key).send().await.unwrap();
    s3.list_objects_v2().bucket("trail-logs").send().await.unwrap();
    s3.head_object().bucket("trail-logs").key(&key).send().await.unwrap();
    let denied = server.s3_as("AKIAKMSONLY000000001", "kms-secret", "us-east-1");
    denied.get_bucket_location().bucket("trail-logs").send().await.unwrap_err();
    let records = server.all_events().await.split_off(before);
    let names: Vec<&str> = records.iter().map(|r| r["eventName"].as_str().unwrap()).collect();
    assert_eq!(names, ["ListBuckets", "GetBucketLocation", "GetBucketLocation"], "object reads are data events: not recorded");

    // Field by field against the ListBuckets record in AWS's S3 guide ("CloudTrail log file
    // entries for Amazon S3"), with this call's own values.
    let list = &records[0];
    assert_eq!(list["eventSource"], "s3.amazonaws.com");
    assert_eq!(list["eventType"], "AwsApiCall");
    assert_eq!(list["requestID"], request_id.as_str());
    assert_eq!(request_id.len(), 16);
    assert_eq!(list["readOnly"], true);
    assert_eq!(list["managementEvent"], true);
    assert_eq!(list["eventCategory"], "Management");
    assert_eq!(list["recipientAccountId"], ACCOUNT);
    assert_eq!(list["userIdentity"]["type"], "Root");
    assert_eq!(list["requestParameters"]["Host"], server.addr.to_string());
    assert_eq!(list["responseElements"], Value::Null);
    let extra = &list["additionalEventData"];
    assert_eq!((extra["SignatureVersion"].as_str(), extra["AuthenticationMethod"].as_str()), (Some("SigV4"), Some("AuthHeader")));
    assert!(extra["bytesTransferredOut"].as_u64().unwrap() > 0 && extra["x-amz-id-2"].is_string());
    let location = &records[1];
    assert_eq!(
        location["requestParameters"],
        serde_json::json!({"bucketName": "trail-logs", "Host": server.addr.to_string(), "location": ""})
    );
    assert_eq!(
        location["resources"],
        serde_json::json!([{"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::trail-logs"}])
    );
    assert_eq!(records[2]["errorCode"], "AccessDenied");
    assert_eq!(records[2]["userIdentity"]["userName"], "kmsonly");

    // A trail logs them like any management event.
    server.advance_clock(300).await;
    let delivered: Vec<String> =
        log_files(&dir).iter().flat_map(|f| f.records.iter().map(|r| r["eventName"].as_str().unwrap().to_string())).collect();
    assert!(delivered.iter().any(|n| n == "ListBuckets") && delivered.iter().any(|n| n == "GetBucketLocation"));
    server.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn digests_are_signed_with_the_key_list_public_keys_returns() {
    let dir = temp_dir("s3-digests");
    let server = Server::start_with(Options { trail_dir: Some(dir.clone()), ..Options::default() }).await;
    delivered_trail(&server).await;
    let ct = server.cloudtrail();
    let keys = ct.list_public_keys().send().await.unwrap();
    let list = keys.public_key_list();
    assert_eq!(list.len(), 1, "{list:?}");
    let der = list[0].value().unwrap().as_ref().to_vec();
    assert_eq!(list[0].fingerprint(), Some(md5_hex(&der).as_str()), "the fingerprint is the MD5 of the DER key");
    assert!(list[0].validity_start_time().unwrap().secs() < list[0].validity_end_time().unwrap().secs());
    assert!(
        server.cloudtrail_as("AKIAIOSFODNN7EXAMPLE", "s", "eu-west-1").list_public_keys().send().await.unwrap().public_key_list()[0]
            .fingerprint()
            != list[0].fingerprint(),
        "a key per region"
    );

    let digests = digest_files(&dir);
    assert_eq!(digests.len(), 2);
    let (first, second) = (&digests[0].1, &digests[1].1);
    for (key, doc, raw) in &digests {
        assert_eq!(doc["digestPublicKeyFingerprint"], list[0].fingerprint().unwrap());
        assert_eq!(format!("trail-logs/{}", doc["digestS3Object"].as_str().unwrap()), *key);
        // The signature checked by OpenSSL, over AWS's data signing string.
        let head = server.s3().head_object().bucket("trail-logs").key(doc["digestS3Object"].as_str().unwrap()).send().await.unwrap();
        let signature = hex::decode(head.metadata().unwrap()["signature"].as_str()).unwrap();
        let to_sign = format!(
            "{}\n{}/{}\n{}\n{}",
            doc["digestEndTime"].as_str().unwrap(),
            doc["digestS3Bucket"].as_str().unwrap(),
            doc["digestS3Object"].as_str().unwrap(),
            sha256_hex(raw),
            doc["previousDigestSignature"].as_str().unwrap_or("null")
        );
        assert!(openssl_verifies(&der, to_sign.as_bytes(), &signature), "{key}");
        assert!(!openssl_verifies(&der, format!("{to_sign}x").as_bytes(), &signature), "a changed string fails");
    }
    assert!(first["previousDigestSignature"].is_null(), "a starting digest");
    assert_eq!(second["previousDigestS3Object"], first["digestS3Object"]);
    assert_eq!(second["previousDigestHashValue"], sha256_hex(&digests[0].2).as_str());
    assert_eq!(first["digestEndTime"], second["digestStartTime"]);
    let listed: Vec<&str> = first["logFiles"].as_array().unwrap().iter().map(|f| f["s3Object"].as_str().unwrap()).collect();
    assert!(!listed.is_empty());
    for file in log_files(&dir).iter().filter(|f| listed.contains(&f.key.trim_start_matches("trail-logs/"))) {
        let entry = first["logFiles"].as_array().unwrap().iter().find(|e| file.key.ends_with(e["s3Object"].as_str().unwrap())).unwrap();
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(std::fs::File::open(dir.join(&file.key)).unwrap()), &mut raw).unwrap();
        assert_eq!(entry["hashValue"], sha256_hex(&raw).as_str());
        assert_eq!(entry["hashAlgorithm"], "SHA-256");
    }

    let status = ct.get_trail_status().name("audit").send().await.unwrap();
    let end = second["digestEndTime"].as_str().unwrap();
    let end = aws_sdk_s3::primitives::DateTime::from_str(end, aws_sdk_s3::primitives::DateTimeFormat::DateTime).unwrap().secs();
    assert_eq!(status.latest_digest_delivery_time().map(|t| t.secs()), Some(end));
    assert!(status.latest_digest_delivery_error().is_none());
    let described = ct.describe_trails().send().await.unwrap();
    assert_eq!(described.trail_list()[0].log_file_validation_enabled(), Some(true));
    server.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

fn sha256_hex(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-r"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    out.split_whitespace().next().unwrap().to_string()
}

/// `openssl dgst -sha256 -verify` with the PKCS #1 DER public key: the check outside keytrail.
fn openssl_verifies(public_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let dir = temp_dir("openssl");
    std::fs::write(dir.join("key.der"), public_der).unwrap();
    std::fs::write(dir.join("msg"), message).unwrap();
    std::fs::write(dir.join("sig"), signature).unwrap();
    let ok = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-keyform", "DER", "-verify"])
        .arg(dir.join("key.der"))
        .arg("-signature")
        .arg(dir.join("sig"))
        .arg(dir.join("msg"))
        .output()
        .expect("openssl");
    let _ = std::fs::remove_dir_all(&dir);
    ok.status.success()
}

#[tokio::test]
async fn a_trail_kms_key_id_is_resolved_to_its_arn() {
    let server = Server::start().await;
    let kms = server.kms();
    let key = kms.create_key().send().await.unwrap().key_metadata().unwrap().arn().unwrap().to_string();
    kms.create_alias().alias_name("alias/trail-logs").target_key_id(&key).send().await.unwrap();
    let ct = server.cloudtrail();
    let created = ct.create_trail().name("enc").s3_bucket_name("enc-logs").kms_key_id("alias/trail-logs").send().await.unwrap();
    assert_eq!(created.kms_key_id(), Some(key.as_str()), "stored as the key ARN, as CloudTrail does");
    let e = ct.create_trail().name("enc2").s3_bucket_name("enc-logs").kms_key_id("alias/none").send().await.unwrap_err();
    assert_eq!(e.code(), Some("KmsKeyNotFoundException"));
    let e = ct.update_trail().name("enc").kms_key_id("arn:aws:kms:us-east-1:bad").send().await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidKmsKeyIdException"));
    let west = format!("arn:aws:kms:us-west-2:{ACCOUNT}:key/{}", key.rsplit('/').next().unwrap());
    let e = ct.update_trail().name("enc").kms_key_id(west).send().await.unwrap_err();
    assert_eq!(e.code(), Some("KmsKeyNotFoundException"), "a key of another region");
    assert_eq!(ct.get_trail().name("enc").send().await.unwrap().trail().unwrap().kms_key_id(), Some(key.as_str()), "unchanged");
    let cleared = ct.update_trail().name("enc").kms_key_id("").send().await.unwrap();
    assert_eq!(cleared.kms_key_id(), None);
    server.stop().await;
}

#[tokio::test]
async fn with_a_data_dir_digest_chains_and_keys_survive_a_restart() {
    let dir = temp_dir("s3-restart");
    let options = || Options { data_dir: Some(dir.clone()), ..Options::default() };
    let server = Server::start_with(options()).await;
    delivered_trail(&server).await;
    let fingerprint = server.cloudtrail().list_public_keys().send().await.unwrap().public_key_list()[0].fingerprint().unwrap().to_string();
    let before = digest_files(&dir.join("s3"));
    server.stop().await;

    let server = Server::start_with(options()).await;
    let keys = server.cloudtrail().list_public_keys().send().await.unwrap();
    assert_eq!(keys.public_key_list().len(), 1);
    assert_eq!(keys.public_key_list()[0].fingerprint(), Some(fingerprint.as_str()), "the same signing key");
    server.kms().list_keys().send().await.unwrap();
    server.advance_clock(3600).await;
    let after = digest_files(&dir.join("s3"));
    assert_eq!(after.len(), before.len() + 1);
    let newest = &after.last().unwrap().1;
    let last_before = &before.last().unwrap().1;
    assert_eq!(newest["previousDigestS3Object"], last_before["digestS3Object"], "the chain goes on");
    assert_eq!(newest["digestStartTime"], last_before["digestEndTime"]);
    assert_eq!(newest["digestPublicKeyFingerprint"], fingerprint.as_str());
    assert!(!newest["logFiles"].as_array().unwrap().is_empty());
    server.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}
