use serde_json::json;

use super::*;

/// A model shaped like KMS's, small enough to read.
static TEST_MODEL: ServiceModel = ServiceModel {
    service: "test",
    secret_names: &["AccessKeyId", "CiphertextBlob", "GrantTokens", "Message", "Plaintext", "RawSecretAccessKey"],
    operations: &[
        OperationModel {
            name: "CreateGrant",
            input: &[
                Field {
                    name: "Constraints",
                    kind: FieldKind::Structure(&[Field { name: "EncryptionContextSubset", kind: FieldKind::CallerMap }]),
                },
                Field { name: "GrantTokens", kind: FieldKind::Secret },
            ],
            output: &[Field { name: "GrantToken", kind: FieldKind::Secret }],
        },
        OperationModel {
            name: "CreateStore",
            input: &[Field {
                name: "Credential",
                kind: FieldKind::Structure(&[
                    Field { name: "AccessKeyId", kind: FieldKind::Secret },
                    Field { name: "RawSecretAccessKey", kind: FieldKind::Secret },
                ]),
            }],
            output: &[],
        },
        OperationModel {
            name: "Encrypt",
            input: &[
                Field { name: "EncryptionContext", kind: FieldKind::CallerMap },
                Field { name: "GrantTokens", kind: FieldKind::Secret },
                Field { name: "Plaintext", kind: FieldKind::Secret },
            ],
            output: &[Field { name: "CiphertextBlob", kind: FieldKind::Secret }],
        },
    ],
};

