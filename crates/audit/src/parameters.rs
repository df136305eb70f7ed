//! `requestParameters` and `responseElements`: a call's JSON members as CloudTrail records them —
//! names in lower camel case, secret members removed at any depth (inside structures and lists),
//! maps of caller data (encryption contexts) kept as sent.
//!
//! What is secret and what is a caller map comes from the service's botocore model, through the
//! tables `scripts/gen-sensitive` generates (`crates/kms/src/audit_model.rs`, `audit_model.rs`
//! here): [`ServiceModel`]. A member the operation does not have is recorded too (a record shows
//! what the caller sent), unless its name, in any spelling, is one the model makes secret
//! somewhere ([`ServiceModel::secret_names`]): a misspelled `plaintext` is still the caller's
//! plaintext.
//!
//! A body that cannot be recorded whole is refused before the call runs ([`record_request`]):
//! every call that executes leaves every member it was sent in its record. Without that, a
//! member nested deeper than serde_json's recursion limit made the whole `requestParameters`
//! `null` while the operation (which skips unknown members without parsing them) ran.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// One member of an operation's input or output that recording treats specially.
#[derive(Debug)]
pub struct Field {
    /// The member's name as the API spells it (`KeyStorePassword`).
    pub name: &'static str,
    /// What recording does with it.
    pub kind: FieldKind,
}

/// What recording does with a [`Field`].
#[derive(Debug)]
pub enum FieldKind {
    /// Never recorded.
    Secret,
    /// A map of the caller's data: its keys are recorded as sent, not renamed.
    CallerMap,
    /// A structure (or a list of them) some of whose members are special.
    Structure(&'static [Field]),
}

/// One operation's special members, in its input and its output.
#[derive(Debug)]
pub struct OperationModel {
    /// The API name (`CreateCustomKeyStore`).
    pub name: &'static str,
    /// Of the request.
    pub input: &'static [Field],
    /// Of the response.
    pub output: &'static [Field],
}

/// A service's operations (sorted by name) and every name its model gives a secret member.
#[derive(Debug)]
pub struct ServiceModel {
    /// The botocore service name (`kms`).
    pub service: &'static str,
    /// The name of every member the model makes secret, in any operation, at any depth.
    pub secret_names: &'static [&'static str],
    /// Every operation of the model, sorted by name.
    pub operations: &'static [OperationModel],
}

/// An operation the model does not have: nothing special but the service's secret names.
static UNKNOWN_OPERATION: OperationModel = OperationModel { name: "", input: &[], output: &[] };

impl ServiceModel {
    /// The operation named `name`; one with no special members when the model has none of that name.
    pub fn operation(&self, name: &str) -> &OperationModel {
        match self.operations.binary_search_by(|op| op.name.cmp(name)) {
            Ok(i) => &self.operations[i],
            Err(_) => &UNKNOWN_OPERATION,
        }
    }

    /// Whether `name`, in any spelling, names a secret member somewhere in the model.
    fn is_secret_name(&self, name: &str) -> bool {
        self.secret_names.iter().any(|s| s.eq_ignore_ascii_case(name))
    }
}

/// Why a request body cannot be recorded whole; the call is refused with
/// `SerializationException` and this message, before anything runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unrecordable(pub &'static str);

/// The recorded members of a request, before the operation's defaults are added
/// ([`request_parameters`]).
pub type RecordedMembers = Map<String, Value>;

/// Members past which a body skips the raw path (KMS requests have at most a dozen).
const MAX_RAW_MEMBERS: usize = 64;

/// The members of `body` as recorded for `op` of `model`: every non-secret member, names in lower
/// camel case. An empty body is an empty request. Refused: a body that is not a JSON object, and
/// one with a member keytrail would record but cannot parse (nested deeper than serde_json's
/// recursion limit, a number out of range).
pub fn record_request(model: &ServiceModel, op: &OperationModel, body: &[u8]) -> Result<RecordedMembers, Unrecordable> {
    match raw_members(body) {
        Some(members) => recorded_raw_members(model, op, members),
        None => recorded_members(model, op, body),
    }
}

