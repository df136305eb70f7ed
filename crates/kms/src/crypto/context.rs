//! The encryption context and its canonical, unambiguous encoding as authenticated data.

use std::collections::BTreeMap;

/// An encryption context: non-secret key/value pairs bound to a ciphertext.
/// A `BTreeMap` so iteration is in key order, which the canonical encoding needs.
pub type EncryptionContext = BTreeMap<String, String>;

/// Encodes `ctx` so that two different contexts never encode the same:
/// `u32 count`, then for each pair in byte order of keys `u32 len ‖ key ‖ u32 len ‖ value`
/// (lengths big-endian). `{"ab":"c"}` and `{"a":"bc"}` therefore differ.
pub fn canonical_encryption_context(ctx: &EncryptionContext) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + ctx.iter().map(|(k, v)| 8 + k.len() + v.len()).sum::<usize>());
    out.extend_from_slice(&(ctx.len() as u32).to_be_bytes());
    for (k, v) in ctx {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn encoding_is_unambiguous_and_order_free() {
        assert_ne!(canonical_encryption_context(&ctx(&[("ab", "c")])), canonical_encryption_context(&ctx(&[("a", "bc")])));
        assert_ne!(canonical_encryption_context(&ctx(&[("a", "b"), ("c", "d")])), canonical_encryption_context(&ctx(&[("a", "bcd")])));
        assert_ne!(canonical_encryption_context(&ctx(&[])), canonical_encryption_context(&ctx(&[("", "")])));
        assert_eq!(
            canonical_encryption_context(&ctx(&[("x", "1"), ("a", "2")])),
            canonical_encryption_context(&ctx(&[("a", "2"), ("x", "1")]))
        );
    }
}
