//! cty's msgpack encoding, read straight from a byte slice and written into one `Vec`.
//!
//! The rules follow go-cty's `cty/msgpack`: nil is null, any extension is unknown (ext 12 carries a
//! refinement map we validate and drop), numbers arrive as ints, floats or decimal strings, objects are
//! maps holding exactly their attributes, and `dynamic` values are `[type JSON bytes, value]`.

use std::collections::BTreeMap;

use super::error::{CodecError, MAX_DEPTH, PathStep};
use super::json;
use super::number::Number;
use super::ty::Type;
use super::value::{Value, check_collection};

/// Most elements reserved up front for a collection. The declared length is attacker-controlled, so we
/// trust it only this far and let the vector grow from the bytes actually present.
const MAX_PREALLOC: usize = 1024;

/// cty rejects refinement payloads above 1 KiB as an allocation attack; so do we.
const MAX_REFINEMENT_LEN: usize = 1024;

/// go-cty's extension type for an unknown value with refinements.
const EXT_REFINED_UNKNOWN: i8 = 12;

pub(super) fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let v = decode_value(&mut r, ty, 0)?;
    if r.pos != bytes.len() {
        return Err(CodecError::new(format!(
            "{} unexpected bytes after the value",
            bytes.len() - r.pos
        )));
    }
    Ok(v)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn eof() -> CodecError {
    CodecError::new("msgpack data ends early")
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn peek(&self) -> Result<u8, CodecError> {
        self.buf.get(self.pos).copied().ok_or_else(eof)
    }

    fn byte(&mut self) -> Result<u8, CodecError> {
        let b = self.peek()?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if n > self.remaining() {
            return Err(eof());
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let s = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, CodecError> {
        self.byte()
    }

    fn u16(&mut self) -> Result<u16, CodecError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, CodecError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, CodecError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A length field as `usize` (u32 always fits on the 64-bit targets we build for; saturate otherwise
    /// so the bounds check in `take` fails cleanly).
    fn len32(&mut self) -> Result<usize, CodecError> {
        Ok(usize::try_from(self.u32()?).unwrap_or(usize::MAX))
    }

    /// The length of the str or bin at the cursor, if that is what is there.
    fn str_or_bin_len(&mut self) -> Result<Option<usize>, CodecError> {
        let c = self.peek()?;
        let len = match c {
            0xa0..=0xbf => {
                self.pos += 1;
                usize::from(c & 0x1f)
            }
            0xd9 | 0xc4 => {
                self.pos += 1;
                usize::from(self.u8()?)
            }
            0xda | 0xc5 => {
                self.pos += 1;
                usize::from(self.u16()?)
            }
            0xdb | 0xc6 => {
                self.pos += 1;
                self.len32()?
            }
            _ => return Ok(None),
        };
        Ok(Some(len))
    }

    /// A str (or bin, which cty's decoder also takes) as UTF-8 text, borrowed from the input.
    fn str(&mut self, want: &Type) -> Result<&'a str, CodecError> {
        let c = self.peek()?;
        let Some(len) = self.str_or_bin_len()? else {
            return Err(CodecError::mismatch(want, kind_name(c)));
        };
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|_| CodecError::new("string is not valid UTF-8"))
    }

    fn array_len(&mut self, want: &Type) -> Result<usize, CodecError> {
        let c = self.peek()?;
        let len = match c {
            0x90..=0x9f => usize::from(c & 0x0f),
            0xdc => {
                self.pos += 1;
                return Ok(usize::from(self.u16()?));
            }
            0xdd => {
                self.pos += 1;
                return self.len32();
            }
            _ => return Err(CodecError::mismatch(want, kind_name(c))),
        };
        self.pos += 1;
        Ok(len)
    }

    fn map_len(&mut self, want: &Type) -> Result<usize, CodecError> {
        let c = self.peek()?;
        let len = match c {
            0x80..=0x8f => usize::from(c & 0x0f),
            0xde => {
                self.pos += 1;
                return Ok(usize::from(self.u16()?));
            }
            0xdf => {
                self.pos += 1;
                return self.len32();
            }
            _ => return Err(CodecError::mismatch(want, kind_name(c))),
        };
        self.pos += 1;
        Ok(len)
    }

    /// Skips `count` complete msgpack items without recursion: each container just adds its children
    /// to the count, and every item consumes at least one byte, so hostile lengths end at end of input.
    fn skip(&mut self, count: u64) -> Result<(), CodecError> {
        let mut pending = count;
        while pending > 0 {
            pending -= 1;
            let c = self.byte()?;
            let skip_bytes = match c {
                0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => 0,
                0x80..=0x8f => {
                    pending = pending.saturating_add(2 * u64::from(c & 0x0f));
                    0
                }
                0x90..=0x9f => {
                    pending = pending.saturating_add(u64::from(c & 0x0f));
                    0
                }
                0xa0..=0xbf => usize::from(c & 0x1f),
                0xc1 => return Err(CodecError::new("invalid msgpack byte 0xc1")),
                0xc4 | 0xd9 => usize::from(self.u8()?),
                0xc5 | 0xda => usize::from(self.u16()?),
                0xc6 | 0xdb => self.len32()?,
                0xc7 => usize::from(self.u8()?).saturating_add(1),
                0xc8 => usize::from(self.u16()?).saturating_add(1),
                0xc9 => self.len32()?.saturating_add(1),
                0xca => 4,
                0xcb => 8,
                0xcc | 0xd0 => 1,
                0xcd | 0xd1 => 2,
                0xce | 0xd2 => 4,
                0xcf | 0xd3 => 8,
                0xd4 => 2,
                0xd5 => 3,
                0xd6 => 5,
                0xd7 => 9,
                0xd8 => 17,
                0xdc => {
                    pending = pending.saturating_add(u64::from(self.u16()?));
                    0
                }
                0xdd => {
                    pending = pending.saturating_add(u64::from(self.u32()?));
                    0
                }
                0xde => {
                    pending = pending.saturating_add(2 * u64::from(self.u16()?));
                    0
                }
                0xdf => {
                    pending = pending.saturating_add(2 * u64::from(self.u32()?));
                    0
                }
            };
            self.take(skip_bytes)?;
        }
        Ok(())
    }

    /// Reads the extension at the cursor: its type and payload.
    fn ext(&mut self) -> Result<(i8, &'a [u8]), CodecError> {
        let c = self.byte()?;
        let len = match c {
            0xd4 => 1,
            0xd5 => 2,
            0xd6 => 4,
            0xd7 => 8,
            0xd8 => 16,
            0xc7 => usize::from(self.u8()?),
            0xc8 => usize::from(self.u16()?),
            0xc9 => self.len32()?,
            _ => return Err(CodecError::new("expected a msgpack extension")),
        };
        let ty = i8::from_be_bytes([self.byte()?]);
        Ok((ty, self.take(len)?))
    }
}

fn is_ext(c: u8) -> bool {
    matches!(c, 0xc7..=0xc9 | 0xd4..=0xd8)
}

/// What a msgpack type byte holds, in cty's words, for "expected X, got Y" messages.
fn kind_name(c: u8) -> &'static str {
    match c {
        0xc0 => "null",
        0xc2 | 0xc3 => "bool",
        0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 | 0xca | 0xcb => "number",
        0xa0..=0xbf | 0xd9..=0xdb => "string",
        0xc4..=0xc6 => "binary",
        0x90..=0x9f | 0xdc | 0xdd => "array",
        0x80..=0x8f | 0xde | 0xdf => "map",
        0xc7..=0xc9 | 0xd4..=0xd8 => "unknown",
        _ => "invalid msgpack byte",
    }
}

