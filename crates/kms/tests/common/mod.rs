//! The in-process harness of the authorization suites: a `Kms` with the real `PolicyAuthorizer`
//! over a directory of users, roles and two accounts, called with JSON bodies as the server
//! would call it. Each case names the AWS documentation page it comes from.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use keytrail_iam::policy::{PolicyDocument, PolicyKind};
use keytrail_iam::{Caller, CredentialDirectory, Principal, RequestOrigin};
use keytrail_kms::{Clock, KeyStore, Kms, Operation, PolicyAuthorizer};
use serde_json::{json, Value};

/// The key owner's account.
pub const OWNER: &str = "111122223333";
/// Another account.
pub const OTHER: &str = "444455556666";
/// The region every call signs for unless it says otherwise.
pub const REGION: &str = "us-east-1";

/// A principal of the directory, with the policies and tags it is given.
pub struct Who {
    pub principal: Principal,
    pub policies: Vec<String>,
    pub tags: Vec<(String, String)>,
}

/// An IAM user of `account` with identity `policies` (each a list of statements, as JSON).
pub fn user(account: &str, name: &str, statements: &[&str]) -> Who {
    let principal = Principal::User { account: account.into(), name: name.into(), unique_id: format!("AIDA{}", name.to_uppercase()) };
    Who { principal, policies: statements.iter().map(|s| identity_policy(s)).collect(), tags: Vec::new() }
}

/// A session `ci` of role `role` in `account`, the role having `statements`.
pub fn session(account: &str, role: &str, statements: &[&str]) -> Who {
    let principal = Principal::AssumedRole {
        account: account.into(),
        role: role.into(),
        role_id: format!("AROA{}", role.to_uppercase()),
        session: "ci".into(),
        created: "2024-01-01T00:00:00Z".into(),
        attributes: Default::default(),
    };
    Who { principal, policies: statements.iter().map(|s| identity_policy(s)).collect(), tags: Vec::new() }
}

/// `{"Version":"2012-10-17","Statement":[<statements>]}`.
pub fn identity_policy(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

/// A key policy from its statements.
pub fn key_policy(statements: &str) -> String {
    identity_policy(statements)
}

/// The statement of AWS's default key policy: the account delegates to IAM.
pub fn delegate_to(account: &str) -> String {
    format!(
        r#"{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"kms:*","Resource":"*"}}"#
    )
}

/// `Allow kms:*` on everything.
pub const ALLOW_ALL: &str = r#"{"Effect":"Allow","Action":"kms:*","Resource":"*"}"#;

/// A service with its directory; callers are made per principal.
pub struct World {
    pub kms: Kms,
    pub clock: Clock,
    callers: Vec<Caller>,
}

/// What a failed call answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: &'static str,
    pub message: String,
}

impl World {
    /// A service knowing `who` (plus every account's root, which needs no entry).
    pub fn new(who: Vec<Who>) -> World {
        let mut directory = CredentialDirectory::new(OWNER, true);
        let mut callers = Vec::new();
        for w in who {
            let arn = w.principal.policy_arn();
            let docs = w.policies.iter().map(|p| PolicyDocument::parse(p, PolicyKind::IdentityPolicy).expect("identity policy")).collect();
            directory.set_policies(arn.clone(), docs);
            directory.set_tags(arn, w.tags);
            callers.push(Caller::new(w.principal, "AKIDTEST".into(), REGION.into()));
        }
        let clock = Clock::new();
        let kms = Kms::new(KeyStore::new(), clock.clone(), Arc::new(PolicyAuthorizer::new(Arc::new(directory), clock.clone())));
        World { kms, clock, callers }
    }

    /// The caller for the principal named `name` (user or role name), or `root` / `root:<account>`.
    pub fn caller(&self, name: &str) -> Caller {
        if name == "root" {
            return Caller::new(Principal::root(OWNER), "AKIDROOT".into(), REGION.into());
        }
        if let Some(account) = name.strip_prefix("root:") {
            return Caller::new(Principal::root(account), "AKIDROOT".into(), REGION.into());
        }
        self.callers
            .iter()
            .find(|c| match &c.principal {
                Principal::User { name: n, .. } => n == name,
                Principal::AssumedRole { role, .. } => role == name,
                Principal::Root { .. } => false,
            })
            .cloned()
            .unwrap_or_else(|| panic!("no principal {name}"))
    }

    /// Calls `op` as `who` with `body`.
    pub fn call_as(&self, caller: &Caller, op: &str, body: Value) -> Result<Value, Failure> {
        let op = Operation::from_name(op).unwrap_or_else(|| panic!("no operation {op}"));
        let outcome = self.kms.call(caller, op, body.to_string().as_bytes());
        outcome.result.map_err(|e| Failure { code: e.code().as_str(), message: e.message().to_string() })
    }

    /// Calls `op` as the principal named `who`.
    pub fn call(&self, who: &str, op: &str, body: Value) -> Result<Value, Failure> {
        self.call_as(&self.caller(who), op, body)
    }

    /// Creates a key in `OWNER` as its root, with `policy` (the default policy if `None`);
    /// returns its ARN.
    pub fn key(&self, policy: Option<&str>) -> String {
        let mut body = json!({ "BypassPolicyLockoutSafetyCheck": true });
        if let Some(p) = policy {
            body["Policy"] = json!(p);
        }
        let out = self.call("root", "CreateKey", body).expect("root creates the key");
        out["KeyMetadata"]["Arn"].as_str().expect("key ARN").to_string()
    }

    /// The caller `name` calling from `origin`.
    pub fn caller_from(&self, name: &str, origin: RequestOrigin) -> Caller {
        self.caller(name).from_origin(origin)
    }
}

/// Asserts an `AccessDeniedException` whose message contains `reason` (one of the AWS forms
/// below).
#[track_caller]
pub fn assert_denied(result: Result<Value, Failure>, reason: &str) {
    match result {
        Err(f) => {
            assert_eq!(f.code, "AccessDeniedException", "{f:?}");
            assert!(f.message.contains(reason), "{}\nshould say: {reason}", f.message);
        }
        Ok(v) => panic!("allowed, expected AccessDeniedException ({reason}): {v}"),
    }
}

/// Asserts a call succeeded.
#[track_caller]
pub fn assert_allowed(result: Result<Value, Failure>) -> Value {
    match result {
        Ok(v) => v,
        Err(f) => panic!("refused: {f:?}"),
    }
}

/// The three AWS denial tails.
pub const NO_IDENTITY: &str = "because no identity-based policy allows the";
pub const NO_RESOURCE: &str = "because no resource-based policy allows the";
pub const IDENTITY_DENY: &str = "with an explicit deny in an identity-based policy";
pub const RESOURCE_DENY: &str = "with an explicit deny in a resource-based policy";
