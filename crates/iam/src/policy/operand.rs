//! Typed condition values: numbers, dates and IP ranges, parsed once from the policy and per
//! request from the context.

use std::net::IpAddr;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

/// Parses a `Numeric*` value (integer or decimal); non-finite values are refused.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Parses a `Date*` value to Unix nanoseconds. Accepted: epoch seconds (`aws:EpochTime`),
/// RFC 3339 (`2024-05-01T12:00:00Z`), and, taken as UTC, `2024-05-01T12:00:00` or `2024-05-01`.
pub(crate) fn parse_date(text: &str) -> Option<i128> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i64>().ok().map(|secs| i128::from(secs) * 1_000_000_000);
    }
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(at.unix_timestamp_nanos());
    }
    let no_zone = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    if let Ok(at) = PrimitiveDateTime::parse(text, no_zone) {
        return Some(at.assume_utc().unix_timestamp_nanos());
    }
    let date_only = format_description!("[year]-[month]-[day]");
    Date::parse(text, date_only).ok().map(|date| date.midnight().assume_utc().unix_timestamp_nanos())
}

/// Parses a `Bool` value (`true`/`false`, any case).
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An IPv4 or IPv6 range for `IpAddress`/`NotIpAddress`; a bare address is a /32 or /128.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `203.0.113.0/24`, `2001:db8::/32` or a bare address.
    pub(crate) fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix.parse::<u8>().ok()?)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { network, prefix })
    }

    /// Whether the request address `address` falls in the range.
    pub(crate) fn contains(&self, address: &str) -> bool {
        let Ok(address) = address.trim().parse::<IpAddr>() else {
            return false;
        };
        match (self.network, address) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("42"), Some(42.0));
        assert_eq!(parse_number("-1.5"), Some(-1.5));
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("ten"), None);
    }

    #[test]
    fn dates_in_every_accepted_form() {
        let noon = parse_date("2024-05-01T12:00:00Z").unwrap();
        assert_eq!(parse_date("2024-05-01T12:00:00"), Some(noon));
        assert_eq!(parse_date("2024-05-01T14:00:00+02:00"), Some(noon));
        assert_eq!(parse_date("1714564800"), Some(noon));
        assert_eq!(parse_date("2024-05-01"), Some(noon - 12 * 3600 * 1_000_000_000));
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn ip_ranges() {
        let net = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(net.contains("203.0.113.7"));
        assert!(!net.contains("203.0.114.7"));
        assert!(!net.contains("2001:db8::1"));
        assert!(!net.contains("garbage"));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8"));
        assert!(Cidr::parse("10.0.0.1").unwrap().contains("10.0.0.1"));
        assert!(!Cidr::parse("10.0.0.1").unwrap().contains("10.0.0.2"));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5"));
        assert!(!v6.contains("2001:db9::5"));
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
        assert_eq!(Cidr::parse("10.0.0/8"), None);
    }

    #[test]
    fn bools() {
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("false"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }
}
