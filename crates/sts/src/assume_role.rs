//! `AssumeRole`: validate the request as the STS model constrains it, evaluate the role's trust
//! policy with the caller's identity policies, and issue credentials for a role session.
//!
//! The decision follows the IAM User Guide ("Policy evaluation logic", "Cross-account policy
//! evaluation logic", and the AssumeRole API reference): the trust policy is the role's
//! resource-based policy. In the role's own account, a trust statement naming the caller (its
//! user ARN, its role or session ARN) allows on its own, while one naming the account only
//! delegates to the caller's identity policies, which must then allow `sts:AssumeRole` on the
//! role; from another account both must allow. An explicit Deny anywhere wins. Session tags
//! also need `sts:TagSession`, a source identity `sts:SetSourceIdentity`, on the same terms.

use std::sync::Arc;

use keytrail_iam::credentials::IssuedSession;
use keytrail_iam::policy::{authorize, ConditionValue, RequestContext};
use keytrail_iam::principal::SessionAttributes;
use keytrail_iam::{Caller, Principal};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::error::StsError;
use crate::issue::{new_credentials, token_digest};
use crate::query::QueryRequest;
use crate::roles::Role;
use crate::xml::{response_document, Elements};
use crate::{Sts, StsOutcome, TouchedRole};

/// What a session lasts when the request names no `DurationSeconds` (the API reference).
const DEFAULT_DURATION_SECONDS: i64 = 3600;
/// The longest session a role session may ask for when it assumes a role (role chaining).
const CHAINED_MAX_SECONDS: i64 = 3600;

/// A valid, parsed AssumeRole request.
struct Request<'a> {
    role_arn: &'a str,
    session_name: &'a str,
    duration: Option<i64>,
    external_id: Option<&'a str>,
    tags: Vec<(&'a str, &'a str)>,
    transitive_keys: Vec<&'a str>,
    serial_number: Option<&'a str>,
    token_code: Option<&'a str>,
    source_identity: Option<&'a str>,
}

pub(crate) fn assume_role(sts: &Sts, caller: &Caller, query: &QueryRequest, request_id: &str, now: OffsetDateTime) -> StsOutcome {
    let mut outcome = StsOutcome {
        result: Err(StsError::validation("")),
        request_parameters: Some(request_parameters(query, &caller.principal)),
        response_elements: None,
        resources: Vec::new(),
        issued: None,
    };
    outcome.result = run(sts, caller, query, request_id, now, &mut outcome);
    outcome
}

fn run(
    sts: &Sts,
    caller: &Caller,
    query: &QueryRequest,
    request_id: &str,
    now: OffsetDateTime,
    out: &mut StsOutcome,
) -> Result<String, StsError> {
    let req = parse(query)?;
    if query.get("Policy").is_some() || query.list("PolicyArns").is_some() || query.list("ProvidedContexts").is_some() {
        return Err(StsError::not_implemented(
            "keytrail does not apply session policies (Policy, PolicyArns) or provided contexts to AssumeRole sessions.",
        ));
    }
    let (role_account, _) = parse_role_arn(req.role_arn).ok_or_else(|| StsError::validation("Request ARN is invalid"))?;
    out.resources.push(TouchedRole { account: role_account.to_owned(), arn: req.role_arn.to_owned() });
    let principal = &caller.principal;
    if principal.is_root() {
        // The API reference: root user credentials cannot call AssumeRole.
        return Err(StsError::access_denied("Roles may not be assumed by root accounts."));
    }
    if req.serial_number.is_some() != req.token_code.is_some() {
        return Err(StsError::access_denied(
            "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code.",
        ));
    }
    let denied = || {
        StsError::access_denied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {}",
            principal.arn(),
            req.role_arn
        ))
    };
    // A role that does not exist is refused as one the caller may not assume: STS says no more.
    let role = sts.roles.get(req.role_arn).ok_or_else(denied)?;
    let incoming = incoming_transitive_tags(principal);
    let caller_mfa = matches!(principal, Principal::AssumedRole { attributes, .. } if attributes.mfa_authenticated);
    let mfa = caller_mfa || req.serial_number.is_some();
    let identity = sts.directory.policies_of(principal);
    let allowed = |action: &'static str| {
        let ctx = request_context(principal, action, req.role_arn, &req, mfa, now);
        authorize(&role.trust_policy, identity, &ctx, &role.account).is_ok()
    };
    if !allowed("sts:AssumeRole") {
        return Err(denied());
    }
    if !req.tags.is_empty() && !allowed("sts:TagSession") {
        return Err(StsError::access_denied(format!(
            "User: {} is not authorized to perform: sts:TagSession on resource: {}",
            principal.arn(),
            req.role_arn
        )));
    }
    let inherited_source = match principal {
        Principal::AssumedRole { attributes, .. } => attributes.source_identity.clone(),
        _ => None,
    };
    if let Some(source) = req.source_identity {
        if inherited_source.as_deref().is_some_and(|s| s != source) {
            return Err(StsError::access_denied("The source identity of a role session cannot be changed along a role chain."));
        }
        if inherited_source.is_none() && !allowed("sts:SetSourceIdentity") {
            return Err(StsError::access_denied(format!(
                "User: {} is not authorized to perform: sts:SetSourceIdentity on resource: {}",
                principal.arn(),
                req.role_arn
            )));
        }
    }
    let duration = session_duration(&req, role, principal)?;
    let attributes = session_attributes(&req, incoming, mfa, inherited_source)?;
    Ok(issue(sts, role, &req, attributes, duration, request_id, now, out))
}