/// `requestParameters`: the recorded members plus `defaults` the operation filled in (added only
/// when the caller did not send them); `null` when there are none.
pub fn request_parameters(mut members: RecordedMembers, defaults: &[(&'static str, Value)]) -> Option<Value> {
    for (name, value) in defaults {
        if !members.contains_key(*name) {
            members.insert((*name).to_string(), value.clone());
        }
    }
    (!members.is_empty()).then_some(Value::Object(members))
}

/// A response as `responseElements` shows it: names in lower camel case, caller maps as sent,
/// the output's secret members removed.
pub fn response_elements(model: &ServiceModel, op: &OperationModel, value: &Value) -> Value {
    recorded_value(model, Some(&FieldKind::Structure(op.output)), value.clone())
}

/// `value` (already in the record's spelling) without the secret members `op`'s output has, for
/// responseElements an operation wrote itself.
pub fn without_output_secrets(model: &ServiceModel, op: &OperationModel, value: Value) -> Value {
    remove_secrets(model, op.output, value)
}

/// `value` in lower camel case, secret names removed: for parts of a response an operation
/// records on its own.
pub fn camel_case(model: &ServiceModel, value: &Value) -> Value {
    recorded_value(model, None, value.clone())
}

/// The body's members as raw JSON when the raw path may take them; `None` for escaped member
/// names, a member sent twice, more members than any KMS request has (the duplicate check is
/// quadratic), or a body that is not an object: those take the whole-body path.
fn raw_members(body: &[u8]) -> Option<Vec<(&str, &RawValue)>> {
    let RawMembers(members) = serde_json::from_slice(body).ok()?;
    (members.len() <= MAX_RAW_MEMBERS && !has_duplicates(&members)).then_some(members)
}

/// The common case: each member's value is kept as its JSON text until it is known to be
/// recorded, so a secret (a 4 KB plaintext, a blob) is never parsed into a string of its own only
/// to be dropped (the whole body as a `Value` was ~3% of a signed Encrypt's CPU).
fn recorded_raw_members(
    model: &ServiceModel,
    op: &OperationModel,
    members: Vec<(&str, &RawValue)>,
) -> Result<RecordedMembers, Unrecordable> {
    let shadowed = shadowed_names(members.iter().map(|(name, _)| *name));
    let mut out = Map::new();
    for (name, raw) in members {
        let field = field(op.input, name);
        if is_dropped(model, field, name) || raw.get() == "null" || shadowed.contains(&name) {
            continue;
        }
        let value = serde_json::from_str::<Value>(raw.get()).map_err(|e| unrecordable(&e))?;
        out.insert(lower_camel(name), recorded_value(model, field.map(|f| &f.kind), value));
    }
    Ok(out)
}

/// The recorded members of any body, parsed whole.
fn recorded_members(model: &ServiceModel, op: &OperationModel, body: &[u8]) -> Result<RecordedMembers, Unrecordable> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let members = match serde_json::from_slice(body).map_err(|e| unrecordable(&e))? {
        Value::Object(members) => members,
        Value::Array(_) => return Err(Unrecordable("Start of list found where not expected.")),
        _ => return Err(Unrecordable("The request body must be a JSON object.")),
    };
    let shadowed: Vec<String> = shadowed_names(members.keys().map(String::as_str)).into_iter().map(str::to_string).collect();
    let mut out = Map::new();
    for (name, value) in members {
        let field = field(op.input, &name);
        if is_dropped(model, field, &name) || value.is_null() || shadowed.contains(&name) {
            continue;
        }
        out.insert(lower_camel(&name), recorded_value(model, field.map(|f| &f.kind), value));
    }
    Ok(out)
}

/// AWS answers a body it cannot read with `SerializationException`; these are keytrail's
/// messages for the cases (AWS's own texts for them are not published). Never the input's values.
fn unrecordable(e: &serde_json::Error) -> Unrecordable {
    if e.to_string().starts_with("recursion limit exceeded") {
        Unrecordable("The request body nests JSON more than 128 levels deep, which keytrail cannot record.")
    } else if e.is_data() || e.to_string().starts_with("number out of range") {
        Unrecordable("The request body holds a value keytrail cannot record (a number out of range).")
    } else {
        Unrecordable("The request body is not valid JSON.")
    }
}

/// Members in lower case (`keyId`) whose recorded name a member in the API's spelling (`KeyId`)
/// also has: the operation reads only the latter, so only the latter is recorded. Empty (no
/// allocation) in the common case, a body with no member starting in lower case.
fn shadowed_names<'a>(names: impl Iterator<Item = &'a str> + Clone) -> Vec<&'a str> {
    let starts_lower = |n: &&str| n.as_bytes().first().is_some_and(u8::is_ascii_lowercase);
    if !names.clone().any(|n| starts_lower(&n)) {
        return Vec::new();
    }
    names
        .clone()
        .filter(starts_lower)
        .filter(|lower| names.clone().any(|other| !starts_lower(&other) && lower_camel(other) == *lower))
        .collect()
}

