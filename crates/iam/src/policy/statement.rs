//! One policy statement: its grammar and its typed, ready-to-evaluate form.

use serde_json::{Map, Value};

use super::condition::{parse_conditions, Condition};
use super::document::PolicyKind;
use super::matching::Pattern;
use super::principals::PrincipalSet;

/// `Allow` or `Deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    Allow,
    Deny,
}

/// `Action` or `NotAction`, lower-cased for case-insensitive matching.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ActionSet {
    pub(crate) patterns: Vec<String>,
    pub(crate) negated: bool,
}

/// `Resource` or `NotResource`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResourceSet {
    pub(crate) patterns: Vec<Pattern>,
    pub(crate) negated: bool,
}

/// One statement, ready to evaluate.
#[derive(Clone, Debug)]
pub(crate) struct Statement {
    pub(crate) effect: Effect,
    pub(crate) actions: ActionSet,
    pub(crate) resources: ResourceSet,
    /// Present exactly for key and trust policies.
    pub(crate) principals: Option<PrincipalSet>,
    pub(crate) conditions: Vec<Condition>,
}

const STATEMENT_ELEMENTS: [&str; 9] =
    ["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition"];

/// Parses one statement; the error is a message without the statement's name.
pub(crate) fn parse_statement(raw: &Map<String, Value>, kind: PolicyKind, variables: bool) -> Result<Statement, String> {
    if let Some(unknown) = raw.keys().find(|k| !STATEMENT_ELEMENTS.contains(&k.as_str())) {
        return Err(format!("unknown element \"{unknown}\""));
    }
    if raw.get("Sid").is_some_and(|sid| !sid.is_string()) {
        return Err("Sid must be a string".into());
    }
    let effect = match raw.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => return Err(format!("Effect must be \"Allow\" or \"Deny\", not {other}")),
        None => return Err("missing Effect".into()),
    };
    let (actions, negated) = exactly_one(raw, "Action", "NotAction")?;
    let actions = ActionSet { patterns: parse_actions(actions)?, negated };
    let resources = if kind == PolicyKind::TrustPolicy {
        if raw.contains_key("Resource") || raw.contains_key("NotResource") {
            return Err("Has prohibited field Resource".into());
        }
        ResourceSet { patterns: vec![Pattern::new("*".into(), false)], negated: false }
    } else {
        let (resources, negated) = exactly_one(raw, "Resource", "NotResource")?;
        ResourceSet { patterns: parse_resources(resources, variables)?, negated }
    };
    let principals = match kind {
        PolicyKind::KeyPolicy | PolicyKind::TrustPolicy => {
            let (value, negated) = exactly_one(raw, "Principal", "NotPrincipal")?;
            Some(PrincipalSet::parse(value, negated).map_err(str::to_owned)?)
        }
        PolicyKind::IdentityPolicy => {
            if raw.contains_key("Principal") || raw.contains_key("NotPrincipal") {
                return Err("identity-based policies cannot name a Principal or NotPrincipal".into());
            }
            None
        }
    };
    let conditions = match raw.get("Condition") {
        Some(condition) => parse_conditions(condition, variables)?,
        None => Vec::new(),
    };
    Ok(Statement { effect, actions, resources, principals, conditions })
}

/// The value of exactly one of `positive`/`negative`, and whether it was the negative one.
fn exactly_one<'v>(raw: &'v Map<String, Value>, positive: &str, negative: &str) -> Result<(&'v Value, bool), String> {
    match (raw.get(positive), raw.get(negative)) {
        (Some(value), None) => Ok((value, false)),
        (None, Some(value)) => Ok((value, true)),
        (Some(_), Some(_)) => Err(format!("cannot have both {positive} and {negative}")),
        (None, None) => Err(format!("missing {positive} (or {negative})")),
    }
}

/// A string or a non-empty array of non-empty strings.
fn strings<'v>(value: &'v Value, element: &str) -> Result<Vec<&'v str>, String> {
    let list: Vec<&str> = match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => {
            items.iter().map(|item| item.as_str().ok_or_else(|| format!("{element} must hold only strings"))).collect::<Result<_, _>>()?
        }
        _ => return Err(format!("{element} must be a string or an array of strings")),
    };
    if list.is_empty() {
        return Err(format!("{element} must not be empty"));
    }
    Ok(list)
}

/// Actions are `*` or `<service>:<pattern>`; stored lower-cased.
fn parse_actions(value: &Value) -> Result<Vec<String>, String> {
    strings(value, "Action")?
        .into_iter()
        .map(|action| {
            let valid = action == "*"
                || action.split_once(':').is_some_and(|(service, name)| {
                    !service.is_empty() && service.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') && !name.is_empty()
                });
            if valid {
                Ok(action.to_lowercase())
            } else {
                Err(format!("invalid action \"{action}\": actions must look like \"kms:Decrypt\""))
            }
        })
        .collect()
}

/// Resources are `*` or ARNs (wildcards and, in 2012-10-17 policies, variables allowed).
fn parse_resources(value: &Value, variables: bool) -> Result<Vec<Pattern>, String> {
    strings(value, "Resource")?
        .into_iter()
        .map(|resource| {
            if resource == "*" || resource.starts_with("arn:") {
                Ok(Pattern::new(resource.to_owned(), variables))
            } else {
                Err(format!("invalid resource \"{resource}\": resources must be \"*\" or an ARN"))
            }
        })
        .collect()
}
