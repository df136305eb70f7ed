//! The `Condition` element: parsing its operator blocks and evaluating them against a request.
//!
//! Semantics (AWS's, with the choices AWS leaves open written down):
//! - keys in one operator block, and operator blocks, are ANDed; the values listed for one key
//!   are ORed — for a negated operator (`StringNotEquals`, …) that means "equals none of them";
//! - an absent key (or an empty set) makes a positive operator false and a negated one true,
//!   `…IfExists` true, `ForAllValues:` true and `ForAnyValue:` false; `Null: true` holds when it
//!   is absent;
//! - choice: a multivalued key under a plain (unqualified) operator behaves like `ForAnyValue:`
//!   for positive operators and like `ForAllValues:` for negated ones, so a negated operator is
//!   always the exact opposite of its positive form;
//! - a key with [`ConditionValue::Candidates`] (names differing only in case) is tried with each
//!   candidate as its one value: a Deny's condition holds if any candidate makes it hold, an
//!   Allow's only if every candidate does.

use serde_json::Value;

use super::context::{ConditionValue, RequestContext};
use super::matching::{arn_match, wildcard_match, Pattern};
use super::operand::{parse_bool, parse_date, parse_number, Cidr};
use super::operator::{Comparison, Family, Operator, SetQualifier, StringMode};
use super::statement::Effect;

/// One operator applied to one key: `"StringEquals": {"kms:CallerAccount": ["1", "2"]}` holds
/// one of these per key.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Condition {
    /// Lower-cased condition key.
    key: String,
    operator: Operator,
    test: Test,
}

/// The policy values, parsed to the type the operator compares.
#[derive(Clone, Debug, PartialEq)]
enum Test {
    String(StringMode, Vec<Pattern>),
    Arn(Vec<Pattern>),
    Numeric(Comparison, Vec<f64>),
    Date(Comparison, Vec<i128>),
    Bool(Vec<bool>),
    Binary(Vec<String>),
    Ip(Vec<Cidr>),
    /// `Null`: true means "the key must be absent".
    Null(Vec<bool>),
}

/// Parses a whole `Condition` element into a flat list of conditions (all ANDed).
///
/// Condition values are strings, booleans or numbers, or non-empty arrays of them. Choice: values
/// of the numeric, date, bool, IP and Null operators must parse, so a typo fails at PutKeyPolicy
/// rather than silently never matching.
pub(crate) fn parse_conditions(value: &Value, variables: bool) -> Result<Vec<Condition>, String> {
    let Value::Object(blocks) = value else {
        return Err("the Condition element must be a JSON object".into());
    };
    let mut conditions = Vec::new();
    for (name, block) in blocks {
        let operator = Operator::parse(name).ok_or_else(|| format!("unknown condition operator \"{name}\""))?;
        let Value::Object(keys) = block else {
            return Err(format!("the {name} condition must map condition keys to values"));
        };
        for (key, values) in keys {
            let invalid = || format!("invalid value for {name} condition key \"{key}\"");
            if key.is_empty() {
                return Err(format!("the {name} condition has an empty condition key"));
            }
            let values = condition_values(values).ok_or_else(invalid)?;
            let test = parse_test(operator.family, &values, variables).ok_or_else(invalid)?;
            conditions.push(Condition { key: key.to_lowercase(), operator, test });
        }
    }
    Ok(conditions)
}

/// A string, bool or number, or a non-empty array of them, as strings.
fn condition_values(value: &Value) -> Option<Vec<String>> {
    fn scalar(value: &Value) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    match value {
        Value::Array(items) if !items.is_empty() => items.iter().map(scalar).collect(),
        Value::Array(_) => None,
        other => scalar(other).map(|s| vec![s]),
    }
}

fn parse_test(family: Family, values: &[String], variables: bool) -> Option<Test> {
    let patterns = || values.iter().map(|v| Pattern::new(v.clone(), variables)).collect();
    Some(match family {
        Family::String(mode) => Test::String(mode, patterns()),
        Family::Arn => Test::Arn(patterns()),
        Family::Numeric(cmp) => Test::Numeric(cmp, parse_all(values, parse_number)?),
        Family::Date(cmp) => Test::Date(cmp, parse_all(values, parse_date)?),
        Family::Bool => Test::Bool(parse_all(values, parse_bool)?),
        Family::Binary => Test::Binary(values.to_vec()),
        Family::Ip => Test::Ip(parse_all(values, Cidr::parse)?),
        Family::Null => Test::Null(parse_all(values, parse_bool)?),
    })
}

