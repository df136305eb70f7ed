//! A real keytrail inside your Rust tests.
//!
//! [`KeyTrail::start`] runs keytrail — KMS, CloudTrail and STS on one endpoint, with real
//! cryptography, policy evaluation and CloudTrail records — on `127.0.0.1:0` inside the test's
//! own tokio runtime, and hands back ready AWS SDK clients for any principal, the records so
//! far, the mock clock and a reset. Each instance has its own state, so tests run in parallel.
//!
//! ```no_run
//! use aws_sdk_kms::primitives::Blob;
//! use keytrail_testing::KeyTrail;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let kt = KeyTrail::builder()
//!     .user(keytrail_testing::User::new("111122223333", "alice").policy(
//!         r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#,
//!     ))
//!     .start()
//!     .await;
//! let kms = kt.kms(&kt.user("alice"));
//! let key = kms.create_key().send().await?.key_metadata.unwrap().key_id;
//! kms.encrypt().key_id(&key).plaintext(Blob::new("secret")).send().await?;
//! let names: Vec<String> = kt.records().await.iter().map(|r| r["eventName"].as_str().unwrap().to_owned()).collect();
//! assert_eq!(names, ["CreateKey", "Encrypt"]);
//! # Ok(()) }
//! ```
//!
//! Layout: `lib.rs` — [`KeyTrail`] and [`Identity`]; `builder` — [`Builder`] and the
//! principals and keys it seeds ([`User`], [`Role`], [`Key`]), written as a keytrail config
//! file so they are validated exactly as `--config` is.

mod builder;

use std::net::SocketAddr;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use keytrail_audit::EventFilter;
use keytrail_server::App;
use serde_json::Value;
use tokio::sync::oneshot;

pub use builder::{Builder, Key, Role, User};
pub use keytrail_server::Options;

/// The account a caller names when it names none, as keytrail's default.
pub const DEFAULT_ACCOUNT: &str = "111122223333";
/// The region clients sign for unless told otherwise.
pub const DEFAULT_REGION: &str = "us-east-1";

