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

/// A configured access key: its principal, its secret (for signature checks) and what it needs
/// as `X-Amz-Security-Token`.
#[derive(Clone)]
pub struct AccessKey {
    /// The principal the key signs as.
    pub principal: Principal,
    /// The secret access key.
    pub secret: String,
    /// Whether requests signed with the key carry a session token, and which.
    pub token: SessionToken,
}

/// Secrets are never printed: only the principal, and whether there is a token.
impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let token = match &self.token {
            SessionToken::LongTerm => "none (long-term key)",
            SessionToken::Session(Some(_)) => "***",
            SessionToken::Session(None) => "not configured",
        };
        f.debug_struct("AccessKey").field("principal", &self.principal).field("secret", &"***").field("token", &token).finish()
    }
}

/// What `X-Amz-Security-Token` a request signed with an access key must carry (checked with
/// `--verify-signatures`, as AWS checks it: [`CredentialDirectory::check_session_token`]).
#[derive(Clone, PartialEq, Eq)]
pub enum SessionToken {
    /// A long-term key (an IAM user's, `AKIA…`): AWS refuses a token with it.
    LongTerm,
    /// Temporary credentials (a role session, `ASIA…`): AWS refuses them without their token.
    /// `None`: the config gave no `session_token`, so no request can present the right one and
    /// every request signed with the key is refused once signatures are verified (without
    /// `--verify-signatures` nothing about a request is checked, the token neither).
    Session(Option<String>),
}

/// Why an access key was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialError {
    /// `--strict-credentials` and the key is not configured.
    Unrecognized,
    /// The request's `X-Amz-Security-Token` is missing, not the key's, or given for a key that
    /// takes none.
    InvalidSessionToken,
}

impl CredentialError {
    /// AWS's error code for it.
    pub fn code(&self) -> &'static str {
        "UnrecognizedClientException"
    }

    /// AWS's message: the same for an unknown key, a missing token and a wrong one (services
    /// answer "The security token included in the request is invalid." to all three).
    pub fn message(&self) -> &'static str {
        "The security token included in the request is invalid."
    }
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

    /// Checks the request's `X-Amz-Security-Token` (`presented`) against what the access key
    /// needs. A key keytrail does not know takes any (nothing is known to check it against).
    ///
    /// This is a lookup in the directory, so credentials issued later (an STS that hands out
    /// temporary keys) are checked the same way once inserted with [`SessionToken::Session`].
    pub fn check_session_token(&self, access_key_id: &str, presented: Option<&str>) -> Result<(), CredentialError> {
        let Some(key) = self.keys.get(access_key_id) else { return Ok(()) };
        let fits = match (&key.token, presented) {
            (SessionToken::LongTerm, None) => true,
            (SessionToken::Session(Some(token)), Some(given)) => constant_time_eq(token.as_bytes(), given.as_bytes()),
            _ => false,
        };
        if fits {
            Ok(())
        } else {
            Err(CredentialError::InvalidSessionToken)
        }
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

/// Compares without stopping at the first difference, so timing says nothing about a secret
/// (a session token, a signature, the control token).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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

    #[test]
    fn session_tokens_are_checked_as_aws_does() {
        let mut dir = CredentialDirectory::new("111122223333", true);
        let key = |token| AccessKey { principal: Principal::root("111122223333"), secret: "s3cr3t".into(), token };
        dir.insert("AKIALONG", key(SessionToken::LongTerm));
        dir.insert("ASIATOKEN", key(SessionToken::Session(Some("the-token".into()))));
        dir.insert("ASIANONE", key(SessionToken::Session(None)));
        assert_eq!(dir.check_session_token("AKIALONG", None), Ok(()));
        assert_eq!(dir.check_session_token("AKIALONG", Some("x")), Err(CredentialError::InvalidSessionToken));
        assert_eq!(dir.check_session_token("ASIATOKEN", Some("the-token")), Ok(()));
        for wrong in [None, Some("the-toke"), Some("the-token2"), Some("")] {
            assert_eq!(dir.check_session_token("ASIATOKEN", wrong), Err(CredentialError::InvalidSessionToken), "{wrong:?}");
        }
        assert_eq!(dir.check_session_token("ASIANONE", None), Err(CredentialError::InvalidSessionToken));
        assert_eq!(dir.check_session_token("ASIANONE", Some("")), Err(CredentialError::InvalidSessionToken));
        let printed = format!("{:?}", dir.configured("ASIATOKEN").unwrap());
        assert!(!printed.contains("s3cr3t") && !printed.contains("the-token"), "{printed}");
    }
}
