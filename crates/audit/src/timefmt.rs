//! Time formats used in CloudTrail records.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// `eventTime`: UTC, to the second, `Z` suffix (`2025-05-20T20:45:00Z`).
pub fn event_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// RFC 3339 with milliseconds, for the control API's clock.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_like_aws() {
        let t = datetime!(2022-08-10 22:38:27.123 UTC);
        assert_eq!(event_time(t), "2022-08-10T22:38:27Z");
    }
}
