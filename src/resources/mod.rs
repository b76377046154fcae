//! Resource types served by this provider, one module each, and what one process knows about each ThingSpace user
//! across them ([`users`]).

pub mod alternating;
pub mod applying;
pub mod block;
pub mod claims;
pub mod password_rotation;
pub mod planning;
pub mod rotating;
pub mod schedule;
pub mod served;
pub mod username;
pub mod users;
pub mod verify;
