//! A KMS key: metadata, state, policy, tags, rotation settings, and its key material versions.

use keytrail_iam::policy::{PolicyDocument, PolicyKind};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// The lifecycle state of a key, as `KeyState` in the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyState {
    /// Usable.
    Enabled,
    /// Refuses cryptography until enabled again.
    Disabled,
    /// Scheduled for deletion; refuses nearly everything.
    PendingDeletion,
    /// Waiting for imported key material.
    PendingImport,
}

impl KeyState {
    /// The API name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
            KeyState::PendingImport => "PendingImport",
        }
    }
}

/// How a rotation came about, as `RotationType` in the API and `rotationType` in records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RotationType {
    /// By the rotation schedule.
    Automatic,
    /// By RotateKeyOnDemand.
    OnDemand,
}

impl RotationType {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            RotationType::Automatic => "AUTOMATIC",
            RotationType::OnDemand => "ON_DEMAND",
        }
    }
}

/// One version of a key's secret material. Old versions are kept so old ciphertexts decrypt.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyMaterial {
    /// `KeyMaterialId`: 64 lower-case hex characters, derived from the material (not secret).
    pub id: String,
    /// The secret: a 256-bit AES key, an asymmetric private key as PKCS#8 DER, or an HMAC key's
    /// raw bytes. Never logged, never serialized outside the wrapped store format.
    #[serde(with = "secret_hex")]
    pub secret: Zeroizing<Vec<u8>>,
    /// When this version was created (Unix seconds).
    pub created: i64,
    /// How this version came about; `None` for the key's first material.
    pub rotation: Option<RotationType>,
    /// The parsed private key of an asymmetric key, filled on first use.
    #[serde(skip)]
    pub parsed: crate::crypto::asymmetric::ParsedKeyCache,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial").field("id", &self.id).field("created", &self.created).finish_non_exhaustive()
    }
}

mod secret_hex {
    use serde::{Deserialize, Deserializer, Serializer};
    use zeroize::Zeroizing;

    pub(super) fn serialize<S: Serializer>(v: &Zeroizing<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v.as_slice()))
    }
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Zeroizing<Vec<u8>>, D::Error> {
        let s = Zeroizing::new(String::deserialize(d)?);
        hex::decode(s.as_str()).map(Zeroizing::new).map_err(serde::de::Error::custom)
    }
}

impl KeyMaterial {
    /// Wraps a secret, deriving its public id (a domain-separated SHA-256 of the secret).
    pub fn new(secret: Vec<u8>, created: i64, rotation: Option<RotationType>) -> Self {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(b"keytrail key material id v1\0");
        ctx.update(&secret);
        let id = hex::encode(ctx.finish().as_ref());
        KeyMaterial { id, secret: Zeroizing::new(secret), created, rotation, parsed: Default::default() }
    }
}

/// Automatic rotation settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RotationSchedule {
    /// Days between automatic rotations (90..=2560).
    pub period_days: u32,
    /// When the next automatic rotation is due (Unix seconds).
    pub next_rotation: i64,
}

/// A KMS key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Key {
    /// Key id (UUID, or `mrk-…` for multi-Region keys).
    pub id: String,
    /// Owning account.
    pub account: String,
    /// Region the key lives in.
    pub region: String,
    /// Description.
    pub description: String,
    /// `ENCRYPT_DECRYPT`, `SIGN_VERIFY`, …
    pub key_usage: String,
    /// `SYMMETRIC_DEFAULT`, …
    pub key_spec: String,
    /// `AWS_KMS` or `EXTERNAL`.
    pub origin: String,
    /// Lifecycle state.
    pub state: KeyState,
    /// Creation time (Unix seconds, with milliseconds).
    pub created: f64,
    /// When a pending deletion completes (Unix seconds).
    pub deletion_date: Option<i64>,
    /// The waiting period of a pending deletion.
    pub pending_window_days: Option<u32>,
    /// Multi-Region key.
    pub multi_region: bool,
    /// The key policy text, exactly as set.
    pub policy: String,
    /// Tags in the order they were added.
    pub tags: Vec<(String, String)>,
    /// Automatic rotation, when enabled.
    pub rotation: Option<RotationSchedule>,
    /// Material versions, oldest first; the last is current.
    pub materials: Vec<KeyMaterial>,
    /// Creation order, for stable listing.
    pub seq: u64,
    /// Grants on this key.
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// The parsed policy, cached so authorization does not re-parse it on every call.
    #[serde(skip)]
    pub policy_doc: Option<PolicyDocument>,
}

