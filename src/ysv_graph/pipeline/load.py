"""Stage 1: load the curated YAML and check it against the schema.

Every mistake becomes a DataError that names the file, the line and the field. Nothing downstream sees
records that did not pass.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from . import backing as backing_
from . import releasing
from .schema import DATASET_FIELDS, KINDS, RELEASE_FIELDS, SOURCE_FIELDS, BadValue, Field, convert, key_problem

# libyaml's parser when PyYAML was built with it (it keeps line marks too); the pure-Python one otherwise
COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DataError(Exception):
    """A mistake in the curated data, located to file, line and field."""

    def __init__(self, path: Path | str, line: int, field_name: str, message: str):
        super().__init__(f"{path}:{line}: {field_name}: {message}")
        self.path, self.line, self.field, self.message = str(path), line, field_name, message


class DataErrors(Exception):
    def __init__(self, errors: list[DataError]):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class Source:
    id: str
    path: str  # of its source.yaml (a string: Path objects cost half a second to unpickle at 1,000 reports)
    values: dict[str, Any]
    display: str = ""
    lines: dict[str, int] = field(default_factory=dict)


@dataclass
class Record:
    kind: str
    key: str
    values: dict[str, Any]
    source: str  # id of the folder's source document
    path: str  # of the file it is in (a string, as Source.path)
    line: int
    lines: dict[str, int] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def field_sources(self, name: str) -> list[str]:
        """The documents the curator names as backing this field (field_sources: or the inline form); [] if none."""
        return self.values.get("field_sources", {}).get(name, [])

    @property
    def sources(self) -> list[str]:
        """The folder's document first, then any further documents named by the record."""
        return [self.source] + [s for s in self.values.get("sources", []) if s != self.source]


@dataclass
class Curated:
    """Everything that passed the checks."""

    sources: dict[str, Source]
    records: dict[str, dict[str, Record]]  # kind -> key -> record
    dataset: dict[str, Any] = field(default_factory=dict)  # data/dataset.yaml
    files: dict[str, str] = field(default_factory=dict)  # curated file (relative to data/) -> sha256
    # source folder -> the hash of its files and of the loader's code (see ParseCache); given a cache only
    parse_keys: dict[str, str] = field(default_factory=dict)
    kept_releases: dict = field(default_factory=dict)  # version -> releasing.Kept, the earlier releases kept

    def of(self, kind: str) -> list[Record]:
        return [self.records[kind][k] for k in sorted(self.records.get(kind, {}))]

    @cached_property
    def by_source(self) -> dict[str, dict[str, list[Record]]]:
        """Source folder -> kind -> the folder's records of that kind, in key order (made once)."""
        index: dict[str, dict[str, list[Record]]] = {source_id: {} for source_id in self.sources}
        for kind in self.records:
            for record in self.of(kind):
                index.setdefault(record.source, {}).setdefault(kind, []).append(record)
        return index

    def kinds(self) -> dict[str, str]:
        """Every record id -> its kind."""
        return {key: kind for kind, records in self.records.items() for key in records}

    @cached_property
    def _by_key(self) -> dict[str, Record]:
        """Every record by its id (ids are unique across kinds: the loader refuses one defined twice)."""
        index: dict[str, Record] = {}
        for kind in self.records.values():
            for key, record in kind.items():
                index.setdefault(key, record)
        return index

    def find(self, key: str) -> Record | None:
        return self._by_key.get(key)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.records.values())


# --- YAML with line numbers -------------------------------------------------------------------------------------

