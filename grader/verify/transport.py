"""Plain-JSON values between the grading process and an untrusted verification child.

The child can send anything, so the grading side never unpickles: it parses
JSON and accepts only the structure below, within bounds, rebuilding arrays,
lists, tuples and dicts itself. Identity survives the trip: an object sent
twice (``best`` and ``restarts[3]``, or one gamma appended every iteration)
arrives as one object, and an object that came from the other side (an argument
the student's function returns) goes back as that side's own object. A value that is not data (a module, a student's
class instance) arrives as an :class:`Opaque` placeholder whose type name the
checks' messages show; a function arrives as a handle the caller can call.

Encoded forms (one key says which):

====================  ===============================================
``{"none": 0}``       None
``{"bool": b}``       bool and NumPy bool
``{"int": i}``        int and NumPy integers
``{"float": x}``      float and NumPy floats; ``"nan"``, ``"inf"``, ``"-inf"`` as strings
``{"str": s}``        str
``{"array": [shape], "kind": "f"|"i"|"b", "data": base64, "id": n}``
                      little-endian float64, int64 or one byte per bool
``{"list"|"tuple": [...], "id": n}``
``{"dict": [[key, value], ...], "id": n}``   keys str or int
``{"rng": state, "id": n}``                  numpy.random.Generator (its bit generator's state)
``{"ref": n}``        an object sent before under id n
``{"yours": n}``      the object the receiver itself sent under id n
``{"function": n, "name": s}``               a callable, called back through handle n
``{"opaque": type name}``                    anything else
====================  ===============================================
"""

import base64
import binascii
import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

#: One encoded value, as in the table above (its JSON object).
Encoded = dict[str, Any]
#: What ``json.loads`` gave: anything, until validated.
JSON = Any

#: Bounds on what one message may hold (far above any variable of these notebooks).
MAX_ELEMENTS = 4_000_000
MAX_DEPTH = 24
MAX_ENTRIES = 200_000
MAX_STRING = 100_000

_T = TypeVar("_T")


class Malformed(ValueError):
    """A message does not have the documented structure or exceeds its bounds."""


