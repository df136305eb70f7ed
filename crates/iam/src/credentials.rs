//! The access-key directory: which principal an access key id stands for.
//!
//! Configured keys are a plain map fixed at start-up (the lookup every signed call makes). Role
//! sessions issued at run time by STS `AssumeRole` live beside it behind a lock, consulted only
//! for `ASIA…` keys the map does not hold, and only once a session has been issued.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use zeroize::Zeroizing;

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
    /// The key belongs to an issued role session whose expiration (on the mock clock) has passed.
    Expired,
}

impl CredentialError {
    /// AWS's error code for it.
    pub fn code(&self) -> &'static str {
        match self {
            CredentialError::Expired => "ExpiredTokenException",
            _ => "UnrecognizedClientException",
        }
    }

    /// AWS's message: the same for an unknown key, a missing token and a wrong one (services
    /// answer "The security token included in the request is invalid." to all three).
    pub fn message(&self) -> &'static str {
        match self {
            CredentialError::Expired => "The security token included in the request is expired",
            _ => "The security token included in the request is invalid.",
        }
    }
}

/// Temporary credentials STS issued (`AssumeRole`): the role session they sign as, their secret,
/// the SHA-256 of their session token (the token itself is not kept), and when they expire.
pub struct IssuedSession {
    /// The `ASIA…` access key id.
    pub access_key_id: String,
    /// The role session the credentials act as.
    pub principal: Principal,
    secret: Zeroizing<String>,
    /// SHA-256 of the session token, checked against `X-Amz-Security-Token`.
    pub token_sha256: [u8; 32],
    /// Expiration, Unix seconds of the mock clock.
    pub expires: i64,
}

impl IssuedSession {
    /// A session whose credentials are `access_key_id` / `secret`, with the token's digest.
    pub fn new(access_key_id: String, principal: Principal, secret: String, token_sha256: [u8; 32], expires: i64) -> Self {
        IssuedSession { access_key_id, principal, secret: Zeroizing::new(secret), token_sha256, expires }
    }

    /// The secret access key (for signature checks and for wrapping it in the data dir).
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Whether `token` is this session's token (constant time over the digests).
    pub fn token_matches(&self, token: &str) -> bool {
        constant_time_eq(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref(), &self.token_sha256)
    }
}

impl std::fmt::Debug for IssuedSession {
    /// Never the secret nor the token digest.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedSession")
            .field("access_key_id", &self.access_key_id)
            .field("principal", &self.principal)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// Where issued sessions read the time: the mock clock, as Unix seconds.
pub type SessionClock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Maps access key ids to principals, following the contract: configured keys map to their
/// principal; an unknown 12-digit key is the root of that account; any other unknown key is the
/// root of the default account, unless strict mode refuses it.
#[derive(Default)]
pub struct CredentialDirectory {
    keys: HashMap<String, AccessKey>,
    /// Sessions issued at run time, by access key id.
    sessions: RwLock<HashMap<String, Arc<IssuedSession>>>,
    /// Set once a session exists: until then an unknown key never takes the lock.
    any_session: AtomicBool,
    /// The mock clock, for session expiry; without one, issued sessions never expire.
    clock: Option<SessionClock>,
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
            sessions: RwLock::default(),
            any_session: AtomicBool::new(false),
            clock: None,
            policies: HashMap::new(),
            tags: HashMap::new(),
            account_aliases: HashMap::new(),
            default_account: default_account.into(),
            strict,
        }
    }

    /// Sets the clock issued sessions expire by (the server's mock clock).
    pub fn set_session_clock(&mut self, clock: SessionClock) {
        self.clock = Some(clock);
    }

    /// Registers credentials STS issued; from now on they sign as `session.principal`.
    pub fn insert_session(&self, session: Arc<IssuedSession>) {
        let mut sessions = self.sessions.write();
        // Sessions a day past their expiry are dropped as new ones come, so a long run of
        // AssumeRole calls does not grow memory without end (a recent one still answers
        // ExpiredToken, a forgotten one is unrecognized, as AWS eventually treats it too).
        if sessions.len() >= 1024 && sessions.len().is_power_of_two() {
            let horizon = self.now() - 86_400;
            sessions.retain(|_, s| s.expires > horizon);
        }
        sessions.insert(session.access_key_id.clone(), session);
        self.any_session.store(true, Ordering::Release);
    }

    /// The issued session of `access_key_id`, expired or not.
    pub fn issued(&self, access_key_id: &str) -> Option<Arc<IssuedSession>> {
        if !self.any_session.load(Ordering::Acquire) || !access_key_id.starts_with("ASIA") {
            return None;
        }
        self.sessions.read().get(access_key_id).cloned()
    }

    /// Every issued session (for tests and diagnostics), in no particular order.
    pub fn issued_sessions(&self) -> Vec<Arc<IssuedSession>> {
        self.sessions.read().values().cloned().collect()
    }

    /// Forgets every issued session (reset).
    pub fn clear_sessions(&self) {
        self.sessions.write().clear();
    }

    fn now(&self) -> i64 {
        self.clock.as_ref().map_or(i64::MIN, |c| c())
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
        let Some(key) = self.keys.get(access_key_id) else {
            // Credentials STS issued sign only together with their session token.
            return match self.issued(access_key_id) {
                Some(session) if !presented.is_some_and(|t| session.token_matches(t)) => Err(CredentialError::InvalidSessionToken),
                _ => Ok(()),
            };
        };
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
        if let Some(session) = self.issued(access_key_id) {
            if session.expires <= self.now() {
                return Err(CredentialError::Expired);
            }
            return Ok(session.principal.clone());
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

    #[test]
    fn issued_sessions_sign_until_they_expire() {
        let now = Arc::new(std::sync::atomic::AtomicI64::new(1_000));
        let clock = now.clone();
        let mut dir = CredentialDirectory::new("111122223333", true);
        dir.set_session_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
        let principal = Principal::root("444455556666");
        let digest: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, b"token").as_ref().try_into().unwrap();
        dir.insert_session(Arc::new(IssuedSession::new("ASIAEXAMPLE".into(), principal.clone(), "hunter2-secret".into(), digest, 1_900)));
        assert_eq!(dir.principal_for("ASIAEXAMPLE"), Ok(principal));
        let issued = dir.issued("ASIAEXAMPLE").unwrap();
        assert!(issued.token_matches("token") && !issued.token_matches("tokem"));
        assert_eq!(dir.check_session_token("ASIAEXAMPLE", Some("token")), Ok(()));
        for wrong in [None, Some("tokem"), Some("")] {
            assert_eq!(dir.check_session_token("ASIAEXAMPLE", wrong), Err(CredentialError::InvalidSessionToken), "{wrong:?}");
        }
        assert!(!format!("{issued:?}").contains("hunter2"), "Debug shows no secret");
        now.store(1_900, Ordering::SeqCst);
        assert_eq!(dir.principal_for("ASIAEXAMPLE"), Err(CredentialError::Expired));
        assert_eq!(dir.principal_for("ASIAOTHER"), Err(CredentialError::Unrecognized));
        dir.clear_sessions();
        assert_eq!(dir.principal_for("ASIAEXAMPLE"), Err(CredentialError::Unrecognized));
    }
}
