//! `keytrail`: a local AWS KMS that leaves a CloudTrail.

use clap::Parser;
use keytrail_server::config::{ConfigError, ConfigFile};
use keytrail_server::{App, Options};

/// mimalloc instead of the system allocator: a call allocates and frees many small strings
/// (the request, its record, its JSON), and glibc's malloc showed up as a fifth of the CPU
/// time under load (perf, BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Command line of the contract (shared/spec/product.md). Every flag can also be given as an
/// environment variable (the convention of containers and CI services); a flag given on the
/// command line wins over its variable, and both over the config file.
#[derive(Parser)]
#[command(name = "keytrail", version, about = "A local AWS KMS that leaves a CloudTrail")]
struct Cli {
    /// `serve` (the default and only command).
    #[arg(value_parser = ["serve"])]
    command: Option<String>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "KEYTRAIL_LISTEN")]
    listen: Option<String>,
    /// TOML config file.
    #[arg(long, env = "KEYTRAIL_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// Default account for callers that name none.
    #[arg(long = "account-id", env = "KEYTRAIL_ACCOUNT_ID")]
    account_id: Option<String>,
    /// Default region.
    #[arg(long, env = "KEYTRAIL_REGION")]
    region: Option<String>,
    /// Keep state, events and trail files here across restarts.
    #[arg(long = "data-dir", env = "KEYTRAIL_DATA_DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// Write every CloudTrail record as a JSON line to this file, or `-` for stdout.
    #[arg(long = "events-out", env = "KEYTRAIL_EVENTS_OUT")]
    events_out: Option<String>,
    /// Verify SigV4 signatures against configured secrets (variable: true/false, 1/0).
    #[arg(long = "verify-signatures", env = "KEYTRAIL_VERIFY_SIGNATURES")]
    verify_signatures: bool,
    /// Refuse unknown access keys instead of mapping them (variable: true/false, 1/0).
    #[arg(long = "strict-credentials", env = "KEYTRAIL_STRICT_CREDENTIALS")]
    strict_credentials: bool,
    /// Where trails write their log files when there is no --data-dir (stands for S3).
    #[arg(long = "trail-dir", env = "KEYTRAIL_TRAIL_DIR")]
    trail_dir: Option<std::path::PathBuf>,
    /// With --strict-credentials, the bearer token the control API (/_keytrail/*) accepts.
    #[arg(long = "control-token", env = "KEYTRAIL_CONTROL_TOKEN")]
    control_token: Option<String>,
    /// Most client connections served at once (default 1024, fewer under a low open-file limit).
    #[arg(long = "max-connections", env = "KEYTRAIL_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// strict: policy denials are refused (default). report: every call goes through, and each
    /// one strict enforcement would deny is listed at GET /_keytrail/denials and logged.
    #[arg(long, env = "KEYTRAIL_ENFORCEMENT", value_parser = ["strict", "report"])]
    enforcement: Option<String>,
    /// Deliver trail files to this S3-compatible store (credentials from the AWS environment).
    #[arg(long = "s3-endpoint", env = "KEYTRAIL_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
}

impl Cli {
    /// The config file's settings, overridden by the flags given.
    fn into_options(self) -> Result<Options, ConfigError> {
        let mut o = Options::default();
        if let Some(path) = &self.config {
            o = o.with_file(ConfigFile::load(path)?);
            o.config = Some(path.clone());
        }
        if let Some(v) = self.listen {
            o.listen = v;
        }
        if let Some(v) = self.account_id {
            o.account_id = v;
        }
        if let Some(v) = self.region {
            o.region = v;
        }
        if self.data_dir.is_some() {
            o.data_dir = self.data_dir;
        }
        if self.events_out.is_some() {
            o.events_out = self.events_out;
        }
        if self.trail_dir.is_some() {
            o.trail_dir = self.trail_dir;
        }
        if let Some(t) = self.control_token {
            o.control_token = Some(keytrail_server::options::ControlToken(t));
        }
        if let Some(n) = self.max_connections {
            o.max_connections = n;
        }
        if let Some(e) = self.enforcement {
            o.enforcement = e.parse().map_err(ConfigError)?;
        }
        if let Some(url) = self.s3_endpoint {
            keytrail_server::cloudtrail_api::check_s3_endpoint(&url).map_err(|e| ConfigError(format!("--s3-endpoint: {e}")))?;
            o.s3_endpoint = Some(url);
        }
        o.verify_signatures |= self.verify_signatures;
        o.strict_credentials |= self.strict_credentials;
        o.validate()?;
        Ok(o)
    }
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let options = match Cli::parse().into_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("keytrail: {e}");
            std::process::exit(2);
        }
    };
    let listen = options.listen.clone();
    let app = match App::new(options) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("keytrail: {e}");
            std::process::exit(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("keytrail: cannot listen on {listen}: {e}");
            std::process::exit(2);
        }
    };
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or(listen);
    // The readiness line, whatever RUST_LOG says: scripts and harnesses wait for it (and read
    // the port from it when --listen asked for port 0).
    eprintln!("keytrail listening on {addr}");
    if let Err(e) = keytrail_server::run(listener, app, shutdown_signal()).await {
        eprintln!("keytrail: {e}");
        std::process::exit(1);
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutting down");
}
