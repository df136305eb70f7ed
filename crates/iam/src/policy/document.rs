//! Policy documents: parsing the JSON once into a typed form and checking the grammar.

use std::sync::Arc;

use serde_json::Value;

use super::condition::Condition;
use super::error::PolicyError;
use super::operator::SetQualifier;
use super::principals::INVALID_PRINCIPALS;
use super::statement::{parse_statement, Statement};

/// The size quota for key policies (AWS: 32 KB).
pub(crate) const MAX_KEY_POLICY_BYTES: usize = 32_768;

/// Which kind of policy a document is; the grammar differs in the `Principal` element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// A KMS key policy (resource-based): every statement names a `Principal` or `NotPrincipal`.
    KeyPolicy,
    /// An IAM user's or role's policy (identity-based): statements name no principal.
    IdentityPolicy,
    /// A role's trust policy (who may assume it, `sts:AssumeRole`): every statement names a
    /// `Principal` or `NotPrincipal`, and none a `Resource` — IAM refuses one there ("Has
    /// prohibited field Resource"), the role itself being the resource.
    TrustPolicy,
}

/// A parsed, validated policy. Cheap to clone (shared), and keeps the text it was parsed from,
/// because GetKeyPolicy must return exactly what PutKeyPolicy stored.
#[derive(Clone, Debug)]
pub struct PolicyDocument {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    text: String,
    kind: PolicyKind,
    version: Option<String>,
    id: Option<String>,
    statements: Vec<Statement>,
    reads_context: bool,
}

