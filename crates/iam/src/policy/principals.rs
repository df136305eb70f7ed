//! The `Principal` / `NotPrincipal` element of key policies, and matching it to a caller.

use serde_json::Value;

use super::evaluate::AllowScope;
use crate::principal::Principal;

/// AWS's `MalformedPolicyDocumentException` message for any principal it cannot accept.
pub(crate) const INVALID_PRINCIPALS: &str = "Policy contains a statement with one or more invalid principals.";

/// One entry of a Principal element, already validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PrincipalEntry {
    /// `"*"` or `{"AWS": "*"}`: everyone.
    Any,
    /// A 12-digit account id or `arn:aws:iam::<account>:root`: the account, i.e. delegation to
    /// the account's IAM policies.
    Account(String),
    /// `arn:aws:iam::<account>:user/<path/name>`.
    User(String),
    /// `arn:aws:iam::<account>:role/<path/name>`: every session of the role.
    Role(String),
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`: that one session.
    Session(String),
    /// `{"Service": …}`: an AWS service; keytrail has no service callers, so it never matches.
    Service(String),
    /// `{"Federated": …}`: a web-identity/SAML provider; never matches keytrail's callers.
    Federated(String),
}

/// The parsed Principal or NotPrincipal element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PrincipalSet {
    /// The listed principals.
    pub(crate) entries: Vec<PrincipalEntry>,
    /// True for `NotPrincipal`.
    pub(crate) negated: bool,
}

impl PrincipalSet {
    /// Parses the element's JSON value.
    pub(crate) fn parse(value: &Value, negated: bool) -> Result<Self, &'static str> {
        let entries = match value {
            Value::String(s) if s == "*" => vec![PrincipalEntry::Any],
            Value::Object(map) if !map.is_empty() => {
                let mut entries = Vec::new();
                for (kind, values) in map {
                    for text in string_list(values)? {
                        entries.push(match kind.as_str() {
                            "AWS" => parse_aws(text)?,
                            "Service" => PrincipalEntry::Service(text.to_owned()),
                            "Federated" => PrincipalEntry::Federated(text.to_owned()),
                            _ => return Err(INVALID_PRINCIPALS),
                        });
                    }
                }
                entries
            }
            _ => return Err(INVALID_PRINCIPALS),
        };
        Ok(PrincipalSet { entries, negated })
    }

    /// Whether the element covers `caller`, and how: `Some(Principal)` when it names the caller
    /// (or everyone), `Some(Account)` when it only names the caller's account.
    ///
    /// `NotPrincipal` follows AWS: a caller is excluded only when every identity it acts as is
    /// listed (the account, plus the user; or the account, the role and the session). A match of
    /// `NotPrincipal` counts as naming the caller, like `"*"`.
    pub(crate) fn matches(&self, caller: &Principal) -> Option<AllowScope> {
        if self.negated {
            let excluded = identities(caller).iter().all(|identity| self.entries.iter().any(|entry| entry.names(identity)));
            return (!excluded).then_some(AllowScope::Principal);
        }
        self.entries.iter().filter_map(|entry| entry.covers(caller)).max()
    }
}

impl PrincipalEntry {
    /// Principal-element semantics: does this entry cover `caller`?
    fn covers(&self, caller: &Principal) -> Option<AllowScope> {
        let covered = match (self, caller) {
            (PrincipalEntry::Any, _) => return Some(AllowScope::Principal),
            (PrincipalEntry::Account(account), _) => return (account == caller.account()).then_some(AllowScope::Account),
            (PrincipalEntry::User(arn), Principal::User { .. }) => *arn == caller.arn(),
            (PrincipalEntry::Role(arn), Principal::AssumedRole { .. }) => *arn == caller.policy_arn(),
            (PrincipalEntry::Session(arn), Principal::AssumedRole { .. }) => *arn == caller.arn(),
            _ => false,
        };
        covered.then_some(AllowScope::Principal)
    }

    /// NotPrincipal semantics: does this entry literally name `identity`?
    fn names(&self, identity: &Identity) -> bool {
        match (self, identity) {
            (PrincipalEntry::Any, _) => true,
            (PrincipalEntry::Account(listed), Identity::Account(account)) => listed == account,
            (PrincipalEntry::User(listed), Identity::User(arn))
            | (PrincipalEntry::Role(listed), Identity::Role(arn))
            | (PrincipalEntry::Session(listed), Identity::Session(arn)) => listed == arn,
            _ => false,
        }
    }
}

/// One of the identities a caller acts as, for NotPrincipal.
enum Identity {
    Account(String),
    User(String),
    Role(String),
    Session(String),
}

fn identities(caller: &Principal) -> Vec<Identity> {
    let account = Identity::Account(caller.account().to_owned());
    match caller {
        Principal::Root { .. } => vec![account],
        Principal::User { .. } => vec![account, Identity::User(caller.arn())],
        Principal::AssumedRole { .. } => vec![account, Identity::Role(caller.policy_arn()), Identity::Session(caller.arn())],
    }
}

/// A string or a non-empty array of strings.
fn string_list(value: &Value) -> Result<Vec<&str>, &'static str> {
    let list: Vec<&str> = match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().map(|item| item.as_str().ok_or(INVALID_PRINCIPALS)).collect::<Result<_, _>>()?,
        _ => return Err(INVALID_PRINCIPALS),
    };
    if list.is_empty() || list.iter().any(|s| s.is_empty()) {
        return Err(INVALID_PRINCIPALS);
    }
    Ok(list)
}

/// Parses an `AWS` principal: `*`, an account id, or a root/user/role/assumed-role ARN.
///
/// Choice: only the `aws` partition is accepted (keytrail's principals all live there), and
/// wildcards other than a lone `*` are refused, as AWS does.
fn parse_aws(text: &str) -> Result<PrincipalEntry, &'static str> {
    if text == "*" {
        return Ok(PrincipalEntry::Any);
    }
    if is_account_id(text) {
        return Ok(PrincipalEntry::Account(text.to_owned()));
    }
    if let Some(rest) = text.strip_prefix("arn:aws:iam::") {
        let (account, resource) = rest.split_once(':').ok_or(INVALID_PRINCIPALS)?;
        if !is_account_id(account) {
            return Err(INVALID_PRINCIPALS);
        }
        if resource == "root" {
            return Ok(PrincipalEntry::Account(account.to_owned()));
        }
        if let Some(path) = resource.strip_prefix("user/") {
            return valid_path(path).then(|| PrincipalEntry::User(text.to_owned())).ok_or(INVALID_PRINCIPALS);
        }
        if let Some(path) = resource.strip_prefix("role/") {
            return valid_path(path).then(|| PrincipalEntry::Role(text.to_owned())).ok_or(INVALID_PRINCIPALS);
        }
        return Err(INVALID_PRINCIPALS);
    }
    if let Some(rest) = text.strip_prefix("arn:aws:sts::") {
        let (account, resource) = rest.split_once(':').ok_or(INVALID_PRINCIPALS)?;
        let session = resource.strip_prefix("assumed-role/").ok_or(INVALID_PRINCIPALS)?;
        let (role, session) = session.split_once('/').ok_or(INVALID_PRINCIPALS)?;
        if is_account_id(account) && valid_name(role) && valid_name(session) {
            return Ok(PrincipalEntry::Session(text.to_owned()));
        }
    }
    Err(INVALID_PRINCIPALS)
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// An IAM name: letters, digits and `+=,.@_-`.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// `path/…/name` where every segment is a valid IAM name.
fn valid_path(path: &str) -> bool {
    path.split('/').all(valid_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(account: &str, name: &str) -> Principal {
        Principal::User { account: account.into(), name: name.into(), unique_id: "AIDA".into() }
    }

    fn session(account: &str, role: &str, session: &str) -> Principal {
        Principal::AssumedRole {
            account: account.into(),
            role: role.into(),
            role_id: "AROA".into(),
            session: session.into(),
            created: "2024-01-01T00:00:00Z".into(),
            attributes: Default::default(),
        }
    }

    fn set(value: Value) -> PrincipalSet {
        PrincipalSet::parse(&value, false).unwrap()
    }

    #[test]
    fn parses_every_accepted_form() {
        assert_eq!(set(json!("*")).entries, vec![PrincipalEntry::Any]);
        assert_eq!(
            set(json!({"AWS": ["111122223333", "arn:aws:iam::111122223333:root"]})).entries,
            vec![PrincipalEntry::Account("111122223333".into()), PrincipalEntry::Account("111122223333".into())]
        );
        assert_eq!(
            set(json!({"AWS": "arn:aws:iam::111122223333:user/dev/alice"})).entries,
            vec![PrincipalEntry::User("arn:aws:iam::111122223333:user/dev/alice".into())]
        );
        assert_eq!(set(json!({"Service": "ec2.amazonaws.com", "Federated": "cognito-identity.amazonaws.com"})).entries.len(), 2);
    }

    #[test]
    fn refuses_invalid_principals() {
        for bad in [
            json!("arn:aws:iam::111122223333:root"),
            json!({"AWS": "11112222333"}),
            json!({"AWS": "arn:aws:iam::111122223333:user/*"}),
            json!({"AWS": "arn:aws:iam::111122223333:group/admins"}),
            json!({"AWS": "arn:aws:sts::111122223333:assumed-role/app"}),
            json!({"AWS": "arn:aws-cn:iam::111122223333:root"}),
            json!({"AWS": []}),
            json!({"AWS": 111122223333u64}),
            json!({"CanonicalUser": "abc"}),
            json!({}),
            json!(["*"]),
        ] {
            assert_eq!(PrincipalSet::parse(&bad, false), Err(INVALID_PRINCIPALS), "{bad}");
        }
    }

    #[test]
    fn matches_each_principal_kind() {
        let alice = user("111122223333", "alice");
        let ci = session("111122223333", "app", "ci");
        let root = Principal::root("111122223333");
        let other = user("444455556666", "alice");

        let account = set(json!({"AWS": "arn:aws:iam::111122223333:root"}));
        assert_eq!(account.matches(&alice), Some(AllowScope::Account));
        assert_eq!(account.matches(&ci), Some(AllowScope::Account));
        assert_eq!(account.matches(&root), Some(AllowScope::Account));
        assert_eq!(account.matches(&other), None);

        let user_arn = set(json!({"AWS": "arn:aws:iam::111122223333:user/alice"}));
        assert_eq!(user_arn.matches(&alice), Some(AllowScope::Principal));
        assert_eq!(user_arn.matches(&other), None);
        assert_eq!(user_arn.matches(&root), None);

        let role = set(json!({"AWS": "arn:aws:iam::111122223333:role/app"}));
        assert_eq!(role.matches(&ci), Some(AllowScope::Principal));
        assert_eq!(role.matches(&session("111122223333", "app", "other")), Some(AllowScope::Principal));
        assert_eq!(role.matches(&session("111122223333", "web", "ci")), None);
        assert_eq!(role.matches(&alice), None);

        let one_session = set(json!({"AWS": "arn:aws:sts::111122223333:assumed-role/app/ci"}));
        assert_eq!(one_session.matches(&ci), Some(AllowScope::Principal));
        assert_eq!(one_session.matches(&session("111122223333", "app", "other")), None);

        assert_eq!(set(json!({"AWS": "*"})).matches(&other), Some(AllowScope::Principal));
        assert_eq!(set(json!({"Service": "ec2.amazonaws.com"})).matches(&root), None);

        let both = set(json!({"AWS": ["111122223333", "arn:aws:iam::111122223333:user/alice"]}));
        assert_eq!(both.matches(&alice), Some(AllowScope::Principal), "the strongest match wins");
    }

    #[test]
    fn not_principal_excludes_only_fully_listed_callers() {
        let ci = session("111122223333", "app", "ci");
        let role_only = PrincipalSet::parse(&json!({"AWS": "arn:aws:iam::111122223333:role/app"}), true).unwrap();
        assert_eq!(role_only.matches(&ci), Some(AllowScope::Principal), "account not listed");
        let full = PrincipalSet::parse(
            &json!({"AWS": [
                "111122223333",
                "arn:aws:iam::111122223333:role/app",
                "arn:aws:sts::111122223333:assumed-role/app/ci"
            ]}),
            true,
        )
        .unwrap();
        assert_eq!(full.matches(&ci), None);
        assert_eq!(full.matches(&session("111122223333", "app", "other")), Some(AllowScope::Principal));
        let root_only = PrincipalSet::parse(&json!({"AWS": "111122223333"}), true).unwrap();
        assert_eq!(root_only.matches(&Principal::root("111122223333")), None);
        assert_eq!(root_only.matches(&user("111122223333", "alice")), Some(AllowScope::Principal));
    }
}