fn parse_all<T>(values: &[String], parse: impl Fn(&str) -> Option<T>) -> Option<Vec<T>> {
    values.iter().map(|v| parse(v)).collect()
}

impl Condition {
    /// The lower-cased condition key.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// The operator's set qualifier.
    pub(crate) fn set(&self) -> SetQualifier {
        self.operator.set
    }

    /// Evaluates this condition against the request, for a statement with `effect`.
    pub(crate) fn holds(&self, context: &RequestContext<'_>, effect: Effect) -> bool {
        match context.value_of(&self.key) {
            Some(ConditionValue::Candidates(candidates)) => {
                let with = |candidate: &String| self.holds_for(Some(std::slice::from_ref(candidate)), context);
                match effect {
                    Effect::Deny => candidates.iter().any(with),
                    Effect::Allow => candidates.iter().all(with),
                }
            }
            present => self.holds_for(present.map(ConditionValue::values), context),
        }
    }

    /// Evaluates this condition with `present` as the key's values (`None`: absent).
    fn holds_for(&self, present: Option<&[String]>, context: &RequestContext<'_>) -> bool {
        let Operator { set, if_exists, negated, .. } = self.operator;
        if let Test::Null(expected) = &self.test {
            return expected.contains(&present.is_none());
        }
        let Some(request_values) = present else {
            return match set {
                _ if if_exists => true,
                SetQualifier::ForAllValues => true,
                SetQualifier::ForAnyValue => false,
                SetQualifier::Plain => negated,
            };
        };
        let satisfied = |value: &String| self.test.matches(value, context) != negated;
        match set {
            SetQualifier::ForAllValues => request_values.iter().all(satisfied),
            SetQualifier::ForAnyValue => request_values.iter().any(satisfied),
            SetQualifier::Plain if negated => request_values.iter().all(satisfied),
            SetQualifier::Plain => request_values.iter().any(satisfied),
        }
    }
}

