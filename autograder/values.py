"""What a student's return value looks like once it has crossed to the grader.

`describe` runs next to the student code and turns any value into plain data
(wire.py); `restore` runs in the grader and turns that into the small types
below, which the checks inspect. Nothing the student returns is ever called.
"""
import sys
from dataclasses import dataclass

import numpy as np

MAX_ITEMS = 10_000  # a list longer than any sequence in the tests is cut here


@dataclass
class TensorValue:
    """A torch.Tensor as the grader sees it: its data (None on meta) and facts."""

    array: "np.ndarray | None"
    shape: tuple
    dtype: str
    device: str
    requires_grad: bool


@dataclass
class SequenceValue:
    """A list or tuple (of arrays, usually)."""

    type: str
    items: list


@dataclass
class OtherValue:
    """Anything else: only its type name crosses."""

    type: str


def describe(value, depth=0):
    """Plain-data description of `value` (called in the student's process)."""
    if isinstance(value, np.ndarray):
        return {"kind": "other", "type": "ndarray[object]"} if value.dtype.hasobject else {"kind": "ndarray", "array": value}
    if isinstance(value, (bool, int, float, np.number)):
        return {"kind": "scalar", "value": float(value)}
    if isinstance(value, str):
        return {"kind": "str", "value": value[:200]}
    torch = sys.modules.get("torch")  # the grader never imports torch; the student's process has
    if torch is not None and isinstance(value, torch.Tensor):
        data = None
        if value.device.type != "meta" and not value.is_complex():
            data = value.detach().cpu()
            data = (data.float() if data.dtype == torch.bfloat16 else data).numpy()
        return {
            "kind": "tensor",
            "array": data,
            "shape": list(value.shape),
            "dtype": str(value.dtype).removeprefix("torch."),
            "device": str(value.device),
            "requires_grad": bool(value.requires_grad),
        }
    if isinstance(value, dict) and depth < 3:
        return {"kind": "dict", "items": {str(k): describe(v, depth + 1) for k, v in list(value.items())[:100]}}
    if isinstance(value, (list, tuple)) and depth < 3:
        return {"kind": "sequence", "type": type(value).__name__, "items": [describe(v, depth + 1) for v in value[:MAX_ITEMS]]}
    return {"kind": "other", "type": type(value).__name__}


def restore(data):
    """Inverse of describe, in the grader; malformed data becomes OtherValue."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == "ndarray" and isinstance(data.get("array"), np.ndarray):
        return data["array"]
    if kind == "scalar" and isinstance(data.get("value"), (int, float)):
        return float(data["value"])
    if kind == "str" and isinstance(data.get("value"), str):
        return data["value"]
    if kind == "tensor":
        array = data.get("array")
        return TensorValue(
            array=array if isinstance(array, np.ndarray) else None,
            shape=tuple(data.get("shape") or ()),
            dtype=str(data.get("dtype")),
            device=str(data.get("device")),
            requires_grad=bool(data.get("requires_grad")),
        )
    if kind == "dict" and isinstance(data.get("items"), dict):
        return {k: restore(v) for k, v in data["items"].items()}
    if kind == "sequence" and isinstance(data.get("items"), list):
        return SequenceValue(str(data.get("type")), [restore(v) for v in data["items"]])
    return OtherValue(str(data.get("type", "?")) if isinstance(data, dict) else "?")


def type_name(value):
    """The student's type, as a message should name it."""
    return {
        np.ndarray: "np.ndarray",
        TensorValue: "torch.Tensor",
        dict: "dict",
        float: "número",
    }.get(type(value)) or getattr(value, "type", type(value).__name__)
