//! Properties of the evaluator that hold for every policy (proptest, bounded; `PROPTEST_CASES`
//! overrides the count):
//! - a Deny matched by any statement wins, whatever else the policies hold, in any order and in
//!   any of the caller's policies ("Policy evaluation logic", IAM User Guide);
//! - adding an Allow never turns a Deny into an Allow, and an Allow that does not match the
//!   request changes nothing;
//! - condition key names are case-insensitive; `StringEquals` values are case-sensitive and
//!   `StringEqualsIgnoreCase` values are not ("IAM JSON policy elements: Condition operators");
//! - a decoy encryption-context pair whose key differs only in case never widens access: a Deny
//!   stays a Deny and what was not allowed does not become allowed.

use keytrail_iam::policy::{authorize_identity, fold_names, Decision, DenialReason, PolicyDocument, PolicyKind, RequestContext};
use keytrail_iam::Principal;
use proptest::prelude::*;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/k1";
const ACTIONS: &[&str] = &["kms:*", "*", "kms:Decrypt", "kms:Encrypt", "kms:De*", "KMS:DECRYPT"];
const RESOURCES: &[&str] = &["*", KEY, "arn:aws:kms:*:*:key/*", "arn:aws:kms:*:*:alias/*", "arn:aws:kms:us-west-2:*:key/*"];
const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "StringEqualsIgnoreCase",
    "StringEqualsIfExists",
    "ForAnyValue:StringEquals",
    "ForAllValues:StringEquals",
    "Null",
];
const CONDITION_KEYS: &[&str] = &["kms:CallerAccount", "aws:PrincipalTag/team", "kms:EncryptionContext:Stage", "kms:EncryptionContext:App"];
const VALUES: &[&str] = &["111122223333", "444455556666", "blue", "Blue", "Restricted", "Test", "web", "*", "true", "false"];

/// One statement, as the parts it is rendered from.
#[derive(Clone, Debug)]
struct Statement {
    deny: bool,
    not_action: bool,
    action: &'static str,
    resource: &'static str,
    /// (operator, key, value, case mask for the key's letters)
    conditions: Vec<(&'static str, &'static str, &'static str, u64)>,
}

/// `key` with the letters whose bit is set in `mask` upper-cased, the others lower-cased.
fn recase(key: &str, mask: u64) -> String {
    key.chars().enumerate().map(|(i, c)| if mask >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }).collect()
}

