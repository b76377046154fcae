//! The `terraform-provider-thingspace` binary: read flags, start logging, and serve the plugin until Terraform (or
//! a signal) shuts it down.

use std::process::ExitCode;
use std::time::Duration;
use thingspace_provider::plugin::serve::{ServeError, ServeOptions, serve};
use thingspace_provider::plugin::{logging, service::ProviderService};
use thingspace_provider::provider::{LOG_CRATES, ThingSpace};
use thingspace_provider::shutdown::Shutdown;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // A subcommand for CI jobs, not the plugin: it reads `terraform show -json` and serves nothing.
    if args.first().map(String::as_str) == Some("report") {
        return thingspace_provider::report::main(&args[1..]);
    }
    let mut debug = false;
    for arg in args {
        match arg.as_str() {
            "--debug" => debug = true,
            "--version" | "-version" => {
                // Not stdout: stdout is reserved for the handshake line, even when a person runs the binary.
                eprintln!(
                    "terraform-provider-thingspace {}",
                    env!("CARGO_PKG_VERSION")
                );
                return ExitCode::SUCCESS;
            }
            "-h" | "--help" => {
                eprintln!("{}", USAGE);
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("terraform-provider-thingspace: unknown argument {other:?}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    logging::init(LOG_CRATES);
    // One thread is enough: every handler waits on I/O, and a single-threaded runtime starts fastest and smallest,
    // which matters because Terraform starts the plugin several times per command.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("terraform-provider-thingspace: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = Shutdown::new();
    let service = ProviderService::new(ThingSpace::new(shutdown.clone()), shutdown.clone());
    let served = runtime.block_on(serve(service, shutdown, ServeOptions::from_env(debug)));
    // `serve` returns once nothing that matters is on the wire. Dropping the runtime would wait without limit for
    // blocking work still running (a DNS lookup for an API call that was cancelled), so give it a moment only.
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(ServeError::Handshake(e)) => {
            // Plain words, not a JSON log line: this is most likely a person who ran the binary by hand.
            eprintln!("{e}");
            ExitCode::from(1)
        }
        Err(e) => {
            tracing::error!(error = %e, "plugin server failed");
            eprintln!("terraform-provider-thingspace: {e}");
            ExitCode::FAILURE
        }
    }
}

/// How long leftover blocking work may hold up the exit once serving is over.
const RUNTIME_SHUTDOWN: Duration = Duration::from_millis(500);

const USAGE: &str = "terraform-provider-thingspace: the Terraform provider for Verizon ThingSpace password rotation.

This is a Terraform plugin: Terraform starts it. Declare it in required_providers
(source = \"verizon/thingspace\"), or point Terraform at this binary with dev_overrides.

Flags:
  --debug     serve without Terraform and print a TF_REATTACH_PROVIDERS value to paste
  --version   print the version

Subcommands:
  report      each managed user's rotation status from `terraform show -json`, for CI jobs
              (terraform-provider-thingspace report --help)";
