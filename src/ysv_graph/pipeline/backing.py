"""Which source documents back each field of a record (statement-level provenance), as the curator writes it.

Two forms, read into one map, values["field_sources"] = {field: [source ids]}: a record's
`field_sources: {field: [ids]}`, and a field written `{value: X, sources: [ids]}`. The reader (load._Reader) is
passed in; whether each id names a source folder is checked with the other references (load._check_references).
"""
from __future__ import annotations

from typing import Any

import yaml

from .schema import KINDS, Field


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def read_ids(reader, node: yaml.Node, name: str, lines: dict[str, int]) -> list[str] | None:
    """A non-empty list of source ids (whether each names a folder is checked with the references), each
    item's line kept as lines[f"{name}.{id}"]."""
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        reader.error(_line(node), name, "expected a list of source ids, e.g. [hmicfrs-report]")
        return None
    ids = reader.value(node, name, Field("source", many=True))
    if ids is None:
        return None
    for item, item_node in zip(ids, node.value):
        lines[f"{name}.{item}"] = _line(item_node)
    return ids


def read_map(reader, node: yaml.Node, backing: dict[str, list[str]], lines: dict[str, int]) -> None:
    """field_sources: {field: [source ids]} into backing (whether each field is one the record has is checked
    by the caller, which knows the kind)."""
    fields = reader.mapping(node, "field_sources")
    for name, (key_node, list_node) in (fields or {}).items():
        where = f"field_sources.{name}"
        lines[where] = _line(key_node)
        if name in backing:
            reader.error(_line(key_node), where, "is given both here and inline ({value: ..., sources: ...})")
            continue
        ids = read_ids(reader, list_node, where, lines)
        if ids is not None:
            backing[name] = ids


def read_inline(reader, node: yaml.MappingNode, name: str, backing: dict[str, list[str]],
                lines: dict[str, int]) -> yaml.Node | None:
    """The value node of a field written {value: X, sources: [ids]}; its sources go into backing."""
    parts = reader.mapping(node, name)
    if parts is None:
        return None
    if set(parts) != {"value", "sources"}:
        reader.error(_line(node), name, "a field with its own sources is written {value: ..., sources: [...]}")
        return None
    where = f"field_sources.{name}"
    if name in backing:
        reader.error(_line(node), where, "is given both inline and in field_sources")
        return None
    lines[where] = _line(parts["sources"][0])
    ids = read_ids(reader, parts["sources"][1], where, lines)
    if ids is None:
        return None
    backing[name] = ids
    return parts["value"][1]


def check_fields(reader, kind_name: str, values: dict[str, Any], lines: dict[str, int]) -> bool:
    """Whether each field that field_sources names is a field of the kind that the record has (else errors)."""
    fine = True
    for name in values.get("field_sources", {}):
        where = f"field_sources.{name}"
        if name not in KINDS[kind_name].fields or name in ("sources", "field_sources"):
            reader.error(lines[where], where, f"'{name}' is not a field of a record of {kind_name} that sources "
                                              f"can back")
            fine = False
        elif name not in values:
            reader.error(lines[where], where, f"the record has no {name}")
            fine = False
    return fine
