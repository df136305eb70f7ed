//! Wildcard and ARN matching, and policy variables (`${aws:username}`), shared by the Action,
//! Resource and Condition elements.

use std::borrow::Cow;

use super::context::RequestContext;

/// Matches `text` against `pattern`, where `*` matches any run of characters (including none)
/// and `?` exactly one character. Case-sensitive; callers lower-case both sides for
/// case-insensitive matching.
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    // Most patterns policies hold are `*`, `kms:*` or a literal ARN: those need no backtracking
    // (the general loop stepped a `*` through an 80-byte ARN one byte at a time, ~3% of a call).
    if !p.contains(&b'*') && !p.contains(&b'?') {
        return p == t;
    }
    let (mut pi, mut ti) = (0, 0);
    // After a `*`: where the pattern resumes, and the text position the `*` has consumed up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                pi += 1;
                if p[pi..].iter().all(|&byte| byte == b'*') {
                    return true;
                }
                star = Some((pi, ti));
            }
            Some(b'?') => {
                pi += 1;
                ti += utf8_len(t[ti]);
            }
            Some(&byte) if byte == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((resume, consumed)) => {
                    let consumed = consumed + utf8_len(t[consumed]);
                    star = Some((resume, consumed));
                    pi = resume;
                    ti = consumed;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&byte| byte == b'*')
}

/// The length of the UTF-8 sequence that starts with `first`, so `?` and `*` step whole characters.
fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// `ArnEquals`/`ArnLike` (identical in AWS): the six colon-separated components are matched one
/// by one, each with wildcards, so a `*` cannot cross a `:` except in the final resource part
/// (which may itself hold colons).
///
/// Choice: a pattern with fewer than six components (e.g. `"*"` or `arn:aws:iam::*`) is matched
/// as a whole string instead, and a value that is not an ARN never matches an ARN pattern.
pub(crate) fn arn_match(pattern: &str, value: &str) -> bool {
    if pattern.matches(':').count() < 5 {
        return wildcard_match(pattern, value);
    }
    if value.matches(':').count() < 5 {
        return false;
    }
    pattern.splitn(6, ':').zip(value.splitn(6, ':')).all(|(p, v)| wildcard_match(p, v))
}

/// A policy string that may contain policy variables (`${aws:username}`, `${key, 'default'}`,
/// `${*}`, `${?}`, `${$}`), which AWS substitutes only in policies with Version `2012-10-17`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pattern {
    text: String,
    has_variables: bool,
}

impl Pattern {
    /// Wraps `text`; variables are recognised only when `variables_enabled`.
    pub(crate) fn new(text: String, variables_enabled: bool) -> Self {
        let has_variables = variables_enabled && text.contains("${");
        Pattern { text, has_variables }
    }

