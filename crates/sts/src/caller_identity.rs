//! `GetCallerIdentity`: who signed the request. It needs no permission and cannot be denied
//! (STS API reference: "No permissions are required to perform this operation").

use keytrail_iam::{Caller, Principal};

use crate::xml::{response_document, Elements};
use crate::StsOutcome;

/// The caller's `UserId`, `Account` and `Arn`: the account id for a root, `AIDA…` for a user,
/// `AROA…:<session>` and the `assumed-role` ARN for a role session.
pub(crate) fn get_caller_identity(caller: &Caller, request_id: &str) -> StsOutcome {
    let principal: &Principal = &caller.principal;
    let result =
        Elements::default().text("Arn", &principal.arn()).text("UserId", &principal.principal_id()).text("Account", principal.account());
    StsOutcome {
        result: Ok(response_document("GetCallerIdentity", result, request_id)),
        // AWS's records of GetCallerIdentity carry neither: it takes no parameters and its
        // response is the caller's own identity, already in `userIdentity`.
        request_parameters: None,
        response_elements: None,
        resources: Vec::new(),
        issued: None,
    }
}
