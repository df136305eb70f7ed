//! `userIdentity`: how CloudTrail names the caller, per caller kind and per recipient.

use keytrail_iam::Principal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The `userIdentity` block. Members that do not apply are omitted, as in AWS's records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    /// `Root`, `IAMUser`, `AssumedRole`, `AWSAccount`; absent for KMS's own service events.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub identity_type: Option<crate::record::Text>,
    /// Account id, `AIDA…` or `AROA…:<session>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// The principal's ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The account that owns the identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The access key the request was signed with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// IAM user name, or the account alias for root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// Role session details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_context: Option<Value>,
    /// `AWS Internal` for KMS's own events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
}

impl UserIdentity {
    /// The caller's own view of itself (the copy in the caller's account).
    pub fn of_caller(principal: &Principal, access_key_id: &str) -> Self {
        let base = UserIdentity {
            identity_type: None,
            principal_id: Some(principal.principal_id()),
            arn: Some(principal.arn()),
            account_id: Some(principal.account().to_string()),
            access_key_id: Some(access_key_id.to_string()),
            user_name: None,
            session_context: None,
            invoked_by: None,
        };
        match principal {
            Principal::Root { alias, .. } => UserIdentity { identity_type: Some("Root".into()), user_name: alias.clone(), ..base },
            Principal::User { name, .. } => UserIdentity { identity_type: Some("IAMUser".into()), user_name: Some(name.clone()), ..base },
            Principal::AssumedRole { account, role, role_id, created, attributes, .. } => {
                let mut context = json!({
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": role_id,
                        "arn": format!("arn:aws:iam::{account}:role/{role}"),
                        "accountId": account,
                        "userName": role,
                    },
                    "webIdFederationData": {},
                    "attributes": {
                        "creationDate": created,
                        "mfaAuthenticated": if attributes.mfa_authenticated { "true" } else { "false" },
                    },
                });
                // As in AWS's role-chaining example (IAM User Guide, "Logging IAM and AWS STS
                // API calls with AWS CloudTrail"): `sourceIdentity` inside `sessionContext`.
                if let (Some(source), Some(map)) = (&attributes.source_identity, context.as_object_mut()) {
                    map.insert("sourceIdentity".into(), json!(source));
                }
                UserIdentity { identity_type: Some("AssumedRole".into()), session_context: Some(context), ..base }
            }
        }
    }

    /// The key owner's view of a caller from another account.
    ///
    /// Choice (see cloudtrail-for-kms.md §4): AWS publishes no owner-side KMS record for a
    /// customer principal; CloudTrail's general rule is an `AWSAccount` stub with the caller's
    /// principalId and accountId, so that is what the owner copy carries.
    pub fn of_other_account(principal: &Principal) -> Self {
        UserIdentity {
            identity_type: Some("AWSAccount".into()),
            principal_id: Some(principal.principal_id()),
            arn: None,
            account_id: Some(principal.account().to_string()),
            access_key_id: None,
            user_name: None,
            session_context: None,
            invoked_by: None,
        }
    }

    /// KMS acting on its own (rotation, deletion): `{accountId, invokedBy: "AWS Internal"}`.
    pub fn aws_internal(account: &str) -> Self {
        UserIdentity {
            identity_type: None,
            principal_id: None,
            arn: None,
            account_id: Some(account.to_string()),
            access_key_id: None,
            user_name: None,
            session_context: None,
            invoked_by: Some("AWS Internal".into()),
        }
    }

    /// LookupEvents' `Username`: the user name, role session name, or `root`.
    pub fn lookup_username(&self) -> Option<String> {
        match self.identity_type.as_deref() {
            Some("Root") => Some(self.user_name.clone().unwrap_or_else(|| "root".into())),
            Some("IAMUser") => self.user_name.clone(),
            Some("AssumedRole") => self.arn.as_ref().and_then(|a| a.rsplit('/').next()).map(str::to_string),
            _ => None,
        }
    }
}
