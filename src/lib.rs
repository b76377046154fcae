//! terraform-provider-thingspace: a Terraform provider that rotates Verizon ThingSpace passwords.
//!
//! Layout:
//! - [`plugin`]: everything Terraform-facing, generic over any provider: the handshake, AutoMTLS, serving, the cty
//!   value codec, schemas, diagnostics, and the [`plugin::provider::Provider`] and [`plugin::resource::Resource`]
//!   traits. Its service finds the resource type a call names; one adapter serves every resource. Nothing below it
//!   sees gRPC or msgpack types.
//! - [`provider`]: the `Provider` impl: the address, the provider block's schema, and `ConfigureProvider`, which
//!   turns configuration into an API client; it lists the resource types.
//! - [`resources`]: one folder per resource type with its `Resource` impl, one concept per file, and the per-user
//!   view the rotation resources share.
//! - [`data_sources`]: one module per data source type; reading one never logs in as a user.
//! - [`thingspace`]: the HTTP client for the ThingSpace API: models, errors, retry policy. It never sees Terraform types.
//! - [`report`]: the `report` subcommand: each managed user's rotation status from `terraform show -json`, for CI.
//! - [`shutdown`]: the process lifecycle: stop and exit signals, and the requests that must finish first.
//! - [`clock`]: the time decisions are made by (shifted only in tests against a local emulator).
//! - [`timefmt`]: the RFC 3339 and duration formats users write, shared by the provider block and the resources.

pub mod clock;
pub mod data_sources;
pub mod plugin;
pub mod provider;
pub mod report;
pub mod resources;
pub mod shutdown;
pub mod thingspace;
pub mod timefmt;
