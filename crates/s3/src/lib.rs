//! The S3 API over the trail bucket folder, so the tools people point at CloudTrail logs
//! (`aws s3 ls/cp/sync`, boto3, the Rust SDK, `aws cloudtrail validate-logs`, log shippers with
//! an S3 input) read what trails deliver, from keytrail's own endpoint.
//!
//! REST-XML (botocore `s3` 2006-03-01), read-only: ListBuckets, HeadBucket, GetBucketLocation,
//! ListObjectsV2, ListObjects, GetObject, HeadObject. Writes get `AccessDenied`, as from a
//! bucket whose policy denies them; other reads `NotImplemented`. Access is checked against the
//! caller's identity policies ([`access`]); the server identifies the caller (SigV4) first.
//!
//! Which S3 calls are recorded (decided here, recorded by the server): AWS records S3's
//! bucket-level calls as management events and object-level calls (GetObject, HeadObject,
//! ListObjects with a selected prefix, HeadBucket) only as data events, for trails that select
//! them. keytrail records the management events it serves, ListBuckets and
//! GetBucketLocation, successful or not; it records no S3 data events.
//!
//! Layout: `request` (reading a request: addressing style, operation), `response` (XML, errors,
//! request ids), `access` (authorization), `buckets` (which buckets exist and whose they are),
//! `list` (the two listings), `object` (GetObject / HeadObject).

pub mod access;
pub mod buckets;
pub mod list;
pub mod object;
pub mod request;
pub mod response;

use bytes::Bytes;
use http::{Method, Response};
use keytrail_audit::delivery::folder::BucketFolder;
use keytrail_audit::trails::Trails;
use keytrail_iam::policy::{Denial, DenialReason, PolicyDocument, RequestContext};
use keytrail_iam::Principal;
use serde_json::{json, Value};

use access::{authorize, AccessRequest};
use buckets::{Bucket, Defaults};
use list::{ContentsInfo, Entry};
use request::{Operation, S3Request};
use response::{error_response, xml_response, RequestIds, S3Error, Xml};

pub use request::is_s3_request;

/// Who is calling, as the server identified them.
pub struct Caller<'a> {
    /// The principal.
    pub principal: &'a Principal,
    /// Its identity policies.
    pub policies: &'a [PolicyDocument],
}

/// A management event the call makes (ListBuckets, GetBucketLocation), for the server to record.
#[derive(Debug)]
pub struct ManagementEvent {
    /// `eventName`.
    pub event_name: &'static str,
    /// `requestParameters`, as S3 records them.
    pub request_parameters: Value,
    /// The bucket (name, owning account), for `resources`.
    pub bucket: Option<(String, String)>,
    /// The error code and message, if the call failed.
    pub error: Option<(String, String)>,
    /// Bytes of the response body (`additionalEventData.bytesTransferredOut`).
    pub bytes_out: usize,
}

/// What a call produced.
pub struct Outcome {
    /// The response.
    pub response: Response<Bytes>,
    /// Its request ids (`x-amz-request-id` is the record's `requestID`).
    pub ids: RequestIds,
    /// The management event to record, if any.
    pub event: Option<ManagementEvent>,
}

/// The S3 API over one bucket folder.
pub struct S3Service {
    folder: BucketFolder,
    trails: Trails,
    defaults: Defaults,
    etags: object::EtagCache,
}

impl S3Service {
    /// The API over `folder`, whose buckets belong to the accounts of `trails` (see
    /// [`buckets`]), with `defaults` for buckets no trail names.
    pub fn new(folder: BucketFolder, trails: Trails, defaults: Defaults) -> Self {
        S3Service { folder, trails, defaults, etags: object::EtagCache::default() }
    }

    /// The folder served.
    pub fn folder(&self) -> &BucketFolder {
        &self.folder
    }

    /// Answers `req` for `caller` (`None`: an unsigned request, which is refused).
    pub fn handle(&self, req: &S3Request<'_>, caller: Option<&Caller<'_>>) -> Outcome {
        let ids = RequestIds::new();
        let head = *req.method == Method::HEAD;
        let Some(caller) = caller else {
            let err = S3Error::access_denied("Access Denied");
            return Outcome { response: error_response(&ids, &err, head), ids, event: None };
        };
        let result = self.dispatch(req, caller, &ids);
        let event = self.event(req, result.as_ref().map(|r| r.body().len()).map_err(Clone::clone));
        let response = result.unwrap_or_else(|e| error_response(&ids, &e, head));
        Outcome { response, ids, event }
    }