/// A grant: permission for a grantee principal to use the key in some operations, within
/// optional encryption-context constraints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    /// 64 hex characters.
    pub id: String,
    /// Optional friendly name (makes CreateGrant idempotent).
    pub name: Option<String>,
    /// Who may use the grant (principal ARN).
    pub grantee_principal: String,
    /// Who may retire it (principal ARN).
    pub retiring_principal: Option<String>,
    /// Operation names (`Decrypt`, `Encrypt`, …).
    pub operations: Vec<String>,
    /// Every pair here must be in the request's encryption context.
    pub encryption_context_subset: Option<std::collections::BTreeMap<String, String>>,
    /// The request's encryption context must equal this.
    pub encryption_context_equals: Option<std::collections::BTreeMap<String, String>>,
    /// `arn:aws:iam::<account>:root` of the account that created the grant.
    pub issuing_account: String,
    /// Creation time (Unix seconds).
    pub created: f64,
}

impl Key {
    /// `arn:aws:kms:<region>:<account>:key/<id>`.
    pub fn arn(&self) -> String {
        key_arn(&self.region, &self.account, &self.id)
    }

    /// The parsed key policy (cached; parsed on first use after a restart).
    pub fn policy_document(&self) -> Result<std::borrow::Cow<'_, PolicyDocument>, crate::KmsError> {
        match &self.policy_doc {
            // Borrowed: every authorized call reads it, and a copy is the whole policy text too.
            Some(doc) => Ok(std::borrow::Cow::Borrowed(doc)),
            None => PolicyDocument::parse(&self.policy, PolicyKind::KeyPolicy)
                .map(std::borrow::Cow::Owned)
                .map_err(|e| crate::KmsError::new(crate::ErrorCode::MalformedPolicyDocument, e.message().to_string())),
        }
    }

    /// Sets the policy text and its parsed form together.
    pub fn set_policy(&mut self, doc: PolicyDocument) {
        self.policy = doc.text().to_string();
        self.policy_doc = Some(doc);
    }

    /// The current material version (index into `materials`).
    pub fn current_material(&self) -> Option<(u32, &KeyMaterial)> {
        self.materials.last().map(|m| ((self.materials.len() - 1) as u32, m))
    }

    /// The algorithms this key offers for its usage (the key spec table).
    pub fn algorithms(&self) -> crate::crypto::spec::Algorithms {
        crate::crypto::spec::algorithms(&self.key_spec, &self.key_usage)
    }

    /// The encryption algorithms this key supports.
    pub fn encryption_algorithms(&self) -> &'static [&'static str] {
        self.algorithms().encryption
    }

    /// The key spec's row of the table; `None` only for a spec keytrail does not know.
    pub fn spec(&self) -> Option<&'static crate::crypto::spec::SpecInfo> {
        crate::crypto::spec::spec(&self.key_spec)
    }

    /// True for an asymmetric key (RSA, ECC, Ed25519, ML-DSA, SM2).
    pub fn is_asymmetric(&self) -> bool {
        use crate::crypto::spec::Family;
        self.spec().is_some_and(|s| !matches!(s.family, Family::Symmetric | Family::Hmac(_)))
    }

    /// The parsed private key of an asymmetric key (its one material version), parsed once.
    pub fn private_key(&self) -> Result<std::sync::Arc<crate::crypto::asymmetric::PrivateKey>, crate::KmsError> {
        let spec = self.spec().ok_or_else(crate::crypto::asymmetric::invalid_key_material)?;
        let (_, material) = self.current_material().ok_or_else(|| crate::KmsError::invalid_state(&self.arn(), self.state.as_str()))?;
        material.parsed.get(spec, &material.secret)
    }

    /// True for a symmetric encryption key (the kind rotation and the symmetric crypto ops accept).
    pub fn is_symmetric_encryption(&self) -> bool {
        self.key_spec == "SYMMETRIC_DEFAULT" && self.key_usage == "ENCRYPT_DECRYPT"
    }

    /// `KeyMetadata` as the API returns it.
    pub fn metadata(&self) -> Value {
        let mut m = json!({
            "AWSAccountId": self.account,
            "KeyId": self.id,
            "Arn": self.arn(),
            "CreationDate": self.created,
            "Enabled": self.state == KeyState::Enabled,
            "Description": self.description,
            "KeyUsage": self.key_usage,
            "KeyState": self.state.as_str(),
            "Origin": self.origin,
            "KeyManager": "CUSTOMER",
            "CustomerMasterKeySpec": self.key_spec,
            "KeySpec": self.key_spec,
        });
        // Each list only when the key's usage has one, as AWS's DescribeKey answers (a signing
        // key shows SigningAlgorithms and no EncryptionAlgorithms).
        let algorithms = self.algorithms();
        for (member, list) in [
            ("EncryptionAlgorithms", algorithms.encryption),
            ("SigningAlgorithms", algorithms.signing),
            ("MacAlgorithms", algorithms.mac),
            ("KeyAgreementAlgorithms", algorithms.key_agreement),
        ] {
            if !list.is_empty() {
                m[member] = json!(list);
            }
        }
        m["MultiRegion"] = json!(self.multi_region);
        if let Some(d) = self.deletion_date {
            m["DeletionDate"] = json!(d);
        }
        if let Some((_, material)) = self.current_material() {
            if self.key_spec == "SYMMETRIC_DEFAULT" {
                m["CurrentKeyMaterialId"] = json!(material.id);
            }
        }
        m
    }

    /// Whether the key can be used for cryptography now, as AWS's key-state table says:
    /// disabled → `DisabledException`, pending deletion/import → `KMSInvalidStateException`.
    pub fn check_usable(&self) -> Result<(), crate::KmsError> {
        match self.state {
            KeyState::Enabled => Ok(()),
            KeyState::Disabled => Err(crate::KmsError::disabled(&self.arn())),
            other => Err(crate::KmsError::invalid_state(&self.arn(), other.as_str())),
        }
    }

    /// Whether a management operation may change the key: refused while deletion is pending.
    pub fn check_not_pending_deletion(&self) -> Result<(), crate::KmsError> {
        if self.state == KeyState::PendingDeletion {
            Err(crate::KmsError::invalid_state(&self.arn(), self.state.as_str()))
        } else {
            Ok(())
        }
    }
}

/// The ARN of key `id` in `account` and `region`.
pub fn key_arn(region: &str, account: &str, id: &str) -> String {
    kms_arn(region, account, "key/", id)
}

/// The ARN of alias `name` (`alias/…`) in `account` and `region`.
pub fn alias_arn(region: &str, account: &str, name: &str) -> String {
    kms_arn(region, account, "", name)
}

/// `arn:aws:kms:<region>:<account>:<kind><name>` in one exact allocation: built several times
/// per call, where `format!`'s machinery was visible in profiles.
fn kms_arn(region: &str, account: &str, kind: &str, name: &str) -> String {
    ["arn:aws:kms:", region, ":", account, ":", kind, name].concat()
}

/// Seconds since the epoch with millisecond precision, as the JSON protocol sends timestamps.
pub fn epoch_f64(t: OffsetDateTime) -> f64 {
    (t.unix_timestamp_nanos() / 1_000_000) as f64 / 1000.0
}
