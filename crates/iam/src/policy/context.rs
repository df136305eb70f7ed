//! The request context: what a policy is evaluated against.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;

use time::OffsetDateTime;

use crate::credentials::Caller;
use crate::principal::Principal;

/// The value of one condition key in a request.
///
/// Booleans and numbers are given as strings (`"true"`, `"42"`), as AWS does in its request
/// context; the condition operators parse them as needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConditionValue {
    /// A single-valued key such as `kms:CallerAccount`.
    Single(String),
    /// A multivalued key such as `kms:EncryptionContextKeys` or `kms:GrantOperations`.
    Multi(Vec<String>),
    /// A single-valued key that several request values could stand for, because condition key
    /// names are case-insensitive while the names they are built from are not: an encryption
    /// context `{"Stage": "Prod", "stage": "Test"}` gives `kms:EncryptionContext:stage` the
    /// candidates `Prod` and `Test` (likewise tags, `aws:RequestTag/<k>`).
    ///
    /// The rule (keytrail's, to keep a decoy pair from bypassing a policy): each candidate is
    /// tried as the key's one value; a Deny statement's condition holds when it holds for *any*
    /// candidate, an Allow statement's only when it holds for *every* one. So the ambiguity is
    /// always resolved against the caller. AWS documents the key names as case-insensitive and
    /// warns against such contexts ("kms:EncryptionContext:context-key", KMS Developer Guide),
    /// but does not say which pair it reads.
    Candidates(Vec<String>),
}

impl ConditionValue {
    /// The values as a slice, whichever the form.
    pub fn values(&self) -> &[String] {
        match self {
            ConditionValue::Single(value) => std::slice::from_ref(value),
            ConditionValue::Multi(values) | ConditionValue::Candidates(values) => values,
        }
    }
}

/// Groups `(name, value)` pairs by lower-cased name, in the form a family of keys holds them:
/// sorted by name, one [`ConditionValue::Single`] per name, or [`ConditionValue::Candidates`]
/// where names differ only in case.
pub fn fold_names<'n>(pairs: impl IntoIterator<Item = (&'n str, &'n str)>) -> Vec<(String, ConditionValue)> {
    let mut lowered: Vec<(String, &str)> = pairs.into_iter().map(|(name, value)| (name.to_lowercase(), value)).collect();
    lowered.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<(String, ConditionValue)> = Vec::with_capacity(lowered.len());
    for (name, value) in lowered {
        match out.last_mut() {
            Some((last, folded)) if *last == name => {
                let mut values = std::mem::replace(folded, ConditionValue::Multi(Vec::new())).values().to_vec();
                values.push(value.to_owned());
                *folded = ConditionValue::Candidates(values);
            }
            _ => out.push((name, ConditionValue::Single(value.to_owned()))),
        }
    }
    out
}

/// One request as policies see it: who, which action, on which resource, and the condition keys.
///
/// [`RequestContext::new`] adds the global keys that follow from the principal
/// (`aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:userid`,
/// `aws:username` for IAM users, `aws:PrincipalIsAWSService`); [`RequestContext::for_caller`]
/// adds those that follow from the request (`aws:SourceIp`, `aws:CurrentTime`, …). The service
/// adds its own keys with [`RequestContext::with_value`] and [`RequestContext::with_values`],
/// keys that cost work to compute with [`RequestContext::with_deferred`], and whole families of
/// keys named by a prefix (`kms:EncryptionContext:<k>`, `aws:ResourceTag/<k>`) with
/// [`RequestContext::with_family`], computed only if a condition reads one of them. Key names
/// are case-insensitive (stored lower-cased, including the `<k>` part); values are kept as given.
///
/// The keys are a short list searched in order, not a hash map: a context holds a dozen or two
/// keys, is built for every authorized call whose policies have a condition, and most policies
/// read few of them (hashing and the map's allocation were measurable per call; a scan of a
/// dozen short strings is not). Past [`INDEXED_FROM`] keys a hash index is kept too, so building
/// a context stays linear.
pub struct RequestContext<'a> {
    principal: &'a Principal,
    action: &'a str,
    action_lower: String,
    resource: &'a str,
    values: Vec<(Cow<'static, str>, ConditionValue)>,
    index: Option<HashMap<Cow<'static, str>, usize>>,
    deferred: Vec<Deferred<'a>>,
    families: Vec<Family<'a>>,
}

