//! Fault injection: what the tests ask the emulator to do to the next requests on a path.
//!
//! Faults are registered as [`Fault`]s and consumed one request at a time, per path, in registration order. A
//! posted fault is checked and parsed once ([`Armed`]), so a typo fails at registration rather than as a
//! confusing test, and the queue is plain data: the server decides what happens without any state of its own.

use std::collections::{HashMap, VecDeque};

use http::{HeaderName, HeaderValue, StatusCode, header};

use crate::echo::{Echoed, Template};
use crate::model::{Fault, When};
use crate::reply::Reply;

/// A checked fault, ready to apply to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Armed {
    pub when: When,
    pub delay_ms: u64,
    pub action: Action,
    /// Wait until released (see `holds.rs`) before the delay.
    pub hold: bool,
    /// Process the request as a refusal of its credential.
    pub refuse: bool,
    /// Replace only a success answer.
    pub on_success_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Only the delay (or, for `late`, the detached processing): the request is answered normally.
    DelayOnly,
    /// Answer this instead of the real answer; body and header values may echo the request.
    Respond {
        status: StatusCode,
        body: Template,
        content_type: HeaderValue,
        headers: Vec<(HeaderName, Template)>,
    },
    /// Close the connection without writing a response.
    Drop,
}

impl Armed {
    /// Checks a posted fault and parses its templates.
    pub fn new(spec: &Fault) -> Result<Self, String> {
        if !spec.path.starts_with('/') {
            return Err("path must start with '/'".to_owned());
        }
        if spec.count == 0 {
            return Err("count must be at least 1".to_owned());
        }
        if spec.drop && spec.status.is_some() {
            return Err("drop and status are exclusive".to_owned());
        }
        if spec.refuse && (spec.drop || spec.status.is_some()) {
            return Err(
                "refuse is exclusive with drop and status: it answers the refusal".to_owned(),
            );
        }
        if !spec.drop && spec.status.is_none() && spec.delay_ms == 0 && !spec.hold && !spec.refuse {
            return Err(
                "a fault needs a status, drop: true, a delay_ms, hold: true or refuse: true"
                    .to_owned(),
            );
        }
        if spec.when == When::Late && spec.delay_ms == 0 {
            return Err("when: late needs a delay_ms (without one it is when: after)".to_owned());
        }
        if spec.hold && spec.when == When::Late {
            return Err("hold and when: late are exclusive: a late request is processed without its connection".to_owned());
        }
        if spec.on_success_only
            && (spec.when == When::Before || (spec.status.is_none() && !spec.drop))
        {
            return Err(
                "on_success_only needs when: after or late, and a status or drop to replace a success with"
                    .to_owned(),
            );
        }
        let action = if spec.drop {
            Action::Drop
        } else if let Some(status) = spec.status {
            let status = StatusCode::from_u16(status)
                .ok()
                .filter(|_| (100..=599).contains(&status))
                .ok_or("status must be between 100 and 599")?;
            let content_type = spec.content_type.as_deref().unwrap_or("application/json");
            let content_type = HeaderValue::from_str(content_type)
                .map_err(|_| "content_type is not a valid header value".to_owned())?;
            let mut headers = Vec::with_capacity(spec.headers.len());
            for (name, value) in &spec.headers {
                let parsed = HeaderName::from_bytes(name.as_bytes()).ok();
                let (Some(parsed), Ok(_)) = (parsed, HeaderValue::from_str(value)) else {
                    return Err(format!("header {name:?} is not a valid HTTP header"));
                };
                let template =
                    Template::parse(value).map_err(|e| format!("header {name:?}: {e}"))?;
                headers.push((parsed, template));
            }
            Action::Respond {
                status,
                body: Template::parse(&spec.body).map_err(|e| format!("body: {e}"))?,
                content_type,
                headers,
            }
        } else {
            Action::DelayOnly
        };
        Ok(Self {
            when: spec.when,
            delay_ms: spec.delay_ms,
            action,
            hold: spec.hold,
            refuse: spec.refuse,
            on_success_only: spec.on_success_only,
        })
    }

    /// True when the real answer is replaced (by a fault answer or a dropped connection).
    pub fn replaces_answer(&self) -> bool {
        !matches!(self.action, Action::DelayOnly)
    }

    /// True when `real`, the answer of the processed request, is replaced.
    pub fn replaces(&self, real: &Reply) -> bool {
        self.replaces_answer() && (!self.on_success_only || real.status.is_success())
    }

