//! The KMS service handle: the store, the clock and the authorizer, and the call entry point.

use std::sync::Arc;

use keytrail_iam::Caller;
use serde_json::Value;

use crate::authorize::{AccessRequest, Authorizer};
use crate::context::{CallContext, Change, ServiceEvent, TouchedResource};
use crate::key::Key;
use crate::store::{AliasUse, KeyStore};
use crate::{audit, ops, Clock, KmsError, Operation};

/// Everything a call's audit record and persistence need, besides the response.
#[derive(Debug)]
pub struct CallOutcome {
    /// The response body, or the error.
    pub result: Result<Value, KmsError>,
    /// `requestParameters`.
    pub request_parameters: Option<Value>,
    /// `responseElements` (only on success).
    pub response_elements: Option<Value>,
    /// `additionalEventData`.
    pub additional_event_data: Option<Value>,
    /// Resources touched, in order.
    pub resources: Vec<TouchedResource>,
    /// State changed.
    pub changes: Vec<Change>,
    /// Service events set off by the call (recorded after it).
    pub service_events: Vec<ServiceEvent>,
}

impl CallOutcome {
    /// A call refused before anything ran: its error, and nothing else to record.
    fn refused(error: KmsError) -> CallOutcome {
        CallOutcome {
            result: Err(error),
            request_parameters: None,
            response_elements: None,
            additional_event_data: None,
            resources: Vec::new(),
            changes: Vec::new(),
            service_events: Vec::new(),
        }
    }
}

/// The KMS service: a cheap `Clone` handle shared by every connection.
#[derive(Clone)]
pub struct Kms {
    /// Keys and aliases.
    pub store: KeyStore,
    /// The mock clock.
    pub clock: Clock,
    authorizer: Arc<dyn Authorizer>,
}

impl Kms {
    /// A service over `store`, reading `clock`, asking `authorizer` before every key access.
    pub fn new(store: KeyStore, clock: Clock, authorizer: Arc<dyn Authorizer>) -> Self {
        Kms { store, clock, authorizer }
    }

    /// Runs one call and reports everything about it. A body whose members cannot all be
    /// recorded is refused (`SerializationException`) before the operation runs: nothing is
    /// executed that its record would not show.
    pub fn call(&self, caller: &Caller, op: Operation, body: &[u8]) -> CallOutcome {
        let members = match audit::record_request(op, body) {
            Ok(members) => members,
            Err(refused) => return CallOutcome::refused(refused),
        };
        let mut ctx = CallContext::new(caller, self.clock.now());
        let result = ops::run(self, &mut ctx, op, body);
        let request_parameters = audit::request_parameters(op, members, &ctx.request_defaults);
        let ok = result.is_ok();
        CallOutcome {
            result,
            request_parameters,
            response_elements: if ok { ctx.response_elements.map(|r| audit::response_elements(op, r)) } else { None },
            additional_event_data: if ok { ctx.additional_event_data } else { None },
            resources: ctx.resources,
            changes: if ok { ctx.changes } else { Vec::new() },
            service_events: if ok { ctx.service_events } else { Vec::new() },
        }
    }

    /// Asks the authorizer; account-level actions pass `None` as the key.
    pub fn authorize(&self, request: &AccessRequest<'_>) -> Result<(), KmsError> {
        self.authorizer.authorize(&self.store, request)
    }

    /// Resolves `reference` for the caller and notes the key as a touched resource.
    pub fn resolve(&self, ctx: &mut CallContext<'_>, reference: &str, alias_use: AliasUse) -> Result<String, KmsError> {
        let arn = self.store.resolve(ctx.account(), ctx.region(), reference, alias_use)?;
        Kms::note_key(ctx, &arn);
        Ok(arn)
    }

    /// Notes the key `arn` (resolved already) as a touched resource of its owner account.
    pub fn note_key(ctx: &mut CallContext<'_>, arn: &str) {
        let owner = arn.split(':').nth(4).unwrap_or_default().to_string();
        ctx.touch(&owner, arn);
    }

    /// Reads the key `arn` after `access` (which authorizes) allows it; `f` runs under the key's read lock.
    pub fn read_key<T>(
        &self,
        arn: &str,
        access: impl FnOnce(&Key) -> Result<(), KmsError>,
        f: impl FnOnce(&Key) -> Result<T, KmsError>,
    ) -> Result<T, KmsError> {
        self.store
            .with_key(arn, |key| {
                access(key)?;
                f(key)
            })
            .unwrap_or_else(|| Err(KmsError::key_not_found(arn)))
    }

    /// [`Kms::read_key`] for the common case: authorize `action` by `caller` on the key, no
    /// conditions.
    pub fn read_key_as<T>(
        &self,
        caller: &Caller,
        arn: &str,
        action: &'static str,
        f: impl FnOnce(&Key) -> Result<T, KmsError>,
    ) -> Result<T, KmsError> {
        self.read_key(arn, |key| self.authorize(&AccessRequest::new(caller, action, Some(key))), f)
    }

    /// Changes the key `arn` after authorizing `action` on it, and notes the change.
    pub fn change_key<T>(
        &self,
        ctx: &mut CallContext<'_>,
        arn: &str,
        action: &'static str,
        f: impl FnOnce(&mut Key) -> Result<T, KmsError>,
    ) -> Result<T, KmsError> {
        self.change_key_with(ctx, arn, action, Vec::new(), f)
    }

    /// [`Kms::change_key`] with condition keys from the request's members (`extra`, lower-case
    /// names: `kms:rotationperiodindays`, …).
    pub fn change_key_with<T>(
        &self,
        ctx: &mut CallContext<'_>,
        arn: &str,
        action: &'static str,
        extra: Vec<(&'static str, Vec<String>)>,
        f: impl FnOnce(&mut Key) -> Result<T, KmsError>,
    ) -> Result<T, KmsError> {
        let caller = ctx.caller;
        let access =
            |key: &Key| self.authorize(&AccessRequest { extra_conditions: extra, ..AccessRequest::new(caller, action, Some(key)) });
        self.change_key_as(ctx, arn, access, f)
    }

    /// [`Kms::change_key`] where `access` authorizes (the operation states the whole access,
    /// e.g. with the tags the request sets); `f` runs under the key's write lock after it.
    pub fn change_key_as<T>(
        &self,
        ctx: &mut CallContext<'_>,
        arn: &str,
        access: impl FnOnce(&Key) -> Result<(), KmsError>,
        f: impl FnOnce(&mut Key) -> Result<T, KmsError>,
    ) -> Result<T, KmsError> {
        let result = self
            .store
            .with_key_mut(arn, |key| {
                access(key)?;
                f(key)
            })
            .unwrap_or_else(|| Err(KmsError::key_not_found(arn)))?;
        ctx.changes.push(Change::Key(arn.to_string()));
        Ok(result)
    }

    /// Notes `{"keyId": "<key ARN>"}` as responseElements: AWS's rule since December 2022 for
    /// key-management calls that return nothing.
    pub fn respond_with_key_arn(ctx: &mut CallContext<'_>, arn: &str) {
        ctx.response_elements = Some(serde_json::json!({ "keyId": arn }));
    }
}
