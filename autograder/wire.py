"""The plain-data protocol between the grader and the process running student code.

A frame is an 8-byte length, then a JSON header, then the arrays it refers to
in NumPy's .npy format. Arrays are read with allow_pickle=False, so nothing that
carries behaviour (pickles, object arrays) can cross from student code.
"""
import io
import json
import os
import select
import struct
import time

import numpy as np

MAX_FRAME = 512 * 2**20  # a reply larger than this is refused, not buffered
_LEN = struct.Struct("!Q")


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed frame."""


def encode(obj):
    """Serialise a tree of dicts, lists, str, numbers, None and ndarrays."""
    arrays = []

    def strip(value):
        if isinstance(value, np.ndarray):
            arrays.append(value)
            return {"__array__": len(arrays) - 1}
        if isinstance(value, dict):
            return {str(k): strip(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [strip(v) for v in value]
        return value

    header = json.dumps(strip(obj)).encode()
    blobs = []
    for array in arrays:
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
        blobs.append(buf.getvalue())
    sizes = [len(header)] + [len(b) for b in blobs]
    return json.dumps(sizes).encode() + b"\n" + header + b"".join(blobs)


def decode(data):
    """Inverse of encode; raises ProtocolError on anything malformed."""
    try:
        line, rest = data.split(b"\n", 1)
        sizes = json.loads(line)
        if not (isinstance(sizes, list) and sizes and all(isinstance(s, int) and s >= 0 for s in sizes)):
            raise ValueError("bad size list")
        if sum(sizes) != len(rest):
            raise ValueError("sizes do not add up")
        header = json.loads(rest[: sizes[0]])
        arrays, offset = [], sizes[0]
        for size in sizes[1:]:
            arrays.append(np.load(io.BytesIO(rest[offset : offset + size]), allow_pickle=False))
            offset += size
    except (ValueError, TypeError, OSError) as exc:
        raise ProtocolError(f"malformed frame: {exc}") from None

    def restore(value):
        if isinstance(value, dict):
            if set(value) == {"__array__"}:
                index = value["__array__"]
                if not isinstance(index, int) or not 0 <= index < len(arrays):
                    raise ProtocolError("array index out of range")
                return arrays[index]
            return {k: restore(v) for k, v in value.items()}
        if isinstance(value, list):
            return [restore(v) for v in value]
        return value

    return restore(header)


def send(fd, obj):
    data = encode(obj)
    view = memoryview(_LEN.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd, size, deadline):
    chunks, left = [], size
    while left:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError("no reply before the deadline")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv(fd, deadline=None):
    """Read one frame; `deadline` is a time.monotonic() value, None waits forever."""
    (size,) = _LEN.unpack(_read_exactly(fd, _LEN.size, deadline))
    if size > MAX_FRAME:
        raise ProtocolError(f"frame of {size} bytes is over the {MAX_FRAME}-byte limit")
    return decode(_read_exactly(fd, size, deadline))