    /// The answer after processing: the fault's, or `real` when the fault doesn't replace it.
    pub fn answer_after(&self, real: Reply, request: &Echoed<'_>) -> Result<Reply, Dropped> {
        if self.replaces(&real) {
            self.answer(request).unwrap_or(Ok(real))
        } else {
            Ok(real)
        }
    }

    /// The fault's answer to `request`: `Some(Err)` to drop the connection, `Some(Ok)` to answer the fault,
    /// `None` to give the real answer.
    pub fn answer(&self, request: &Echoed<'_>) -> Option<Result<Reply, Dropped>> {
        match &self.action {
            Action::DelayOnly => None,
            Action::Drop => Some(Err(Dropped)),
            Action::Respond {
                status,
                body,
                content_type,
                headers,
            } => {
                let mut out = vec![(header::CONTENT_TYPE, content_type.clone())];
                for (name, template) in headers {
                    let value = template.render(request);
                    match HeaderValue::from_str(&value) {
                        Ok(v) => out.push((name.clone(), v)),
                        // An echo can put a newline or a control character in a header; HTTP can't carry it.
                        Err(_) => {
                            tracing::warn!(header = %name, "echoed header value is not valid HTTP; left out")
                        }
                    }
                }
                Some(Ok(Reply {
                    status: *status,
                    headers: out,
                    body: body.render(request).into_bytes(),
                }))
            }
        }
    }
}

/// Returned to make the server close the connection without any response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("connection dropped by an injected fault")]
pub struct Dropped;

/// Pending faults, per path, in registration order.
#[derive(Debug, Default)]
pub struct FaultQueue {
    /// Per path: each fault, how many requests it still applies to, and how many it lets through first.
    by_path: HashMap<String, VecDeque<(Armed, u32, u32)>>,
}

impl FaultQueue {
    /// Checks `spec` and queues it behind any already registered for its path; returns the pending count.
    pub fn push(&mut self, spec: &Fault) -> Result<u64, String> {
        let armed = Armed::new(spec)?;
        self.by_path
            .entry(spec.path.clone())
            .or_default()
            .push_back((armed, spec.count, spec.skip));
        Ok(self.pending())
    }

