//! The shared harness: real Terraform against our provider and the emulator.
//!
//! Layout:
//! - terraform.rs: which Terraform to run ([`Terraform`]), one isolated working directory with its own CLI config,
//!   HOME and environment ([`Workspace`]), what a command did ([`TfOutput`], [`RunningTf`]). It names no emulator,
//!   so `benches/e2e` includes it too.
//! - emulator.rs: a private in-process emulator per test ([`Emulator`]), workspaces wired to it, the test clock
//!   ([`Workspace::set_clock_offset`]) and readers of its request log.
//! - network.rs: a certificate authority made per test (the emulator's HTTPS certificate, `ca_file`) and a CONNECT
//!   proxy that records its targets.
//! - checks.rs: what tests look at: attribute values, wrapped output, RFC 3339 times, passwords in state, the
//!   encodings a secret could leak in.

mod checks;
mod emulator;
mod network;
mod terraform;

pub use checks::*;
pub use emulator::*;
pub use network::*;
pub use terraform::*;
