//! The Terraform-facing half of the provider: wire contract, handshake, transport security, values and diagnostics.

pub mod cty;
pub mod diagnostics;
pub mod handshake;
pub mod logging;
pub mod mtls;
pub mod proto;
pub mod schema;
pub mod secret;
pub mod serve;
pub mod service;
