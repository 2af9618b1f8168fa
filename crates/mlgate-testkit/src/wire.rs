//! The ONNX round-trip check, at the level of protobuf's wire format, so it holds whatever
//! the Rust types are (hand-written or generated) and needs no schema.
//!
//! prost drops fields its types lack while decoding, so comparing a decoded model with its
//! re-decoded copy cannot see a missing field: both lack it. Re-encoding must instead give
//! back the file's exact bytes. protobuf's reference implementations write fields in number
//! order with minimal varints, as prost does, so any file they wrote round-trips
//! byte-identically; where it does not, [`first_difference`] says which field changed.

/// One field as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    pub number: u64,
    pub wire_type: u8,
    /// The value: a varint's or fixed field's bytes, or a length-delimited field's content.
    pub value: &'a [u8],
    /// The whole field, key included.
    pub raw: &'a [u8],
}

/// The top-level fields of a message, or `None` when `bytes` is not a well-formed message
/// (then it is a string, packed numbers or other bytes).
pub fn fields(bytes: &[u8]) -> Option<Vec<Field<'_>>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let start = pos;
        let key = varint(bytes, &mut pos)?;
        let (number, wire_type) = (key >> 3, (key & 7) as u8);
        if number == 0 {
            return None;
        }
        let value = match wire_type {
            0 => {
                let from = pos;
                varint(bytes, &mut pos)?;
                &bytes[from..pos]
            }
            1 => take(bytes, &mut pos, 8)?,
            2 => {
                let len = usize::try_from(varint(bytes, &mut pos)?).ok()?;
                take(bytes, &mut pos, len)?
            }
            5 => take(bytes, &mut pos, 4)?,
            // Groups (3, 4) are not used by ONNX; anything else is not protobuf.
            _ => return None,
        };
        out.push(Field {
            number,
            wire_type,
            value,
            raw: &bytes[start..pos],
        });
    }
    Some(out)
}

fn varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn take<'a>(bytes: &'a [u8], pos: &mut usize, len: usize) -> Option<&'a [u8]> {
    let end = pos.checked_add(len)?;
    let out = bytes.get(*pos..end)?;
    *pos = end;
    Some(out)
}

/// Where `reencoded` first departs from `original`, as a path of field numbers (`7[0] > 1[3]`
/// is the fourth field-1 entry inside the first field 7), or `None` when they are equal.
pub fn first_difference(original: &[u8], reencoded: &[u8]) -> Option<String> {
    if original == reencoded {
        return None;
    }
    Some(describe(original, reencoded, String::new()))
}

fn describe(original: &[u8], reencoded: &[u8], path: String) -> String {
    let at = |path: &str| {
        if path.is_empty() {
            "the message".to_string()
        } else {
            format!("field {path}")
        }
    };
    let (Some(a), Some(b)) = (fields(original), fields(reencoded)) else {
        return format!(
            "{} changed ({} bytes, now {})",
            at(&path),
            original.len(),
            reencoded.len()
        );
    };
    // Index of each field among the fields with its number, for the path.
    let occurrence = |list: &[Field], i: usize| {
        list[..i]
            .iter()
            .filter(|f| f.number == list[i].number)
            .count()
    };
    let join = |path: &str, f: &Field, k: usize| {
        let step = format!("{}[{k}]", f.number);
        if path.is_empty() {
            step
        } else {
            format!("{path} > {step}")
        }
    };
    for i in 0..a.len().max(b.len()) {
        match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) if x.raw == y.raw => continue,
            (Some(x), Some(y)) if x.number == y.number && x.wire_type == y.wire_type => {
                let here = join(&path, x, occurrence(&a, i));
                if x.wire_type == 2 {
                    return describe(x.value, y.value, here);
                }
                return format!("field {here} changed value");
            }
            (Some(x), _) if !b.iter().any(|y| y.number == x.number) => {
                return format!(
                    "field {} (wire type {}) was dropped: the Rust types lack it",
                    join(&path, x, occurrence(&a, i)),
                    x.wire_type
                );
            }
            (_, Some(y)) if !a.iter().any(|x| x.number == y.number) => {
                return format!(
                    "field {} (wire type {}) appeared",
                    join(&path, y, occurrence(&b, i)),
                    y.wire_type
                );
            }
            (Some(x), Some(y)) => {
                return format!(
                    "in {}, field {} is followed by {} where the file has {} (order, count or wire type changed)",
                    at(&path),
                    if i == 0 { "nothing".to_string() } else { a[i - 1].number.to_string() },
                    y.number,
                    x.number
                );
            }
            (Some(x), None) => {
                return format!(
                    "in {}, entry {} of field {} was dropped",
                    at(&path),
                    occurrence(&a, i),
                    x.number
                );
            }
            (None, Some(y)) => {
                return format!(
                    "in {}, an extra entry of field {} appeared",
                    at(&path),
                    y.number
                );
            }
            (None, None) => unreachable!("the loop stops at the longer list"),
        }
    }
    format!("{} differs", at(&path))
}

