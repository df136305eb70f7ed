//! [`Builder`]: the accounts, users, roles, seeded keys and options a [`KeyTrail`] starts with.
//!
//! What it is given is written as a keytrail config file (TOML) and parsed as `--config` is, so
//! a mistake (a bad policy, a bad key id) fails the same way, with the same message.

use std::path::PathBuf;

use keytrail_server::config::ConfigFile;
use keytrail_server::Options;
use toml::{Table, Value};

use crate::{Identity, KeyTrail};

/// An IAM user: its account, name, access key and identity policies.
#[derive(Clone, Debug)]
pub struct User {
    account: String,
    name: String,
    access_key_id: String,
    secret: String,
    policies: Vec<String>,
}

impl User {
    /// A user of `account` named `name`, with an access key derived from both (`AKIA…`, the
    /// same every run) and the secret `<name>-secret`.
    pub fn new(account: &str, name: &str) -> Self {
        User {
            account: account.into(),
            name: name.into(),
            access_key_id: derived_key("AKIA", account, name),
            secret: format!("{name}-secret"),
            policies: Vec::new(),
        }
    }

    /// Uses this access key and secret instead.
    pub fn access_key(mut self, access_key_id: &str, secret: &str) -> Self {
        self.access_key_id = access_key_id.into();
        self.secret = secret.into();
        self
    }

    /// Attaches an identity policy (JSON).
    pub fn policy(mut self, json: &str) -> Self {
        self.policies.push(json.into());
        self
    }
}

/// An IAM role: identity policies, who may assume it, and sessions with fixed keys.
#[derive(Clone, Debug)]
pub struct Role {
    account: String,
    name: String,
    policies: Vec<String>,
    trust_policy: Option<String>,
    max_session_duration: Option<u32>,
    sessions: Vec<(String, String, String)>,
}

impl Role {
    /// A role of `account` named `name`; without a trust policy its own account may assume it.
    pub fn new(account: &str, name: &str) -> Self {
        Role {
            account: account.into(),
            name: name.into(),
            policies: Vec::new(),
            trust_policy: None,
            max_session_duration: None,
            sessions: Vec::new(),
        }
    }

    /// `arn:aws:iam::<account>:role/<name>`.
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::{}:role/{}", self.account, self.name)
    }

    /// Attaches an identity policy (JSON).
    pub fn policy(mut self, json: &str) -> Self {
        self.policies.push(json.into());
        self
    }

    /// Who may assume the role (a trust policy, JSON).
    pub fn trust_policy(mut self, json: &str) -> Self {
        self.trust_policy = Some(json.into());
        self
    }

    /// The longest session AssumeRole may ask for (3600 to 43200 seconds).
    pub fn max_session_duration(mut self, seconds: u32) -> Self {
        self.max_session_duration = Some(seconds);
        self
    }

    /// A session that exists from the start, signing with a derived `ASIA…` key and the secret
    /// `<role>-<session>-secret` ([`KeyTrail::session`]).
    pub fn session(mut self, name: &str) -> Self {
        let key = derived_key("ASIA", &self.account, &format!("{}/{name}", self.name));
        let secret = format!("{}-{name}-secret", self.name);
        self.sessions.push((name.into(), key, secret));
        self
    }
}

/// A seeded KMS key: a fixed id (and optionally fixed material), aliases and policy.
#[derive(Clone, Debug)]
pub struct Key {
    table: Table,
}

impl Key {
    /// A symmetric key of `account` in `us-east-1` with the id `key_id` (a UUID or `mrk-…`).
    pub fn new(account: &str, key_id: &str) -> Self {
        let mut table = Table::new();
        table.insert("account".into(), account.into());
        table.insert("region".into(), crate::DEFAULT_REGION.into());
        table.insert("key_id".into(), key_id.into());
        Key { table }
    }

    fn set(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.table.insert(field.into(), value.into());
        self
    }

    fn push(mut self, field: &str, value: &str) -> Self {
        if let Value::Array(list) = self.table.entry(field).or_insert_with(|| Value::Array(Vec::new())) {
            list.push(value.into());
        }
        self
    }