impl PolicyDocument {
    /// Parses and validates `text` as a policy of `kind`.
    ///
    /// Grammar: an object with optional `Version` (`2012-10-17` or `2008-10-17`), optional `Id`
    /// and a required `Statement` (an object or a non-empty array). Each statement has optional
    /// `Sid`, required `Effect`, exactly one of `Action`/`NotAction`, exactly one of
    /// `Resource`/`NotResource` (the KMS docs list `Resource` as required in key policies too),
    /// exactly one of `Principal`/`NotPrincipal` in key policies and neither in identity
    /// policies, and optional `Condition`. Element names are case-sensitive; unknown elements are
    /// refused. Key policies are limited to 32768 bytes.
    ///
    /// Choice: Sids are not required to be unique (KMS's own console policies do not rely on it).
    pub fn parse(text: &str, kind: PolicyKind) -> Result<PolicyDocument, PolicyError> {
        if kind == PolicyKind::KeyPolicy && text.len() > MAX_KEY_POLICY_BYTES {
            return Err(PolicyError::too_large(format!(
                "1 validation error detected: Value at 'policy' failed to satisfy constraint: \
                 Member must have length less than or equal to {MAX_KEY_POLICY_BYTES}"
            )));
        }
        let value: Value = serde_json::from_str(text).map_err(|e| PolicyError::malformed(format!("The policy is not valid JSON: {e}")))?;
        let Value::Object(top) = value else {
            return Err(PolicyError::malformed("The policy must be a JSON object."));
        };
        if let Some(unknown) = top.keys().find(|k| !matches!(k.as_str(), "Version" | "Id" | "Statement")) {
            return Err(PolicyError::malformed(format!("The policy contains an unknown element \"{unknown}\".")));
        }
        let version = match top.get("Version") {
            None => None,
            Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => Some(v.clone()),
            Some(other) => return Err(PolicyError::malformed(format!("The policy Version {other} is not supported; use \"2012-10-17\"."))),
        };
        let id = match top.get("Id") {
            None => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(_) => return Err(PolicyError::malformed("The policy Id must be a string.")),
        };
        // Policy variables exist only from version 2012-10-17 on.
        let variables = version.as_deref() == Some("2012-10-17");
        let raw_statements = match top.get("Statement") {
            Some(Value::Object(statement)) => vec![statement],
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|item| match item {
                    Value::Object(statement) => Ok(statement),
                    _ => Err(PolicyError::malformed("Each policy statement must be a JSON object.")),
                })
                .collect::<Result<_, _>>()?,
            Some(Value::Array(_)) => return Err(PolicyError::malformed("The policy must contain at least one statement.")),
            Some(_) => return Err(PolicyError::malformed("The policy Statement must be an object or an array of objects.")),
            None => return Err(PolicyError::malformed("The policy must contain a Statement element.")),
        };
        let statements: Vec<Statement> = raw_statements
            .into_iter()
            .enumerate()
            .map(|(index, raw)| {
                parse_statement(raw, kind, variables).map_err(|message| {
                    let which = match raw.get("Sid").and_then(Value::as_str) {
                        Some(sid) => format!("Statement \"{sid}\""),
                        None => format!("Statement {}", index + 1),
                    };
                    if message == INVALID_PRINCIPALS {
                        PolicyError::malformed(message)
                    } else {
                        PolicyError::malformed(format!("{which}: {message}"))
                    }
                })
            })
            .collect::<Result<_, _>>()?;
        if kind == PolicyKind::KeyPolicy {
            if let Some(message) = statements.iter().flat_map(|s| &s.conditions).find_map(overly_permissive) {
                return Err(PolicyError::malformed(message));
            }
        }
        // Conservative: any condition, or any `${` where variables are substituted.
        let reads_context = statements.iter().any(|s| !s.conditions.is_empty()) || (variables && text.contains("${"));
        Ok(PolicyDocument { inner: Arc::new(Inner { text: text.to_owned(), kind, version, id, statements, reads_context }) })
    }

    /// True when evaluating this policy may read a condition key of the request (it has a
    /// `Condition`, or a policy variable). When no policy of a call does, the caller can skip
    /// building the request's condition keys (a dozen strings per authorized call).
    pub fn reads_context(&self) -> bool {
        self.inner.reads_context
    }

    /// The text exactly as given to [`PolicyDocument::parse`].
    pub fn text(&self) -> &str {
        &self.inner.text
    }

    /// Whether this is a key policy or an identity policy.
    pub fn kind(&self) -> PolicyKind {
        self.inner.kind
    }

    /// The `Version` element, if given.
    pub fn version(&self) -> Option<&str> {
        self.inner.version.as_deref()
    }

    /// The `Id` element, if given.
    pub fn id(&self) -> Option<&str> {
        self.inner.id.as_deref()
    }

    /// The parsed statements, for evaluation.
    pub(crate) fn statements(&self) -> &[Statement] {
        &self.inner.statements
    }
}

