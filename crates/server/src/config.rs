//! The config file (`--config`, TOML): settings, accounts, IAM users and roles with their access
//! keys and identity policies, and seeded keys. Unknown fields and bad values stop start-up with a
//! message that names them.

use std::collections::HashSet;
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
    /// Sessions, each with its own temporary-style access key.
    #[serde(default)]
    pub sessions: Vec<SessionConfig>,
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
    /// Only `SYMMETRIC_DEFAULT` for now.
    pub key_spec: Option<String>,
    /// Material versions as 64 hex characters, oldest first; the last is current.
    #[serde(default)]
    pub material_hex: Vec<String>,
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
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_key_id(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok_and(|u| u.hyphenated().to_string() == s)
        || s.strip_prefix("mrk-").is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
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
        for a in &self.accounts {
            if !is_account(&a.id) {
                return bad(format!("accounts.id = \"{}\" is not a 12-digit account id", a.id));
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
            if !is_account(&u.account) {
                return bad(format!("{owner}: account = \"{}\" is not a 12-digit account id", u.account));
            }
            check_key(&u.access_key_id, &owner)?;
            for p in &u.policies {
                PolicyDocument::parse(p, PolicyKind::IdentityPolicy).map_err(|e| ConfigError(format!("{owner}: policies: {e}")))?;
            }
        }
        for r in &self.roles {
            let owner = format!("roles \"{}\"", r.name);
            if !is_account(&r.account) {
                return bad(format!("{owner}: account = \"{}\" is not a 12-digit account id", r.account));
            }
            for s in &r.sessions {
                check_key(&s.access_key_id, &format!("{owner} session \"{}\"", s.name))?;
            }
            for p in &r.policies {
                PolicyDocument::parse(p, PolicyKind::IdentityPolicy).map_err(|e| ConfigError(format!("{owner}: policies: {e}")))?;
            }
        }
        let mut key_ids = HashSet::new();
        for k in &self.keys {
            let owner = format!("keys \"{}\"", k.key_id);
            if !is_account(&k.account) {
                return bad(format!("{owner}: account = \"{}\" is not a 12-digit account id", k.account));
            }
            if k.region.is_empty() || !k.region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return bad(format!("{owner}: region = \"{}\" is not a region name", k.region));
            }
            if !is_key_id(&k.key_id) {
                return bad(format!("{owner}: key_id must be a lower-case UUID or mrk- followed by 32 hex characters"));
            }
            if !key_ids.insert((k.account.clone(), k.region.clone(), k.key_id.clone())) {
                return bad(format!("{owner}: key_id is used twice in the same account and region"));
            }
            if let Some(spec) = &k.key_spec {
                if spec != "SYMMETRIC_DEFAULT" {
                    return bad(format!("{owner}: key_spec = \"{spec}\" is not supported; use SYMMETRIC_DEFAULT"));
                }
            }
            for (i, m) in k.material_hex.iter().enumerate() {
                if m.len() != 64 || !m.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return bad(format!("{owner}: material_hex[{i}] must be 64 hex characters (32 bytes)"));
                }
            }
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
            }
        }
        Ok(())
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
    }
}
