//! The README's Rust quick start, compiled with the workspace so it stays true (the README test
//! checks its block is this file's text, and runs it). Run against a running keytrail, with
//! `AWS_ENDPOINT_URL` and credentials exported as in the README's CLI quick start:
//! `cargo run -p keytrail-tests --example quickstart`.

use aws_sdk_kms::primitives::Blob;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    let kms = aws_sdk_kms::Client::new(&conf);
    let key = kms.create_key().description("quickstart").send().await?;
    let key_id = key.key_metadata().map(|m| m.key_id().to_string()).unwrap_or_default();
    let encrypted = kms.encrypt().key_id(&key_id).plaintext(Blob::new("hello")).send().await?;
    let decrypted = kms.decrypt().ciphertext_blob(encrypted.ciphertext_blob().cloned().unwrap_or(Blob::new(""))).send().await?;
    println!("{key_id}: {:?}", decrypted.plaintext().map(|p| String::from_utf8_lossy(p.as_ref()).into_owned()));
    Ok(())
}
