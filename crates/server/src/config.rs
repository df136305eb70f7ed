//! The config file (`--config`, TOML): settings, accounts, IAM users and roles with their access
//! keys and identity policies, and seeded keys. Unknown fields and bad values stop start-up with a
//! message that names them.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use keytrail_iam::policy::{PolicyDocument, PolicyKind};
use serde::Deserialize;

/// The whole file.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--account-id`.
    pub default_account: Option<String>,
    /// `--region`.
    pub default_region: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--events-out`.
    pub events_out: Option<String>,
    /// `--verify-signatures`.
    pub verify_signatures: Option<bool>,
    /// `--strict-credentials`.
    pub strict_credentials: Option<bool>,
    /// `--trail-dir`: where trail log files go when there is no data dir.
    pub trail_dir: Option<PathBuf>,
    /// `--control-token`: with `--strict-credentials`, the control API answers a request that
    /// sends `Authorization: Bearer <token>` (at least 16 visible ASCII characters).
    pub control_token: Option<String>,
    /// With `--strict-credentials`, the principals (ARNs of configured users, roles or role
    /// sessions) whose verified SigV4-signed requests the control API answers. A role's ARN
    /// admits every session of the role.
    #[serde(default)]
    pub control_principals: Vec<String>,
    /// `--max-connections`: most client connections served at once; more wait to be accepted.
    pub max_connections: Option<usize>,
    /// `--enforcement`: `strict` (the default) or `report`.
    pub enforcement: Option<crate::options::Enforcement>,
    /// `--s3-endpoint`: the S3-compatible store trails deliver to.
    pub s3_endpoint: Option<String>,
    /// The `errorCode` written in records of denied calls. AWS publishes no KMS denial record;
    /// the API error is `AccessDeniedException`, while many detections key on `AccessDenied`
    /// (cloudtrail-for-kms.md §5), so it is configurable. Default: `AccessDeniedException`.
    pub access_denied_error_code: Option<String>,
    /// Accounts and their aliases.
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    /// IAM users.
    #[serde(default)]
    pub users: Vec<UserConfig>,
    /// IAM roles and their sessions.
    #[serde(default)]
    pub roles: Vec<RoleConfig>,
    /// Seeded keys.
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
}

/// `[[accounts]]`.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// 12 digits.
    pub id: String,
    /// Shown as the root's `userName`.
    pub alias: Option<String>,
}

/// `[[users]]`.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Owning account.
    pub account: String,
    /// User name.
    pub name: String,
    /// Its access key id.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// Identity policies (JSON text).
    #[serde(default)]
    pub policies: Vec<String>,
    /// IAM tags, `{ team = "blue" }`: `aws:PrincipalTag/<key>` in policies.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// `[[roles]]`.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// Owning account.
    pub account: String,
    /// Role name.
    pub name: String,
    /// Identity policies (JSON text).
    #[serde(default)]
    pub policies: Vec<String>,
    /// IAM tags of the role, which its sessions carry: `aws:PrincipalTag/<key>` in policies.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Sessions, each with its own temporary-style access key.
    #[serde(default)]
    pub sessions: Vec<SessionConfig>,
    /// Who may assume the role through STS `AssumeRole` (JSON); without one, AWS's default for a
    /// role trusting its own account: its principals may, when their policies allow `sts:AssumeRole`.
    pub trust_policy: Option<String>,
    /// The longest session `AssumeRole` may ask for, in seconds: 3600 (IAM's default) to 43200.
    pub max_session_duration: Option<u32>,
}

/// A role session.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// Session name.
    pub name: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret.
    pub secret_access_key: String,
    /// The session token (`X-Amz-Security-Token`) that goes with the key, as AWS issues one with
    /// every set of temporary credentials. With `--verify-signatures` a request must carry it;
    /// a session configured without one cannot be used then (see `SessionToken::Session`).
    pub session_token: Option<String>,
}

/// `[[keys]]`: a seeded key with a fixed id (and optionally fixed material).
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// Owning account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Fixed key id (UUID or `mrk-` + 32 hex).
    pub key_id: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Any `KeySpec` (default `SYMMETRIC_DEFAULT`).
    pub key_spec: Option<String>,
    /// A `KeyUsage` the spec allows (default: the spec's first, `ENCRYPT_DECRYPT` for
    /// symmetric keys, `SIGN_VERIFY` for asymmetric ones, `GENERATE_VERIFY_MAC` for HMAC).
    pub key_usage: Option<String>,
    /// Symmetric keys: material versions as 64 hex characters, oldest first; the last is
    /// current. HMAC keys: one version, the key's bytes in hex (HMAC_256: 64 characters).
    #[serde(default)]
    pub material_hex: Vec<String>,
    /// Asymmetric keys: the private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), checked
    /// against the spec; a fresh key is generated when absent.
    pub private_key_pem: Option<String>,
    /// Aliases pointing at the key.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Key policy (JSON text); the default key policy otherwise.
    pub policy: Option<String>,
    /// Automatic rotation period; rotation is enabled when set.
    pub rotation_period_days: Option<u32>,
}

/// A config that could not be used; the message names the file, field and value at fault.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_account(s: &str) -> bool {
    keytrail_iam::names::is_account_id(s)
}

/// Shortest `control_token` accepted: a bearer credential that guards `reset`.
pub const MIN_CONTROL_TOKEN_LEN: usize = 16;

/// Whether `token` may be a `control_token`: long enough, and visible ASCII only (it travels in
/// an HTTP header). The message names the rule, never the token.
pub fn check_control_token(token: &str) -> Result<(), ConfigError> {
    if token.len() < MIN_CONTROL_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError(format!(
            "control_token must be at least {MIN_CONTROL_TOKEN_LEN} visible ASCII characters (no spaces), e.g. the output of `openssl rand -hex 16`"
        )));
    }
    Ok(())
}

fn is_key_id(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok_and(|u| u.hyphenated().to_string() == s)
        || s.strip_prefix("mrk-").is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
}

/// IAM's tag rules (IAM User Guide, "Tagging IAM resources"): keys of 1–128 characters, not
/// starting with `aws:`, unique regardless of case; values of at most 256 characters.
fn check_tags(tags: &BTreeMap<String, String>, owner: &str) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 || k.to_ascii_lowercase().starts_with("aws:") {
            return Err(ConfigError(format!("{owner}: tags: key \"{k}\" must be 1-128 characters and not start with aws:")));
        }
        if v.chars().count() > 256 {
            return Err(ConfigError(format!("{owner}: tags: the value of \"{k}\" is longer than 256 characters")));
        }
        if !seen.insert(k.to_lowercase()) {
            return Err(ConfigError(format!("{owner}: tags: key \"{k}\" is used twice (IAM tag keys are case-insensitive)")));
        }
    }
    Ok(())
}

impl ConfigFile {
    /// Parses and validates config text.
    pub fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
        let cfg: ConfigFile = toml::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads, parses and validates a config file.
    pub fn load(path: &std::path::Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError(format!("cannot read config {}: {e}", path.display())))?;
        ConfigFile::parse(&text).map_err(|e| ConfigError(format!("config {}: {}", path.display(), e.0)))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError(m));
        if let Some(c) = &self.access_denied_error_code {
            if c != "AccessDenied" && c != "AccessDeniedException" {
                return bad(format!("access_denied_error_code = \"{c}\" must be AccessDenied or AccessDeniedException"));
            }
        }
        if let Some(url) = &self.s3_endpoint {
            crate::cloudtrail_api::check_s3_endpoint(url).map_err(|e| ConfigError(format!("s3_endpoint: {e}")))?;
        }
        for (field, v) in [("default_account", &self.default_account)] {
            if let Some(v) = v {
                if !is_account(v) {
                    return bad(format!("{field} = \"{v}\" is not a 12-digit account id"));
                }
            }
        }
        if let Some(r) = &self.default_region {
            if !keytrail_iam::names::is_region_name(r) {
                return bad(format!("default_region = \"{r}\" is not a region name (like us-east-1)"));
            }
        }
        if let Some(t) = &self.control_token {
            check_control_token(t)?;
        }
        if self.max_connections == Some(0) {
            return bad("max_connections = 0: at least one connection must be allowed".into());
        }
        for a in &self.accounts {
            if !is_account(&a.id) {
                return bad(format!("accounts.id = \"{}\" is not a 12-digit account id", a.id));
            }
            if let Some(alias) = &a.alias {
                if !keytrail_iam::names::is_account_alias(alias) {
                    return bad(format!(
                        "accounts \"{}\": alias = \"{alias}\" is not an account alias (3-63 lower-case letters, digits and single dashes)",
                        a.id
                    ));
                }
            }
        }
        let mut access_keys = HashSet::new();
        let mut check_key = |id: &str, owner: &str| {
            if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(ConfigError(format!("{owner}: access_key_id \"{id}\" must be 1-128 letters and digits")));
            }
            if !access_keys.insert(id.to_string()) {
                return Err(ConfigError(format!("{owner}: access_key_id \"{id}\" is used twice")));
            }
            Ok(())
        };
        for u in &self.users {
            let owner = format!("users \"{}\"", u.name);
            if !keytrail_iam::names::is_user_name(&u.name) {
                return bad(format!("{owner}: name = \"{}\" is not an IAM user name (1-64 letters, digits and +=,.@_-)", u.name));
            }
            if !is_account(&u.account) {
                return bad(format!("{owner}: account = \"{}\" is not a 12-digit account id", u.account));
            }
            check_key(&u.access_key_id, &owner)?;
            check_tags(&u.tags, &owner)?;
            for p in &u.policies {
                PolicyDocument::parse(p, PolicyKind::IdentityPolicy).map_err(|e| ConfigError(format!("{owner}: policies: {e}")))?;
            }
        }
        for r in &self.roles {
            let owner = format!("roles \"{}\"", r.name);
            if !keytrail_iam::names::is_role_name(&r.name) {
                return bad(format!("{owner}: name = \"{}\" is not an IAM role name (1-64 letters, digits and +=,.@_-)", r.name));
            }
            if !is_account(&r.account) {
                return bad(format!("{owner}: account = \"{}\" is not a 12-digit account id", r.account));
            }
            for s in &r.sessions {
                let session = format!("{owner} session \"{}\"", s.name);
                if !keytrail_iam::names::is_role_session_name(&s.name) {
                    return bad(format!("{session}: name = \"{}\" is not a role session name (2-64 letters, digits and +=,.@_-)", s.name));
                }
                check_key(&s.access_key_id, &session)?;
                if let Some(t) = &s.session_token {
                    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic()) {
                        return bad(format!("{session}: session_token must be visible ASCII characters (no spaces), not empty"));
                    }
                }
            }
            check_tags(&r.tags, &owner)?;
            for p in &r.policies {
                PolicyDocument::parse(p, PolicyKind::IdentityPolicy).map_err(|e| ConfigError(format!("{owner}: policies: {e}")))?;
            }
            if let Some(p) = &r.trust_policy {
                PolicyDocument::parse(p, PolicyKind::TrustPolicy).map_err(|e| ConfigError(format!("{owner}: trust_policy: {e}")))?;
            }
            if let Some(d) = r.max_session_duration {
                if !keytrail_sts::roles::MAX_SESSION_SECONDS_RANGE.contains(&d) {
                    return bad(format!("{owner}: max_session_duration = {d} must be between 3600 and 43200 seconds"));
                }
            }
        }
        for arn in &self.control_principals {
            if !self.principal_arns().iter().any(|known| known == arn) {
                return bad(format!(
                    "control_principals: \"{arn}\" is not the ARN of a configured user (arn:aws:iam::<account>:user/<name>), role (arn:aws:iam::<account>:role/<name>) or role session (arn:aws:sts::<account>:assumed-role/<role>/<session>)"
                ));
            }
        }
        let mut key_ids = HashSet::new();
        for k in &self.keys {
            let owner = format!("keys \"{}\"", k.key_id);
            if !is_account(&k.account) {
                return bad(format!("{owner}: account = \"{}\" is not a 12-digit account id", k.account));
            }
            if !keytrail_iam::names::is_region_name(&k.region) {
                return bad(format!("{owner}: region = \"{}\" is not a region name", k.region));
            }
            if !is_key_id(&k.key_id) {
                return bad(format!("{owner}: key_id must be a lower-case UUID or mrk- followed by 32 hex characters"));
            }
            if !key_ids.insert((k.account.clone(), k.region.clone(), k.key_id.clone())) {
                return bad(format!("{owner}: key_id is used twice in the same account and region"));
            }
            k.check_material(&owner)?;
            for a in &k.aliases {
                let ok = a.starts_with("alias/")
                    && a.len() > 6
                    && !a.starts_with("alias/aws/")
                    && a.len() <= 256
                    && a.bytes().all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b));
                if !ok {
                    return bad(format!("{owner}: aliases: \"{a}\" is not a valid alias name (alias/<name>, not alias/aws/)"));
                }
            }
            if let Some(p) = &k.policy {
                PolicyDocument::parse(p, PolicyKind::KeyPolicy).map_err(|e| ConfigError(format!("{owner}: policy: {e}")))?;
            }
            if let Some(d) = k.rotation_period_days {
                if !(90..=2560).contains(&d) {
                    return bad(format!("{owner}: rotation_period_days = {d} must be between 90 and 2560"));
                }
                if k.spec() != "SYMMETRIC_DEFAULT" {
                    return bad(format!("{owner}: rotation_period_days applies to SYMMETRIC_DEFAULT keys only"));
                }
            }
        }
        Ok(())
    }
}

impl KeyConfig {
    /// The key spec (default `SYMMETRIC_DEFAULT`).
    pub fn spec(&self) -> &str {
        self.key_spec.as_deref().unwrap_or("SYMMETRIC_DEFAULT")
    }

    /// The key usage (default: the spec's first usage).
    pub fn usage(&self) -> String {
        let first = keytrail_kms::crypto::spec::spec(self.spec()).and_then(|s| s.usages.first().copied());
        self.key_usage.clone().unwrap_or_else(|| first.unwrap_or("ENCRYPT_DECRYPT").to_string())
    }

    /// The private key's DER, for an asymmetric key seeded with one (validated at load).
    pub fn private_key_der(&self) -> Option<zeroize::Zeroizing<Vec<u8>>> {
        let spec = keytrail_kms::crypto::spec::spec(self.spec())?;
        let pem = self.private_key_pem.as_deref()?;
        keytrail_kms::crypto::asymmetric::pkcs8_der_from_pem(spec, pem).ok()
    }

    /// Spec, usage, region and material agree with each other (messages never show the material).
    fn check_material(&self, owner: &str) -> Result<(), ConfigError> {
        use keytrail_kms::crypto::spec::Family;
        let bad = |m: String| Err(ConfigError(format!("{owner}: {m}")));
        let name = self.spec();
        let Some(spec) = keytrail_kms::crypto::spec::spec(name) else {
            let all: Vec<&str> = keytrail_kms::crypto::spec::SPECS.iter().map(|s| s.name).collect();
            return bad(format!("key_spec = \"{name}\" is not a KeySpec; use one of {}", all.join(", ")));
        };
        let usage = self.usage();
        if !spec.usages.contains(&usage.as_str()) {
            return bad(format!("key_usage = \"{usage}\" does not fit key_spec {name}; use {}", spec.usages.join(" or ")));
        }
        if spec.family == Family::Sm2 && !keytrail_kms::crypto::spec::SM2_REGIONS.contains(&self.region.as_str()) {
            return bad(format!("SM2 keys exist only in the China Regions ({})", keytrail_kms::crypto::spec::SM2_REGIONS.join(", ")));
        }
        let hex_bytes = match spec.family {
            Family::Symmetric => Some(32),
            Family::Hmac(bits) => Some(bits / 8),
            _ => None,
        };
        match hex_bytes {
            Some(n) => {
                if self.private_key_pem.is_some() {
                    return bad(format!("private_key_pem is for asymmetric keys; a {name} key takes material_hex"));
                }
                if spec.family != Family::Symmetric && self.material_hex.len() > 1 {
                    return bad("material_hex: an HMAC key has one material version".into());
                }
                for (i, m) in self.material_hex.iter().enumerate() {
                    if m.len() != 2 * n || !m.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return bad(format!("material_hex[{i}] must be {} hex characters ({n} bytes) for {name}", 2 * n));
                    }
                }
            }
            None => {
                if !self.material_hex.is_empty() {
                    return bad(format!("material_hex is for symmetric and HMAC keys; a {name} key takes private_key_pem"));
                }
                if let Some(pem) = &self.private_key_pem {
                    keytrail_kms::crypto::asymmetric::pkcs8_der_from_pem(spec, pem)
                        .map_err(|e| ConfigError(format!("{owner}: private_key_pem {e}")))?;
                }
            }
        }
        Ok(())
    }
}

impl ConfigFile {
    /// The ARNs a `control_principals` entry may name: each configured user, role and role session.
    pub fn principal_arns(&self) -> Vec<String> {
        let mut arns: Vec<String> = self.users.iter().map(|u| format!("arn:aws:iam::{}:user/{}", u.account, u.name)).collect();
        for r in &self.roles {
            arns.push(format!("arn:aws:iam::{}:role/{}", r.account, r.name));
            arns.extend(r.sessions.iter().map(|s| format!("arn:aws:sts::{}:assumed-role/{}/{}", r.account, r.name, s.name)));
        }
        arns
    }
}

impl std::fmt::Debug for ConfigFile {
    /// Secrets (secret keys, key material) are never printed: only counts.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigFile")
            .field("accounts", &self.accounts.len())
            .field("users", &self.users.len())
            .field("roles", &self.roles.len())
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_bad_values_are_named() {
        let e = ConfigFile::parse("default_acount = \"111122223333\"").err().unwrap();
        assert!(e.0.contains("default_acount"), "{e}");
        let e = ConfigFile::parse("[[users]]\naccount=\"1\"\nname=\"a\"\naccess_key_id=\"AK\"\nsecret_access_key=\"s\"").err().unwrap();
        assert!(e.0.contains("account = \"1\""), "{e}");
        let e = ConfigFile::parse("[[keys]]\naccount=\"111122223333\"\nregion=\"us-east-1\"\nkey_id=\"11111111-2222-3333-4444-555555555555\"\nmaterial_hex=[\"abc\"]").err().unwrap();
        assert!(e.0.contains("material_hex[0]"), "{e}");
        let e = ConfigFile::parse("[[users]]\naccount=\"111122223333\"\nname=\"a\"\naccess_key_id=\"AK\"\nsecret_access_key=\"s\"\npolicies=['{\"Statement\":[]}']").err().unwrap();
        assert!(e.0.contains("users \"a\": policies"), "{e}");
        let user = "[[users]]\naccount=\"111122223333\"\nname=\"a\"\naccess_key_id=\"AK\"\nsecret_access_key=\"s\"\n";
        let e = ConfigFile::parse(&format!("{user}tags = {{ Team = \"a\", team = \"b\" }}")).err().unwrap();
        assert!(e.0.contains("users \"a\": tags: key \"team\" is used twice"), "{e}");
        let e = ConfigFile::parse(&format!("{user}tags = {{ \"aws:x\" = \"a\" }}")).err().unwrap();
        assert!(e.0.contains("tags: key \"aws:x\""), "{e}");
        let ok = ConfigFile::parse(&format!("{user}tags = {{ team = \"blue\", env = \"\" }}")).unwrap();
        assert_eq!(ok.users[0].tags.get("team").map(String::as_str), Some("blue"));
    }

    #[test]
    fn names_regions_tokens_and_control_principals_are_checked() {
        let user =
            |name: &str| format!("[[users]]\naccount=\"111122223333\"\nname=\"{name}\"\naccess_key_id=\"AK\"\nsecret_access_key=\"s\"\n");
        let e = ConfigFile::parse(&user("a/b")).err().unwrap();
        assert!(e.0.contains("name = \"a/b\" is not an IAM user name"), "{e}");
        let e = ConfigFile::parse("default_region = \"<script>\"").err().unwrap();
        assert!(e.0.contains("default_region = \"<script>\""), "{e}");
        let e = ConfigFile::parse("control_token = \"short\"").err().unwrap();
        assert!(e.0.contains("control_token must be at least 16") && !e.0.contains("short"), "{e}");
        let roles =
            "[[roles]]\naccount=\"444455556666\"\nname=\"app\"\nsessions=[{name=\"x\", access_key_id=\"ASIA1\", secret_access_key=\"s\"}]";
        let e = ConfigFile::parse(roles).err().unwrap();
        assert!(e.0.contains("session \"x\": name = \"x\" is not a role session name"), "{e}");
        let ok = format!("control_principals = [\"arn:aws:iam::111122223333:user/admin\"]\n{}", user("admin"));
        assert!(ConfigFile::parse(&ok).is_ok());
        let typo = format!("control_principals = [\"arn:aws:iam::111122223333:user/admn\"]\n{}", user("admin"));
        let e = ConfigFile::parse(&typo).err().unwrap();
        assert!(e.0.contains("\"arn:aws:iam::111122223333:user/admn\" is not the ARN of a configured"), "{e}");
        let e = ConfigFile::parse("[[accounts]]\nid=\"111122223333\"\nalias=\"Dev Team\"").err().unwrap();
        assert!(e.0.contains("alias = \"Dev Team\""), "{e}");
        let role = "[[roles]]\naccount=\"111122223333\"\nname=\"app\"\n";
        let e =
            ConfigFile::parse(&format!("{role}trust_policy='{{\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\"}}]}}'"))
                .err()
                .unwrap();
        assert!(e.0.contains("roles \"app\": trust_policy") && e.0.contains("missing Principal"), "{e}");
        let e = ConfigFile::parse(&format!("{role}max_session_duration=60")).err().unwrap();
        assert!(e.0.contains("max_session_duration = 60"), "{e}");
    }
}