    /// Takes the fault for one request to `path`, if any is pending.
    pub fn take(&mut self, path: &str) -> Option<Armed> {
        let queue = self.by_path.get_mut(path)?;
        let (armed, remaining, skip) = queue.front_mut()?;
        if *skip > 0 {
            *skip -= 1;
            return None;
        }
        let fault = armed.clone();
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
            .flat_map(|q| q.iter().map(|(_, n, _)| u64::from(*n)))
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
    use http::HeaderMap;

    fn spec(json: &str) -> Fault {
        serde_json::from_str(json).unwrap()
    }

    fn request<'a>(body: &'a str, headers: &'a HeaderMap) -> Echoed<'a> {
        Echoed {
            body: body.as_bytes(),
            query: "",
            headers,
        }
    }

    #[test]
    fn defaults_are_one_request_before_effect() {
        let s = spec(r#"{"path":"/p","status":503}"#);
        assert_eq!(s.count, 1);
        assert_eq!(s.when, When::Before);
        let armed = Armed::new(&s).unwrap();
        let none = HeaderMap::new();
        let reply = armed.answer(&request("", &none)).unwrap().unwrap();
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(reply.body.is_empty());
        assert_eq!(
            reply.headers,
            vec![(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json")
            )]
        );
    }

    #[test]
    fn the_builder_and_the_json_agree() {
        let built = Fault::status("/p", 400, "b")
            .count(2)
            .late(300)
            .content_type("text/plain")
            .header("Retry-After", "1");
        let json = serde_json::to_string(&built).unwrap();
        assert_eq!(serde_json::from_str::<Fault>(&json).unwrap(), built);
        assert_eq!(
            spec(
                r#"{"path":"/p","status":400,"body":"b","count":2,"when":"late","delay_ms":300,"content_type":"text/plain","headers":{"Retry-After":"1"}}"#
            ),
            built
        );
    }

    #[test]
    fn faults_queue_per_path_in_registration_order_and_run_out() {
        let mut q = FaultQueue::default();
        q.push(&spec(r#"{"path":"/a","status":500,"count":2}"#))
            .unwrap();
        q.push(&spec(r#"{"path":"/a","drop":true,"when":"after"}"#))
            .unwrap();
        assert_eq!(q.push(&spec(r#"{"path":"/b","delay_ms":5}"#)), Ok(4));
        assert_eq!(q.pending(), 4);

        assert!(q.take("/c").is_none());
        for _ in 0..2 {
            let f = q.take("/a").unwrap();
            assert!(matches!(f.action, Action::Respond { status, .. } if status == 500));
        }
        let f = q.take("/a").unwrap();
        assert_eq!(f.action, Action::Drop);
        assert_eq!(f.when, When::After);
        assert!(q.take("/a").is_none());

        let f = q.take("/b").unwrap();
        assert_eq!(f.action, Action::DelayOnly);
        assert!(!f.replaces_answer());
        assert_eq!(q.pending(), 0);
    }

    #[test]
    fn answers_echo_the_request_in_body_and_headers() {
        let armed = Armed::new(&spec(
            r#"{"path":"/p","status":400,"body":"bad {{field:password|json}}","headers":{"X-Echo":"{{header:authorization|base64}}","X-Bad":"{{body}}"}}"#,
        ))
        .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YTpi"),
        );
        let reply = armed
            .answer(&request("{\"password\":\"p\\\"1\"}\n", &headers))
            .unwrap()
            .unwrap();
        assert_eq!(String::from_utf8(reply.body).unwrap(), r#"bad p\"1"#);
        let echoed: Vec<_> = reply
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
            .collect();
        // The raw body holds a newline, which no header can carry: that header is left out.
        assert_eq!(
            echoed,
            vec![
                ("content-type", "application/json"),
                ("x-echo", "QmFzaWMgWVRwaQ==")
            ]
        );
    }

    #[test]
    fn skip_lets_that_many_requests_through_first() {
        let mut q = FaultQueue::default();
        q.push(&Fault::status("/p", 503, "").skip(1)).unwrap();
        assert!(q.take("/p").is_none(), "the first request passes");
        assert!(q.take("/p").is_some(), "the second draws the fault");
        assert!(q.take("/p").is_none(), "count 1: then none");
        assert_eq!(q.pending(), 0);
    }

    #[test]
    fn hold_and_refuse_stand_alone_and_on_success_only_spares_errors() {
        let hold = Armed::new(&Fault::hold("/p")).unwrap();
        assert!(hold.hold && hold.action == Action::DelayOnly);
        assert!(!hold.replaces_answer());
        let refuse = Armed::new(&Fault::refuse("/p").after()).unwrap();
        assert!(refuse.refuse && !refuse.replaces_answer());
        let garble =
            Armed::new(&Fault::status("/p", 200, "<html>").after().on_success_only()).unwrap();
        let none = HeaderMap::new();
        let real = |status| Reply {
            status,
            headers: Vec::new(),
            body: b"real".to_vec(),
        };
        let ok = garble
            .answer_after(real(StatusCode::OK), &request("", &none))
            .unwrap();
        assert_eq!(ok.body, b"<html>");
        let refused = garble
            .answer_after(real(StatusCode::BAD_REQUEST), &request("", &none))
            .unwrap();
        assert_eq!(
            (refused.status, refused.body),
            (StatusCode::BAD_REQUEST, b"real".to_vec())
        );
        let always = Armed::new(&Fault::status("/p", 200, "<html>").after()).unwrap();
        assert!(always.replaces(&real(StatusCode::BAD_REQUEST)));
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
            r#"{"path":"/a","status":500,"content_type":"a\nb"}"#,
            r#"{"path":"/a","status":500,"when":"late"}"#,
            r#"{"path":"/a","status":500,"body":"{{field:}}"}"#,
            r#"{"path":"/a","status":500,"headers":{"X":"{{nope}}"}}"#,
        ] {
            assert!(Armed::new(&spec(bad)).is_err(), "{bad} should be refused");
        }
        for bad in [
            r#"{"path":"/a","refuse":true,"status":400}"#,
            r#"{"path":"/a","refuse":true,"drop":true}"#,
            r#"{"path":"/a","hold":true,"when":"late","delay_ms":5}"#,
            r#"{"path":"/a","status":500,"on_success_only":true}"#,
            r#"{"path":"/a","delay_ms":5,"when":"after","on_success_only":true}"#,
        ] {
            assert!(Armed::new(&spec(bad)).is_err(), "{bad} should be refused");
        }
        assert!(serde_json::from_str::<Fault>(r#"{"path":"/a","when":"later"}"#).is_err());
        assert!(serde_json::from_str::<Fault>(r#"{"path":"/a","stauts":500}"#).is_err());
    }
}
