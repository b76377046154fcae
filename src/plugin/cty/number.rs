//! Lossless cty numbers: integers of any size and exact decimals, kept as decimal digits.
//!
//! cty numbers are 512-bit big floats, and Terraform compares planned and applied values exactly, so a
//! provider that rounds a number through `f64` can produce "inconsistent result after apply". This type
//! never rounds: what is decoded is re-encoded unchanged.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Newtype name that carries a [`Number`] losslessly.
pub(super) const NUMBER_TOKEN: &str = "$__cty_number";

/// Largest number of digits before or after the decimal point we accept. cty itself takes exponents up to
/// 2^31, but printing such a number in plain decimal (as cty does on the wire) would let a ten-byte input
/// expand into gigabytes, so we refuse anything this far out instead.
const MAX_SCALE: i64 = 10_000;

/// A cty number with no loss of precision.
///
/// Small integers (anything that fits `i64`) are stored inline; other values are kept as normalized
/// decimal digits, so equality is equality of value (`1.50` equals `1.5`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Number(Repr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    Int(i64),
    /// Value = sign × digits × 10^exp. `digits` is ASCII, non-empty, with no leading or trailing `'0'`,
    /// and the value is never an integer that fits `i64` (those are `Int`), so every value has one form.
    Dec {
        neg: bool,
        digits: Box<str>,
        exp: i32,
    },
}

/// Why a string is not a cty number. It carries no part of the input, which might be a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("not a decimal number")]
    Syntax,
    #[error(
        "number is outside the supported range (at most {MAX_SCALE} digits before or after the point)"
    )]
    OutOfRange,
    #[error("number is not finite")]
    NotFinite,
}

impl Number {
    /// The value as `i64`, when it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match &self.0 {
            Repr::Int(i) => Some(*i),
            // By the invariant, a `Dec` never fits i64 as an integer.
            Repr::Dec { .. } => None,
        }
    }

    /// The value as `u64`, when it is a non-negative integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        match &self.0 {
            Repr::Int(i) => u64::try_from(*i).ok(),
            Repr::Dec { neg, digits, exp } => {
                if *neg || *exp < 0 || digits.len() as i64 + i64::from(*exp) > 20 {
                    return None;
                }
                let mut acc: u64 = 0;
                for d in digits
                    .bytes()
                    .chain(std::iter::repeat_n(b'0', *exp as usize))
                {
                    acc = acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
                }
                Some(acc)
            }
        }
    }

    /// The nearest `f64` (correctly rounded; may be infinite for huge values).
    pub fn as_f64(&self) -> f64 {
        match &self.0 {
            Repr::Int(i) => *i as f64,
            Repr::Dec { neg, digits, exp } => {
                let sign = if *neg { "-" } else { "" };
                // Rust's float parser rounds correctly, and the text is always well-formed.
                format!("{sign}{digits}e{exp}")
                    .parse::<f64>()
                    .unwrap_or(f64::NAN)
            }
        }
    }

    /// Whether the value is an integer (of any size).
    pub fn is_integer(&self) -> bool {
        match &self.0 {
            Repr::Int(_) => true,
            Repr::Dec { exp, .. } => *exp >= 0,
        }
    }

    /// The exact value of a finite `f64`, or `None` for NaN and infinities (which cty numbers on the
    /// wire here do not carry).
    pub fn from_f64(f: f64) -> Option<Number> {
        if !f.is_finite() {
            return None;
        }
        if f == f.trunc() && f.abs() < 9.0e18 {
            // Exactly an integer well inside i64.
            return Some(Number(Repr::Int(f as i64)));
        }
        // f = m × 2^e with m odd has exactly max(0, -e) digits after the point; formatting with that
        // precision prints the exact binary value (Rust's fixed-precision formatting is exact).
        let bits = f.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1u64 << 52) - 1);
        let (mantissa, e) = if biased == 0 {
            (frac, -1074)
        } else {
            (frac | (1u64 << 52), biased - 1075)
        };
        let e = e + i64::from(mantissa.trailing_zeros());
        let precision = usize::try_from((-e).max(0)).unwrap_or(0);
        let text = format!("{f:.precision$}");
        text.parse().ok()
    }

    /// The value as an `f64` when that `f64` is exactly this number, which is when cty sends it as a
    /// msgpack float64.
    pub(crate) fn to_exact_f64(&self) -> Option<f64> {
        match &self.0 {
            Repr::Int(i) => {
                let f = *i as f64;
                // 2^63 rounds to out of range; compare in i128 to stay exact.
                (f.abs() < 9.3e18 && f as i128 == i128::from(*i)).then_some(f)
            }
            Repr::Dec { digits, exp, .. } => {
                // An f64 has at most 767 significant decimal digits and 1074 digits after the point.
                if digits.len() > 767 || *exp < -1074 {
                    return None;
                }
                let f = self.as_f64();
                if !f.is_finite() {
                    return None;
                }
                (Number::from_f64(f).as_ref() == Some(self)).then_some(f)
            }
        }
    }

    /// Builds a number from a sign, decimal digits (any leading/trailing zeros) and a power of ten.
    fn normalize(neg: bool, digits: &[u8], exp: i64) -> Result<Number, NumberError> {
        let Some(start) = digits.iter().position(|&d| d != b'0') else {
            return Ok(Number(Repr::Int(0)));
        };
        let end = digits
            .iter()
            .rposition(|&d| d != b'0')
            .map_or(start, |p| p + 1);
        // Trailing zeros move into the exponent so each value has one form.
        let exp = exp.saturating_add((digits.len() - end) as i64);
        Self::from_normalized(neg, &digits[start..end], exp)
    }

    fn from_normalized(neg: bool, digits: &[u8], exp: i64) -> Result<Number, NumberError> {
        let len = digits.len() as i64;
        if exp < -MAX_SCALE || len.saturating_add(exp) > MAX_SCALE {
            return Err(NumberError::OutOfRange);
        }
        if exp >= 0 && len + exp <= 19 {
            let mut acc: i128 = 0;
            for &d in digits {
                acc = acc * 10 + i128::from(d - b'0');
            }
            for _ in 0..exp {
                acc *= 10;
            }
            let signed = if neg { -acc } else { acc };
            if let Ok(i) = i64::try_from(signed) {
                return Ok(Number(Repr::Int(i)));
            }
        }
        let text = std::str::from_utf8(digits).map_err(|_| NumberError::Syntax)?;
        let exp = i32::try_from(exp).map_err(|_| NumberError::OutOfRange)?;
        Ok(Number(Repr::Dec {
            neg,
            digits: text.into(),
            exp,
        }))
    }
}

