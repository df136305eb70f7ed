//! Settings: from the command line, and (with `--config`) from the config file.

use std::path::PathBuf;

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
    /// Where trail log files go (the directory that stands for S3) when there is no `data_dir`;
    /// with neither, a temporary directory made at start-up.
    pub trail_dir: Option<PathBuf>,
    /// How often trails deliver log files, in seconds of mock time.
    pub trail_delivery_seconds: u64,
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
            trail_dir: None,
            trail_delivery_seconds: 300,
        }
    }
}
