//! Just enough of the protobuf wire format to list the fields of one message level without
//! decoding them. prost skips fields a struct does not declare and leaves no trace of them,
//! but for `Model.Type` and `NeuralNetworkLayer.layer` the field *number* is the answer, and
//! layers and sub-models are best walked as slices of the original buffer (no copies of
//! their weights).

/// One field of a message. `payload` is the content of a length-delimited field and empty
/// for the other wire types.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    pub number: u32,
    pub wire_type: u8,
    pub payload: &'a [u8],
}

pub const WIRE_VARINT: u8 = 0;
pub const WIRE_I64: u8 = 1;
pub const WIRE_LEN: u8 = 2;
pub const WIRE_I32: u8 = 5;

/// Reads a base-128 varint, advancing `buf`.
pub fn read_varint(buf: &mut &[u8]) -> Result<u64, String> {
    let mut value: u64 = 0;
    for i in 0..10 {
        let Some((&b, rest)) = buf.split_first() else {
            return Err("truncated varint".into());
        };
        *buf = rest;
        // The tenth byte may only contribute the top bit of a u64.
        if i == 9 && b > 1 {
            return Err("varint longer than 64 bits".into());
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint longer than 10 bytes".into())
}

/// Every field at the top level of `buf`, in wire order.
pub fn fields(mut buf: &[u8]) -> Result<Vec<Field<'_>>, String> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = read_varint(&mut buf)?;
        let number = key >> 3;
        let wire_type = (key & 7) as u8;
        if number == 0 || number > (1 << 29) - 1 {
            return Err(format!("invalid field number {number}"));
        }
        let number = number as u32;
        let mut payload: &[u8] = &[];
        match wire_type {
            WIRE_VARINT => {
                read_varint(&mut buf)?;
            }
            WIRE_I64 => buf = skip(buf, 8, number)?,
            WIRE_I32 => buf = skip(buf, 4, number)?,
            WIRE_LEN => {
                let len = read_varint(&mut buf)?;
                let len = usize::try_from(len)
                    .ok()
                    .filter(|l| *l <= buf.len())
                    .ok_or_else(|| {
                        format!(
                            "field {number} claims {len} bytes, only {} remain",
                            buf.len()
                        )
                    })?;
                payload = &buf[..len];
                buf = &buf[len..];
            }
            // Groups (3, 4) are deprecated and never used by the CoreML spec.
            other => return Err(format!("field {number} has unsupported wire type {other}")),
        }
        out.push(Field {
            number,
            wire_type,
            payload,
        });
    }
    Ok(out)
}

fn skip(buf: &[u8], n: usize, number: u32) -> Result<&[u8], String> {
    buf.get(n..)
        .ok_or_else(|| format!("field {number} is truncated"))
}

/// Payloads of every length-delimited occurrence of field `number`.
pub fn len_fields<'a, 'f>(
    fields: &'f [Field<'a>],
    number: u32,
) -> impl Iterator<Item = &'a [u8]> + 'f {
    fields
        .iter()
        .filter(move |f| f.number == number && f.wire_type == WIRE_LEN)
        .map(|f| f.payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_fields_and_rejects_truncation() {
        // field 1 varint 150, field 2 "hi", field 3 fixed32, field 4 fixed64
        let buf = [
            0x08, 0x96, 0x01, 0x12, 2, b'h', b'i', 0x1d, 1, 2, 3, 4, 0x21, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let f = fields(&buf).unwrap();
        assert_eq!(f.iter().map(|f| f.number).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(f[1].payload, b"hi");
        for n in 1..buf.len() {
            // Cutting at a field boundary is a valid shorter message; anywhere else is not.
            if ![3, 7, 12].contains(&n) {
                assert!(fields(&buf[..n]).is_err(), "prefix {n}");
            }
        }
        assert!(fields(&[0x12, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
        assert!(fields(&[0x00]).is_err());
        assert!(fields(&[0x0b]).is_err());
        let mut long: &[u8] = &[0xff; 11];
        assert!(read_varint(&mut long).is_err());
    }
}
