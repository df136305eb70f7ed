//! The README's Rust quick start, compiled with the workspace so it stays true.
//! Run against a running keytrail: `cargo run -p keytrail-tests --example quickstart`.

use aws_sdk_kms::primitives::Blob;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:4599")
        .region(aws_config::Region::new("us-east-1"))
        .test_credentials()
        .load()
        .await;
    let kms = aws_sdk_kms::Client::new(&conf);
    let key = kms.create_key().description("quickstart").send().await?;
    let key_id = key.key_metadata().map(|m| m.key_id().to_string()).unwrap_or_default();
    let encrypted = kms.encrypt().key_id(&key_id).plaintext(Blob::new("hello")).send().await?;
    let decrypted = kms.decrypt().ciphertext_blob(encrypted.ciphertext_blob().cloned().unwrap_or(Blob::new(""))).send().await?;
    println!("{key_id}: {:?}", decrypted.plaintext().map(|p| String::from_utf8_lossy(p.as_ref()).into_owned()));
    Ok(())
}
