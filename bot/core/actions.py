"""Typed button actions, packed into short strings.

A button carries its action as text of at most 64 UTF-8 bytes (Telegram's callback_data limit).
Each action type is a frozen dataclass registered under a short prefix; its fields are `str`, `int`
or `bool` and are packed as ``prefix:field1:field2``. Unpacking validates everything: an unknown
prefix, a wrong field count or a value of the wrong type raises `BadAction`, which the router turns
into a friendly "this button is out of date" — never an exception in front of a member.

    @action("plan")
    @dataclass(frozen=True)
    class ShowPlan:
        plan_id: str
        part: str = "summary"

    ShowPlan("qd-387-2022").pack()  -> "plan:qd-387-2022:summary"
"""

from __future__ import annotations

import dataclasses
import re
import typing
from typing import Any, TypeVar

MAX_BYTES = 64
_INTEGER = re.compile(r"-?[0-9]{1,18}")
SEP = ":"

_REGISTRY: dict[str, type] = {}
T = TypeVar("T")


class BadAction(ValueError):
    """Button data that cannot be unpacked: stale, forged or from an older version of the bot."""


class ActionTooLong(ValueError):
    """An action would pack into more than 64 bytes: a developer or content error."""


def action(prefix: str):
    """Register a frozen dataclass as a button action under `prefix`."""
    if not prefix or SEP in prefix or prefix in _REGISTRY:
        raise ValueError(f"invalid or duplicate action prefix {prefix!r}")

    def register(cls: type[T]) -> type[T]:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__} must be a dataclass")
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if hints[f.name] not in (str, int, bool):
                raise TypeError(f"{cls.__name__}.{f.name}: only str, int and bool fields pack")
        cls._prefix = prefix  # type: ignore[attr-defined]
        cls._hints = hints  # type: ignore[attr-defined]
        cls.pack = _pack  # type: ignore[attr-defined]
        _REGISTRY[prefix] = cls
        return cls

    return register


def _encode(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value)
    if SEP in text:
        raise ValueError(f"action value may not contain {SEP!r}: {text!r}")
    return text


def _pack(self: Any) -> str:
    fields = list(dataclasses.fields(self))
    # Trailing fields left at their default are not packed (unpacking restores them): shorter
    # button data, and a default may be a value that cannot be packed, such as "".
    while fields and getattr(self, fields[-1].name) == fields[-1].default:
        fields.pop()
    parts = [self._prefix] + [_encode(getattr(self, f.name)) for f in fields]
    packed = SEP.join(parts)
    if len(packed.encode("utf-8")) > MAX_BYTES:
        raise ActionTooLong(f"action {packed!r} is longer than {MAX_BYTES} bytes")
    return packed


def fits(obj: Any) -> bool:
    """True when the action packs within the 64-byte limit (used by the content check)."""
    try:
        obj.pack()
    except (ActionTooLong, ValueError):
        return False
    return True


def _decode(raw: str, kind: type, where: str) -> Any:
    if kind is str:
        if not raw:
            raise BadAction(f"{where}: empty value")
        return raw
    if kind is int:
        # ASCII digits only: str.isdigit() also takes "²", and int() refuses "--5".
        if not _INTEGER.fullmatch(raw):
            raise BadAction(f"{where}: not a number: {raw!r}")
        return int(raw)
    if raw not in ("0", "1"):
        raise BadAction(f"{where}: not a flag: {raw!r}")
    return raw == "1"


def unpack(data: str) -> Any:
    """Turn button data back into its action object, or raise `BadAction`."""
    if not isinstance(data, str) or not data or len(data.encode("utf-8")) > MAX_BYTES:
        raise BadAction("empty or oversized button data")
    prefix, *values = data.split(SEP)
    cls = _REGISTRY.get(prefix)
    if cls is None:
        raise BadAction(f"unknown action prefix {prefix!r}")
    fields = dataclasses.fields(cls)
    required = [f for f in fields if f.default is dataclasses.MISSING]
    if not len(required) <= len(values) <= len(fields):
        raise BadAction(f"{prefix}: expected {len(fields)} values, got {len(values)}")
    kwargs = {
        f.name: _decode(raw, cls._hints[f.name], f"{prefix}.{f.name}")
        for f, raw in zip(fields, values, strict=False)
    }
    return cls(**kwargs)