/// Reads the request, checking the STS model's constraints (botocore `sts/2011-06-15`); all the
/// violations are reported at once, as AWS words them.
fn parse(query: &QueryRequest) -> Result<Request<'_>, StsError> {
    let mut v = Violations::default();
    let role_arn = v.string(query.get("RoleArn"), "roleArn", true, 20, 2048, None);
    let session_name = v.string(query.get("RoleSessionName"), "roleSessionName", true, 2, 64, Some(SESSION_NAME));
    let external_id = v.string(query.get("ExternalId"), "externalId", false, 2, 1224, Some(EXTERNAL_ID));
    let serial_number = v.string(query.get("SerialNumber"), "serialNumber", false, 9, 256, Some(SERIAL_NUMBER));
    let token_code = v.string(query.get("TokenCode"), "tokenCode", false, 6, 6, Some(DIGITS));
    let source_identity = v.string(query.get("SourceIdentity"), "sourceIdentity", false, 2, 64, Some(SESSION_NAME));
    let duration = match query.get("DurationSeconds") {
        None => None,
        Some(text) => {
            let n: i64 = text
                .trim()
                .parse()
                .map_err(|_| StsError::invalid_parameter(format!("Value ({text}) for parameter DurationSeconds is invalid.")))?;
            if n < 900 {
                v.push(format!(
                    "Value '{n}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
                ));
            } else if n > 43_200 {
                v.push(format!(
                    "Value '{n}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"
                ));
            }
            Some(n)
        }
    };
    let mut tags = Vec::new();
    let raw_tags = query.structure_list("Tags", &["Key", "Value"]).unwrap_or_default();
    if raw_tags.len() > 50 {
        v.push("Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50".into());
    }
    for (i, entry) in raw_tags.iter().enumerate() {
        let key = v.string(entry[0], &format!("tags.{}.member.key", i + 1), true, 1, 128, Some(TAG));
        let value = v.string(entry[1], &format!("tags.{}.member.value", i + 1), true, 0, 256, Some(TAG));
        if let (Some(k), Some(val)) = (key, value) {
            tags.push((k, val));
        }
    }
    let raw_keys = query.list("TransitiveTagKeys").unwrap_or_default();
    if raw_keys.len() > 50 {
        v.push("Value at 'transitiveTagKeys' failed to satisfy constraint: Member must have length less than or equal to 50".into());
    }
    let transitive_keys: Vec<&str> = raw_keys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| v.string(Some(k), &format!("transitiveTagKeys.{}.member", i + 1), true, 1, 128, Some(TAG)))
        .collect();
    v.into_result()?;
    let (Some(role_arn), Some(session_name)) = (role_arn, session_name) else {
        return Err(StsError::validation("RoleArn and RoleSessionName are required"));
    };
    Ok(Request { role_arn, session_name, duration, external_id, tags, transitive_keys, serial_number, token_code, source_identity })
}

/// `(account, role name)` of `arn:aws:iam::<account>:role/<path/>name`.
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_and_name = resource.strip_prefix("role/")?;
    let name = path_and_name.rsplit('/').next()?;
    let valid_account = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (valid_account && !name.is_empty()).then_some((account, name))
}

