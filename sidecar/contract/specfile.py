"""Reading a contract spec (a dict, or a .yaml/.yml/.json file) with the line of every key.

Errors must say where: a person editing a 200-line spec needs the line, not a pydantic location tuple.
PyYAML's *composed* node tree keeps a start mark per key, so the spec is composed once for the marks and
loaded once for the values. JSON files are loaded by :mod:`json` (the authority on JSON) and composed by
PyYAML only for the marks: JSON is YAML-compatible enough for that, and a file PyYAML cannot compose still
loads, only without line numbers.
"""

from __future__ import annotations

import difflib
import json
import os
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sidecar.contract import specmodel
from sidecar.contract.specmodel import ContractSpec
from sidecar.errors import ConfigurationError

__all__ = ["SpecSource", "read_spec"]

#: Spec models by class name: pydantic names the member of a union in an error's location.
_MODELS: dict[str, type[BaseModel]] = {
    name: obj for name in specmodel.__all__
    if isinstance(obj := getattr(specmodel, name), type) and issubclass(obj, BaseModel)
}


@dataclass(frozen=True)
class SpecSource:
    """A parsed spec: its values, where it came from, and its composed node tree (``None``: no marks)."""

    data: dict[str, Any]
    label: str
    node: yaml.Node | None = None

    def where(self, path: tuple[str | int, ...]) -> str:
        """``"spec.yaml, line 7, at table.row_count"``: the source, the key's line and the key path."""
        parts = [self.label]
        line = self.line(path)
        if line is not None:
            parts.append(f"line {line}")
        if path:
            parts.append("at " + ".".join(str(p) for p in path))
        return ", ".join(parts)

    def line(self, path: tuple[str | int, ...]) -> int | None:
        """1-based line of the deepest key of ``path`` the file holds (``None`` without marks)."""
        node, line = self.node, None
        if node is None:
            return None
        for part in path:
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if str(k.value) == str(part)), None)
                if match is None:
                    continue  # a union member's name in a pydantic location, or a key the file lacks
                line, node = match[0].start_mark.line + 1, match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
        return line

    def error(self, path: tuple[str | int, ...], message: str) -> ConfigurationError:
        """A :class:`ConfigurationError` prefixed with :meth:`where`."""
        return ConfigurationError(f"{self.where(path)}: {message}")

    def validate(self) -> ContractSpec:
        """The spec as a :class:`ContractSpec`; the first structural error names its key and line."""
        try:
            return ContractSpec.model_validate(self.data)
        except ValidationError as exc:
            raise self._explain(exc) from None

    def _explain(self, exc: ValidationError) -> ConfigurationError:
        # A value that fits no member of a union fails once per member; the deepest location is the member
        # the user meant (a mapping under `min_max:` is a MinMaxSpec, not a bool).
        errors = sorted(exc.errors(), key=lambda e: -len(e["loc"]))
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = tuple(p for p in err["loc"] if p not in _MODELS and p not in ("bool", "none"))
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        if err["type"] == "extra_forbidden":
            key, accepted = str(loc[-1]), sorted(_accepted(err["loc"][:-1]))
            close = difflib.get_close_matches(key, accepted, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; accepted: {', '.join(accepted)}"
            line = self.line(loc)
            at = f" at line {line}" if line is not None else ""
            parent = ".".join(str(p) for p in loc[:-1]) or "the top level"
            return ConfigurationError(f"{self.label}: unknown key {key!r} in {parent}{at}{hint}{more}")
        return self.error(loc, f"{err['msg'].lower()}, got {err.get('input')!r}{more}")


def read_spec(spec: dict[str, Any] | str | os.PathLike[str]) -> SpecSource:
    """Parse ``spec``: a dict is used as is; a path must end in .yaml, .yml or .json."""
    if isinstance(spec, dict):
        return SpecSource(spec, "spec")
    if not isinstance(spec, str | os.PathLike):
        raise ConfigurationError(f"spec must be a dict or a path to a .yaml/.yml/.json file, got {type(spec).__name__}")
    path = Path(spec)
    label = os.fspath(path)
    if path.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise ConfigurationError(f"spec file {label!r}: expected a .yaml, .yml or .json file")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"spec file {label!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"spec file {label!r} cannot be read: {exc}") from exc
    node: yaml.Node | None = None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"{label}, line {exc.lineno}: not valid JSON: {exc.msg}") from None
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            node = None  # valid JSON PyYAML cannot read: the values stand, the messages lose their lines
    else:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f", line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigurationError(f"{label}{at}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{label}: a spec is a mapping of keys (name, defaults, table, columns, ...), "
                                 f"got {type(data).__name__}")
    if node is not None:
        _reject_duplicates(node, label)
    return SpecSource(data, label, node)


def _reject_duplicates(node: yaml.Node, label: str) -> None:
    """YAML keeps the last of two equal keys silently; in a spec that hides a setting, so it is an error."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name, line = str(key.value), key.start_mark.line + 1
            if name in seen:
                raise ConfigurationError(f"{label}: duplicate key {name!r} at line {line} (first at line {seen[name]})")
            seen[name] = line
            _reject_duplicates(value, label)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicates(item, label)


def _accepted(loc: tuple[str | int, ...]) -> set[str]:
    """The keys the spec model at ``loc`` accepts (pydantic's location of the mapping holding a bad key)."""
    model: type[BaseModel] | None = ContractSpec
    skip_key = False
    for part in loc:
        if isinstance(part, int):
            continue
        if skip_key:  # a column name or pattern under `columns`
            skip_key = False
            continue
        if part in _MODELS:
            model = _MODELS[part]
            continue
        field = _field(model, part) if model is not None else None
        if field is None:
            return set()
        model, skip_key = _inner_model(field.annotation), _has_dict(field.annotation)
    if model is None:
        return set()
    return {f.alias or n for n, f in model.model_fields.items()}


def _field(model: type[BaseModel], key: str) -> Any:
    return next((f for n, f in model.model_fields.items() if (f.alias or n) == key), None)


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _has_dict(annotation: Any) -> bool:
    if typing.get_origin(annotation) is dict:
        return True
    return any(_has_dict(a) for a in typing.get_args(annotation))
