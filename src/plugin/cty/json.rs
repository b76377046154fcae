//! cty's JSON encodings: type descriptions (`["list","string"]`) and JSON values, as used by
//! `DynamicValue.json` and `RawState.json`.
//!
//! We parse JSON ourselves rather than through `serde_json::Value` so that numbers keep their exact
//! text (no `f64` rounding) and nesting is capped before it can exhaust the stack.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::error::{CodecError, MAX_DEPTH, PathStep};
use super::number::Number;
use super::ty::Type;
use super::value::{Value, check_collection};

/// Options for [`decode_json_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JsonOptions {
    /// Drop object attributes the type does not declare instead of failing. `UpgradeResourceState`
    /// wants this: raw state from an older schema may carry attributes that have since been removed.
    pub ignore_undefined_attributes: bool,
}

/// JSON nesting allowed by the parser. Values may nest [`MAX_DEPTH`] levels and each `dynamic` level adds a
/// `{"value":..,"type":..}` wrapper, so the parser allows twice that; the typed walk enforces the real cap.
const MAX_JSON_DEPTH: usize = 2 * MAX_DEPTH + 2;

/// A parsed JSON document that borrows from the input where it can; numbers stay as their source text.
#[derive(Debug)]
enum Json<'a> {
    Null,
    Bool(bool),
    Number(&'a str),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl Json<'_> {
    fn kind_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "bool",
            Json::Number(_) => "number",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }
}

struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn syntax(what: &str, pos: usize) -> CodecError {
    CodecError::new(format!("invalid JSON at byte {pos}: {what}"))
}

impl<'a> Parser<'a> {
    fn parse_document(buf: &'a [u8]) -> Result<Json<'a>, CodecError> {
        let mut p = Parser { buf, pos: 0 };
        let v = p.value(0)?;
        p.ws();
        if p.pos != buf.len() {
            return Err(syntax("unexpected data after the value", p.pos));
        }
        Ok(v)
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.buf.get(self.pos) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.buf[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json<'a>, CodecError> {
        if depth > MAX_JSON_DEPTH {
            return Err(CodecError::too_deep());
        }
        self.ws();
        let Some(&c) = self.buf.get(self.pos) else {
            return Err(syntax("unexpected end of input", self.pos));
        };
        match c {
            b'n' if self.eat(b"null") => Ok(Json::Null),
            b't' if self.eat(b"true") => Ok(Json::Bool(true)),
            b'f' if self.eat(b"false") => Ok(Json::Bool(false)),
            b'"' => Ok(Json::String(self.string()?)),
            b'-' | b'0'..=b'9' => self.number(),
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b"]") {
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"]") {
                        return Ok(Json::Array(items));
                    }
                    return Err(syntax("expected ',' or ']'", self.pos));
                }
            }
            b'{' => {
                self.pos += 1;
                let mut members = Vec::new();
                self.ws();
                if self.eat(b"}") {
                    return Ok(Json::Object(members));
                }
                loop {
                    self.ws();
                    if self.buf.get(self.pos) != Some(&b'"') {
                        return Err(syntax("expected a string key", self.pos));
                    }
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(b":") {
                        return Err(syntax("expected ':'", self.pos));
                    }
                    let v = self.value(depth + 1)?;
                    members.push((key, v));
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"}") {
                        return Ok(Json::Object(members));
                    }
                    return Err(syntax("expected ',' or '}'", self.pos));
                }
            }
            _ => Err(syntax("unexpected character", self.pos)),
        }
    }

    fn number(&mut self) -> Result<Json<'a>, CodecError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let s = p.pos;
            while p.buf.get(p.pos).is_some_and(u8::is_ascii_digit) {
                p.pos += 1;
            }
            p.pos - s
        };
        if self.buf.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        let n = digits(self);
        if n == 0 || (n > 1 && self.buf[int_start] == b'0') {
            return Err(syntax("malformed number", start));
        }
        if self.buf.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(syntax("malformed number", start));
            }
        }
        if let Some(b'e' | b'E') = self.buf.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.buf.get(self.pos) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(syntax("malformed number", start));
            }
        }
        // Only ASCII was consumed, so this cannot fail.
        std::str::from_utf8(&self.buf[start..self.pos])
            .map(Json::Number)
            .map_err(|_| syntax("malformed number", start))
    }

    fn hex4(&mut self) -> Result<u32, CodecError> {
        let Some(h) = self.buf.get(self.pos..self.pos + 4) else {
            return Err(syntax("truncated \\u escape", self.pos));
        };
        let mut v = 0u32;
        for &c in h {
            let d = char::from(c)
                .to_digit(16)
                .ok_or_else(|| syntax("bad \\u escape", self.pos))?;
            v = v * 16 + d;
        }
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<Cow<'a, str>, CodecError> {
        // Caller has checked the opening quote.
        self.pos += 1;
        let start = self.pos;
        // Fast path: no escapes, borrow the input.
        while let Some(&c) = self.buf.get(self.pos) {
            match c {
                b'"' => {
                    let s = std::str::from_utf8(&self.buf[start..self.pos])
                        .map_err(|_| syntax("string is not valid UTF-8", start))?;
                    self.pos += 1;
                    return Ok(Cow::Borrowed(s));
                }
                b'\\' => break,
                0x00..=0x1f => return Err(syntax("control character in string", self.pos)),
                _ => self.pos += 1,
            }
        }
        let mut out: Vec<u8> = self.buf[start..self.pos].to_vec();
        loop {
            let Some(&c) = self.buf.get(self.pos) else {
                return Err(syntax("unterminated string", start));
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.buf.get(self.pos) else {
                        return Err(syntax("unterminated string", start));
                    };
                    self.pos += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&hi)
                                && self.buf[self.pos..].starts_with(b"\\u")
                            {
                                let save = self.pos;
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if (0xdc00..0xe000).contains(&lo) {
                                    0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                                } else {
                                    // Not a pair: the high half stands alone, the next escape is read again.
                                    self.pos = save;
                                    hi
                                }
                            } else {
                                hi
                            };
                            // Lone surrogates become U+FFFD, as Go's decoder does.
                            char::from_u32(code).unwrap_or('\u{fffd}')
                        }
                        _ => return Err(syntax("bad escape", self.pos - 1)),
                    };
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                }
                0x00..=0x1f => return Err(syntax("control character in string", self.pos - 1)),
                _ => out.push(c),
            }
        }
        String::from_utf8(out)
            .map(Cow::Owned)
            .map_err(|_| syntax("string is not valid UTF-8", start))
    }
}

