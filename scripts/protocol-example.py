#!/usr/bin/env python3
"""Writes the worked example of docs/protocol.md from the golden frames.

Annotates, byte by byte, the frames of one call as they travel on the socket:
proto/testdata/{hello,welcome,worked_request,worked_response,status_unavailable}.frame
(made from their .txtpb by scripts/make-golden-frames.sh). Field names come
from the generated descriptors, so the annotation cannot drift from the proto.

Usage: scripts/protocol-example.py [--check]
  --check: fail when the block between the worked-example markers in
           docs/protocol.md differs from what this script writes.
Needs: python3 with protobuf (pip install protobuf).
"""

from __future__ import annotations

import pathlib
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "clients" / "python" / "src"))
from switchboard_client._pb.switchboard.v1 import switchboard_pb2 as pb  # noqa: E402
from google.protobuf.descriptor import FieldDescriptor as FD  # noqa: E402

DOC = ROOT / "docs" / "protocol.md"
TESTDATA = ROOT / "proto" / "testdata"
BEGIN = "<!-- worked-example:begin (scripts/protocol-example.py writes this block) -->"
END = "<!-- worked-example:end -->"
WIRE = {0: "varint", 1: "64-bit", 2: "length-delimited", 5: "32-bit"}
COL = 36  # width of the hex column


def varint(buf: bytes, i: int):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def hexs(b: bytes) -> str:
    return " ".join(f"{x:02x}" for x in b)


def line(out: list, indent: int, raw: bytes, text: str) -> None:
    pad = "  " * indent
    chunks = [raw[k : k + 10] for k in range(0, len(raw), 10)] or [b""]
    first = f"{pad}{hexs(chunks[0])}"
    out.append(f"{first:<{COL}} {text}")
    for c in chunks[1:]:
        out.append(f"{pad}{hexs(c)}")


def scalar(field, wt: int, raw_value) -> str:
    t = field.type
    if t == FD.TYPE_ENUM:
        v = field.enum_type.values_by_number.get(raw_value)
        return f"{v.name if v else '?'} ({raw_value})"
    if t == FD.TYPE_BOOL:
        return "true" if raw_value else "false"
    if t in (FD.TYPE_INT64, FD.TYPE_INT32) and raw_value >= 1 << 63:
        return str(raw_value - (1 << 64))
    if t == FD.TYPE_DOUBLE:
        return repr(struct.unpack("<d", raw_value)[0])
    if t == FD.TYPE_FLOAT:
        return repr(struct.unpack("<f", raw_value)[0])
    if t in (FD.TYPE_FIXED64, FD.TYPE_SFIXED64):
        return str(struct.unpack("<q" if t == FD.TYPE_SFIXED64 else "<Q", raw_value)[0])
    return str(raw_value)


def walk(buf: bytes, desc, indent: int, out: list) -> None:
    i = 0
    while i < len(buf):
        start = i
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        field = desc.fields_by_number.get(num)
        name = f"{desc.name}.{field.name}" if field else f"{desc.name}.<unknown {num}>"
        tag = f"{name} (field {num}, {WIRE.get(wt, wt)})"
        if wt == 0:
            v, i = varint(buf, i)
            line(out, indent, buf[start:i], f"{tag} = {scalar(field, wt, v) if field else v}")
        elif wt in (1, 5):
            n = 8 if wt == 1 else 4
            v = buf[i : i + n]
            i += n
            line(out, indent, buf[start:i], f"{tag} = {scalar(field, wt, v) if field else hexs(v)}")
        elif wt == 2:
            n, j = varint(buf, i)
            payload = buf[j : j + n]
            i = j + n
            if field is not None and field.type == FD.TYPE_MESSAGE:
                line(out, indent, buf[start:j], f"{tag}, {n} bytes: {field.message_type.name}")
                walk(payload, field.message_type, indent + 1, out)
            else:
                text = payload.decode("utf-8", "replace")
                line(out, indent, buf[start:i], f'{tag}, {n} bytes = "{text}"')
        else:
            raise SystemExit(f"unsupported wire type {wt}")


def annotate(name: str, caption: str) -> str:
    data = (TESTDATA / f"{name}.frame").read_bytes()
    flags, length = data[0], struct.unpack(">I", data[1:5])[0]
    assert len(data) == 5 + length, name
    out = [f"{caption} ({len(data)} bytes; proto/testdata/{name}.frame):", "", "```"]
    for k in range(0, len(data), 16):
        out.append(f"{k:04x}: {hexs(data[k:k + 16])}")
    out.append("")
    line(out, 0, data[:1], f"flags = {flags} (uncompressed protobuf)")
    line(out, 0, data[1:5], f"payload length = {length} (big-endian uint32)")
    walk(data[5:], pb.Frame.DESCRIPTOR, 0, out)
    out.append("```")
    return "\n".join(out)


def block() -> str:
    parts = [
        BEGIN,
        "",
        annotate("hello", "1. Client → daemon, `Hello` on call 0 (optional; once, first)"),
        "",
        annotate("welcome", "2. Daemon → client, `Welcome` on call 0"),
        "",
        annotate("worked_request", "3. Client → daemon, a unary `CompletionRequest` opening call 1"),
        "",
        annotate("worked_response", "4. Daemon → client, the terminal `CompletionResponse` of call 1"),
        "",
        annotate("status_unavailable", "Or, had every candidate failed, a terminal `Status` (here for call 4)"),
        "",
        END,
    ]
    return "\n".join(parts)


def main() -> int:
    check = "--check" in sys.argv[1:]
    doc = DOC.read_text()
    a, b = doc.find(BEGIN), doc.find(END)
    if a < 0 or b < 0:
        print(f"{DOC}: the worked-example markers are missing", file=sys.stderr)
        return 1
    new = doc[:a] + block() + doc[b + len(END) :]
    if check:
        if new != doc:
            print("docs/protocol.md: the worked example is stale: run scripts/protocol-example.py", file=sys.stderr)
            return 1
        print("docs/protocol.md worked example is up to date")
        return 0
    DOC.write_text(new)
    print("wrote the worked example into docs/protocol.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
