//! How keys and aliases are stored: a key's JSON never holds its material; every material
//! version is wrapped under the root key, bound (AAD) to the key ARN and the material id.

use keytrail_iam::policy::{PolicyDocument, PolicyKind};
use keytrail_kms::key::RotationType;
use keytrail_kms::store::Alias;
use keytrail_kms::{Key, KeyMaterial};
use serde::{Deserialize, Serialize};

use crate::rootkey::RootKey;
use crate::StorageError;

/// A key as stored: everything but the material, plus the wrapped material versions.
#[derive(Serialize, Deserialize)]
struct StoredKey {
    /// The key, with `materials` empty.
    key: Key,
    /// Material versions, oldest first.
    materials: Vec<WrappedMaterial>,
}

#[derive(Serialize, Deserialize)]
struct WrappedMaterial {
    id: String,
    created: i64,
    rotation: Option<RotationType>,
    /// Hex of `nonce ‖ AES-256-GCM(secret) ‖ tag` under the root key.
    wrapped: String,
}

fn aad(arn: &str, material_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(arn.len() + 1 + material_id.len());
    aad.extend_from_slice(arn.as_bytes());
    aad.push(0);
    aad.extend_from_slice(material_id.as_bytes());
    aad
}

/// The stored form of `key` (a snapshot the caller owns: its materials are taken out, wrapped,
/// and dropped, so the key's JSON can never carry them).
pub(crate) fn encode_key(root: &RootKey, mut key: Key) -> Result<Vec<u8>, StorageError> {
    let arn = key.arn();
    let plain = std::mem::take(&mut key.materials);
    let materials = plain
        .iter()
        .map(|m| {
            Ok(WrappedMaterial {
                id: m.id.clone(),
                created: m.created,
                rotation: m.rotation,
                wrapped: hex::encode(root.wrap(&aad(&arn, &m.id), &m.secret)?),
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    drop(plain);
    serde_json::to_vec(&StoredKey { key, materials }).map_err(|e| StorageError::new(format!("cannot encode key {arn}: {e}")))
}

/// The key stored as `body`, its material unwrapped and checked against its id.
pub(crate) fn decode_key(root: &RootKey, body: &[u8]) -> Result<Key, StorageError> {
    let stored: StoredKey = serde_json::from_slice(body).map_err(|e| StorageError::new(format!("a stored key does not decode: {e}")))?;
    let mut key = stored.key;
    let arn = key.arn();
    for m in stored.materials {
        let wrapped = hex::decode(&m.wrapped).map_err(|_| StorageError::new(format!("key {arn}: wrapped material is not hex")))?;
        let secret =
            root.unwrap(&aad(&arn, &m.id), &wrapped).map_err(|e| StorageError::new(format!("key {arn}, material {}: {e}", m.id)))?;
        let material = KeyMaterial::new(secret.to_vec(), m.created, m.rotation);
        if material.id != m.id {
            return Err(StorageError::new(format!("key {arn}: material {} does not match its id", m.id)));
        }
        key.materials.push(material);
    }
    // The parsed policy is a cache, not stored; fill it so the first call need not parse.
    key.policy_doc = PolicyDocument::parse(&key.policy, PolicyKind::KeyPolicy).ok();
    Ok(key)
}

/// The stored form of an alias.
pub(crate) fn encode_alias(alias: &Alias) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(alias).map_err(|e| StorageError::new(format!("cannot encode alias: {e}")))
}

/// The alias stored as `body`.
pub(crate) fn decode_alias(body: &[u8]) -> Result<Alias, StorageError> {
    serde_json::from_slice(body).map_err(|e| StorageError::new(format!("a stored alias does not decode: {e}")))
}