    /// Its region.
    pub fn region(self, region: &str) -> Self {
        self.set("region", region)
    }

    /// Its description.
    pub fn description(self, text: &str) -> Self {
        self.set("description", text)
    }

    /// An alias (`alias/…`) pointing at it.
    pub fn alias(self, name: &str) -> Self {
        self.push("aliases", name)
    }

    /// Its key policy (JSON); the default key policy otherwise.
    pub fn policy(self, json: &str) -> Self {
        self.set("policy", json)
    }

    /// A material version (64 hex characters); call again for later rotations, the last is current.
    pub fn material_hex(self, hex: &str) -> Self {
        self.push("material_hex", hex)
    }

    /// Automatic rotation every `days`.
    pub fn rotation_period_days(self, days: u32) -> Self {
        self.set("rotation_period_days", i64::from(days))
    }
}

/// `prefix` and 16 characters of IAM's base-32 alphabet derived from `account` and `name`.
fn derived_key(prefix: &str, account: &str, name: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    // FNV-1a over the text, stretched: a stable, distinct-enough id, not a secret.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut out = String::from(prefix);
    for round in 0..16u8 {
        for b in account.bytes().chain([b':']).chain(name.bytes()).chain([round]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        out.push(ALPHABET[(h % 32) as usize] as char);
    }
    out
}

/// How a [`KeyTrail`] starts: what it knows, and its options.
#[derive(Default)]
pub struct Builder {
    config: Option<String>,
    accounts: Vec<(String, Option<String>)>,
    users: Vec<User>,
    roles: Vec<Role>,
    keys: Vec<Key>,
    options: Options,
}

impl Builder {
    /// Starts from a whole keytrail config file's text (TOML); what the builder adds comes after.
    pub fn config_toml(mut self, text: &str) -> Self {
        self.config = Some(text.into());
        self
    }

    /// Names an account (its alias is the root's `userName` in records).
    pub fn account(mut self, id: &str, alias: Option<&str>) -> Self {
        self.accounts.push((id.into(), alias.map(Into::into)));
        self
    }

    /// Adds an IAM user ([`KeyTrail::user`] gives its credentials).
    pub fn user(mut self, user: User) -> Self {
        self.users.push(user);
        self
    }

    /// Adds an IAM role.
    pub fn role(mut self, role: Role) -> Self {
        self.roles.push(role);
        self
    }

    /// Seeds a key.
    pub fn key(mut self, key: Key) -> Self {
        self.keys.push(key);
        self
    }

    /// The account callers that name none act in (keytrail's `--account-id`).
    pub fn default_account(mut self, id: &str) -> Self {
        self.options.account_id = id.into();
        self
    }

    /// Checks SigV4 signatures (`--verify-signatures`).
    pub fn verify_signatures(mut self) -> Self {
        self.options.verify_signatures = true;
        self
    }

    /// Refuses unknown access keys (`--strict-credentials`).
    pub fn strict_credentials(mut self) -> Self {
        self.options.strict_credentials = true;
        self
    }

    /// Keeps state in `dir` across restarts (`--data-dir`).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.options.data_dir = Some(dir.into());
        self
    }

    /// Writes every record as a JSON line to `path` (`--events-out`).
    pub fn events_out(mut self, path: impl Into<PathBuf>) -> Self {
        self.options.events_out = Some(path.into().to_string_lossy().into_owned());
        self
    }

    /// Any other option, as the server takes it.
    pub fn options(mut self, edit: impl FnOnce(&mut Options)) -> Self {
        edit(&mut self.options);
        self
    }

    /// The config file this builder describes.
    pub fn to_toml(&self) -> String {
        let mut table: Table = match &self.config {
            Some(text) => match text.parse() {
                Ok(t) => t,
                Err(e) => panic!("config_toml is not TOML: {e}"),
            },
            None => Table::new(),
        };
        let mut push = |field: &str, entry: Table| {
            if let Value::Array(list) = table.entry(field).or_insert_with(|| Value::Array(Vec::new())) {
                list.push(Value::Table(entry));
            }
        };
        for (id, alias) in &self.accounts {
            let mut t = Table::new();
            t.insert("id".into(), id.as_str().into());
            if let Some(a) = alias {
                t.insert("alias".into(), a.as_str().into());
            }
            push("accounts", t);
        }
        for u in &self.users {
            let mut t = Table::new();
            t.insert("account".into(), u.account.as_str().into());
            t.insert("name".into(), u.name.as_str().into());
            t.insert("access_key_id".into(), u.access_key_id.as_str().into());
            t.insert("secret_access_key".into(), u.secret.as_str().into());
            t.insert("policies".into(), Value::Array(u.policies.iter().map(|p| p.as_str().into()).collect()));
            push("users", t);
        }
        for r in &self.roles {
            let mut t = Table::new();
            t.insert("account".into(), r.account.as_str().into());
            t.insert("name".into(), r.name.as_str().into());
            t.insert("policies".into(), Value::Array(r.policies.iter().map(|p| p.as_str().into()).collect()));
            if let Some(p) = &r.trust_policy {
                t.insert("trust_policy".into(), p.as_str().into());
            }
            if let Some(d) = r.max_session_duration {
                t.insert("max_session_duration".into(), i64::from(d).into());
            }
            let sessions = r
                .sessions
                .iter()
                .map(|(name, key, secret)| {
                    let mut s = Table::new();
                    s.insert("name".into(), name.as_str().into());
                    s.insert("access_key_id".into(), key.as_str().into());
                    s.insert("secret_access_key".into(), secret.as_str().into());
                    Value::Table(s)
                })
                .collect();
            t.insert("sessions".into(), Value::Array(sessions));
            push("roles", t);
        }
        for k in &self.keys {
            push("keys", k.table.clone());
        }
        table.to_string()
    }

    /// Starts keytrail on `127.0.0.1:0` in the current tokio runtime. Panics when the
    /// configuration is refused, with keytrail's own message.
    pub async fn start(self) -> KeyTrail {
        let text = self.to_toml();
        let file = match ConfigFile::parse(&text) {
            Ok(f) => f,
            Err(e) => panic!("keytrail refused the configuration: {e}\n{text}"),
        };
        let mut identities: Vec<(String, Identity)> =
            self.users.iter().map(|u| (u.name.clone(), Identity::new(&u.access_key_id, &u.secret))).collect();
        for r in &self.roles {
            for (session, key, secret) in &r.sessions {
                identities.push((format!("{}/{session}", r.name), Identity::new(key, secret)));
            }
        }
        // Users of a config_toml text are there too.
        for u in &file.users {
            if !identities.iter().any(|(n, _)| *n == u.name) {
                identities.push((u.name.clone(), Identity::new(&u.access_key_id, &u.secret_access_key)));
            }
        }
        let options = self.options.with_file(file);
        KeyTrail::launch(options, identities).await
    }
}

