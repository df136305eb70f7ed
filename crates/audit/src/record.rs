//! The CloudTrail record, field by field, in the order AWS writes them.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::identity::UserIdentity;

/// A record's text that is usually one of a few constants (`eventSource`, `eventName`,
/// `eventType`, …): borrowed from a `&'static str` when it is one, so a record does not allocate a
/// copy of `"Management"` for every call; owned when read back from JSON.
pub type Text = Cow<'static, str>;

/// The record version keytrail writes (the current one in AWS's docs).
pub const EVENT_VERSION: &str = "1.11";

/// One CloudTrail record. Optional fields AWS omits when not applicable are skipped;
/// `requestParameters` and `responseElements` are always present, `null` when empty.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudTrailRecord {
    /// Always [`EVENT_VERSION`].
    pub event_version: Text,
    /// Who made the call, as seen by the recipient account.
    pub user_identity: UserIdentity,
    /// When the call completed, `YYYY-MM-DDTHH:MM:SSZ`.
    pub event_time: String,
    /// `kms.amazonaws.com` or `cloudtrail.amazonaws.com`.
    pub event_source: Text,
    /// The API action or service-event name.
    pub event_name: Text,
    /// The region the call was made in.
    pub aws_region: String,
    /// Caller IP, or `AWS Internal` for service events.
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    /// The caller's user agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The error code when the call failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The error message when the call failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Request members in lower camel case, secrets removed.
    pub request_parameters: Option<Value>,
    /// What the service logs of its response (often `null`).
    pub response_elements: Option<Value>,
    /// Extra service-specific data (`keyMaterialId`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_event_data: Option<Value>,
    /// Equal to the `x-amzn-RequestId` header; absent for service events.
    #[serde(rename = "requestID", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Unique per delivered copy.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// Whether the action only reads.
    pub read_only: bool,
    /// The resources the call touched (resolved key ARNs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<Resource>>,
    /// `AwsApiCall` or `AwsServiceEvent`.
    pub event_type: Text,
    /// Always true for KMS and CloudTrail management calls.
    pub management_event: bool,
    /// The account that receives this copy.
    pub recipient_account_id: String,
    /// Same in both copies of a cross-account call; absent otherwise.
    #[serde(rename = "sharedEventID", skip_serializing_if = "Option::is_none")]
    pub shared_event_id: Option<String>,
    /// Details of a service event (RotateKey).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_event_details: Option<Value>,
    /// Always `Management` here.
    pub event_category: Text,
}

/// An entry of `resources`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// The account that owns the resource (the key owner, not the caller).
    #[serde(rename = "accountId")]
    pub account_id: String,
    /// `AWS::KMS::Key` (also used by AWS for alias entries).
    #[serde(rename = "type")]
    pub resource_type: Text,
    /// The resource ARN.
    #[serde(rename = "ARN")]
    pub arn: String,
}

impl Resource {
    /// A KMS key or alias resource owned by `account`.
    pub fn kms(account: impl Into<String>, arn: impl Into<String>) -> Self {
        Resource { account_id: account.into(), resource_type: "AWS::KMS::Key".into(), arn: arn.into() }
    }
}

impl CloudTrailRecord {
    /// The account whose view this copy belongs to.
    pub fn recipient(&self) -> &str {
        &self.recipient_account_id
    }

    /// The record as one JSON line, in a string of exactly its size: history keeps it for the
    /// life of the process, and serializing grows the buffer by doubling (a 1.2 KB record sat in
    /// a 2 KB allocation).
    pub fn to_json(&self) -> String {
        thread_local! {
            // Serialized here, then copied once into an exact-size string: growing a fresh
            // string by doubling and shrinking it after cost five allocations and copies.
            static BUFFER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(4096));
        }
        BUFFER.with(|buffer| {
            let mut buffer = buffer.borrow_mut();
            buffer.clear();
            let json = match serde_json::to_writer(&mut *buffer, self) {
                Ok(()) => std::str::from_utf8(&buffer).map(str::to_owned).unwrap_or_default(),
                Err(_) => String::new(),
            };
            // A rare huge record (a 32 KB policy) does not pin its buffer for good.
            if buffer.capacity() > 64 * 1024 {
                *buffer = Vec::with_capacity(4096);
            }
            json
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A same-account Decrypt record, for tests to vary.
    pub(crate) fn sample() -> CloudTrailRecord {
        CloudTrailRecord {
            event_version: EVENT_VERSION.into(),
            user_identity: UserIdentity::aws_internal("111122223333"),
            event_time: "2025-01-01T00:00:00Z".into(),
            event_source: "kms.amazonaws.com".into(),
            event_name: "Decrypt".into(),
            aws_region: "us-east-1".into(),
            source_ip_address: "127.0.0.1".into(),
            user_agent: None,
            error_code: None,
            error_message: None,
            request_parameters: None,
            response_elements: None,
            additional_event_data: None,
            request_id: Some("00000000-0000-4000-8000-000000000000".into()),
            event_id: "00000000-0000-4000-8000-000000000001".into(),
            read_only: true,
            resources: None,
            event_type: "AwsApiCall".into(),
            management_event: true,
            recipient_account_id: "111122223333".into(),
            shared_event_id: None,
            service_event_details: None,
            event_category: "Management".into(),
        }
    }
}
