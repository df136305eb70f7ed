//! The trail registry: every trail of every account and region, with its settings, selectors
//! and status.
//!
//! Everything a trail needs to survive a restart lives in [`Trail`] (serde), so durable storage
//! can keep the registry as opaque JSON through [`Trails::snapshot`] and [`Trails::restore`].
//! Records waiting for delivery are not part of it: they are written out at shutdown.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::error::CloudTrailError;
use crate::selectors::Selectors;
use crate::summary::RecordSummary;

/// AWS's quota of trails per account and region.
pub const MAX_TRAILS_PER_REGION: usize = 5;

/// One trail. Times are Unix seconds on the mock clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trail {
    /// The trail name (unique per account and region).
    pub name: String,
    /// The owning account.
    pub account_id: String,
    /// The region it was created in.
    pub home_region: String,
    /// Where log files go: `<s3 root>/<bucket>/…`.
    pub s3_bucket_name: String,
    /// Key prefix inside the bucket.
    #[serde(default)]
    pub s3_key_prefix: Option<String>,
    /// Kept and echoed; keytrail sends no notifications.
    #[serde(default)]
    pub sns_topic_name: Option<String>,
    /// Kept and echoed (keytrail's events are all regional).
    #[serde(default)]
    pub include_global_service_events: bool,
    /// Logs every region of the account, not only the home region.
    #[serde(default)]
    pub is_multi_region_trail: bool,
    /// Log file integrity validation: hourly signed digest files ([`crate::digests`]).
    #[serde(default)]
    pub log_file_validation_enabled: bool,
    /// Kept and echoed.
    #[serde(default)]
    pub cloud_watch_logs_log_group_arn: Option<String>,
    /// Kept and echoed.
    #[serde(default)]
    pub cloud_watch_logs_role_arn: Option<String>,
    /// The KMS key ARN for SSE-KMS log files, as CloudTrail stores it (resolved and checked
    /// when set); files are still written unencrypted (`Delivery::encrypt_for_trail`).
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// Tags (`Key`, `Value`): CreateTrail's `TagsList`, then AddTags and RemoveTags.
    #[serde(default)]
    pub tags: Vec<(String, Option<String>)>,
    /// Which records the trail logs.
    #[serde(default)]
    pub selectors: Selectors,
    /// Logging and delivery status.
    #[serde(default)]
    pub status: TrailStatus,
}

/// What GetTrailStatus reports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrailStatus {
    /// Whether the trail records (a trail created through the API starts stopped).
    pub is_logging: bool,
    /// Last StartLogging.
    pub start_logging_time: Option<i64>,
    /// Last StopLogging.
    pub stop_logging_time: Option<i64>,
    /// Publication time of the last log file written.
    pub latest_delivery_time: Option<i64>,
    /// When delivery was last attempted.
    pub latest_delivery_attempt_time: Option<i64>,
    /// Why the last delivery failed; cleared by a successful one.
    pub latest_delivery_error: Option<String>,
    /// Publication time of the last digest file delivered.
    #[serde(default)]
    pub latest_digest_delivery_time: Option<i64>,
    /// Why the last digest delivery failed; cleared by a successful one.
    #[serde(default)]
    pub latest_digest_delivery_error: Option<String>,
}

impl Trail {
    /// A trail with CreateTrail's defaults: global service events included, single-region, no
    /// prefix, default selectors, not logging (a trail created through the API waits for
    /// StartLogging).
    pub fn new(name: &str, account: &str, region: &str, bucket: &str) -> Trail {
        Trail {
            name: name.into(),
            account_id: account.into(),
            home_region: region.into(),
            s3_bucket_name: bucket.into(),
            s3_key_prefix: None,
            sns_topic_name: None,
            include_global_service_events: true,
            is_multi_region_trail: false,
            log_file_validation_enabled: false,
            cloud_watch_logs_log_group_arn: None,
            cloud_watch_logs_role_arn: None,
            kms_key_id: None,
            tags: Vec::new(),
            selectors: Selectors::Default,
            status: TrailStatus::default(),
        }
    }

    /// `arn:aws:cloudtrail:<region>:<account>:trail/<name>`.
    pub fn arn(&self) -> String {
        trail_arn(&self.home_region, &self.account_id, &self.name)
    }

    /// The registry key.
    pub fn key(&self) -> TrailKey {
        TrailKey { account: self.account_id.clone(), region: self.home_region.clone(), name: self.name.clone() }
    }

    /// Whether this trail logs `record`: records delivered to its account (`recipientAccountId`),
    /// of its home region unless it is multi-region, while logging, that its selectors select.
    pub fn receives(&self, record: &RecordSummary) -> bool {
        self.status.is_logging
            && record.recipient_account_id == self.account_id
            && (self.is_multi_region_trail || record.aws_region == self.home_region)
            && self.selectors.matches(record)
    }