def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class _Reader:
    def __init__(self, path: Path, display: str, errors: list[DataError], data: bytes | None = None):
        self.path, self.display, self.errors, self.data = path, display, errors, data

    def error(self, line: int, field_name: str, message: str) -> None:
        self.errors.append(DataError(self.display, line, field_name, message))

    def compose(self, required: str | None = None) -> yaml.Node | None:
        """The file's YAML document; None after an error, or if it is empty (no document, or only comments),
        which is an error when the file must hold the field named required."""
        try:
            if self.data is not None:
                node = yaml.compose(self.data.decode("utf-8"), Loader=COMPOSER)
            else:
                with self.path.open(encoding="utf-8") as handle:
                    node = yaml.compose(handle, Loader=COMPOSER)
            if node is None and required:
                self.error(1, required, f"is required in {self.path.name} (the file is empty)")
            return node
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            self.error(line, "yaml", f"not valid YAML: {exc.problem or exc.context}")
        except UnicodeDecodeError as exc:
            self.error(1, "yaml", f"not UTF-8 text: {exc.reason}")
        except RecursionError:
            self.error(1, "yaml", "nested too deeply")
        return None

    def mapping(self, node: yaml.Node, field_name: str) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        if not isinstance(node, yaml.MappingNode):
            self.error(_line(node), field_name, "expected a mapping of field: value")
            return None
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.error(_line(key_node), field_name, "field names must be plain words")
                continue
            if key in out:
                self.error(_line(key_node), key, "given twice in the same record")
                continue
            out[key] = (key_node, value_node)
        return out

    # -- scalar conversion (schema.convert) -----------------------------------------------------------------------
    def scalar(self, node: yaml.Node, name: str, spec: Field) -> Any:
        if spec.type == "elements":
            return self.element(node, name)
        if spec.type == "release":  # one of dataset.yaml's earlier releases: its fields, and their lines
            n_errors = len(self.errors)
            values, lines = self.fields(node, RELEASE_FIELDS, "an earlier release")
            return None if len(self.errors) > n_errors else {**values, "line": _line(node), "lines": lines}
        if not isinstance(node, yaml.ScalarNode):
            self.error(_line(node), name, f"expected a single {spec.type} value")
            return None
        try:
            return convert(spec, node.value, node.tag)
        except BadValue as exc:
            self.error(_line(node), name, str(exc))
            return None

    def element(self, node: yaml.Node, name: str) -> dict[str, str] | None:
        fields = self.mapping(node, name)
        if fields is None:
            return None
        out: dict[str, str] = {}
        for key in ("id", "label"):
            if key not in fields:
                self.error(_line(node), f"{name}.{key}", "is required")
                return None
        for key, (key_node, value_node) in fields.items():
            if key not in ("id", "label"):
                self.error(_line(key_node), f"{name}.{key}", "is not a field of a definition element")
                return None
            value = self.scalar(value_node, f"{name}.{key}", Field("id" if key == "id" else "str"))
            if value is None:
                return None
            out[key] = value
        return out

    def value(self, node: yaml.Node, name: str, spec: Field) -> Any:
        if spec.many:
            if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
                return []
            if not isinstance(node, yaml.SequenceNode):
                self.error(_line(node), name, "expected a list, e.g. [a, b]")
                return None
            items = [self.scalar(item, name, spec) for item in node.value]
            if any(item is None for item in items):
                return None
            seen: set[str] = set()
            for item, item_node in zip(items, node.value):
                marker = repr(item)
                if marker in seen:
                    self.error(_line(item_node), name, f"'{item}' is listed twice")
                    return None
                seen.add(marker)
            return items
        return self.scalar(node, name, spec)

    def fields(self, node: yaml.Node, specs: dict[str, Field], where: str) -> tuple[dict[str, Any], dict[str, int]]:
        values: dict[str, Any] = {}
        lines: dict[str, int] = {}
        fields = self.mapping(node, where)
        if fields is None:
            return values, lines
        backing: dict[str, list[str]] = {}  # field -> its sources, from field_sources: and the inline form
        for name, (key_node, value_node) in fields.items():
            spec = specs.get(name)
            if spec is None:
                self.error(_line(key_node), name, f"is not a field of {where}")
                continue
            if spec.type == "field_sources":
                backing_.read_map(self, value_node, backing, lines)
                continue
            if isinstance(value_node, yaml.MappingNode) and not spec.many and spec.type != "elements":
                value_node = backing_.read_inline(self, value_node, name, backing, lines)
                if value_node is None:
                    continue
            value = self.value(value_node, name, spec)
            if value is not None:
                values[name] = value
                lines[name] = _line(key_node)
        if backing:
            values["field_sources"] = backing  # in the order written
        for name, spec in specs.items():
            if spec.required and name not in fields:
                self.error(_line(node), name, f"is required in {where}")
        return values, lines


# --- the whole folder ---------------------------------------------------------------------------------------------

def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


class ParseHere:
    """The plain parser: every folder parsed in this process, nothing kept (keys: none)."""

    keys: list[str] = []

    def parse(self, folders: list[Path], data_dir: Path) -> list[tuple[list, dict]]:
        return [_parse_folder(folder, data_dir) for folder in folders]


class CheckAll:
    """The plain record of references checked: none is remembered, so every folder's are checked."""

    def unchecked(self, curated: "Curated") -> set[str] | None:
        return None

    def keep(self, curated: "Curated") -> None:
        pass


