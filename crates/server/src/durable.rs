//! `--data-dir` wiring: open the data dir at start-up and load what it holds. The durable logic
//! itself lives in `keytrail-storage`; `App::commit`, `App::reset` and `App::shutdown` call in.

use std::sync::Arc;

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