impl FromStr for Number {
    type Err = NumberError;

    /// Parses cty's number syntax: an optional sign, digits with an optional point, and an optional
    /// exponent (`-12.5e3`). Infinities and NaN are refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        let mut i = 0;
        let neg = match b.first() {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let mut digits: Vec<u8> = Vec::with_capacity(b.len().min(64));
        let int_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            digits.push(b[i]);
            i += 1;
        }
        let mut any_digit = i > int_start;
        let mut frac_len: i64 = 0;
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let frac_start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                digits.push(b[i]);
                i += 1;
            }
            frac_len = (i - frac_start) as i64;
            any_digit |= frac_len > 0;
        }
        if !any_digit {
            return Err(
                if s.eq_ignore_ascii_case("inf")
                    || s.eq_ignore_ascii_case("+inf")
                    || s.eq_ignore_ascii_case("-inf")
                    || s.eq_ignore_ascii_case("nan")
                {
                    NumberError::NotFinite
                } else {
                    NumberError::Syntax
                },
            );
        }
        let mut exp: i64 = 0;
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            let exp_neg = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let exp_start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                // Saturate: anything this large is out of range anyway.
                exp = exp
                    .saturating_mul(10)
                    .saturating_add(i64::from(b[i] - b'0'));
                i += 1;
            }
            if i == exp_start {
                return Err(NumberError::Syntax);
            }
            if exp_neg {
                exp = -exp;
            }
        }
        if i != b.len() {
            return Err(NumberError::Syntax);
        }
        Number::normalize(neg, &digits, exp.saturating_sub(frac_len))
    }
}

impl fmt::Display for Number {
    /// Plain decimal with no exponent, as cty writes numbers on the wire (`big.Float.Text('f', -1)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Int(i) => write!(f, "{i}"),
            Repr::Dec { neg, digits, exp } => {
                if *neg {
                    f.write_str("-")?;
                }
                let exp = i64::from(*exp);
                if exp >= 0 {
                    f.write_str(digits)?;
                    for _ in 0..exp {
                        f.write_str("0")?;
                    }
                    return Ok(());
                }
                let point = digits.len() as i64 + exp;
                if point > 0 {
                    let (int, frac) = digits.split_at(point as usize);
                    write!(f, "{int}.{frac}")
                } else {
                    f.write_str("0.")?;
                    for _ in 0..(-point) {
                        f.write_str("0")?;
                    }
                    f.write_str(digits)
                }
            }
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

impl From<i64> for Number {
    fn from(v: i64) -> Self {
        Number(Repr::Int(v))
    }
}

impl From<i32> for Number {
    fn from(v: i32) -> Self {
        Number(Repr::Int(i64::from(v)))
    }
}

impl From<u32> for Number {
    fn from(v: u32) -> Self {
        Number(Repr::Int(i64::from(v)))
    }
}

impl From<u64> for Number {
    fn from(v: u64) -> Self {
        match i64::try_from(v) {
            Ok(i) => Number(Repr::Int(i)),
            // Above i64::MAX: at most 20 digits, always in range.
            Err(_) => {
                let text = v.to_string();
                Number::normalize(false, text.as_bytes(), 0).unwrap_or(Number(Repr::Int(0)))
            }
        }
    }
}

impl TryFrom<f64> for Number {
    type Error = NumberError;

    /// The exact value of `v`. cty has no NaN, and infinities are not carried here, so those fail.
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        Number::from_f64(v).ok_or(NumberError::NotFinite)
    }
}

impl Default for Number {
    fn default() -> Self {
        Number(Repr::Int(0))
    }
}

