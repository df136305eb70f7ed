//! `--data-dir`: everything survives a restart; one keytrail per data dir; key material is
//! wrapped under a 0600 root key and never reaches the database in the clear.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::Tag;
use keytrail_server::{App, Options};
use keytrail_tests::{files_under, temp_dir, Server};

fn with_dir(dir: &Path) -> Options {
    Options { data_dir: Some(dir.to_path_buf()), ..Options::default() }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn restart_keeps_keys_aliases_tags_rotations_history_and_clock() {
    let dir = temp_dir("restart");
    let server = Server::start_with(with_dir(&dir)).await;
    let kms = server.kms();
    let key = kms
        .create_key()
        .description("survivor")
        .tags(Tag::builder().tag_key("team").tag_value("blue").build().unwrap())
        .send()
        .await
        .unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_string();
    kms.create_alias().alias_name("alias/survivor").target_key_id(&key_id).send().await.unwrap();
    let old_ct = kms.encrypt().key_id(&key_id).plaintext(Blob::new(&b"before rotation"[..])).send().await.unwrap();
    kms.rotate_key_on_demand().key_id(&key_id).send().await.unwrap();
    let new_ct = kms.encrypt().key_id("alias/survivor").plaintext(Blob::new(&b"after rotation"[..])).send().await.unwrap();
    kms.enable_key_rotation().key_id(&key_id).rotation_period_in_days(180).send().await.unwrap();
    kms.tag_resource().key_id(&key_id).tags(Tag::builder().tag_key("env").tag_value("ci").build().unwrap()).send().await.unwrap();
    let doomed = kms.create_key().send().await.unwrap().key_metadata().unwrap().key_id().to_string();
    kms.schedule_key_deletion().key_id(&doomed).pending_window_in_days(30).send().await.unwrap();
    let moved = server.advance_clock(86_400 * 3).await;
    let clock_before = moved["now"].as_str().unwrap().to_string();
    let events_before = server.all_events().await;
    assert!(events_before.len() >= 9, "{}", events_before.len());
    let before_meta = kms.describe_key().key_id(&key_id).send().await.unwrap().key_metadata().unwrap().clone();
    server.stop().await;

    let server = Server::start_with(with_dir(&dir)).await;
    let kms = server.kms();
    // Keys and all their material versions.
    let plain = kms.decrypt().ciphertext_blob(old_ct.ciphertext_blob().unwrap().clone()).send().await.unwrap();
    assert_eq!(plain.plaintext().unwrap().as_ref(), b"before rotation");
    let plain = kms.decrypt().ciphertext_blob(new_ct.ciphertext_blob().unwrap().clone()).send().await.unwrap();
    assert_eq!(plain.plaintext().unwrap().as_ref(), b"after rotation");
    let after_meta = kms.describe_key().key_id("alias/survivor").send().await.unwrap().key_metadata().unwrap().clone();
    assert_eq!(after_meta.key_id(), before_meta.key_id());
    assert_eq!(after_meta.description(), Some("survivor"));
    assert_eq!(after_meta.creation_date(), before_meta.creation_date());
    assert_eq!(after_meta.current_key_material_id(), before_meta.current_key_material_id());
    let rotations = kms.list_key_rotations().key_id(&key_id).send().await.unwrap();
    assert_eq!(rotations.rotations().len(), 1);
    let status = kms.get_key_rotation_status().key_id(&key_id).send().await.unwrap();
    assert!(status.key_rotation_enabled());
    assert_eq!(status.rotation_period_in_days(), Some(180));
    let tags = kms.list_resource_tags().key_id(&key_id).send().await.unwrap();
    let tags: Vec<(&str, &str)> = tags.tags().iter().map(|t| (t.tag_key(), t.tag_value())).collect();
    assert_eq!(tags, vec![("team", "blue"), ("env", "ci")]);
    let doomed_meta = kms.describe_key().key_id(&doomed).send().await.unwrap();
    assert_eq!(doomed_meta.key_metadata().unwrap().key_state().unwrap().as_str(), "PendingDeletion");
    let keys = kms.list_keys().send().await.unwrap();
    assert_eq!(keys.keys().len(), 2);

    // History: every record, same order, same ids; numbering continues after it.
    let events_after = server.all_events().await;
    assert!(events_after.len() >= events_before.len());
    for (a, b) in events_before.iter().zip(&events_after) {
        assert_eq!(a, b);
    }
    let last_before = events_before.last().unwrap()["eventID"].as_str().unwrap().to_string();
    let newer = server.events(&format!("since={last_before}")).await;
    assert_eq!(newer.len(), events_after.len() - events_before.len());
    assert!(newer.iter().any(|r| r["eventName"] == "Decrypt"));

    // The mock clock kept its offset: not before what it said before the restart.
    // Compared as instants: RFC 3339 text drops trailing zeros of the fraction ("…34.286Z" is
    // after "…34.2Z" but sorts before it as text).
    let now = server.control("GET", "/_keytrail/clock", None).await;
    let instant = |s: &str| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap();
    assert!(instant(now["now"].as_str().unwrap()) >= instant(&clock_before), "{now} vs {clock_before}");

    // Advancing past the deletion date after the restart deletes the key (the schedule survived).
    server.advance_clock(86_400 * 31).await;
    assert!(kms.describe_key().key_id(&doomed).send().await.is_err());
    assert_eq!(server.events("eventName=DeleteKey").await.len(), 1);
    server.stop().await;

    // ...and the deletion is durable too.
    let server = Server::start_with(with_dir(&dir)).await;
    assert_eq!(server.kms().list_keys().send().await.unwrap().keys().len(), 1);
    assert_eq!(server.app.recorder.len(), server.all_events().await.len());
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_second_keytrail_on_the_same_data_dir_is_refused() {
    let dir = temp_dir("locked");
    let server = Server::start_with(with_dir(&dir)).await;
    let err = App::new(with_dir(&dir)).err().expect("second instance refused").to_string();
    assert!(err.contains(&format!("data dir {} is in use by another keytrail (pid {})", dir.display(), std::process::id())), "{err}");
    server.stop().await;
    // Released at shutdown.
    let again = App::new(with_dir(&dir)).expect("free again after stop");
    again.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn key_material_is_wrapped_under_a_0600_root_key() {
    let dir = temp_dir("wrapped");
    let server = Server::start_with(with_dir(&dir)).await;
    let kms = server.kms();
    let id = kms.create_key().send().await.unwrap().key_metadata().unwrap().key_id().to_string();
    kms.rotate_key_on_demand().key_id(&id).send().await.unwrap();
    let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{id}");
    let secrets: Vec<Vec<u8>> = server.app.kms.store.key(&arn).unwrap().materials.iter().map(|m| m.secret.to_vec()).collect();
    assert_eq!(secrets.len(), 2);
    // Look while running (WAL present) and after a clean stop (checkpointed into the db).
    for phase in ["running", "stopped"] {
        if phase == "stopped" {
            server.app.shutdown().await;
        }
        for path in files_under(&dir) {
            if path.file_name().unwrap() == "root.key" {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            for s in &secrets {
                assert!(!contains(&bytes, s), "{phase}: raw key material in {}", path.display());
                assert!(!contains(&bytes, hex::encode(s).as_bytes()), "{phase}: hex key material in {}", path.display());
                assert!(!contains(&bytes, hex::encode_upper(s).as_bytes()), "{phase}: HEX key material in {}", path.display());
            }
        }
    }
    let mode = std::fs::metadata(dir.join("root.key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "root.key mode {mode:o}");
    assert_eq!(std::fs::metadata(dir.join("root.key")).unwrap().len(), 32);
    drop(server);

    // A root key others can read is refused with a clear message.
    std::fs::set_permissions(dir.join("root.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = App::new(with_dir(&dir)).err().expect("refused").to_string();
    assert!(err.contains("root.key") && err.contains("0644"), "{err}");
    // A missing root key with wrapped material on disk is refused, not silently replaced.
    std::fs::remove_file(dir.join("root.key")).unwrap();
    let err = App::new(with_dir(&dir)).err().expect("refused").to_string();
    assert!(err.contains("root.key") && err.contains("missing"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn reset_wipes_the_data_dir_too() {
    let dir = temp_dir("reset");
    let server = Server::start_with(with_dir(&dir)).await;
    let kms = server.kms();
    let id = kms.create_key().send().await.unwrap().key_metadata().unwrap().key_id().to_string();
    kms.create_alias().alias_name("alias/gone").target_key_id(&id).send().await.unwrap();
    server.control("POST", "/_keytrail/reset", None).await;
    assert!(server.all_events().await.is_empty());
    server.stop().await;
    let server = Server::start_with(with_dir(&dir)).await;
    let kms = server.kms();
    assert!(kms.list_keys().send().await.unwrap().keys().is_empty());
    assert!(kms.list_aliases().send().await.unwrap().aliases().is_empty());
    // Only the ListKeys and ListAliases just made.
    assert_eq!(server.all_events().await.len(), 2);
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A reset the data dir cannot take (here a trigger refuses deletes from `state`) answers 500
/// and wipes nothing: the keys and the history are all there after a restart, the history's
/// half of the reset not done on its own.
#[tokio::test]
async fn a_reset_that_fails_on_disk_wipes_nothing() {
    let dir = temp_dir("reset-fails");
    let server = Server::start_with(with_dir(&dir)).await;
    let kms = server.kms();
    let id = kms.create_key().send().await.unwrap().key_metadata().unwrap().key_id().to_string();
    kms.encrypt().key_id(&id).plaintext(Blob::new("kept")).send().await.unwrap();
    let before = server.all_event_names().await;
    assert_eq!(before, ["CreateKey", "Encrypt"]);

    let db = rusqlite::Connection::open(dir.join("keytrail.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    db.execute_batch("CREATE TRIGGER refuse_wipe BEFORE DELETE ON state BEGIN SELECT RAISE(ABORT, 'refused'); END;").unwrap();
    let (status, body) = server.control_raw("POST", "/_keytrail/reset", None).await;
    assert_eq!(status, 500, "{body}");
    // The health check says so from now on.
    let (status, health) = server.control_raw("GET", "/_keytrail/health", None).await;
    assert_eq!(status, 503, "{health}");
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "failed");
    assert!(health["reason"].as_str().unwrap().contains("until keytrail is restarted"), "{health}");
    // Memory was not wiped either.
    assert_eq!(server.all_event_names().await, before);
    assert_eq!(server.app.kms.store.all_keys().len(), 1);
    // Nothing is acknowledged after a failed commit until a restart.
    let after = kms.list_keys().send().await.unwrap_err();
    assert_eq!(keytrail_tests::failure(after).code, "KMSInternalException");
    server.stop().await;
    db.execute_batch("DROP TRIGGER refuse_wipe;").unwrap();
    drop(db);

    let server = Server::start_with(with_dir(&dir)).await;
    let kms = server.kms();
    let keys: Vec<String> = kms.list_keys().send().await.unwrap().keys().iter().map(|k| k.key_id().unwrap().to_string()).collect();
    assert_eq!(keys, [id]);
    assert_eq!(server.all_event_names().await, ["CreateKey", "Encrypt", "ListKeys"]);
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// `GET /_keytrail/stats` counts the writer's transactions, the calls they acknowledged and how
/// long the commits took; without a data dir there is no storage section.
#[tokio::test]
async fn stats_show_the_commits_and_how_long_they_took() {
    let dir = temp_dir("stats");
    let server = Server::start_with(with_dir(&dir)).await;
    let kms = server.kms();
    let id = kms.create_key().send().await.unwrap().key_metadata().unwrap().key_id().to_string();
    for _ in 0..5 {
        kms.encrypt().key_id(&id).plaintext(Blob::new("x")).send().await.unwrap();
    }
    let stats = server.control("GET", "/_keytrail/stats", None).await;
    let storage = &stats["storage"];
    let transactions = storage["transactions"].as_u64().unwrap();
    assert_eq!(stats["events"], 6, "{stats}");
    assert_eq!(storage["events"], 6, "{stats}");
    // One call at a time: each waited for a commit of its own (start-up commits come on top).
    assert!(storage["acks"].as_u64().unwrap() >= 6, "{stats}");
    assert!(transactions >= 6, "{stats}");
    let commits = &storage["commitMicros"];
    // Every transaction was timed (a background commit may land between the two reads).
    let timed = commits["count"].as_u64().unwrap();
    assert!(timed == transactions || timed == transactions + 1, "{stats}");
    let (p50, p90, p99, max) = (
        commits["p50"].as_u64().unwrap(),
        commits["p90"].as_u64().unwrap(),
        commits["p99"].as_u64().unwrap(),
        commits["max"].as_u64().unwrap(),
    );
    assert!(0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= max, "{stats}");
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);

    let server = Server::start().await;
    let stats = server.control("GET", "/_keytrail/stats", None).await;
    assert!(stats["storage"].is_null(), "{stats}");
}

#[tokio::test]
async fn without_a_data_dir_nothing_is_written() {
    let server = Server::start().await;
    assert!(server.app.storage.is_none());
    server.kms().create_key().send().await.unwrap();
    assert_eq!(server.app.recorder.len(), 1);
}

const SEEDED: &str = "11111111-2222-3333-4444-555555555555";

fn seeded_config() -> String {
    format!(
        r#"
[[users]]
account = "111122223333"
name = "bob"
access_key_id = "AKIABOB0000000000001"
secret_access_key = "bob-secret"
[[keys]]
account = "111122223333"
region = "us-east-1"
key_id = "{SEEDED}"
description = "seeded"
aliases = ["alias/seeded"]
"#
    )
}

#[tokio::test]
async fn seeded_keys_policies_and_grants_survive_a_restart() {
    use aws_sdk_kms::types::GrantOperation;
    let dir = temp_dir("seeded");
    let options = || Options { data_dir: Some(dir.clone()), ..Options::from_config(&seeded_config()).unwrap() };
    let server = Server::start_with(options()).await;
    let kms = server.kms();
    // The seed has no material_hex: its random material must be stored, not drawn again.
    let ct = kms.encrypt().key_id("alias/seeded").plaintext(Blob::new(&b"seeded"[..])).send().await.unwrap();
    let bob = server.kms_as("AKIABOB0000000000001", "bob-secret", "us-east-1");
    assert!(bob.encrypt().key_id(SEEDED).plaintext(Blob::new(&b"x"[..])).send().await.is_err());
    kms.create_grant()
        .key_id(SEEDED)
        .grantee_principal("arn:aws:iam::111122223333:user/bob")
        .operations(GrantOperation::Encrypt)
        .send()
        .await
        .unwrap();
    let custom = kms.create_key().send().await.unwrap().key_metadata().unwrap().key_id().to_string();
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},{"Sid":"deny-bob","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"kms:*","Resource":"*"}]}"#;
    kms.put_key_policy().key_id(&custom).policy_name("default").policy(policy).send().await.unwrap();
    server.stop().await;

    let server = Server::start_with(options()).await;
    let kms = server.kms();
    let plain = kms.decrypt().ciphertext_blob(ct.ciphertext_blob().unwrap().clone()).send().await.unwrap();
    assert_eq!(plain.plaintext().unwrap().as_ref(), b"seeded");
    let bob = server.kms_as("AKIABOB0000000000001", "bob-secret", "us-east-1");
    bob.encrypt().key_id(SEEDED).plaintext(Blob::new(&b"x"[..])).send().await.expect("grant survived");
    assert_eq!(kms.list_grants().key_id(SEEDED).send().await.unwrap().grants().len(), 1);
    let stored = kms.get_key_policy().key_id(&custom).policy_name("default").send().await.unwrap();
    assert_eq!(stored.policy(), Some(policy));
    // Reset re-seeds: the seeded key is back (with new material), the grant and custom key gone.
    server.control("POST", "/_keytrail/reset", None).await;
    server.stop().await;
    let server = Server::start_with(options()).await;
    let kms = server.kms();
    let keys = kms.list_keys().send().await.unwrap();
    assert_eq!(keys.keys().len(), 1);
    assert_eq!(keys.keys()[0].key_id(), Some(SEEDED));
    assert!(kms.list_grants().key_id(SEEDED).send().await.unwrap().grants().is_empty());
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn trails_their_selectors_tags_and_logging_state_survive_a_restart() {
    use aws_sdk_cloudtrail::types::{EventSelector, ReadWriteType};
    let dir = temp_dir("trails");
    let server = Server::start_with(with_dir(&dir)).await;
    let ct = server.cloudtrail();
    ct.create_trail().name("audit").s3_bucket_name("bucket").send().await.unwrap();
    ct.create_trail().name("gone").s3_bucket_name("bucket").send().await.unwrap();
    ct.start_logging().name("audit").send().await.unwrap();
    let tag = aws_sdk_cloudtrail::types::Tag::builder().key("team").value("sec").build().unwrap();
    ct.add_tags().resource_id("audit").tags_list(tag).send().await.unwrap();
    ct.put_event_selectors()
        .trail_name("audit")
        .event_selectors(
            EventSelector::builder()
                .read_write_type(ReadWriteType::WriteOnly)
                .include_management_events(true)
                .exclude_management_event_sources("kms.amazonaws.com")
                .build(),
        )
        .send()
        .await
        .unwrap();
    ct.delete_trail().name("gone").send().await.unwrap();
    server.stop().await;

    let server = Server::start_with(with_dir(&dir)).await;
    let ct = server.cloudtrail();
    let names: Vec<String> = ct.list_trails().send().await.unwrap().trails().iter().filter_map(|t| t.name().map(str::to_string)).collect();
    assert_eq!(names, ["audit"], "created trails kept, deleted ones stay deleted");
    assert_eq!(ct.get_trail_status().name("audit").send().await.unwrap().is_logging(), Some(true));
    let selectors = ct.get_event_selectors().trail_name("audit").send().await.unwrap();
    let s = &selectors.event_selectors()[0];
    assert_eq!(s.read_write_type(), Some(&ReadWriteType::WriteOnly));
    assert_eq!(s.exclude_management_event_sources(), ["kms.amazonaws.com"]);
    let tags = ct.list_tags().resource_id_list("audit").send().await.unwrap();
    let tags = tags.resource_tag_list()[0].tags_list();
    assert_eq!((tags[0].key(), tags[0].value()), ("team", Some("sec")), "tags are kept with the trail set");
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// What keytrail writes is its owner's alone: the database and its WAL/SHM files, the lock, the
/// root key, trail log files (0600) and their folders (0700).
#[tokio::test]
async fn the_data_dir_is_readable_by_its_owner_only() {
    let dir = temp_dir("modes");
    let server = Server::start_with(with_dir(&dir)).await;
    server.kms().create_key().send().await.unwrap();
    let ct = server.cloudtrail();
    ct.create_trail().name("audit").s3_bucket_name("logs").send().await.unwrap();
    ct.start_logging().name("audit").send().await.unwrap();
    server.kms().list_keys().send().await.unwrap();
    server.advance_clock(600).await;
    let files = files_under(&dir);
    for name in ["keytrail.db", "keytrail.db-wal", "keytrail.db-shm", "keytrail.lock", "root.key"] {
        assert!(files.iter().any(|f| f.file_name().is_some_and(|n| n == name)), "{name} is there: {files:?}");
    }
    assert!(files.iter().any(|f| f.extension().is_some_and(|e| e == "gz")), "a log file was delivered: {files:?}");
    for f in &files {
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
        let mut parent = f.parent().unwrap();
        while parent.starts_with(dir.join("s3")) {
            assert_eq!(std::fs::metadata(parent).unwrap().permissions().mode() & 0o777, 0o700, "{}", parent.display());
            parent = parent.parent().unwrap();
        }
    }
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A data dir whose database is gone (or replaced by an empty file) while its root key remains
/// is refused, instead of starting empty over what it held; a fresh dir starts, and so does one
/// whose root key was moved away with the database.
#[tokio::test]
async fn a_data_dir_without_its_database_is_refused() {
    let dir = temp_dir("gutted");
    let server = Server::start_with(with_dir(&dir)).await;
    server.kms().create_key().send().await.unwrap();
    server.stop().await;
    for leftover in ["keytrail.db", "keytrail.db-wal", "keytrail.db-shm"] {
        let _ = std::fs::remove_file(dir.join(leftover));
    }
    let Err(e) = App::new(with_dir(&dir)) else { panic!("a gutted data dir started") };
    assert!(e.0.contains("holds root.key but no keytrail.db"), "{e}");
    std::fs::write(dir.join("keytrail.db"), b"").unwrap();
    let Err(e) = App::new(with_dir(&dir)) else { panic!("a data dir with an empty database started") };
    assert!(e.0.contains("no keytrail.db written by keytrail"), "{e}");
    std::fs::remove_file(dir.join("keytrail.db")).unwrap();
    std::fs::rename(dir.join("root.key"), dir.join("root.key.moved")).unwrap();
    let server = Server::start_with(with_dir(&dir)).await;
    assert!(server.kms().list_keys().send().await.unwrap().keys().is_empty(), "started empty, as asked");
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A root key that belongs to another user is refused (they could read or replace it). Needs
/// root to hand the file to another user; skipped otherwise.
#[tokio::test]
async fn a_root_key_owned_by_another_user_is_refused() {
    let dir = temp_dir("owner");
    let server = Server::start_with(with_dir(&dir)).await;
    server.stop().await;
    if std::os::unix::fs::chown(dir.join("root.key"), Some(65534), None).is_err() {
        eprintln!("skipped: cannot give root.key to another user (not root)");
        return;
    }
    let Err(e) = App::new(with_dir(&dir)) else { panic!("another user's root key was accepted") };
    assert!(e.0.contains("is owned by uid 65534"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--account-id` and `--region` name directories and ARNs: only their AWS forms start.
#[test]
fn account_ids_and_regions_are_checked_at_start() {
    for (account, region, named) in
        [("1111/2222333", "us-east-1", "--account-id \"1111/2222333\""), ("111122223333", "../x", "--region \"../x\"")]
    {
        let Err(e) = App::new(Options { account_id: account.into(), region: region.into(), ..Options::default() }) else {
            panic!("{account} {region} started")
        };
        assert!(e.0.contains(named), "{e}");
    }
}
