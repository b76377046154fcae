//! The private-state envelope: the bytes Terraform keeps beside a resource's state and plans, as JSON with a format
//! version, so a resource reads and writes typed private data and decides only what another version means.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The private bytes of `private`: its JSON with a format version `v` beside its fields. Empty when there is nothing
/// to carry, so an untouched object stores no private bytes at all.
pub fn to_bytes<T: Serialize + Default + PartialEq>(private: &T, version: u8) -> Vec<u8> {
    #[derive(Serialize)]
    struct Versioned<'a, T> {
        v: u8,
        #[serde(flatten)]
        private: &'a T,
    }
    if *private == T::default() {
        return Vec::new();
    }
    serde_json::to_vec(&Versioned {
        v: version,
        private,
    })
    .unwrap_or_default()
}

/// Reads bytes [`to_bytes`] wrote with `version`; `None` when they are of another version or unreadable, and
/// the resource decides what that means.
pub fn from_bytes<T: DeserializeOwned>(bytes: &[u8], version: u8) -> Option<T> {
    #[derive(Deserialize)]
    struct Versioned<T> {
        v: u8,
        #[serde(flatten)]
        private: T,
    }
    serde_json::from_slice::<Versioned<T>>(bytes)
        .ok()
        .filter(|p| p.v == version)
        .map(|p| p.private)
}