/// Consumes an unknown value. A refined unknown (ext 12 with a payload) must hold a msgpack map that fits
/// in 1 KiB, as cty requires; its refinements are dropped.
fn read_unknown(r: &mut Reader<'_>) -> Result<(), CodecError> {
    let (ext_ty, payload) = r.ext()?;
    if ext_ty == EXT_REFINED_UNKNOWN && payload.len() > 1 {
        if payload.len() > MAX_REFINEMENT_LEN {
            return Err(CodecError::new("unknown value refinements exceed 1 KiB"));
        }
        let mut pr = Reader {
            buf: payload,
            pos: 0,
        };
        let entries = pr
            .map_len(&Type::Dynamic)
            .map_err(|_| CodecError::new("unknown value refinements are not a map"))?;
        pr.skip(2 * entries as u64)
            .map_err(|_| CodecError::new("unknown value refinements are malformed"))?;
        // cty ignores bytes after the map, leaving room for future use; so do we.
    }
    Ok(())
}

fn decode_value(r: &mut Reader<'_>, ty: &Type, depth: usize) -> Result<Value, CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::too_deep());
    }
    let c = r.peek()?;
    if is_ext(c) {
        read_unknown(r)?;
        return Ok(Value::Unknown);
    }
    if c == 0xc0 {
        r.pos += 1;
        return Ok(Value::Null);
    }
    match ty {
        Type::String => Ok(Value::String(r.str(ty)?.to_owned())),
        Type::Bool => match c {
            0xc2 | 0xc3 => {
                r.pos += 1;
                Ok(Value::Bool(c == 0xc3))
            }
            _ => Err(CodecError::mismatch(ty, kind_name(c))),
        },
        Type::Number => decode_number(r).map(Value::Number),
        Type::Dynamic => decode_dynamic(r, depth),
        Type::List(et) | Type::Set(et) => {
            let n = r.array_len(ty)?;
            let mut out = Vec::with_capacity(n.min(r.remaining()).min(MAX_PREALLOC));
            for i in 0..n {
                let v = decode_value(r, et, depth + 1)
                    .map_err(|e| e.prepend(PathStep::Index(i as u64)))?;
                out.push(v);
            }
            let v = if matches!(ty, Type::List(_)) {
                Value::List(out)
            } else {
                Value::Set(out)
            };
            check_collection(v, et)
        }
        Type::Tuple(ets) => {
            let n = r.array_len(ty)?;
            if n != ets.len() {
                return Err(CodecError::new(format!(
                    "expected a tuple of {} elements, got {n}",
                    ets.len()
                )));
            }
            let mut out = Vec::with_capacity(n);
            for (i, et) in ets.iter().enumerate() {
                let v = decode_value(r, et, depth + 1)
                    .map_err(|e| e.prepend(PathStep::Index(i as u64)))?;
                out.push(v);
            }
            Ok(Value::Tuple(out))
        }
        Type::Map(et) => {
            let n = r.map_len(ty)?;
            // Collect, then build the map in one go: cty writes keys sorted, and building a BTreeMap from
            // sorted entries is linear where inserting one by one is not.
            let mut entries: Vec<(String, Value)> =
                Vec::with_capacity(n.min(r.remaining() / 2).min(MAX_PREALLOC));
            for _ in 0..n {
                let key = r
                    .str(&Type::String)
                    .map_err(|e| CodecError::new(format!("map key: {}", e.message())))?;
                let v = decode_value(r, et, depth + 1)
                    .map_err(|e| e.prepend(PathStep::Key(key.to_owned())))?;
                entries.push((key.to_owned(), v));
            }
            if !entries.is_sorted_by(|a, b| a.0 < b.0) {
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                if let Some(w) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
                    return Err(
                        CodecError::new("duplicate map key").prepend(PathStep::Key(w[0].0.clone()))
                    );
                }
            }
            let out: BTreeMap<String, Value> = entries.into_iter().collect();
            check_collection(Value::Map(out), et)
        }
        Type::Object(attrs) => {
            let n = r.map_len(ty)?;
            let mut out = BTreeMap::new();
            for _ in 0..n {
                let key = r
                    .str(&Type::String)
                    .map_err(|e| CodecError::new(format!("attribute name: {}", e.message())))?;
                let step = || PathStep::Attr(key.to_owned());
                let Some(at) = attrs.get(key) else {
                    return Err(CodecError::new("unsupported attribute").prepend(step()));
                };
                let v = decode_value(r, at, depth + 1).map_err(|e| e.prepend(step()))?;
                if out.insert(key.to_owned(), v).is_some() {
                    return Err(CodecError::new("duplicate attribute").prepend(step()));
                }
            }
            if out.len() != attrs.len() {
                // cty requires every attribute; name the first one missing.
                if let Some(missing) = attrs.keys().find(|k| !out.contains_key(*k)) {
                    return Err(CodecError::new("missing attribute")
                        .prepend(PathStep::Attr(missing.clone())));
                }
            }
            Ok(Value::Object(out))
        }
    }
}

