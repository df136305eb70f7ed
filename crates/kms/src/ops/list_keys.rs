//! ListKeys: the caller's keys in the region it called, paginated.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::authorize::AccessRequest;
use crate::paging::paginate;
use crate::{CallContext, Kms, KmsError};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    limit: Option<i64>,
    marker: Option<String>,
}

pub(crate) fn run(kms: &Kms, ctx: &mut CallContext<'_>, body: &[u8]) -> Result<Value, KmsError> {
    let req: Request = crate::wire::decode(body)?;
    kms.authorize(&AccessRequest::new(ctx.caller, "kms:ListKeys", None))?;
    let (account, region) = (ctx.account(), ctx.region());
    // Ids and ARNs read in place: cloning every key (policy, all its materials) to list them
    // made ListKeys slower with every rotation (the soak's falling throughput).
    let mut keys: Vec<(String, Value)> = kms.store.scan(|k| {
        (k.account == account && k.region == region).then(|| (format!("{:020}", k.seq), json!({ "KeyId": k.id, "KeyArn": k.arn() })))
    });
    keys.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let page = paginate("keys", keys, req.limit, req.marker.as_deref(), 100, 1000)?;
    Ok(page_response("Keys", page))
}

/// A List* request about one key: `KeyId`, `Limit`, `Marker`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct KeyListRequest {
    pub(crate) key_id: Option<String>,
    pub(crate) limit: Option<i64>,
    pub(crate) marker: Option<String>,
}

/// A List* response: the items, `Truncated`, and `NextMarker` when truncated.
pub(crate) fn page_response(member: &str, page: crate::paging::Page<Value>) -> Value {
    let mut out = json!({ member: page.items, "Truncated": page.next_marker.is_some() });
    if let Some(m) = page.next_marker {
        out["NextMarker"] = json!(m);
    }
    out
}