/// The request context the trust policy (and the caller's identity policies) are evaluated in:
/// the caller's global keys, and the STS keys of the IAM User Guide's "AWS STS condition keys".
fn request_context<'a>(
    principal: &'a Principal,
    action: &'a str,
    role_arn: &'a str,
    req: &Request<'_>,
    mfa: bool,
    now: OffsetDateTime,
) -> RequestContext<'a> {
    let mut ctx = RequestContext::new(principal, action, role_arn)
        .with_value("sts:RoleSessionName", req.session_name)
        .with_value("aws:MultiFactorAuthPresent", if mfa { "true" } else { "false" })
        .with_value("aws:CurrentTime", rfc3339_seconds(now))
        .with_value("aws:EpochTime", now.unix_timestamp().to_string());
    if let Some(id) = req.external_id {
        ctx = ctx.with_value("sts:ExternalId", id);
    }
    if let Some(source) = req.source_identity {
        ctx = ctx.with_value("sts:SourceIdentity", source);
    }
    if !req.tags.is_empty() {
        for (k, v) in &req.tags {
            ctx.insert(&format!("aws:RequestTag/{k}"), ConditionValue::Single((*v).to_owned()));
        }
        ctx = ctx.with_values("aws:TagKeys", req.tags.iter().map(|(k, _)| (*k).to_owned()));
    }
    if !req.transitive_keys.is_empty() {
        ctx = ctx.with_values("sts:TransitiveTagKeys", req.transitive_keys.iter().map(|k| (*k).to_owned()));
    }
    ctx
}

/// The caller's transitive tags, which a session it assumes inherits (IAM User Guide,
/// "Chaining roles with session tags").
fn incoming_transitive_tags(principal: &Principal) -> Vec<(String, String)> {
    match principal {
        Principal::AssumedRole { attributes, .. } => attributes
            .tags
            .iter()
            .filter(|(k, _)| attributes.transitive_tag_keys.iter().any(|t| t.eq_ignore_ascii_case(k)))
            .cloned()
            .collect(),
        _ => Vec::new(),
    }
}

