"""Frame codec for the Switchboard wire protocol.

Every message on the socket is one frame, gRPC-style::

    byte 0      flags: 0 = uncompressed protobuf; anything else is a protocol error
    bytes 1..4  unsigned 32-bit big-endian length N of the payload
    bytes 5..   N bytes: one protobuf-encoded ``switchboard.v1.Frame``
"""

from __future__ import annotations

import struct
from typing import List, Union

from ._pb.switchboard.v1 import switchboard_pb2 as pb
from .errors import ProtocolError

HEADER = struct.Struct(">BI")
HEADER_SIZE = HEADER.size  # 5
#: Largest frame this client accepts from the daemon. The daemon's own limit for
#: frames it receives is ``listen.max_frame_bytes`` (default 4 MiB).
DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024

TERMINAL_BODIES = frozenset({"completion_response", "admin_response", "status"})


def ends_call(frame: "pb.Frame") -> bool:
    """True for the frame that ends a call (``Welcome`` ends the ``Hello`` exchange on call 0)."""
    kind = frame.WhichOneof("body")
    return kind in TERMINAL_BODIES or (frame.call_id == 0 and kind == "welcome")


def encode_payload(payload: bytes, flags: int = 0) -> bytes:
    """Prefix ``payload`` with the 5-byte frame header."""
    return HEADER.pack(flags, len(payload)) + payload


def encode_frame(frame: pb.Frame) -> bytes:
    """Serialize a ``Frame`` message and prefix it with the frame header."""
    return encode_payload(frame.SerializeToString())


def decode_frame(data: Union[bytes, bytearray, memoryview]) -> pb.Frame:
    """Decode exactly one complete frame (header + payload).

    Raises:
        ProtocolError: bad flags, a length that does not match the buffer, or a
            payload that is not a valid ``Frame``.
    """
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        raise ProtocolError(f"frame too short: {len(data)} bytes", reason_code="short_frame")
    flags, length = HEADER.unpack_from(data)
    if flags != 0:
        raise ProtocolError(f"unsupported frame flags {flags:#04x}", reason_code="bad_flags")
    if length != len(data) - HEADER_SIZE:
        raise ProtocolError(
            f"frame length {length} does not match the {len(data) - HEADER_SIZE} payload bytes",
            reason_code="bad_length",
        )
    return _parse(data[HEADER_SIZE:])


def _parse(payload: bytes) -> pb.Frame:
    frame = pb.Frame()
    try:
        frame.ParseFromString(payload)
    except Exception as exc:  # google.protobuf.message.DecodeError and friends
        raise ProtocolError(f"undecodable frame payload: {exc}", reason_code="bad_payload") from exc
    return frame


class FrameDecoder:
    """Incremental decoder: feed it bytes as they arrive, get whole frames back.

    Not thread-safe; one decoder belongs to one reader.
    """

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        self._buf = bytearray()
        self._max = max_frame_bytes

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete frame."""
        return len(self._buf)

    def feed(self, data: Union[bytes, bytearray, memoryview]) -> List[pb.Frame]:
        """Append ``data`` and return every frame that is now complete, in order.

        Raises:
            ProtocolError: on bad flags, an oversized frame or an undecodable
                payload. The stream is unusable afterwards.
        """
        self._buf += data
        frames: List[pb.Frame] = []
        while len(self._buf) >= HEADER_SIZE:
            flags, length = HEADER.unpack_from(self._buf)
            if flags != 0:
                raise ProtocolError(f"unsupported frame flags {flags:#04x}", reason_code="bad_flags")
            if length > self._max:
                raise ProtocolError(
                    f"frame of {length} bytes exceeds the {self._max}-byte limit",
                    reason_code="frame_too_large",
                )
            end = HEADER_SIZE + length
            if len(self._buf) < end:
                break
            payload = bytes(self._buf[HEADER_SIZE:end])
            del self._buf[:end]
            frames.append(_parse(payload))
        return frames
