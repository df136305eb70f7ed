//! The binary's command line: every flag also as a `KEYTRAIL_*` variable (the flag winning),
//! `--help` listing the variables, and the readiness line printed whatever `RUST_LOG` says.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_keytrail");

/// Starts the binary with `env` and `args`, waits for its readiness line and returns the
/// address it names; the process is killed when the test is done with it.
fn start(env: &[(&str, &str)], args: &[&str]) -> (std::process::Child, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("RUST_LOG", "error").stdout(Stdio::null()).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("keytrail starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            if let Some(addr) = line.strip_prefix("keytrail listening on ") {
                return (child, addr.trim().to_string());
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("no readiness line within 20 s");
}

/// One plain HTTP GET of a control route: the body.
fn get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(stream, "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default()
}

#[test]
fn help_lists_every_variable() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "KEYTRAIL_LISTEN",
        "KEYTRAIL_CONFIG",
        "KEYTRAIL_ACCOUNT_ID",
        "KEYTRAIL_REGION",
        "KEYTRAIL_DATA_DIR",
        "KEYTRAIL_EVENTS_OUT",
        "KEYTRAIL_VERIFY_SIGNATURES",
        "KEYTRAIL_STRICT_CREDENTIALS",
        "KEYTRAIL_TRAIL_DIR",
        "KEYTRAIL_ENFORCEMENT",
    ] {
        assert!(help.contains(&format!("[env: {var}=")), "{var} missing from --help:\n{help}");
    }
}

#[test]
fn variables_configure_and_flags_win() {
    let dir = std::env::temp_dir().join(format!("keytrail-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join("events.jsonl");
    let s3 = dir.join("s3");
    let env = [
        ("KEYTRAIL_LISTEN", "127.0.0.1:0"),
        ("KEYTRAIL_EVENTS_OUT", events.to_str().unwrap()),
        ("KEYTRAIL_STRICT_CREDENTIALS", "true"),
        ("KEYTRAIL_VERIFY_SIGNATURES", "false"),
        ("KEYTRAIL_TRAIL_DIR", s3.to_str().unwrap()),
    ];
    let (mut child, addr) = start(&env, &[]);
    assert!(addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"), "port 0 picked a port: {addr}");
    let health = get(&addr, "/_keytrail/health");
    assert!(health.contains("\"ok\"") && health.contains(&format!("\"trailDir\":\"{}\"", s3.display())), "{health}");
    // Strict credentials from the variable: an unknown key is refused.
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    let auth = "AWS4-HMAC-SHA256 Credential=AKIAUNKNOWN/20240101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00";
    write!(stream, "POST / HTTP/1.1\r\nhost: {addr}\r\nx-amz-target: TrentService.ListKeys\r\nauthorization: {auth}\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.contains("UnrecognizedClientException"), "{answer}");
    assert!(s3.is_dir(), "KEYTRAIL_TRAIL_DIR made at start-up");
    let _ = child.kill();
    let _ = child.wait();

    // The flag wins over its variable; the account from the variable shows in GetCallerIdentity's answer.
    let (mut child, addr) =
        start(&[("KEYTRAIL_LISTEN", "127.0.0.1:1"), ("KEYTRAIL_ACCOUNT_ID", "444455556666")], &["--listen", "127.0.0.1:0"]);
    assert_ne!(addr, "127.0.0.1:1");
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    let auth = "AWS4-HMAC-SHA256 Credential=AKIAANY/20240101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00";
    write!(
        stream,
        "GET /?Action=GetCallerIdentity&Version=2011-06-15 HTTP/1.1\r\nhost: {addr}\r\nauthorization: {auth}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.contains("<Account>444455556666</Account>"), "{answer}");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_variable_value_stops_start_up_with_its_name() {
    let out = Command::new(BIN).env("KEYTRAIL_VERIFY_SIGNATURES", "maybe").env("KEYTRAIL_LISTEN", "127.0.0.1:0").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("maybe") && err.contains("verify-signatures"), "{err}");
}
