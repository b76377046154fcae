//! Data source types served by this provider, one module each. Reading one never logs in as a ThingSpace user.

pub mod connection;
