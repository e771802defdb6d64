"""The protocol between grader and student process carries plain data only."""
import io
import os
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder import values, wire

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