impl Type {
    /// Parses cty's JSON type bytes (the inverse of [`Type::to_json`]). The optional-attributes list that
    /// newer cty may append to an object type is accepted and ignored.
    pub fn from_json(bytes: &[u8]) -> Result<Type, CodecError> {
        parse_type(bytes)
    }
}

/// Parses cty JSON type bytes.
pub(super) fn parse_type(bytes: &[u8]) -> Result<Type, CodecError> {
    let doc = Parser::parse_document(bytes)
        .map_err(|e| CodecError::new(format!("type: {}", e.message())))?;
    type_from_json(&doc, 0)
}

fn bad_type() -> CodecError {
    CodecError::new("invalid cty type description")
}

fn type_from_json(j: &Json<'_>, depth: usize) -> Result<Type, CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::too_deep());
    }
    match j {
        Json::String(s) => match s.as_ref() {
            "string" => Ok(Type::String),
            "number" => Ok(Type::Number),
            "bool" => Ok(Type::Bool),
            "dynamic" => Ok(Type::Dynamic),
            _ => Err(bad_type()),
        },
        Json::Array(items) => {
            let (Some(Json::String(kind)), Some(arg)) = (items.first(), items.get(1)) else {
                return Err(bad_type());
            };
            // Only objects may carry a third element (their optional-attribute names).
            let max_len = if kind == "object" { 3 } else { 2 };
            if items.len() > max_len {
                return Err(bad_type());
            }
            match kind.as_ref() {
                "list" => Ok(Type::List(Box::new(type_from_json(arg, depth + 1)?))),
                "set" => Ok(Type::Set(Box::new(type_from_json(arg, depth + 1)?))),
                "map" => Ok(Type::Map(Box::new(type_from_json(arg, depth + 1)?))),
                "object" => {
                    let Json::Object(members) = arg else {
                        return Err(bad_type());
                    };
                    if let Some(opt) = items.get(2) {
                        let Json::Array(names) = opt else {
                            return Err(bad_type());
                        };
                        if !names.iter().all(|n| matches!(n, Json::String(_))) {
                            return Err(bad_type());
                        }
                    }
                    let mut attrs = BTreeMap::new();
                    for (k, t) in members {
                        attrs.insert(k.to_string(), type_from_json(t, depth + 1)?);
                    }
                    Ok(Type::Object(attrs))
                }
                "tuple" => {
                    let Json::Array(elems) = arg else {
                        return Err(bad_type());
                    };
                    let ts = elems
                        .iter()
                        .map(|t| type_from_json(t, depth + 1))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(Type::Tuple(ts))
                }
                _ => Err(bad_type()),
            }
        }
        _ => Err(bad_type()),
    }
}

