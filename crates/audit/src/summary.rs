//! What history keeps of a record besides its JSON: the fields that queries, LookupEvents and
//! trail selectors read.
//!
//! Why not the record itself: history holds every record for the life of the process (in
//! memory mode), and the parsed record — twenty-odd strings, an identity with its session
//! context, `serde_json::Value` trees for the parameters — cost more than the JSON text it is
//! serialized to. The JSON is the record; this is its index.

use crate::record::{CloudTrailRecord, Resource, Text};

/// The searchable fields of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordSummary {
    /// `eventID`.
    pub event_id: String,
    /// `eventName`.
    pub event_name: Text,
    /// `eventSource`.
    pub event_source: Text,
    /// `eventType`.
    pub event_type: Text,
    /// `eventCategory`.
    pub event_category: Text,
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
    /// The summary of `record`, taking its strings instead of copying them (the recorder's
    /// path: the record is serialized first and not needed after).
    pub fn from_record(record: CloudTrailRecord) -> RecordSummary {
        let username = record.user_identity.lookup_username();
        RecordSummary {
            event_id: record.event_id,
            event_name: record.event_name,
            event_source: record.event_source,
            event_type: record.event_type,
            event_category: record.event_category,
            read_only: record.read_only,
            error_code: record.error_code,
            aws_region: record.aws_region,
            recipient_account_id: record.recipient_account_id,
            user_arn: record.user_identity.arn,
            access_key_id: record.user_identity.access_key_id,
            username,
            resources: record.resources.unwrap_or_default(),
        }
    }

    /// The summary of a record the caller keeps.
    pub fn of(record: &CloudTrailRecord) -> RecordSummary {
        Self::from_record(record.clone())
    }

    /// The value of a text field (`None`: the record has none).
    pub fn text(&self, field: Field) -> Option<&str> {
        match field {
            Field::EventId => Some(&self.event_id),
            Field::EventName => Some(&self.event_name),
            Field::EventSource => Some(&self.event_source),
            Field::EventType => Some(&self.event_type),
            Field::EventCategory => Some(&self.event_category),
            Field::ErrorCode => self.error_code.as_deref(),
            Field::AwsRegion => Some(&self.aws_region),
            Field::RecipientAccountId => Some(&self.recipient_account_id),
            Field::UserArn => self.user_arn.as_deref(),
            Field::AccessKeyId => self.access_key_id.as_deref(),
            Field::Username => self.username.as_deref(),
        }
    }
}

/// The text fields of a summary, named, for code that reads summaries in more than one form
/// (history keeps its older records packed: `packed.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// `eventID`.
    EventId,
    /// `eventName`.
    EventName,
    /// `eventSource`.
    EventSource,
    /// `eventType`.
    EventType,
    /// `eventCategory`.
    EventCategory,
    /// `errorCode`.
    ErrorCode,
    /// `awsRegion`.
    AwsRegion,
    /// `recipientAccountId`.
    RecipientAccountId,
    /// `userIdentity.arn`.
    UserArn,
    /// `userIdentity.accessKeyId`.
    AccessKeyId,
    /// LookupEvents' user name.
    Username,
}

impl Field {
    /// Every field, in declaration order (a packed record's fields are indexed by `field as usize`).
    pub const ALL: [Field; 11] = [
        Field::EventId,
        Field::EventName,
        Field::EventSource,
        Field::EventType,
        Field::EventCategory,
        Field::ErrorCode,
        Field::AwsRegion,
        Field::RecipientAccountId,
        Field::UserArn,
        Field::AccessKeyId,
        Field::Username,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::UserIdentity;
    use crate::record::tests::sample;

    /// A field's discriminant is its place in `Field::ALL` (packed records index by it), and
    /// `text` reads each field.
    #[test]
    fn fields_are_listed_in_declaration_order() {
        for (slot, field) in Field::ALL.into_iter().enumerate() {
            assert_eq!(field as usize, slot, "{field:?}");
        }
        let summary = RecordSummary::of(&sample());
        assert_eq!(summary.text(Field::EventName), Some("Decrypt"));
        assert_eq!(summary.text(Field::ErrorCode), None);
    }

    /// Each field comes from the record; the LookupEvents user name follows the identity type.
    #[test]
    fn summary_holds_the_searchable_fields() {
        let mut record = sample();
        record.error_code = Some("AccessDeniedException".into());
        let key = Resource {
            account_id: "111122223333".into(),
            resource_type: "AWS::KMS::Key".into(),
            arn: "arn:aws:kms:us-east-1:111122223333:key/k".into(),
        };
        record.resources = Some(vec![key.clone()]);
        let alice = keytrail_iam::Principal::User { account: "111122223333".into(), name: "alice".into(), unique_id: "AIDAEXAMPLE".into() };
        let role = keytrail_iam::Principal::AssumedRole {
            account: "111122223333".into(),
            role: "app".into(),
            role_id: "AROAEXAMPLE".into(),
            session: "ci".into(),
            created: "2024-01-01T00:00:00Z".into(),
            attributes: Default::default(),
        };
        let cases = [
            (UserIdentity::aws_internal("111122223333"), None),
            (UserIdentity::of_caller(&alice, "AKIAALICE"), Some("alice")),
            (UserIdentity::of_caller(&role, "ASIAROLE"), Some("ci")),
            (UserIdentity::of_caller(&keytrail_iam::Principal::root("111122223333"), "AKIAROOT"), Some("root")),
        ];
        for (identity, username) in cases {
            record.user_identity = identity;
            let summary = RecordSummary::of(&record);
            assert_eq!(summary.event_id, record.event_id);
            assert_eq!(summary.event_name, "Decrypt");
            assert_eq!(summary.event_source, "kms.amazonaws.com");
            assert_eq!(summary.error_code.as_deref(), Some("AccessDeniedException"));
            assert_eq!(summary.recipient_account_id, record.recipient_account_id);
            assert_eq!(summary.user_arn, record.user_identity.arn);
            assert_eq!(summary.access_key_id, record.user_identity.access_key_id);
            assert_eq!(summary.username.as_deref(), username);
            assert_eq!(summary.resources, std::slice::from_ref(&key));
            assert_eq!(RecordSummary::from_record(record.clone()), summary);
        }
    }
}