impl Statement {
    /// The statement's JSON; with `recase_keys`, each condition key in its own random case.
    fn render(&self, recase_keys: bool) -> String {
        let effect = if self.deny { "Deny" } else { "Allow" };
        let action = if self.not_action { "NotAction" } else { "Action" };
        // One block per operator; one entry per key (case aside), so no JSON member repeats.
        let mut blocks: Vec<(&str, Vec<String>, Vec<String>)> = Vec::new();
        for (op, key, value, mask) in &self.conditions {
            let value = if *op == "Null" {
                if value.len() % 2 == 0 {
                    "true"
                } else {
                    "false"
                }
            } else {
                value
            };
            let shown = if recase_keys { recase(key, *mask) } else { key.to_string() };
            let entry = format!(r#""{shown}":"{value}""#);
            match blocks.iter_mut().find(|(o, _, _)| o == op) {
                Some((_, keys, entries)) if !keys.contains(&key.to_lowercase()) => {
                    keys.push(key.to_lowercase());
                    entries.push(entry);
                }
                Some(_) => {}
                None => blocks.push((op, vec![key.to_lowercase()], vec![entry])),
            }
        }
        let condition = if blocks.is_empty() {
            String::new()
        } else {
            let body: Vec<String> = blocks.iter().map(|(op, _, entries)| format!(r#""{op}":{{{}}}"#, entries.join(","))).collect();
            format!(r#","Condition":{{{}}}"#, body.join(","))
        };
        format!(r#"{{"Effect":"{effect}","{action}":"{}","Resource":"{}"{condition}}}"#, self.action, self.resource)
    }
}

fn statement() -> impl Strategy<Value = Statement> {
    (
        any::<bool>(),
        prop::bool::weighted(0.15),
        prop::sample::select(ACTIONS),
        prop::sample::select(RESOURCES),
        prop::collection::vec(
            (prop::sample::select(OPERATORS), prop::sample::select(CONDITION_KEYS), prop::sample::select(VALUES), any::<u64>()),
            0..3,
        ),
    )
        .prop_map(|(deny, not_action, action, resource, conditions)| Statement { deny, not_action, action, resource, conditions })
}

fn document(statements: &[Statement], recase_keys: bool) -> PolicyDocument {
    let body: Vec<String> = statements.iter().map(|s| s.render(recase_keys)).collect();
    let text = format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, body.join(","));
    PolicyDocument::parse(&text, PolicyKind::IdentityPolicy).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A request: which optional keys are present, and the encryption context.
#[derive(Clone, Debug)]
struct Request {
    action: &'static str,
    caller_account: Option<&'static str>,
    team: Option<&'static str>,
    encryption_context: Vec<(&'static str, &'static str)>,
}

fn request() -> impl Strategy<Value = Request> {
    (
        prop::sample::select(&["kms:Decrypt", "kms:Encrypt", "kms:CreateKey"][..]),
        prop::option::of(prop::sample::select(&["111122223333", "444455556666"][..])),
        prop::option::of(prop::sample::select(&["blue", "Blue", "red"][..])),
        prop::collection::vec(
            (
                prop::sample::select(&["Stage", "stage", "STAGE", "App", "app", "Other"][..]),
                prop::sample::select(&["Restricted", "Test", "web"][..]),
            ),
            0..4,
        ),
    )
        .prop_map(|(action, caller_account, team, mut encryption_context)| {
            // An encryption context is a map: one value per exact key.
            let mut seen: Vec<&str> = Vec::new();
            encryption_context.retain(|(k, _)| {
                if seen.contains(k) {
                    false
                } else {
                    seen.push(k);
                    true
                }
            });
            Request { action, caller_account, team, encryption_context }
        })
}

fn alice() -> Principal {
    Principal::User { account: "111122223333".into(), name: "alice".into(), unique_id: "AIDAALICE".into() }
}

fn context<'a>(principal: &'a Principal, r: &'a Request) -> RequestContext<'a> {
    let mut c = RequestContext::new(principal, r.action, KEY);
    if let Some(a) = r.caller_account {
        c = c.with_value("kms:CallerAccount", a);
    }
    if let Some(t) = r.team {
        c = c.with_value("aws:PrincipalTag/team", t);
    }
    let pairs = &r.encryption_context;
    c.with_family("kms:encryptioncontext:", move || fold_names(pairs.iter().copied()))
}

fn decide(policy: &PolicyDocument, r: &Request) -> Decision {
    let principal = alice();
    let c = context(&principal, r);
    policy.evaluate(&c)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(400), failure_persistence: None, ..ProptestConfig::default() })]

    /// A Deny that applies on its own applies in any policy that holds it, in any position, and
    /// in any of the caller's policies; and nothing else produces an explicit deny.
    #[test]
    fn a_matching_deny_wins(statements in prop::collection::vec(statement(), 1..6), r in request(), split in 0usize..6) {
        let whole = decide(&document(&statements, false), &r);
        let any_deny = statements.iter().filter(|s| s.deny).any(|s| decide(&document(std::slice::from_ref(s), false), &r) == Decision::ExplicitDeny);
        prop_assert_eq!(whole == Decision::ExplicitDeny, any_deny);
        let mut reversed = statements.clone();
        reversed.reverse();
        prop_assert_eq!(decide(&document(&reversed, false), &r) == Decision::ExplicitDeny, any_deny);
        // Split over two identity policies: the same verdict on deny.
        let split = split.min(statements.len());
        let (a, b) = statements.split_at(split);
        let policies: Vec<PolicyDocument> = [a, b].iter().filter(|p| !p.is_empty()).map(|p| document(p, false)).collect();
        let principal = alice();
        let c = context(&principal, &r);
        let verdict = authorize_identity(&policies, &c);
        prop_assert_eq!(verdict.err().map(|d| d.reason) == Some(DenialReason::ExplicitDenyInIdentityPolicy), any_deny);
    }

    /// Adding an Allow statement never lifts an explicit Deny; an Allow for another action changes
    /// nothing at all.
    #[test]
    fn an_added_allow_never_lifts_a_deny(statements in prop::collection::vec(statement(), 1..5), mut extra in statement(), r in request()) {
        let before = decide(&document(&statements, false), &r);
        extra.deny = false;
        let mut more = statements.clone();
        more.push(extra.clone());
        let after = decide(&document(&more, false), &r);
        if before == Decision::ExplicitDeny {
            prop_assert_eq!(after, Decision::ExplicitDeny);
        }
        let unrelated = Statement { action: "kms:ScheduleKeyDeletion", not_action: false, ..extra };
        let mut more = statements.clone();
        more.insert(0, unrelated);
        prop_assert_eq!(decide(&document(&more, false), &r), before);
    }

    /// Condition key names match whatever their case in the policy.
    #[test]
    fn condition_key_names_ignore_case(statements in prop::collection::vec(statement(), 1..5), r in request()) {
        prop_assert_eq!(decide(&document(&statements, true), &r), decide(&document(&statements, false), &r));
    }

    /// StringEquals compares values exactly, StringEqualsIgnoreCase without case.
    #[test]
    fn condition_values_keep_their_case(value in "[a-zA-Z]{1,8}", mask in any::<u64>()) {
        let other = recase(&value, mask);
        let principal = alice();
        let c = RequestContext::new(&principal, "kms:Decrypt", KEY).with_value("aws:PrincipalTag/team", other.as_str());
        let policy = |op: &str| PolicyDocument::parse(
            &format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{{"{op}":{{"aws:PrincipalTag/team":"{value}"}}}}}}]}}"#),
            PolicyKind::IdentityPolicy,
        ).unwrap();
        prop_assert_eq!(policy("StringEquals").evaluate(&c) != Decision::ImplicitDeny, other == value);
        prop_assert!(policy("StringEqualsIgnoreCase").evaluate(&c) != Decision::ImplicitDeny);
    }

    /// A pair whose key differs only in case from one the request already has never widens
    /// access through `kms:EncryptionContext:<k>` conditions.
    #[test]
    fn a_decoy_pair_never_widens_access(statements in prop::collection::vec(statement(), 1..5), r in request(), which in any::<prop::sample::Index>(), value in prop::sample::select(&["Restricted", "Test", "web"][..]), mask in any::<u64>()) {
        prop_assume!(!r.encryption_context.is_empty());
        let policy = document(&statements, false);
        let before = decide(&policy, &r);
        let (key, _) = r.encryption_context[which.index(r.encryption_context.len())];
        let decoy: &'static str = Box::leak(recase(key, mask).into_boxed_str());
        prop_assume!(!r.encryption_context.iter().any(|(k, _)| *k == decoy));
        let mut widened = r.clone();
        widened.encryption_context.push((decoy, value));
        let after = decide(&policy, &widened);
        if before == Decision::ExplicitDeny {
            prop_assert_eq!(after, Decision::ExplicitDeny, "the decoy {}={} lifted a Deny", decoy, value);
        }
        if !matches!(before, Decision::Allow(_)) {
            prop_assert!(!matches!(after, Decision::Allow(_)), "the decoy {}={} made an Allow", decoy, value);
        }
    }
}
