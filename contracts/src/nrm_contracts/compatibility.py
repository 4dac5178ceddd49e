"""Compatibility of the current event contracts with the versions already published.

A version of an event type, once published, is frozen: its ``data`` schema as first
published lives in ``contracts/published/<type>.json``. Kafka keeps history and services
rebuild by replaying it, so a change must suit both directions: readers of the published
version reading new events, and new readers reading old events. That leaves one change
that is always compatible: adding an optional field. Descriptions, titles, examples and
defaults may change too; they do not decide what is valid. Everything else that changes
which values a field accepts — removing, retyping or re-constraining it, making it
required or optional, adding or removing an enum value — breaks someone, and needs a new
type with the next version number.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nrm_contracts.schemas import JsonSchema, json_text

PUBLISHED_SUFFIX = ".json"

# Keywords that describe a value without deciding whether it is valid.
ANNOTATION_KEYWORDS = frozenset(
    {
        "title",
        "description",
        "examples",
        "default",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)
# Keywords with a comparison of their own; every other keyword must stay as it was.
COMPARED_KEYWORDS = frozenset(
    {
        "type",
        "format",
        "enum",
        "properties",
        "required",
        "items",
        "additionalProperties",
        "anyOf",
        "oneOf",
        "$defs",
    }
)
# A chain of $refs longer than this is taken as broken rather than followed further.
MAX_REF_CHAIN = 32


@dataclass(frozen=True)
class BreakingChange:
    """A change to a published event type that breaks some of its readers."""

    event_type: str
    problem: str

    def __str__(self) -> str:
        return f"{self.event_type}: {self.problem}"


def breaking_changes(
    event_type: str, published: JsonSchema, current: JsonSchema
) -> list[BreakingChange]:
    """Every change from the ``published`` data schema of ``event_type`` to ``current``
    that breaks a reader of either."""
    comparison = _Comparison(published, current)
    comparison.compare(published, current, where="")
    return [BreakingChange(event_type, problem) for problem in comparison.problems]


def compatibility_problems(
    published: Mapping[str, JsonSchema], current: Mapping[str, JsonSchema]
) -> list[BreakingChange]:
    """The breaking changes of every published type: to its schema, or its disappearance."""
    problems: list[BreakingChange] = []
    for event_type in sorted(published):
        if event_type not in current:
            problems.append(
                BreakingChange(
                    event_type,
                    "event type no longer defined, but it was published and may have "
                    "readers (retire it by deleting its published schema once no service "
                    "produces or reads it)",
                )
            )
            continue
        problems.extend(breaking_changes(event_type, published[event_type], current[event_type]))
    return problems


def load_published(published_dir: Path) -> dict[str, JsonSchema]:
    """The frozen data schema of every published type, by type."""
    return {
        path.name.removesuffix(PUBLISHED_SUFFIX): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(published_dir.glob(f"*{PUBLISHED_SUFFIX}"))
    }


def unpublished_types(published_dir: Path, current: Mapping[str, JsonSchema]) -> list[str]:
    """The current types that have no published schema yet."""
    return sorted(
        event_type
        for event_type in current
        if not (published_dir / f"{event_type}{PUBLISHED_SUFFIX}").exists()
    )


def publish_new_types(published_dir: Path, current: Mapping[str, JsonSchema]) -> list[str]:
    """Freeze the data schema of every type seen for the first time; never overwrite one.

    Returns the types published now.
    """
    new_types = unpublished_types(published_dir, current)
    published_dir.mkdir(parents=True, exist_ok=True)
    for event_type in new_types:
        path = published_dir / f"{event_type}{PUBLISHED_SUFFIX}"
        with path.open("x", encoding="utf-8") as file:  # "x": fail rather than overwrite
            file.write(json_text(current[event_type]))
    return new_types


@dataclass
class _Comparison:
    """Walks a published schema and the current one side by side, collecting problems."""

    old_root: JsonSchema
    new_root: JsonSchema
    problems: list[str] = field(default_factory=list)
    # Pairs of $refs being compared, so that recursive models terminate.
    _in_progress: set[tuple[str, str]] = field(default_factory=set)

    def compare(self, old: JsonSchema, new: JsonSchema, where: str) -> None:
        old_nullable, old_core, old_ref = _normalise(old, self.old_root)
        new_nullable, new_core, new_ref = _normalise(new, self.new_root)
        label = _label(where)
        if old_nullable and not new_nullable:
            self.problems.append(f"{label} no longer accepts null")
        if new_nullable and not old_nullable:
            self.problems.append(f"{label} now accepts null, which readers of it reject")
        if old_ref is None or new_ref is None:
            self._compare_core(old_core, new_core, where)
            return
        pair = (old_ref, new_ref)
        if pair in self._in_progress:
            return
        self._in_progress.add(pair)
        try:
            self._compare_core(old_core, new_core, where)
        finally:
            self._in_progress.discard(pair)

    def _compare_core(self, old: JsonSchema, new: JsonSchema, where: str) -> None:
        label = _label(where)
        if _types(old) != _types(new) or old.get("format") != new.get("format"):
            self.problems.append(f"{label} retyped from {_describe(old)} to {_describe(new)}")
            return
        self._compare_enums(old, new, label)
        self._compare_fields(old, new, where)
        self._compare_alternatives(old, new, where)
        if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
            self.compare(old["items"], new["items"], f"{where}[]")
        elif old.get("items") != new.get("items"):
            self._report_keyword(label, "items", old, new)
        old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(old_extra, dict) and isinstance(new_extra, dict):
            self.compare(old_extra, new_extra, f"{where}.*" if where else "*")
        elif old_extra != new_extra:
            self._report_keyword(label, "additionalProperties", old, new)
        for keyword in sorted((old.keys() | new.keys()) - ANNOTATION_KEYWORDS - COMPARED_KEYWORDS):
            if old.get(keyword) != new.get(keyword):
                self._report_keyword(label, keyword, old, new)

    def _compare_enums(self, old: JsonSchema, new: JsonSchema, label: str) -> None:
        if "enum" not in old and "enum" not in new:
            return
        if "enum" not in old or "enum" not in new:
            self._report_keyword(label, "enum", old, new)
            return
        for value in old["enum"]:
            if value not in new["enum"]:
                self.problems.append(f"{label}: enum value {json.dumps(value)} removed")
        for value in new["enum"]:
            if value not in old["enum"]:
                self.problems.append(
                    f"{label}: enum value {json.dumps(value)} added, which readers of it reject"
                )

    def _compare_fields(self, old: JsonSchema, new: JsonSchema, where: str) -> None:
        old_fields: dict[str, JsonSchema] = old.get("properties", {})
        new_fields: dict[str, JsonSchema] = new.get("properties", {})
        old_required = set(old.get("required", []))
        new_required = set(new.get("required", []))
        for name, old_field in old_fields.items():
            path = f"{where}.{name}" if where else name
            if name not in new_fields:
                self.problems.append(f"field '{path}' removed")
                continue
            if name in old_required and name not in new_required:
                self.problems.append(f"field '{path}' no longer required")
            if name in new_required and name not in old_required:
                self.problems.append(f"field '{path}' became required")
            self.compare(old_field, new_fields[name], path)
        for name in sorted(new_fields.keys() - old_fields.keys()):
            if name in new_required:
                path = f"{where}.{name}" if where else name
                self.problems.append(f"new required field '{path}'")
        for name in sorted((old_required ^ new_required) - old_fields.keys() - new_fields.keys()):
            self.problems.append(f"{_label(where)}: required name '{name}' changed")

    def _compare_alternatives(self, old: JsonSchema, new: JsonSchema, where: str) -> None:
        for keyword in ("anyOf", "oneOf"):
            old_branches: list[JsonSchema] = old.get(keyword, [])
            new_branches: list[JsonSchema] = new.get(keyword, [])
            if len(old_branches) != len(new_branches):
                self.problems.append(
                    f"{_label(where)} retyped: {keyword} has {len(new_branches)} alternatives, "
                    f"was {len(old_branches)}"
                )
                continue
            for old_branch, new_branch in zip(old_branches, new_branches, strict=True):
                self.compare(old_branch, new_branch, where)

    def _report_keyword(self, label: str, keyword: str, old: JsonSchema, new: JsonSchema) -> None:
        if keyword not in old:
            change = f"{keyword} {json.dumps(new[keyword])} added"
        elif keyword not in new:
            change = f"{keyword} {json.dumps(old[keyword])} removed"
        else:
            change = (
                f"{keyword} changed from {json.dumps(old[keyword])} to {json.dumps(new[keyword])}"
            )
        self.problems.append(f"{label}: {change}")


def _normalise(schema: JsonSchema, root: JsonSchema) -> tuple[bool, JsonSchema, str | None]:
    """(accepts null, the schema of its non-null values, the last $ref followed).

    Resolves ``$ref``s into the root's ``$defs`` and takes ``null`` apart from the rest,
    whether spelt ``anyOf: [X, {type: null}]`` (as pydantic does for ``X | None``) or
    ``type: [X, "null"]``.
    """
    resolved, ref = _resolve(schema, root)
    nullable, core = _split_null(resolved)
    if core is not resolved:
        core, core_ref = _resolve(core, root)
        ref = core_ref or ref
    return nullable, core, ref


def _resolve(schema: JsonSchema, root: JsonSchema) -> tuple[JsonSchema, str | None]:
    followed: str | None = None
    for _ in range(MAX_REF_CHAIN):
        ref = schema.get("$ref")
        target = _local_target(root, ref) if isinstance(ref, str) else None
        if target is None:
            break
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        schema, followed = {**target, **siblings}, ref
    return schema, followed


def _local_target(root: JsonSchema, ref: str) -> JsonSchema | None:
    """The schema a document-local ``$ref`` (``#/...``) points to, or None."""
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or token not in node:
            return None
        node = node[token]
    return node if isinstance(node, dict) else None


def _split_null(schema: JsonSchema) -> tuple[bool, JsonSchema]:
    for keyword in ("anyOf", "oneOf"):
        branches = schema.get(keyword)
        if not isinstance(branches, list) or {"type": "null"} not in branches:
            continue
        rest = [branch for branch in branches if branch != {"type": "null"}]
        siblings = {key: value for key, value in schema.items() if key != keyword}
        if len(rest) == 1:
            return True, {**rest[0], **siblings}
        return True, {**siblings, keyword: rest}
    types = schema.get("type")
    if isinstance(types, list) and "null" in types:
        rest_types = [name for name in types if name != "null"]
        return True, {**schema, "type": rest_types[0] if len(rest_types) == 1 else rest_types}
    return False, schema


def _types(schema: JsonSchema) -> frozenset[str] | None:
    types = schema.get("type")
    if types is None:
        return None
    return frozenset(types) if isinstance(types, list) else frozenset({types})


def _describe(schema: JsonSchema) -> str:
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(alternatives, list):
        return " or ".join(_describe(branch) for branch in alternatives)
    if isinstance(schema.get("$ref"), str):
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    types = _types(schema)
    described = "|".join(sorted(types)) if types else "any type"
    if "format" in schema:
        described += f" ({schema['format']})"
    return described


def _label(where: str) -> str:
    return f"field '{where}'" if where else "the data"
