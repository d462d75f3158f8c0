"""Plain-JSON transport of the EM cell's variables out of the untrusted child.

The child can send anything, so the grading side never unpickles: it parses
JSON (numbers, strings, lists, dicts only), accepts only the structure below
and bounded sizes, and rebuilds float arrays itself. A value the child could
not turn into numbers travels as its type name and arrives as a string, which
the checks reject with their usual "should be numbers" message.

Encoded value: ``{"shape": [...], "values": [flat floats]}`` or ``{"type": name}``.
"""

import math

import numpy as np

#: Largest array accepted from a child, in elements (far above any EM variable of these notebooks).
MAX_ELEMENTS = 2_000_000
MAX_DIMENSIONS = 4
MAX_ENTRIES = 100_000


class Malformed(ValueError):
    """The child's message does not have the documented structure."""


def encode(value):
    """``value`` as float array data, or its type name when it is not numbers."""
    try:
        array = np.array(value, dtype=float)
    except Exception:  # anything the student's object raises while being converted
        return {"type": type(value).__name__}
    if array.size > MAX_ELEMENTS or array.ndim > MAX_DIMENSIONS:
        return {"type": f"{type(value).__name__} too large"}
    return {"shape": list(array.shape), "values": array.ravel().tolist()}


def encode_list(value, entry=encode):
    """A list or tuple entry by entry, with which entries are the same object (aliasing matters to the checks)."""
    if not isinstance(value, (list, tuple)):
        return {"not_a_list": encode(value)}
    entries = list(value)[:MAX_ENTRIES]
    first_seen = {}
    same_as = [first_seen.setdefault(id(item), index) for index, item in enumerate(entries)]
    return {"kind": type(value).__name__, "entries": [entry(item) for item in entries], "same_as": same_as}


def encode_parameters(entry):
    """A params_history entry: the (mu, spread, pi) triple part by part."""
    if isinstance(entry, (list, tuple)) and len(entry) == 3:
        return {"parts": [encode(part) for part in entry]}
    return {"whole": encode(entry)}


def _require(condition, what):
    if not condition:
        raise Malformed(what)


def _is_number(item):
    return isinstance(item, (int, float)) and not isinstance(item, bool)


def decode(encoded):
    """The float array (or placeholder string) an :func:`encode` result stands for."""
    _require(isinstance(encoded, dict), "value is not an object")
    if "type" in encoded:
        _require(isinstance(encoded["type"], str), "type is not a string")
        return f"<{encoded['type'][:60]}>"
    shape, values = encoded.get("shape"), encoded.get("values")
    _require(isinstance(shape, list) and len(shape) <= MAX_DIMENSIONS, "bad shape")
    _require(all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= MAX_ELEMENTS for d in shape),
             "bad dimension")
    size = math.prod(shape)
    _require(size <= MAX_ELEMENTS and isinstance(values, list) and len(values) == size, "size mismatch")
    _require(all(_is_number(v) for v in values), "non-numeric value")
    return np.array(values, dtype=float).reshape(shape)


def decode_list(encoded, entry=decode):
    """A list from :func:`encode_list`, entries that were one object in the child again one object."""
    _require(isinstance(encoded, dict), "list is not an object")
    if "not_a_list" in encoded:
        return decode(encoded["not_a_list"])
    entries, same_as = encoded.get("entries"), encoded.get("same_as")
    _require(isinstance(entries, list) and isinstance(same_as, list) and len(entries) == len(same_as)
             and len(entries) <= MAX_ENTRIES, "bad list")
    out = []
    for index, (item, first) in enumerate(zip(entries, same_as)):
        _require(isinstance(first, int) and 0 <= first <= index, "bad alias")
        out.append(out[first] if first < index else entry(item))
    return tuple(out) if encoded.get("kind") == "tuple" else out


def decode_parameters(encoded):
    _require(isinstance(encoded, dict), "entry is not an object")
    if "parts" in encoded:
        _require(isinstance(encoded["parts"], list) and len(encoded["parts"]) == 3, "bad parts")
        return tuple(decode(part) for part in encoded["parts"])
    return decode(encoded.get("whole"))
