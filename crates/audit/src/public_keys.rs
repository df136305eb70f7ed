//! `ListPublicKeys`: the public halves of the digest signing keys of the caller's region whose
//! validity overlaps the requested range (botocore `cloudtrail` 2013-11-01; AWS: "If StartTime
//! is not specified, the current time is used, and the current public key is returned").

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{decode, CloudTrailError};
use crate::signing::SigningKeys;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListPublicKeysRequest {
    start_time: Option<f64>,
    end_time: Option<f64>,
    /// "Reserved for future use": every key fits one page.
    #[allow(dead_code)]
    next_token: Option<String>,
}

/// Answers `ListPublicKeys` for `region` at mock time `now` (Unix seconds).
pub(crate) fn list(keys: &SigningKeys, region: &str, now: i64, body: &[u8]) -> Result<Value, CloudTrailError> {
    let req: ListPublicKeysRequest = decode(body)?;
    let time = |t: Option<f64>| -> Result<i64, CloudTrailError> {
        match t {
            None => Ok(now),
            Some(v) if v.is_finite() => Ok(v.floor().clamp(i64::MIN as f64, i64::MAX as f64) as i64),
            Some(_) => Err(CloudTrailError::new("InvalidTimeRangeException", "A time in the request is not a valid timestamp.")),
        }
    };
    let (start, end) = (time(req.start_time)?, time(req.end_time)?);
    if start > end {
        return Err(CloudTrailError::new("InvalidTimeRangeException", "The start time must not be after the end time."));
    }
    // The current key always exists (made here if no digest needed one yet).
    keys.ensure_current(region, now).map_err(|e| CloudTrailError::new("CloudTrailInternalException", e))?;
    let list: Vec<Value> = keys
        .list(region, start, end)
        .iter()
        .map(|k| {
            json!({
                "Value": base64::engine::general_purpose::STANDARD.encode(k.public_der()),
                "ValidityStartTime": k.info().validity_start,
                "ValidityEndTime": k.info().validity_end,
                "Fingerprint": k.info().fingerprint,
            })
        })
        .collect();
    Ok(json!({ "PublicKeyList": list }))
}