    /// The text with variables replaced from `context`; `None` when a variable's key is absent
    /// (or multivalued) and has no default, in which case the pattern matches nothing.
    ///
    /// Choice: `${*}`, `${?}` and `${$}` produce the bare character, so in a `Like` operator the
    /// substituted `*`/`?` still acts as a wildcard (AWS would match it literally).
    pub(crate) fn resolve(&self, context: &RequestContext<'_>) -> Option<Cow<'_, str>> {
        if !self.has_variables {
            return Some(Cow::Borrowed(&self.text));
        }
        let mut out = String::with_capacity(self.text.len());
        let mut rest = self.text.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return Some(Cow::Owned(out));
            };
            if !substitute(&after[..end], context, &mut out) {
                return None;
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Some(Cow::Owned(out))
    }
}

/// Appends the value of one `${…}` variable to `out`; false when it cannot be resolved.
fn substitute(spec: &str, context: &RequestContext<'_>, out: &mut String) -> bool {
    let (name, default) = match spec.split_once(',') {
        Some((name, default)) => (name.trim(), Some(default.trim())),
        None => (spec.trim(), None),
    };
    if matches!(name, "*" | "?" | "$") {
        out.push_str(name);
        return true;
    }
    let from_context = context.values_of(&name.to_lowercase()).and_then(|values| match values {
        [single] => Some(single.as_str()),
        _ => None,
    });
    let default = default.and_then(|d| d.strip_prefix('\'')?.strip_suffix('\''));
    match from_context.or(default) {
        Some(value) => {
            out.push_str(value);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::Principal;

    #[test]
    fn wildcards_match_runs_and_single_characters() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("kms:gen*", "kms:generatedatakey"));
        assert!(!wildcard_match("kms:gen*", "kms:decrypt"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(wildcard_match("a*b*c", "axxbyyc"));
        assert!(!wildcard_match("a*b*c", "axxbyy"));
        assert!(wildcard_match("*key/*", "arn:aws:kms:us-east-1:1:key/abc"));
        assert!(!wildcard_match("abc", "abcd"));
        assert!(!wildcard_match("abcd", "abc"));
        assert!(wildcard_match("a**", "a"));
        assert!(wildcard_match("?é?", "xéy"));
        assert!(wildcard_match("*é", "ééé"));
        assert!(!wildcard_match("Alias/*", "alias/x"), "matching is case-sensitive");
    }

    /// Wildcard matching by its definition, one character at a time: what the loop and its
    /// shortcuts must agree with.
    fn matches_by_definition(pattern: &[char], text: &[char]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some(('*', rest)) => (0..=text.len()).any(|skip| matches_by_definition(rest, &text[skip..])),
            Some(('?', rest)) => !text.is_empty() && matches_by_definition(rest, &text[1..]),
            Some((c, rest)) => text.first() == Some(c) && matches_by_definition(rest, &text[1..]),
        }
    }

    proptest::proptest! {
        #[test]
        fn wildcard_match_is_the_definition(pattern in "[ab:*?é/]{0,8}", text in "[ab:é/]{0,10}") {
            let chars = |s: &str| s.chars().collect::<Vec<_>>();
            proptest::prop_assert_eq!(wildcard_match(&pattern, &text), matches_by_definition(&chars(&pattern), &chars(&text)));
        }
    }

    #[test]
    fn arn_match_is_component_wise() {
        let key = "arn:aws:kms:us-east-1:111122223333:key/1234";
        assert!(arn_match("arn:aws:kms:*:111122223333:key/*", key));
        assert!(arn_match(key, key));
        assert!(!arn_match("arn:aws:kms:*:444455556666:key/*", key));
        // A `*` in the region component cannot swallow another component.
        let pattern = "arn:aws:kms:*:111122223333:key/1234";
        assert!(wildcard_match(pattern, "arn:aws:kms:us-east-1:x:111122223333:key/1234"));
        assert!(!arn_match(pattern, "arn:aws:kms:us-east-1:x:111122223333:key/1234"));
        // Fewer than six components: matched as a whole string.
        assert!(arn_match("arn:aws:kms:*", key));
        assert!(arn_match("arn:aws:kms:us-east-?:111122223333:key/12*", key));
        assert!(arn_match("*", key));
        assert!(!arn_match("arn:aws:kms:*:*:*", "not-an-arn"));
        assert!(arn_match("arn:aws:sts::*:assumed-role/app/*", "arn:aws:sts::444455556666:assumed-role/app/ci"));
    }

    #[test]
    fn variables_resolve_from_the_context() {
        let user = Principal::User { account: "111122223333".into(), name: "alice".into(), unique_id: "AIDA".into() };
        let context = RequestContext::new(&user, "kms:Decrypt", "k");
        let pattern = Pattern::new("home/${aws:username}/*".into(), true);
        assert_eq!(pattern.resolve(&context).as_deref(), Some("home/alice/*"));
        let missing = Pattern::new("x/${aws:SourceVpc}".into(), true);
        assert_eq!(missing.resolve(&context), None);
        let defaulted = Pattern::new("x/${aws:SourceVpc, 'none'}".into(), true);
        assert_eq!(defaulted.resolve(&context).as_deref(), Some("x/none"));
        let disabled = Pattern::new("home/${aws:username}".into(), false);
        assert_eq!(disabled.resolve(&context).as_deref(), Some("home/${aws:username}"));
        let escaped = Pattern::new("a${$}b".into(), true);
        assert_eq!(escaped.resolve(&context).as_deref(), Some("a$b"));
    }
}
