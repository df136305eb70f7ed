//! Fuzzing (proptest, bounded): the policy parser takes any text — random bytes, random JSON, and
//! policy-shaped documents built from IAM's vocabulary — and answers a document or an error,
//! never a panic; parsing is deterministic and keeps the text exactly as given.

use keytrail_iam::policy::{PolicyDocument, PolicyKind};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// `PROPTEST_CASES` overrides the bounded default (longer runs by hand, shorter in CI if needed).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const FIELDS: &[&str] = &[
    "Version",
    "Id",
    "Statement",
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "AWS",
    "Service",
    "Federated",
    "CanonicalUser",
];
const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "StringEqualsIgnoreCase",
    "ArnEquals",
    "ArnLike",
    "ArnNotLike",
    "Bool",
    "NumericLessThan",
    "NumericGreaterThanEquals",
    "DateGreaterThan",
    "DateLessThan",
    "IpAddress",
    "NotIpAddress",
    "Null",
    "BinaryEquals",
    "ForAnyValue:StringEquals",
    "ForAllValues:StringLike",
    "StringEqualsIfExists",
    "NumericEqualsIfExists",
    "Nonsense",
    "ForAnyValue:Bool",
];
const WORDS: &[&str] = &[
    "2012-10-17",
    "2008-10-17",
    "Allow",
    "Deny",
    "*",
    "kms:*",
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:Create*",
    "s3:GetObject",
    "arn:aws:iam::111122223333:root",
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::*:role/app*",
    "111122223333",
    "arn:aws:kms:us-east-1:111122223333:key/*",
    "kms:EncryptionContext:Dept",
    "kms:CallerAccount",
    "aws:PrincipalArn",
    "kms:ViaService",
    "aws:SourceIp",
    "10.0.0.0/8",
    "true",
    "false",
    "2024-01-01T00:00:00Z",
    "42",
    "-1",
    "",
    "${aws:username}",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(WORDS).prop_map(|w| Value::String(w.to_string())),
        1 => ".{0,24}".prop_map(Value::String),
        1 => any::<i64>().prop_map(|n| json!(n)),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(FIELDS).prop_map(str::to_string),
        2 => prop::sample::select(OPERATORS).prop_map(str::to_string),
        2 => prop::sample::select(WORDS).prop_map(str::to_string),
        1 => ".{0,12}",
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Mostly well-formed statements with random parts, so the parser's deeper checks are reached.
fn statement() -> impl Strategy<Value = Value> {
    (
        prop::option::of(prop::sample::select(&["Allow", "Deny", "Maybe"][..])),
        prop::option::of(value()),
        prop::option::of(value()),
        prop::option::of(value()),
        prop::option::of((prop::sample::select(OPERATORS), prop::sample::select(WORDS), value())),
        prop::option::of(value()),
    )
        .prop_map(|(effect, principal, action, resource, condition, sid)| {
            let mut s = Map::new();
            if let Some(e) = effect {
                s.insert("Effect".into(), json!(e));
            }
            if let Some(p) = principal {
                s.insert("Principal".into(), p);
            }
            if let Some(a) = action {
                s.insert("Action".into(), a);
            }
            if let Some(r) = resource {
                s.insert("Resource".into(), r);
            }
            if let Some((op, k, v)) = condition {
                s.insert("Condition".into(), json!({ op: { k: v } }));
            }
            if let Some(sid) = sid {
                s.insert("Sid".into(), sid);
            }
            Value::Object(s)
        })
}

fn document() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (prop::option::of(prop::sample::select(WORDS)), prop::collection::vec(statement(), 0..4), any::<bool>()).prop_map(
            |(version, statements, single)| {
                let mut d = Map::new();
                if let Some(v) = version {
                    d.insert("Version".into(), json!(v));
                }
                let st = if single && statements.len() == 1 { statements[0].clone() } else { Value::Array(statements) };
                d.insert("Statement".into(), st);
                Value::Object(d).to_string()
            }
        ),
        1 => value().prop_map(|v| v.to_string()),
        1 => ".{0,200}",
    ]
}

fn parse_both(text: &str) -> Result<(), TestCaseError> {
    for kind in [PolicyKind::KeyPolicy, PolicyKind::IdentityPolicy] {
        let first = PolicyDocument::parse(text, kind);
        let second = PolicyDocument::parse(text, kind);
        prop_assert_eq!(first.is_ok(), second.is_ok(), "parsing is not deterministic");
        match first {
            Ok(doc) => prop_assert_eq!(doc.text(), text),
            Err(e) => prop_assert!(!e.message().is_empty()),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(3000), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn policy_parser_takes_policy_shaped_documents(text in document()) {
        parse_both(&text)?;
    }

    #[test]
    fn policy_parser_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        parse_both(&String::from_utf8_lossy(&bytes))?;
    }
}
