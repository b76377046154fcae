//! The two time formats users write in resource arguments: RFC 3339 timestamps and Go-style durations with days.
//!
//! Both are parsed here, once, so validation, planning and apply agree on what a value means.

use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Parses an RFC 3339 timestamp such as `2027-03-01T00:00:00Z` or `2027-03-01T09:00:00+09:00`.
pub fn parse_rfc3339(s: &str) -> Result<OffsetDateTime, String> {
    // Go's RFC 3339 layout (what Terraform's timestamp() and time_rotating emit) requires the "T" separator; the
    // `time` crate also takes a space. Accept exactly what Terraform's own functions accept.
    if !matches!(s.as_bytes().get(10), Some(b'T' | b't')) {
        return Err(format!(
            "{s:?} is not an RFC 3339 timestamp (date and time must be joined by \"T\"); write it like \"2027-03-01T00:00:00Z\""
        ));
    }
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| {
        format!("{s:?} is not an RFC 3339 timestamp ({e}); write it like \"2027-03-01T00:00:00Z\"")
    })
}

/// Formats a time as RFC 3339 in UTC with whole seconds, the form `rotated_at` is stored in.
///
/// Whole seconds keep the value stable and readable; the rotate-once rule compares `rotated_at < rotate_after`,
/// and dropping the fraction can only make a just-rotated time compare as not-earlier, never trigger a second rotation.
pub fn format_rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339)
        .unwrap_or_else(|_| format!("{}", t.unix_timestamp()))
}

/// Formats a duration the way durations are written in arguments, to the minute: `"96d21h"`, `"3h5m"`, `"0m"`;
/// below a minute in seconds (`"45s"`). For messages, where exact seconds would only be noise.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        return format!("{secs}s");
    }
    let (days, hours, minutes) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60);
    let mut out = String::new();
    for (n, unit) in [(days, "d"), (hours, "h"), (minutes, "m")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    out
}

/// Parses a Go duration (`"1h30m"`, `"2160h"`, `"1.5h"`, `"300ms"`) with the extra unit `d` for 24 hours (`"90d"`).
///
/// Go's own syntax is what `time_rotating` and most providers accept, so users can copy values between them; days are
/// added because a 90-day rotation period is the common case and `"2160h"` is hard to read.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = |why: &str| {
        format!(
            "{s:?} is not a duration ({why}); write a number and a unit, like \"90d\", \"2160h\" or \"1h30m\" (units: ns, us, ms, s, m, h, d)"
        )
    };
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad("it is empty"));
    }
    if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    } else if rest.starts_with('-') {
        return Err(bad("it is negative"));
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(bad("a unit has no number before it"));
        }
        let (num, after) = rest.split_at(num_len);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after_unit) = after.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            "d" => 86_400 * 1_000_000_000,
            "" => return Err(bad("a number has no unit")),
            _ => return Err(bad(&format!("unknown unit {unit:?}"))),
        };
        let (int_part, frac_part) = match num.split_once('.') {
            Some((i, f)) => (i, f),
            None => (num, ""),
        };
        if frac_part.contains('.') || (int_part.is_empty() && frac_part.is_empty()) {
            return Err(bad("a number is malformed"));
        }
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| bad("a number is too large"))?
        };
        let mut part = int
            .checked_mul(unit_nanos)
            .ok_or_else(|| bad("it is too large"))?;
        // Fractions are scaled digit by digit so "1.5h" is exact and no float rounding creeps in.
        let mut scale = unit_nanos;
        for digit in frac_part.chars() {
            scale /= 10;
            let d = u128::from(digit.to_digit(10).unwrap_or(0));
            part += d * scale;
        }
        total_nanos = total_nanos
            .checked_add(part)
            .ok_or_else(|| bad("it is too large"))?;
        rest = after_unit;
    }
    let secs = u64::try_from(total_nanos / 1_000_000_000).map_err(|_| bad("it is too large"))?;
    // The remainder of a division by 10^9 always fits in u32.
    let nanos = u32::try_from(total_nanos % 1_000_000_000).unwrap_or(0);
    Ok(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_format_to_the_minute_and_parse_back() {
        for (secs, text) in [
            (0, "0s"),
            (45, "45s"),
            (60, "1m"),
            (3_600 + 300, "1h5m"),
            (86_400 * 96 + 3_600 * 21, "96d21h"),
            (86_400 * 90 + 59, "90d"),
        ] {
            assert_eq!(format_duration(Duration::from_secs(secs)), text, "{secs}");
            assert_eq!(
                parse_duration(text).map(|d| d.as_secs() / 60),
                Ok(secs / 60),
                "{text}"
            );
        }
    }

    #[test]
    fn durations_in_go_syntax_and_days_parse_exactly() {
        let cases: &[(&str, u64, u32)] = &[
            ("90d", 90 * 86_400, 0),
            ("2160h", 2160 * 3600, 0),
            ("1h30m", 5400, 0),
            ("1.5h", 5400, 0),
            ("300ms", 0, 300_000_000),
            ("1s", 1, 0),
            ("+2m", 120, 0),
            ("1d12h", 129_600, 0),
            ("2us", 0, 2_000),
            ("5µs", 0, 5_000),
            ("7ns", 0, 7),
            ("0", 0, 0),
            (".5s", 0, 500_000_000),
        ];
        for (input, secs, nanos) in cases {
            assert_eq!(
                parse_duration(input),
                Ok(Duration::new(*secs, *nanos)),
                "input {input}"
            );
        }
    }

    #[test]
    fn malformed_durations_are_rejected_with_a_hint() {
        for input in [
            "",
            "90",
            "d",
            "90 days",
            "-1h",
            "1x",
            "1..5h",
            "h1",
            "1.h.",
            "99999999999999999999999999999999999999h",
        ] {
            let err = parse_duration(input).expect_err(input);
            assert!(err.contains("not a duration"), "{input}: {err}");
            assert!(err.contains("\"90d\""), "{input}: {err}");
        }
    }

    #[test]
    fn rfc3339_parses_offsets_and_rejects_other_formats() {
        let t = parse_rfc3339("2027-03-01T09:00:00+09:00").unwrap();
        assert_eq!(format_rfc3339(t), "2027-03-01T00:00:00Z");
        assert_eq!(
            format_rfc3339(parse_rfc3339("2027-03-01T00:00:00.987Z").unwrap()),
            "2027-03-01T00:00:00Z"
        );
        for bad in [
            "2027-03-01",
            "2027-03-01 00:00:00Z",
            "tomorrow",
            "",
            "2027-13-01T00:00:00Z",
        ] {
            let err = parse_rfc3339(bad).expect_err(bad);
            assert!(err.contains("RFC 3339"), "{bad}: {err}");
        }
    }
}
