//! `--data-dir` wiring: open the data dir at start-up and load what it holds. The durable logic
//! itself lives in `keytrail-storage`; `App::commit`, `App::reset` and `App::shutdown` call in.

use std::sync::Arc;

use keytrail_audit::digests::DigestChain;
use keytrail_audit::trails::TrailKey;
use keytrail_audit::{EventLog, Recorder};
use keytrail_iam::credentials::IssuedSession;
use keytrail_iam::principal::SessionAttributes;
use keytrail_iam::{CredentialDirectory, Principal};
use keytrail_kms::{Clock, KeyStore};
use keytrail_storage::{kinds, StateOp, Storage, StorageError};

use crate::{Options, StartError};

/// Storage kind and id under which the whole trail set is kept (trails are few: one row).
pub(crate) const TRAILS_KIND: &str = "trails";
/// See [`TRAILS_KIND`].
pub(crate) const TRAILS_ID: &str = "all";

/// Storage kind and id of the trails' delivery marks (`Delivery::delivered_through`), one row.
pub(crate) const DELIVERY_KIND: &str = "trail_delivery";
/// See [`DELIVERY_KIND`].
pub(crate) const DELIVERY_ID: &str = "all";

/// Storage kind and id of the trails' digest chains (`Delivery::digest_chains`), one row.
pub(crate) const DIGESTS_KIND: &str = "trail_digests";
/// See [`DIGESTS_KIND`].
pub(crate) const DIGESTS_ID: &str = "all";

/// What of trail delivery was last committed: the marks and the digest chains (stored again
/// when they change).
#[derive(Default)]
pub(crate) struct StoredDelivery {
    /// The delivery marks.
    pub(crate) marks: DeliveryMarks,
    /// The digest chains.
    pub(crate) chains: Vec<DigestChain>,
}

/// A trail's delivery mark as stored: `{"account", "region", "name", "delivered_through"}`.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredMark {
    #[serde(flatten)]
    trail: TrailKey,
    delivered_through: u64,
}

/// Delivery marks: which trail, and through which record it has its log files.
pub(crate) type DeliveryMarks = Vec<(TrailKey, u64)>;

/// The put that stores `marks`.
pub(crate) fn delivery_marks_op(marks: &DeliveryMarks) -> Result<StateOp, StorageError> {
    let stored: Vec<StoredMark> = marks.iter().map(|(trail, seq)| StoredMark { trail: trail.clone(), delivered_through: *seq }).collect();
    Storage::put_op(DELIVERY_KIND, DELIVERY_ID, &stored)
}

/// Gives each trail back the records it had not written to a log file when keytrail stopped
/// (a crash loses them from memory, not from the data dir's history). Returns the marks found.
pub(crate) fn resume_delivery(storage: &Storage, cloudtrail: &keytrail_audit::service::CloudTrail) -> Result<DeliveryMarks, StartError> {
    let stored: Vec<(String, Vec<StoredMark>)> =
        storage.load_kind(DELIVERY_KIND).map_err(|e| StartError(format!("cannot load trail delivery marks from the data dir: {e}")))?;
    let marks: DeliveryMarks = stored.into_iter().flat_map(|(_, marks)| marks).map(|m| (m.trail, m.delivered_through)).collect();
    cloudtrail.delivery.resume(&marks, &*storage.event_log());
    Ok(marks)
}

/// Loads the digest signing keys and the digest chains into `cloudtrail` (a restart continues
/// every chain, signed with the same keys). Returns the chains found.
pub(crate) fn restore_digests(storage: &Storage, cloudtrail: &keytrail_audit::service::CloudTrail) -> Result<Vec<DigestChain>, StartError> {
    let keys = storage.load_signing_keys().map_err(|e| StartError(format!("cannot load digest signing keys from the data dir: {e}")))?;
    cloudtrail.signing_keys().restore(keys);
    let stored: Vec<(String, Vec<DigestChain>)> =
        storage.load_kind(DIGESTS_KIND).map_err(|e| StartError(format!("cannot load digest chains from the data dir: {e}")))?;
    let chains: Vec<DigestChain> = stored.into_iter().flat_map(|(_, c)| c).collect();
    cloudtrail.delivery.restore_digest_chains(chains.clone());
    Ok(chains)
}

/// Loads the stored trail set into `cloudtrail`.
pub(crate) fn restore_trails(storage: &Storage, cloudtrail: &keytrail_audit::service::CloudTrail) -> Result<(), StartError> {
    let stored: Vec<(String, Vec<keytrail_audit::trails::Trail>)> =
        storage.load_kind(TRAILS_KIND).map_err(|e| StartError(format!("cannot load trails from the data dir: {e}")))?;
    if let Some((_, trails)) = stored.into_iter().next() {
        cloudtrail.trails.restore(trails);
    }
    Ok(())
}