fn decode_number(r: &mut Reader<'_>) -> Result<Number, CodecError> {
    let c = r.peek()?;
    let n = match c {
        0x00..=0x7f => {
            r.pos += 1;
            Number::from(i64::from(c))
        }
        0xe0..=0xff => {
            r.pos += 1;
            Number::from(i64::from(i8::from_be_bytes([c])))
        }
        0xcc..=0xd3 => {
            r.pos += 1;
            match c {
                0xcc => Number::from(i64::from(r.u8()?)),
                0xcd => Number::from(i64::from(r.u16()?)),
                0xce => Number::from(i64::from(r.u32()?)),
                0xcf => Number::from(r.u64()?),
                0xd0 => Number::from(i64::from(i8::from_be_bytes(r.array()?))),
                0xd1 => Number::from(i64::from(i16::from_be_bytes(r.array()?))),
                0xd2 => Number::from(i64::from(i32::from_be_bytes(r.array()?))),
                _ => Number::from(i64::from_be_bytes(r.array()?)),
            }
        }
        0xca | 0xcb => {
            r.pos += 1;
            let f = if c == 0xca {
                f64::from(f32::from_be_bytes(r.array()?))
            } else {
                f64::from_be_bytes(r.array()?)
            };
            Number::from_f64(f).ok_or_else(|| CodecError::new("number is not finite"))?
        }
        _ => {
            // cty falls back to a decimal string for numbers an int or float64 cannot hold exactly.
            let s = r.str(&Type::Number)?;
            s.parse::<Number>()
                .map_err(|e| CodecError::new(format!("invalid number string: {e}")))?
        }
    };
    Ok(n)
}

