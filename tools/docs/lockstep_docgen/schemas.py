"""Reference pages for the JSON Schemas in ``contracts/src/lockstep/contracts/data/schemas/``.

One page per schema file: its fields (type, required, bounds, enums, patterns,
description), the conditional rules (``allOf`` of ``if``/``then``), every
``$defs`` entry, and an example instance taken from the golden cases (see
:mod:`lockstep_docgen.examples`). The pages are rendered from the schema
files themselves, so a changed bound or a new enum value shows up in the site
the next time it is built, with no copy to forget.

The renderer understands the subset of JSON Schema the contracts use
(``type``, ``const``, ``enum``, bounds, lengths, ``pattern``, ``items``,
``propertyNames``, ``additionalProperties``, ``required``, ``allOf`` with a
single ``$ref`` or with ``if``/``then``/``else``, ``$defs``, ``$ref`` within
and across files). Anything else is shown verbatim as JSON rather than
dropped, so the page never claims less than the schema says.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from lockstep_docgen.markdown import cell, code, fenced, generated_notice, json_code, table

SCHEMA_DIR_REL: Final = "contracts/src/lockstep/contracts/data/schemas"
SUFFIX: Final = ".schema.json"
PAGE_DIR: Final = "reference/schemas"

# Named bounds, so readers see "2^63 - 1" next to the raw number they would otherwise count digits of.
_NAMED_BOUNDS: Final[Mapping[int, str]] = {
    2**63 - 1: "2^63 - 1, i64 max",
    -(2**63 - 1): "-(2^63 - 1)",
    -(2**63): "-2^63, i64 min",
    2**127 - 1: "2^127 - 1, i128 max",
    -(2**127): "-2^127, i128 min",
}

# Keywords the renderer explains itself; any other keyword is listed verbatim.
_EXPLAINED: Final = frozenset(
    {
        "$schema",
        "$id",
        "$ref",
        "$defs",
        "$comment",
        "title",
        "description",
        "type",
        "const",
        "enum",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "propertyNames",
        "additionalProperties",
        "properties",
        "required",
        "allOf",
        "default",
    }
)


@dataclass(frozen=True)
class Target:
    """Where a ``$ref`` points: the schema file's name, the ``$defs`` entry (or None) and the node."""

    schema: str
    definition: str | None
    node: Mapping[str, Any]


@dataclass
class SchemaSet:
    """Every schema file of the contracts, keyed by file name without ``.schema.json``."""

    schemas: dict[str, dict[str, Any]]
    by_id: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {
            str(schema["$id"]): name for name, schema in self.schemas.items() if "$id" in schema
        }

    @classmethod
    def load(cls, directory: Path, order: Sequence[str] = ()) -> SchemaSet:
        """Read ``*.schema.json`` from ``directory``; names in ``order`` come first, the rest sorted."""
        found = {path.name.removesuffix(SUFFIX): path for path in directory.glob(f"*{SUFFIX}")}
        names = [n for n in order if n in found] + sorted(set(found) - set(order))
        schemas: dict[str, dict[str, Any]] = {}
        for name in names:
            loaded = json.loads(found[name].read_text(encoding="utf-8"))
            if not isinstance(loaded, dict):
                raise ValueError(f"{found[name]}: a schema must be a JSON object")
            schemas[name] = loaded
        return cls(schemas)

    def resolve(self, ref: str, current: str) -> Target:
        """Follow a ``$ref`` (``#/$defs/x`` or ``<$id>#/$defs/x`` or a bare ``$id``)."""
        base, _, fragment = ref.partition("#")
        name = current if not base else self.by_id.get(base)
        if name is None:
            raise ValueError(f"schema {current!r}: $ref {ref!r} names no bundled schema")
        node: Any = self.schemas[name]
        definition: str | None = None
        parts = [p for p in fragment.split("/") if p]
        for part in parts:
            if not isinstance(node, dict) or part not in node:
                raise ValueError(f"schema {current!r}: $ref {ref!r} does not resolve")
            node = node[part]
        if len(parts) == 2 and parts[0] == "$defs":
            definition = parts[1]
        elif parts:
            raise ValueError(f"schema {current!r}: $ref {ref!r} is not a $defs entry")
        return Target(name, definition, node)

    def link(self, ref: str, current: str) -> str:
        """A Markdown link to the section that documents the ``$ref`` target."""
        target = self.resolve(ref, current)
        page = "" if target.schema == current else f"{target.schema}.md"
        if target.definition is None:
            return f"[`{target.schema}`]({page or '#'})"
        label = target.definition if not page else f"{target.schema}.{target.definition}"
        return f"[`{label}`]({page}#{anchor(target.definition)})"

    def references(self) -> dict[tuple[str, str | None], set[str]]:
        """For each ``(schema, definition)`` target, the schemas whose ``$ref`` entries point at it."""
        used: dict[tuple[str, str | None], set[str]] = {}
        for name, schema in self.schemas.items():
            for ref in _refs(schema):
                target = self.resolve(ref, name)
                if target.schema != name:
                    used.setdefault((target.schema, target.definition), set()).add(name)
        return used


