//! Fault injection: what the tests ask the emulator to do to the next requests on a path.
//!
//! Faults are registered through `POST /_emulator/faults` and consumed one request at a time,
//! per path, in registration order. The queue is plain data so the state machine (and its tests)
//! decide what happens without any socket.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::Deserialize;

/// When the fault strikes relative to the request taking effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum When {
    /// Delay first, then answer the fault instead of processing: the request has no effect.
    #[default]
    Before,
    /// Process the request (it takes effect), then delay, then answer the fault instead of the
    /// real answer. A delay here is a slow answer after the effect, which is what makes a
    /// client time out on a reset that did happen.
    After,
}

/// A fault as posted to the control API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Exact request path the fault applies to (any method).
    pub path: String,
    /// How many of the next requests to `path` get this fault.
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub when: When,
    #[serde(default)]
    pub delay_ms: u64,
    /// Status to answer; absent with `drop: false` means "delay, then answer normally".
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Close the connection without any HTTP response.
    #[serde(default)]
    pub drop: bool,
}

fn one() -> u32 {
    1
}

/// What the server must do for one request that drew a fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub when: When,
    pub delay_ms: u64,
    pub action: FaultAction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Only the delay: the request is then processed and answered normally.
    DelayOnly,
    /// Answer this instead of the real answer.
    Respond {
        status: u16,
        body: String,
        content_type: String,
        headers: Vec<(String, String)>,
    },
    /// Close the connection without writing a response.
    Drop,
}

impl Fault {
    /// True when the real answer is replaced (by a fault answer or a dropped connection).
    pub fn replaces_answer(&self) -> bool {
        !matches!(self.action, FaultAction::DelayOnly)
    }
}

impl FaultSpec {
    /// Checks a posted fault, so a typo fails at registration rather than as a confusing test.
    pub fn validate(&self) -> Result<(), String> {
        if !self.path.starts_with('/') {
            return Err("path must start with '/'".to_owned());
        }
        if self.count == 0 {
            return Err("count must be at least 1".to_owned());
        }
        if let Some(status) = self.status
            && !(100..=599).contains(&status)
        {
            return Err("status must be between 100 and 599".to_owned());
        }
        if self.drop && self.status.is_some() {
            return Err("drop and status are exclusive".to_owned());
        }
        if !self.drop && self.status.is_none() && self.delay_ms == 0 {
            return Err("a fault needs a status, drop: true, or a delay_ms".to_owned());
        }
        if let Some(ct) = &self.content_type
            && http::HeaderValue::from_str(ct).is_err()
        {
            return Err("content_type is not a valid header value".to_owned());
        }
        for (name, value) in &self.headers {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err()
                || http::HeaderValue::from_str(value).is_err()
            {
                return Err(format!("header {name:?} is not a valid HTTP header"));
            }
        }
        Ok(())
    }

    fn to_fault(&self) -> Fault {
        let action = if self.drop {
            FaultAction::Drop
        } else if let Some(status) = self.status {
            FaultAction::Respond {
                status,
                body: self.body.clone(),
                content_type: self
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/json".to_owned()),
                headers: self
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            }
        } else {
            FaultAction::DelayOnly
        };
        Fault {
            when: self.when,
            delay_ms: self.delay_ms,
            action,
        }
    }
}

/// Pending faults, per path, in registration order.
#[derive(Debug, Default)]
pub struct FaultQueue {
    by_path: HashMap<String, VecDeque<(FaultSpec, u32)>>,
}

impl FaultQueue {
    /// Queues a validated fault behind any already registered for its path.
    pub fn push(&mut self, spec: FaultSpec) {
        let remaining = spec.count;
        self.by_path
            .entry(spec.path.clone())
            .or_default()
            .push_back((spec, remaining));
    }

    /// Takes the fault for one request to `path`, if any is pending.
    pub fn take(&mut self, path: &str) -> Option<Fault> {
        let queue = self.by_path.get_mut(path)?;
        let (spec, remaining) = queue.front_mut()?;
        let fault = spec.to_fault();
        *remaining -= 1;
        if *remaining == 0 {
            queue.pop_front();
        }
        if queue.is_empty() {
            self.by_path.remove(path);
        }
        Some(fault)
    }

    /// Number of fault applications still pending, over all paths.
    pub fn pending(&self) -> u64 {
        self.by_path
            .values()
            .flat_map(|q| q.iter().map(|(_, n)| u64::from(*n)))
            .sum()
    }

    pub fn clear(&mut self) {
        self.by_path.clear();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn spec(json: &str) -> FaultSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn defaults_are_one_request_before_effect() {
        let s = spec(r#"{"path":"/p","status":503}"#);
        assert_eq!(s.count, 1);
        assert_eq!(s.when, When::Before);
        assert!(s.validate().is_ok());
        let f = s.to_fault();
        assert_eq!(
            f.action,
            FaultAction::Respond {
                status: 503,
                body: String::new(),
                content_type: "application/json".to_owned(),
                headers: vec![],
            }
        );
    }

    #[test]
    fn faults_queue_per_path_in_registration_order_and_run_out() {
        let mut q = FaultQueue::default();
        q.push(spec(r#"{"path":"/a","status":500,"count":2}"#));
        q.push(spec(r#"{"path":"/a","drop":true,"when":"after"}"#));
        q.push(spec(r#"{"path":"/b","delay_ms":5}"#));
        assert_eq!(q.pending(), 4);

        assert!(q.take("/c").is_none());
        for _ in 0..2 {
            let f = q.take("/a").unwrap();
            assert!(matches!(f.action, FaultAction::Respond { status: 500, .. }));
        }
        let f = q.take("/a").unwrap();
        assert_eq!(f.action, FaultAction::Drop);
        assert_eq!(f.when, When::After);
        assert!(q.take("/a").is_none());

        let f = q.take("/b").unwrap();
        assert_eq!(f.action, FaultAction::DelayOnly);
        assert!(!f.replaces_answer());
        assert_eq!(q.pending(), 0);
    }

    #[test]
    fn invalid_faults_are_refused() {
        for bad in [
            r#"{"path":"/a"}"#,
            r#"{"path":"/a","status":500,"count":0}"#,
            r#"{"path":"/a","status":42}"#,
            r#"{"path":"/a","status":500,"drop":true}"#,
            r#"{"path":"a","status":500}"#,
            r#"{"path":"/a","status":500,"headers":{"bad header":"x"}}"#,
        ] {
            assert!(spec(bad).validate().is_err(), "{bad} should be refused");
        }
        assert!(serde_json::from_str::<FaultSpec>(r#"{"path":"/a","when":"later"}"#).is_err());
    }
}
