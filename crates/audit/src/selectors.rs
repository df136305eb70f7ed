//! Event selectors: which records a trail logs (cloudtrail-for-kms.md §7).
//!
//! Basic selectors (`EventSelectors`) and advanced selectors (`AdvancedEventSelectors`) are
//! kept in AWS's own JSON shape, so GetEventSelectors echoes them back as they were put and the
//! trail registry persists them as they are. A record is logged when it matches any selector.
//! Every record keytrail writes is a management event.

use serde::{Deserialize, Serialize};

use crate::error::CloudTrailError;
use crate::summary::RecordSummary;

const INVALID: &str = "InvalidEventSelectorsException";
/// AWS's limit of basic selectors per trail.
const MAX_SELECTORS: usize = 5;
/// AWS's limit of data resources across a trail's basic selectors.
const MAX_DATA_RESOURCES: usize = 250;
/// AWS's limit of values across all conditions of a trail's advanced selectors.
const MAX_ADVANCED_VALUES: usize = 500;
/// The only sources `ExcludeManagementEventSources` accepts.
const EXCLUDABLE_SOURCES: &[&str] = &["kms.amazonaws.com", "rdsdata.amazonaws.com"];
const DATA_RESOURCE_TYPES: &[&str] = &["AWS::S3::Object", "AWS::Lambda::Function", "AWS::DynamoDB::Table"];

/// A trail's selectors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Selectors {
    /// Never set: every management event, read and write (one default basic selector).
    #[default]
    Default,
    /// Set by PutEventSelectors with `EventSelectors`.
    Basic(Vec<EventSelector>),
    /// Set by PutEventSelectors with `AdvancedEventSelectors`.
    Advanced(Vec<AdvancedEventSelector>),
}

/// A basic event selector, in AWS's shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventSelector {
    /// `ReadOnly`, `WriteOnly` or `All` (the default).
    #[serde(default = "all")]
    pub read_write_type: String,
    /// Whether management events are logged (default true).
    #[serde(default = "yes")]
    pub include_management_events: bool,
    /// Data-event resources (kept and echoed; keytrail has no data events).
    #[serde(default)]
    pub data_resources: Vec<DataResource>,
    /// Management event sources not logged: `kms.amazonaws.com`, `rdsdata.amazonaws.com`.
    #[serde(default)]
    pub exclude_management_event_sources: Vec<String>,
}

fn all() -> String {
    "All".into()
}

fn yes() -> bool {
    true
}

impl Default for EventSelector {
    fn default() -> Self {
        EventSelector {
            read_write_type: all(),
            include_management_events: true,
            data_resources: Vec::new(),
            exclude_management_event_sources: Vec::new(),
        }
    }
}

/// A data resource of a basic selector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataResource {
    /// `AWS::S3::Object`, `AWS::Lambda::Function` or `AWS::DynamoDB::Table`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// ARNs or ARN prefixes.
    #[serde(default)]
    pub values: Vec<String>,
}

/// An advanced event selector, in AWS's shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdvancedEventSelector {
    /// An optional label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Conditions, all of which must hold.
    #[serde(default)]
    pub field_selectors: Vec<FieldSelector>,
}

/// One condition of an advanced selector: a record field and operators on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FieldSelector {
    /// The record field (`eventSource`, `eventName`, `readOnly`, `eventCategory`, …).
    pub field: String,
    /// The field equals one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Vec<String>>,
    /// The field starts with one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_with: Option<Vec<String>>,
    /// The field ends with one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_with: Option<Vec<String>>,
    /// The field equals none of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<Vec<String>>,
    /// The field starts with none of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_starts_with: Option<Vec<String>>,
    /// The field ends with none of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_ends_with: Option<Vec<String>>,
}

/// Fields advanced selectors may name (each read from a record by `field_values`).
const FIELDS: &[&str] = &[
    "eventCategory",
    "eventSource",
    "eventName",
    "readOnly",
    "eventType",
    "errorCode",
    "userIdentity.arn",
    "resources.type",
    "resources.ARN",
];