def anchor(definition: str) -> str:
    """The HTML id of a ``$defs`` section (set explicitly, so links never depend on slugging)."""
    return definition.replace("_", "-")


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _single_ref(node: Mapping[str, Any]) -> str | None:
    """The ``$ref`` of ``{"$ref": r}`` or of the wrapper ``{"allOf": [{"$ref": r}], ...}``."""
    ref = node.get("$ref")
    if isinstance(ref, str):
        return ref
    all_of = node.get("allOf")
    if (
        isinstance(all_of, list)
        and len(all_of) == 1
        and isinstance(all_of[0], dict)
        and set(all_of[0]) == {"$ref"}
    ):
        value = all_of[0]["$ref"]
        return value if isinstance(value, str) else None
    return None


def _number(value: Any) -> str:
    text = code(json.dumps(value))
    if isinstance(value, int) and not isinstance(value, bool) and value in _NAMED_BOUNDS:
        return f"{text} ({_NAMED_BOUNDS[value]})"
    return text


def _values(values: Sequence[Any]) -> str:
    return ", ".join(json_code(v) for v in values)


@dataclass
class Summary:
    """One field or definition as the tables show it."""

    type: str
    constraints: list[str]
    description: str


class Renderer:
    """Renders the pages of one :class:`SchemaSet`."""

    def __init__(self, schemas: SchemaSet, source_dir: str = SCHEMA_DIR_REL) -> None:
        self.schemas = schemas
        self.source_dir = source_dir
        self.used_by = schemas.references()

    # ------------------------------------------------------------ summaries

    def summarize(self, node: Mapping[str, Any], current: str) -> Summary:
        """Type, constraints and description of a schema node, following a wrapping ``$ref``."""
        ref = _single_ref(node)
        merged: dict[str, Any] = {}
        link = ""
        if ref is not None:
            target = self.schemas.resolve(ref, current)
            merged.update(target.node)
            link = self.schemas.link(ref, current)
            # Further refs inside the target are relative to the target's file.
            if target.schema != current:
                current_for_target = target.schema
                merged = {
                    k: v for k, v in merged.items() if k not in ("items", "propertyNames")
                } | {
                    k: _absolute(v, self.schemas.schemas[current_for_target])
                    for k, v in merged.items()
                    if k in ("items", "propertyNames")
                }
        own = {k: v for k, v in node.items() if k not in ("$ref",)}
        if ref is not None and "allOf" in own:
            del own["allOf"]
        merged.update(own)
        type_text = self._type_text(merged, current)
        if link:
            type_text = f"{link} ({type_text})" if type_text else link
        description = str(merged.get("description", ""))
        return Summary(type_text, self._constraints(merged, current), description)

    def _type_text(self, node: Mapping[str, Any], current: str) -> str:
        if "const" in node:
            return "constant"
        if "enum" in node and "type" not in node:
            return "enum"
        declared = node.get("type")
        types = [declared] if isinstance(declared, str) else list(declared) if declared else []
        words: list[str] = []
        for kind in types:
            if kind == "array" and isinstance(node.get("items"), dict):
                inner = self.summarize(node["items"], current).type or "any"
                words.append(f"array of {inner}")
            elif kind == "object" and _is_map(node):
                words.append("map")
            else:
                words.append(str(kind))
        return " or ".join(words)

    def _constraints(self, node: Mapping[str, Any], current: str) -> list[str]:
        out: list[str] = []
        if "const" in node:
            out.append(f"always {json_code(node['const'])}")
        if "enum" in node:
            out.append(f"one of {_values(node['enum'])}")
        low, high = node.get("minimum"), node.get("maximum")
        if low is not None and high is not None:
            out.append(f"from {_number(low)} to {_number(high)}")
        elif low is not None:
            out.append(f"at least {_number(low)}")
        elif high is not None:
            out.append(f"at most {_number(high)}")
        if "exclusiveMinimum" in node:
            out.append(f"above {_number(node['exclusiveMinimum'])}")
        if "exclusiveMaximum" in node:
            out.append(f"below {_number(node['exclusiveMaximum'])}")
        out += _range("length", node.get("minLength"), node.get("maxLength"))
        if "pattern" in node:
            out.append(f"matches {code(str(node['pattern']))}")
        out += _range("items", node.get("minItems"), node.get("maxItems"))
        if node.get("uniqueItems"):
            out.append("items unique")
        items = node.get("items")
        if isinstance(items, dict) and _single_ref(items) is None:
            inner = self.summarize(items, current).constraints
            if inner:
                out.append("each item: " + "; ".join(inner))
        if _is_map(node):
            keys = (
                self.summarize(node["propertyNames"], current) if "propertyNames" in node else None
            )
            values = node.get("additionalProperties")
            key_text = "string"
            if keys is not None:
                key_text = " ".join(filter(None, [keys.type, *keys.constraints])) or "string"
            value_text = self.summarize(values, current).type if isinstance(values, dict) else "any"
            out.append(f"keys: {key_text}; values: {value_text or 'any'}")
        elif node.get("additionalProperties") is False and "properties" in node:
            out.append("closed: no other keys")
        if "default" in node:
            out.append(f"default {json_code(node['default'])}")
        for key in sorted(set(node) - _EXPLAINED):
            out.append(f"{code(key)}: {json_code(node[key])}")
        return out

    # ---------------------------------------------------------------- objects

    def object_section(
        self, node: Mapping[str, Any], current: str, level: int, path: str = ""
    ) -> list[str]:
        """The field table of an object node, its conditional rules and nested inline objects."""
        lines: list[str] = []
        properties = node.get("properties")
        required = set(node.get("required", []))
        if isinstance(properties, dict) and properties:
            rows = []
            for name, sub in properties.items():
                summary = self.summarize(sub, current) if isinstance(sub, dict) else None
                rows.append(
                    [
                        code(f"{path}{name}"),
                        summary.type if summary else json_code(sub),
                        "yes" if name in required else "no",
                        "<br>".join(summary.constraints) if summary else "",
                        cell(summary.description) if summary else "",
                    ]
                )
            lines += table(["Field", "Type", "Required", "Constraints", "Description"], rows)
            lines.append("")
            if node.get("additionalProperties") is False:
                lines += ["The object is closed: keys not listed above are rejected.", ""]
            elif "additionalProperties" not in node:
                lines += ["Keys not listed above are allowed at this level.", ""]
        extra_required = sorted(required - set(properties or {}))
        if extra_required:
            lines += [f"Required keys: {', '.join(code(k) for k in extra_required)}.", ""]
        lines += self.conditional_rules(node, current)
        for name, sub in (properties or {}).items():
            if not isinstance(sub, dict) or _single_ref(sub) is not None:
                continue
            inline = sub
            if sub.get("type") == "array" and isinstance(sub.get("items"), dict):
                inline = sub["items"]
                if _single_ref(inline) is not None:
                    continue
            if isinstance(inline.get("properties"), dict):
                label = f"{path}{name}" + ("[]" if inline is not sub else "")
                heading = "#" * min(level + 1, 6)
                lines += [f"{heading} `{label}`", ""]
                if inline.get("description") and inline is not sub:
                    lines += [str(inline["description"]), ""]
                lines += self.object_section(inline, current, level + 1, path=f"{label}.")
        return lines

    def conditional_rules(self, node: Mapping[str, Any], current: str) -> list[str]:
        """``allOf`` entries as sentences ("when `type` is ..., ..."), one bullet each."""
        all_of = node.get("allOf")
        if not isinstance(all_of, list) or _single_ref(node) is not None:
            return []
        bullets = []
        for entry in all_of:
            if not isinstance(entry, dict):
                continue
            if "if" in entry:
                when = self._condition(entry["if"])
                then = self._requirement(entry.get("then", {}), current)
                text = f"When {when}: {then}."
                if "else" in entry:
                    text += f" Otherwise: {self._requirement(entry['else'], current)}."
                bullets.append(f"- {text}")
            elif set(entry) == {"$ref"}:
                bullets.append(
                    f"- The object also matches {self.schemas.link(entry['$ref'], current)}."
                )
            else:
                bullets.append(f"- Also: {json_code(entry)}.")
        if not bullets:
            return []
        return ["Conditional rules (`allOf`):", "", *bullets, ""]

    def _condition(self, node: Mapping[str, Any]) -> str:
        parts = []
        for key, sub in (node.get("properties") or {}).items():
            if isinstance(sub, dict) and "const" in sub:
                parts.append(f"{code(key)} is {json_code(sub['const'])}")
            elif isinstance(sub, dict) and "enum" in sub:
                parts.append(f"{code(key)} is one of {_values(sub['enum'])}")
            else:
                parts.append(f"{code(key)} matches {json_code(sub)}")
        rest = {k: v for k, v in node.items() if k not in ("properties", "required")}
        if rest:
            parts.append(f"the object matches {json_code(rest)}")
        return " and ".join(parts) or json_code(dict(node))

    def _requirement(self, node: Mapping[str, Any], current: str) -> str:
        if set(node) == {"$ref"}:
            return f"the object must match {self.schemas.link(node['$ref'], current)}"
        parts = []
        for key, sub in (node.get("properties") or {}).items():
            if not isinstance(sub, dict):
                parts.append(f"{code(key)} matches {json_code(sub)}")
                continue
            summary = self.summarize(sub, current)
            detail = "; ".join(summary.constraints)
            if "const" in sub:
                parts.append(f"{code(key)} must be {json_code(sub['const'])}")
            elif _single_ref(sub) is not None and set(sub) <= {"$ref", "allOf", "description"}:
                parts.append(f"{code(key)} follows {summary.type}")
            elif isinstance(sub.get("properties"), dict):
                inner = self._requirement(sub, current)
                parts.append(f"in {code(key)}, {inner}")
            else:
                text = " ".join(filter(None, [summary.type, detail]))
                parts.append(
                    f"{code(key)} is {text}" if text else f"{code(key)} matches {json_code(sub)}"
                )
        if node.get("required"):
            parts.append("required: " + ", ".join(code(k) for k in node["required"]))
        rest = {k: v for k, v in node.items() if k not in ("properties", "required")}
        if rest:
            parts.append(f"also {json_code(rest)}")
        return "; ".join(parts) or "no further rule"

    # ------------------------------------------------------------------ pages

    def page(self, name: str, example: tuple[str, Any] | None) -> str:
        """The whole Markdown page for schema ``name``; ``example`` is (where it comes from, value)."""
        schema = self.schemas.schemas[name]
        source = f"{self.source_dir}/{name}{SUFFIX}"
        title = str(schema.get("title", name))
        lines = [generated_notice(source), "", f"# {title}", ""]
        if schema.get("description"):
            lines += [str(schema["description"]), ""]
        facts = [
            ["File", code(source)],
            ["`$id`", code(str(schema.get("$id", "")))],
            ["Dialect", code(str(schema.get("$schema", "")))],
        ]
        used_by = sorted(self.used_by.get((name, None), set()))
        if used_by:
            facts.append(["Referenced by", ", ".join(f"[`{u}`]({u}.md)" for u in used_by)])
        lines += table(["Property", "Value"], facts)
        lines.append("")
        if isinstance(schema.get("properties"), dict) or schema.get("type") == "object":
            lines += ["## Fields", ""]
            if schema.get("$comment"):
                lines += [f"Note from the schema: {schema['$comment']}", ""]
            lines += self.object_section(schema, name, level=2)
        definitions = schema.get("$defs") or {}
        if definitions:
            lines += ["## Definitions", ""]
            lines += [
                "Each entry of `$defs`, in file order; fields elsewhere link here.",
                "",
            ]
        for def_name, node in definitions.items():
            lines += [f"### `{def_name}` {{#{anchor(def_name)}}}", ""]
            if not isinstance(node, dict):
                lines += [json_code(node), ""]
                continue
            summary = self.summarize(node, name)
            if summary.description:
                lines += [cell(summary.description), ""]
            users = sorted(self.used_by.get((name, def_name), set()))
            if isinstance(node.get("properties"), dict):
                lines += self.object_section(node, name, level=3)
            else:
                facts = [["Type", summary.type or "any"]]
                facts += [["Constraint", c] for c in summary.constraints]
                lines += table(["Property", "Value"], facts)
                lines.append("")
            if users:
                lines += [
                    "Used by: " + ", ".join(f"[`{u}`]({u}.md)" for u in users) + ".",
                    "",
                ]
        lines += ["## Example", ""]
        if example is None:
            lines += [
                "This schema only holds shared definitions; the other schemas' examples use them.",
                "",
            ]
        else:
            where, value = example
            lines += [f"From {where}; it validates against this schema.", ""]
            lines += fenced(json.dumps(value, indent=2, ensure_ascii=False), "json")
            lines.append("")
        return "\n".join(lines)

    def index(self) -> str:
        """The overview page listing every schema with its title and description."""
        lines = [
            generated_notice(self.source_dir),
            "",
            "# JSON Schemas",
            "",
            "The contracts every backend shares are JSON Schemas (draft 2020-12) bundled in",
            f"`lockstep-contracts` under `{self.source_dir}`. Each page below is generated",
            "from the schema file when the site is built, and each example is taken from",
            "the golden cases and validated against its schema during the build.",
            "",
        ]
        rows = []
        for name, schema in self.schemas.schemas.items():
            rows.append(
                [
                    f"[`{name}`]({name}.md)",
                    cell(str(schema.get("title", ""))),
                    cell(str(schema.get("description", ""))),
                ]
            )
        lines += table(["Schema", "Title", "What it describes"], rows)
        lines.append("")
        return "\n".join(lines)


def _range(what: str, low: Any, high: Any) -> list[str]:
    """``length 1 to 128``, ``items: at least 1``; nothing when neither bound is set."""
    if low is not None and high is not None:
        return [f"{what}: {low} to {high}"]
    if low is not None:
        return [f"{what}: at least {low}"]
    if high is not None:
        return [f"{what}: at most {high}"]
    return []


def _is_map(node: Mapping[str, Any]) -> bool:
    """An object used as a dictionary: no fixed properties, a schema for keys or values."""
    return "properties" not in node and (
        "propertyNames" in node or isinstance(node.get("additionalProperties"), dict)
    )


def _absolute(node: Any, schema: Mapping[str, Any]) -> Any:
    """``node`` with local ``#/...`` refs made absolute against ``schema``'s ``$id``."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#"):
                out[key] = f"{schema.get('$id', '')}{value}"
            else:
                out[key] = _absolute(value, schema)
        return out
    if isinstance(node, list):
        return [_absolute(item, schema) for item in node]
    return node
