//! The SigV4 `Authorization` header: who signed, for which region and service.
//!
//! Parsing is always done (it is how keytrail learns the caller and the region), and so is the
//! check of the credential scope against the API called ([`SigV4Authorization::scope_error`]);
//! verifying the signature is optional and lives in the server, which has the raw request.

/// The parts of an `AWS4-HMAC-SHA256` authorization header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigV4Authorization {
    /// Access key id from the credential scope.
    pub access_key_id: String,
    /// Date part of the scope, `YYYYMMDD`.
    pub date: String,
    /// Region of the scope: the region the call is made in.
    pub region: String,
    /// Service of the scope (`kms`, `cloudtrail`).
    pub service: String,
    /// The scope's last part, which must be `aws4_request` ([`SigV4Authorization::scope_error`]).
    pub terminator: String,
    /// Lower-case names of the signed headers, `;`-separated as sent (see
    /// [`SigV4Authorization::signed_headers`]): one string, not one per header, since every
    /// request is parsed.
    pub signed_header_list: String,
    /// The hex signature.
    pub signature: String,
}

/// Why an `Authorization` header could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedAuthorization(pub String);

impl SigV4Authorization {
    /// Parses `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=…, Signature=…`.
    pub fn parse(header: &str) -> Result<Self, MalformedAuthorization> {
        let rest = header
            .trim()
            .strip_prefix("AWS4-HMAC-SHA256")
            .ok_or_else(|| MalformedAuthorization("Authorization header requires the AWS4-HMAC-SHA256 algorithm.".into()))?;
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("Credential=") {
                credential = Some(v);
            } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
                signed = Some(v);
            } else if let Some(v) = part.strip_prefix("Signature=") {
                signature = Some(v);
            }
        }
        // AWS quotes the whole header here; its signature is withheld (signatures are among the
        // secrets no error message carries, and this message also lands in the call's record).
        let missing = |what: &str| {
            MalformedAuthorization(format!("Authorization header requires '{what}' parameter. Authorization={}", without_signature(header)))
        };
        let credential = credential.ok_or_else(|| missing("Credential"))?;
        let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
        let signature = signature.ok_or_else(|| missing("Signature"))?;
        let mut scope = credential.split('/');
        let mut parts = [""; 5];
        let mut count = 0;
        for part in scope.by_ref().take(5) {
            parts[count] = part;
            count += 1;
        }
        if count != 5 || scope.next().is_some() || parts[0].is_empty() {
            // AWS's IncompleteSignatureException text for a scope of the wrong shape.
            return Err(MalformedAuthorization(format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
            )));
        }
        // SDKs send the names lower-case and unspaced already: then the list is taken as it is.
        let plain = signed.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b';');
        let signed_header_list = if plain {
            signed.to_owned()
        } else {
            let mut list = String::with_capacity(signed.len());
            for (i, h) in signed.split(';').enumerate() {
                if i > 0 {
                    list.push(';');
                }
                list.extend(h.trim().chars().map(|c| c.to_ascii_lowercase()));
            }
            list
        };
        Ok(SigV4Authorization {
            access_key_id: parts[0].to_string(),
            date: parts[1].to_string(),
            region: parts[2].to_string(),
            service: parts[3].to_string(),
            terminator: parts[4].to_string(),
            signed_header_list,
            signature: signature.to_string(),
        })
    }

    /// The lower-case names of the signed headers, in the order given.
    pub fn signed_headers(&self) -> impl Iterator<Item = &str> {
        self.signed_header_list.split(';')
    }

    /// Whether `name` (lower case) is among the signed headers.
    pub fn signs(&self, name: &str) -> bool {
        self.signed_headers().any(|h| h == name)
    }

    /// AWS's `InvalidSignatureException` message for a credential scope that does not fit the
    /// request, or `None` when it fits: its region must be a region name, its service the API's
    /// signing name (`service`; `None` takes any), its last part `aws4_request`, and its date the
    /// date of `X-Amz-Date` (`amz_date`, when the request has one).
    ///
    /// The texts are AWS's ("Troubleshoot signed requests for AWS APIs", Credential scope errors,
    /// in the form AWS's JSON services answer them): each problem is one sentence ending in
    /// ". ", and AWS lists every problem it found, region first, in one message.
    pub fn scope_error(&self, service: Option<&str>, amz_date: Option<&str>) -> Option<String> {
        let mut message = String::new();
        if !crate::names::is_region_name(&self.region) {
            message.push_str(&format!("Credential should be scoped to a valid region, not '{}'. ", self.region));
        }
        if let Some(expected) = service.filter(|s| *s != self.service) {
            message.push_str(&format!("Credential should be scoped to correct service: '{expected}'. "));
        }
        if self.terminator != "aws4_request" {
            message.push_str(&format!("Credential should be scoped with a valid terminator: 'aws4_request', not '{}'. ", self.terminator));
        }
        if let Some(date) = amz_date {
            let day = date.get(..8).unwrap_or(date);
            if day != self.date {
                message.push_str(&format!(
                    "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{day}', from '{date}'. ",
                    self.date
                ));
            }
        }
        (!message.is_empty()).then_some(message)
    }
}

