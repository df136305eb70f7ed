//! Hostile input: every malformed, oversized or abusive request gets a clear AWS-style error or a
//! closed connection — never a 5xx, a panic or a hang — and changes nothing: no key, alias or
//! grant appears or changes, and history grows only by the failed call's own record.

use std::net::SocketAddr;
use std::time::Duration;

use aws_sdk_kms::primitives::Blob;
use keytrail_tests::Server;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const AUTH: &str =
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";

/// Sends raw bytes and reads until the server closes or `wait` passes; returns what came back.
async fn exchange(addr: SocketAddr, request: &[u8], wait: Duration) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The server may answer and close before all of a too-large request is written.
    let _ = stream.write_all(request).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(wait, stream.read_to_end(&mut buf)).await;
    buf
}

fn kms_request(op: &str, body: &[u8]) -> Vec<u8> {
    let mut req = format!(
        "POST / HTTP/1.1\r\nhost: localhost\r\nx-amz-target: TrentService.{op}\r\ncontent-type: application/x-amz-json-1.1\r\nauthorization: {AUTH}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

/// Status and JSON body of a raw KMS call.
async fn kms_raw(addr: SocketAddr, op: &str, body: &[u8]) -> (u16, Value) {
    let resp = exchange(addr, &kms_request(op, body), Duration::from_secs(10)).await;
    parse(&resp)
}

fn parse(resp: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(resp);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// What must not change: keys (with their state and material), aliases, and history length.
async fn snapshot(server: &Server) -> (String, usize) {
    let mut keys: Vec<String> = server
        .app
        .kms
        .store
        .all_keys()
        .iter()
        .map(|k| format!("{}|{:?}|{}|{:?}|{}|{}", k.arn(), k.state, k.description, k.tags, k.materials.len(), k.grants.len()))
        .collect();
    keys.sort();
    let mut aliases: Vec<String> = server.app.kms.store.all_aliases().iter().map(|a| format!("{}>{}", a.arn(), a.target_key_id)).collect();
    aliases.sort();
    (format!("{keys:?}{aliases:?}"), server.app.recorder.len())
}

fn expect_error(case: &str, got: &(u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{case}: status, body {}", got.1);
    assert_eq!(got.1["__type"], code, "{case}: {}", got.1);
    let message = got.1["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{case}: an error needs a message: {}", got.1);
}

#[tokio::test]
async fn malformed_requests_get_aws_errors_and_change_nothing() {
    let server = Server::start().await;
    let kms = server.kms();
    let key_id = kms.create_key().description("target").send().await.unwrap().key_metadata().unwrap().key_id().to_string();
    kms.create_alias().alias_name("alias/target").target_key_id(&key_id).send().await.unwrap();
    let addr = server.addr;
    let (state, records) = snapshot(&server).await;

    let huge = "x".repeat(9000);
    let big_ctx: String = (0..300).map(|i| format!("\"k{i}\":\"{}\"", "v".repeat(40))).collect::<Vec<_>>().join(",");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("not json", "CreateKey", b"{\"Description\": ".to_vec(), 400, "SerializationException"),
        ("garbage bytes", "CreateKey", vec![0xff, 0xfe, 0x00, 0x80, 0x7b], 400, "SerializationException"),
        ("json array", "CreateKey", b"[1,2,3]".to_vec(), 400, "SerializationException"),
        ("json null", "TagResource", b"null".to_vec(), 400, "SerializationException"),
        ("deep nesting", "CreateKey", deep.into_bytes(), 400, "SerializationException"),
        ("wrong type", "CreateKey", br#"{"Description": 12}"#.to_vec(), 400, "SerializationException"),
        (
            "wrong type nested",
            "TagResource",
            format!(r#"{{"KeyId":"{key_id}","Tags":[{{"TagKey":1}}]}}"#).into_bytes(),
            400,
            "SerializationException",
        ),
        ("missing key id", "DisableKey", b"{}".to_vec(), 400, "ValidationException"),
        ("missing alias target", "CreateAlias", br#"{"AliasName":"alias/x"}"#.to_vec(), 400, "ValidationException"),
        ("oversized description", "CreateKey", format!(r#"{{"Description":"{huge}"}}"#).into_bytes(), 400, "ValidationException"),
        (
            "oversized description update",
            "UpdateKeyDescription",
            format!(r#"{{"KeyId":"{key_id}","Description":"{huge}"}}"#).into_bytes(),
            400,
            "ValidationException",
        ),
        ("oversized key id", "DisableKey", format!(r#"{{"KeyId":"{}"}}"#, "k".repeat(3000)).into_bytes(), 400, "ValidationException"),
        (
            "oversized plaintext",
            "Encrypt",
            format!(r#"{{"KeyId":"{key_id}","Plaintext":"{}"}}"#, "A".repeat(8000)).into_bytes(),
            400,
            "ValidationException",
        ),
        (
            "invalid base64",
            "Encrypt",
            format!(r#"{{"KeyId":"{key_id}","Plaintext":"!!not base64!!"}}"#).into_bytes(),
            400,
            "SerializationException",
        ),
        ("invalid base64 ciphertext", "Decrypt", br#"{"CiphertextBlob":"%%%%"}"#.to_vec(), 400, "SerializationException"),
        (
            "huge encryption context",
            "Encrypt",
            format!(r#"{{"KeyId":"{key_id}","Plaintext":"aGk=","EncryptionContext":{{{big_ctx}}}}}"#).into_bytes(),
            400,
            "ValidationException",
        ),
        (
            "random ciphertext",
            "Decrypt",
            br#"{"CiphertextBlob":"q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJCrze8SNFZ4kA=="}"#.to_vec(),
            400,
            "InvalidCiphertextException",
        ),
        ("empty ciphertext", "Decrypt", br#"{"CiphertextBlob":""}"#.to_vec(), 400, "ValidationException"),
        ("zero limit", "ListKeys", br#"{"Limit":0}"#.to_vec(), 400, "ValidationException"),
        ("negative limit", "ListAliases", br#"{"Limit":-5}"#.to_vec(), 400, "ValidationException"),
        ("absurd limit", "ListKeys", br#"{"Limit":99999999999}"#.to_vec(), 400, "ValidationException"),
        ("float limit", "ListKeys", br#"{"Limit":1e300}"#.to_vec(), 400, "SerializationException"),
        ("garbage marker", "ListKeys", br#"{"Marker":"not-a-marker"}"#.to_vec(), 400, "InvalidMarkerException"),
        ("oversized marker", "ListAliases", format!(r#"{{"Marker":"{}"}}"#, "m".repeat(5000)).into_bytes(), 400, "ValidationException"),
        (
            "absurd deletion window",
            "ScheduleKeyDeletion",
            format!(r#"{{"KeyId":"{key_id}","PendingWindowInDays":100000}}"#).into_bytes(),
            400,
            "ValidationException",
        ),
        (
            "absurd rotation period",
            "EnableKeyRotation",
            format!(r#"{{"KeyId":"{key_id}","RotationPeriodInDays":-1}}"#).into_bytes(),
            400,
            "ValidationException",
        ),
        ("absurd byte count", "GenerateRandom", br#"{"NumberOfBytes":1000000000}"#.to_vec(), 400, "ValidationException"),
        (
            "absurd data key size",
            "GenerateDataKey",
            format!(r#"{{"KeyId":"{key_id}","NumberOfBytes":4294967296}}"#).into_bytes(),
            400,
            "ValidationException",
        ),
    ];
    let mut reached_operation = 0;
    for (case, op, body, status, code) in &cases {
        let got = kms_raw(addr, op, body).await;
        expect_error(case, &got, *status, code);
        reached_operation += 1;
    }
    // The unauthenticated and the unknown never reach an operation and leave no record.
    let no_auth = exchange(
        addr,
        b"POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.CreateKey\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
        Duration::from_secs(10),
    )
    .await;
    expect_error("no signature", &parse(&no_auth), 400, "MissingAuthenticationTokenException");
    // An Authorization header without its Credential: the error quotes the header, never its signature.
    let signature = "d0c7d6e2a7f2f1c0b5a4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2";
    let no_credential = exchange(
        addr,
        format!(
            "POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.CreateKey\r\nauthorization: AWS4-HMAC-SHA256 SignedHeaders=host, Signature={signature}\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
        )
        .as_bytes(),
        Duration::from_secs(10),
    )
    .await;
    let got = parse(&no_credential);
    expect_error("no credential", &got, 400, "IncompleteSignatureException");
    let message = got.1["message"].as_str().or(got.1["Message"].as_str()).unwrap_or_default();
    assert!(message.contains("requires 'Credential'") && message.contains("Signature=***"), "{message}");
    assert!(!String::from_utf8_lossy(&no_credential).contains(signature), "the signature was echoed");
    expect_error("unknown operation", &kms_raw(addr, "MakeCoffee", b"{}").await, 400, "UnknownOperationException");

    let (state_after, records_after) = snapshot(&server).await;
    assert_eq!(state_after, state, "a hostile request changed state");
    assert_eq!(records_after, records + reached_operation, "one record per failed call, no more");
    let failed = server.events("").await;
    for r in &failed[failed.len() - reached_operation..] {
        assert!(r["errorCode"].is_string(), "failed call recorded as success: {r}");
        let text = r.to_string();
        assert!(!text.contains("!!not base64!!"), "input echoed into a record: {text}");
        assert!(text.len() < 64 * 1024, "record of {} bytes: {}", text.len(), &text[..2000]);
    }
    // Still serving, and the key still works.
    let ct = kms.encrypt().key_id("alias/target").plaintext(Blob::new(&b"ok"[..])).send().await.unwrap();
    kms.decrypt().ciphertext_blob(ct.ciphertext_blob().unwrap().clone()).send().await.unwrap();
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413_before_they_are_read() {
    let server = Server::start().await;
    let before = snapshot(&server).await;
    let limit = keytrail_server::http::MAX_BODY_BYTES;
    // Sent in full.
    let body = format!(r#"{{"Description":"{}"}}"#, "d".repeat(limit));
    let got = parse(&exchange(server.addr, &kms_request("CreateKey", body.as_bytes()), Duration::from_secs(10)).await);
    expect_error("too large", &got, 413, "RequestEntityTooLargeException");
    // Only announced: the server must not wait for 1 GB to arrive.
    let announced = format!(
        "POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.CreateKey\r\nauthorization: {AUTH}\r\ncontent-length: 1073741824\r\n\r\n{{"
    );
    let got = parse(&exchange(server.addr, announced.as_bytes(), Duration::from_secs(5)).await);
    expect_error("announced too large", &got, 413, "RequestEntityTooLargeException");
    // Chunked, growing past the limit.
    let mut chunked = format!(
        "POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.CreateKey\r\nauthorization: {AUTH}\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for _ in 0..(limit / 65536 + 2) {
        chunked.extend_from_slice(format!("{:x}\r\n", 65536).as_bytes());
        chunked.extend_from_slice(&vec![b' '; 65536]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let got = parse(&exchange(server.addr, &chunked, Duration::from_secs(10)).await);
    expect_error("chunked too large", &got, 413, "RequestEntityTooLargeException");
    assert_eq!(snapshot(&server).await, before);
}

#[tokio::test]
async fn header_floods_are_refused_without_harm() {
    let server = Server::start().await;
    let before = snapshot(&server).await;
    // Thousands of headers.
    let mut flood = String::from("POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.CreateKey\r\n");
    for i in 0..5000 {
        flood.push_str(&format!("x-flood-{i}: {i}\r\n"));
    }
    flood.push_str("content-length: 2\r\n\r\n{}");
    let resp = exchange(server.addr, flood.as_bytes(), Duration::from_secs(10)).await;
    let (status, _) = parse(&resp);
    assert!(resp.is_empty() || status == 431 || status == 400, "header flood answered {status}");
    // One enormous header.
    let giant = format!(
        "POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.CreateKey\r\nx-giant: {}\r\ncontent-length: 2\r\n\r\n{{}}",
        "g".repeat(2 * 1024 * 1024)
    );
    let resp = exchange(server.addr, giant.as_bytes(), Duration::from_secs(10)).await;
    let (status, _) = parse(&resp);
    assert!(resp.is_empty() || status == 431 || status == 400, "giant header answered {status}");
    // A huge User-Agent within limits is accepted but kept to 1 KB in the record.
    let ua = "u".repeat(8000);
    let req = format!(
        "POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.ListKeys\r\nauthorization: {AUTH}\r\nuser-agent: {ua}\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
    );
    let (status, _) = parse(&exchange(server.addr, req.as_bytes(), Duration::from_secs(10)).await);
    assert_eq!(status, 200);
    assert!(server.last_event().await["userAgent"].as_str().unwrap().len() <= 1024);
    let (state, records) = snapshot(&server).await;
    assert_eq!((state, records), (before.0, before.1 + 1));
    server.kms().list_keys().send().await.expect("still serving");
}

/// Connections that sit idle, or trickle a request head without ever finishing it, are closed
/// after one to two idle timeouts; a connection whose requests keep coming stays open however
/// long it lives, and so does one whose request is still being answered (a stalled body is the
/// body timeout's).
#[tokio::test]
async fn idle_and_trickling_connections_are_closed_busy_ones_are_not() {
    let timeout = Duration::from_secs(1);
    let server = Server::start_with(keytrail_server::Options { idle_connection_timeout: timeout, ..Default::default() }).await;
    let addr = server.addr;
    let closed_within = |mut stream: TcpStream, limit: Duration| async move {
        let mut buf = Vec::new();
        tokio::time::timeout(limit, stream.read_to_end(&mut buf)).await.is_ok_and(|read| read.is_ok())
    };
    let started = std::time::Instant::now();
    let silent = TcpStream::connect(addr).await.unwrap();
    let mut trickling = TcpStream::connect(addr).await.unwrap();
    let mut kept_busy = TcpStream::connect(addr).await.unwrap();
    let list_keys = format!(
        "POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.ListKeys\r\ncontent-type: application/x-amz-json-1.1\r\n\
         authorization: {AUTH}\r\ncontent-length: 2\r\n\r\n{{}}"
    );
    // For four timeouts, every 200 ms: a byte of a never-ending head on one connection, a whole
    // request on another.
    let head = b"POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.ListKeys\r\nx-padding: ";
    for tick in 0..20 {
        let _ = trickling.write_all(&head[tick..tick + 1]).await;
        kept_busy.write_all(list_keys.as_bytes()).await.unwrap();
        let mut buf = [0u8; 4096];
        let n = kept_busy.read(&mut buf).await.unwrap();
        assert_eq!(parse(&buf[..n]).0, 200, "a busy connection is served: {}", String::from_utf8_lossy(&buf[..n]));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(started.elapsed() >= timeout * 4);
    assert!(closed_within(silent, Duration::from_millis(100)).await, "a silent connection outlived two idle timeouts");
    assert!(closed_within(trickling, Duration::from_millis(100)).await, "a never-finished request head outlived two idle timeouts");
    // The busy connection still answers, then, left alone, is closed too.
    kept_busy.write_all(list_keys.as_bytes()).await.unwrap();
    let mut buf = [0u8; 4096];
    let n = kept_busy.read(&mut buf).await.unwrap();
    assert_eq!(parse(&buf[..n]).0, 200);
    assert!(closed_within(kept_busy, timeout * 2 + Duration::from_secs(1)).await, "an idle keep-alive connection is closed");
    // A request whose body is still coming is not cut by the idle guard: the body timeout answers it.
    let mut slow_body = TcpStream::connect(addr).await.unwrap();
    slow_body
        .write_all(format!("POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.ListKeys\r\nauthorization: {AUTH}\r\ncontent-length: 10\r\n\r\n{{").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    let waited =
        tokio::time::timeout(keytrail_server::http::BODY_READ_TIMEOUT + Duration::from_secs(5), slow_body.read_to_end(&mut buf)).await;
    assert!(waited.is_ok(), "a stalled body holds its connection forever");
    expect_error("stalled body under the idle guard", &parse(&buf), 408, "RequestTimeoutException");
}

#[tokio::test]
async fn slow_and_half_closed_connections_do_not_block_or_change_anything() {
    let server = Server::start().await;
    let before = snapshot(&server).await;
    let addr = server.addr;
    // Idle and partial connections hold nothing that others need.
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut partial = TcpStream::connect(addr).await.unwrap();
    partial.write_all(b"POST / HTTP/1.1\r\nhost: x\r\nx-amz-tar").await.unwrap();
    let mut slow_body = TcpStream::connect(addr).await.unwrap();
    slow_body
        .write_all(format!("POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.CreateKey\r\nauthorization: {AUTH}\r\ncontent-length: 100\r\n\r\n{{\"Desc").as_bytes())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    server.kms().list_keys().send().await.expect("served while others dawdle");
    assert!(started.elapsed() < Duration::from_secs(2));

    // Half-closed mid-headers: the server closes its side without answering.
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-le").await.unwrap();
    half.shutdown().await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), half.read_to_end(&mut buf)).await.expect("closed promptly").unwrap();
    assert!(buf.is_empty() || parse(&buf).0 == 400, "{}", String::from_utf8_lossy(&buf));

    // Half-closed mid-body: an error or a close, and no key created.
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(format!("POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.CreateKey\r\nauthorization: {AUTH}\r\ncontent-length: 50\r\n\r\n{{\"Descri").as_bytes())
        .await
        .unwrap();
    half.shutdown().await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), half.read_to_end(&mut buf)).await.expect("closed promptly").unwrap();
    if !buf.is_empty() {
        expect_error("half-closed body", &parse(&buf), 400, "SerializationException");
    }

    // A body that never completes is cut off after the body timeout, with an error.
    let mut buf = Vec::new();
    let waited =
        tokio::time::timeout(Duration::from_secs(keytrail_server::http::BODY_READ_TIMEOUT.as_secs() + 5), slow_body.read_to_end(&mut buf))
            .await;
    assert!(waited.is_ok(), "a stalled body holds its connection forever");
    if !buf.is_empty() {
        expect_error("stalled body", &parse(&buf), 408, "RequestTimeoutException");
    }
    drop(idle);
    drop(partial);
    // Only the ListKeys above was recorded.
    let (state, records) = snapshot(&server).await;
    assert_eq!((state, records), (before.0, before.1 + 1));
}

/// A client that sends its whole 20 MiB body before reading (as `requests`, `http.client` and
/// the SDKs do) reads the 413 instead of losing the connection mid-send: keytrail drains what
/// is over the limit (up to 32 MiB) before it answers and closes. Announced and chunked.
#[tokio::test]
async fn a_20_mib_body_gets_a_413_the_client_reads() {
    let server = Server::start().await;
    let before = snapshot(&server).await;
    let body = vec![b'x'; 20 << 20];
    for chunked in [false, true] {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        let framing = if chunked { "transfer-encoding: chunked".to_string() } else { format!("content-length: {}", body.len()) };
        let head =
            format!("POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.CreateKey\r\nauthorization: {AUTH}\r\n{framing}\r\n\r\n");
        stream.write_all(head.as_bytes()).await.expect("headers");
        if chunked {
            for part in body.chunks(1 << 20) {
                stream.write_all(format!("{:x}\r\n", part.len()).as_bytes()).await.expect("chunk size");
                stream.write_all(part).await.expect("a chunk: the connection was not reset");
                stream.write_all(b"\r\n").await.expect("chunk end");
            }
            stream.write_all(b"0\r\n\r\n").await.expect("last chunk");
        } else {
            stream.write_all(&body).await.expect("the whole body: the connection was not reset");
        }
        let mut buf = Vec::new();
        tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut buf)).await.expect("answered").expect("read");
        expect_error(if chunked { "20 MiB chunked" } else { "20 MiB" }, &parse(&buf), 413, "RequestEntityTooLargeException");
    }
    assert_eq!(snapshot(&server).await, before);
}

/// With `--max-connections 2`, a third connection waits (it is not accepted, so it is not
/// answered) until one of the first two closes; nothing is refused or lost.
#[tokio::test]
async fn connections_past_the_limit_wait_for_a_free_one() {
    let server = Server::start_with(keytrail_server::Options { max_connections: 2, ..Default::default() }).await;
    let health = b"GET /_keytrail/health HTTP/1.1\r\nhost: x\r\n\r\n";
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    for s in [&mut first, &mut second] {
        s.write_all(health).await.unwrap();
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.unwrap().unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    }
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    third.write_all(health).await.unwrap();
    let mut buf = [0u8; 512];
    assert!(tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await.is_err(), "not served while two are open");
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf)).await.expect("served once one closed").unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}
