//! The request context: what a policy is evaluated against.

use std::cell::OnceCell;
use std::collections::HashMap;

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
}

impl ConditionValue {
    /// The values as a slice, whichever the form.
    pub fn values(&self) -> &[String] {
        match self {
            ConditionValue::Single(value) => std::slice::from_ref(value),
            ConditionValue::Multi(values) => values,
        }
    }
}

/// One request as policies see it: who, which action, on which resource, and the condition keys.
///
/// [`RequestContext::new`] adds the global keys that follow from the principal
/// (`aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:userid`,
/// `aws:username` for IAM users, `aws:PrincipalIsAWSService`); the KMS side adds its own keys
/// with [`RequestContext::with_value`] and [`RequestContext::with_values`], and keys that cost
/// work to compute with [`RequestContext::with_deferred`]. Key names are case-insensitive
/// (stored lower-cased, including the `<k>` part of `kms:EncryptionContext:<k>`); values are
/// kept as given.
///
/// The keys are a short list searched in order, not a hash map: a context holds a dozen or two
/// keys, is built for every authorized call, and most policies read none of them (hashing and
/// the map's allocation were measurable per call; a scan of a dozen short strings is not). Past
/// [`INDEXED_FROM`] keys (a large encryption context: up to thousands) a hash index is kept too,
/// so building a context stays linear.
pub struct RequestContext<'a> {
    principal: &'a Principal,
    action: &'a str,
    action_lower: String,
    resource: &'a str,
    values: Vec<(String, ConditionValue)>,
    index: Option<HashMap<String, usize>>,
    deferred: Vec<Deferred<'a>>,
}

/// Keys from which lookups go through a hash index instead of a scan.
const INDEXED_FROM: usize = 32;

/// A key computed only when a condition reads it (`kms:ResourceAliases` scans the aliases).
struct Deferred<'a> {
    key_lower: String,
    compute: Box<dyn Fn() -> ConditionValue + 'a>,
    value: OnceCell<ConditionValue>,
}

impl std::fmt::Debug for RequestContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("principal", &self.principal)
            .field("action", &self.action)
            .field("resource", &self.resource)
            .field("values", &self.values)
            .field("deferred", &self.deferred.iter().map(|d| d.key_lower.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

impl<'a> RequestContext<'a> {
    /// A context for `principal` calling `action` (e.g. `kms:Decrypt`) on `resource` (the key ARN).
    pub fn new(principal: &'a Principal, action: &'a str, resource: &'a str) -> Self {
        let mut context = Self::without_keys(principal, action, resource);
        context.values.reserve(16);
        let principal_type = match principal {
            Principal::Root { .. } => "Account",
            Principal::User { .. } => "User",
            Principal::AssumedRole { .. } => "AssumedRole",
        };
        context.insert_single("aws:PrincipalArn", principal.policy_arn());
        context.insert_single("aws:PrincipalAccount", principal.account().to_owned());
        context.insert_single("aws:PrincipalType", principal_type.to_owned());
        context.insert_single("aws:userid", principal.principal_id());
        context.insert_single("aws:PrincipalIsAWSService", "false".to_owned());
        match principal {
            Principal::User { name, .. } => context.insert_single("aws:username", name.clone()),
            Principal::AssumedRole { attributes, .. } => {
                // A session's keys (IAM User Guide, "AWS global condition context keys"):
                // aws:MultiFactorAuthPresent is present for temporary credentials only.
                let mfa = if attributes.mfa_authenticated { "true" } else { "false" };
                context.insert_single("aws:MultiFactorAuthPresent", mfa.to_owned());
                for (key, value) in &attributes.tags {
                    context.insert_single(&format!("aws:PrincipalTag/{key}"), value.clone());
                }
                if let Some(source) = &attributes.source_identity {
                    context.insert_single("aws:SourceIdentity", source.clone());
                }
            }
            Principal::Root { .. } => {}
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
        let key_lower = key.to_lowercase();
        if let Some(i) = self.position(&key_lower) {
            self.values.remove(i);
            self.index = None;
            self.reindex();
        }
        self.deferred.retain(|d| d.key_lower != key_lower);
        self.deferred.push(Deferred { key_lower, compute: Box::new(compute), value: OnceCell::new() });
        self
    }

    /// Adds (or replaces) a key in place, for callers that build the context in a loop.
    pub fn insert(&mut self, key: &str, value: ConditionValue) {
        let key_lower = key.to_lowercase();
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

    /// The values of an already lower-cased key; `None` when the key is absent or an empty set
    /// (AWS treats an empty multivalued key like a missing one).
    pub(crate) fn values_of(&self, key_lower: &str) -> Option<&[String]> {
        self.lookup(key_lower).map(ConditionValue::values).filter(|values| !values.is_empty())
    }

    fn lookup(&self, key_lower: &str) -> Option<&ConditionValue> {
        if let Some(i) = self.position(key_lower) {
            return Some(&self.values[i].1);
        }
        let deferred = self.deferred.iter().find(|d| d.key_lower == key_lower)?;
        Some(deferred.value.get_or_init(|| (deferred.compute)()))
    }

    fn insert_single(&mut self, key: &str, value: String) {
        self.insert(key, ConditionValue::Single(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(context: &RequestContext<'_>, key: &str) -> Option<String> {
        match context.get(key) {
            Some(ConditionValue::Single(value)) => Some(value.clone()),
            _ => None,
        }
    }

    #[test]
    fn derives_global_keys_for_a_role_session() {
        let principal = Principal::AssumedRole {
            account: "444455556666".into(),
            role: "app".into(),
            role_id: "AROAEXAMPLE".into(),
            session: "ci".into(),
            created: "2024-01-01T00:00:00Z".into(),
            attributes: Default::default(),
        };
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
}
