//! Settings: from the command line, and (with `--config`) from the config file.

use std::path::PathBuf;

use crate::config::{ConfigError, ConfigFile};

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
            file: ConfigFile::default(),
            trail_dir: None,
            s3_endpoint: None,
            trail_delivery_seconds: 300,
            idle_connection_timeout: std::time::Duration::from_secs(30),
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
        self.verify_signatures |= file.verify_signatures.unwrap_or(false);
        self.strict_credentials |= file.strict_credentials.unwrap_or(false);
        self.file = file;
        self
    }
}
