//! Evaluating one policy against one request.

use super::context::RequestContext;
use super::document::PolicyDocument;
use super::matching::wildcard_match;
use super::statement::{Effect, Statement};

/// How an Allow in a key policy reaches the caller; identity policies always allow as
/// [`AllowScope::Principal`] since they are attached to the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AllowScope {
    /// The statement names the caller's account (`<id>` or `arn:aws:iam::<id>:root`): for anyone
    /// but the root user this only delegates to the account's IAM policies.
    Account,
    /// The statement names the caller itself (user, role, session), or everyone (`*`).
    Principal,
}

/// The outcome of evaluating one policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// A Deny statement applies; nothing can override it.
    ExplicitDeny,
    /// At least one Allow statement applies and no Deny does; the strongest scope is kept.
    Allow(AllowScope),
    /// No statement applies.
    ImplicitDeny,
}

/// Which resources statements are matched against: the request's, or (for the lockout check,
/// where the key may not exist yet) any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResourceCheck {
    Request,
    Any,
}

impl PolicyDocument {
    /// Evaluates this policy alone against `context`.
    pub fn evaluate(&self, context: &RequestContext<'_>) -> Decision {
        evaluate_with(self, context, ResourceCheck::Request)
    }
}

/// Evaluates `policy`; stops at the first Deny that applies.
pub(crate) fn evaluate_with(policy: &PolicyDocument, context: &RequestContext<'_>, resources: ResourceCheck) -> Decision {
    let mut allowed: Option<AllowScope> = None;
    for statement in policy.statements() {
        let Some(scope) = applies(statement, context, resources) else {
            continue;
        };
        match statement.effect {
            Effect::Deny => return Decision::ExplicitDeny,
            Effect::Allow => allowed = allowed.max(Some(scope)),
        }
    }
    allowed.map_or(Decision::ImplicitDeny, Decision::Allow)
}

