//! Who is calling: the principal behind an access key, as IAM and CloudTrail name it.

use std::fmt;
use std::sync::Arc;

/// An AWS principal that can sign requests to keytrail.
///
/// The three kinds mirror the `userIdentity.type` values CloudTrail writes for KMS callers; their ids
/// (`AIDA…`, `AROA…`) are derived from the config so the same config always yields the same ids.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Principal {
    /// The root user of an account.
    Root {
        /// 12-digit account id.
        account: String,
        /// The account alias, shown as `userName` in records when set.
        alias: Option<String>,
    },
    /// A long-term IAM user.
    User {
        /// Account that owns the user.
        account: String,
        /// User name, as in `arn:aws:iam::<account>:user/<name>`.
        name: String,
        /// Unique id, `AIDA…`.
        unique_id: String,
    },
    /// A session of an assumed IAM role.
    AssumedRole {
        /// Account that owns the role.
        account: String,
        /// Role name.
        role: String,
        /// Role unique id, `AROA…`.
        role_id: String,
        /// Session name.
        session: String,
        /// When the session was created, `YYYY-MM-DDTHH:MM:SSZ`.
        created: String,
        /// What STS `AssumeRole` gave the session (MFA, session tags, source identity); empty
        /// for the sessions the config file declares.
        attributes: Arc<SessionAttributes>,
    },
}

/// The facts of a role session beyond its name: they become the session's condition keys
/// (`aws:PrincipalTag/<key>`, `aws:MultiFactorAuthPresent`, `aws:SourceIdentity`) and its
/// record's `sessionContext`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SessionAttributes {
    /// The AssumeRole call passed an MFA serial number and token code.
    pub mfa_authenticated: bool,
    /// Session tags (incoming transitive tags first), keys unique ignoring case.
    pub tags: Vec<(String, String)>,
    /// Keys of the tags that pass on to sessions this one assumes (role chaining).
    pub transitive_tag_keys: Vec<String>,
    /// `SourceIdentity`, which persists along a role chain.
    pub source_identity: Option<String>,
}

impl Principal {
    /// The root of `account`, with no alias.
    pub fn root(account: impl Into<String>) -> Self {
        Principal::Root { account: account.into(), alias: None }
    }

    /// The account that owns this principal.
    pub fn account(&self) -> &str {
        match self {
            Principal::Root { account, .. } | Principal::User { account, .. } | Principal::AssumedRole { account, .. } => account,
        }
    }

    /// The principal's ARN as it appears in error messages, records and `aws:PrincipalArn`.
    pub fn arn(&self) -> String {
        match self {
            Principal::Root { account, .. } => format!("arn:aws:iam::{account}:root"),
            Principal::User { account, name, .. } => format!("arn:aws:iam::{account}:user/{name}"),
            Principal::AssumedRole { account, role, session, .. } => {
                format!("arn:aws:sts::{account}:assumed-role/{role}/{session}")
            }
        }
    }

    /// The ARN that IAM policies match for `aws:PrincipalArn`: the role ARN for a role session.
    pub fn policy_arn(&self) -> String {
        match self {
            Principal::AssumedRole { account, role, .. } => format!("arn:aws:iam::{account}:role/{role}"),
            other => other.arn(),
        }
    }

    /// CloudTrail's `principalId`: the account id, `AIDA…`, or `AROA…:<session>`.
    pub fn principal_id(&self) -> String {
        match self {
            Principal::Root { account, .. } => account.clone(),
            Principal::User { unique_id, .. } => unique_id.clone(),
            Principal::AssumedRole { role_id, session, .. } => format!("{role_id}:{session}"),
        }
    }

    /// The value of `aws:username` (users only) and of LookupEvents' `Username` attribute.
    pub fn user_name(&self) -> Option<&str> {
        match self {
            Principal::Root { alias, .. } => alias.as_deref(),
            Principal::User { name, .. } => Some(name),
            Principal::AssumedRole { session, .. } => Some(session),
        }
    }

    /// True for an account's root user, which identity policies never restrict.
    pub fn is_root(&self) -> bool {
        matches!(self, Principal::Root { .. })
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn())
    }
}

/// Derives a stable IAM-style unique id (`AIDA…`, `AROA…`) from a prefix and a name, so that the
/// same config always gives the same ids in records.
pub fn stable_unique_id(prefix: &str, account: &str, name: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = ring::digest::digest(&ring::digest::SHA256, format!("{prefix}:{account}:{name}").as_bytes());
    let mut id = String::from(prefix);
    for byte in digest.as_ref().iter().take(17) {
        id.push(ALPHABET[(*byte as usize) % ALPHABET.len()] as char);
    }
    id
}
