//! README's keytrail-testing example, word for word (scripts/e2e_readme.py checks it is).

use aws_sdk_kms::primitives::Blob;
use keytrail_testing::{KeyTrail, Role, User};

#[tokio::test]
async fn encrypts_as_a_role_session_and_leaves_the_records() {
    let kt = KeyTrail::builder()
        .user(
            User::new("111122223333", "alice")
                .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#),
        )
        .role(
            Role::new("111122223333", "app")
                .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#),
        )
        .start()
        .await;
    let session = kt.assume_role(&kt.user("alice"), "arn:aws:iam::111122223333:role/app", "ci").await;
    let kms = kt.kms(&session);
    let key = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    kms.encrypt().key_id(&key).plaintext(Blob::new("secret")).send().await.unwrap();

    let records = kt.records().await;
    let names: Vec<&str> = records.iter().map(|r| r["eventName"].as_str().unwrap()).collect();
    assert_eq!(names, ["AssumeRole", "CreateKey", "Encrypt"]);
    assert_eq!(records[2]["userIdentity"]["arn"], "arn:aws:sts::111122223333:assumed-role/app/ci");
    kt.advance_clock(365 * 86_400).await; // the mock clock: rotations, deletions, trail files
    kt.reset().await;
}