/// The values of advanced-selector field `field` in `r` (one of [`FIELDS`]).
///
/// Choice: AWS lets a trail's *management* selectors use only `eventCategory`, `readOnly` and
/// `eventSource` (NotEquals); keytrail also accepts `eventName` and the other fields below with
/// every operator (the issue asks for eventName), since it has only management events to filter.
fn field_values<'r>(field: &str, r: &'r RecordSummary) -> Vec<&'r str> {
    match field {
        "eventCategory" => vec![&r.event_category],
        "eventSource" => vec![&r.event_source],
        "eventName" => vec![&r.event_name],
        "readOnly" => vec![if r.read_only { "true" } else { "false" }],
        "eventType" => vec![&r.event_type],
        "errorCode" => r.error_code.as_deref().into_iter().collect(),
        "userIdentity.arn" => r.user_arn.as_deref().into_iter().collect(),
        "resources.type" => r.resources.iter().map(|x| x.resource_type.as_ref()).collect(),
        "resources.ARN" => r.resources.iter().map(|x| x.arn.as_str()).collect(),
        _ => Vec::new(),
    }
}

impl Selectors {
    /// Whether a trail with these selectors logs `record`.
    pub fn matches(&self, record: &RecordSummary) -> bool {
        match self {
            Selectors::Default => EventSelector::default().matches(record),
            Selectors::Basic(list) => list.iter().any(|s| s.matches(record)),
            Selectors::Advanced(list) => list.iter().any(|s| s.matches(record)),
        }
    }

    /// `HasCustomEventSelectors` of the trail description.
    pub fn is_custom(&self) -> bool {
        !matches!(self, Selectors::Default)
    }

    /// Validates what PutEventSelectors was given: exactly one of the two kinds.
    pub fn from_request(
        basic: Option<Vec<EventSelector>>,
        advanced: Option<Vec<AdvancedEventSelector>>,
    ) -> Result<Selectors, CloudTrailError> {
        match (basic, advanced) {
            (Some(_), Some(_)) | (None, None) => Err(CloudTrailError::new(
                "InvalidParameterCombinationException",
                "Specify either EventSelectors or AdvancedEventSelectors, but not both.",
            )),
            (Some(list), None) => {
                validate_basic(&list)?;
                Ok(Selectors::Basic(list))
            }
            (None, Some(list)) => {
                validate_advanced(&list)?;
                Ok(Selectors::Advanced(list))
            }
        }
    }
}

impl EventSelector {
    fn matches(&self, r: &RecordSummary) -> bool {
        let rw = match self.read_write_type.as_str() {
            "ReadOnly" => r.read_only,
            "WriteOnly" => !r.read_only,
            _ => true,
        };
        self.include_management_events && rw && !self.exclude_management_event_sources.iter().any(|s| *s == r.event_source)
    }
}

impl AdvancedEventSelector {
    fn matches(&self, r: &RecordSummary) -> bool {
        self.field_selectors.iter().all(|f| f.matches(r))
    }
}

