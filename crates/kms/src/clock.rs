//! The mock clock: real time plus an offset that tests and demos can only move forward, and never
//! past [`LATEST`].
//!
//! Everything time-driven (creation dates, deletion dates, rotation, event times) reads this clock,
//! so advancing it makes keytrail behave as if that time had passed.

use std::sync::Arc;

use parking_lot::Mutex;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// The latest time the mock clock shows: 9999-12-31T23:59:59Z. AWS timestamps are ISO 8601 with
/// a four-digit year (CloudTrail's `eventTime`, the SDKs' date-time parsers), and `time`'s
/// `OffsetDateTime` holds no later year either, so a later time cannot be written into a record
/// or a response. Time arithmetic that would pass it stops at it ([`add_saturating`]).
pub const LATEST: OffsetDateTime = datetime!(9999-12-31 23:59:59 UTC);

/// A cheap `Clone` handle to the shared mock clock.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset: Arc<Mutex<Duration>>,
}

/// Why the clock refused to move; nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockError {
    /// It was asked to move back.
    Backwards,
    /// It would pass [`LATEST`] (or the arithmetic to get there would overflow).
    PastLatest,
}

impl ClockError {
    /// What the control API answers.
    pub fn message(self) -> &'static str {
        match self {
            ClockError::Backwards => "The mock clock only moves forward.",
            ClockError::PastLatest => "The mock clock cannot move past 9999-12-31T23:59:59Z, the latest time an AWS timestamp can hold.",
        }
    }
}

/// `t + by`, or [`LATEST`] if that is later (or not representable): for dates computed from the
/// mock clock (a deletion 30 days after a clock standing near the end of year 9999).
pub fn add_saturating(t: OffsetDateTime, by: Duration) -> OffsetDateTime {
    t.checked_add(by).map_or(LATEST, |sum| sum.min(LATEST))
}

impl Clock {
    /// A clock that starts at real time.
    pub fn new() -> Self {
        Clock::default()
    }

    /// The current mock time, truncated to the millisecond; at most [`LATEST`] (a data dir from
    /// an older keytrail may hold an offset past it: the clock then stands at it).
    pub fn now(&self) -> OffsetDateTime {
        let t = add_saturating(OffsetDateTime::now_utc(), *self.offset.lock());
        t.replace_nanosecond(t.millisecond() as u32 * 1_000_000).unwrap_or(t)
    }

    /// Whether the clock stands at [`LATEST`].
    pub fn at_latest(&self) -> bool {
        self.now() >= LATEST
    }

    /// Moves the clock forward by `by`: negative values, and values that would take it past
    /// [`LATEST`], are refused and change nothing.
    pub fn advance(&self, by: Duration) -> Result<OffsetDateTime, ClockError> {
        if by.is_negative() {
            return Err(ClockError::Backwards);
        }
        let mut offset = self.offset.lock();
        let moved = offset.checked_add(by).ok_or(ClockError::PastLatest)?;
        if OffsetDateTime::now_utc().checked_add(moved).is_none_or(|t| t > LATEST) {
            return Err(ClockError::PastLatest);
        }
        *offset = moved;
        drop(offset);
        Ok(self.now())
    }

    /// Moves the clock to `to`, which must not be before now nor after [`LATEST`].
    pub fn set(&self, to: OffsetDateTime) -> Result<OffsetDateTime, ClockError> {
        if to > LATEST {
            return Err(ClockError::PastLatest);
        }
        let mut offset = self.offset.lock();
        let real = OffsetDateTime::now_utc();
        if to < add_saturating(real, *offset) {
            return Err(ClockError::Backwards);
        }
        // Both times lie between years -9999 and 9999: the difference fits a Duration.
        *offset = to - real;
        drop(offset);
        Ok(self.now())
    }

    /// The offset from real time (persisted so a restart keeps mock time).
    pub fn offset(&self) -> Duration {
        *self.offset.lock()
    }

    /// Restores a persisted offset, keeping the larger of it and the current one.
    pub fn restore_offset(&self, offset: Duration) {
        let mut o = self.offset.lock();
        if offset > *o {
            *o = offset;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_past_the_latest_time_and_never_panics() {
        let clock = Clock::new();
        assert_eq!(clock.advance(Duration::seconds(i64::MAX)), Err(ClockError::PastLatest));
        assert_eq!(clock.advance(Duration::MAX), Err(ClockError::PastLatest));
        assert_eq!(clock.advance(Duration::seconds(-1)), Err(ClockError::Backwards));
        assert_eq!(clock.set(datetime!(2000-01-01 0:00 UTC)), Err(ClockError::Backwards));
        assert_eq!(clock.set(datetime!(9999-12-31 23:00 -05:00)), Err(ClockError::PastLatest), "04:00 on Jan 1 of year 10000 in UTC");
        assert!(clock.offset().is_zero(), "nothing refused moved it");
        let near = datetime!(9999-12-31 23:59:00 UTC);
        assert_eq!(clock.set(near).unwrap(), near);
        assert_eq!(clock.advance(Duration::minutes(2)), Err(ClockError::PastLatest));
        assert!(clock.now() >= near && !clock.at_latest());
        assert_eq!(add_saturating(clock.now(), Duration::days(30)), LATEST);
        assert_eq!(add_saturating(LATEST, Duration::MAX), LATEST);
        // An offset from an older keytrail, past anything representable: the clock stands at LATEST.
        let old = Clock::new();
        old.restore_offset(Duration::MAX);
        assert_eq!(old.now(), LATEST);
        assert!(old.at_latest());
        assert_eq!(old.advance(Duration::ZERO), Err(ClockError::PastLatest));
    }
}