def load(data_dir: Path, parser=None, references=None, releases_dir: Path | None = None) -> Curated:
    """Read every folder under data_dir; raise DataErrors listing every mistake found.

    The folders are parsed independently, then put together here in folder order, which is where ids defined
    twice are found, so the outcome and the order of the errors do not depend on how the parsing was done. Two
    hooks let the incremental build go faster (incremental.parsing): parser (default ParseHere) has
    parse(folders, data_dir) -> each folder's (events, file hashes), and keys, one a folder, naming each parse;
    references (default CheckAll) has unchecked(curated) -> the folders whose references to check (None: all)
    and keep(curated), called after a load that passed. releases_dir: the folder of kept releases (None: none;
    see releasing.read_kept)."""
    parser = parser if parser is not None else ParseHere()
    references = references if references is not None else CheckAll()
    data_dir = Path(data_dir)
    errors: list[DataError] = []
    if not data_dir.is_dir():
        raise DataErrors([DataError(data_dir, 0, "data", "no such folder")])
    sources: dict[str, Source] = {}
    records: dict[str, dict[str, Record]] = {kind: {} for kind in KINDS}
    where_defined: dict[str, Record] = {}

    dataset = _load_dataset(data_dir, errors)
    kept_releases, problems = releasing.read_kept(releases_dir, dataset) if dataset.get("version") else ({}, [])
    errors.extend(DataError(path, 0, "releases", message) for path, message in problems)
    for path in sorted(data_dir.glob("*.y*ml")):  # records there would be left out without a word
        if path.suffix in (".yaml", ".yml") and path.name != "dataset.yaml" and not path.name.startswith("."):
            errors.append(DataError(_display(path, data_dir), 0, "file",
                                    "records go in a source folder (data/<source>/*.yaml), not beside dataset.yaml"))
    folders = sorted(p for p in data_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    hashes: dict[str, str] = {}
    for folder, (events, folder_hashes) in zip(folders, parser.parse(folders, data_dir)):
        hashes.update(folder_hashes)
        for event in events:
            if event[0] == "error":
                errors.append(DataError(*event[1:]))
            elif event[0] == "source":
                _, values, lines, path, display = event
                sources[folder.name] = Source(folder.name, path, values, display, lines)
            else:
                _, kind_name, key, values, lines, line, path, display = event
                record = Record(kind_name, key, values, folder.name, path, line, lines)
                record.display = display  # type: ignore[attr-defined]
                earlier = where_defined.get(key)
                if earlier is not None:
                    errors.append(DataError(display, lines[KINDS[kind_name].key], KINDS[kind_name].key,
                                            f"'{key}' is already defined at {earlier.display}:{earlier.line}"))  # type: ignore
                    continue
                where_defined[key] = record
                records[kind_name][key] = record

    files = {}
    for name in _yaml_files(data_dir):
        if name in hashes or (data_dir / name).is_file():  # (a folder named *.yaml is an error above)
            files[name] = hashes.get(name) or hashlib.sha256((data_dir / name).read_bytes()).hexdigest()
    curated = Curated(sources, records, dataset, files, dict(zip((f.name for f in folders), parser.keys)),
                      kept_releases)
    if not errors:
        unchecked = references.unchecked(curated)
        _check_references(curated, errors, unchecked)
        about = dataset.get("about")
        if about and (curated.find(about) is None or curated.find(about).kind != "reports"):
            errors.append(DataError(_display(data_dir / "dataset.yaml", data_dir), 1, "about",
                                    f"'{about}' is not the id of a report"))
        _check_consistency(curated, errors)
    if errors:
        raise DataErrors(errors)
    references.keep(curated)
    return curated


def _yaml_files(data_dir: Path) -> list[str]:
    """The paths, relative to data_dir, of what sorted(data_dir.rglob("*.yaml")) finds, in that order, listed
    with os.walk: a corpus has tens of thousands of files, and a Path object for each took a second."""
    import fnmatch
    import os

    found: list[tuple[str, ...]] = []
    top = str(data_dir)
    for root, folders, names in os.walk(top):
        relative = os.path.relpath(root, top)
        parts = () if relative == "." else tuple(relative.split(os.sep))
        found.extend(parts + (name,) for name in fnmatch.filter(folders + names, "*.yaml"))
        folders[:] = [name for name in folders if not os.path.islink(os.path.join(root, name))]  # as rglob
    return ["/".join(parts) for parts in sorted(found)]


def _parse_folder(folder: Path, data_dir: Path) -> tuple[list, dict]:
    """Read one source folder on its own: its source.yaml and record files, checked field by field. Returns the
    events, in reading order (("error", path, line, field, message), ("source", values, lines, path, display),
    ("record", kind, key, values, lines, line, path, display)), and the sha256 of each file read."""
    errors: list[DataError] = []
    events: list[tuple] = []
    hashes: dict[str, str] = {}

    def flush() -> None:
        events.extend(("error", e.path, e.line, e.field, e.message) for e in errors)
        errors.clear()

    def read(path: Path) -> bytes:
        data = path.read_bytes()
        hashes[str(path.relative_to(data_dir))] = hashlib.sha256(data).hexdigest()
        return data

    display = _display(folder, data_dir)
    problem = key_problem("id", folder.name)
    if problem:
        return [("error", display, 0, "folder", problem.replace("valid id", "valid source id"))], hashes
    source_file = folder / "source.yaml"
    if not source_file.is_file():
        return [("error", display, 0, "source.yaml", "every source folder needs a source.yaml")], hashes
    reader = _Reader(source_file, _display(source_file, data_dir), errors, read(source_file))
    root = reader.compose(required="source")
    if root is None:
        flush()
        return events, hashes
    top = reader.mapping(root, "source.yaml")
    if top is None:
        flush()
        return events, hashes
    if set(top) != {"source"}:
        for name, (key_node, _) in top.items():
            if name != "source":
                reader.error(_line(key_node), name, "source.yaml holds only 'source:'")
        if "source" not in top:
            reader.error(_line(root), "source", "is required in source.yaml")
            flush()
            return events, hashes
    values, lines = reader.fields(top["source"][1], SOURCE_FIELDS, "a source")
    flush()
    events.append(("source", values, lines, str(source_file), reader.display))

    for path in sorted(folder.glob("*.yaml")):
        if path.name == "source.yaml":
            continue
        try:
            data = read(path)
        except OSError as exc:  # a folder named *.yaml, a file that cannot be read
            events.append(("error", _display(path, data_dir), 0, "file", f"cannot be read: {exc.strerror}"))
            continue
        _parse_file(path, _display(path, data_dir), data, events, errors)
        flush()
    for path in sorted(folder.glob("*.yml")):
        events.append(("error", _display(path, data_dir), 0, "file", "name data files *.yaml, not *.yml"))
    return events, hashes


def _load_dataset(data_dir: Path, errors: list[DataError]) -> dict[str, Any]:
    path = data_dir / "dataset.yaml"
    display = _display(path, data_dir)
    if not path.is_file():
        errors.append(DataError(display, 0, "dataset.yaml", "the data folder needs a dataset.yaml"))
        return {}
    reader = _Reader(path, display, errors)
    root = reader.compose(required="dataset")
    if root is None:
        return {}
    top = reader.mapping(root, "dataset.yaml")
    if top is None:
        return {}
    for name, (key_node, _) in top.items():
        if name != "dataset":
            reader.error(_line(key_node), name, "dataset.yaml holds only 'dataset:'")
    if "dataset" not in top:
        reader.error(_line(root), "dataset", "is required in dataset.yaml")
        return {}
    values, lines = reader.fields(top["dataset"][1], DATASET_FIELDS, "the dataset")
    for line, name, message in releasing.check(values, lines):
        reader.error(line, name, message)
    return values


def _parse_file(path: Path, display: str, data: bytes, events: list, errors: list[DataError]) -> None:
    """The records of one file as ("record", ...) events; its mistakes go to errors (the caller turns them into
    events, in order: a record's errors come before the record that follows it)."""
    reader = _Reader(path, display, errors, data)
    root = reader.compose()
    if root is None:
        return
    if isinstance(root, yaml.ScalarNode) and root.tag == "tag:yaml.org,2002:null":
        return  # an empty file
    top = reader.mapping(root, "the file")
    if top is None:
        return
    for kind_name, (key_node, list_node) in top.items():
        kind = KINDS.get(kind_name)
        if kind is None:
            reader.error(_line(key_node), kind_name, f"is not a kind of record (kinds: {', '.join(KINDS)})")
            continue
        if not isinstance(list_node, yaml.SequenceNode):
            reader.error(_line(list_node), kind_name, "expected a list of records, each starting with '- '")
            continue
        specs = {kind.key: Field(kind.key, True), **kind.fields}
        for item in list_node.value:
            n_errors = len(errors)
            values, lines = reader.fields(item, specs, f"a record of {kind_name}")
            if len(errors) > n_errors or kind.key not in values:
                continue
            if not backing_.check_fields(reader, kind_name, values, lines):
                continue
            key = values.pop(kind.key)
            events.extend(("error", e.path, e.line, e.field, e.message) for e in errors)
            errors.clear()
            events.append(("record", kind_name, key, values, lines, _line(item), str(path), display))


def _err(record: Record, name: str, message: str, line_of: str | None = None) -> DataError:
    line = record.lines.get(line_of or name, record.line)
    return DataError(record.display, line, name, message)  # type: ignore


def _check_references(curated: Curated, errors: list[DataError], only: set[str] | None = None) -> None:
    """Every reference of the records (and sources) of the folders in only (None: all) must name what exists,
    of a kind the field allows."""
    legislation = curated.records["legislation"]
    for kind_name, kind in KINDS.items():
        for record in curated.of(kind_name):
            if only is not None and record.source not in only:
                continue
            for name, spec in kind.fields.items():
                if name not in record.values:
                    continue
                if spec.type == "field_sources":
                    for backed, ids in record.values[name].items():
                        for value in ids:
                            if value not in curated.sources:
                                where = f"field_sources.{backed}"
                                errors.append(_err(record, where, f"no source folder is called '{value}'",
                                                   f"{where}.{value}"))
                    continue
                values = record.values[name] if spec.many else [record.values[name]]
                for value in values:
                    if spec.type == "source" and value not in curated.sources:
                        errors.append(_err(record, name, f"no source folder is called '{value}'"))
                    elif spec.type == "legislation" and value not in legislation:
                        errors.append(_err(record, name, f"'{value}' is not declared under legislation:"))
                    elif spec.type == "ref":
                        target = curated.find(value)
                        if target is None:
                            errors.append(_err(record, name, f"unknown id '{value}'"))
                        elif target.kind not in spec.refs:
                            errors.append(_err(record, name, f"'{value}' is a record of {target.kind}, "
                                                             f"expected one of: {', '.join(spec.refs)}"))
    for source in curated.sources.values():
        if only is not None and source.id not in only:
            continue
        for name, spec in SOURCE_FIELDS.items():
            value = source.values.get(name)
            if spec.type != "ref" or value is None:
                continue
            target = curated.find(value)
            if target is None or target.kind not in spec.refs:
                errors.append(DataError(source.display, source.lines.get(name, 1), name,
                                        f"'{value}' is not the id of one of: {', '.join(spec.refs)}"))


def _check_consistency(curated: Curated, errors: list[DataError]) -> None:
    """Rules within one record that the schema table cannot express."""
    for record in curated.of("figures"):
        start, end = record.get("period_start"), record.get("period_end")
        periods = [bool(start or end), "year" in record.values, "financial_year" in record.values]
        if sum(periods) > 1:
            errors.append(_err(record, "year", "give one period: period_start/period_end, year or financial_year"))
        if bool(start) != bool(end):
            errors.append(_err(record, "period_start" if not start else "period_end",
                               "period_start and period_end go together"))
        if start and end and end < start:
            errors.append(_err(record, "period_end", "ends before it starts"))
        if "area" in record.values and "area_description" in record.values:
            errors.append(_err(record, "area_description", "give area or area_description, not both"))
    for record in curated.of("recommendations"):
        if record.get("status") == "described":
            for name in ("label", "statement"):
                if name not in record.values:
                    errors.append(_err(record, "status", f"a described recommendation needs a {name}"))
        elif "statement" in record.values:
            errors.append(_err(record, "statement", "an undescribed recommendation has no known statement"))
    for record in curated.of("inspections"):
        named, stated = len(record.get("inspected_areas", [])), record.get("areas_inspected", 0)
        if named > stated:
            errors.append(_err(record, "inspected_areas", f"names {named} areas but areas_inspected is {stated}"))
        with_vru, without = record.get("areas_with_vru"), record.get("areas_without_vru")
        if with_vru is not None and without is not None and with_vru + without != stated:
            errors.append(_err(record, "areas_with_vru",
                               f"{with_vru} with a VRU + {without} without is not {stated}"))
    for record in curated.of("definitions"):
        lo, hi = record.get("min_age"), record.get("max_age")
        if lo is not None and hi is not None and lo > hi:
            errors.append(_err(record, "min_age", "is above max_age"))
    for record in curated.of("forces"):
        if record.get("territorial") and "area" not in record.values:
            errors.append(_err(record, "area", "a territorial force needs its police force area"))
