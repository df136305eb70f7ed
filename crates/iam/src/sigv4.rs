//! The SigV4 `Authorization` header: who signed, for which region and service.
//!
//! Parsing is always done (it is how keytrail learns the caller and the region); verifying the
//! signature is optional and lives in the server, which has the raw request.

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
    /// Lower-case names of the signed headers, in the order given.
    pub signed_headers: Vec<String>,
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
        let missing =
            |what: &str| MalformedAuthorization(format!("Authorization header requires '{what}' parameter. Authorization={header}"));
        let credential = credential.ok_or_else(|| missing("Credential"))?;
        let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
        let signature = signature.ok_or_else(|| missing("Signature"))?;
        let scope: Vec<&str> = credential.split('/').collect();
        if scope.len() != 5 || scope[4] != "aws4_request" || scope[0].is_empty() {
            return Err(MalformedAuthorization(format!(
                "Credential should be scoped to a valid region, not a malformed scope: {credential}"
            )));
        }
        Ok(SigV4Authorization {
            access_key_id: scope[0].to_string(),
            date: scope[1].to_string(),
            region: scope[2].to_string(),
            service: scope[3].to_string(),
            signed_headers: signed.split(';').map(|h| h.trim().to_ascii_lowercase()).collect(),
            signature: signature.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sdk_header() {
        let h = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/eu-west-1/kms/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=abcdef";
        let a = SigV4Authorization::parse(h).unwrap();
        assert_eq!(a.access_key_id, "AKIDEXAMPLE");
        assert_eq!(a.region, "eu-west-1");
        assert_eq!(a.service, "kms");
        assert_eq!(a.signed_headers, ["content-type", "host", "x-amz-date", "x-amz-target"]);
        assert_eq!(a.signature, "abcdef");
    }

    #[test]
    fn rejects_other_schemes_and_bad_scopes() {
        assert!(SigV4Authorization::parse("Basic abc").is_err());
        assert!(SigV4Authorization::parse("AWS4-HMAC-SHA256 Credential=AK/2026/us-east-1, SignedHeaders=host, Signature=x").is_err());
        assert!(SigV4Authorization::parse("AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/kms/aws4_request").is_err());
    }
}
