//! Checks every cryptographic operation makes on its key before acting: state, usage, algorithm.

use crate::key::Key;
use crate::{ErrorCode, KmsError};

/// The key is usable now and has `usage`, else `DisabledException` / `KMSInvalidStateException`
/// / `InvalidKeyUsageException` ("<key ARN> key usage is SIGN_VERIFY which is not valid for
/// Encrypt.", the form AWS answers).
pub(crate) fn usable_for(key: &Key, usage: &str, operation: &str) -> Result<(), KmsError> {
    key.check_usable()?;
    if key.key_usage != usage {
        return Err(KmsError::new(
            ErrorCode::InvalidKeyUsage,
            format!("{} key usage is {} which is not valid for {operation}.", key.arn(), key.key_usage),
        ));
    }
    Ok(())
}

/// `algorithm` is one `offered` by the key, else `InvalidKeyUsageException`.
pub(crate) fn algorithm_offered(key: &Key, algorithm: &str, offered: &[&str]) -> Result<(), KmsError> {
    if offered.contains(&algorithm) {
        Ok(())
    } else {
        Err(KmsError::new(ErrorCode::InvalidKeyUsage, format!("Algorithm {algorithm} is incompatible with key spec {}.", key.key_spec)))
    }
}

/// `Recipient` (a Nitro Enclaves attestation document) is not supported: refused before anything
/// is done, in every operation that takes it.
pub(crate) fn no_recipient(recipient: &Option<serde_json::Value>) -> Result<(), KmsError> {
    match recipient {
        Some(_) => Err(KmsError::new(ErrorCode::UnsupportedOperation, "keytrail does not support Recipient (Nitro Enclaves attestation).")),
        None => Ok(()),
    }
}
