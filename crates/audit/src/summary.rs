//! What history keeps of a record besides its JSON: the fields that queries, LookupEvents and
//! trail selectors read.
//!
//! Why not the record itself: history holds every record for the life of the process (in
//! memory mode), and the parsed record — twenty-odd strings, an identity with its session
//! context, `serde_json::Value` trees for the parameters — cost more than the JSON text it is
//! serialized to. The JSON is the record; this is its index.

use crate::record::{CloudTrailRecord, Resource};

/// The searchable fields of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordSummary {
    /// `eventID`.
    pub event_id: String,
    /// `eventName`.
    pub event_name: String,
    /// `eventSource`.
    pub event_source: String,
    /// `eventType`.
    pub event_type: String,
    /// `eventCategory`.
    pub event_category: String,
    /// `readOnly`.
    pub read_only: bool,
    /// `errorCode`.
    pub error_code: Option<String>,
    /// `awsRegion`.
    pub aws_region: String,
    /// `recipientAccountId`.
    pub recipient_account_id: String,
    /// `userIdentity.arn`.
    pub user_arn: Option<String>,
    /// `userIdentity.accessKeyId`.
    pub access_key_id: Option<String>,
    /// LookupEvents' `Username` (see `UserIdentity::lookup_username`).
    pub username: Option<String>,
    /// `resources`, empty when the record has none.
    pub resources: Vec<Resource>,
}

impl RecordSummary {
    /// The summary of `record`.
    pub fn of(record: &CloudTrailRecord) -> RecordSummary {
        RecordSummary {
            event_id: record.event_id.clone(),
            event_name: record.event_name.clone(),
            event_source: record.event_source.clone(),
            event_type: record.event_type.clone(),
            event_category: record.event_category.clone(),
            read_only: record.read_only,
            error_code: record.error_code.clone(),
            aws_region: record.aws_region.clone(),
            recipient_account_id: record.recipient_account_id.clone(),
            user_arn: record.user_identity.arn.clone(),
            access_key_id: record.user_identity.access_key_id.clone(),
            username: record.user_identity.lookup_username(),
            resources: record.resources.clone().unwrap_or_default(),
        }
    }
}
