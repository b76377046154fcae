//! Resource types served by this provider, one module each, and the time formats their arguments use.

pub mod password_rotation;
pub mod timefmt;
