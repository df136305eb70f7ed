//! The access-key directory: which principal an access key id stands for.

use std::collections::HashMap;

use crate::policy::PolicyDocument;
use crate::principal::Principal;

/// A request's caller: the principal, the access key it used, the region it signed for, and
/// where the request came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Who is calling.
    pub principal: Principal,
    /// The access key id from the signature.
    pub access_key_id: String,
    /// The region from the credential scope; keys and events are scoped by it.
    pub region: String,
    /// Where the request came from (`aws:SourceIp`, `aws:SecureTransport`).
    pub origin: RequestOrigin,
}

impl Caller {
    /// A caller whose origin is not known yet (the server sets it with [`Caller::from_origin`]).
    pub fn new(principal: Principal, access_key_id: String, region: String) -> Self {
        Caller { principal, access_key_id, region, origin: RequestOrigin::default() }
    }

    /// The same caller, calling from `origin`.
    pub fn from_origin(self, origin: RequestOrigin) -> Self {
        Caller { origin, ..self }
    }

    /// The caller's account.
    pub fn account(&self) -> &str {
        self.principal.account()
    }
}

/// Where a request came from, as far as policies can ask (`aws:SourceIp`, `aws:SecureTransport`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestOrigin {
    /// The peer's IP address; `None` when unknown (in-process callers), and then
    /// `aws:SourceIp` is absent from the request context.
    pub source_ip: Option<std::net::IpAddr>,
    /// Whether the request came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
    /// The `User-Agent` header, if sent (`aws:UserAgent`).
    pub user_agent: Option<String>,
}

/// A configured access key: its principal and its secret (for signature checks).
#[derive(Clone, Debug)]
pub struct AccessKey {
    /// The principal the key signs as.
    pub principal: Principal,
    /// The secret access key.
    pub secret: String,
}

/// Why an access key was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialError {
    /// `--strict-credentials` and the key is not configured.
    Unrecognized,
}

/// Maps access key ids to principals, following the contract: configured keys map to their
/// principal; an unknown 12-digit key is the root of that account; any other unknown key is the
/// root of the default account, unless strict mode refuses it.
#[derive(Clone, Debug, Default)]
pub struct CredentialDirectory {
    keys: HashMap<String, AccessKey>,
    /// Identity policies by `Principal::policy_arn` (user ARN, role ARN).
    policies: HashMap<String, Vec<PolicyDocument>>,
    /// IAM tags by `Principal::policy_arn` (`aws:PrincipalTag/<key>`).
    tags: HashMap<String, Vec<(String, String)>>,
    /// Account aliases, shown as the root's `userName`.
    account_aliases: HashMap<String, String>,
    default_account: String,
    strict: bool,
}

impl CredentialDirectory {
    /// An empty directory whose unknown keys fall back to `default_account` (or are refused when `strict`).
    pub fn new(default_account: impl Into<String>, strict: bool) -> Self {
        CredentialDirectory {
            keys: HashMap::new(),
            policies: HashMap::new(),
            tags: HashMap::new(),
            account_aliases: HashMap::new(),
            default_account: default_account.into(),
            strict,
        }
    }

    /// Attaches identity policies to the user or role with ARN `policy_arn`.
    pub fn set_policies(&mut self, policy_arn: impl Into<String>, policies: Vec<PolicyDocument>) {
        self.policies.insert(policy_arn.into(), policies);
    }

    /// The identity policies that apply to `principal` (none for roots, which IAM never restricts).
    pub fn policies_of(&self, principal: &Principal) -> &[PolicyDocument] {
        self.policies.get(&principal.policy_arn()).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Tags the user or role with ARN `policy_arn` (IAM tags: `aws:PrincipalTag/<key>`).
    pub fn set_tags(&mut self, policy_arn: impl Into<String>, tags: Vec<(String, String)>) {
        self.tags.insert(policy_arn.into(), tags);
    }

    /// The IAM tags of `principal` (a session carries its role's tags; roots have none).
    pub fn tags_of(&self, principal: &Principal) -> &[(String, String)] {
        if principal.is_root() {
            return &[];
        }
        self.tags.get(&principal.policy_arn()).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Names an account (its root's `userName` in records).
    pub fn set_account_alias(&mut self, account: impl Into<String>, alias: impl Into<String>) {
        self.account_aliases.insert(account.into(), alias.into());
    }

    fn root(&self, account: &str) -> Principal {
        Principal::Root { account: account.to_string(), alias: self.account_aliases.get(account).cloned() }
    }

    /// Registers a configured access key.
    pub fn insert(&mut self, access_key_id: impl Into<String>, key: AccessKey) {
        self.keys.insert(access_key_id.into(), key);
    }

    /// The configured key, if any (its secret is needed to verify signatures).
    pub fn configured(&self, access_key_id: &str) -> Option<&AccessKey> {
        self.keys.get(access_key_id)
    }

    /// The account used when a caller names none.
    pub fn default_account(&self) -> &str {
        &self.default_account
    }

    /// Resolves an access key id to the principal it acts as.
    pub fn principal_for(&self, access_key_id: &str) -> Result<Principal, CredentialError> {
        if let Some(key) = self.keys.get(access_key_id) {
            return Ok(key.principal.clone());
        }
        if self.strict {
            return Err(CredentialError::Unrecognized);
        }
        if access_key_id.len() == 12 && access_key_id.bytes().all(|b| b.is_ascii_digit()) {
            Ok(self.root(access_key_id))
        } else {
            Ok(self.root(&self.default_account))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_map_as_the_contract_says() {
        let dir = CredentialDirectory::new("111122223333", false);
        assert_eq!(dir.principal_for("444455556666").unwrap(), Principal::root("444455556666"));
        assert_eq!(dir.principal_for("AKIAANYTHING").unwrap(), Principal::root("111122223333"));
        assert_eq!(dir.principal_for("12345").unwrap(), Principal::root("111122223333"));
        let strict = CredentialDirectory::new("111122223333", true);
        assert_eq!(strict.principal_for("444455556666"), Err(CredentialError::Unrecognized));
    }
}
