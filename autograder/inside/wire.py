"""The plain-data protocol between the grader and the process running student code.

A frame is an 8-byte length, then a JSON header, then the arrays it refers to
in NumPy's .npy format. The grader reads every frame as hostile: its size, the
nesting of its header, and each array's dtype and shape are checked before
anything is allocated, and arrays are rebuilt from the bytes received, never
unpickled. So a frame costs the grader at most about twice MAX_FRAME of memory for its
arrays, and a few times MAX_HEADER for the rest.
"""
import io
import json
import math
import os
import select
import struct
import time
from typing import Any

import numpy as np

MAX_FRAME = 32 * 2**20  # the largest reply a test needs is about 2 MB
MAX_HEADER = 2 * 2**20  # the JSON part: decoded, a few times its size in objects
MAX_SIZES = 256 * 2**10  # the line of sizes: a few thousand arrays
MAX_DEPTH = 12  # nesting of dicts and lists in a header: a tuple holding a list of tensors, in a reply, needs 10
MAX_NDIM = 8
ARRAY_KINDS = "biufc"  # bool, integers, floats, complex: plain numbers only
_LEN = struct.Struct("!Q")


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed frame."""


def encode(obj: Any) -> bytes:
    """Serialise a tree of dicts, lists, str, numbers, None and ndarrays."""
    arrays: "list[np.ndarray]" = []

    def strip(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            arrays.append(value)
            return {"__array__": len(arrays) - 1}
        if isinstance(value, dict):
            return {str(k): strip(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [strip(v) for v in value]
        return value

    header = json.dumps(strip(obj)).encode()
    blobs: "list[tuple[bytes, memoryview]]" = []  # (.npy header, data) of each array
    for array in arrays:
        if array.dtype.hasobject:
            raise ValueError("object arrays do not cross")
        array = array if array.flags.c_contiguous else array.copy(order="C")
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(buf, np.lib.format.header_data_from_array_1_0(array))
        blobs.append((buf.getvalue(), array.reshape(-1).view(np.uint8).data))  # the data, copied once, by the join
    sizes = [len(header)] + [len(npy_header) + data.nbytes for npy_header, data in blobs]
    return b"".join([json.dumps(sizes).encode(), b"\n", header, *(part for blob in blobs for part in blob)])


def load_array(blob: bytes) -> np.ndarray:
    """An .npy blob as an array, after checking that its header describes exactly these bytes."""
    f = io.BytesIO(blob)
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise ValueError(f"unsupported .npy version {version}")
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in ARRAY_KINDS:
        raise ValueError(f"dtype {dtype} is not a plain number type")
    if len(shape) > MAX_NDIM or any(not 0 <= n < 2**31 for n in shape):
        raise ValueError(f"shape {shape} is out of bounds")
    count, offset = math.prod(shape), f.tell()
    if count * dtype.itemsize != len(blob) - offset:
        raise ValueError("array header does not match its data")
    array = np.frombuffer(blob, dtype=dtype, count=count, offset=offset)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def decode(data: bytes) -> Any:
    """Inverse of encode; raises ProtocolError on anything malformed."""
    try:
        line, rest = data[: MAX_SIZES + 1].split(b"\n", 1)[0], data[data.index(b"\n") + 1 :]
        sizes = json.loads(line)
        if not (isinstance(sizes, list) and sizes and all(type(s) is int and s >= 0 for s in sizes)):
            raise ValueError("bad size list")
        if sizes[0] > MAX_HEADER:
            raise ValueError(f"header of {sizes[0]} bytes is over the {MAX_HEADER}-byte limit")
        if sum(sizes) != len(rest):
            raise ValueError("sizes do not add up")
        header = json.loads(rest[: sizes[0]])
        arrays, offset = [], sizes[0]
        for size in sizes[1:]:
            arrays.append(load_array(rest[offset : offset + size]))
            offset += size
    except (ValueError, TypeError, OSError, RecursionError) as exc:
        raise ProtocolError(f"malformed frame: {type(exc).__name__}") from None

    def restore(value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError("frame nested too deeply")
        if isinstance(value, dict):
            if set(value) == {"__array__"}:
                index = value["__array__"]
                if type(index) is not int or not 0 <= index < len(arrays):
                    raise ProtocolError("array index out of range")
                return arrays[index]
            return {k: restore(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [restore(v, depth + 1) for v in value]
        return value

    return restore(header, 0)


def _wait(fd: int, writable: bool, deadline: "float | None") -> None:
    """Block until fd is ready, or raise TimeoutError at the deadline (None: wait forever)."""
    if deadline is None:
        return
    remaining = deadline - time.monotonic()
    watched: "tuple[list[int], list[int], list[int]]" = ([], [fd], []) if writable else ([fd], [], [])
    if not any(select.select(*watched, max(remaining, 0))):
        raise TimeoutError("the other side did not answer before the deadline")


def send(fd: int, obj: Any, deadline: "float | None" = None) -> None:
    """Write one frame. With a deadline, fd must be non-blocking: a reader that stops costs a TimeoutError."""
    data = encode(obj)
    for view in (memoryview(_LEN.pack(len(data))), memoryview(data)):
        while view:
            _wait(fd, True, deadline)
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                continue


def _read_exactly(fd: int, size: int, deadline: "float | None") -> bytes:
    chunks, left = [], size
    while left:
        _wait(fd, False, deadline)
        try:
            chunk = os.read(fd, min(left, 1 << 20))
        except BlockingIOError:
            continue
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv(fd: int, deadline: "float | None" = None) -> Any:
    """Read one frame; `deadline` is a time.monotonic() value, None waits forever."""
    (size,) = _LEN.unpack(_read_exactly(fd, _LEN.size, deadline))
    if size > MAX_FRAME:
        raise ProtocolError(f"frame of {size} bytes is over the {MAX_FRAME}-byte limit")
    return decode(_read_exactly(fd, size, deadline))