impl Test {
    /// The positive form: does the request value match any of the policy values?
    fn matches(&self, request: &str, context: &RequestContext<'_>) -> bool {
        match self {
            Test::String(mode, patterns) => patterns.iter().any(|pattern| {
                pattern.resolve(context).is_some_and(|policy| match mode {
                    StringMode::Exact => policy == request,
                    StringMode::IgnoreCase => policy.to_lowercase() == request.to_lowercase(),
                    StringMode::Like => wildcard_match(&policy, request),
                })
            }),
            Test::Arn(patterns) => {
                patterns.iter().any(|pattern| pattern.resolve(context).is_some_and(|policy| arn_match(&policy, request)))
            }
            Test::Numeric(cmp, policy) => parse_number(request).is_some_and(|request| policy.iter().any(|&p| cmp.holds(request, p))),
            Test::Date(cmp, policy) => parse_date(request).is_some_and(|request| policy.iter().any(|&p| cmp.holds(request, p))),
            Test::Bool(policy) => parse_bool(request).is_some_and(|r| policy.contains(&r)),
            Test::Binary(policy) => policy.iter().any(|p| p == request),
            Test::Ip(ranges) => ranges.iter().any(|range| range.contains(request)),
            Test::Null(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::Principal;

    /// Checks cases, one a line: `+ <Condition element>` must hold, `- <…>` must not, against a
    /// context with typical KMS keys. Lines starting with `//` are comments.
    fn check(cases: &str) {
        let alice = Principal::User { account: "111122223333".into(), name: "alice".into(), unique_id: "AIDA".into() };
        let context = RequestContext::new(&alice, "kms:Decrypt", "arn:aws:kms:us-east-1:1:key/k")
            .with_value("kms:CallerAccount", "111122223333")
            .with_value("kms:EncryptionContext:Dept", "Sales")
            .with_values("kms:EncryptionContextKeys", ["Dept", "Project"])
            .with_values("kms:GrantOperations", Vec::<String>::new())
            .with_value("kms:GrantIsForAWSResource", "true")
            .with_value("n", "42")
            .with_value("aws:CurrentTime", "2024-05-01T12:00:00Z")
            .with_value("aws:SourceIp", "203.0.113.9")
            .with_value("kms:ViaService", "s3.us-east-1.amazonaws.com")
            .with_value("blob", "QUJD");
        let mut checked = 0;
        for line in cases.lines().map(str::trim) {
            let (expected, condition) = match line.split_at(line.len().min(2)) {
                ("+ ", condition) => (true, condition),
                ("- ", condition) => (false, condition),
                _ if line.is_empty() || line.starts_with("//") => continue,
                _ => panic!("bad case line: {line}"),
            };
            let value: Value = serde_json::from_str(condition).unwrap();
            let conditions = parse_conditions(&value, true).unwrap();
            for effect in [Effect::Allow, Effect::Deny] {
                let holds = conditions.iter().all(|c| c.holds(&context, effect));
                assert_eq!(holds, expected, "{condition} ({effect:?})");
            }
            checked += 1;
        }
        assert!(checked > 0);
    }

    #[test]
    fn string_operators() {
        check(
            r#"
            + {"StringEquals": {"kms:CallerAccount": "111122223333"}}
            + {"StringEquals": {"KMS:CALLERACCOUNT": ["1", "111122223333"]}}
            - {"StringEquals": {"kms:EncryptionContext:Dept": "sales"}}
            + {"StringEqualsIgnoreCase": {"kms:EncryptionContext:Dept": "sales"}}
            - {"StringNotEqualsIgnoreCase": {"kms:EncryptionContext:Dept": "SALES"}}
            + {"StringNotEquals": {"kms:CallerAccount": ["1", "2"]}}
            - {"StringNotEquals": {"kms:CallerAccount": ["1", "111122223333"]}}
            + {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}
            + {"StringLike": {"kms:EncryptionContext:Dept": "S?les"}}
            - {"StringLike": {"kms:ViaService": "ec2.*"}}
            + {"StringNotLike": {"kms:ViaService": "ec2.*"}}
            - {"StringNotLike": {"kms:ViaService": "s3.*"}}
            + {"stringequals": {"aws:username": "${aws:username}"}}
            - {"StringEquals": {"aws:username": "${aws:SourceVpc}"}}
            "#,
        );
    }

    #[test]
    fn keys_and_blocks_are_anded() {
        check(
            r#"
            + {"StringEquals": {"kms:CallerAccount": "111122223333", "kms:EncryptionContext:Dept": "Sales"}}
            - {"StringEquals": {"kms:CallerAccount": "111122223333", "kms:EncryptionContext:Dept": "HR"}}
            - {"StringEquals": {"kms:CallerAccount": "111122223333"}, "Bool": {"kms:GrantIsForAWSResource": "false"}}
            + {}
            "#,
        );
    }

    #[test]
    fn absent_keys() {
        check(
            r#"
            - {"StringEquals": {"aws:SourceVpc": "vpc-1"}}
            + {"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}
            + {"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}}
            - {"StringEqualsIfExists": {"kms:CallerAccount": "1"}}
            + {"ArnNotLike": {"aws:SourceArn": "arn:aws:s3:::b"}}
            - {"NumericLessThan": {"missing": "5"}}
            + {"NumericLessThanIfExists": {"missing": "5"}}
            - {"StringEquals": {"kms:GrantOperations": "Decrypt"}}
            "#,
        );
    }

    #[test]
    fn null_operator() {
        check(
            r#"
            + {"Null": {"aws:SourceVpc": "true"}}
            - {"Null": {"aws:SourceVpc": false}}
            + {"Null": {"kms:EncryptionContextKeys": "false"}}
            - {"Null": {"kms:EncryptionContextKeys": true}}
            + {"Null": {"kms:GrantOperations": "true"}}
            "#,
        );
    }

    #[test]
    fn set_qualifiers() {
        check(
            r#"
            + {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Dept", "Project", "X"]}}
            - {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Dept"]}}
            + {"ForAllValues:StringEquals": {"missing": ["Dept"]}}
            + {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt"]}}
            + {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["Dept"]}}
            - {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["Other"]}}
            - {"ForAnyValue:StringEquals": {"missing": ["Dept"]}}
            + {"ForAnyValue:StringEqualsIfExists": {"missing": ["Dept"]}}
            + {"ForAnyValue:StringLike": {"kms:EncryptionContextKeys": "Proj*"}}
            + {"ForAnyValue:StringNotEquals": {"kms:EncryptionContextKeys": "Dept"}}
            - {"ForAllValues:StringNotEquals": {"kms:EncryptionContextKeys": "Dept"}}
            // Plain operators on a multivalued key: positive = any value, negated = no value.
            + {"StringEquals": {"kms:EncryptionContextKeys": "Dept"}}
            - {"StringNotEquals": {"kms:EncryptionContextKeys": "Dept"}}
            + {"StringNotEquals": {"kms:EncryptionContextKeys": "Other"}}
            "#,
        );
    }

    #[test]
    fn numeric_and_date_operators() {
        check(
            r#"
            + {"NumericEquals": {"n": 42}}
            + {"NumericNotEquals": {"n": "41"}}
            - {"NumericNotEquals": {"n": "42.0"}}
            + {"NumericLessThan": {"n": "43"}}
            - {"NumericLessThan": {"n": "42"}}
            + {"NumericLessThanEquals": {"n": "42"}}
            + {"NumericGreaterThan": {"n": "41.5"}}
            - {"NumericGreaterThanEquals": {"n": "43"}}
            - {"NumericEquals": {"kms:ViaService": "0"}}
            + {"DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}
            - {"DateGreaterThan": {"aws:CurrentTime": "2025-01-01"}}
            + {"DateEquals": {"aws:CurrentTime": "1714564800"}}
            + {"DateNotEquals": {"aws:CurrentTime": "2024-05-01"}}
            + {"DateGreaterThanEquals": {"aws:CurrentTime": "2024-05-01T12:00:00Z"}}
            - {"DateLessThanEquals": {"aws:CurrentTime": "2024-05-01T11:59:59Z"}}
            "#,
        );
    }

    #[test]
    fn bool_binary_ip_and_arn_operators() {
        check(
            r#"
            + {"Bool": {"kms:GrantIsForAWSResource": true}}
            - {"Bool": {"kms:GrantIsForAWSResource": "false"}}
            + {"BinaryEquals": {"blob": "QUJD"}}
            - {"BinaryEquals": {"blob": "QUJE"}}
            + {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "203.0.113.0/24"]}}
            - {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
            - {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
            + {"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:user/alice"}}
            + {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/a*"}}
            - {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}
            + {"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}
            - {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:*"}}
            "#,
        );
    }

    /// A key standing for several request values (`Stage` and `stage` in one encryption
    /// context): a Deny sees every candidate, an Allow must be satisfied by all of them.
    #[test]
    fn candidates_are_resolved_against_the_caller() {
        let alice = Principal::User { account: "111122223333".into(), name: "alice".into(), unique_id: "AIDA".into() };
        let context = RequestContext::new(&alice, "kms:Decrypt", "k")
            .with_family("kms:encryptioncontext:", || crate::policy::fold_names([("Stage", "Restricted"), ("stage", "Test")]));
        let cases = [
            (r#"{"StringEquals": {"kms:EncryptionContext:Stage": "Restricted"}}"#, true, false),
            (r#"{"StringEquals": {"kms:EncryptionContext:stage": "Test"}}"#, true, false),
            (r#"{"StringNotEquals": {"kms:EncryptionContext:Stage": "Test"}}"#, true, false),
            (r#"{"StringNotEquals": {"kms:EncryptionContext:Stage": ["Test", "Restricted"]}}"#, false, false),
            (r#"{"StringEquals": {"kms:EncryptionContext:Stage": ["Test", "Restricted"]}}"#, true, true),
            (r#"{"StringLike": {"kms:EncryptionContext:STAGE": "*"}}"#, true, true),
            (r#"{"Null": {"kms:EncryptionContext:Stage": "false"}}"#, true, true),
            (r#"{"StringEquals": {"kms:EncryptionContext:Other": "x"}}"#, false, false),
        ];
        for (condition, deny_holds, allow_holds) in cases {
            let value: Value = serde_json::from_str(condition).unwrap();
            let conditions = parse_conditions(&value, true).unwrap();
            assert_eq!(conditions[0].holds(&context, Effect::Deny), deny_holds, "Deny {condition}");
            assert_eq!(conditions[0].holds(&context, Effect::Allow), allow_holds, "Allow {condition}");
        }
    }

    #[test]
    fn grammar_errors() {
        for condition in [
            r#"{"StringEqualz": {"k": "v"}}"#,
            r#"{"NullIfExists": {"k": "true"}}"#,
            r#"{"ForAnyValue:Null": {"k": "true"}}"#,
            r#"{"StringEquals": "v"}"#,
            r#"{"StringEquals": {"": "v"}}"#,
            r#"{"StringEquals": {"k": []}}"#,
            r#"{"StringEquals": {"k": {"nested": 1}}}"#,
            r#"{"StringEquals": {"k": null}}"#,
            r#"{"NumericEquals": {"k": "ten"}}"#,
            r#"{"DateLessThan": {"k": "soon"}}"#,
            r#"{"Bool": {"k": "yes"}}"#,
            r#"{"IpAddress": {"k": "999.0.0.1"}}"#,
            r#"{"Null": {"k": "maybe"}}"#,
            r#"["StringEquals"]"#,
        ] {
            let value: Value = serde_json::from_str(condition).unwrap();
            assert!(parse_conditions(&value, true).is_err(), "{condition}");
        }
    }
}
