//! SigV4 signatures for hand-made requests (the SDKs always sign correctly; the refusals need
//! requests that do not), computed by `aws-sigv4`, the signer the Rust SDK uses.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// Who signs, and for which scope.
pub struct Signer<'a> {
    /// Access key id.
    pub access_key_id: &'a str,
    /// Its secret.
    pub secret: &'a str,
    /// The session token, signed as `x-amz-security-token`.
    pub session_token: Option<&'a str>,
    /// The scope's region.
    pub region: &'a str,
    /// The scope's service.
    pub service: &'a str,
    /// When it signs.
    pub time: SystemTime,
}

impl Signer<'_> {
    /// The headers `aws-sigv4` adds to a request of `method path` with `headers` (all of them
    /// signed) and `body`: `authorization`, `x-amz-date` and, with a session token,
    /// `x-amz-security-token`.
    pub fn sign(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<(String, String)> {
        let identity: Identity =
            Credentials::new(self.access_key_id, self.secret, self.session_token.map(str::to_string), None, "keytrail-tests").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(self.region)
            .name(self.service)
            .time(self.time)
            .settings(SigningSettings::default())
            .build()
            .expect("signing params")
            .into();
        let signable = SignableRequest::new(method, path, headers.iter().copied(), SignableBody::Bytes(body)).expect("signable");
        let (instructions, _) = sign(signable, &params).expect("signed").into_parts();
        instructions.headers().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }
}
