//! CloudTrail for keytrail: the record model, the recorder, the event history, and the
//! CloudTrail API over them (LookupEvents, trails and their log files).
//!
//! This crate knows CloudTrail, not KMS: the server tells it what happened (who, what, which
//! resources, which error), and it shapes and keeps the records.
//!
//! Layout:
//! - `record` — `CloudTrailRecord` and its parts, serialized in AWS's field order.
//! - `identity` — `userIdentity` for each kind of caller, including the key owner's view.
//! - `history` — where records are kept (`EventLog`: memory or disk) and how they are queried.
//! - `summary` — the fields of a record that history keeps besides its JSON, for queries.
//! - `packed` — history's compact form for all but its newest records (JSON compressed by group).
//! - `recorder` — the cheap-to-clone handle every call's records go through: history and `--events-out`.
//! - `events_out` — the `--events-out` writer thread: one write per gathered batch of lines.
//! - `timefmt` — the time formats CloudTrail records use.
//! - `service` — the CloudTrail API without HTTP: its operations and one `call` entry point.
//! - `lookup` — LookupEvents over history: validation, the 90-day window, stable NextTokens.
//! - `trails`, `trail_ops` — the trail registry (serializable, for durable storage) and the
//!   trail operations. `selectors` — basic and advanced event selectors and their matching.
//! - `delivery` — a recorder sink that buffers each trail's records and writes its gzipped log
//!   files in the S3 key layout as the mock clock passes each delivery interval, into the bucket
//!   folder (`delivery::folder`, the format keytrail's S3 API reads) or, through an outbox and
//!   `delivery::remote`'s uploader, into a real S3-compatible store.
//! - `digests`, `signing` — log file integrity validation: each validating trail's chain of
//!   hourly signed digest files, and the per-region RSA keys that sign them. `public_keys` —
//!   ListPublicKeys. `trail_keys` — a trail's `KmsKeyId`, resolved through the server's KMS.
//! - `error` — `CloudTrailError` and request decoding.

pub mod delivery;
pub mod digests;
pub mod error;
pub mod events_out;
pub mod history;
pub mod identity;
pub mod lookup;
mod packed;
mod public_keys;
pub mod record;
pub mod recorder;
pub mod selectors;
pub mod service;
pub mod signing;
pub mod summary;
pub mod timefmt;
pub mod trail_keys;
mod trail_ops;
pub mod trails;

pub use history::{EventLog, EventQuery, LookupAttribute, MemoryEventLog};
pub use identity::UserIdentity;
pub use record::{CloudTrailRecord, Resource};
pub use recorder::{EventFilter, RecordSink, Recorder, StoredEvent};
pub use service::{CloudTrail, Operation as CloudTrailOperation, Scope};
pub use trails::{Trail, Trails};