    /// The settings as CreateTrail and UpdateTrail return them.
    pub fn settings_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("Name".into(), json!(self.name));
        m.insert("S3BucketName".into(), json!(self.s3_bucket_name));
        if let Some(p) = &self.s3_key_prefix {
            m.insert("S3KeyPrefix".into(), json!(p));
        }
        if let Some(t) = &self.sns_topic_name {
            m.insert("SnsTopicName".into(), json!(t));
            m.insert("SnsTopicARN".into(), json!(self.sns_topic_arn(t)));
        }
        m.insert("IncludeGlobalServiceEvents".into(), json!(self.include_global_service_events));
        m.insert("IsMultiRegionTrail".into(), json!(self.is_multi_region_trail));
        m.insert("TrailARN".into(), json!(self.arn()));
        m.insert("LogFileValidationEnabled".into(), json!(self.log_file_validation_enabled));
        for (k, v) in [
            ("CloudWatchLogsLogGroupArn", &self.cloud_watch_logs_log_group_arn),
            ("CloudWatchLogsRoleArn", &self.cloud_watch_logs_role_arn),
            ("KmsKeyId", &self.kms_key_id),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        m.insert("IsOrganizationTrail".into(), json!(false));
        Value::Object(m)
    }

    /// The `Trail` shape of GetTrail and DescribeTrails: the settings plus home region and
    /// whether selectors were set.
    pub fn description_json(&self) -> Value {
        let mut v = self.settings_json();
        if let Value::Object(m) = &mut v {
            m.insert("HomeRegion".into(), json!(self.home_region));
            m.insert("HasCustomEventSelectors".into(), json!(self.selectors.is_custom()));
            m.insert("HasInsightSelectors".into(), json!(false));
        }
        v
    }

    /// The `TrailInfo` shape of ListTrails.
    pub fn info_json(&self) -> Value {
        json!({ "TrailARN": self.arn(), "Name": self.name, "HomeRegion": self.home_region })
    }

    fn sns_topic_arn(&self, topic: &str) -> String {
        if topic.starts_with("arn:") {
            topic.to_string()
        } else {
            format!("arn:aws:sns:{}:{}:{topic}", self.home_region, self.account_id)
        }
    }
}

/// `arn:aws:cloudtrail:<region>:<account>:trail/<name>`.
pub fn trail_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:cloudtrail:{region}:{account}:trail/{name}")
}

/// Where a trail lives in the registry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TrailKey {
    /// The owning account.
    pub account: String,
    /// The home region.
    pub region: String,
    /// The trail name.
    pub name: String,
}

/// All trails: a cheap `Clone` handle.
#[derive(Clone, Default)]
pub struct Trails {
    inner: Arc<RwLock<BTreeMap<TrailKey, Trail>>>,
}

impl Trails {
    /// An empty registry.
    pub fn new() -> Self {
        Trails::default()
    }

    /// Every trail, for durable storage.
    pub fn snapshot(&self) -> Vec<Trail> {
        self.inner.read().values().cloned().collect()
    }

    /// Replaces every trail with `trails` (from durable storage).
    pub fn restore(&self, trails: Vec<Trail>) {
        *self.inner.write() = trails.into_iter().map(|t| (t.key(), t)).collect();
    }

    /// Forgets every trail (control API `reset`).
    pub fn clear(&self) {
        self.inner.write().clear();
    }

    /// A copy of the trail at `key`.
    pub fn get(&self, key: &TrailKey) -> Option<Trail> {
        self.inner.read().get(key).cloned()
    }

    /// Trails that satisfy `keep`, in key order.
    pub fn filter(&self, keep: impl Fn(&Trail) -> bool) -> Vec<Trail> {
        self.inner.read().values().filter(|t| keep(t)).cloned().collect()
    }

    /// Runs `f` over every trail without copying them.
    pub fn for_each(&self, mut f: impl FnMut(&Trail)) {
        self.inner.read().values().for_each(&mut f);
    }

    /// Adds a new trail, unless one of that name exists in its account and region or the
    /// region's quota is reached.
    pub fn insert_new(&self, trail: Trail) -> Result<(), CloudTrailError> {
        let mut all = self.inner.write();
        let key = trail.key();
        if all.contains_key(&key) {
            return Err(CloudTrailError::new(
                "TrailAlreadyExistsException",
                format!("Trail {} already exists for customer: {}", trail.name, trail.account_id),
            ));
        }
        let in_region = all.keys().filter(|k| k.account == key.account && k.region == key.region).count();
        if in_region >= MAX_TRAILS_PER_REGION {
            return Err(CloudTrailError::new(
                "MaximumNumberOfTrailsExceededException",
                format!("User: {} already has {MAX_TRAILS_PER_REGION} trails in {}.", key.account, key.region),
            ));
        }
        all.insert(key, trail);
        Ok(())
    }

    /// Changes the trail at `key` with `f`; `None` if there is none.
    pub fn update<T>(&self, key: &TrailKey, f: impl FnOnce(&mut Trail) -> T) -> Option<T> {
        self.inner.write().get_mut(key).map(f)
    }

    /// Removes the trail at `key`.
    pub fn remove(&self, key: &TrailKey) -> Option<Trail> {
        self.inner.write().remove(key)
    }
}