    fn dispatch(&self, req: &S3Request<'_>, caller: &Caller<'_>, ids: &RequestIds) -> Result<Response<Bytes>, S3Error> {
        match &req.operation {
            Operation::ListBuckets => self.list_buckets(caller, ids),
            Operation::Write => Err(self.write_refused(req, caller)),
            Operation::Unsupported(what) => Err(S3Error::not_implemented(what)),
            op => {
                let name = req.bucket.as_deref().unwrap_or_default();
                let bucket =
                    buckets::find(&self.folder, &self.trails, &self.defaults, name).ok_or_else(|| S3Error::no_such_bucket(name))?;
                match op {
                    Operation::HeadBucket => {
                        self.allow(caller, "s3:ListBucket", &bucket_arn(name), &bucket, Vec::new())?;
                        let mut resp = response::response(200, ids, None, Bytes::new());
                        if let Ok(v) = bucket.region.parse() {
                            resp.headers_mut().insert("x-amz-bucket-region", v);
                        }
                        Ok(resp)
                    }
                    Operation::GetBucketLocation => {
                        self.allow(caller, "s3:GetBucketLocation", &bucket_arn(name), &bucket, Vec::new())?;
                        // us-east-1 is the empty constraint (S3's GetBucketLocation).
                        let region = if bucket.region == "us-east-1" { "" } else { bucket.region.as_str() };
                        let doc = format!(
                            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"{}\">{}</LocationConstraint>",
                            response::S3_NAMESPACE,
                            response::escape(region)
                        );
                        Ok(xml_response(ids, doc))
                    }
                    Operation::ListObjectsV2 | Operation::ListObjects => self.list_objects(req, caller, ids, &bucket),
                    _ => self.get_object(req, caller, ids, &bucket),
                }
            }
        }
    }

