//! AWS STS on keytrail's endpoint: enough of it that SDKs, the CLI, sops and Terraform can ask
//! who they are and assume the config's roles, with the temporary credentials then signing KMS
//! and CloudTrail calls as the role session. Knows IAM (principals, policies, the credential
//! directory), not KMS; the server routes to it and records its calls.
//!
//! Layout:
//! - `query` — the query protocol's request (form body or query string, `Name.member.N` lists).
//! - `xml` — the XML responses and STS's `<ErrorResponse>`.
//! - `error` — [`StsError`]: code, status, message.
//! - `roles` — the roles that can be assumed, with their trust policies.
//! - `assume_role` — `AssumeRole`: validation, trust evaluation, issuing credentials.
//! - `caller_identity` — `GetCallerIdentity`.
//! - `issue` — new `ASIA…` key ids, secrets and session tokens.

mod assume_role;
mod caller_identity;
pub mod error;
mod issue;
pub mod query;
pub mod roles;
pub mod xml;

use std::sync::Arc;

use keytrail_iam::credentials::IssuedSession;
use keytrail_iam::{Caller, CredentialDirectory};
use serde_json::Value;
use time::OffsetDateTime;

pub use error::StsError;
pub use query::QueryRequest;
pub use roles::Role;

/// The API version every STS request names.
pub const API_VERSION: &str = "2011-06-15";

/// The STS operations keytrail serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StsOperation {
    /// `AssumeRole`.
    AssumeRole,
    /// `GetCallerIdentity`.
    GetCallerIdentity,
}

/// STS's other actions (botocore `sts/2011-06-15`): answered `NotImplemented`, not `InvalidAction`.
const UNSERVED: &[&str] = &[
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "AssumeRoot",
    "DecodeAuthorizationMessage",
    "GetAccessKeyInfo",
    "GetDelegatedAccessToken",
    "GetFederationToken",
    "GetSessionToken",
    "GetWebIdentityToken",
];

impl StsOperation {
    /// The operation an `Action` names: `Ok(None)`-like errors say why there is none.
    pub fn from_action(action: Option<&str>, version: Option<&str>) -> Result<StsOperation, StsError> {
        let name = action.unwrap_or("");
        if let Some(v) = version.filter(|v| *v != API_VERSION) {
            return Err(StsError::invalid_action(format!("Could not find operation {name} for version {v}")));
        }
        match name {
            "AssumeRole" => Ok(StsOperation::AssumeRole),
            "GetCallerIdentity" => Ok(StsOperation::GetCallerIdentity),
            n if UNSERVED.contains(&n) => Err(StsError::not_implemented(format!(
                "keytrail does not serve the STS {n} operation; it serves AssumeRole and GetCallerIdentity."
            ))),
            n => Err(StsError::invalid_action(format!("Could not find operation {n} for version {}", version.unwrap_or(API_VERSION)))),
        }
    }

    /// The API name (the record's `eventName`).
    pub fn name(self) -> &'static str {
        match self {
            StsOperation::AssumeRole => "AssumeRole",
            StsOperation::GetCallerIdentity => "GetCallerIdentity",
        }
    }

    /// CloudTrail's `readOnly`: both are read events (AWS's own records of them say `true`).
    pub fn read_only(self) -> bool {
        true
    }
}

/// A resource a call touched, for the record's `resources` (and the owner's copy of a
/// cross-account call).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TouchedRole {
    /// The role's account.
    pub account: String,
    /// The role ARN.
    pub arn: String,
}

/// What one STS call produced: the answer and what its record needs.
#[derive(Debug)]
pub struct StsOutcome {
    /// The XML response document, or the error.
    pub result: Result<String, StsError>,
    /// `requestParameters` (lower camel case; no secret).
    pub request_parameters: Option<Value>,
    /// `responseElements`: never the secret access key.
    pub response_elements: Option<Value>,
    /// The role assumed (or refused), once the request named a valid role ARN.
    pub resources: Vec<TouchedRole>,
    /// Credentials this call issued, to be made durable with the call.
    pub issued: Option<Arc<IssuedSession>>,
}

/// The STS service: the roles and the credential directory issued sessions are added to.
pub struct Sts {
    roles: roles::Roles,
    directory: Arc<CredentialDirectory>,
}

impl Sts {
    /// STS over `roles`, issuing into (and reading identity policies from) `directory`.
    pub fn new(roles: Vec<Role>, directory: Arc<CredentialDirectory>) -> Self {
        Sts { roles: roles::Roles::new(roles), directory }
    }

    /// Runs `op` for `caller` at mock time `now`; `request_id` goes into the response document.
    pub fn call(&self, caller: &Caller, op: StsOperation, request: &QueryRequest, request_id: &str, now: OffsetDateTime) -> StsOutcome {
        match op {
            StsOperation::GetCallerIdentity => caller_identity::get_caller_identity(caller, request_id),
            StsOperation::AssumeRole => assume_role::assume_role(self, caller, request, request_id, now),
        }
    }
}
