//! The KMS operations: one enum of every API name, and one file per operation or concern.
//!
//! Each operation decodes its own request, validates it with AWS's messages, resolves and
//! authorizes the keys it touches through [`crate::Kms`], acts, and notes in the
//! [`crate::CallContext`] what its record needs (resources, responseElements, defaults).

pub(crate) mod aliases;
mod checks;
pub(crate) mod create_key;
pub(crate) mod data_key;
mod data_key_pair;
pub(crate) mod decrypt;
pub(crate) mod deletion;
pub(crate) mod describe_key;
pub(crate) mod encrypt;
pub(crate) mod grants;
pub(crate) mod key_policy;
pub(crate) mod key_state;
pub(crate) mod list_keys;
mod mac;
mod public_key;
pub(crate) mod random;
pub(crate) mod re_encrypt;
pub mod rotation;
mod shared_secret;
mod sign;
pub(crate) mod tags;

pub use create_key::new_material;
use serde_json::Value;

use crate::{CallContext, ErrorCode, Kms, KmsError};

macro_rules! operations {
    ($($name:ident => $read_only:expr,)*) => {
        /// Every operation of the KMS API (botocore `kms` 2014-11-01), parsed from `X-Amz-Target`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum Operation { $($name,)* }

        impl Operation {
            /// The operation named `name` (`Encrypt`), if KMS has one.
            pub fn from_name(name: &str) -> Option<Operation> {
                match name { $(stringify!($name) => Some(Operation::$name),)* _ => None }
            }

            /// The API name, also the record's `eventName`.
            pub fn name(self) -> &'static str {
                match self { $(Operation::$name => stringify!($name),)* }
            }

            /// Whether CloudTrail records the call as read-only.
            pub fn read_only(self) -> bool {
                match self { $(Operation::$name => $read_only,)* }
            }
        }
    };
}

operations! {
    CancelKeyDeletion => false,
    ConnectCustomKeyStore => false,
    CreateAlias => false,
    CreateCustomKeyStore => false,
    CreateGrant => false,
    CreateKey => false,
    Decrypt => true,
    DeleteAlias => false,
    DeleteCustomKeyStore => false,
    DeleteImportedKeyMaterial => false,
    DeriveSharedSecret => true,
    DescribeCustomKeyStores => true,
    DescribeKey => true,
    DisableKey => false,
    DisableKeyRotation => false,
    DisconnectCustomKeyStore => false,
    EnableKey => false,
    EnableKeyRotation => false,
    Encrypt => true,
    GenerateDataKey => true,
    GenerateDataKeyPair => true,
    GenerateDataKeyPairWithoutPlaintext => true,
    GenerateDataKeyWithoutPlaintext => true,
    GenerateMac => true,
    GenerateRandom => true,
    GetKeyLastUsage => true,
    GetKeyPolicy => true,
    GetKeyRotationStatus => true,
    GetParametersForImport => true,
    GetPublicKey => true,
    ImportKeyMaterial => false,
    ListAliases => true,
    ListGrants => true,
    ListKeyPolicies => true,
    ListKeyRotations => true,
    ListKeys => true,
    ListResourceTags => true,
    ListRetirableGrants => true,
    PutKeyPolicy => false,
    ReEncrypt => true,
    ReplicateKey => false,
    RetireGrant => false,
    RevokeGrant => false,
    RotateKeyOnDemand => false,
    ScheduleKeyDeletion => false,
    Sign => true,
    TagResource => false,
    UntagResource => false,
    UpdateAlias => false,
    UpdateCustomKeyStore => false,
    UpdateKeyDescription => false,
    UpdatePrimaryRegion => false,
    Verify => true,
    VerifyMac => true,
}

impl Operation {
    /// Whether this call may take long enough on the CPU (generating an RSA key: seconds for
    /// RSA_4096 in a debug build) that the server must run it off the runtime serving other
    /// requests. Read from the raw body without parsing it: any `RSA_` in a CreateKey or
    /// GenerateDataKeyPair* body sends the call to the blocking pool.
    pub fn may_block(self, body: &[u8]) -> bool {
        matches!(self, Operation::CreateKey | Operation::GenerateDataKeyPair | Operation::GenerateDataKeyPairWithoutPlaintext)
            && body.windows(4).any(|w| w == b"RSA_")
    }

    /// The IAM action that authorizes this operation (`kms:Encrypt`).
    pub fn action(self) -> String {
        format!("kms:{}", self.name())
    }
}

/// Runs `op` on `body`.
pub(crate) fn run(kms: &Kms, ctx: &mut CallContext<'_>, op: Operation, body: &[u8]) -> Result<Value, KmsError> {
    use Operation::*;
    match op {
        CreateKey => create_key::run(kms, ctx, body),
        DescribeKey => describe_key::describe(kms, ctx, body),
        UpdateKeyDescription => describe_key::update_description(kms, ctx, body),
        ListKeys => list_keys::run(kms, ctx, body),
        Encrypt => encrypt::run(kms, ctx, body),
        Decrypt => decrypt::run(kms, ctx, body),
        ReEncrypt => re_encrypt::run(kms, ctx, body),
        GenerateDataKey => data_key::run(kms, ctx, body, true),
        GenerateDataKeyWithoutPlaintext => data_key::run(kms, ctx, body, false),
        GenerateRandom => random::run(kms, ctx, body),
        EnableKey => key_state::enable(kms, ctx, body),
        DisableKey => key_state::disable(kms, ctx, body),
        EnableKeyRotation => rotation::enable(kms, ctx, body),
        DisableKeyRotation => rotation::disable(kms, ctx, body),
        GetKeyRotationStatus => rotation::status(kms, ctx, body),
        RotateKeyOnDemand => rotation::on_demand(kms, ctx, body),
        ListKeyRotations => rotation::list(kms, ctx, body),
        ScheduleKeyDeletion => deletion::schedule(kms, ctx, body),
        CancelKeyDeletion => deletion::cancel(kms, ctx, body),
        CreateAlias => aliases::create(kms, ctx, body),
        UpdateAlias => aliases::update(kms, ctx, body),
        DeleteAlias => aliases::delete(kms, ctx, body),
        ListAliases => aliases::list(kms, ctx, body),
        TagResource => tags::tag(kms, ctx, body),
        UntagResource => tags::untag(kms, ctx, body),
        ListResourceTags => tags::list(kms, ctx, body),
        GetKeyPolicy => key_policy::get(kms, ctx, body),
        PutKeyPolicy => key_policy::put(kms, ctx, body),
        ListKeyPolicies => key_policy::list(kms, ctx, body),
        CreateGrant => grants::create(kms, ctx, body),
        ListGrants => grants::list(kms, ctx, body),
        ListRetirableGrants => grants::list_retirable(kms, ctx, body),
        RetireGrant => grants::retire(kms, ctx, body),
        RevokeGrant => grants::revoke(kms, ctx, body),
        Sign => sign::sign(kms, ctx, body),
        Verify => sign::verify(kms, ctx, body),
        GetPublicKey => public_key::run(kms, ctx, body),
        GenerateDataKeyPair => data_key_pair::run(kms, ctx, body, true),
        GenerateDataKeyPairWithoutPlaintext => data_key_pair::run(kms, ctx, body, false),
        DeriveSharedSecret => shared_secret::run(kms, ctx, body),
        GenerateMac => mac::generate(kms, ctx, body),
        VerifyMac => mac::verify(kms, ctx, body),
        other => {
            Err(KmsError::new(ErrorCode::UnsupportedOperation, format!("keytrail does not support the {} operation yet.", other.name())))
        }
    }
}
