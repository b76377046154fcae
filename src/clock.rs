//! The time rotation decisions are made by: the system clock, shifted only in tests against a local emulator.
//!
//! Time-based rotations (`rotate_after`, `rotation_period`, and in tests the schedule's windows) need a "now" that
//! acceptance tests can move without sleeping. `THINGSPACE_TEST_NOW_OFFSET_SECS` (a signed number of seconds) shifts
//! it, but only once `ConfigureProvider` has configured a plain-`http://` loopback `base_url`, which only an
//! emulator on this machine can be: production ThingSpace is `https://` and never loopback, so the variable cannot
//! move time by accident in a real pipeline. The variable is read once per process.

use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;
use url::{Host, Url};

/// The variable tests set to move the provider's "now".
pub const TEST_OFFSET_VAR: &str = "THINGSPACE_TEST_NOW_OFFSET_SECS";

/// The offset in effect, in seconds; zero unless an emulator base URL enabled it.
static OFFSET_SECS: AtomicI64 = AtomicI64::new(0);

/// The current time as the provider decides by it.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    match OFFSET_SECS.load(Ordering::Relaxed) {
        0 => now,
        secs => now
            .checked_add(time::Duration::seconds(secs))
            .unwrap_or(now),
    }
}

/// Enables the test offset from `value` (the variable's content) when `base_url` is an emulator on this machine;
/// otherwise makes sure no offset applies. Returns the offset now in effect.
pub fn configure(base_url: &Url, value: Option<&str>) -> i64 {
    let offset = match value.map(str::trim).and_then(|v| v.parse::<i64>().ok()) {
        Some(secs) if is_local_emulator(base_url) => secs,
        _ => 0,
    };
    OFFSET_SECS.store(offset, Ordering::Relaxed);
    offset
}

/// Whether `url` can only be an emulator: plain http to a loopback address.
fn is_local_emulator(url: &Url) -> bool {
    url.scheme() == "http"
        && match url.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_applies_only_to_an_emulator_on_this_machine() {
        let emu = Url::parse("http://127.0.0.1:4000").unwrap();
        let prod = Url::parse("https://thingspace.verizon.com").unwrap();
        let tls_loopback = Url::parse("https://127.0.0.1:4000").unwrap();
        assert_eq!(configure(&emu, Some(" 3600 ")), 3600);
        let shifted = now() - OffsetDateTime::now_utc();
        assert!(shifted > time::Duration::seconds(3590), "{shifted}");
        assert_eq!(configure(&prod, Some("3600")), 0);
        assert_eq!(configure(&tls_loopback, Some("3600")), 0);
        assert_eq!(configure(&emu, Some("not a number")), 0);
        assert_eq!(configure(&emu, None), 0);
        assert!((now() - OffsetDateTime::now_utc()).abs() < time::Duration::seconds(5));
        assert_eq!(configure(&emu, Some("-86400")), -86400);
        assert!(now() < OffsetDateTime::now_utc() - time::Duration::seconds(86_000));
        configure(&emu, None);
    }
}