/// Keys from which lookups go through a hash index instead of a scan.
const INDEXED_FROM: usize = 32;

/// A key computed only when a condition reads it (`kms:ResourceAliases` scans the aliases).
struct Deferred<'a> {
    key_lower: Cow<'static, str>,
    compute: Box<dyn Fn() -> ConditionValue + 'a>,
    value: OnceCell<ConditionValue>,
}

/// Every key `<prefix><name>`, computed together the first time a condition reads one of them.
struct Family<'a> {
    prefix_lower: &'static str,
    compute: Box<dyn Fn() -> Vec<(String, ConditionValue)> + 'a>,
    /// Sorted by lower-cased name (as [`fold_names`] gives them).
    members: OnceCell<Vec<(String, ConditionValue)>>,
}

impl std::fmt::Debug for RequestContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("principal", &self.principal)
            .field("action", &self.action)
            .field("resource", &self.resource)
            .field("values", &self.values)
            .field("deferred", &self.deferred.iter().map(|d| &*d.key_lower).collect::<Vec<_>>())
            .field("families", &self.families.iter().map(|f| f.prefix_lower).collect::<Vec<_>>())
            .finish()
    }
}

/// `aws:CurrentTime`'s form: ISO 8601 in UTC, to the second.
const CURRENT_TIME: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

