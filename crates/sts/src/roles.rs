//! The roles STS can hand out sessions of: the config's `[[roles]]`, each with its trust policy
//! and its longest session.

use std::collections::HashMap;

use keytrail_iam::policy::{PolicyDocument, PolicyError, PolicyKind};
use keytrail_iam::principal::stable_unique_id;

/// IAM's default and bounds for a role's `MaxSessionDuration` (IAM API reference, `CreateRole`).
pub const DEFAULT_MAX_SESSION_SECONDS: u32 = 3600;
/// See [`DEFAULT_MAX_SESSION_SECONDS`].
pub const MAX_SESSION_SECONDS_RANGE: std::ops::RangeInclusive<u32> = 3600..=43_200;

/// One assumable role.
#[derive(Clone, Debug)]
pub struct Role {
    /// The owning account.
    pub account: String,
    /// The role name.
    pub name: String,
    /// `AROA…`, derived from account and name as for the config's sessions.
    pub role_id: String,
    /// Who may assume it.
    pub trust_policy: PolicyDocument,
    /// The longest session AssumeRole may ask for, in seconds.
    pub max_session_seconds: u32,
}

impl Role {
    /// A role of `account` named `name`. Without `trust_policy` it gets AWS's default for a role
    /// trusting its own account (what the IAM console writes for "This account"): the account's
    /// principals may assume it when their identity policies allow `sts:AssumeRole`.
    pub fn new(account: &str, name: &str, trust_policy: Option<&str>, max_session_seconds: Option<u32>) -> Result<Role, PolicyError> {
        let text = match trust_policy {
            Some(t) => t.to_owned(),
            None => default_trust_policy(account),
        };
        Ok(Role {
            account: account.to_owned(),
            name: name.to_owned(),
            role_id: stable_unique_id("AROA", account, name),
            trust_policy: PolicyDocument::parse(&text, PolicyKind::TrustPolicy)?,
            max_session_seconds: max_session_seconds.unwrap_or(DEFAULT_MAX_SESSION_SECONDS),
        })
    }

    /// `arn:aws:iam::<account>:role/<name>`.
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::{}:role/{}", self.account, self.name)
    }
}

/// The trust policy of a role that trusts its own account.
pub fn default_trust_policy(account: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

/// The roles by ARN.
pub(crate) struct Roles {
    by_arn: HashMap<String, Role>,
}

impl Roles {
    pub(crate) fn new(roles: Vec<Role>) -> Self {
        Roles { by_arn: roles.into_iter().map(|r| (r.arn(), r)).collect() }
    }

    pub(crate) fn get(&self, arn: &str) -> Option<&Role> {
        self.by_arn.get(arn)
    }
}
