//! Condition operator names: `ForAnyValue:StringLikeIfExists` split into its parts.

/// `ForAnyValue:` / `ForAllValues:` (or neither), for multivalued keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SetQualifier {
    Plain,
    ForAnyValue,
    ForAllValues,
}

/// How the `String*` operators compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StringMode {
    Exact,
    IgnoreCase,
    Like,
}

/// The ordering test of the `Numeric*` and `Date*` operators (request value on the left).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Comparison {
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Comparison {
    /// `request <op> policy`.
    pub(crate) fn holds<T: PartialOrd>(self, request: T, policy: T) -> bool {
        match self {
            Comparison::Equal => request == policy,
            Comparison::Less => request < policy,
            Comparison::LessOrEqual => request <= policy,
            Comparison::Greater => request > policy,
            Comparison::GreaterOrEqual => request >= policy,
        }
    }
}

/// The operator family, which decides how the policy values are parsed and compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    String(StringMode),
    Arn,
    Numeric(Comparison),
    Date(Comparison),
    Bool,
    Binary,
    Ip,
    Null,
}

/// A parsed operator name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Operator {
    pub(crate) set: SetQualifier,
    pub(crate) if_exists: bool,
    pub(crate) family: Family,
    /// `StringNotEquals`, `NotIpAddress`, …: the opposite of the family's positive test.
    pub(crate) negated: bool,
}

impl Operator {
    /// Parses an operator name; `None` for unknown names and for `Null` with a qualifier or
    /// `IfExists`, which AWS does not define.
    ///
    /// Choice: names are matched case-insensitively.
    pub(crate) fn parse(name: &str) -> Option<Operator> {
        let lower = name.to_lowercase();
        let (set, rest) = if let Some(rest) = lower.strip_prefix("foranyvalue:") {
            (SetQualifier::ForAnyValue, rest)
        } else if let Some(rest) = lower.strip_prefix("forallvalues:") {
            (SetQualifier::ForAllValues, rest)
        } else {
            (SetQualifier::Plain, lower.as_str())
        };
        let (if_exists, base) = match rest.strip_suffix("ifexists") {
            Some(base) => (true, base),
            None => (false, rest),
        };
        let (family, negated) = base_operator(base)?;
        if family == Family::Null && (if_exists || set != SetQualifier::Plain) {
            return None;
        }
        Some(Operator { set, if_exists, family, negated })
    }
}

/// Looks up a lower-cased base operator: (family, negated).
fn base_operator(name: &str) -> Option<(Family, bool)> {
    use Comparison::*;
    use Family as F;
    Some(match name {
        "stringequals" => (F::String(StringMode::Exact), false),
        "stringnotequals" => (F::String(StringMode::Exact), true),
        "stringequalsignorecase" => (F::String(StringMode::IgnoreCase), false),
        "stringnotequalsignorecase" => (F::String(StringMode::IgnoreCase), true),
        "stringlike" => (F::String(StringMode::Like), false),
        "stringnotlike" => (F::String(StringMode::Like), true),
        "arnequals" | "arnlike" => (F::Arn, false),
        "arnnotequals" | "arnnotlike" => (F::Arn, true),
        "numericequals" => (F::Numeric(Equal), false),
        "numericnotequals" => (F::Numeric(Equal), true),
        "numericlessthan" => (F::Numeric(Less), false),
        "numericlessthanequals" => (F::Numeric(LessOrEqual), false),
        "numericgreaterthan" => (F::Numeric(Greater), false),
        "numericgreaterthanequals" => (F::Numeric(GreaterOrEqual), false),
        "dateequals" => (F::Date(Equal), false),
        "datenotequals" => (F::Date(Equal), true),
        "datelessthan" => (F::Date(Less), false),
        "datelessthanequals" => (F::Date(LessOrEqual), false),
        "dategreaterthan" => (F::Date(Greater), false),
        "dategreaterthanequals" => (F::Date(GreaterOrEqual), false),
        "bool" => (F::Bool, false),
        "binaryequals" => (F::Binary, false),
        "ipaddress" => (F::Ip, false),
        "notipaddress" => (F::Ip, true),
        "null" => (F::Null, false),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_qualifiers_and_suffixes() {
        let op = Operator::parse("ForAnyValue:StringNotLikeIfExists").unwrap();
        assert_eq!(op.set, SetQualifier::ForAnyValue);
        assert!(op.if_exists && op.negated);
        assert_eq!(op.family, Family::String(StringMode::Like));
        let op = Operator::parse("forallvalues:stringequals").unwrap();
        assert_eq!((op.set, op.if_exists, op.negated), (SetQualifier::ForAllValues, false, false));
        let op = Operator::parse("NumericLessThanEqualsIfExists").unwrap();
        assert_eq!(op.family, Family::Numeric(Comparison::LessOrEqual));
        assert!(Operator::parse("NotIpAddress").unwrap().negated);
        assert_eq!(Operator::parse("ArnLike").unwrap().family, Family::Arn);
    }

    #[test]
    fn refuses_unknown_and_undefined_forms() {
        for name in ["StringEqualz", "NullIfExists", "ForAnyValue:Null", "ForSomeValues:StringEquals", "IfExists", ""] {
            assert_eq!(Operator::parse(name), None, "{name}");
        }
    }

    #[test]
    fn comparisons_put_the_request_value_first() {
        assert!(Comparison::Less.holds(1, 2));
        assert!(!Comparison::Less.holds(2, 2));
        assert!(Comparison::LessOrEqual.holds(2, 2));
        assert!(Comparison::Greater.holds(3, 2));
        assert!(Comparison::GreaterOrEqual.holds(2, 2));
        assert!(Comparison::Equal.holds(2.0, 2.0));
    }
}
