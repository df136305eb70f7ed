//! Applying the config file: the credential directory (principals, secrets, identity policies)
//! and the seeded keys and aliases. Seeds are applied at start-up (only where the key does not
//! exist yet, so state kept in a data dir wins) and again after `reset`.

use keytrail_iam::credentials::{AccessKey, SessionToken};
use keytrail_iam::policy::{PolicyDocument, PolicyKind};
use keytrail_iam::principal::stable_unique_id;
use keytrail_iam::{CredentialDirectory, Principal};
use keytrail_kms::key::{epoch_f64, Key, KeyMaterial, KeyState, RotationSchedule};
use keytrail_kms::store::Alias;
use keytrail_kms::{Change, KeyStore};
use time::OffsetDateTime;

use crate::config::ConfigFile;

/// The credential directory the config describes. Ids are derived from account and name, so the
/// same config always yields the same `AIDA…`/`AROA…` ids; sessions date from `started`.
pub fn credential_directory(cfg: &ConfigFile, default_account: &str, strict: bool, started: OffsetDateTime) -> CredentialDirectory {
    let mut dir = CredentialDirectory::new(default_account, strict);
    let parse = |p: &String| PolicyDocument::parse(p, PolicyKind::IdentityPolicy).expect("validated at load");
    for a in &cfg.accounts {
        if let Some(alias) = &a.alias {
            dir.set_account_alias(&a.id, alias);
        }
    }
    for u in &cfg.users {
        let principal =
            Principal::User { account: u.account.clone(), name: u.name.clone(), unique_id: stable_unique_id("AIDA", &u.account, &u.name) };
        dir.set_policies(principal.policy_arn(), u.policies.iter().map(parse).collect());
        dir.set_tags(principal.policy_arn(), u.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
        dir.insert(&u.access_key_id, AccessKey { principal, secret: u.secret_access_key.clone(), token: SessionToken::LongTerm });
    }
    let created = keytrail_audit::timefmt::event_time(started);
    for r in &cfg.roles {
        let role_id = stable_unique_id("AROA", &r.account, &r.name);
        let role_arn = format!("arn:aws:iam::{}:role/{}", r.account, r.name);
        dir.set_tags(role_arn.clone(), r.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
        dir.set_policies(role_arn, r.policies.iter().map(parse).collect());
        for s in &r.sessions {
            let principal = Principal::AssumedRole {
                account: r.account.clone(),
                role: r.name.clone(),
                role_id: role_id.clone(),
                session: s.name.clone(),
                created: created.clone(),
                attributes: Default::default(),
            };
            dir.insert(
                &s.access_key_id,
                AccessKey { principal, secret: s.secret_access_key.clone(), token: SessionToken::Session(s.session_token.clone()) },
            );
        }
    }
    dir
}

/// The roles STS can hand out sessions of, with their trust policies (validated at load).
pub fn sts_roles(cfg: &ConfigFile) -> Vec<keytrail_sts::Role> {
    cfg.roles
        .iter()
        .map(|r| {
            keytrail_sts::Role::new(&r.account, &r.name, r.trust_policy.as_deref(), r.max_session_duration).expect("validated at load")
        })
        .collect()
}

/// Adds the seeded keys and aliases that do not exist yet; returns what changed.
pub fn apply_key_seeds(cfg: &ConfigFile, store: &KeyStore, now: OffsetDateTime) -> Vec<Change> {
    let mut changes = Vec::new();
    for k in &cfg.keys {
        let arn = keytrail_kms::key::key_arn(&k.region, &k.account, &k.key_id);
        if store.with_key(&arn, |_| ()).is_none() {
            let spec = keytrail_kms::crypto::spec::spec(k.spec()).expect("validated at load");
            let secrets: Vec<Vec<u8>> = if let Some(der) = k.private_key_der() {
                vec![der.to_vec()]
            } else if k.material_hex.is_empty() {
                match keytrail_kms::ops::new_material(spec) {
                    Ok(secret) => vec![secret],
                    Err(e) => {
                        tracing::error!(key = %arn, error = %e, "seeded key not created: its material could not be generated");
                        continue;
                    }
                }
            } else {
                k.material_hex.iter().map(|h| hex::decode(h).expect("validated at load")).collect()
            };
            let materials = secrets
                .into_iter()
                .enumerate()
                .map(|(i, s)| {
                    let rotation = (i > 0).then_some(keytrail_kms::key::RotationType::Automatic);
                    KeyMaterial::new(s, now.unix_timestamp(), rotation)
                })
                .collect();
            let policy = match &k.policy {
                Some(p) => PolicyDocument::parse(p, PolicyKind::KeyPolicy).expect("validated at load"),
                None => keytrail_kms::policy_check::default_policy(&k.account),
            };
            store.insert_key(Key {
                id: k.key_id.clone(),
                account: k.account.clone(),
                region: k.region.clone(),
                description: k.description.clone(),
                key_usage: k.usage(),
                key_spec: spec.name.into(),
                origin: "AWS_KMS".into(),
                state: KeyState::Enabled,
                created: epoch_f64(now),
                deletion_date: None,
                pending_window_days: None,
                multi_region: k.key_id.starts_with("mrk-"),
                policy: policy.text().to_string(),
                policy_doc: Some(policy),
                tags: Vec::new(),
                rotation: k
                    .rotation_period_days
                    .map(|d| RotationSchedule { period_days: d, next_rotation: now.unix_timestamp() + i64::from(d) * 86_400 }),
                materials,
                seq: store.next_seq(),
                grants: Vec::new(),
            });
            changes.push(Change::Key(arn.clone()));
        }
        for name in &k.aliases {
            let alias = Alias {
                name: name.clone(),
                account: k.account.clone(),
                region: k.region.clone(),
                target_key_id: k.key_id.clone(),
                created: epoch_f64(now),
                updated: epoch_f64(now),
            };
            let alias_arn = alias.arn();
            if store.insert_alias_if_absent(alias) {
                changes.push(Change::Alias(alias_arn));
            }
        }
    }
    changes
}
