//! The per-data-dir root key: 32 random bytes in `<data-dir>/root.key` (mode 0600), under which
//! every key material version is wrapped with AES-256-GCM before it reaches the database.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::StorageError;

/// The root key file's name inside the data dir.
pub const ROOT_KEY_FILE: &str = "root.key";
const ROOT_KEY_LEN: usize = 32;

/// The root key, ready to wrap and unwrap.
pub struct RootKey {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RootKey(..)")
    }
}

impl RootKey {
    /// Reads `<dir>/root.key`, or creates it (mode 0600) when `may_create` (a data dir that holds
    /// no wrapped material yet). Refuses a file that group or others may read or write, and one
    /// owned by another user.
    pub fn load_or_create(dir: &Path, may_create: bool) -> Result<RootKey, StorageError> {
        let path = dir.join(ROOT_KEY_FILE);
        let rng = SystemRandom::new();
        let bytes = match OpenOptions::new().read(true).open(&path) {
            Ok(mut file) => {
                let meta = file.metadata().map_err(|e| StorageError::new(format!("cannot stat {}: {e}", path.display())))?;
                // Another user's file is as good as anyone's: they may read or replace it.
                let me = rustix::process::geteuid().as_raw();
                if meta.uid() != me {
                    return Err(StorageError::new(format!(
                        "root key file {} is owned by uid {}, not by the user keytrail runs as (uid {me}); it must be this user's own file",
                        path.display(),
                        meta.uid()
                    )));
                }
                let mode = meta.permissions().mode();
                if mode & 0o077 != 0 {
                    return Err(StorageError::new(format!(
                        "root key file {} has mode {:04o}; it must be readable by its owner only (chmod 600 {})",
                        path.display(),
                        mode & 0o7777,
                        path.display()
                    )));
                }
                let mut buf = Zeroizing::new(Vec::with_capacity(ROOT_KEY_LEN + 1));
                file.read_to_end(&mut buf).map_err(|e| StorageError::new(format!("cannot read {}: {e}", path.display())))?;
                if buf.len() != ROOT_KEY_LEN {
                    return Err(StorageError::new(format!(
                        "root key file {} is damaged: it holds {} bytes, not {ROOT_KEY_LEN}",
                        path.display(),
                        buf.len()
                    )));
                }
                buf
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !may_create {
                    return Err(StorageError::new(format!(
                        "root key file {} is missing but the data dir holds wrapped key material; \
                         without it no key can be unwrapped (restore the file from a backup)",
                        path.display()
                    )));
                }
                let mut buf = Zeroizing::new(vec![0u8; ROOT_KEY_LEN]);
                rng.fill(&mut buf).map_err(|_| StorageError::new("no randomness for the root key"))?;
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(|e| StorageError::new(format!("cannot create {}: {e}", path.display())))?;
                file.write_all(&buf)
                    .and_then(|_| file.sync_all())
                    .map_err(|e| StorageError::new(format!("cannot write {}: {e}", path.display())))?;
                sync_dir(dir);
                buf
            }
            Err(e) => return Err(StorageError::new(format!("cannot open {}: {e}", path.display()))),
        };
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| StorageError::new("unusable root key"))?;
        Ok(RootKey { key: LessSafeKey::new(key), rng })
    }

    /// `nonce ‖ ciphertext ‖ tag` of `secret`, bound to `aad`.
    pub fn wrap(&self, aad: &[u8], secret: &[u8]) -> Result<Vec<u8>, StorageError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| StorageError::new("no randomness for a nonce"))?;
        // Sealed in place: the buffer holds the secret only until it is encrypted.
        let mut body = Vec::with_capacity(secret.len() + AES_256_GCM.tag_len());
        body.extend_from_slice(secret);
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut body)
            .map_err(|_| StorageError::new("wrapping key material failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + body.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// The secret wrapped by [`RootKey::wrap`] with the same `aad`; fails on any tampering.
    pub fn unwrap(&self, aad: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, StorageError> {
        if wrapped.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(StorageError::new("wrapped key material is truncated"));
        }
        let (nonce, body) = wrapped.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| StorageError::new("bad nonce"))?;
        let mut buf = Zeroizing::new(body.to_vec());
        let plain_len = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| StorageError::new("wrapped key material does not open under this data dir's root key"))?
            .len();
        buf.truncate(plain_len);
        Ok(buf)
    }
}

/// fsyncs a directory so a newly created file's entry survives a crash.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_binds_aad_and_refuses_loose_files() {
        let dir = crate::fresh_test_dir("rootkey");
        assert!(RootKey::load_or_create(&dir, false).is_err(), "missing key must not be recreated");
        let rk = RootKey::load_or_create(&dir, true).unwrap();
        let mode = std::fs::metadata(dir.join(ROOT_KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let w = rk.wrap(b"arn\0id", &[7u8; 32]).unwrap();
        assert_eq!(rk.unwrap(b"arn\0id", &w).unwrap().as_slice(), &[7u8; 32]);
        assert!(rk.unwrap(b"arn\0other", &w).is_err());
        let again = RootKey::load_or_create(&dir, false).unwrap();
        assert_eq!(again.unwrap(b"arn\0id", &w).unwrap().as_slice(), &[7u8; 32]);
        std::fs::set_permissions(dir.join(ROOT_KEY_FILE), std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = RootKey::load_or_create(&dir, false).unwrap_err();
        assert!(err.0.contains("0644"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