/// The session's length: the request's, within the role's maximum (and an hour along a chain).
fn session_duration(req: &Request<'_>, role: &Role, principal: &Principal) -> Result<i64, StsError> {
    let duration = req.duration.unwrap_or(DEFAULT_DURATION_SECONDS);
    if matches!(principal, Principal::AssumedRole { .. }) && duration > CHAINED_MAX_SECONDS {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    if duration > i64::from(role.max_session_seconds) {
        return Err(StsError::validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role."));
    }
    Ok(duration)
}

/// Tags, transitive keys and the rest of the new session's facts.
///
/// Choices where the IAM User Guide ("Passing session tags in AWS STS") states a rule but not
/// its error: duplicate keys (tag keys are case-insensitive), a transitive key that is not among
/// the request's tags, and a tag that would replace an incoming transitive one are refused with
/// `InvalidParameterValue`.
fn session_attributes(
    req: &Request<'_>,
    incoming: Vec<(String, String)>,
    mfa: bool,
    source_identity: Option<String>,
) -> Result<SessionAttributes, StsError> {
    for (i, (k, _)) in req.tags.iter().enumerate() {
        if req.tags[..i].iter().any(|(other, _)| other.eq_ignore_ascii_case(k)) {
            return Err(StsError::invalid_parameter("Duplicate tag keys found. Please note that Tag keys are case insensitive."));
        }
        if incoming.iter().any(|(other, _)| other.eq_ignore_ascii_case(k)) {
            return Err(StsError::invalid_parameter(format!(
                "The tag {k} cannot replace the incoming transitive session tag of the same key."
            )));
        }
    }
    for key in &req.transitive_keys {
        if !req.tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Err(StsError::invalid_parameter(format!(
                "The transitive tag key {key} is not one of the session tags of the request."
            )));
        }
    }
    let mut transitive_tag_keys: Vec<String> = incoming.iter().map(|(k, _)| k.clone()).collect();
    transitive_tag_keys.extend(req.transitive_keys.iter().map(|k| (*k).to_owned()));
    let mut tags = incoming;
    tags.extend(req.tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Ok(SessionAttributes {
        mfa_authenticated: mfa,
        tags,
        transitive_tag_keys,
        source_identity: source_identity.or_else(|| req.source_identity.map(str::to_owned)),
    })
}

/// Issues the credentials, registers them, and writes the response and its record's elements.
#[allow(clippy::too_many_arguments)]
fn issue(
    sts: &Sts,
    role: &Role,
    req: &Request<'_>,
    attributes: SessionAttributes,
    duration: i64,
    request_id: &str,
    now: OffsetDateTime,
    out: &mut StsOutcome,
) -> String {
    let creds = new_credentials();
    let expires = now + time::Duration::seconds(duration);
    let source_identity = attributes.source_identity.clone();
    let principal = Principal::AssumedRole {
        account: role.account.clone(),
        role: role.name.clone(),
        role_id: role.role_id.clone(),
        session: req.session_name.to_owned(),
        created: rfc3339_seconds(now),
        attributes: Arc::new(attributes),
    };
    let assumed_role_id = principal.principal_id();
    let assumed_arn = principal.arn();
    let session = Arc::new(IssuedSession::new(
        creds.access_key_id.clone(),
        principal,
        creds.secret.clone(),
        token_digest(&creds.token),
        expires.unix_timestamp(),
    ));
    sts.directory.insert_session(session.clone());
    out.issued = Some(session);
    let mut result = Elements::default();
    if let Some(source) = &source_identity {
        result = result.text("SourceIdentity", source);
    }
    result =
        result.nested("AssumedRoleUser", Elements::default().text("AssumedRoleId", &assumed_role_id).text("Arn", &assumed_arn)).nested(
            "Credentials",
            Elements::default()
                .text("AccessKeyId", &creds.access_key_id)
                .text("SecretAccessKey", &creds.secret)
                .text("SessionToken", &creds.token)
                .text("Expiration", &rfc3339_seconds(expires)),
        );
    // AWS's published AssumeRole records (IAM User Guide, "Logging IAM and AWS STS API calls
    // with AWS CloudTrail") show the access key id, the session token and the expiration, and
    // never the secret access key; keytrail writes the same. The token alone cannot sign.
    let mut elements = json!({
        "credentials": {
            "accessKeyId": creds.access_key_id,
            "sessionToken": creds.token,
            "expiration": human_date(expires),
        },
        "assumedRoleUser": { "assumedRoleId": assumed_role_id, "arn": assumed_arn },
    });
    if let (Some(source), Some(map)) = (&source_identity, elements.as_object_mut()) {
        map.insert("sourceIdentity".into(), json!(source));
    }
    out.response_elements = Some(elements);
    response_document("AssumeRole", result, request_id)
}

/// The request as the record shows it: lower camel case, the MFA one-time code left out (AWS's
/// example with `serialNumber` shows none), incoming transitive tags added as AWS does.
fn request_parameters(query: &QueryRequest, principal: &Principal) -> Value {
    let mut p = Map::new();
    let incoming = incoming_transitive_tags(principal);
    if !incoming.is_empty() {
        p.insert("incomingTransitiveTags".into(), Value::Object(incoming.into_iter().map(|(k, v)| (k, json!(v))).collect()));
    }
    for (field, name) in [("roleArn", "RoleArn"), ("roleSessionName", "RoleSessionName")] {
        if let Some(v) = query.get(name) {
            p.insert(field.into(), json!(v));
        }
    }
    if let Some(tags) = query.structure_list("Tags", &["Key", "Value"]) {
        let tags: Vec<Value> = tags.iter().map(|t| json!({ "key": t[0], "value": t[1] })).collect();
        p.insert("tags".into(), Value::Array(tags));
    }
    if let Some(keys) = query.list("TransitiveTagKeys") {
        p.insert("transitiveTagKeys".into(), json!(keys));
    }
    if let Some(d) = query.get("DurationSeconds") {
        p.insert("durationSeconds".into(), d.trim().parse::<i64>().map_or_else(|_| json!(d), |n| json!(n)));
    }
    for (field, name) in [("externalId", "ExternalId"), ("serialNumber", "SerialNumber"), ("sourceIdentity", "SourceIdentity")] {
        if let Some(v) = query.get(name) {
            p.insert(field.into(), json!(v));
        }
    }
    Value::Object(p)
}

/// `2024-01-01T00:00:00Z`.
fn rfc3339_seconds(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// The date form of STS's records: `Oct 2, 2019 11:12:29 PM`.
fn human_date(t: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!(
        "[month repr:short] [day padding:none], [year] [hour repr:12 padding:none]:[minute]:[second] [period]"
    );
    t.to_offset(time::UtcOffset::UTC).format(&fmt).unwrap_or_default()
}

/// A member's regular expression as the model states it, and the characters it allows.
type Pattern = (&'static str, fn(char) -> bool);

/// `[\w+=,.@-]*` (`\w`: ASCII letters, digits, `_`).
const SESSION_NAME: Pattern = (r"[\w+=,.@-]*", |c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
/// `[\w+=,.@:\/-]*`.
const EXTERNAL_ID: Pattern = (r"[\w+=,.@:\/-]*", |c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
/// `[\w+=/:,.@-]*`.
const SERIAL_NUMBER: Pattern = (r"[\w+=/:,.@-]*", |c| c.is_ascii_alphanumeric() || "_+=/:,.@-".contains(c));
/// `[\d]*`.
const DIGITS: Pattern = (r"[\d]*", |c| c.is_ascii_digit());
/// `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`: letters, separators (spaces), numbers and a few marks.
const TAG: Pattern = (r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+", |c| {
    c.is_alphabetic() || c.is_numeric() || c == ' ' || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
});

/// Constraint violations, reported together as `N validation errors detected: …; …`.
#[derive(Default)]
struct Violations(Vec<String>);

impl Violations {
    fn push(&mut self, message: String) {
        self.0.push(message);
    }

    /// Checks a string member; returns it when given (valid or not: the caller stops anyway).
    fn string<'a>(
        &mut self,
        value: Option<&'a str>,
        field: &str,
        required: bool,
        min: usize,
        max: usize,
        pattern: Option<Pattern>,
    ) -> Option<&'a str> {
        let Some(text) = value else {
            if required {
                self.push(format!("Value null at '{field}' failed to satisfy constraint: Member must not be null"));
            }
            return None;
        };
        let len = text.encode_utf16().count();
        if len < min {
            self.push(format!(
                "Value '{text}' at '{field}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
            ));
        } else if len > max {
            self.push(format!("Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"));
        }
        if let Some((regex, allowed)) = pattern {
            if !text.chars().all(allowed) {
                self.push(format!(
                    "Value '{text}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: {regex}"
                ));
            }
        }
        Some(text)
    }

    fn into_result(self) -> Result<(), StsError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(StsError::validation(format!("1 validation error detected: {}", self.0[0]))),
            n => Err(StsError::validation(format!("{n} validation errors detected: {}", self.0.join("; ")))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_parse_with_paths() {
        assert_eq!(parse_role_arn("arn:aws:iam::111122223333:role/app"), Some(("111122223333", "app")));
        assert_eq!(parse_role_arn("arn:aws:iam::111122223333:role/team/app"), Some(("111122223333", "app")));
        assert_eq!(parse_role_arn("arn:aws:iam::1111:role/app"), None);
        assert_eq!(parse_role_arn("arn:aws:iam::111122223333:user/app"), None);
        assert_eq!(parse_role_arn("arn:aws:sts::111122223333:role/app"), None);
    }

    #[test]
    fn constraints_are_reported_together_as_aws_words_them() {
        let q = QueryRequest::parse(None, b"RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp&RoleSessionName=a&DurationSeconds=60");
        let e = parse(&q).err().unwrap();
        assert_eq!(e.code, "ValidationError");
        assert_eq!(
            e.message,
            "2 validation errors detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2; \
             Value '60' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        );
        let q = QueryRequest::parse(None, b"RoleSessionName=has space");
        let e = parse(&q).err().unwrap();
        assert!(e.message.contains("Value null at 'roleArn' failed to satisfy constraint: Member must not be null"), "{e}");
        assert!(e.message.contains("Member must satisfy regular expression pattern: [\\w+=,.@-]*"), "{e}");
        let q =
            QueryRequest::parse(None, b"RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp&RoleSessionName=ok&DurationSeconds=soon");
        assert_eq!(parse(&q).err().unwrap().code, "InvalidParameterValue");
    }

    #[test]
    fn dates_have_stss_forms() {
        let t = time::macros::datetime!(2019-10-02 23:12:29.5 UTC);
        assert_eq!(human_date(t), "Oct 2, 2019 11:12:29 PM");
        assert_eq!(rfc3339_seconds(t), "2019-10-02T23:12:29Z");
    }
}
