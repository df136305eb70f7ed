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
//!   always the exact opposite of its positive form.

use serde_json::Value;

use super::context::RequestContext;
use super::matching::{arn_match, wildcard_match, Pattern};
use super::operand::{parse_bool, parse_date, parse_number, Cidr};
use super::operator::{Comparison, Family, Operator, SetQualifier, StringMode};

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
        let operator = Operator::parse(name)
            .ok_or_else(|| format!("unknown condition operator \"{name}\""))?;
        let Value::Object(keys) = block else {
            return Err(format!(
                "the {name} condition must map condition keys to values"
            ));
        };
        for (key, values) in keys {
            let invalid = || format!("invalid value for {name} condition key \"{key}\"");
            if key.is_empty() {
                return Err(format!("the {name} condition has an empty condition key"));
            }
            let values = condition_values(values).ok_or_else(invalid)?;
            let test = parse_test(operator.family, &values, variables).ok_or_else(invalid)?;
            conditions.push(Condition {
                key: key.to_lowercase(),
                operator,
                test,
            });
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
    let patterns = || {
        values
            .iter()
            .map(|v| Pattern::new(v.clone(), variables))
            .collect()
    };
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
    /// Evaluates this condition against the request.
    pub(crate) fn holds(&self, context: &RequestContext<'_>) -> bool {
        let Operator {
            set,
            if_exists,
            negated,
            ..
        } = self.operator;
        let present = context.values_of(&self.key);
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
            Test::Arn(patterns) => patterns.iter().any(|pattern| {
                pattern
                    .resolve(context)
                    .is_some_and(|policy| arn_match(&policy, request))
            }),
            Test::Numeric(cmp, policy) => parse_number(request)
                .is_some_and(|request| policy.iter().any(|&p| cmp.holds(request, p))),
            Test::Date(cmp, policy) => parse_date(request)
                .is_some_and(|request| policy.iter().any(|&p| cmp.holds(request, p))),
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

    /// Checks `(expected, Condition element)` pairs against a context with typical KMS keys.
    fn check(cases: &[(bool, &str)]) {
        let alice = Principal::User {
            account: "111122223333".into(),
            name: "alice".into(),
            unique_id: "AIDA".into(),
        };
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
        for (expected, condition) in cases {
            let value: Value = serde_json::from_str(condition).unwrap();
            let conditions = parse_conditions(&value, true).unwrap();
            let holds = conditions.iter().all(|c| c.holds(&context));
            assert_eq!(holds, *expected, "{condition}");
        }
    }

    #[test]
    fn string_operators() {
        check(&[
            (
                true,
                r#"{"StringEquals": {"kms:CallerAccount": "111122223333"}}"#,
            ),
            (
                true,
                r#"{"StringEquals": {"KMS:CALLERACCOUNT": ["1", "111122223333"]}}"#,
            ),
            (
                false,
                r#"{"StringEquals": {"kms:EncryptionContext:Dept": "sales"}}"#,
            ),
            (
                true,
                r#"{"StringEqualsIgnoreCase": {"kms:EncryptionContext:Dept": "sales"}}"#,
            ),
            (
                false,
                r#"{"StringNotEqualsIgnoreCase": {"kms:EncryptionContext:Dept": "SALES"}}"#,
            ),
            (
                true,
                r#"{"StringNotEquals": {"kms:CallerAccount": ["1", "2"]}}"#,
            ),
            (
                false,
                r#"{"StringNotEquals": {"kms:CallerAccount": ["1", "111122223333"]}}"#,
            ),
            (
                true,
                r#"{"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}"#,
            ),
            (
                true,
                r#"{"StringLike": {"kms:EncryptionContext:Dept": "S?les"}}"#,
            ),
            (false, r#"{"StringLike": {"kms:ViaService": "ec2.*"}}"#),
            (true, r#"{"StringNotLike": {"kms:ViaService": "ec2.*"}}"#),
            (false, r#"{"StringNotLike": {"kms:ViaService": "s3.*"}}"#),
            (
                true,
                r#"{"stringequals": {"aws:username": "${aws:username}"}}"#,
            ),
            (
                false,
                r#"{"StringEquals": {"aws:username": "${aws:SourceVpc}"}}"#,
            ),
        ]);
    }

    #[test]
    fn keys_and_blocks_are_anded() {
        check(&[
            (
                true,
                r#"{"StringEquals": {"kms:CallerAccount": "111122223333", "kms:EncryptionContext:Dept": "Sales"}}"#,
            ),
            (
                false,
                r#"{"StringEquals": {"kms:CallerAccount": "111122223333", "kms:EncryptionContext:Dept": "HR"}}"#,
            ),
            (
                false,
                r#"{"StringEquals": {"kms:CallerAccount": "111122223333"}, "Bool": {"kms:GrantIsForAWSResource": "false"}}"#,
            ),
            (true, r#"{}"#),
        ]);
    }

    #[test]
    fn absent_keys() {
        check(&[
            (false, r#"{"StringEquals": {"aws:SourceVpc": "vpc-1"}}"#),
            (true, r#"{"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}"#),
            (
                true,
                r#"{"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}}"#,
            ),
            (
                false,
                r#"{"StringEqualsIfExists": {"kms:CallerAccount": "1"}}"#,
            ),
            (
                true,
                r#"{"ArnNotLike": {"aws:SourceArn": "arn:aws:s3:::b"}}"#,
            ),
            (false, r#"{"NumericLessThan": {"missing": "5"}}"#),
            (true, r#"{"NumericLessThanIfExists": {"missing": "5"}}"#),
            (
                false,
                r#"{"StringEquals": {"kms:GrantOperations": "Decrypt"}}"#,
            ),
        ]);
    }

    #[test]
    fn null_operator() {
        check(&[
            (true, r#"{"Null": {"aws:SourceVpc": "true"}}"#),
            (false, r#"{"Null": {"aws:SourceVpc": false}}"#),
            (true, r#"{"Null": {"kms:EncryptionContextKeys": "false"}}"#),
            (false, r#"{"Null": {"kms:EncryptionContextKeys": true}}"#),
            (true, r#"{"Null": {"kms:GrantOperations": "true"}}"#),
        ]);
    }

    #[test]
    fn set_qualifiers() {
        check(&[
            (
                true,
                r#"{"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Dept", "Project", "X"]}}"#,
            ),
            (
                false,
                r#"{"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Dept"]}}"#,
            ),
            (
                true,
                r#"{"ForAllValues:StringEquals": {"missing": ["Dept"]}}"#,
            ),
            (
                true,
                r#"{"ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt"]}}"#,
            ),
            (
                true,
                r#"{"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["Dept"]}}"#,
            ),
            (
                false,
                r#"{"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["Other"]}}"#,
            ),
            (
                false,
                r#"{"ForAnyValue:StringEquals": {"missing": ["Dept"]}}"#,
            ),
            (
                true,
                r#"{"ForAnyValue:StringEqualsIfExists": {"missing": ["Dept"]}}"#,
            ),
            (
                true,
                r#"{"ForAnyValue:StringLike": {"kms:EncryptionContextKeys": "Proj*"}}"#,
            ),
            (
                true,
                r#"{"ForAnyValue:StringNotEquals": {"kms:EncryptionContextKeys": "Dept"}}"#,
            ),
            (
                false,
                r#"{"ForAllValues:StringNotEquals": {"kms:EncryptionContextKeys": "Dept"}}"#,
            ),
            // Plain operators on a multivalued key: positive = any value, negated = no value.
            (
                true,
                r#"{"StringEquals": {"kms:EncryptionContextKeys": "Dept"}}"#,
            ),
            (
                false,
                r#"{"StringNotEquals": {"kms:EncryptionContextKeys": "Dept"}}"#,
            ),
            (
                true,
                r#"{"StringNotEquals": {"kms:EncryptionContextKeys": "Other"}}"#,
            ),
        ]);
    }

    #[test]
    fn numeric_and_date_operators() {
        check(&[
            (true, r#"{"NumericEquals": {"n": 42}}"#),
            (true, r#"{"NumericNotEquals": {"n": "41"}}"#),
            (false, r#"{"NumericNotEquals": {"n": "42.0"}}"#),
            (true, r#"{"NumericLessThan": {"n": "43"}}"#),
            (false, r#"{"NumericLessThan": {"n": "42"}}"#),
            (true, r#"{"NumericLessThanEquals": {"n": "42"}}"#),
            (true, r#"{"NumericGreaterThan": {"n": "41.5"}}"#),
            (false, r#"{"NumericGreaterThanEquals": {"n": "43"}}"#),
            (false, r#"{"NumericEquals": {"kms:ViaService": "0"}}"#),
            (
                true,
                r#"{"DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}"#,
            ),
            (
                false,
                r#"{"DateGreaterThan": {"aws:CurrentTime": "2025-01-01"}}"#,
            ),
            (true, r#"{"DateEquals": {"aws:CurrentTime": "1714564800"}}"#),
            (
                true,
                r#"{"DateNotEquals": {"aws:CurrentTime": "2024-05-01"}}"#,
            ),
            (
                true,
                r#"{"DateGreaterThanEquals": {"aws:CurrentTime": "2024-05-01T12:00:00Z"}}"#,
            ),
            (
                false,
                r#"{"DateLessThanEquals": {"aws:CurrentTime": "2024-05-01T11:59:59Z"}}"#,
            ),
        ]);
    }

    #[test]
    fn bool_binary_ip_and_arn_operators() {
        check(&[
            (true, r#"{"Bool": {"kms:GrantIsForAWSResource": true}}"#),
            (false, r#"{"Bool": {"kms:GrantIsForAWSResource": "false"}}"#),
            (true, r#"{"BinaryEquals": {"blob": "QUJD"}}"#),
            (false, r#"{"BinaryEquals": {"blob": "QUJE"}}"#),
            (
                true,
                r#"{"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "203.0.113.0/24"]}}"#,
            ),
            (false, r#"{"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}"#),
            (
                false,
                r#"{"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            ),
            (
                true,
                r#"{"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:user/alice"}}"#,
            ),
            (
                true,
                r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/a*"}}"#,
            ),
            (
                false,
                r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}"#,
            ),
            (
                true,
                r#"{"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}"#,
            ),
            (
                false,
                r#"{"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:*"}}"#,
            ),
        ]);
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
