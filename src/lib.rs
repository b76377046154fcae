//! terraform-provider-thingspace: a Terraform provider that rotates Verizon ThingSpace passwords.
//!
//! Layout:
//! - [`plugin`]: everything Terraform-facing: the handshake, AutoMTLS, the gRPC service, the cty value codec,
//!   schemas and diagnostics. Nothing below it sees gRPC or msgpack types.
//! - [`provider`]: the provider's schema and `ConfigureProvider`, which turns configuration into an API client.
//! - [`resources`]: one file per resource type: schema, plan decision, apply, import.
//! - [`thingspace`]: the HTTP client for the ThingSpace API: models, errors, retry policy. It never sees Terraform types.
//! - [`shutdown`]: the process lifecycle: stop and exit signals, and the requests that must finish first.
//! - [`clock`]: the time decisions are made by (shifted only in tests against a local emulator).
//! - [`timefmt`]: the RFC 3339 and duration formats users write, shared by the provider block and the resources.

pub mod clock;
pub mod plugin;
pub mod provider;
pub mod resources;
pub mod shutdown;
pub mod thingspace;
pub mod timefmt;