class Opaque:
    """Stands for a value that is not data; its class is named after the original's type."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def opaque(type_name: object) -> Opaque:
    name = str(type_name)[:60]
    if not name.isidentifier():
        name = "object"
    return type(name, (Opaque,), {})()


class Encoder:
    """Turns values into the JSON forms above, remembering what it sent (one encoder per connection side).

    ``functions`` collects the callables sent as handles (the child keeps them
    to serve calls); ``received`` is this side's :class:`Decoder`, whose
    objects go back as ``{"yours": n}``.
    """

    def __init__(self) -> None:
        self._sent: dict[int, tuple[int, object]] = {}  # id(obj) -> (n, obj): keeps obj alive so ids stay unique
        self._numbered: list[object] = []
        self.functions: dict[
            object, Callable[..., Any]
        ] = {}  # handle (an int; a request may name anything) -> callable
        self.received: Decoder | None = None

    def sent(self, number: object) -> object:
        """The object sent under ``number``, or None."""
        return self._numbered[number] if isinstance(number, int) and 0 <= number < len(self._numbered) else None

    def encode(self, value: object, depth: int = 0) -> Encoded:
        if depth > MAX_DEPTH:
            return {"opaque": "too deeply nested"}
        key = id(value)
        if self.received is not None and key in self.received.origin:
            return {"yours": self.received.origin[key][0]}
        if key in self._sent:
            return {"ref": self._sent[key][0]}
        if value is None:
            return {"none": 0}
        if isinstance(value, (bool, np.bool_)):
            return {"bool": bool(value)}
        if isinstance(value, (int, np.integer)):
            return {"int": int(value)} if abs(int(value)) < 2**63 else {"float": _float(float(value))}
        if isinstance(value, (float, np.floating)):
            return {"float": _float(float(value))}
        if isinstance(value, str):
            return {"str": value[:MAX_STRING]}
        if isinstance(value, np.ndarray):
            return self._remember(value, self._array(value))
        if isinstance(value, (list, tuple)):
            kind = "tuple" if isinstance(value, tuple) else "list"
            entry = self._remember(value, {kind: None})
            entry[kind] = [self.encode(item, depth + 1) for item in list(value)[:MAX_ENTRIES]]
            return entry
        if isinstance(value, dict):
            entry = self._remember(value, {"dict": None})
            entry["dict"] = [
                [k if isinstance(k, str) else int(k), self.encode(v, depth + 1)]
                for k, v in list(value.items())[:MAX_ENTRIES]
                if isinstance(k, (str, int))
            ]
            return entry
        if isinstance(value, np.random.Generator):
            return self._remember(value, {"rng": value.bit_generator.state})
        if callable(value):
            handle = len(self.functions)
            self.functions[handle] = value
            return self._remember(value, {"function": handle, "name": str(getattr(value, "__name__", "function"))[:80]})
        return {"opaque": type(value).__name__}

    def _remember(self, value: object, entry: Encoded) -> Encoded:
        number = len(self._numbered)
        self._sent[id(value)] = (number, value)
        self._numbered.append(value)
        entry["id"] = number
        return entry

    @staticmethod
    def _array(value: np.ndarray) -> Encoded:
        if value.size > MAX_ELEMENTS or value.ndim > 8:
            return {"opaque": "array too large"}
        small_unsigned = value.dtype.kind == "u" and value.dtype.itemsize < 8
        kind = value.dtype.kind if value.dtype.kind in "bi" else ("i" if small_unsigned else "f")
        try:
            raw = np.ascontiguousarray(value, dtype=_DTYPES[kind])
        except (TypeError, ValueError, OverflowError):
            return {"opaque": "array of objects"}
        return {"array": list(value.shape), "kind": kind, "data": base64.b64encode(raw.tobytes()).decode("ascii")}


#: The wire type of each array kind: fixed, so the receiver never takes a type from the sender.
_DTYPES: dict[str, np.dtype[Any]] = {"f": np.dtype("<f8"), "i": np.dtype("<i8"), "b": np.dtype("u1")}


def _float(value: float) -> float | str:
    return value if math.isfinite(value) else ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))


_SPECIAL = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _require(condition: object, what: str) -> None:
    if not condition:
        raise Malformed(what)


class Decoder:
    """The inverse of :class:`Encoder`, validating everything; one per connection side.

    ``function`` builds the stand-in for a function handle; ``mine`` is this
    side's :class:`Encoder`, for ``{"yours": n}``. ``origin`` maps ``id()`` of
    every decoded container to (its number, itself).
    """

    def __init__(self, function: Callable[[int, str], object] | None = None, mine: Encoder | None = None) -> None:
        self._objects: dict[int, Any] = {}
        self._function = function
        self._mine = mine
        self.origin: dict[int, tuple[int, object]] = {}
        self._budget = MAX_ELEMENTS

    def decode(self, entry: JSON, depth: int = 0) -> Any:
        _require(isinstance(entry, dict) and len(entry) in (1, 2, 3, 4), "value is not an encoded object")
        _require(depth <= MAX_DEPTH, "too deeply nested")
        if "ref" in entry:
            _require(entry["ref"] in self._objects, "reference to nothing sent")
            return self._objects[entry["ref"]]
        if "yours" in entry:
            sent = self._mine.sent(entry["yours"]) if self._mine is not None else None
            _require(sent is not None, "bad own reference")
            return sent
        if "none" in entry:
            return None
        if "bool" in entry:
            _require(isinstance(entry["bool"], bool), "bad bool")
            return entry["bool"]
        if "int" in entry:
            _require(isinstance(entry["int"], int) and not isinstance(entry["int"], bool), "bad int")
            return entry["int"]
        if "float" in entry:
            return self._number(entry["float"])
        if "str" in entry:
            _require(isinstance(entry["str"], str) and len(entry["str"]) <= MAX_STRING, "bad string")
            return entry["str"]
        if "opaque" in entry:
            return opaque(entry["opaque"])
        number = entry.get("id")
        _require(isinstance(number, int) and number not in self._objects, "bad id")
        if "array" in entry:
            return self._keep(number, self._decode_array(entry))
        if "list" in entry or "tuple" in entry:
            items = entry.get("list", entry.get("tuple"))
            _require(isinstance(items, list) and len(items) <= MAX_ENTRIES, "bad list")
            if "list" in entry:
                out: list[Any] = self._keep(number, [])
                out.extend(self.decode(item, depth + 1) for item in items)
                return out
            return self._keep(number, tuple(self.decode(item, depth + 1) for item in items))
        if "dict" in entry:
            items = entry["dict"]
            _require(isinstance(items, list) and len(items) <= MAX_ENTRIES, "bad dict")
            mapping: dict[str | int, Any] = self._keep(number, {})
            for pair in items:
                _require(isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (str, int)), "bad item")
                mapping[pair[0]] = self.decode(pair[1], depth + 1)
            return mapping
        if "rng" in entry:
            generator = np.random.default_rng()
            try:
                generator.bit_generator.state = entry["rng"]
            except (TypeError, ValueError, KeyError) as error:
                raise Malformed(f"bad generator state ({error})") from None
            return self._keep(number, generator)
        if "function" in entry:
            _require(isinstance(entry["function"], int) and isinstance(entry.get("name"), str), "bad function")
            if self._function is None:
                raise Malformed("functions are not accepted here")
            return self._keep(number, self._function(entry["function"], entry["name"][:80]))
        raise Malformed("unknown kind of value")

    def _keep(self, number: int, value: _T) -> _T:
        self._objects[number] = value
        self.origin[id(value)] = (number, value)
        return value

    def _number(self, value: JSON) -> float:
        if isinstance(value, str):
            _require(value in _SPECIAL, "bad float")
            return _SPECIAL[value]
        _require(isinstance(value, (int, float)) and not isinstance(value, bool), "bad float")
        return float(value)

    def _decode_array(self, entry: JSON) -> np.ndarray:
        shape, kind, data = entry["array"], entry.get("kind"), entry.get("data")
        _require(isinstance(shape, list) and len(shape) <= 8, "bad shape")
        _require(
            all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= MAX_ELEMENTS for d in shape),
            "bad dimension",
        )
        size = math.prod(shape)
        _require(kind in _DTYPES, "bad array kind")
        _require(isinstance(data, str) and size <= self._budget, "size mismatch")
        dtype = _DTYPES[kind]
        _require(len(data) == 4 * math.ceil(size * dtype.itemsize / 3), "size mismatch")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise Malformed("bad array data") from None
        _require(len(raw) == size * dtype.itemsize, "size mismatch")
        self._budget -= size
        values = np.frombuffer(raw, dtype=dtype).reshape(shape)
        if kind == "b":
            _require(bool((values <= 1).all()), "bad bool array")
            return values.astype(bool)
        return values.astype(float if kind == "f" else np.int64)  # a writable native copy