/// Decodes `bytes` as an ONNX model and encodes it again: `Ok` when that gives back exactly
/// `bytes`, else what changed.
pub fn onnx_round_trip(bytes: &[u8]) -> Result<(), String> {
    let model = mlgate_ir::onnx::decode(bytes).map_err(|e| format!("does not decode: {e}"))?;
    let again = mlgate_ir::onnx::encode(&model);
    match first_difference(bytes, &again) {
        None => Ok(()),
        Some(what) => Err(what),
    }
}

/// A field as protobuf encodes it, for building test messages.
pub fn encode_field(number: u64, wire_type: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, (number << 3) | u64::from(wire_type));
    if wire_type == 2 {
        put_varint(&mut out, value.len() as u64);
    }
    out.extend_from_slice(value);
    out
}

pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_bytes() -> Vec<u8> {
        mlgate_ir::onnx::encode(&mlgate_ir::fixtures::tiny_mlp())
    }

    #[test]
    fn a_model_the_types_fully_describe_round_trips() {
        assert_eq!(onnx_round_trip(&model_bytes()), Ok(()));
    }

    #[test]
    fn a_top_level_field_the_types_lack_is_reported() {
        // Field 999 of ModelProto: no ONNX version defines it, so the types cannot either.
        let mut bytes = model_bytes();
        bytes.extend(encode_field(999, 0, &[42]));
        let e = onnx_round_trip(&bytes).unwrap_err();
        assert_eq!(
            e,
            "field 999[0] (wire type 0) was dropped: the Rust types lack it"
        );
    }

    #[test]
    fn a_nested_field_the_types_lack_is_reported_with_its_path() {
        // Inside the graph (ModelProto field 7), before its first node (GraphProto field 1),
        // a string field 1000.
        let bytes = model_bytes();
        let mut out = Vec::new();
        for f in fields(&bytes).unwrap() {
            if f.number == 7 {
                let mut graph = encode_field(1000, 2, b"unknown");
                graph.extend_from_slice(f.value);
                out.extend(encode_field(7, 2, &graph));
            } else {
                out.extend_from_slice(f.raw);
            }
        }
        let e = onnx_round_trip(&out).unwrap_err();
        assert_eq!(
            e,
            "field 7[0] > 1000[0] (wire type 2) was dropped: the Rust types lack it"
        );
    }

    #[test]
    fn a_changed_value_and_a_non_canonical_varint_are_reported() {
        let a = encode_field(1, 0, &[5]);
        let b = encode_field(1, 0, &[6]);
        assert_eq!(
            first_difference(&a, &b).unwrap(),
            "field 1[0] changed value"
        );
        // 5 written in two bytes (0x85 0x00) decodes equal but does not re-encode the same.
        let long = encode_field(1, 0, &[0x85, 0x00]);
        assert_eq!(
            first_difference(&long, &a).unwrap(),
            "field 1[0] changed value"
        );
        assert_eq!(first_difference(&a, &a), None);
    }
}
