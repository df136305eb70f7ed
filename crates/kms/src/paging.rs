//! `Limit`/`Marker` pagination shared by the List* operations.
//!
//! A marker is opaque to callers: base64 of `<list>:<sort key of the last item returned>`, so a
//! page boundary stays put when items are added or removed between calls. A marker from another
//! list, or garbage, is `InvalidMarkerException`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::{validate, ErrorCode, KmsError};

/// One page and, if more remain, the marker for the next.
pub struct Page<T> {
    /// Items of this page.
    pub items: Vec<T>,
    /// Marker for the next page.
    pub next_marker: Option<String>,
}

/// Takes the page after `marker` from `items` (which must be sorted by their sort key).
pub fn paginate<T>(
    list: &str,
    items: Vec<(String, T)>,
    limit: Option<i64>,
    marker: Option<&str>,
    default_limit: i64,
    max_limit: i64,
) -> Result<Page<T>, KmsError> {
    let limit = limit.unwrap_or(default_limit);
    validate::range(limit, "limit", 1, max_limit)?;
    let after = match marker {
        None => None,
        Some(m) => Some(decode(list, m)?),
    };
    let mut page = Vec::new();
    let mut last_key = None;
    let mut more = false;
    for (key, item) in items {
        if after.as_deref().is_some_and(|a| key.as_str() <= a) {
            continue;
        }
        if page.len() as i64 == limit {
            more = true;
            break;
        }
        last_key = Some(key);
        page.push(item);
    }
    let next_marker = if more { last_key.map(|k| URL_SAFE_NO_PAD.encode(format!("{list}:{k}"))) } else { None };
    Ok(Page { items: page, next_marker })
}

fn decode(list: &str, marker: &str) -> Result<String, KmsError> {
    let invalid = || KmsError::new(ErrorCode::InvalidMarker, "The request contains an invalid marker.");
    validate::length(marker, "marker", 1, 1024)?;
    let bytes = URL_SAFE_NO_PAD.decode(marker).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix(list).and_then(|r| r.strip_prefix(':')).map(str::to_string).ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_through_and_rejects_foreign_markers() {
        let items = |n: usize| (0..n).map(|i| (format!("{i:03}"), i)).collect::<Vec<_>>();
        let p1 = paginate("keys", items(5), Some(2), None, 100, 1000).unwrap();
        assert_eq!(p1.items, [0, 1]);
        let p2 = paginate("keys", items(5), Some(2), p1.next_marker.as_deref(), 100, 1000).unwrap();
        assert_eq!(p2.items, [2, 3]);
        let p3 = paginate("keys", items(5), Some(2), p2.next_marker.as_deref(), 100, 1000).unwrap();
        assert_eq!(p3.items, [4]);
        assert!(p3.next_marker.is_none());
        assert_eq!(
            paginate("aliases", items(5), None, p1.next_marker.as_deref(), 100, 1000).err().unwrap().code(),
            ErrorCode::InvalidMarker
        );
        assert_eq!(paginate("keys", items(5), None, Some("%%%"), 100, 1000).err().unwrap().code(), ErrorCode::InvalidMarker);
        assert_eq!(paginate("keys", items(5), Some(0), None, 100, 1000).err().unwrap().code(), ErrorCode::Validation);
    }
}
