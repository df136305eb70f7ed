//! The forms AWS allows for the names keytrail takes from its callers and its config: account
//! ids, region names, and IAM user, role, session and account-alias names.
//!
//! Why here: these strings end up in ARNs, records and file paths (a trail's log files live under
//! `AWSLogs/<account>/CloudTrail/<region>/`), so each is checked once against AWS's own rule
//! before keytrail uses it, whether it came from a flag, the config or a request's SigV4 scope.

/// A 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A region name as AWS forms them in every partition: `us-east-1`, `us-gov-west-1`,
/// `cn-north-1`, `us-isob-east-1`, `eusc-de-east-1` — lower-case words joined by dashes, at least
/// two of them, then a number of one or two digits.
///
/// Source: the `regionRegex` of each partition in botocore's `endpoints.json`
/// (`^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$`, `^cn\-\w+\-\d+$`, `^us\-gov\-\w+\-\d+$`, …),
/// generalised so that a region AWS opens next year is accepted, while anything that is not a
/// name (`<script>`, `..`, `us-east-1/x`, an empty string) is refused.
pub fn is_region_name(s: &str) -> bool {
    // Checked on every request (it is the caller's region): no allocation.
    let Some((words, number)) = s.rsplit_once('-') else { return false };
    let Some((first, _)) = words.split_once('-') else { return false };
    s.len() <= 32
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
        && (2..=4).contains(&first.len())
        && words.split('-').all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
}

/// IAM's name characters for users and roles: letters, digits and `+=,.@_-`
/// (IAM API Reference, `CreateUser`/`CreateRole`: pattern `[\w+=,.@-]+`).
fn is_iam_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b)
}

/// An IAM user name: 1-64 characters of `[\w+=,.@-]` (IAM API Reference, `CreateUser`, `UserName`).
pub fn is_user_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(is_iam_name_char)
}

/// An IAM role name: 1-64 characters of `[\w+=,.@-]` (IAM API Reference, `CreateRole`, `RoleName`).
pub fn is_role_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(is_iam_name_char)
}

/// A role session name: 2-64 characters of `[\w+=,.@-]` (STS API Reference, `AssumeRole`,
/// `RoleSessionName`).
pub fn is_role_session_name(s: &str) -> bool {
    (2..=64).contains(&s.len()) && s.bytes().all(is_iam_name_char)
}

/// An account alias: 3-63 lower-case letters, digits and single dashes, starting and ending with
/// a letter or digit (IAM API Reference, `CreateAccountAlias`: `^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$`).
pub fn is_account_alias(s: &str) -> bool {
    let b = s.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !s.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_of_every_partition_and_nothing_else() {
        for ok in [
            "us-east-1",
            "eu-west-3",
            "ap-southeast-5",
            "us-gov-west-1",
            "cn-north-1",
            "us-isob-east-1",
            "eusc-de-east-1",
            "il-central-1",
            "mx-central-1",
        ] {
            assert!(is_region_name(ok), "{ok}");
        }
        for bad in [
            "",
            "<script>",
            "us-east",
            "east-1",
            "us-east-1/x",
            "../us-east-1",
            "US-EAST-1",
            "us-east-100",
            "us--east-1",
            "useast-1",
            "u-east-1",
            "a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-1",
        ] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }

    #[test]
    fn iam_names() {
        assert!(is_account_id("111122223333") && !is_account_id("11112222333/") && !is_account_id("1111222233334"));
        assert!(is_user_name("alice") && is_user_name("a.b+c=d,e@f_g-h") && !is_user_name("") && !is_user_name("a/b"));
        assert!(is_user_name(&"a".repeat(64)) && !is_user_name(&"a".repeat(65)));
        assert!(is_role_name("app") && !is_role_name("app role"));
        assert!(is_role_session_name("ci") && !is_role_session_name("c") && !is_role_session_name("a:b"));
        assert!(is_account_alias("dev") && is_account_alias("my-team-1"));
        for bad in ["de", "-dev", "dev-", "d--v", "Dev", "d_v"] {
            assert!(!is_account_alias(bad), "{bad}");
        }
    }
}