/// The special field of `fields` that `name` names, in any spelling.
fn field<'f>(fields: &'f [Field], name: &str) -> Option<&'f Field> {
    fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
}

/// A member is dropped when its field is a secret, or when it has no field and its name, in any
/// spelling, is one the model makes secret somewhere.
fn is_dropped(model: &ServiceModel, field: Option<&Field>, name: &str) -> bool {
    match field {
        Some(f) => matches!(f.kind, FieldKind::Secret),
        None => model.is_secret_name(name),
    }
}

/// A member's value as recorded: caller maps as sent; anything else with its members renamed and
/// its secrets removed, following `kind` (a structure's special fields) where there is one.
fn recorded_value(model: &ServiceModel, kind: Option<&FieldKind>, value: Value) -> Value {
    let fields: &[Field] = match kind {
        Some(FieldKind::CallerMap) => return value,
        Some(FieldKind::Structure(fields)) => fields,
        Some(FieldKind::Secret) | None => &[],
    };
    match value {
        Value::Object(members) => Value::Object(
            members
                .into_iter()
                .filter_map(|(name, v)| {
                    let field = field(fields, &name);
                    (!is_dropped(model, field, &name)).then(|| (lower_camel(&name), recorded_value(model, field.map(|f| &f.kind), v)))
                })
                .collect(),
        ),
        // Lists are transparent: each item is what the list's member is.
        Value::Array(items) => Value::Array(items.into_iter().map(|v| recorded_value(model, kind, v)).collect()),
        other => other,
    }
}

/// `value` with every secret member of `fields` (and every secret name without a field) removed,
/// names left as they are; caller maps are not looked into.
fn remove_secrets(model: &ServiceModel, fields: &[Field], value: Value) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members
                .into_iter()
                .filter_map(|(name, v)| {
                    let field = field(fields, &name);
                    if is_dropped(model, field, &name) {
                        return None;
                    }
                    let v = match field.map(|f| &f.kind) {
                        Some(FieldKind::CallerMap) => v,
                        Some(FieldKind::Structure(inner)) => remove_secrets(model, inner, v),
                        _ => remove_secrets(model, &[], v),
                    };
                    Some((name, v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| remove_secrets(model, fields, v)).collect()),
        other => other,
    }
}

/// A member sent twice: the `Value` path keeps the last value in the first one's place, and a
/// later `null` removes an earlier value; the raw path leaves that rare case to it.
fn has_duplicates(members: &[(&str, &RawValue)]) -> bool {
    members.iter().enumerate().any(|(i, (name, _))| members[..i].iter().any(|(earlier, _)| earlier == name))
}

/// A JSON object's members in the order sent, names borrowed from the body and values as their
/// JSON text. Fails on a name with an escape in it (it cannot be borrowed) and on anything that
/// is not an object.
struct RawMembers<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'de> Deserialize<'de> for RawMembers<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = RawMembers<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawMembers<'de>, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some(member) = map.next_entry::<&'de str, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(RawMembers(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

/// `KeyId` → `keyId`, `AWSAccountId` → `aWSAccountId` (as AWS's serializer does).
pub fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
#[path = "parameters_tests.rs"]
mod tests;
