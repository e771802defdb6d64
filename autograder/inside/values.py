"""What a student's return value looks like once it has crossed to the grader.

`describe` runs next to the student code and turns any value into plain data
(wire.py); `restore` runs in the grader and turns that into the small types
below, which the checks inspect. Nothing the student returns is ever called,
and `restore` bounds what it keeps: a forged frame gets no further than a
well-behaved one.
"""
import re
import sys
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

MAX_ITEMS = 10_000  # a list longer than any sequence in the tests is cut here
MAX_KEYS = 100
MAX_DEPTH = 4
MAX_TEXT = 200


@dataclass
class TensorValue:
    """A torch.Tensor as the grader sees it: its data (None on meta) and facts."""

    array: "np.ndarray | None"
    shape: "tuple[int, ...]"
    dtype: str
    device: str
    requires_grad: bool


@dataclass
class SequenceValue:
    """A list or tuple (of arrays, usually)."""

    type: str
    items: "list[Restored]"


@dataclass
class OtherValue:
    """Anything else: only its type name crosses."""

    type: str


# A student's value as restore gives it to the grader (and the checks inspect it).
Restored: TypeAlias = "np.ndarray | float | str | TensorValue | SequenceValue | OtherValue | dict[str, Restored]"


def describe(value: object, depth: int = 0) -> "dict[str, Any]":
    """Plain-data description of `value` (called in the student's process)."""
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            return {"kind": "other", "type": "ndarray[object]"}
        return {"kind": "ndarray", "array": value}
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
        items = [describe(v, depth + 1) for v in value[:MAX_ITEMS]]
        return {"kind": "sequence", "type": type(value).__name__, "items": items}
    return {"kind": "other", "type": type(value).__name__}


def restore(data: Any, depth: int = 0) -> Restored:
    """Inverse of describe, in the grader; malformed or oversized data becomes OtherValue."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == "ndarray" and isinstance(data.get("array"), np.ndarray):
        return data["array"]
    if kind == "scalar" and isinstance(data.get("value"), (int, float)):
        return float(data["value"])
    if kind == "str" and isinstance(data.get("value"), str):
        return data["value"][:MAX_TEXT]
    if kind == "tensor":
        array, shape = data.get("array"), data.get("shape")
        valid_shape = isinstance(shape, list) and len(shape) <= 8 and all(type(n) is int for n in shape)
        return TensorValue(
            array=array if isinstance(array, np.ndarray) else None,
            shape=tuple(shape) if valid_shape else (),
            dtype=text(data.get("dtype"), 20),
            device=text(data.get("device"), 20),
            requires_grad=data.get("requires_grad") is True,
        )
    items = data.get("items") if kind and depth < MAX_DEPTH else None  # deeper than a value needs: not kept
    if kind == "dict" and isinstance(items, dict) and len(items) <= MAX_KEYS:
        return {text(k, 40): restore(v, depth + 1) for k, v in items.items()}
    if kind == "sequence" and isinstance(items, list) and len(items) <= MAX_ITEMS:
        return SequenceValue(text(data.get("type"), 40), [restore(v, depth + 1) for v in items])
    return OtherValue(text(data.get("type", "?"), 40) if isinstance(data, dict) else "?")


# A number with a fractional part or an exponent, or a long run of digits:
# what array contents look like once printed.
_NUMBERS = re.compile(r"[-+]?(\d*\.\d+|\d+\.\d*)([eE][-+]?\d+)?|[-+]?\d+[eE][-+]?\d+|\d{7,}")


def printable(value: object) -> str:
    """`value` as a string that can be written as UTF-8 (a lone surrogate, from a file name or an
    exception, becomes its escape instead of breaking the report)."""
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


def text(value: object, limit: int = MAX_TEXT) -> str:
    """A string from the student's side, made safe to show: short, one line, no printed numbers."""
    value = printable(str(value)[: 4 * limit])  # cut first: a 32 MB string must not cost a split
    value = _NUMBERS.sub("…", " ".join(value.split()))
    return value if len(value) <= limit else value[: limit - 1] + "…"


def type_name(value: object) -> str:
    """The student's type, as a message should name it."""
    names: "dict[type, str]" = {
        np.ndarray: "np.ndarray",
        TensorValue: "torch.Tensor",
        dict: "dict",
        float: "número",
    }
    return names.get(type(value)) or str(getattr(value, "type", type(value).__name__))
