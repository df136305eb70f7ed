//! IAM policy documents and their evaluation for KMS requests.
//!
//! Policies are parsed once into a typed form ([`PolicyDocument`]); evaluating one is then a walk
//! over its statements with no JSON involved, since it runs on every KMS request.
//!
//! Layout:
//! - `document` — parsing a policy's JSON and checking its top-level grammar.
//! - `statement` — one statement: its grammar and typed form.
//! - `principals` — the Principal / NotPrincipal element and matching it to a caller.
//! - `condition` — the Condition element: parsing and evaluating operator blocks.
//! - `operator` — condition operator names: family, negation, `IfExists`, set qualifiers.
//! - `operand` — typed condition values: numbers, dates, IP ranges, booleans.
//! - `matching` — wildcard and ARN matching, and policy variables.
//! - `context` — the request context a policy is evaluated against.
//! - `evaluate` — one policy against one request ([`Decision`]).
//! - `authorize` — key policy + identity policies (+ a grant) into a KMS access decision, and
//!   identity-only decisions (account-level actions, alias ARNs, CloudTrail's API).
//! - `lockout` — the PutKeyPolicy lockout safety check.
//! - `default_key_policy` — the policy KMS attaches when CreateKey gets none.
//! - `error` — [`PolicyError`].

mod authorize;
mod condition;
mod context;
mod default_key_policy;
mod document;
mod error;
mod evaluate;
mod lockout;
mod matching;
mod operand;
mod operator;
mod principals;
mod statement;

pub use authorize::{authorize, authorize_identity, authorize_with_grant, Denial, DenialReason, GrantAllow};
pub use context::{fold_names, ConditionValue, RequestContext};
pub use default_key_policy::default_key_policy;
pub use document::{PolicyDocument, PolicyKind};
pub use error::PolicyError;
pub use evaluate::{AllowScope, Decision};
pub use lockout::lockout_check;
