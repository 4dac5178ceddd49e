"""What counts as text in a request, in every service: no control characters, and a
name has a letter. Both rules are stated in the OpenAPI schema as patterns (ECMA-262
and Python read them alike), so that clients and fuzzers know them, and the server
enforces exactly those patterns, with a message that says what is wrong.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from annotated_types import MaxLen
from pydantic import AfterValidator, Field
from pydantic.fields import FieldInfo

# C0 and C1 control characters and DEL; tab, line feed and carriage return stay (notes
# are written in lines). A NUL in a name ends it early in some readers and not others.
_CONTROL = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"
NO_CONTROL_PATTERN = f"^[^{_CONTROL}]*$"
_CONTROL_CHARACTER = re.compile(f"[{_CONTROL}]")

# What a request model strips (pydantic's str_strip_whitespace: Unicode White_Space, not
# Python's str.isspace), control characters among them, before it counts the length or
# looks for control characters.
_STRIPPED = (
    "\\t\\n\\u000b\\u000c\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a"
    "\\u2028\\u2029\\u202f\\u205f\\u3000"
)

# Letters of the scripts names are written in here and among the persons met: Latin
# (with Vietnamese), Greek, Cyrillic, Arabic, Devanagari, Thai, Lao, Myanmar, Khmer,
# Hangul and the CJK ideographs and kana. A name part without one ("???", "{{7*7}}")
# names no one.
_LETTERS = (
    "A-Za-z\\u00aa\\u00b5\\u00ba\\u00c0-\\u00d6\\u00d8-\\u00f6\\u00f8-\\u024f"
    "\\u0370-\\u03ff\\u0400-\\u04ff\\u0620-\\u064a\\u0904-\\u0939"
    "\\u0e01-\\u0e30\\u0e81-\\u0eb0\\u1000-\\u102a\\u1780-\\u17b3"
    "\\u1e00-\\u1eff\\u3041-\\u30ff\\u4e00-\\u9fff\\uac00-\\ud7a3"
)
# Names are one line: no control character at all, not even a tab.
_NAME_CONTROL = "\\u0000-\\u001f\\u007f-\\u009f"
NAME_PATTERN = f"^[^{_NAME_CONTROL}]*[{_LETTERS}][^{_NAME_CONTROL}]*$"
_NAME = re.compile(NAME_PATTERN)


def refuse_control_characters(value: Any) -> Any:
    """``value`` unchanged, or ValueError when some text in it holds a control character."""
    for text in _texts(value):
        found = _CONTROL_CHARACTER.search(text)
        if found is not None:
            raise ValueError(
                f"control character U+{ord(found.group()):04X} is not accepted in text"
            )
    return value


def refuse_text_longer_than_sent(value: Any, annotation: Any, metadata: list[Any]) -> Any:
    """``value`` unchanged, or ValueError when a text in it is longer, as sent, than its
    field's ``maxLength``.

    A request model strips white space before pydantic counts the length, so ``" " * 5 +
    "x" * 1000`` would pass a limit of 1000; the schema's ``maxLength`` counts the text as
    sent, and so must the server, or a client that trusts the schema is told one thing and
    the server does another.
    """
    if isinstance(value, str):
        limit = _text_limit(metadata) if _holds_text(annotation) else None
        if limit is not None and len(value) > limit:
            raise ValueError(f"at most {limit} characters, white space included")
    elif isinstance(value, list):
        item = _item_annotation(annotation)
        if item is not None:
            item_type, item_metadata = _annotated_parts(item)
            for element in value:
                refuse_text_longer_than_sent(element, item_type, item_metadata)
    return value


def _text_limit(metadata: list[Any]) -> int | None:
    limits = [
        constraint.max_length
        for entry in metadata
        for constraint in (entry.metadata if isinstance(entry, FieldInfo) else [entry])
        if isinstance(constraint, MaxLen)
    ]
    return min(limits) if limits else None


def _options(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return (annotation,)


def _holds_text(annotation: Any) -> bool:
    return any(_annotated_parts(option)[0] is str for option in _options(annotation))


def _item_annotation(annotation: Any) -> Any:
    for option in _options(annotation):
        if get_origin(option) is list:
            return get_args(option)[0]
    return None


def _annotated_parts(annotation: Any) -> tuple[Any, list[Any]]:
    if get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        return base, metadata
    return annotation, []


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [text for item in value.items() for part in item for text in _texts(part)]
    if isinstance(value, list | tuple | set | frozenset):
        return [text for item in value for text in _texts(item)]
    return []


def _a_name(value: str) -> str:
    if _NAME.match(value) is None:
        refuse_control_characters(value)
        raise ValueError("a name needs at least one letter, and no control character")
    return value


NamePart = Annotated[
    str,
    Field(
        min_length=1,
        json_schema_extra={
            # The server looks at the name once stripped (a request model's).
            "pattern": f"^[{_STRIPPED}]*{NAME_PATTERN[1:-1]}[{_STRIPPED}]*$",
            "description": "A name or part of one: at least one letter, one line",
        },
    ),
    AfterValidator(_a_name),
]
"""A given name, family name or alias: at least one letter, in any of the scripts in
:data:`_LETTERS`; no control character."""


def _stripped_text_pattern(min_length: int) -> str:
    """What the server accepts: text that, stripped of leading and trailing white space,
    holds no control character and ``min_length`` characters or more."""
    edge = f"[^{_STRIPPED}{_CONTROL}]"
    if min_length == 0:
        text = f"(?:{edge}(?:[^{_CONTROL}]*{edge})?)?"
    elif min_length == 1:
        text = f"{edge}(?:[^{_CONTROL}]*{edge})?"
    else:
        text = f"{edge}[^{_CONTROL}]{{{min_length - 2},}}{edge}"
    return f"^[{_STRIPPED}]*{text}[{_STRIPPED}]*$"


def mark_plain_strings(schema: dict[str, Any]) -> None:
    """Add a pattern to every string property of a request body's JSON schema that does
    not constrain its text already (a pattern, a format, an enum): no control character,
    and ``minLength`` counted, once the text is stripped of leading and trailing white
    space, as the server does (``"\\n"`` is no one-character name, ``"\\fA"`` is "A")."""
    for property_schema in schema.get("properties", {}).values():
        _mark(property_schema)


def _mark(schema: Any) -> None:
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    if schema.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(schema):
        schema["pattern"] = _stripped_text_pattern(schema.get("minLength", 0))
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, ()):
            _mark(option)
    _mark(schema.get("items"))
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        _mark(additional)