impl KeyTrail {
    /// The credentials of a role session the builder declared ([`Role::session`]).
    pub fn session(&self, role: &str, session: &str) -> Identity {
        self.user(&format!("{role}/{session}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_are_stable_distinct_and_iam_shaped() {
        let a = derived_key("AKIA", "111122223333", "alice");
        assert_eq!(a, derived_key("AKIA", "111122223333", "alice"));
        assert_ne!(a, derived_key("AKIA", "111122223333", "bob"));
        assert_eq!(a.len(), 20);
        assert!(a[4..].bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
    }

    #[test]
    fn the_builder_writes_a_config_keytrail_accepts() {
        let b = Builder::default()
            .account("111122223333", Some("dev"))
            .user(
                User::new("111122223333", "alice")
                    .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#),
            )
            .role(Role::new("444455556666", "app").session("ci"))
            .key(Key::new("111122223333", "11111111-2222-3333-4444-555555555555").alias("alias/fixture").rotation_period_days(365));
        let file = ConfigFile::parse(&b.to_toml()).unwrap();
        assert_eq!((file.accounts.len(), file.users.len(), file.roles.len(), file.keys.len()), (1, 1, 1, 1));
        assert_eq!(file.keys[0].aliases, ["alias/fixture"]);
        assert_eq!(file.roles[0].sessions[0].name, "ci");
    }
}
