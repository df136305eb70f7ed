//! Settings: from the command line, and (with `--config`) from the config file.

use std::path::PathBuf;

use crate::config::{ConfigError, ConfigFile};

/// `--enforcement`: what a policy denial does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    /// Denied calls are refused, as AWS refuses them.
    #[default]
    Strict,
    /// Every call goes through; each one strict enforcement would have denied is listed at
    /// `GET /_keytrail/denials` and logged as a warning.
    Report,
}

impl std::str::FromStr for Enforcement {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "strict" => Ok(Enforcement::Strict),
            "report" => Ok(Enforcement::Report),
            other => Err(format!("'{other}' is not strict or report")),
        }
    }
}

/// Everything keytrail can be told at start-up.
#[derive(Clone, Debug)]
pub struct Options {
    /// Address to listen on.
    pub listen: String,
    /// The TOML config file, if any.
    pub config: Option<PathBuf>,
    /// Default account for callers that name none.
    pub account_id: String,
    /// Default region.
    pub region: String,
    /// Where state survives restarts; `None` keeps everything in memory.
    pub data_dir: Option<PathBuf>,
    /// Where every record goes as a JSON line (`-` for stdout).
    pub events_out: Option<String>,
    /// Check SigV4 signatures against configured secrets.
    pub verify_signatures: bool,
    /// Refuse unknown access keys.
    pub strict_credentials: bool,
    /// Whether policy denials are enforced, or only reported (`--enforcement`).
    pub enforcement: Enforcement,
    /// The config file's principals and seeds (empty without `--config`).
    pub file: ConfigFile,
    /// Where trail log files go (the directory that stands for S3) when there is no `data_dir`;
    /// with neither, a temporary directory made at start-up.
    pub trail_dir: Option<PathBuf>,
    /// A real S3-compatible store (`--s3-endpoint URL`) that trails deliver their files to, with
    /// credentials from the standard AWS chain; `None` writes them into the trail directory.
    pub s3_endpoint: Option<String>,
    /// How often trails deliver log files, in seconds of mock time.
    pub trail_delivery_seconds: u64,
    /// A connection on which no request begins for this long, and none is being answered, is
    /// closed within twice this (`connection.rs`). Not a flag: 30 s, as hyper's header timeout
    /// was; tests shorten it.
    pub idle_connection_timeout: std::time::Duration,
    /// `--control-token`: with `--strict-credentials`, what `Authorization: Bearer` the control
    /// API accepts (besides a signed request from `file.control_principals`).
    pub control_token: Option<ControlToken>,
    /// `--max-connections`: most client connections served at once; when that many are open,
    /// keytrail stops accepting until one closes (the rest wait in the listen backlog).
    pub max_connections: usize,
}

/// The control API's bearer token. Never printed: `Debug` shows `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct ControlToken(pub String);

impl std::fmt::Debug for ControlToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ControlToken(***)")
    }
}

/// The default for `--max-connections`: 1024, or fewer when the process may open fewer files
/// (the soft `RLIMIT_NOFILE` less 64 for the listener, the data dir's files and trail files).
/// Why: past the descriptor limit every `accept` fails with EMFILE; holding the count under it
/// keeps keytrail able to open its own files and to answer the connections it has.
pub fn default_max_connections() -> usize {
    const DEFAULT: usize = 1024;
    const RESERVED: u64 = 64;
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    match soft {
        Some(limit) => usize::try_from(limit.saturating_sub(RESERVED)).unwrap_or(DEFAULT).clamp(16, DEFAULT),
        None => DEFAULT,
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: "127.0.0.1:4599".into(),
            config: None,
            account_id: "111122223333".into(),
            region: "us-east-1".into(),
            data_dir: None,
            events_out: None,
            verify_signatures: false,
            strict_credentials: false,
            enforcement: Enforcement::Strict,
            file: ConfigFile::default(),
            trail_dir: None,
            s3_endpoint: None,
            trail_delivery_seconds: 300,
            idle_connection_timeout: std::time::Duration::from_secs(30),
            control_token: None,
            max_connections: default_max_connections(),
        }
    }
}

impl Options {
    /// Options from config text alone (tests; the binary merges flags over a loaded file).
    pub fn from_config(text: &str) -> Result<Options, ConfigError> {
        Ok(Options::default().with_file(ConfigFile::parse(text)?))
    }

    /// Takes settings from `file` where these options hold defaults, and keeps its principals
    /// and seeds. Flags given on the command line are applied after this, so they win.
    pub fn with_file(mut self, file: ConfigFile) -> Options {
        if let Some(v) = &file.listen {
            self.listen = v.clone();
        }
        if let Some(v) = &file.default_account {
            self.account_id = v.clone();
        }
        if let Some(v) = &file.default_region {
            self.region = v.clone();
        }
        if file.data_dir.is_some() {
            self.data_dir = file.data_dir.clone();
        }
        if file.trail_dir.is_some() {
            self.trail_dir = file.trail_dir.clone();
        }
        if file.s3_endpoint.is_some() {
            self.s3_endpoint = file.s3_endpoint.clone();
        }
        if file.events_out.is_some() {
            self.events_out = file.events_out.clone();
        }
        if let Some(t) = &file.control_token {
            self.control_token = Some(ControlToken(t.clone()));
        }
        if let Some(n) = file.max_connections {
            self.max_connections = n;
        }
        self.verify_signatures |= file.verify_signatures.unwrap_or(false);
        self.strict_credentials |= file.strict_credentials.unwrap_or(false);
        if let Some(e) = file.enforcement {
            self.enforcement = e;
        }
        self.file = file;
        self
    }

    /// Checks what flags may have set past the config file's own checks: the default account
    /// must be 12 digits (it names directories: `AWSLogs/<account>/`), the default region a
    /// region name, the control token long enough, and at least one connection allowed. The
    /// message names the value at fault (never the token).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !keytrail_iam::names::is_account_id(&self.account_id) {
            return Err(ConfigError(format!("--account-id \"{}\" is not a 12-digit account id", self.account_id)));
        }
        if !keytrail_iam::names::is_region_name(&self.region) {
            return Err(ConfigError(format!("--region \"{}\" is not a region name (like us-east-1)", self.region)));
        }
        if let Some(ControlToken(t)) = &self.control_token {
            crate::config::check_control_token(t)?;
        }
        if self.max_connections == 0 {
            return Err(ConfigError("--max-connections 0: at least one connection must be allowed".into()));
        }
        Ok(())
    }
}
