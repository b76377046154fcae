//! The Terraform-facing half of the provider, generic over any provider: wire contract, handshake, transport
//! security, serving, values, diagnostics, and the [`provider::Provider`] and [`resource::Resource`] traits that
//! the concrete provider implements. Nothing here names a concrete resource type.
//!
//! Data flows one way: the [`service`] looks up the resource type a call names and hands the call to its
//! [`adapter`], which decodes Terraform's values into the resource's typed model, calls the resource, and encodes
//! its answer (write-only attributes nulled, replacements computed from the schema). Data sources go the same way
//! through [`data_source`]'s adapter.

pub mod adapter;
pub mod cty;
pub mod data_source;
pub mod diagnostics;
pub mod handshake;
pub mod identity;
pub mod logging;
pub mod mtls;
pub mod private;
pub mod proto;
pub mod provider;
pub mod resource;
mod respond;
pub mod schema;
pub mod secret;
pub mod serve;
pub mod service;
mod unserved;
pub mod wire;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