    fn allow(
        &self,
        caller: &Caller<'_>,
        action: &str,
        resource: &str,
        bucket: &Bucket,
        keys: Vec<(&'static str, String)>,
    ) -> Result<(), S3Error> {
        let req = AccessRequest { principal: caller.principal, policies: caller.policies, action, resource, keys };
        authorize(&req, &bucket.owners)
    }

    fn list_buckets(&self, caller: &Caller<'_>, ids: &RequestIds) -> Result<Response<Bytes>, S3Error> {
        let account = caller.principal.account().to_string();
        let own = AccessRequest {
            principal: caller.principal,
            policies: caller.policies,
            action: "s3:ListAllMyBuckets",
            resource: "arn:aws:s3:::*",
            keys: Vec::new(),
        };
        authorize(&own, std::slice::from_ref(&account))?;
        let mut doc = Xml::new("ListAllMyBucketsResult", true);
        doc.open("Owner").element("ID", &buckets::canonical_id(&account)).element("DisplayName", &account).close("Owner");
        doc.open("Buckets");
        for b in buckets::all(&self.folder, &self.trails, &self.defaults).into_iter().filter(|b| b.owners.contains(&account)) {
            doc.open("Bucket")
                .element("Name", &b.name)
                .element("CreationDate", &response::iso_millis(b.created))
                .element("BucketRegion", &b.region)
                .close("Bucket");
        }
        doc.close("Buckets");
        Ok(xml_response(ids, doc.finish("ListAllMyBucketsResult")))
    }

    fn list_objects(
        &self,
        req: &S3Request<'_>,
        caller: &Caller<'_>,
        ids: &RequestIds,
        bucket: &Bucket,
    ) -> Result<Response<Bytes>, S3Error> {
        let v2 = req.operation == Operation::ListObjectsV2;
        let token = if v2 { req.param("continuation-token") } else { None };
        let start = match token {
            Some(t) => Some(list::read_token(t)?),
            None => req.param(if v2 { "start-after" } else { "marker" }).map(str::to_string),
        };
        let params = list::params(req, start)?;
        let mut keys = vec![("s3:prefix", params.prefix.clone()), ("s3:max-keys", params.max_keys.to_string())];
        if let Some(d) = &params.delimiter {
            keys.push(("s3:delimiter", d.clone()));
        }
        self.allow(caller, "s3:ListBucket", &bucket_arn(&bucket.name), bucket, keys)?;
        let page = list::list(&bucket.dir, &params);
        let etag = |e: &Entry| list::quoted(&self.etags.etag(&e.path, e.size, e.modified));
        let owner_account = bucket.owners.first().cloned().unwrap_or_default();
        let fetch_owner = !v2 || req.param("fetch-owner") == Some("true");
        let info = ContentsInfo { etag: &etag, owner: fetch_owner.then(|| (buckets::canonical_id(&owner_account), owner_account)) };
        let doc = if v2 {
            list::v2_document(&bucket.name, &params, &page, (token, req.param("start-after")), &info)
        } else {
            list::v1_document(&bucket.name, &params, &page, &info)
        };
        Ok(xml_response(ids, doc))
    }

    fn get_object(&self, req: &S3Request<'_>, caller: &Caller<'_>, ids: &RequestIds, bucket: &Bucket) -> Result<Response<Bytes>, S3Error> {
        let key = req.key.as_deref().unwrap_or_default();
        self.allow(caller, "s3:GetObject", &format!("arn:aws:s3:::{}/{key}", bucket.name), bucket, Vec::new())?;
        let head = req.operation == Operation::HeadObject;
        let result = match self.folder.existing_object(&bucket.name, key) {
            Some(path) => object::serve(req, ids, &path, key, &self.etags, head),
            None => Err(S3Error::no_such_key(key)),
        };
        match result {
            // S3 says a key is missing only to callers who may list the bucket.
            Err(e) if e.code == "NoSuchKey" => match self.allow(caller, "s3:ListBucket", &bucket_arn(&bucket.name), bucket, Vec::new()) {
                Ok(()) => Err(e),
                Err(_) => Err(S3Error::access_denied("Access Denied")),
            },
            other => other,
        }
    }

    /// The refusal of a write: the trail bucket is CloudTrail's to write, so keytrail answers as
    /// S3 does for a bucket whose policy denies the action (`NoSuchBucket` first, as S3 checks
    /// the bucket before the policy).
    fn write_refused(&self, req: &S3Request<'_>, caller: &Caller<'_>) -> S3Error {
        let bucket = req.bucket.as_deref().unwrap_or_default();
        let creates_bucket = *req.method == Method::PUT && req.key.is_none();
        if !bucket.is_empty() && !creates_bucket && buckets::find(&self.folder, &self.trails, &self.defaults, bucket).is_none() {
            return S3Error::no_such_bucket(bucket);
        }
        let (action, resource) = match (req.method.as_str(), &req.key) {
            ("DELETE", Some(k)) => ("s3:DeleteObject", format!("arn:aws:s3:::{bucket}/{k}")),
            (_, Some(k)) => ("s3:PutObject", format!("arn:aws:s3:::{bucket}/{k}")),
            ("DELETE", None) => ("s3:DeleteBucket", bucket_arn(bucket)),
            ("POST", None) => ("s3:DeleteObject", bucket_arn(bucket)),
            _ => ("s3:CreateBucket", bucket_arn(bucket)),
        };
        let context = RequestContext::without_keys(caller.principal, action, &resource);
        S3Error::access_denied(Denial::new(DenialReason::ExplicitDenyInResourcePolicy, &context).message())
    }

    /// The management event of ListBuckets and GetBucketLocation (`result`: the body length, or
    /// the error).
    fn event(&self, req: &S3Request<'_>, result: Result<usize, S3Error>) -> Option<ManagementEvent> {
        let (event_name, request_parameters, bucket) = match req.operation {
            Operation::ListBuckets => ("ListBuckets", json!({ "Host": req.host }), None),
            Operation::GetBucketLocation => {
                let name = req.bucket.clone().unwrap_or_default();
                let owner = buckets::find(&self.folder, &self.trails, &self.defaults, &name).and_then(|b| b.owners.first().cloned());
                ("GetBucketLocation", json!({ "bucketName": name, "Host": req.host, "location": "" }), owner.map(|o| (name, o)))
            }
            _ => return None,
        };
        let (error, bytes_out) = match result {
            Ok(n) => (None, n),
            Err(e) => (Some((e.code.to_string(), e.message)), 0),
        };
        Some(ManagementEvent { event_name, request_parameters, bucket, error, bytes_out })
    }
}

fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}
