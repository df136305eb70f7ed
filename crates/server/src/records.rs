//! Turning a call into CloudTrail records: the caller's copy, the key owner's copy of a
//! cross-account call, and KMS's own service events.

use keytrail_audit::record::EVENT_VERSION;
use keytrail_audit::{timefmt, CloudTrailRecord, Resource, UserIdentity};
use keytrail_iam::Caller;
use keytrail_kms::{ServiceEvent, TouchedResource};
use serde_json::Value;
use time::OffsetDateTime;

/// What the server knows of one API call, besides its outcome.
pub struct CallFacts<'a> {
    /// Who called.
    pub caller: &'a Caller,
    /// `kms.amazonaws.com`, `cloudtrail.amazonaws.com` or `sts.amazonaws.com`.
    pub event_source: &'static str,
    /// The API name.
    pub event_name: &'static str,
    /// Whether the action only reads.
    pub read_only: bool,
    /// The request id sent back in `x-amzn-RequestId`.
    pub request_id: &'a str,
    /// Caller IP.
    pub source_ip: &'a str,
    /// Caller user agent, truncated to 1 KB.
    pub user_agent: Option<&'a str>,
    /// When the call completed.
    pub time: OffsetDateTime,
}

/// What the call produced, for its record.
pub struct CallResult<'a> {
    /// The error code and message, if it failed.
    pub error: Option<(&'a str, &'a str)>,
    /// requestParameters.
    pub request_parameters: Option<Value>,
    /// responseElements.
    pub response_elements: Option<Value>,
    /// additionalEventData.
    pub additional_event_data: Option<Value>,
    /// Resources touched.
    pub resources: &'a [TouchedResource],
    /// Their CloudTrail `type`: `AWS::KMS::Key` for KMS, `AWS::IAM::Role` for STS.
    pub resource_type: &'static str,
}

/// The records of one API call: the caller's copy, plus one copy for each other account whose
/// resource a successful call used (same `sharedEventID`, own `eventID`, `AWSAccount` identity).
/// A failed or denied cross-account call is recorded in the caller's account only.
pub fn api_call_records(facts: &CallFacts<'_>, result: CallResult<'_>) -> Vec<CloudTrailRecord> {
    let caller_account = facts.caller.account().to_string();
    let resources: Vec<Resource> = result
        .resources
        .iter()
        .map(|r| Resource { account_id: r.account.clone(), resource_type: result.resource_type.into(), arn: r.arn.clone() })
        .collect();
    let mut owners: Vec<String> = Vec::new();
    if result.error.is_none() {
        for r in result.resources {
            if r.account != caller_account && !owners.contains(&r.account) {
                owners.push(r.account.clone());
            }
        }
    }
    let shared = (!owners.is_empty()).then(|| uuid::Uuid::new_v4().to_string());
    let base = CloudTrailRecord {
        event_version: EVENT_VERSION.into(),
        user_identity: UserIdentity::of_caller(&facts.caller.principal, &facts.caller.access_key_id),
        event_time: timefmt::event_time(facts.time),
        event_source: facts.event_source.into(),
        event_name: facts.event_name.into(),
        aws_region: facts.caller.region.clone(),
        source_ip_address: facts.source_ip.to_owned(),
        user_agent: facts.user_agent.map(str::to_owned),
        error_code: result.error.map(|(c, _)| c.to_string()),
        error_message: result.error.map(|(_, m)| m.to_string()),
        request_parameters: result.request_parameters,
        response_elements: result.response_elements,
        additional_event_data: result.additional_event_data,
        request_id: Some(facts.request_id.to_string()),
        event_id: uuid::Uuid::new_v4().to_string(),
        read_only: facts.read_only,
        resources: (!resources.is_empty()).then_some(resources),
        event_type: "AwsApiCall".into(),
        management_event: true,
        recipient_account_id: caller_account,
        shared_event_id: shared.clone(),
        service_event_details: None,
        event_category: "Management".into(),
    };
    let mut records = Vec::with_capacity(1 + owners.len());
    for owner in owners {
        records.push(CloudTrailRecord {
            user_identity: UserIdentity::of_other_account(&facts.caller.principal),
            event_id: uuid::Uuid::new_v4().to_string(),
            recipient_account_id: owner,
            ..base.clone()
        });
    }
    records.insert(0, base);
    records
}

/// The record of something KMS did on its own (RotateKey, DeleteKey).
pub fn service_event_record(e: &ServiceEvent) -> CloudTrailRecord {
    CloudTrailRecord {
        event_version: EVENT_VERSION.into(),
        user_identity: UserIdentity::aws_internal(&e.account),
        event_time: timefmt::event_time(e.at),
        event_source: "kms.amazonaws.com".into(),
        event_name: e.name.into(),
        aws_region: e.region.clone(),
        source_ip_address: "AWS Internal".into(),
        user_agent: Some("AWS Internal".into()),
        error_code: None,
        error_message: None,
        request_parameters: None,
        response_elements: e.response_elements.clone(),
        additional_event_data: None,
        request_id: None,
        event_id: uuid::Uuid::new_v4().to_string(),
        read_only: false,
        resources: Some(vec![Resource::kms(&e.account, &e.key_arn)]),
        event_type: "AwsServiceEvent".into(),
        management_event: true,
        recipient_account_id: e.account.clone(),
        shared_event_id: None,
        service_event_details: e.details.clone(),
        event_category: "Management".into(),
    }
}