/// What a client signs with: an access key, its secret, and for temporary credentials the
/// session token. keytrail maps the access key to its principal (root, user, role session).
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token of temporary credentials (AssumeRole's).
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Identity {
    /// The access key only: a secret does not belong in a test's output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

impl Identity {
    /// Long-term credentials.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Identity { access_key_id: access_key_id.into(), secret_access_key: secret_access_key.into(), session_token: None }
    }

    /// The root of `account`: keytrail maps an unknown 12-digit access key to that account's root
    /// (unless the instance was started with strict credentials).
    pub fn root(account: &str) -> Self {
        Identity::new(account, "root-secret")
    }
}

/// A running keytrail, stopped when dropped (or by [`KeyTrail::stop`], which waits for it).
pub struct KeyTrail {
    addr: SocketAddr,
    app: App,
    users: Vec<(String, Identity)>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl KeyTrail {
    /// keytrail with its defaults: in memory, no config, every unknown access key the root of
    /// [`DEFAULT_ACCOUNT`]. Must be called inside a tokio runtime (`#[tokio::test]`).
    pub async fn start() -> KeyTrail {
        Builder::default().start().await
    }

    /// A builder for accounts, users, roles, seeded keys and options.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Starts keytrail with `options` as they are (the listen address is replaced by
    /// `127.0.0.1:0`). Panics if keytrail cannot start: a test cannot go on without it.
    pub async fn start_with(options: Options) -> KeyTrail {
        Self::launch(options, Vec::new()).await
    }

    async fn launch(options: Options, users: Vec<(String, Identity)>) -> KeyTrail {
        let app = match App::new(Options { listen: "127.0.0.1:0".into(), ..options }) {
            Ok(app) => app,
            Err(e) => panic!("keytrail did not start: {e}"),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = oneshot::channel();
        let handle = tokio::spawn(keytrail_server::run(listener, app.clone(), async {
            let _ = rx.await;
        }));
        KeyTrail { addr, app, users, stop: Some(tx), handle: Some(handle) }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint URL (`http://127.0.0.1:<port>`), for `AWS_ENDPOINT_URL` or any client.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's state, for assertions no API shows.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The root of the default account.
    pub fn root(&self) -> Identity {
        Identity::root(&self.app.options.account_id)
    }

    /// The credentials of a user the builder added. Panics for an unknown name.
    pub fn user(&self, name: &str) -> Identity {
        match self.users.iter().find(|(n, _)| n == name) {
            Some((_, identity)) => identity.clone(),
            None => panic!("no user {name} was added to this keytrail"),
        }
    }

    /// An `SdkConfig` for `who` in [`DEFAULT_REGION`], pointed at this keytrail.
    pub fn sdk_config(&self, who: &Identity) -> aws_config::SdkConfig {
        self.sdk_config_in(who, DEFAULT_REGION)
    }

    /// An `SdkConfig` for `who` in `region`, pointed at this keytrail: any AWS SDK client built
    /// from it (`aws_sdk_kms::Client::new(&config)`) talks to keytrail.
    pub fn sdk_config_in(&self, who: &Identity, region: &str) -> aws_config::SdkConfig {
        let creds = Credentials::new(&who.access_key_id, &who.secret_access_key, who.session_token.clone(), None, "keytrail-testing");
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(aws_config::Region::new(region.to_owned()))
            .credentials_provider(SharedCredentialsProvider::new(creds))
            .build()
    }

    /// A KMS client signing as `who`.
    pub fn kms(&self, who: &Identity) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.sdk_config(who))
    }

    /// A CloudTrail client signing as `who`.
    pub fn cloudtrail(&self, who: &Identity) -> aws_sdk_cloudtrail::Client {
        aws_sdk_cloudtrail::Client::new(&self.sdk_config(who))
    }

    /// An STS client signing as `who`.
    pub fn sts(&self, who: &Identity) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.sdk_config(who))
    }

    /// Assumes `role_arn` as `who` through STS and returns the session's temporary credentials.
    /// Panics when STS refuses (the test asked for a session it expected to get).
    pub async fn assume_role(&self, who: &Identity, role_arn: &str, session_name: &str) -> Identity {
        let out = match self.sts(who).assume_role().role_arn(role_arn).role_session_name(session_name).send().await {
            Ok(out) => out,
            Err(e) => panic!("AssumeRole {role_arn} as {}: {e:?}", who.access_key_id),
        };
        let c = out.credentials().expect("AssumeRole returns credentials");
        Identity {
            access_key_id: c.access_key_id().to_owned(),
            secret_access_key: c.secret_access_key().to_owned(),
            session_token: Some(c.session_token().to_owned()),
        }
    }

    /// Every record so far, oldest first, as CloudTrail JSON (what `GET /_keytrail/events` shows).
    pub async fn records(&self) -> Vec<Value> {
        self.records_matching(EventFilter::default()).await
    }

    /// The records `filter` selects (recipient account, `eventName`, after an `eventID`).
    pub async fn records_matching(&self, filter: EventFilter) -> Vec<Value> {
        let events = self.app.recorder.events(&filter);
        events.iter().filter_map(|e| serde_json::from_str(&e.json).ok()).collect()
    }

    /// The mock clock's time.
    pub fn now(&self) -> time::OffsetDateTime {
        self.app.clock.now()
    }

    /// Moves the mock clock forward by `seconds` and fires what falls due (rotations, deletions,
    /// trail deliveries), as `POST /_keytrail/clock` does.
    pub async fn advance_clock(&self, seconds: i64) {
        if self.app.clock.advance(time::Duration::seconds(seconds)).is_err() {
            panic!("the mock clock only moves forward ({seconds} s asked)");
        }
        self.app.tick().await;
    }

    /// Wipes keys, events, trails and issued sessions, and re-applies the seeds, as
    /// `POST /_keytrail/reset` does.
    pub async fn reset(&self) {
        if let Err(e) = self.app.reset().await {
            panic!("reset failed: {e}");
        }
    }

    /// Stops keytrail gracefully and waits until it has (files flushed, data dir released).
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

impl Drop for KeyTrail {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