/// `header` with the value of every `Signature=` parameter replaced by `***`.
fn without_signature(header: &str) -> String {
    const KEY: &str = "Signature=";
    let mut out = String::with_capacity(header.len());
    let mut rest = header;
    while let Some(i) = rest.find(KEY) {
        // A parameter starts the header or follows a comma or whitespace (`XSignature=` is not one).
        let starts_parameter = rest[..i].chars().next_back().is_none_or(|c| c == ',' || c.is_whitespace());
        out.push_str(&rest[..i + KEY.len()]);
        rest = &rest[i + KEY.len()..];
        if starts_parameter {
            out.push_str("***");
            rest = &rest[rest.find(|c: char| c == ',' || c.is_whitespace()).unwrap_or(rest.len())..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_quote_the_header_without_its_signature() {
        let secret_sig = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
        for header in [
            format!("AWS4-HMAC-SHA256 SignedHeaders=host, Signature={secret_sig}"),
            format!("AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/kms/aws4_request,Signature={secret_sig}"),
            format!("AWS4-HMAC-SHA256 Signature={secret_sig}, Credential=AK/20261125/us-east-1/kms/aws4_request"),
            format!("AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/kms/aws4_request,\tSignature={secret_sig} , Signature={secret_sig}"),
        ] {
            let err = SigV4Authorization::parse(&header).unwrap_err().0;
            assert!(!err.contains(secret_sig), "{err}");
            assert!(err.contains("Signature=***") && err.starts_with("Authorization header requires '"), "{err}");
        }
        let err =
            SigV4Authorization::parse("AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/kms/aws4_request, Signature=x").unwrap_err().0;
        assert_eq!(
            err,
            "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/kms/aws4_request, Signature=***"
        );
    }

    #[test]
    fn parses_sdk_header() {
        let h = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/eu-west-1/kms/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=abcdef";
        let a = SigV4Authorization::parse(h).unwrap();
        assert_eq!(a.access_key_id, "AKIDEXAMPLE");
        assert_eq!(a.region, "eu-west-1");
        assert_eq!(a.service, "kms");
        assert_eq!(a.signed_headers().collect::<Vec<_>>(), ["content-type", "host", "x-amz-date", "x-amz-target"]);
        let spaced = SigV4Authorization::parse(
            "AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/kms/aws4_request, SignedHeaders= Host ;X-Amz-Date, Signature=ab",
        )
        .unwrap();
        assert_eq!(spaced.signed_headers().collect::<Vec<_>>(), ["host", "x-amz-date"]);
        assert_eq!(a.signature, "abcdef");
    }

    #[test]
    fn rejects_other_schemes_and_bad_scopes() {
        assert!(SigV4Authorization::parse("Basic abc").is_err());
        assert!(SigV4Authorization::parse("AWS4-HMAC-SHA256 Credential=AK/2026/us-east-1, SignedHeaders=host, Signature=x").is_err());
        assert!(SigV4Authorization::parse("AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/kms/aws4_request").is_err());
        let too_long = "AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/kms/aws4_request/x, SignedHeaders=host, Signature=x";
        assert!(SigV4Authorization::parse("AWS4-HMAC-SHA256 Credential=AK/2026/us-east-1/kms, SignedHeaders=host, Signature=x").is_err());
        assert!(SigV4Authorization::parse(too_long).is_err());
        assert!(SigV4Authorization::parse(
            "AWS4-HMAC-SHA256 Credential=/20261125/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=x"
        )
        .is_err());
    }

    #[test]
    fn scope_errors_name_every_problem_as_aws_does() {
        let parse = |credential: &str| {
            SigV4Authorization::parse(&format!("AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=ab")).unwrap()
        };
        let good = parse("AK/20261125/us-east-1/kms/aws4_request");
        assert_eq!(good.scope_error(Some("kms"), Some("20261125T101112Z")), None);
        assert_eq!(good.scope_error(None, None), None);
        assert_eq!(
            good.scope_error(Some("cloudtrail"), None).as_deref(),
            Some("Credential should be scoped to correct service: 'cloudtrail'. ")
        );
        assert_eq!(
            good.scope_error(Some("kms"), Some("20261126T000000Z")).as_deref(),
            Some("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261125' != '20261126', from '20261126T000000Z'. ")
        );
        let bad = parse("AK/20261125/<script>/s3/aws5_request");
        assert_eq!(
            bad.scope_error(Some("kms"), None).as_deref(),
            Some("Credential should be scoped to a valid region, not '<script>'. Credential should be scoped to correct service: 'kms'. Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ")
        );
        assert!(good.signs("host") && !good.signs("x-amz-date"));
    }
}
