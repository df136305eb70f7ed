//! The control API (`/_keytrail/…`): health, reset, events, clock, stats, denials. Not AWS; for
//! tests and demos. Who may call it is `control_access`'s, checked before any route runs.

use bytes::Bytes;
use hyper::http::request::Parts;
use hyper::{Method, Response};
use keytrail_audit::EventFilter;
use serde_json::{json, Value};

use crate::protocol::{bytes_response, json_response, Body};
use crate::App;

/// Routes a control request.
pub async fn handle(app: &App, parts: &Parts, body: &[u8], request_id: &str) -> Response<Body> {
    if let Err(refused) = crate::control_access::check(app, parts, body) {
        tracing::debug!(status = refused.status, path = parts.uri.path(), "control request refused");
        return json_response(refused.status, request_id, &json!({ "__type": refused.code, "message": refused.message }));
    }
    let (method, path, query) = (&parts.method, parts.uri.path(), parts.uri.query());
    match (method, path) {
        (&Method::GET, "/_keytrail/health") => health(app, request_id),
        (&Method::POST, "/_keytrail/reset" | crate::http::MOTO_RESET) => match app.reset().await {
            Ok(()) => json_response(200, request_id, &json!({ "status": "reset" })),
            Err(e) => control_error(request_id, 500, &e),
        },
        (&Method::GET, "/_keytrail/events") => {
            let response = events(app, query, request_id);
            // Every record this answer shows is in the --events-out file before it is sent (a
            // record reaches history only after its line is queued for the file).
            let recorder = app.recorder.clone();
            let _ = tokio::task::spawn_blocking(move || recorder.flush()).await;
            response
        }
        (&Method::GET, "/_keytrail/stats") => json_response(200, request_id, &stats(app)),
        (&Method::GET, "/_keytrail/denials") => {
            let denials: Vec<Value> = app.denials.list().iter().map(|d| d.to_json()).collect();
            let mode = match app.options.enforcement {
                crate::Enforcement::Strict => "strict",
                crate::Enforcement::Report => "report",
            };
            json_response(200, request_id, &json!({ "enforcement": mode, "Denials": denials }))
        }
        (&Method::GET, "/_keytrail/clock") => json_response(200, request_id, &clock_body(app)),
        (&Method::POST, "/_keytrail/clock") => move_clock(app, body, request_id).await,
        _ => control_error(request_id, 404, &format!("No control route {method} {path}")),
    }
}

/// `200 {"status":"ok"}`, or, once a commit to the data dir has failed (keytrail then refuses
/// every call until a restart), `503 {"status":"failed","reason":…}`: a health check that said
/// ok would keep sending traffic to a keytrail that answers every call with a 500.
fn health(app: &App, request_id: &str) -> Response<Body> {
    let version = env!("CARGO_PKG_VERSION");
    // trailDir: where trails write their log files (the directory that stands for S3).
    let trail_dir = app.cloudtrail.delivery.folder().root().display().to_string();
    match app.storage.as_ref().and_then(|s| s.failure()) {
        None => json_response(200, request_id, &json!({ "status": "ok", "version": version, "trailDir": trail_dir })),
        Some(reason) => {
            json_response(503, request_id, &json!({ "status": "failed", "version": version, "trailDir": trail_dir, "reason": reason }))
        }
    }
}

fn control_error(request_id: &str, status: u16, message: &str) -> Response<Body> {
    json_response(status, request_id, &json!({ "__type": "ValidationException", "message": message }))
}

fn events(app: &App, query: Option<&str>, request_id: &str) -> Response<Body> {
    let mut filter = EventFilter::default();
    for (k, v) in query_pairs(query.unwrap_or("")) {
        match k.as_str() {
            "account" => filter.account = Some(v),
            "eventName" => filter.event_name = Some(v),
            "since" => filter.since = Some(v),
            _ => {}
        }
    }
    let out = keytrail_audit::delivery::records_document(&app.recorder.events(&filter));
    bytes_response(200, request_id, "application/json", Bytes::from(out))
}

/// Counters for load tests: records in history and, with `--data-dir`, the group-commit writer's
/// transactions (one fsync each) against the calls they acknowledged, and how long its commits
/// took (microseconds since start: what bounds throughput and p99 there); with `--s3-endpoint`,
/// how many trail files wait for the store.
fn stats(app: &App) -> Value {
    use std::sync::atomic::Ordering::Relaxed;
    let storage = app.storage.as_ref().map(|s| {
        let st = s.stats();
        let c = st.commit_times.summary();
        json!({
            "transactions": st.transactions.load(Relaxed),
            "acks": st.acks.load(Relaxed),
            "events": st.events.load(Relaxed),
            "commitMicros": { "count": c.count, "p50": c.p50, "p90": c.p90, "p99": c.p99, "max": c.max },
        })
    });
    // With --s3-endpoint: trail files waiting in the outbox for the store.
    let outbox = app.cloudtrail.delivery.uploader().map(|u| json!({ "endpoint": u.endpoint(), "waiting": u.waiting() }));
    json!({ "events": app.recorder.len(), "storage": storage, "outbox": outbox })
}

fn clock_body(app: &App) -> Value {
    json!({ "now": keytrail_audit::timefmt::rfc3339(app.clock.now()) })
}

async fn move_clock(app: &App, body: &[u8], request_id: &str) -> Response<Body> {
    let req: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return control_error(request_id, 400, "Body must be {\"advanceSeconds\": N} or {\"set\": \"<RFC 3339>\"}"),
    };
    // An `advanceSeconds` that is not a whole number of seconds in i64's range (2^63 and more,
    // 1.5, "60") is refused as a wrong body; one in range that would take the clock past the
    // latest time a timestamp can hold is refused by the clock. Either way nothing moves.
    let moved = if let Some(advance) = req.get("advanceSeconds") {
        match advance.as_i64() {
            Some(n) => app.clock.advance(time::Duration::seconds(n)),
            None => return control_error(request_id, 400, "advanceSeconds must be a whole number of seconds (at most 2^63-1)"),
        }
    } else if let Some(s) = req.get("set").and_then(Value::as_str) {
        match time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
            Ok(t) => app.clock.set(t),
            Err(_) => return control_error(request_id, 400, &format!("'{s}' is not an RFC 3339 time")),
        }
    } else {
        return control_error(request_id, 400, "Body must be {\"advanceSeconds\": N} or {\"set\": \"<RFC 3339>\"}");
    };
    if let Err(e) = moved {
        return control_error(request_id, 400, e.message());
    }
    app.tick().await;
    json_response(200, request_id, &clock_body(app))
}

/// Splits `a=b&c=d`, percent-decoding values.
pub fn query_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or(()) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
