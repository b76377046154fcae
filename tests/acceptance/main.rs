//! The integration tests, as one crate: one binary to build and link, one harness compiled once, and every test
//! scheduled by one test runner. Most are acceptance tests (a real Terraform drives the provider binary against the
//! ThingSpace emulator); the rest check the plugin transport in-process and the repository's tooling.
//!
//! Run one module with a filter: `cargo test --test acceptance faults::`. The modules, one concept each:
//! - `password_rotation`, `alternating`: the two resources' workflows; `pipeline`: what CI pipelines do with Terraform;
//!   `schedule`: rotation windows, jitter and "rotate now" from the CI examples.
//! - `faults`, `lockout`, `matrix`: injected faults, lock-out safety across workflows, the fault-sequence matrix;
//!   `matrix_alternating`: the same for the alternating resource's recoveries, per user.
//! - `secrets`: nothing secret in any output; `compat`: the Terraform versions we support; `identity`: resource
//!   identity with the real CLI.
//! - `plugin`: the plugin's lifecycle under Terraform; `plugin_transport`: the gRPC transport in-process.
//! - `examples`: `examples/` and `docs/`; `secret_store`: the AWS secret-store pattern applied against moto;
//!   `release`, `static_binary`: the release artifacts.
//! - `ci_lint`, `supply_chain`: the CI-definition lint and the dependency check can fail; `ci_examples`: the CI
//!   examples' own scripts run against the emulator.
//! - `harness`: the harness itself (`common`).
//! - `unattended`: what a CI schedule relies on: the maximum password age, the acknowledgement of a block, a locked
//!   user, clean rotate-now, implausible reset answers.
//! - `network`: what a network failure says, `ca_file`, `HTTPS_PROXY`/`NO_PROXY` through a CONNECT proxy.
//!
//! Tests fail by panicking, so clippy's panic lints are relaxed for the whole crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod alternating;
mod ci_examples;
mod ci_lint;
mod compat;
mod connection;
mod examples;
mod faults;
mod harness;
mod identity;
mod lockout;
mod matrix;
mod matrix_alternating;
mod network;
mod password_rotation;
mod pipeline;
mod plugin;
mod plugin_transport;
mod release;
mod report;
mod schedule;
mod secret_store;
mod secrets;
mod static_binary;
mod supply_chain;
mod unattended;
mod verification;