fn decode_dynamic(r: &mut Reader<'_>, depth: usize) -> Result<Value, CodecError> {
    let n = r.array_len(&Type::Dynamic)?;
    if n != 2 {
        return Err(CodecError::new(
            "a dynamic value must be a 2-element array of type and value",
        ));
    }
    let c = r.peek()?;
    let Some(len) = r.str_or_bin_len()? else {
        return Err(CodecError::new(format!(
            "dynamic value type must be JSON bytes, got {}",
            kind_name(c)
        )));
    };
    let ty = json::parse_type(r.take(len)?)?;
    decode_value(r, &ty, depth + 1)
}

pub(super) fn encode(v: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(64);
    encode_value(&mut out, v, ty, 0)?;
    Ok(out)
}

fn encode_value(out: &mut Vec<u8>, v: &Value, ty: &Type, depth: usize) -> Result<(), CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::too_deep());
    }
    match v {
        Value::Null => {
            out.push(0xc0);
            return Ok(());
        }
        Value::Unknown => {
            // go-cty's "wholly unknown": fixext1, type 0, one zero byte.
            out.extend_from_slice(&[0xd4, 0, 0]);
            return Ok(());
        }
        _ => {}
    }
    match (ty, v) {
        (Type::Dynamic, _) => {
            let actual = v.implied_type()?;
            out.push(0x92);
            write_bin(out, &actual.to_json())?;
            encode_value(out, v, &actual, depth + 1)
        }
        (Type::String, Value::String(s)) => write_str(out, s),
        (Type::Bool, Value::Bool(b)) => {
            out.push(if *b { 0xc3 } else { 0xc2 });
            Ok(())
        }
        (Type::Number, Value::Number(n)) => write_number(out, n),
        (Type::List(et) | Type::Set(et), Value::List(vs) | Value::Set(vs)) => {
            write_array_len(out, vs.len())?;
            for (i, ev) in vs.iter().enumerate() {
                encode_value(out, ev, et, depth + 1)
                    .map_err(|e| e.prepend(PathStep::Index(i as u64)))?;
            }
            Ok(())
        }
        (Type::Tuple(ets), Value::Tuple(vs) | Value::List(vs)) => {
            if ets.len() != vs.len() {
                return Err(CodecError::new(format!(
                    "expected a tuple of {} elements, got {}",
                    ets.len(),
                    vs.len()
                )));
            }
            write_array_len(out, vs.len())?;
            for (i, (ev, et)) in vs.iter().zip(ets).enumerate() {
                encode_value(out, ev, et, depth + 1)
                    .map_err(|e| e.prepend(PathStep::Index(i as u64)))?;
            }
            Ok(())
        }
        (Type::Map(et), Value::Map(m) | Value::Object(m)) => {
            write_map_len(out, m.len())?;
            for (k, ev) in m {
                write_str(out, k)?;
                encode_value(out, ev, et, depth + 1)
                    .map_err(|e| e.prepend(PathStep::Key(k.clone())))?;
            }
            Ok(())
        }
        (Type::Object(attrs), Value::Object(m) | Value::Map(m)) => {
            if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(
                    CodecError::new("unsupported attribute").prepend(PathStep::Attr(extra.clone()))
                );
            }
            // Every attribute is written, in sorted order as cty does; absent ones are null.
            write_map_len(out, attrs.len())?;
            for (k, at) in attrs {
                write_str(out, k)?;
                match m.get(k) {
                    Some(av) => encode_value(out, av, at, depth + 1)
                        .map_err(|e| e.prepend(PathStep::Attr(k.clone())))?,
                    None => out.push(0xc0),
                }
            }
            Ok(())
        }
        _ => Err(CodecError::mismatch(ty, v.kind_name())),
    }
}

