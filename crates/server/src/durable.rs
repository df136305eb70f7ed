//! `--data-dir` wiring: open the data dir at start-up and load what it holds. The durable logic
//! itself lives in `keytrail-storage`; `App::commit`, `App::reset` and `App::shutdown` call in.

use std::sync::Arc;

use keytrail_audit::digests::DigestChain;
use keytrail_audit::trails::TrailKey;
use keytrail_audit::{EventLog, Recorder};
use keytrail_kms::{Clock, KeyStore};
use keytrail_storage::{StateOp, Storage, StorageError};

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
    events_out: Option<Box<dyn std::io::Write + Send>>,
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
