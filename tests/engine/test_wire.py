"""The protocol between grader and student process carries plain data only."""
import io
import os
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder.inside import values, wire

arrays = hnp.arrays(hnp.floating_dtypes() | hnp.integer_dtypes(), hnp.array_shapes(min_dims=0, max_dims=3))


@given(arrays, st.text(max_size=20), st.floats(allow_nan=False))
def test_round_trip(array, text, number):
    tree = {"a": array, "list": [array, {"t": text}], "n": number, "none": None}
    back = wire.decode(wire.encode(tree))
    np.testing.assert_array_equal(back["a"], array)
    assert back["a"].dtype == array.dtype
    assert back["list"][1] == {"t": text} and back["n"] == number and back["none"] is None


def test_pickled_object_arrays_are_refused():
    buf = io.BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    frame = b"[%d, %d]\n" % (len(b'{"__array__": 0}'), len(buf.getvalue())) + b'{"__array__": 0}' + buf.getvalue()
    with pytest.raises(wire.ProtocolError):
        wire.decode(frame)


@pytest.mark.parametrize("frame", [b"", b"garbage", b"[5]\n{}", b'[2]\n{}junk', pickle.dumps({"x": 1}),
                                   b'[16]\n{"__array__": 3}'])
def test_malformed_frames_are_refused(frame):
    with pytest.raises(wire.ProtocolError):
        wire.decode(frame)


def test_oversized_frames_are_refused_before_reading_them():
    r, w = os.pipe()
    os.write(w, wire._LEN.pack(wire.MAX_FRAME + 1))
    with pytest.raises(wire.ProtocolError):
        wire.recv(r)
    os.close(r)
    os.close(w)


def test_values_cross_as_plain_types():
    described = values.describe({"W": np.eye(2), "items": [np.ones(2)], "f": print, "s": "x", "obj": np.array([None])})
    back = values.restore(wire.decode(wire.encode(described)))
    assert isinstance(back["W"], np.ndarray)
    assert isinstance(back["items"], values.SequenceValue)
    assert back["f"] == values.OtherValue("builtin_function_or_method")
    assert back["s"] == "x" and back["obj"] == values.OtherValue("ndarray[object]")
    assert values.restore({"kind": "ndarray", "array": "not an array"}) == values.OtherValue("?")


def npy(header: str, data: bytes = b"") -> bytes:
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + data


@pytest.mark.parametrize("blob", [
    npy("{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }", bytes(64)),  # a lie about its size
    npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", bytes(8)),  # objects
    npy("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", bytes(8)),  # records
    npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,) * 9, }", bytes(8)),  # too many dimensions
    npy("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 2**40), }"),  # an absurd dimension
    b"\x93NUMPY\x03\x00" + bytes(64),  # an unknown version
])
def test_npy_blobs_must_describe_plain_numbers_exactly(blob):
    with pytest.raises(ValueError):
        wire.load_array(blob)


def test_a_plain_npy_blob_loads_as_a_writable_array():
    array = wire.load_array(npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", np.arange(6.0).tobytes()))
    np.testing.assert_array_equal(array, np.arange(6.0).reshape(2, 3, order="F"))
    array[0, 0] = 7  # a copy, not a view of the frame


def test_deeply_nested_headers_are_refused():
    deep = "[" * 100_000 + "]" * 100_000
    frame = f"[{len(deep)}]\n".encode() + deep.encode()
    with pytest.raises(wire.ProtocolError):
        wire.decode(frame)
    value = 1
    for _ in range(wire.MAX_DEPTH - 1):  # (the reply's own dict is one level)
        value = [value]
    assert wire.decode(json_frame({"ok": True, "value": value}))  # control: as deep as allowed, kept
    with pytest.raises(wire.ProtocolError):
        wire.decode(json_frame({"ok": True, "value": [value]}))


def json_frame(obj):
    import json

    head = json.dumps(obj).encode()
    return f"[{len(head)}]\n".encode() + head


def test_restore_bounds_what_it_keeps():
    scalar = {"kind": "scalar", "value": 1.0}
    long_list = {"kind": "sequence", "type": "list", "items": [scalar] * (values.MAX_ITEMS + 1)}
    assert isinstance(values.restore(long_list), values.OtherValue)
    deep = {"kind": "scalar", "value": 1.0}
    for _ in range(values.MAX_DEPTH + 2):
        deep = {"kind": "sequence", "type": "list", "items": [deep]}
    assert "OtherValue" in repr(values.restore(deep))
    assert len(values.restore({"kind": "str", "value": "x" * 10_000})) == values.MAX_TEXT


def test_student_text_is_one_short_line_without_printed_numbers():
    text = values.text("ValueError: shapes (10,512) and (4,4) differ\n[[0.12345 -1.5e-3]\n [1234567 3]]", 80)
    assert "\n" not in text and len(text) <= 80
    assert "(10,512)" in text and "0.12345" not in text and "1.5e-3" not in text and "1234567" not in text


def test_writes_have_a_deadline_when_nobody_reads():
    import time

    r, w = os.pipe()
    os.set_blocking(w, False)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        wire.send(w, {"X": np.zeros(10**6)}, deadline=time.monotonic() + 0.3)
    assert time.monotonic() - start < 2
    os.close(r)
    os.close(w)