/// Opens `options.data_dir` (if set), loads keys, aliases and the clock offset into `store` and
/// `clock`, and returns the storage with a recorder whose history lives on disk. Without a data
/// dir: no storage and an in-memory recorder.
pub(crate) fn open(
    options: &Options,
    store: &KeyStore,
    clock: &Clock,
    events_out: Option<Box<dyn keytrail_audit::events_out::EventsWriter>>,
) -> Result<(Option<Storage>, Recorder), StartError> {
    let Some(dir) = options.data_dir.as_deref() else {
        return Ok((None, Recorder::new(events_out)));
    };
    let storage = Storage::open(dir).map_err(|e| StartError(e.to_string()))?;
    let loaded = match storage.load_into(store) {
        Ok(l) => l,
        Err(e) => {
            storage.close();
            return Err(StartError(format!("cannot load data dir {}: {e}", dir.display())));
        }
    };
    if let Some(offset) = loaded.clock_offset {
        clock.restore_offset(offset);
        // Choice: an offset past the latest time a timestamp can hold (an older keytrail accepted
        // one) is kept, and the clock stands at that latest time. Dropping it would move the
        // clock back past everything the data dir recorded at the later time; refusing to start
        // would lock the data dir away for good. Nothing can move the clock further.
        if clock.at_latest() {
            tracing::warn!(
                dir = %dir.display(),
                offset_ms = offset.whole_milliseconds() as i64,
                "the data dir's mock clock is past 9999-12-31T23:59:59Z, the latest time an AWS timestamp can hold; the clock stands there"
            );
        }
    }
    tracing::info!(
        dir = %dir.display(),
        keys = loaded.keys,
        aliases = loaded.aliases,
        events = loaded.events,
        "data dir opened"
    );
    let log: Arc<dyn EventLog> = storage.event_log();
    Ok((Some(storage), Recorder::with_log(log, events_out)))
}

/// Temporary credentials as stored: the session's facts, the token's digest, and the secret
/// access key wrapped under `root.key` (AAD = `sts-session` ‖ 0 ‖ access key id), never in the clear.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredSession {
    access_key_id: String,
    account: String,
    role: String,
    role_id: String,
    session: String,
    created: String,
    mfa_authenticated: bool,
    tags: Vec<(String, String)>,
    transitive_tag_keys: Vec<String>,
    source_identity: Option<String>,
    token_sha256: String,
    expires: i64,
    wrapped_secret: String,
}

fn session_aad(access_key_id: &str) -> Vec<u8> {
    [b"sts-session\0".as_slice(), access_key_id.as_bytes()].concat()
}

/// The put that stores an issued session.
pub(crate) fn session_op(storage: &Storage, s: &IssuedSession) -> Result<StateOp, StorageError> {
    let Principal::AssumedRole { account, role, role_id, session, created, attributes } = &s.principal else {
        return Err(StorageError::new("only role sessions are issued"));
    };
    let stored = StoredSession {
        access_key_id: s.access_key_id.clone(),
        account: account.clone(),
        role: role.clone(),
        role_id: role_id.clone(),
        session: session.clone(),
        created: created.clone(),
        mfa_authenticated: attributes.mfa_authenticated,
        tags: attributes.tags.clone(),
        transitive_tag_keys: attributes.transitive_tag_keys.clone(),
        source_identity: attributes.source_identity.clone(),
        token_sha256: hex::encode(s.token_sha256),
        expires: s.expires,
        wrapped_secret: hex::encode(storage.wrap_secret(&session_aad(&s.access_key_id), s.secret().as_bytes())?),
    };
    Storage::put_op(kinds::STS_SESSION, &s.access_key_id, &stored)
}

/// How long past its expiry a stored session is kept (it still answers ExpiredToken meanwhile).
const EXPIRED_SESSION_KEPT_SECONDS: i64 = 86_400;

/// Gives the credential directory back the sessions STS issued before a restart; sessions a
/// day past their expiry are deleted from the data dir instead.
pub(crate) fn restore_sessions(
    storage: &Storage,
    store: &KeyStore,
    clock: &Clock,
    directory: &CredentialDirectory,
) -> Result<(), StartError> {
    let bad = |e: StorageError| StartError(format!("cannot load STS sessions from the data dir: {e}"));
    let stored: Vec<(String, StoredSession)> = storage.load_kind(kinds::STS_SESSION).map_err(bad)?;
    let now = clock.now().unix_timestamp();
    let mut stale = Vec::new();
    for (id, s) in stored {
        if s.expires + EXPIRED_SESSION_KEPT_SECONDS < now {
            stale.push(Storage::delete_op(kinds::STS_SESSION, &id));
            continue;
        }
        let wrapped = hex::decode(&s.wrapped_secret).map_err(|e| StartError(format!("stored STS session {id} does not decode: {e}")))?;
        let secret = storage.unwrap_secret(&session_aad(&s.access_key_id), &wrapped).map_err(bad)?;
        let secret = String::from_utf8(secret.to_vec()).map_err(|_| StartError(format!("stored STS session {id} has a bad secret")))?;
        let mut digest = [0u8; 32];
        hex::decode_to_slice(&s.token_sha256, &mut digest)
            .map_err(|e| StartError(format!("stored STS session {id} does not decode: {e}")))?;
        let attributes = SessionAttributes {
            mfa_authenticated: s.mfa_authenticated,
            tags: s.tags,
            transitive_tag_keys: s.transitive_tag_keys,
            source_identity: s.source_identity,
        };
        let principal = Principal::AssumedRole {
            account: s.account,
            role: s.role,
            role_id: s.role_id,
            session: s.session,
            created: s.created,
            attributes: Arc::new(attributes),
        };
        directory.insert_session(Arc::new(IssuedSession::new(s.access_key_id, principal, secret, digest, s.expires)));
    }
    if !stale.is_empty() {
        storage.apply_blocking(store, stale, clock.offset()).map_err(bad)?;
    }
    Ok(())
}
