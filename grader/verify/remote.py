"""The grading side of a verification child: its variables and functions as a namespace the checks read.

A :class:`RemoteNamespace` looks like the ``globals()`` a test cell passes to
the checks, so the same checks run here unchanged: reading a variable asks
the child for its value, and calling one of the student's functions sends
the arguments to the child and waits for the result. Only data crosses
(:mod:`.transport`); every comparison happens in this process. Names the
grader supplies itself (``trusted``: the inputs it chose) are never asked
for. Each answer is kept in a transcript, so a run on other inputs can be
compared with the run on the notebook's own.
"""

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any, NoReturn

import numpy as np

from .transport import Decoder, Encoder, Malformed

MAX_MESSAGE = 256 * 2**20


class Unanswered(Exception):
    """The child gave no usable answer (it hung, crashed or sent garbage); the check that asked fails."""


def student_exception(type_name: object, message: object) -> "StudentError":
    """An exception standing for what the student's function raised in the child, under its type's name."""
    name = (
        type_name if isinstance(type_name, str) and type_name.isidentifier() and len(type_name) <= 60 else "Exception"
    )
    return type(name, (StudentError,), {})(str(message)[:500])


class StudentError(Exception):
    """Raised in this process in place of an exception the student's code raised in the child."""


class Session:
    """One child's connection: requests out, answers in, within per-answer and overall deadlines."""

    def __init__(
        self,
        results: Connection,
        requests: Connection,
        answer_timeout: float,
        deadline: float,
        on_dead: Callable[[], object] | None = None,
    ) -> None:
        self.results, self.requests = results, requests
        self.answer_timeout, self.deadline = answer_timeout, deadline
        self.encoder = Encoder()
        self.decoder = Decoder(function=lambda handle, name: RemoteFunction(self, handle, name), mine=self.encoder)
        self.encoder.received = self.decoder
        self.transcript: list[Any] = []
        self.dead = ""
        self._on_dead = on_dead

    def _die(self, why: str) -> NoReturn:
        self.dead = why
        if self._on_dead:
            self._on_dead()
        raise Unanswered(why)

    def receive(self, timeout: float) -> Any:
        """The next message from the child, parsed; Unanswered if none comes in time."""
        if self.dead:
            raise Unanswered(self.dead)
        wait = min(timeout, self.deadline - time.monotonic())
        try:
            if wait <= 0 or not self.results.poll(wait):
                self._die(f"no answer within {timeout:g} s")
            return json.loads(self.results.recv_bytes(MAX_MESSAGE))
        except (EOFError, OSError):
            self._die("the run ended (a crash or os._exit)")
        except (ValueError, RecursionError):
            self._die("an unreadable answer")

    def ask(self, request: Mapping[str, Any]) -> Any:
        """The decoded value the child answers ``request`` with; KeyError for a missing name."""
        if self.dead:
            raise Unanswered(self.dead)
        try:
            self.requests.send_bytes(json.dumps(request).encode())
        except (OSError, ValueError):
            self._die("the run ended (a crash or os._exit)")
        response = self.receive(self.answer_timeout)
        if not isinstance(response, dict):
            self._die("an unreadable answer")
        if response.get("missing") is True:
            raise KeyError(request.get("name"))
        if "raised" in response:
            raise student_exception(response["raised"], response.get("message", ""))
        if "value" not in response:
            raise Unanswered(str(response.get("error", "an unreadable answer"))[:300])
        try:
            value = self.decoder.decode(response["value"])
        except (Malformed, RecursionError, TypeError, ValueError) as error:
            self._die(f"an unreadable answer ({error})")
        return value


class RemoteFunction:
    """A student function living in the child; calling it asks the child to call it."""

    def __init__(self, session: Session, handle: int, name: str) -> None:
        self._session, self._handle = session, handle
        self.__name__ = name if name.isidentifier() else "function"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        encode = self._session.encoder.encode
        result = self._session.ask(
            {
                "op": "call",
                "function": self._handle,
                "args": [encode(a) for a in args],
                "kwargs": {str(k): encode(v) for k, v in kwargs.items()},
            }
        )
        self._session.transcript.append(result)
        return result

    def __repr__(self) -> str:
        return f"<function {self.__name__} (student's)>"


class RemoteNamespace(Mapping[str, Any]):
    """The child's ``globals()`` for the checks, with ``trusted`` names taken from the grader instead."""

    def __init__(self, session: Session, trusted: Mapping[str, Any] | None = None) -> None:
        self.session = session
        self.trusted = dict(trusted or {})
        self._cache: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name in self.trusted:
            return self.trusted[name]
        if name not in self._cache:
            self._cache[name] = self.session.ask({"op": "get", "name": name})
        self.session.transcript.append(self._cache[name])
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.trusted)

    def __len__(self) -> int:
        return len(self.trusted)


def flatten(value: object, out: list[float] | None = None, depth: int = 0) -> list[float]:
    """The numbers in ``value`` (arrays, nested lists, tuples and dicts) as one float list, for comparing runs."""
    out = [] if out is None else out
    if depth > 30 or len(out) > 10_000_000:
        return out
    if isinstance(value, np.ndarray):
        out.extend(np.asarray(value, dtype=float).ravel().tolist())
    elif isinstance(value, (bool, int, float, np.number)):
        out.append(float(value))
    elif isinstance(value, (list, tuple)):
        out.append(float(len(value)))
        for item in value:
            flatten(item, out, depth + 1)
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            flatten(value[key], out, depth + 1)
    return out


def same_answers(these: Sequence[Any], those: Sequence[Any]) -> bool:
    """True when every answer in ``these`` equals the answer at the same place in ``those``, and some are arrays."""
    if not these or len(these) > len(those):
        return False
    substantial = False
    for mine, theirs in zip(these, those):
        a, b = np.asarray(flatten(mine)), np.asarray(flatten(theirs))
        if a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
            return False
        substantial = substantial or a.size > 1
    return substantial