/// KMS refuses a key policy that uses `ForAllValues` with the single-valued
/// `kms:EncryptionContext:<k>` or `aws:RequestTag/<k>` ("Using set operators with condition keys"
/// and "kms:EncryptionContext:context-key", KMS Developer Guide,
/// https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html): such a condition
/// matches requests without the pair. The encryption-context message is AWS's, word for word;
/// the tag one follows the general form the same page gives ("[encryption context or tag]").
/// `ForAnyValue` is accepted, as AWS accepts it (the page only warns against it).
fn overly_permissive(condition: &Condition) -> Option<&'static str> {
    if condition.set() != SetQualifier::ForAllValues {
        return None;
    }
    if condition.key().starts_with("kms:encryptioncontext:") {
        return Some(
            "OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key \
             matches requests without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues.",
        );
    }
    if condition.key().starts_with("aws:requesttag/") {
        return Some(
            "OverlyPermissiveCondition:RequestTag: Using the ForAllValues set operator with a single-valued condition key \
             matches requests without the specified tag or with an unspecified tag. To fix, remove ForAllValues.",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::statement::Effect;

    const KEY: PolicyKind = PolicyKind::KeyPolicy;
    const IDENTITY: PolicyKind = PolicyKind::IdentityPolicy;

    fn error(text: &str, kind: PolicyKind) -> String {
        PolicyDocument::parse(text, kind).unwrap_err().message().to_owned()
    }

    #[test]
    fn parses_a_key_policy_and_keeps_its_text() {
        let text = r#"{"Version":"2012-10-17","Id":"k","Statement":[{"Sid":"a","Effect":"Allow",
            "Principal":{"AWS":"111122223333"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
            "Condition":{"StringEquals":{"kms:CallerAccount":"111122223333"}}}]}"#;
        let policy = PolicyDocument::parse(text, KEY).unwrap();
        assert_eq!(policy.text(), text);
        assert_eq!(policy.version(), Some("2012-10-17"));
        assert_eq!(policy.id(), Some("k"));
        assert_eq!(policy.kind(), KEY);
        let statement = &policy.statements()[0];
        assert_eq!(statement.effect, Effect::Allow);
        assert_eq!(statement.actions.patterns, ["kms:encrypt", "kms:decrypt"]);
        assert_eq!(statement.conditions.len(), 1);
        assert!(statement.principals.is_some());
    }

    #[test]
    fn trust_policies_name_principals_and_no_resource() {
        const TRUST: PolicyKind = PolicyKind::TrustPolicy;
        let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},
            "Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x1"}}}]}"#;
        let policy = PolicyDocument::parse(text, TRUST).unwrap();
        assert!(policy.statements()[0].principals.is_some() && policy.reads_context());
        let with_resource = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}]}"#;
        assert!(error(with_resource, TRUST).contains("prohibited field Resource"));
        assert!(error(r#"{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#, TRUST).contains("missing Principal"));
    }

    #[test]
    fn accepts_a_single_statement_object_and_no_version() {
        let text = r#"{"Statement":{"Effect":"Deny","NotAction":"kms:Describe*","NotResource":"arn:aws:kms:*"}}"#;
        let policy = PolicyDocument::parse(text, IDENTITY).unwrap();
        assert_eq!(policy.version(), None);
        assert!(policy.statements()[0].actions.negated);
        assert!(policy.statements()[0].resources.negated);
    }

    #[test]
    fn grammar_errors_have_clear_messages() {
        let cases: [(&str, PolicyKind, &str); 20] = [
            ("not json", KEY, "not valid JSON"),
            ("[]", KEY, "must be a JSON object"),
            (r#"{"Statement":[],"Extra":1}"#, KEY, "unknown element \"Extra\""),
            (r#"{"Version":"2020-01-01","Statement":[]}"#, KEY, "Version"),
            (r#"{"Version":"2012-10-17"}"#, KEY, "must contain a Statement"),
            (r#"{"Statement":[]}"#, KEY, "at least one statement"),
            (r#"{"Statement":"x"}"#, KEY, "object or an array"),
            (r#"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#, KEY, "missing Principal"),
            (r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]}"#, IDENTITY, "cannot name a Principal"),
            (r#"{"Statement":[{"Effect":"Permit","Action":"kms:*","Resource":"*"}]}"#, IDENTITY, "Effect must be"),
            (r#"{"Statement":[{"Action":"kms:*","Resource":"*"}]}"#, IDENTITY, "missing Effect"),
            (r#"{"Statement":[{"Effect":"Allow","Resource":"*"}]}"#, IDENTITY, "missing Action"),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"kms:*","NotAction":"kms:*","Resource":"*"}]}"#,
                IDENTITY,
                "both Action and NotAction",
            ),
            (r#"{"Statement":[{"Effect":"Allow","Action":"Decrypt","Resource":"*"}]}"#, IDENTITY, "invalid action \"Decrypt\""),
            (r#"{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}"#, IDENTITY, "must not be empty"),
            (r#"{"Statement":[{"Effect":"Allow","Action":[1],"Resource":"*"}]}"#, IDENTITY, "only strings"),
            (r#"{"Statement":[{"Effect":"Allow","Action":"kms:*"}]}"#, IDENTITY, "missing Resource"),
            (r#"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"key/1"}]}"#, IDENTITY, "invalid resource"),
            (
                r#"{"Statement":[{"Sid":"s1","Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"StringEqualz":{"a":"b"}}}]}"#,
                IDENTITY,
                "Statement \"s1\": unknown condition operator \"StringEqualz\"",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*","Principals":"*"}]}"#,
                IDENTITY,
                "Statement 1: unknown element \"Principals\"",
            ),
        ];
        for (text, kind, expected) in cases {
            let message = error(text, kind);
            assert!(message.contains(expected), "{text}: {message}");
        }
    }

    #[test]
    fn invalid_principals_use_the_aws_message() {
        let text = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"kms:*","Resource":"*"}]}"#;
        assert_eq!(error(text, KEY), "Policy contains a statement with one or more invalid principals.");
    }

    #[test]
    fn key_policies_are_limited_to_32_kib() {
        let statement = r#"{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}"#;
        let build = |n: usize| format!(r#"{{"Statement":[{}]}}"#, vec![statement; n].join(","));
        let fits = build(400);
        assert!(fits.len() <= MAX_KEY_POLICY_BYTES);
        assert!(PolicyDocument::parse(&fits, KEY).is_ok());
        let padded = format!("{fits}{}", " ".repeat(MAX_KEY_POLICY_BYTES - fits.len() + 1));
        let err = PolicyDocument::parse(&padded, KEY).unwrap_err();
        assert!(err.is_too_large(), "{err}");
        assert!(PolicyDocument::parse(&padded.replace("\"Principal\":\"*\",", ""), IDENTITY).is_ok());
    }

    #[test]
    fn policies_that_read_condition_keys_say_so() {
        let identity =
            |statement: &str| PolicyDocument::parse(&format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#), IDENTITY).unwrap();
        assert!(!identity(r#"{"Effect":"Allow","Action":"kms:*","Resource":"*"}"#).reads_context());
        assert!(identity(r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"1"}}}"#)
            .reads_context());
        assert!(identity(r#"{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:*:key/${aws:username}"}"#).reads_context());
        let old = PolicyDocument::parse(
            r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:*:key/${aws:username}"}]}"#,
            IDENTITY,
        )
        .unwrap();
        assert!(!old.reads_context(), "no variables before 2012-10-17");
    }

    /// ForAllValues on a single-valued key is refused in key policies only (IAM policies are
    /// IAM's to validate); ForAnyValue, and ForAllValues on the multivalued
    /// kms:EncryptionContextKeys, are accepted.
    #[test]
    fn for_all_values_on_single_valued_keys_is_refused_in_key_policies() {
        let with = |op: &str, key: &str| {
            format!(
                r#"{{"Statement":[{{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{{"{op}":{{"{key}":"x"}}}}}}]}}"#
            )
        };
        let message = error(&with("ForAllValues:StringEquals", "kms:EncryptionContext:Dept"), KEY);
        assert_eq!(
            message,
            "OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key matches \
             requests without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues."
        );
        assert!(error(&with("forallvalues:StringLike", "KMS:ENCRYPTIONCONTEXT:dept"), KEY)
            .starts_with("OverlyPermissiveCondition:EncryptionContext:"));
        assert!(error(&with("ForAllValues:StringEquals", "aws:RequestTag/Env"), KEY).starts_with("OverlyPermissiveCondition:RequestTag:"));
        for ok in [
            with("ForAnyValue:StringEquals", "kms:EncryptionContext:Dept"),
            with("ForAllValues:StringEquals", "kms:EncryptionContextKeys"),
            with("ForAllValues:StringEquals", "aws:TagKeys"),
            with("StringEquals", "kms:EncryptionContext:Dept"),
        ] {
            assert!(PolicyDocument::parse(&ok, KEY).is_ok(), "{ok}");
        }
        let identity = with("ForAllValues:StringEquals", "kms:EncryptionContext:Dept").replace(r#""Principal":"*","#, "");
        assert!(PolicyDocument::parse(&identity, IDENTITY).is_ok());
    }

    #[test]
    fn documents_are_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}
        assert_send_sync::<PolicyDocument>();
    }
}
