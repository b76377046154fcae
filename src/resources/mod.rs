//! Resource types served by this provider, one module each, and what one process knows about each ThingSpace user
//! across them ([`users`]).

pub mod alternating;
pub mod common;
pub mod password_rotation;
pub mod schedule;
pub mod users;
