//! The mock clock: real time plus an offset that tests and demos can only move forward.
//!
//! Everything time-driven (creation dates, deletion dates, rotation, event times) reads this clock,
//! so advancing it makes keytrail behave as if that time had passed.

use std::sync::Arc;

use parking_lot::Mutex;
use time::{Duration, OffsetDateTime};

/// A cheap `Clone` handle to the shared mock clock.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset: Arc<Mutex<Duration>>,
}

/// The clock was asked to move back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClockBackwards;

impl Clock {
    /// A clock that starts at real time.
    pub fn new() -> Self {
        Clock::default()
    }

    /// The current mock time, truncated to the millisecond.
    pub fn now(&self) -> OffsetDateTime {
        let t = OffsetDateTime::now_utc() + *self.offset.lock();
        t.replace_nanosecond(t.millisecond() as u32 * 1_000_000).unwrap_or(t)
    }

    /// Moves the clock forward by `by` (negative values are refused).
    pub fn advance(&self, by: Duration) -> Result<OffsetDateTime, ClockBackwards> {
        if by.is_negative() {
            return Err(ClockBackwards);
        }
        *self.offset.lock() += by;
        Ok(self.now())
    }

    /// Moves the clock to `to`, which must not be before now.
    pub fn set(&self, to: OffsetDateTime) -> Result<OffsetDateTime, ClockBackwards> {
        let mut offset = self.offset.lock();
        let real = OffsetDateTime::now_utc();
        if to < real + *offset {
            return Err(ClockBackwards);
        }
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