impl FieldSelector {
    fn operators(&self) -> [(&'static str, Option<&Vec<String>>); 6] {
        [
            ("Equals", self.equals.as_ref()),
            ("StartsWith", self.starts_with.as_ref()),
            ("EndsWith", self.ends_with.as_ref()),
            ("NotEquals", self.not_equals.as_ref()),
            ("NotStartsWith", self.not_starts_with.as_ref()),
            ("NotEndsWith", self.not_ends_with.as_ref()),
        ]
    }

    /// Every operator given must hold. A positive operator holds when some value of the field
    /// matches one of its values; a negative one when no value of the field matches any.
    fn matches(&self, r: &RecordSummary) -> bool {
        let values = field_values(&self.field, r);
        self.operators().into_iter().all(|(op, list)| {
            let Some(list) = list else { return true };
            let hit = |v: &str| {
                list.iter().any(|x| match op {
                    "Equals" | "NotEquals" => v == x,
                    "StartsWith" | "NotStartsWith" => v.starts_with(x.as_str()),
                    _ => v.ends_with(x.as_str()),
                })
            };
            let any = values.iter().any(|v| hit(v));
            if op.starts_with("Not") {
                !any
            } else {
                any
            }
        })
    }
}

fn invalid(message: impl Into<String>) -> CloudTrailError {
    CloudTrailError::new(INVALID, message)
}

fn validate_basic(list: &[EventSelector]) -> Result<(), CloudTrailError> {
    if list.is_empty() || list.len() > MAX_SELECTORS {
        return Err(invalid(format!("A trail can have 1 to {MAX_SELECTORS} event selectors; {} were given.", list.len())));
    }
    let mut data_resources = 0;
    for s in list {
        if !["ReadOnly", "WriteOnly", "All"].contains(&s.read_write_type.as_str()) {
            return Err(invalid(format!(
                "Value {} for ReadWriteType is invalid. Valid values are ReadOnly, WriteOnly and All.",
                s.read_write_type
            )));
        }
        if let Some(bad) = s.exclude_management_event_sources.iter().find(|x| !EXCLUDABLE_SOURCES.contains(&x.as_str())) {
            return Err(invalid(format!(
                "Value {bad} for ExcludeManagementEventSources is invalid. Valid values are {}.",
                EXCLUDABLE_SOURCES.join(", ")
            )));
        }
        for d in &s.data_resources {
            let t = d.r#type.as_deref().unwrap_or_default();
            if !DATA_RESOURCE_TYPES.contains(&t) {
                return Err(invalid(format!("Value {t} for DataResources.Type is invalid.")));
            }
            data_resources += d.values.len().max(1);
        }
    }
    if data_resources > MAX_DATA_RESOURCES {
        return Err(invalid(format!("A trail can have at most {MAX_DATA_RESOURCES} data resources.")));
    }
    Ok(())
}

fn validate_advanced(list: &[AdvancedEventSelector]) -> Result<(), CloudTrailError> {
    if list.is_empty() {
        return Err(invalid("At least one advanced event selector is required."));
    }
    let mut values = 0;
    for s in list {
        if s.field_selectors.is_empty() {
            return Err(invalid("Each advanced event selector needs at least one field selector."));
        }
        let category = s.field_selectors.iter().find(|f| f.field == "eventCategory");
        if category.and_then(|f| f.equals.as_ref()).is_none() {
            return Err(invalid("Each advanced event selector must have an eventCategory field selector with Equals."));
        }
        for f in &s.field_selectors {
            if !FIELDS.contains(&f.field.as_str()) {
                return Err(invalid(format!("Field {} is not a valid field for advanced event selectors.", f.field)));
            }
            let given: Vec<_> = f.operators().into_iter().filter_map(|(op, l)| l.map(|l| (op, l))).collect();
            if given.is_empty() {
                return Err(invalid(format!("The field selector for {} has no operator.", f.field)));
            }
            for (op, l) in &given {
                if l.is_empty() || l.iter().any(String::is_empty) {
                    return Err(invalid(format!("The {op} operator of {} needs at least one non-empty value.", f.field)));
                }
                if matches!(f.field.as_str(), "readOnly" | "eventCategory") && *op != "Equals" {
                    return Err(invalid(format!("Field {} only supports the Equals operator.", f.field)));
                }
                values += l.len();
            }
            let allowed: Option<&[&str]> = match f.field.as_str() {
                "readOnly" => Some(&["true", "false"]),
                "eventCategory" => Some(&["Management", "Data", "NetworkActivity"]),
                _ => None,
            };
            if let (Some(allowed), Some(eq)) = (allowed, &f.equals) {
                if let Some(bad) = eq.iter().find(|v| !allowed.contains(&v.as_str())) {
                    return Err(invalid(format!("Value {bad} for field {} is invalid.", f.field)));
                }
            }
        }
    }
    if values > MAX_ADVANCED_VALUES {
        return Err(invalid(format!("Advanced event selectors can have at most {MAX_ADVANCED_VALUES} values in all.")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(source: &str, name: &str, read_only: bool) -> RecordSummary {
        let record = crate::record::CloudTrailRecord {
            event_source: source.to_owned().into(),
            event_name: name.to_owned().into(),
            read_only,
            ..crate::record::tests::sample()
        };
        RecordSummary::of(&record)
    }

    fn basic(v: serde_json::Value) -> Result<Selectors, CloudTrailError> {
        Selectors::from_request(Some(serde_json::from_value(v).unwrap()), None)
    }

    fn advanced(v: serde_json::Value) -> Result<Selectors, CloudTrailError> {
        Selectors::from_request(None, Some(serde_json::from_value(v).unwrap()))
    }

    #[test]
    fn default_logs_every_management_event() {
        assert!(Selectors::Default.matches(&record("kms.amazonaws.com", "Decrypt", true)));
        assert!(Selectors::Default.matches(&record("kms.amazonaws.com", "DisableKey", false)));
    }

    #[test]
    fn basic_excludes_kms_and_filters_read_write() {
        let s = basic(json!([{"ReadWriteType":"All","ExcludeManagementEventSources":["kms.amazonaws.com"]}])).unwrap();
        assert!(!s.matches(&record("kms.amazonaws.com", "Decrypt", true)));
        assert!(s.matches(&record("cloudtrail.amazonaws.com", "PutEventSelectors", false)));
        let w = basic(json!([{"ReadWriteType":"WriteOnly"}])).unwrap();
        assert!(!w.matches(&record("kms.amazonaws.com", "Decrypt", true)));
        assert!(w.matches(&record("kms.amazonaws.com", "ScheduleKeyDeletion", false)));
        let off = basic(json!([{"IncludeManagementEvents":false}])).unwrap();
        assert!(!off.matches(&record("kms.amazonaws.com", "DisableKey", false)));
    }

    #[test]
    fn basic_validation() {
        for bad in [
            json!([]),
            json!([{"ReadWriteType":"read-only"}]),
            json!([{"ExcludeManagementEventSources":["s3.amazonaws.com"]}]),
            json!([{"DataResources":[{"Type":"AWS::EC2::Instance","Values":["x"]}]}]),
            json!([{}, {}, {}, {}, {}, {}]),
        ] {
            assert_eq!(basic(bad.clone()).unwrap_err().code(), INVALID, "{bad}");
        }
        assert_eq!(Selectors::from_request(None, None).unwrap_err().code(), "InvalidParameterCombinationException");
    }

    #[test]
    fn advanced_matching() {
        let s = advanced(json!([{"Name":"no kms","FieldSelectors":[
            {"Field":"eventCategory","Equals":["Management"]},
            {"Field":"eventSource","NotEquals":["kms.amazonaws.com"]}]}]))
        .unwrap();
        assert!(!s.matches(&record("kms.amazonaws.com", "Decrypt", true)));
        assert!(s.matches(&record("cloudtrail.amazonaws.com", "CreateTrail", false)));
        let names = advanced(json!([{"FieldSelectors":[
            {"Field":"eventCategory","Equals":["Management"]},
            {"Field":"eventName","StartsWith":["Generate"],"NotEndsWith":["WithoutPlaintext"]},
            {"Field":"readOnly","Equals":["true"]}]}]))
        .unwrap();
        assert!(names.matches(&record("kms.amazonaws.com", "GenerateDataKey", true)));
        assert!(!names.matches(&record("kms.amazonaws.com", "GenerateDataKeyWithoutPlaintext", true)));
        assert!(!names.matches(&record("kms.amazonaws.com", "Decrypt", true)));
        let data = advanced(json!([{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]}]}])).unwrap();
        assert!(!data.matches(&record("kms.amazonaws.com", "Decrypt", true)));
    }

    #[test]
    fn advanced_validation() {
        for bad in [
            json!([{"FieldSelectors":[{"Field":"eventSource","Equals":["kms.amazonaws.com"]}]}]),
            json!([{"FieldSelectors":[{"Field":"eventCategory","NotEquals":["Management"]}]}]),
            json!([{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"readOnly","Equals":["yes"]}]}]),
            json!([{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"color","Equals":["x"]}]}]),
            json!([{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"eventName"}]}]),
            json!([]),
        ] {
            assert_eq!(advanced(bad.clone()).unwrap_err().code(), INVALID, "{bad}");
        }
    }
}
