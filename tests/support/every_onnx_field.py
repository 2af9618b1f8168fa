"""Write ONNX models in which every field of every message onnx.proto defines is set.

protobuf's reference implementation serializes them, so `tests/onnx_roundtrip.rs` can check
that mlgate's ONNX types keep every field without downloading anything: a field the Rust
types lack is dropped on decode and the re-encoded bytes differ.

A oneof holds one member at a time, so model N sets member N (modulo the oneof's size) of
every oneof; together the models cover all members. Each message type is filled once per
model, where it is first reached, and left empty (but present) elsewhere, which stops the
recursion (graphs hold nodes hold graphs).

Usage: python every_onnx_field.py OUT_DIR   (needs `pip install onnx==1.23.2`)
"""

import os
import sys

from google.protobuf.descriptor import FieldDescriptor as F
from onnx import ModelProto

SCALARS = {
    F.TYPE_DOUBLE: 1.5, F.TYPE_FLOAT: 1.5,
    F.TYPE_INT64: -3, F.TYPE_UINT64: 3, F.TYPE_INT32: -3, F.TYPE_UINT32: 3,
    F.TYPE_SINT32: -3, F.TYPE_SINT64: -3, F.TYPE_FIXED32: 3, F.TYPE_FIXED64: 3,
    F.TYPE_SFIXED32: -3, F.TYPE_SFIXED64: -3, F.TYPE_BOOL: True,
    F.TYPE_STRING: "s", F.TYPE_BYTES: b"\x01\x02",
}


def fill(msg, variant, seen):
    seen.add(msg.DESCRIPTOR.full_name)
    chosen = {
        o.name: o.fields[variant % len(o.fields)].name for o in msg.DESCRIPTOR.oneofs
    }
    for field in msg.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if oneof is not None and chosen[oneof.name] != field.name:
            continue
        repeated = field.is_repeated
        if field.type == F.TYPE_MESSAGE:
            kind = field.message_type
            if repeated and kind.oneofs and kind.full_name not in seen:
                # One element per member of the element's oneofs (a shape's dims: a value
                # and a name), each filled below this point as if first reached.
                for i in range(max(len(o.fields) for o in kind.oneofs)):
                    fill(getattr(msg, field.name).add(), variant + i, set(seen))
                seen.add(kind.full_name)
                continue
            sub = getattr(msg, field.name).add() if repeated else getattr(msg, field.name)
            # Present even when left empty (a type already filled elsewhere).
            sub.SetInParent()
            if kind.full_name not in seen:
                fill(sub, variant, seen)
        elif field.type == F.TYPE_ENUM:
            # The last value, so no field is left at its default.
            value = field.enum_type.values[-1].number
            if repeated:
                getattr(msg, field.name).extend([value, value])
            else:
                setattr(msg, field.name, value)
        else:
            value = SCALARS[field.type]
            if repeated:
                getattr(msg, field.name).extend([value, value])
            else:
                setattr(msg, field.name, value)


def main() -> None:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    variants = max(
        len(o.fields) for d in all_messages(ModelProto.DESCRIPTOR) for o in d.oneofs
    )
    covered = set()
    for variant in range(variants):
        model = ModelProto()
        fill(model, variant, set())
        set_fields(model, covered)
        path = os.path.join(out, f"every_field_{variant}.onnx")
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        print(f"{path}: {model.ByteSize()} bytes")
    every = {(d.full_name, f.name) for d in all_messages(ModelProto.DESCRIPTOR) for f in d.fields}
    missing = sorted(every - covered)
    if missing:
        sys.exit(f"fields set in no model: {missing}")
    print(f"{len(every)} fields of {len(list(all_messages(ModelProto.DESCRIPTOR)))} messages, each set")


def set_fields(msg, covered):
    for field, value in msg.ListFields():
        covered.add((msg.DESCRIPTOR.full_name, field.name))
        if field.type == F.TYPE_MESSAGE:
            for sub in value if field.is_repeated else [value]:
                set_fields(sub, covered)


def all_messages(descriptor, found=None):
    found = {} if found is None else found
    if descriptor.full_name not in found:
        found[descriptor.full_name] = descriptor
        for field in descriptor.fields:
            if field.type == F.TYPE_MESSAGE:
                all_messages(field.message_type, found)
    return found.values()


if __name__ == "__main__":
    main()
