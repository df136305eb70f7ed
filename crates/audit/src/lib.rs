//! CloudTrail for keytrail: the record model, the recorder, and the event history.
//!
//! This crate knows CloudTrail, not KMS: the server tells it what happened (who, what, which
//! resources, which error), and it shapes and keeps the records.
//!
//! Layout:
//! - `record` — `CloudTrailRecord` and its parts, serialized in AWS's field order.
//! - `identity` — `userIdentity` for each kind of caller, including the key owner's view.
//! - `history` — where records are kept (`EventLog`: memory or disk) and how they are queried.
//! - `recorder` — the cheap-to-clone handle every call's records go through: history and `--events-out`.
//! - `timefmt` — the time formats CloudTrail records use.

pub mod history;
pub mod identity;
pub mod record;
pub mod recorder;
pub mod timefmt;

pub use history::{EventLog, EventQuery, LookupAttribute, MemoryEventLog};
pub use identity::UserIdentity;
pub use record::{CloudTrailRecord, Resource};
pub use recorder::{EventFilter, Recorder, StoredEvent};