fn too_long() -> CodecError {
    CodecError::new("value is too long for msgpack")
}

fn write_str(out: &mut Vec<u8>, s: &str) -> Result<(), CodecError> {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if let Ok(l) = u8::try_from(len) {
        out.extend_from_slice(&[0xd9, l]);
    } else if let Ok(l) = u16::try_from(len) {
        out.push(0xda);
        out.extend_from_slice(&l.to_be_bytes());
    } else {
        let l = u32::try_from(len).map_err(|_| too_long())?;
        out.push(0xdb);
        out.extend_from_slice(&l.to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn write_bin(out: &mut Vec<u8>, b: &[u8]) -> Result<(), CodecError> {
    if let Ok(l) = u8::try_from(b.len()) {
        out.extend_from_slice(&[0xc4, l]);
    } else if let Ok(l) = u16::try_from(b.len()) {
        out.push(0xc5);
        out.extend_from_slice(&l.to_be_bytes());
    } else {
        let l = u32::try_from(b.len()).map_err(|_| too_long())?;
        out.push(0xc6);
        out.extend_from_slice(&l.to_be_bytes());
    }
    out.extend_from_slice(b);
    Ok(())
}

fn write_array_len(out: &mut Vec<u8>, len: usize) -> Result<(), CodecError> {
    if len < 16 {
        out.push(0x90 | len as u8);
    } else if let Ok(l) = u16::try_from(len) {
        out.push(0xdc);
        out.extend_from_slice(&l.to_be_bytes());
    } else {
        let l = u32::try_from(len).map_err(|_| too_long())?;
        out.push(0xdd);
        out.extend_from_slice(&l.to_be_bytes());
    }
    Ok(())
}

fn write_map_len(out: &mut Vec<u8>, len: usize) -> Result<(), CodecError> {
    if len < 16 {
        out.push(0x80 | len as u8);
    } else if let Ok(l) = u16::try_from(len) {
        out.push(0xde);
        out.extend_from_slice(&l.to_be_bytes());
    } else {
        let l = u32::try_from(len).map_err(|_| too_long())?;
        out.push(0xdf);
        out.extend_from_slice(&l.to_be_bytes());
    }
    Ok(())
}

/// Writes a number the way go-cty does: an int when it fits i64, else a float64 when that is exactly the
/// value, else the plain decimal string.
fn write_number(out: &mut Vec<u8>, n: &Number) -> Result<(), CodecError> {
    if let Some(i) = n.as_i64() {
        write_int(out, i);
        Ok(())
    } else if let Some(f) = n.to_exact_f64() {
        out.push(0xcb);
        out.extend_from_slice(&f.to_be_bytes());
        Ok(())
    } else {
        write_str(out, &n.to_string())
    }
}

/// The most compact msgpack int, as go-cty's encoder (with compact ints) writes it: unsigned forms for
/// non-negative values, signed forms for negative ones.
fn write_int(out: &mut Vec<u8>, i: i64) {
    if i >= 0 {
        let u = i as u64;
        if u < 128 {
            out.push(u as u8);
        } else if let Ok(v) = u8::try_from(u) {
            out.extend_from_slice(&[0xcc, v]);
        } else if let Ok(v) = u16::try_from(u) {
            out.push(0xcd);
            out.extend_from_slice(&v.to_be_bytes());
        } else if let Ok(v) = u32::try_from(u) {
            out.push(0xce);
            out.extend_from_slice(&v.to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
        }
    } else if i >= -32 {
        out.push(i as i8 as u8);
    } else if let Ok(v) = i8::try_from(i) {
        out.extend_from_slice(&[0xd0, v as u8]);
    } else if let Ok(v) = i16::try_from(i) {
        out.push(0xd1);
        out.extend_from_slice(&v.to_be_bytes());
    } else if let Ok(v) = i32::try_from(i) {
        out.push(0xd2);
        out.extend_from_slice(&v.to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}
