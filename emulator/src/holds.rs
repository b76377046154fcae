//! Held requests: what a `hold` fault keeps waiting at the emulator until a test releases it, so that a test can act
//! (stop its client, expire tokens, read counters) at a known point of a request's life instead of racing a delay.
//!
//! This is plain data inside the state; the server waits on it (see `server.rs`) and is woken whenever a control
//! call or a handle method may have released something.

use std::collections::BTreeMap;

use crate::model::Held;

/// The requests waiting under a `hold` fault, by log `seq`.
#[derive(Debug, Default)]
pub struct Holds {
    waiting: BTreeMap<u64, String>,
}

impl Holds {
    /// Starts holding the request `seq` to `path`.
    pub fn hold(&mut self, seq: u64, path: &str) {
        self.waiting.insert(seq, path.to_owned());
    }

    pub fn is_held(&self, seq: u64) -> bool {
        self.waiting.contains_key(&seq)
    }

    /// Releases `seq`; false when it was not held (already released, or its client gave up).
    pub fn release(&mut self, seq: u64) -> bool {
        self.waiting.remove(&seq).is_some()
    }

    /// Releases every held request; returns how many there were.
    pub fn release_all(&mut self) -> u64 {
        let n = u64::try_from(self.waiting.len()).unwrap_or(u64::MAX);
        self.waiting.clear();
        n
    }

    /// The held requests, oldest first.
    pub fn list(&self) -> Vec<Held> {
        self.waiting
            .iter()
            .map(|(seq, path)| Held {
                seq: *seq,
                path: path.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn holds_are_listed_in_order_and_released_once() {
        let mut h = Holds::default();
        h.hold(7, "/b");
        h.hold(3, "/a");
        assert_eq!(
            h.list(),
            vec![
                Held {
                    seq: 3,
                    path: "/a".into()
                },
                Held {
                    seq: 7,
                    path: "/b".into()
                }
            ]
        );
        assert!(h.is_held(3));
        assert!(h.release(3));
        assert!(!h.release(3), "a second release finds nothing");
        assert!(!h.is_held(3));
        assert_eq!(h.release_all(), 1);
        assert!(h.list().is_empty());
    }
}