pub(super) fn decode(bytes: &[u8], ty: &Type, opts: JsonOptions) -> Result<Value, CodecError> {
    let doc = Parser::parse_document(bytes)?;
    value_from_json(&doc, ty, opts, 0)
}

fn value_from_json(
    j: &Json<'_>,
    ty: &Type,
    opts: JsonOptions,
    depth: usize,
) -> Result<Value, CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::too_deep());
    }
    if let Json::Null = j {
        return Ok(Value::Null);
    }
    let mismatch = || CodecError::mismatch(ty, j.kind_name());
    match ty {
        // cty's JSON decoder converts primitives the way its `convert` package does.
        Type::String => match j {
            Json::String(s) => Ok(Value::String(s.to_string())),
            Json::Number(n) => Ok(Value::String((*n).to_owned())),
            Json::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(mismatch()),
        },
        Type::Number => match j {
            Json::Number(n) => n
                .parse::<Number>()
                .map(Value::Number)
                .map_err(|e| CodecError::new(format!("invalid number: {e}"))),
            Json::String(s) => s
                .parse::<Number>()
                .map(Value::Number)
                .map_err(|_| CodecError::new("a number is required; the string is not one")),
            _ => Err(mismatch()),
        },
        Type::Bool => match j {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            Json::String(s) if s == "true" => Ok(Value::Bool(true)),
            Json::String(s) if s == "false" => Ok(Value::Bool(false)),
            _ => Err(mismatch()),
        },
        Type::List(et) | Type::Set(et) => {
            let Json::Array(items) = j else {
                return Err(mismatch());
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(
                    value_from_json(item, et, opts, depth + 1)
                        .map_err(|e| e.prepend(PathStep::Index(i as u64)))?,
                );
            }
            let v = if matches!(ty, Type::List(_)) {
                Value::List(out)
            } else {
                Value::Set(out)
            };
            check_collection(v, et)
        }
        Type::Tuple(ets) => {
            let Json::Array(items) = j else {
                return Err(mismatch());
            };
            if items.len() != ets.len() {
                return Err(CodecError::new(format!(
                    "expected a tuple of {} elements, got {}",
                    ets.len(),
                    items.len()
                )));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, et)) in items.iter().zip(ets).enumerate() {
                out.push(
                    value_from_json(item, et, opts, depth + 1)
                        .map_err(|e| e.prepend(PathStep::Index(i as u64)))?,
                );
            }
            Ok(Value::Tuple(out))
        }
        Type::Map(et) => {
            let Json::Object(members) = j else {
                return Err(mismatch());
            };
            let mut out = BTreeMap::new();
            for (k, v) in members {
                let ev = value_from_json(v, et, opts, depth + 1)
                    .map_err(|e| e.prepend(PathStep::Key(k.to_string())))?;
                // Later duplicates win, as with Go's decoder.
                out.insert(k.to_string(), ev);
            }
            check_collection(Value::Map(out), et)
        }
        Type::Object(attrs) => {
            let Json::Object(members) = j else {
                return Err(mismatch());
            };
            let mut out = BTreeMap::new();
            for (k, v) in members {
                let Some(at) = attrs.get(k.as_ref()) else {
                    if opts.ignore_undefined_attributes {
                        continue;
                    }
                    return Err(CodecError::new("unsupported attribute")
                        .prepend(PathStep::Attr(k.to_string())));
                };
                let av = value_from_json(v, at, opts, depth + 1)
                    .map_err(|e| e.prepend(PathStep::Attr(k.to_string())))?;
                out.insert(k.to_string(), av);
            }
            // cty's JSON decoder fills absent attributes with null.
            for k in attrs.keys() {
                if !out.contains_key(k) {
                    out.insert(k.clone(), Value::Null);
                }
            }
            Ok(Value::Object(out))
        }
        Type::Dynamic => {
            let Json::Object(members) = j else {
                return Err(CodecError::new(
                    "a dynamic value must be a JSON object with \"type\" and \"value\"",
                ));
            };
            let mut value = None;
            let mut vty = None;
            for (k, v) in members {
                match k.as_ref() {
                    "type" => vty = Some(type_from_json(v, depth + 1)?),
                    "value" => value = Some(v),
                    _ => {
                        return Err(CodecError::new(
                            "a dynamic value may only have \"type\" and \"value\"",
                        ));
                    }
                }
            }
            let (Some(vty), Some(value)) = (vty, value) else {
                return Err(CodecError::new(
                    "a dynamic value needs both \"type\" and \"value\"",
                ));
            };
            value_from_json(value, &vty, opts, depth + 1)
        }
    }
}