// serde: through a private newtype name, so the cty serializer keeps a number exact; other formats see an integer
// or decimal text.

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(NUMBER_TOKEN, &NumberInner(self))
    }
}

/// A number as other formats should see it: an integer when it is one that fits, else exact text.
struct NumberInner<'a>(&'a Number);

impl Serialize for NumberInner<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_i64() {
            Some(i) => s.serialize_i64(i),
            None => s.collect_str(self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(NUMBER_TOKEN, NumberVisitor)
    }
}

struct NumberVisitor;

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
        Number::from_f64(v).ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
        v.parse()
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Number, D::Error> {
        d.deserialize_any(self)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_display_are_exact() {
        for (input, shown) in [
            ("0", "0"),
            ("-0", "0"),
            ("0.1", "0.1"),
            ("1.50", "1.5"),
            ("-12.5e3", "-12500"),
            ("1e2", "100"),
            ("1E-3", "0.001"),
            ("+7", "7"),
            (".5", "0.5"),
            ("5.", "5"),
            ("9007199254740993", "9007199254740993"),
            (
                "123456789012345678901234567890.000000000000000000001",
                "123456789012345678901234567890.000000000000000000001",
            ),
            ("18446744073709551615", "18446744073709551615"),
            ("-9223372036854775808", "-9223372036854775808"),
            ("-9223372036854775809", "-9223372036854775809"),
            ("1e25", "10000000000000000000000000"),
        ] {
            assert_eq!(n(input).to_string(), shown, "input {input}");
        }
    }

    #[test]
    fn syntax_errors_are_refused() {
        for bad in [
            "", "-", ".", "1e", "1e+", "abc", "1.2.3", "0x10", " 1", "1 ", "--1", "1e5x",
        ] {
            assert_eq!(
                bad.parse::<Number>(),
                Err(NumberError::Syntax),
                "input {bad:?}"
            );
        }
        assert_eq!("inf".parse::<Number>(), Err(NumberError::NotFinite));
        assert_eq!("NaN".parse::<Number>(), Err(NumberError::NotFinite));
    }

    #[test]
    fn huge_exponents_are_refused_not_expanded() {
        assert_eq!(
            "1e999999999999".parse::<Number>(),
            Err(NumberError::OutOfRange)
        );
        assert_eq!(
            "1e-999999999999".parse::<Number>(),
            Err(NumberError::OutOfRange)
        );
        assert_eq!("1e10000".parse::<Number>(), Err(NumberError::OutOfRange));
        assert!("1e9999".parse::<Number>().is_ok());
        // Many zeros that normalize away are fine.
        assert_eq!(n("0.000000000000000000000e999999999999"), Number::from(0));
    }

    #[test]
    fn equality_is_by_value() {
        assert_eq!(n("1.500"), n("1.5"));
        assert_eq!(n("100"), Number::from(100i64));
        assert_eq!(n("1e2"), n("100.0"));
        assert_ne!(n("0.1"), n("0.10000000000000001"));
    }

    #[test]
    fn integer_accessors() {
        assert_eq!(n("42").as_i64(), Some(42));
        assert_eq!(n("42").as_u64(), Some(42));
        assert_eq!(n("-1").as_u64(), None);
        assert_eq!(n("1.5").as_i64(), None);
        assert_eq!(n("18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(n("18446744073709551616").as_u64(), None);
        assert_eq!(n("9223372036854775808").as_i64(), None);
        assert_eq!(Number::from(u64::MAX).to_string(), "18446744073709551615");
        assert!(n("1e30").is_integer());
        assert!(!n("0.5").is_integer());
    }

    #[test]
    fn f64_conversions_are_exact() {
        let tenth = Number::from_f64(0.1).unwrap();
        assert_eq!(
            tenth.to_string(),
            "0.1000000000000000055511151231257827021181583404541015625"
        );
        assert_eq!(tenth.to_exact_f64(), Some(0.1));
        assert_eq!(tenth.as_f64(), 0.1);
        assert_eq!(n("0.1").to_exact_f64(), None);
        assert_eq!(n("0.5").to_exact_f64(), Some(0.5));
        assert_eq!(
            n("9223372036854775808").to_exact_f64(),
            Some(9223372036854775808.0)
        );
        assert_eq!(n("18446744073709551615").to_exact_f64(), None);
        assert_eq!(Number::from(i64::MAX).to_exact_f64(), None);
        assert_eq!(
            Number::from(1i64 << 53).to_exact_f64(),
            Some(9007199254740992.0)
        );
        assert_eq!(
            Number::from_f64(f64::MIN_POSITIVE / 4.0)
                .unwrap()
                .to_exact_f64(),
            Some(f64::MIN_POSITIVE / 4.0)
        );
        assert_eq!(Number::from_f64(1e300).unwrap().to_exact_f64(), Some(1e300));
        assert_eq!(Number::from_f64(-2.5).unwrap(), n("-2.5"));
        assert_eq!(Number::try_from(f64::NAN), Err(NumberError::NotFinite));
        assert_eq!(Number::try_from(f64::INFINITY), Err(NumberError::NotFinite));
    }
}
