//! Who may use the control API (`/_keytrail/*`), checked before any control route runs.
//!
//! Why: `reset` wipes every key (durably, with `--data-dir`) and `clock` can fast-forward time
//! past every pending deletion, so the control API must not be reachable from a web page the
//! developer happens to visit, nor, when credentials are strict, by anyone who can reach the port.
//!
//! - Always: a cross-origin request (an `Origin` whose host and port are not the request's `Host`,
//!   or `Sec-Fetch-Site: cross-site|same-site`) gets 403, and a write (any method but GET/HEAD)
//!   whose `Content-Type` is not `application/json` gets 415. A browser sends a cross-origin POST
//!   without asking first only with a "simple" content type (`text/plain`, a form), and always
//!   with its `Origin`, so neither can reset or move the clock. Same-origin pages (the console
//!   under `/_keytrail/console`, which sends JSON) and clients without an `Origin` (curl, SDKs,
//!   tests) pass.
//! - With `--strict-credentials`: every route but `GET /_keytrail/health` and the console's
//!   static files (`GET /_keytrail/console…`, not `…/console/api/…`, which carry no data) needs
//!   `Authorization: Bearer <control_token>` or a SigV4-signed request, verified whatever
//!   `--verify-signatures` says, from a principal in `control_principals` (its ARN, or for a role
//!   session the role's ARN); otherwise 403.

use hyper::http::request::Parts;
use hyper::Method;

use crate::identify::{authenticate, ApiScope};
use crate::App;

/// A control request refused: the HTTP status, the `__type` and the message of its JSON error.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    /// 403 or 415.
    pub status: u16,
    /// `AccessDeniedException` or `UnsupportedMediaTypeException`.
    pub code: &'static str,
    /// Why, without any credential.
    pub message: String,
}

fn forbidden(message: impl Into<String>) -> Refused {
    Refused { status: 403, code: "AccessDeniedException", message: message.into() }
}

/// Checks a control request; `Err` is the answer to send instead of running the route.
pub fn check(app: &App, parts: &Parts, body: &[u8]) -> Result<(), Refused> {
    if let Some(origin) = cross_origin(parts) {
        return Err(forbidden(format!("Cross-origin requests to the control API are refused (Origin {origin}).")));
    }
    let writes = parts.method != Method::GET && parts.method != Method::HEAD;
    // moto's clients send their reset with no body and no Content-Type; with nothing written and
    // the Origin check above, a browser still cannot send it from another site.
    let moto_reset =
        parts.uri.path() == crate::http::MOTO_RESET && body.is_empty() && !parts.headers.contains_key(hyper::header::CONTENT_TYPE);
    if writes && !is_json(parts) && !moto_reset {
        return Err(Refused {
            status: 415,
            code: "UnsupportedMediaTypeException",
            message: "Control API writes must be sent with Content-Type: application/json.".into(),
        });
    }
    if !app.options.strict_credentials || is_open_route(&parts.method, parts.uri.path()) {
        return Ok(());
    }
    authorize(app, parts, body)
}

/// Routes that carry no data and answer without credentials even in strict mode.
fn is_open_route(method: &Method, path: &str) -> bool {
    let console_file = path == "/_keytrail/console"
        || path.strip_prefix("/_keytrail/console/").is_some_and(|rest| rest != "api" && !rest.starts_with("api/"));
    *method == Method::GET && (path == "/_keytrail/health" || console_file)
}

/// Strict mode: the configured bearer token, or a verified signature of an allowed principal.
fn authorize(app: &App, parts: &Parts, body: &[u8]) -> Result<(), Refused> {
    const NEEDS: &str = "The control API needs Authorization: Bearer <control_token> or a SigV4-signed request from one of control_principals when credentials are strict.";
    let Some(header) = parts.headers.get(hyper::header::AUTHORIZATION) else { return Err(forbidden(NEEDS)) };
    let header = header.to_str().map_err(|_| forbidden(NEEDS))?;
    if let Some(given) = header.strip_prefix("Bearer ") {
        return match &app.options.control_token {
            Some(token) if keytrail_iam::credentials::constant_time_eq(token.0.as_bytes(), given.trim().as_bytes()) => Ok(()),
            Some(_) => Err(forbidden("The bearer token is not the control token.")),
            None => Err(forbidden("No control_token is configured; sign the request as one of control_principals.")),
        };
    }
    if !header.starts_with("AWS4-HMAC-SHA256") {
        return Err(forbidden(NEEDS));
    }
    let caller = authenticate(app, parts, body, ApiScope::CONTROL, true).map_err(|e| forbidden(format!("{}: {}", e.code, e.message)))?;
    let allowed = &app.options.file.control_principals;
    let (arn, role) = (caller.principal.arn(), caller.principal.policy_arn());
    if allowed.iter().any(|a| *a == arn || *a == role) {
        Ok(())
    } else {
        Err(forbidden(format!("{arn} is not one of control_principals.")))
    }
}

