"""YAML → plain Python, remembering where every key and item came from (cfn-lint style).

Marks are kept in a dict keyed by key path (`services.redpanda.ports[0].port`), 1-based line/column of the
*key* for mapping entries and of the *item* for sequence items, so errors point where a user would look.
Duplicate keys are errors (PyYAML silently keeps the last one).
"""
from __future__ import annotations

from dataclasses import dataclass

import yaml

from harness.errors import Problem, TopologyError


@dataclass(frozen=True)
class Mark:
    line: int
    col: int


_constructor = yaml.constructor.SafeConstructor()


def _scalar(node: yaml.ScalarNode):
    return _constructor.construct_object(node, deep=True)


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


class _Builder:
    def __init__(self, filename: str):
        self.filename = filename
        self.marks: dict[str, Mark] = {}
        self.problems: list[Problem] = []

    def mark(self, node: yaml.Node) -> Mark:
        return Mark(node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, path: str):
        if isinstance(node, yaml.MappingNode):
            out: dict = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    m = self.mark(key_node)
                    self.problems.append(Problem(self.filename, m.line, m.col, path or "(top level)",
                                                 "a key must be a plain string", "write `name: value`"))
                    continue
                key = _scalar(key_node)
                if key == "<<":  # merge key: fold the aliased mapping(s) in
                    merged = self.build(value_node, path)
                    for item in merged if isinstance(merged, list) else [merged]:
                        if isinstance(item, dict):
                            for k, v in item.items():
                                out.setdefault(k, v)
                    continue
                key = str(key)
                child = join(path, key)
                if key in out:
                    m, first = self.mark(key_node), self.marks.get(child)
                    where = f" (first at line {first.line})" if first else ""
                    self.problems.append(Problem(self.filename, m.line, m.col, child,
                                                 f"duplicate key '{key}'{where}", "keep one of them"))
                    continue
                self.marks[child] = self.mark(key_node)
                out[key] = self.build(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                child = join(path, i)
                self.marks[child] = self.mark(item)
                items.append(self.build(item, child))
            return items
        return _scalar(node)


def load_yaml(text: str, filename: str) -> tuple[object, dict[str, Mark]]:
    """Parse text; raise TopologyError (never a yaml exception) on syntax errors or duplicate keys."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "not valid YAML"
        raise TopologyError([Problem(filename, line, col, "", f"YAML syntax: {what}",
                                     "fix the indentation or quoting at this position")]) from None
    except yaml.YAMLError as exc:  # e.g. reader errors on control characters
        raise TopologyError([Problem(filename, 1, 1, "", f"YAML syntax: {exc}", "save the file as UTF-8 text")]) from None
    except (RecursionError, ValueError) as exc:
        raise TopologyError([Problem(filename, 1, 1, "", f"YAML could not be read: {exc}", "simplify the document")]) from None
    if root is None:
        raise TopologyError([Problem(filename, 1, 1, "", "the file is empty", "start from `topo init` or the reference topology.yaml")])
    builder = _Builder(filename)
    builder.marks[""] = builder.mark(root)
    try:
        data = builder.build(root, "")
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise TopologyError([Problem(filename, 1, 1, "", f"YAML could not be read: {exc}", "simplify the document")]) from None
    if builder.problems:
        raise TopologyError(builder.problems)
    return data, builder.marks
