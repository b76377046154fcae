//! The plugin layer's boundary, proven with a second resource type that exists only here: `example_note`, kept in
//! memory by a test provider, is served end to end through the gRPC service and the generic adapter, with no
//! change to `service.rs`. The tests call the service's handlers with msgpack `DynamicValue`s, as Terraform does,
//! and assert on the decoded answers.

mod adapter;
mod identity;
pub(crate) mod notes;
mod service;
