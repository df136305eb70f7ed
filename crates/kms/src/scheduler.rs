//! What falls due as the mock clock moves: automatic rotations and deletions at the end of
//! their waiting periods. Each produces the service event AWS records.

use serde_json::json;
use time::OffsetDateTime;

use crate::key::{KeyState, RotationType};
use crate::{Change, Kms, ServiceEvent};

const DAY: i64 = 86_400;

impl Kms {
    /// Performs everything due at or before `now`, in time order, and returns the service events
    /// and state changes. Idempotent: a second call at the same time does nothing.
    pub fn run_due(&self, now: OffsetDateTime) -> (Vec<ServiceEvent>, Vec<Change>) {
        let now_secs = now.unix_timestamp();
        // (due time, key arn, is deletion)
        let mut due: Vec<(i64, String, bool)> = self.store.scan(|key| {
            if key.state == KeyState::PendingDeletion {
                key.deletion_date.filter(|d| *d <= now_secs).map(|d| (d, key.arn(), true))
            } else {
                // A disabled key is not rotated; its schedule waits, so it rotates once it is
                // enabled again (as AWS does when a rotation date passes while a key is disabled).
                key.rotation
                    .as_ref()
                    .filter(|r| r.next_rotation <= now_secs && key.state == KeyState::Enabled)
                    .map(|r| (r.next_rotation, key.arn(), false))
            }
        });
        due.sort();
        let mut events = Vec::new();
        let mut changes = Vec::new();
        for (at_secs, arn, deletion) in due {
            let at = OffsetDateTime::from_unix_timestamp(at_secs).unwrap_or(now);
            if deletion {
                if let Some(key) = self.store.remove_key(&arn) {
                    events.push(ServiceEvent {
                        name: "DeleteKey",
                        account: key.account.clone(),
                        region: key.region.clone(),
                        key_arn: arn.clone(),
                        details: None,
                        response_elements: Some(json!({ "keyId": arn })),
                        at,
                    });
                    changes.push(Change::Key(arn));
                }
                continue;
            }
            // A key that slept through several periods rotates each period it missed, in order.
            let rotated = self.store.with_key_mut(&arn, |key| {
                let mut out = Vec::new();
                while let Some(r) = key.rotation.clone().filter(|r| r.next_rotation <= now_secs) {
                    let when = OffsetDateTime::from_unix_timestamp(r.next_rotation).unwrap_or(now);
                    out.push(crate::ops::rotation::rotate(key, when, RotationType::Automatic));
                    if let Some(s) = key.rotation.as_mut() {
                        s.next_rotation += i64::from(r.period_days) * DAY;
                    }
                }
                out
            });
            if let Some(rotated) = rotated {
                events.extend(rotated);
                changes.push(Change::Key(arn));
            }
        }
        events.sort_by_key(|e| e.at);
        (events, changes)
    }
}