impl<'a> RequestContext<'a> {
    /// A context for `principal` calling `action` (e.g. `kms:Decrypt`) on `resource` (the key ARN).
    pub fn new(principal: &'a Principal, action: &'a str, resource: &'a str) -> Self {
        let mut context = Self::without_keys(principal, action, resource);
        context.values.reserve(24);
        let principal_type = match principal {
            Principal::Root { .. } => "Account",
            Principal::User { .. } => "User",
            Principal::AssumedRole { .. } => "AssumedRole",
        };
        context.put("aws:principalarn", principal.policy_arn());
        context.put("aws:principalaccount", principal.account().to_owned());
        context.put("aws:principaltype", principal_type.to_owned());
        context.put("aws:userid", principal.principal_id());
        context.put("aws:principalisawsservice", "false".to_owned());
        match principal {
            Principal::User { name, .. } => context.put("aws:username", name.clone()),
            Principal::AssumedRole { attributes, .. } => {
                // A session's keys (IAM User Guide, "AWS global condition context keys"):
                // aws:MultiFactorAuthPresent is present for temporary credentials only, true when
                // AssumeRole was called with MFA; aws:SourceIdentity persists along a role chain.
                let mfa = if attributes.mfa_authenticated { "true" } else { "false" };
                context.put("aws:multifactorauthpresent", mfa.to_owned());
                if let Some(source) = &attributes.source_identity {
                    context.put("aws:sourceidentity", source.clone());
                }
                if !attributes.tags.is_empty() {
                    context.families.push(Family {
                        prefix_lower: "aws:principaltag/",
                        compute: Box::new(move || fold_names(attributes.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
                        members: OnceCell::new(),
                    });
                }
            }
            Principal::Root { .. } => {}
        }
        context
    }

    /// A context for `caller` calling `action` on `resource` at `now`, with every global key
    /// AWS supplies for such a request (IAM User Guide, "AWS global condition context keys",
    /// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html):
    ///
    /// - the principal's keys ([`RequestContext::new`]) and `aws:PrincipalTag/<k>` from
    ///   `principal_tags` (a session has its role's tags);
    /// - `aws:SourceIp` (when the peer is known), `aws:SecureTransport`, `aws:RequestedRegion`
    ///   (the credential scope's region), `aws:UserAgent` (when sent), `aws:CurrentTime` and
    ///   `aws:EpochTime` (the mock clock; computed only if read);
    /// - `aws:ViaAWSService` is `false`: every keytrail caller signs its own requests;
    /// - for role sessions, `aws:TokenIssueTime` (the session's creation) and
    ///   `aws:MultiFactorAuthPresent` `false` (the session records say `mfaAuthenticated:
    ///   false`); for long-term keys (users, roots) `aws:MultiFactorAuthPresent` is absent, as AWS
    ///   leaves it out of requests signed with long-term credentials.
    ///
    /// `aws:CalledVia*`, `aws:SourceVpc*`, `aws:PrincipalOrg*`, `aws:SourceArn` and other keys
    /// that need an AWS service, a VPC or an organization are absent (README lists them).
    pub fn for_caller(
        caller: &'a Caller,
        action: &'a str,
        resource: &'a str,
        now: OffsetDateTime,
        principal_tags: &'a [(String, String)],
    ) -> Self {
        let principal = &caller.principal;
        let mut context = Self::new(principal, action, resource);
        if let Some(ip) = caller.origin.source_ip {
            context.put("aws:sourceip", ip.to_string());
        }
        context.put("aws:securetransport", caller.origin.secure_transport.to_string());
        context.put("aws:requestedregion", caller.region.clone());
        context.put("aws:viaawsservice", "false".to_owned());
        if let Some(agent) = &caller.origin.user_agent {
            context.put("aws:useragent", agent.clone());
        }
        if let Principal::AssumedRole { created, .. } = principal {
            context.put("aws:tokenissuetime", created.clone());
        }
        context.defer("aws:currenttime", move || ConditionValue::Single(now.format(CURRENT_TIME).unwrap_or_default()));
        context.defer("aws:epochtime", move || ConditionValue::Single(now.unix_timestamp().to_string()));
        // The role's (or user's) IAM tags; a session tag overrides a role tag of the same key
        // (IAM User Guide, "Passing session tags in AWS STS": "session tags override role tags").
        let session_tags: &'a [(String, String)] = match principal {
            Principal::AssumedRole { attributes, .. } => &attributes.tags,
            _ => &[],
        };
        if !principal_tags.is_empty() {
            context.families.retain(|f| f.prefix_lower != "aws:principaltag/");
            context.families.push(Family {
                prefix_lower: "aws:principaltag/",
                compute: Box::new(move || {
                    let overridden = |k: &str| session_tags.iter().any(|(s, _)| s.eq_ignore_ascii_case(k));
                    let role = principal_tags.iter().filter(|(k, _)| !overridden(k));
                    fold_names(role.chain(session_tags).map(|(k, v)| (k.as_str(), v.as_str())))
                }),
                members: OnceCell::new(),
            });
        }
        context
    }

    /// A context with no condition keys at all, not even the global ones: for policies that
    /// read none ([`crate::policy::PolicyDocument::reads_context`]). Evaluating a policy that
    /// does read keys against it would see every key as absent.
    pub fn without_keys(principal: &'a Principal, action: &'a str, resource: &'a str) -> Self {
        RequestContext {
            principal,
            action,
            action_lower: action.to_lowercase(),
            resource,
            values: Vec::new(),
            index: None,
            deferred: Vec::new(),
            families: Vec::new(),
        }
    }

    /// Adds (or replaces) a single-valued key.
    pub fn with_value(mut self, key: &str, value: impl Into<String>) -> Self {
        self.insert(key, ConditionValue::Single(value.into()));
        self
    }

    /// Adds (or replaces) a multivalued key.
    pub fn with_values<I>(mut self, key: &str, values: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let values = values.into_iter().map(Into::into).collect();
        self.insert(key, ConditionValue::Multi(values));
        self
    }

    /// Adds a key whose value `compute` gives the first time a condition or a policy variable
    /// reads it, and never if none does.
    pub fn with_deferred(mut self, key: &str, compute: impl Fn() -> ConditionValue + 'a) -> Self {
        let key_lower = Cow::Owned(key.to_lowercase());
        if let Some(i) = self.position(&key_lower) {
            self.values.remove(i);
            self.index = None;
            self.reindex();
        }
        self.deferred.retain(|d| d.key_lower != key_lower);
        self.deferred.push(Deferred { key_lower, compute: Box::new(compute), value: OnceCell::new() });
        self
    }

    /// Adds the family of keys `<prefix><name>` (`prefix` lower-case, e.g. `kms:encryptioncontext:`),
    /// computed the first time a condition reads any key with that prefix, and never if none
    /// does. Names that differ only in case become [`ConditionValue::Candidates`] of one key. A
    /// key added by name wins over a family member.
    ///
    /// `compute` gives the members already folded, as [`fold_names`] does from borrowed pairs
    /// (no copy of a large encryption context is made first).
    pub fn with_family(mut self, prefix_lower: &'static str, compute: impl Fn() -> Vec<(String, ConditionValue)> + 'a) -> Self {
        debug_assert_eq!(prefix_lower, prefix_lower.to_lowercase());
        self.families.retain(|f| f.prefix_lower != prefix_lower);
        self.families.push(Family { prefix_lower, compute: Box::new(compute), members: OnceCell::new() });
        self
    }

    /// Adds (or replaces) a key in place, for callers that build the context in a loop.
    pub fn insert(&mut self, key: &str, value: ConditionValue) {
        self.insert_lower(Cow::Owned(key.to_lowercase()), value);
    }

    /// Adds (or replaces) a key whose name is already lower-case and static: no allocation for
    /// the name (the keys every context carries).
    pub fn insert_static(&mut self, key_lower: &'static str, value: ConditionValue) {
        debug_assert_eq!(key_lower, key_lower.to_lowercase());
        self.insert_lower(Cow::Borrowed(key_lower), value);
    }

    fn insert_lower(&mut self, key_lower: Cow<'static, str>, value: ConditionValue) {
        self.deferred.retain(|d| d.key_lower != key_lower);
        match self.position(&key_lower) {
            Some(i) => self.values[i].1 = value,
            None => {
                if let Some(index) = &mut self.index {
                    index.insert(key_lower.clone(), self.values.len());
                }
                self.values.push((key_lower, value));
                self.reindex();
            }
        }
    }

    fn put(&mut self, key_lower: &'static str, value: String) {
        self.insert_static(key_lower, ConditionValue::Single(value));
    }

    fn defer(&mut self, key_lower: &'static str, compute: impl Fn() -> ConditionValue + 'a) {
        self.deferred.push(Deferred { key_lower: Cow::Borrowed(key_lower), compute: Box::new(compute), value: OnceCell::new() });
    }

    /// Where `key_lower` is in `values`.
    fn position(&self, key_lower: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key_lower).copied(),
            None => self.values.iter().position(|(k, _)| k == key_lower),
        }
    }

    /// Builds the hash index once the list is long enough to need it.
    fn reindex(&mut self) {
        if self.index.is_none() && self.values.len() >= INDEXED_FROM {
            self.index = Some(self.values.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect());
        }
    }

    /// The calling principal.
    pub fn principal(&self) -> &'a Principal {
        self.principal
    }

    /// The action as given, e.g. `kms:Decrypt`.
    pub fn action(&self) -> &'a str {
        self.action
    }

    /// The resource ARN the action is performed on.
    pub fn resource(&self) -> &'a str {
        self.resource
    }

    /// The value of a condition key, looked up case-insensitively.
    pub fn get(&self, key: &str) -> Option<&ConditionValue> {
        self.lookup(&key.to_lowercase())
    }

    /// The action lower-cased, for case-insensitive action matching.
    pub(crate) fn action_lower(&self) -> &str {
        &self.action_lower
    }

    /// The value of an already lower-cased key; `None` when the key is absent or an empty set
    /// (AWS treats an empty multivalued key like a missing one).
    pub(crate) fn value_of(&self, key_lower: &str) -> Option<&ConditionValue> {
        self.lookup(key_lower).filter(|value| !value.values().is_empty())
    }

    /// [`RequestContext::value_of`] as a slice of values.
    pub(crate) fn values_of(&self, key_lower: &str) -> Option<&[String]> {
        self.value_of(key_lower).map(ConditionValue::values)
    }

    fn lookup(&self, key_lower: &str) -> Option<&ConditionValue> {
        if let Some(i) = self.position(key_lower) {
            return Some(&self.values[i].1);
        }
        if let Some(deferred) = self.deferred.iter().find(|d| d.key_lower == key_lower) {
            return Some(deferred.value.get_or_init(|| (deferred.compute)()));
        }
        let family = self.families.iter().find(|f| key_lower.starts_with(f.prefix_lower))?;
        let name = &key_lower[family.prefix_lower.len()..];
        let members = family.members.get_or_init(|| (family.compute)());
        let i = members.binary_search_by(|(member, _)| member.as_str().cmp(name)).ok()?;
        Some(&members[i].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::RequestOrigin;

    fn single(context: &RequestContext<'_>, key: &str) -> Option<String> {
        match context.get(key) {
            Some(ConditionValue::Single(value)) => Some(value.clone()),
            _ => None,
        }
    }

    fn session() -> Principal {
        Principal::AssumedRole {
            account: "444455556666".into(),
            role: "app".into(),
            role_id: "AROAEXAMPLE".into(),
            session: "ci".into(),
            created: "2024-01-01T00:00:00Z".into(),
            attributes: Default::default(),
        }
    }

    #[test]
    fn derives_global_keys_for_a_role_session() {
        let principal = session();
        let context = RequestContext::new(&principal, "kms:Decrypt", "arn:aws:kms:us-east-1:1:key/k");
        assert_eq!(single(&context, "aws:PrincipalArn").as_deref(), Some("arn:aws:iam::444455556666:role/app"));
        assert_eq!(single(&context, "AWS:PRINCIPALTYPE").as_deref(), Some("AssumedRole"));
        assert_eq!(single(&context, "aws:userid").as_deref(), Some("AROAEXAMPLE:ci"));
        assert_eq!(single(&context, "aws:PrincipalAccount").as_deref(), Some("444455556666"));
        assert!(context.get("aws:username").is_none());
    }

    #[test]
    fn a_session_carries_its_tags_and_mfa() {
        let attributes = crate::principal::SessionAttributes {
            mfa_authenticated: true,
            tags: vec![("Project".into(), "blue".into())],
            transitive_tag_keys: Vec::new(),
            source_identity: Some("alice".into()),
        };
        let principal = Principal::AssumedRole {
            account: "444455556666".into(),
            role: "app".into(),
            role_id: "AROAEXAMPLE".into(),
            session: "ci".into(),
            created: "2024-01-01T00:00:00Z".into(),
            attributes: std::sync::Arc::new(attributes),
        };
        let context = RequestContext::new(&principal, "kms:Decrypt", "k");
        assert_eq!(single(&context, "aws:PrincipalTag/project").as_deref(), Some("blue"));
        assert_eq!(single(&context, "aws:MultiFactorAuthPresent").as_deref(), Some("true"));
        assert_eq!(single(&context, "aws:SourceIdentity").as_deref(), Some("alice"));
        let user = Principal::User { account: "111122223333".into(), name: "alice".into(), unique_id: "AIDAEXAMPLE".into() };
        assert!(RequestContext::new(&user, "kms:Encrypt", "k").get("aws:MultiFactorAuthPresent").is_none());
    }

    #[test]
    fn derives_username_for_users_only() {
        let user = Principal::User { account: "111122223333".into(), name: "alice".into(), unique_id: "AIDAEXAMPLE".into() };
        let context = RequestContext::new(&user, "kms:Encrypt", "k");
        assert_eq!(single(&context, "aws:username").as_deref(), Some("alice"));
        assert_eq!(single(&context, "aws:PrincipalType").as_deref(), Some("User"));
        let root = Principal::root("111122223333");
        let context = RequestContext::new(&root, "kms:Encrypt", "k");
        assert!(context.get("aws:username").is_none());
        assert_eq!(single(&context, "aws:PrincipalType").as_deref(), Some("Account"));
        assert_eq!(single(&context, "aws:userid").as_deref(), Some("111122223333"));
    }

    #[test]
    fn request_keys_follow_the_caller_and_the_clock() {
        let origin =
            RequestOrigin { source_ip: Some("203.0.113.9".parse().unwrap()), secure_transport: false, user_agent: Some("sdk/1".into()) };
        let caller = Caller::new(session(), "ASIA".into(), "eu-west-1".into()).from_origin(origin);
        let now = time::macros::datetime!(2024-05-01 12:00:00 UTC);
        let tags =
            vec![("Team".to_owned(), "Blue".to_owned()), ("team".to_owned(), "Red".to_owned()), ("Env".to_owned(), "dev".to_owned())];
        let context = RequestContext::for_caller(&caller, "kms:Decrypt", "k", now, &tags);
        assert_eq!(single(&context, "aws:SourceIp").as_deref(), Some("203.0.113.9"));
        assert_eq!(single(&context, "aws:SecureTransport").as_deref(), Some("false"));
        assert_eq!(single(&context, "aws:RequestedRegion").as_deref(), Some("eu-west-1"));
        assert_eq!(single(&context, "aws:CurrentTime").as_deref(), Some("2024-05-01T12:00:00Z"));
        assert_eq!(single(&context, "aws:EpochTime").as_deref(), Some("1714564800"));
        assert_eq!(single(&context, "aws:UserAgent").as_deref(), Some("sdk/1"));
        assert_eq!(single(&context, "aws:TokenIssueTime").as_deref(), Some("2024-01-01T00:00:00Z"));
        assert_eq!(single(&context, "aws:MultiFactorAuthPresent").as_deref(), Some("false"));
        assert_eq!(single(&context, "aws:ViaAWSService").as_deref(), Some("false"));
        assert_eq!(single(&context, "aws:PrincipalTag/ENV").as_deref(), Some("dev"));
        assert_eq!(context.get("aws:PrincipalTag/Team"), Some(&ConditionValue::Candidates(vec!["Blue".into(), "Red".into()])));
        assert!(context.get("aws:PrincipalTag/Missing").is_none());
        for absent in ["aws:SourceVpc", "aws:CalledVia", "aws:PrincipalOrgID", "aws:SourceArn"] {
            assert!(context.get(absent).is_none(), "{absent}");
        }
        let user = Principal::User { account: "1".into(), name: "u".into(), unique_id: "AIDA".into() };
        let caller = Caller::new(user, "AKIA".into(), "us-east-1".into());
        let context = RequestContext::for_caller(&caller, "kms:Decrypt", "k", now, &[]);
        assert!(context.get("aws:MultiFactorAuthPresent").is_none(), "long-term keys carry no MFA key");
        assert!(context.get("aws:TokenIssueTime").is_none());
        assert!(context.get("aws:SourceIp").is_none(), "unknown peer");
    }

    #[test]
    fn keys_are_case_insensitive_and_empty_sets_are_absent() {
        let root = Principal::root("111122223333");
        let context = RequestContext::new(&root, "kms:Encrypt", "k")
            .with_value("kms:EncryptionContext:Dept", "Sales")
            .with_values("kms:EncryptionContextKeys", Vec::<String>::new());
        assert_eq!(context.values_of("kms:encryptioncontext:dept"), Some(&["Sales".to_owned()][..]));
        assert!(context.get("KMS:ENCRYPTIONCONTEXT:DEPT").is_some());
        assert!(context.values_of("kms:encryptioncontextkeys").is_none());
        assert_eq!(context.action_lower(), "kms:encrypt");
        let replaced = RequestContext::new(&root, "kms:Encrypt", "k").with_value("kms:KeySpec", "A").with_value("KMS:KEYSPEC", "B");
        assert_eq!(single(&replaced, "kms:keyspec").as_deref(), Some("B"));
    }

    /// Thousands of keys (a large encryption context) are found, replaced and deferred alike
    /// once the hash index takes over.
    #[test]
    fn many_keys_are_indexed() {
        let root = Principal::root("111122223333");
        let mut context = RequestContext::new(&root, "kms:Encrypt", "k");
        for i in 0..3000 {
            context.insert(&format!("kms:EncryptionContext:K{i}"), ConditionValue::Single(format!("v{i}")));
        }
        context.insert("kms:encryptioncontext:k7", ConditionValue::Single("replaced".into()));
        assert_eq!(single(&context, "kms:EncryptionContext:k2999").as_deref(), Some("v2999"));
        assert_eq!(single(&context, "KMS:ENCRYPTIONCONTEXT:K7").as_deref(), Some("replaced"));
        assert_eq!(single(&context, "aws:PrincipalAccount").as_deref(), Some("111122223333"));
        let context = context.with_deferred("kms:EncryptionContext:k5", || ConditionValue::Single("later".into()));
        assert_eq!(single(&context, "kms:encryptioncontext:k5").as_deref(), Some("later"));
        assert_eq!(single(&context, "kms:encryptioncontext:k6").as_deref(), Some("v6"), "positions still right after a removal");
        assert_eq!(single(&context, "kms:encryptioncontext:k2999").as_deref(), Some("v2999"));
    }

    #[test]
    fn deferred_keys_are_computed_once_and_only_when_read() {
        let root = Principal::root("111122223333");
        let calls = std::cell::Cell::new(0);
        let context = RequestContext::new(&root, "kms:Encrypt", "k").with_deferred("kms:ResourceAliases", || {
            calls.set(calls.get() + 1);
            ConditionValue::Multi(vec!["alias/a".into(), "alias/b".into()])
        });
        assert_eq!(calls.get(), 0, "building the context computes nothing");
        assert!(context.get("aws:username").is_none());
        assert_eq!(calls.get(), 0, "reading another key computes nothing");
        assert_eq!(context.values_of("kms:resourcealiases"), Some(&["alias/a".to_owned(), "alias/b".to_owned()][..]));
        assert_eq!(context.get("KMS:ResourceAliases").map(ConditionValue::values).map(<[String]>::len), Some(2));
        assert_eq!(calls.get(), 1, "computed once");
        let empty =
            RequestContext::new(&root, "kms:Encrypt", "k").with_deferred("kms:ResourceAliases", || ConditionValue::Multi(Vec::new()));
        assert!(empty.values_of("kms:resourcealiases").is_none(), "an empty deferred set is absent");
        let overridden = RequestContext::new(&root, "kms:Encrypt", "k")
            .with_deferred("kms:ResourceAliases", || panic!("replaced before being read"))
            .with_values("kms:ResourceAliases", ["alias/c"]);
        assert_eq!(overridden.values_of("kms:resourcealiases"), Some(&["alias/c".to_owned()][..]));
    }

    /// A family is computed once, the first time one of its keys is read, and folds names that
    /// differ only in case into candidates of one key.
    #[test]
    fn families_are_computed_once_and_fold_case() {
        let root = Principal::root("111122223333");
        let calls = std::cell::Cell::new(0);
        let context = RequestContext::new(&root, "kms:Encrypt", "k").with_family("kms:encryptioncontext:", || {
            calls.set(calls.get() + 1);
            fold_names([("Stage", "Prod"), ("stage", "Test"), ("App", "web")])
        });
        assert!(context.get("aws:username").is_none());
        assert!(context.get("kms:encryptioncontextkeys").is_none(), "a key that only looks like a member");
        assert_eq!(calls.get(), 0);
        assert_eq!(single(&context, "kms:EncryptionContext:APP").as_deref(), Some("web"));
        assert_eq!(context.get("kms:EncryptionContext:STAGE"), Some(&ConditionValue::Candidates(vec!["Prod".into(), "Test".into()])));
        assert!(context.get("kms:EncryptionContext:other").is_none());
        assert_eq!(calls.get(), 1);
        let named = RequestContext::new(&root, "kms:Encrypt", "k")
            .with_family("kms:encryptioncontext:", || fold_names([("App", "web")]))
            .with_value("kms:EncryptionContext:App", "named");
        assert_eq!(single(&named, "kms:encryptioncontext:app").as_deref(), Some("named"), "a named key wins");
    }

    #[test]
    fn fold_names_sorts_and_groups() {
        let folded = fold_names([("b", "1"), ("A", "2"), ("a", "3"), ("B", "4"), ("c", "5")]);
        let names: Vec<&str> = folded.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(folded[0].1, ConditionValue::Candidates(vec!["2".into(), "3".into()]));
        assert_eq!(folded[2].1, ConditionValue::Single("5".into()));
    }
}