fn params(op: &str, body: &[u8], defaults: &[(&'static str, Value)]) -> Result<Option<Value>, Unrecordable> {
    record_request(&TEST_MODEL, TEST_MODEL.operation(op), body).map(|m| request_parameters(m, defaults))
}

#[test]
fn drops_secrets_and_keeps_context_keys() {
    let body = br#"{"KeyId":"alias/x","Plaintext":"AAAA","EncryptionContext":{"Dept":"Eng"},"GrantTokens":["t"]}"#;
    let p = params("Encrypt", body, &[("encryptionAlgorithm", json!("SYMMETRIC_DEFAULT"))]).unwrap().unwrap();
    assert_eq!(p, json!({"keyId":"alias/x","encryptionContext":{"Dept":"Eng"},"encryptionAlgorithm":"SYMMETRIC_DEFAULT"}));
    let tags = params("TagResource", br#"{"Tags":[{"TagKey":"a","TagValue":"b"}]}"#, &[]).unwrap().unwrap();
    assert_eq!(tags, json!({"tags":[{"tagKey":"a","tagValue":"b"}]}));
    // Secret names in any spelling, on any operation (one that does not have the member too).
    let miscased = params("DescribeKey", br#"{"KeyId":"k","plaintext":"AAAA","CIPHERTEXTBLOB":"BBBB","message":"CCCC"}"#, &[]);
    assert_eq!(miscased, Ok(Some(json!({"keyId":"k"}))));
    assert_eq!(params("Encrypt", b"{}", &[]), Ok(None));
    assert_eq!(params("Encrypt", b"  ", &[]), Ok(None));
}

#[test]
fn secrets_go_at_any_depth_inside_structures_and_lists() {
    let body = br#"{"Name":"s","Credential":{"AccessKeyId":"AK-SECRET","RawSecretAccessKey":"RAW-SECRET","Note":"kept"},
        "Unknown":[{"deeper":{"Plaintext":"P-SECRET","message":"M-SECRET","Other":1}}]}"#;
    let p = params("CreateStore", body, &[]).unwrap().unwrap();
    assert_eq!(p, json!({"name":"s","credential":{"note":"kept"},"unknown":[{"deeper":{"other":1}}]}));
    // Misspelled, the nested secrets are still secrets.
    let body = br#"{"credential":{"accessKeyId":"AK-SECRET","rawsecretaccesskey":"RAW-SECRET"}}"#;
    assert_eq!(params("CreateStore", body, &[]).unwrap().unwrap(), json!({"credential":{}}));
    // Caller maps are kept as sent, also inside structures; a map's keys are the caller's and
    // are never taken for member names (a context key `Plaintext` is data).
    let body = br#"{"Constraints":{"EncryptionContextSubset":{"Dept":"Eng","Plaintext":"not a member"}},"Operations":["Encrypt"]}"#;
    let p = params("CreateGrant", body, &[]).unwrap().unwrap();
    assert_eq!(p, json!({"constraints":{"encryptionContextSubset":{"Dept":"Eng","Plaintext":"not a member"}},"operations":["Encrypt"]}));
}

#[test]
fn bodies_that_cannot_be_recorded_whole_are_refused() {
    let deep = |depth: usize| format!(r#"{{"KeyId":"k","Policy":"{{}}","X":{}1{}}}"#, "[".repeat(depth), "]".repeat(depth));
    assert!(params("PutKeyPolicy", deep(100).as_bytes(), &[]).is_ok());
    let refused = params("PutKeyPolicy", deep(200).as_bytes(), &[]).unwrap_err();
    assert!(refused.0.contains("128 levels"), "{refused:?}");
    // The same through the whole-body path (a member sent twice takes it).
    let twice = format!(r#"{{"KeyId":"k","KeyId":"k","X":{}1{}}}"#, "[".repeat(200), "]".repeat(200));
    assert!(params("PutKeyPolicy", twice.as_bytes(), &[]).is_err());
    for body in [&b"[1]"[..], b"\"text\"", b"1", b"null", b"{not json", br#"{"KeyId":"k"} trailing"#, br#"{"X":1e400}"#] {
        assert!(params("DescribeKey", body, &[]).is_err(), "{}", String::from_utf8_lossy(body));
    }
    assert_eq!(params("DescribeKey", b"[1]", &[]).unwrap_err().0, "Start of list found where not expected.");
    // A deep secret is never parsed on the raw path: nothing of it would be recorded anyway.
    let deep_secret = format!(r#"{{"KeyId":"k","Plaintext":{}1{}}}"#, "[".repeat(200), "]".repeat(200));
    assert_eq!(params("Encrypt", deep_secret.as_bytes(), &[]), Ok(Some(json!({"keyId":"k"}))));
}

#[test]
fn a_member_in_the_apis_spelling_wins_over_its_lower_case_twin() {
    let p = params("DescribeKey", br#"{"keyId":"decoy","KeyId":"real","other":1}"#, &[]).unwrap().unwrap();
    assert_eq!(p, json!({"keyId":"real","other":1}));
    let p = params("DescribeKey", br#"{"KeyId":"real","keyId":"decoy","KeyId":"real"}"#, &[]).unwrap().unwrap();
    assert_eq!(p, json!({"keyId":"real"}));
    let p = params("DescribeKey", br#"{"keyId":"alone"}"#, &[]).unwrap().unwrap();
    assert_eq!(p, json!({"keyId":"alone"}));
}

#[test]
fn raw_members_record_what_the_whole_body_records() {
    let bodies: &[&[u8]] = &[
        br#"{"KeyId":"alias/x","Plaintext":"AAAA","EncryptionContext":{"Key Id":"v","a\"b":"c"},"DryRun":false}"#,
        br#"{"Tags":[{"TagKey":"a","TagValue":"b"}],"Policy":"{\"Version\":\"2012-10-17\"}","Description":null}"#,
        br#" { "KeyId" : "k" , "GrantTokens" : ["t"], "Limit": 10, "Marker": "m\u0041" } "#,
        br#"{"KeyId":"a","KeyId":null}"#,
        br#"{"KeyId":"a","Description":"d","KeyId":"b"}"#,
        br#"{"Key\u0049d":"escaped name","plaintext":"AAAA"}"#,
        br#"{"Constraints":{"EncryptionContextSubset":{"Dept":"Eng"}},"Operations":["Encrypt"]}"#,
        br#"{"keyId":"lower","KeyId":"upper"}"#,
        br#"{}"#,
    ];
    let op = TEST_MODEL.operation("Encrypt");
    let mut raw_checked = 0;
    for body in bodies {
        if let Some(members) = raw_members(body) {
            assert_eq!(
                recorded_raw_members(&TEST_MODEL, op, members),
                recorded_members(&TEST_MODEL, op, body),
                "{}",
                String::from_utf8_lossy(body)
            );
            raw_checked += 1;
        }
    }
    // The raw path took every object without a duplicate or an escaped name.
    assert_eq!(raw_checked, 6);
    // A body of many members takes the whole-body path and records the same.
    let many = format!("{{{}}}", (0..5000).map(|i| format!("\"M{i}\":{i}")).collect::<Vec<_>>().join(","));
    let recorded = params("Encrypt", many.as_bytes(), &[]).unwrap().unwrap();
    assert_eq!(recorded.as_object().map(Map::len), Some(5000));
    assert_eq!(recorded["m4999"], 4999);
}

#[test]
fn responses_lose_their_output_secrets() {
    let op = TEST_MODEL.operation("CreateGrant");
    let resp = json!({"GrantId":"g","GrantToken":"TOKEN-SECRET"});
    assert_eq!(response_elements(&TEST_MODEL, op, &resp), json!({"grantId":"g"}));
    let written = json!({"grantId":"g","grantToken":"TOKEN-SECRET","nested":[{"plaintext":"P"}]});
    assert_eq!(without_output_secrets(&TEST_MODEL, op, written), json!({"grantId":"g","nested":[{}]}));
    assert_eq!(camel_case(&TEST_MODEL, &json!({"AWSAccountId":"1","Message":"m"})), json!({"aWSAccountId":"1"}));
}
