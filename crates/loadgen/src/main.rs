//! `keytrail-load`: the soak (`soak`) and the crash test (`crash`) against a keytrail binary.
//! Both print their counts and exit non-zero on failure. Only 127.0.0.1 is ever contacted.

mod client;
mod crash;
mod process;
mod soak;
mod trail;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "keytrail-load", about = "Soak and crash tests for keytrail")]
struct Cli {
    /// The keytrail binary to run.
    #[arg(long, env = "KEYTRAIL_BIN")]
    bin: std::path::PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Mixed workload for a set time; then counts must agree and memory must be flat.
    Soak {
        /// Concurrent connections.
        #[arg(long, default_value_t = 32)]
        clients: u64,
        /// Seconds of load.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Allowed memory growth after warm-up, MiB.
        #[arg(long, default_value_t = 48)]
        max_growth_mib: u64,
    },
    /// kill -9 under load, restart, verify; several cycles.
    Crash {
        /// Concurrent connections.
        #[arg(long, default_value_t = 16)]
        clients: u64,
        /// Kill/restart cycles.
        #[arg(long, default_value_t = 5)]
        cycles: u64,
        /// Shortest load before the kill, ms.
        #[arg(long, default_value_t = 1000)]
        min_ms: u64,
        /// Longest load before the kill, ms.
        #[arg(long, default_value_t = 4000)]
        max_ms: u64,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Soak { clients, seconds, max_growth_mib } => {
            soak::run(soak::SoakOptions { bin: cli.bin, clients, seconds, max_growth_mib }).await
        }
        Command::Crash { clients, cycles, min_ms, max_ms } => {
            crash::run(crash::CrashOptions { bin: cli.bin, clients, cycles, load_ms: (min_ms, max_ms.max(min_ms)) }).await
        }
    };
    if let Err(e) = result {
        eprintln!("keytrail-load: FAIL: {e}");
        std::process::exit(1);
    }
}