/// Whether `statement` applies to the request, and with which scope. Cheap checks come first.
fn applies(statement: &Statement, context: &RequestContext<'_>, resources: ResourceCheck) -> Option<AllowScope> {
    let action = context.action_lower();
    let action_listed = statement.actions.patterns.iter().any(|p| wildcard_match(p, action));
    if action_listed == statement.actions.negated {
        return None;
    }
    let scope = match &statement.principals {
        Some(principals) => principals.matches(context.principal())?,
        None => AllowScope::Principal,
    };
    if resources == ResourceCheck::Request {
        let resource = context.resource();
        let resource_listed = statement
            .resources
            .patterns
            .iter()
            .any(|pattern| pattern.resolve(context).is_some_and(|pattern| wildcard_match(&pattern, resource)));
        if resource_listed == statement.resources.negated {
            return None;
        }
    }
    statement.conditions.iter().all(|condition| condition.holds(context, statement.effect)).then_some(scope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyKind;
    use crate::principal::Principal;

    const KEY_ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/1234";

    fn alice() -> Principal {
        Principal::User { account: "111122223333".into(), name: "alice".into(), unique_id: "AIDA".into() }
    }

    fn identity(statements: &str) -> PolicyDocument {
        let text = format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
        PolicyDocument::parse(&text, PolicyKind::IdentityPolicy).unwrap()
    }

    fn decide(policy: &PolicyDocument, action: &str, resource: &str) -> Decision {
        let principal = alice();
        let context = RequestContext::new(&principal, action, resource);
        policy.evaluate(&context)
    }

    #[test]
    fn action_matching_is_case_insensitive_with_wildcards() {
        let policy = identity(r#"{"Effect":"Allow","Action":["kms:Gen*","KMS:decrypt","kms:Re?ncrypt*"],"Resource":"*"}"#);
        assert_eq!(decide(&policy, "kms:GenerateDataKey", KEY_ARN), Decision::Allow(AllowScope::Principal));
        assert_eq!(decide(&policy, "kms:Decrypt", KEY_ARN), Decision::Allow(AllowScope::Principal));
        assert_eq!(decide(&policy, "kms:ReEncryptFrom", KEY_ARN), Decision::Allow(AllowScope::Principal));
        assert_eq!(decide(&policy, "kms:Encrypt", KEY_ARN), Decision::ImplicitDeny);
        let everything = identity(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#);
        assert_eq!(decide(&everything, "kms:ScheduleKeyDeletion", KEY_ARN), Decision::Allow(AllowScope::Principal));
    }

    #[test]
    fn not_action_and_not_resource() {
        let policy = identity(r#"{"Effect":"Allow","NotAction":"kms:Schedule*","Resource":"*"}"#);
        assert_eq!(decide(&policy, "kms:Decrypt", KEY_ARN), Decision::Allow(AllowScope::Principal));
        assert_eq!(decide(&policy, "kms:ScheduleKeyDeletion", KEY_ARN), Decision::ImplicitDeny);
        let policy = identity(r#"{"Effect":"Allow","Action":"kms:*","NotResource":"arn:aws:kms:*:*:key/9*"}"#);
        assert_eq!(decide(&policy, "kms:Decrypt", KEY_ARN), Decision::Allow(AllowScope::Principal));
        assert_eq!(decide(&policy, "kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/999"), Decision::ImplicitDeny);
    }

    #[test]
    fn resource_matching_is_case_sensitive_with_wildcards() {
        let policy = identity(r#"{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:us-east-1:111122223333:key/*"}"#);
        assert_eq!(decide(&policy, "kms:Decrypt", KEY_ARN), Decision::Allow(AllowScope::Principal));
        assert_eq!(decide(&policy, "kms:Decrypt", &KEY_ARN.replace("us-east-1", "eu-west-1")), Decision::ImplicitDeny);
        assert_eq!(decide(&policy, "kms:Decrypt", &KEY_ARN.replace("key/", "KEY/")), Decision::ImplicitDeny);
    }

    #[test]
    fn resource_variables_are_substituted() {
        let policy = identity(r#"{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:*:alias/${aws:username}-*"}"#);
        assert_eq!(decide(&policy, "kms:Decrypt", "arn:aws:kms:us-east-1:1:alias/alice-app"), Decision::Allow(AllowScope::Principal));
        assert_eq!(decide(&policy, "kms:Decrypt", "arn:aws:kms:us-east-1:1:alias/bob-app"), Decision::ImplicitDeny);
    }

    #[test]
    fn deny_wins_and_conditions_gate_statements() {
        let policy = identity(
            r#"{"Effect":"Allow","Action":"kms:*","Resource":"*"},
               {"Effect":"Deny","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:Dept":"HR"}}}"#,
        );
        let principal = alice();
        let hr = RequestContext::new(&principal, "kms:Decrypt", KEY_ARN).with_value("kms:EncryptionContext:dept", "HR");
        assert_eq!(policy.evaluate(&hr), Decision::ExplicitDeny);
        let sales = RequestContext::new(&principal, "kms:Decrypt", KEY_ARN).with_value("kms:EncryptionContext:Dept", "Sales");
        assert_eq!(policy.evaluate(&sales), Decision::Allow(AllowScope::Principal));
    }

    #[test]
    fn key_policy_keeps_the_strongest_allow_scope() {
        let text = r#"{"Statement":[
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
        let policy = PolicyDocument::parse(text, PolicyKind::KeyPolicy).unwrap();
        assert_eq!(decide(&policy, "kms:Decrypt", KEY_ARN), Decision::Allow(AllowScope::Principal));
        assert_eq!(decide(&policy, "kms:Encrypt", KEY_ARN), Decision::Allow(AllowScope::Account));
        let bob = Principal::User { account: "444455556666".into(), name: "bob".into(), unique_id: "AIDB".into() };
        assert_eq!(policy.evaluate(&RequestContext::new(&bob, "kms:Decrypt", KEY_ARN)), Decision::ImplicitDeny);
    }
}