/// The `Origin` of a cross-origin request, if this is one.
fn cross_origin(parts: &Parts) -> Option<String> {
    let header = |name: &str| parts.headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    if let Some(site) = header("sec-fetch-site") {
        if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
            return Some(header("origin").unwrap_or("(none; Sec-Fetch-Site says another site)").to_string());
        }
    }
    let origin = header("origin")?;
    let same = match (origin_authority(origin), header("host")) {
        (Some((scheme, authority)), Some(host)) => {
            without_default_port(scheme, &authority) == without_default_port(scheme, &host.to_ascii_lowercase())
        }
        _ => false,
    };
    (!same).then(|| origin.to_string())
}

/// `http://Example.com:80` → (`http`, `example.com:80`); `None` for `null` and anything that is
/// not `scheme://authority`.
fn origin_authority(origin: &str) -> Option<(&str, String)> {
    let (scheme, rest) = origin.split_once("://")?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    (!authority.is_empty() && !authority.contains('/')).then(|| (scheme, authority.to_ascii_lowercase()))
}

fn without_default_port<'a>(scheme: &str, authority: &'a str) -> &'a str {
    let default = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return authority,
    };
    authority.strip_suffix(default).unwrap_or(authority)
}

/// `Content-Type: application/json`, parameters (`; charset=utf-8`) allowed.
fn is_json(parts: &Parts) -> bool {
    parts
        .headers
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, path: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = hyper::Request::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn origins_match_the_host_or_the_request_is_cross_origin() {
        let host = ("host", "127.0.0.1:4599");
        assert_eq!(cross_origin(&parts("GET", "/_keytrail/events", &[host])), None);
        assert_eq!(cross_origin(&parts("GET", "/_keytrail/events", &[host, ("origin", "http://127.0.0.1:4599")])), None);
        assert_eq!(cross_origin(&parts("GET", "/", &[("host", "LocalHost"), ("origin", "http://localhost:80")])), None);
        assert_eq!(cross_origin(&parts("GET", "/", &[("host", "[::1]:4599"), ("origin", "http://[::1]:4599")])), None);
        for origin in ["http://127.0.0.1:3000", "http://evil.example", "null", "http://127.0.0.1:4599.evil", "file://", ""] {
            assert!(cross_origin(&parts("POST", "/", &[host, ("origin", origin)])).is_some(), "{origin}");
        }
        assert!(cross_origin(&parts("POST", "/", &[("origin", "http://127.0.0.1:4599")])).is_some(), "no Host to match");
        assert!(cross_origin(&parts("POST", "/", &[host, ("sec-fetch-site", "cross-site")])).is_some());
        assert!(cross_origin(&parts("POST", "/", &[host, ("sec-fetch-site", "same-origin")])).is_none());
    }

    #[test]
    fn json_and_open_routes() {
        assert!(is_json(&parts("POST", "/", &[("content-type", "application/json")])));
        assert!(is_json(&parts("POST", "/", &[("content-type", "Application/JSON; charset=utf-8")])));
        for other in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/jsonx"] {
            assert!(!is_json(&parts("POST", "/", &[("content-type", other)])), "{other}");
        }
        assert!(!is_json(&parts("POST", "/", &[])));
        assert!(is_open_route(&Method::GET, "/_keytrail/health"));
        assert!(is_open_route(&Method::GET, "/_keytrail/console"));
        assert!(is_open_route(&Method::GET, "/_keytrail/console/app.js"));
        assert!(!is_open_route(&Method::GET, "/_keytrail/console/api/events"));
        assert!(!is_open_route(&Method::GET, "/_keytrail/console/api"));
        assert!(!is_open_route(&Method::POST, "/_keytrail/health"));
        assert!(!is_open_route(&Method::GET, "/_keytrail/events"));
    }
}
