"""YAML → plain Python, remembering where every key and item came from (cfn-lint style).

Marks are kept in a dict keyed by key path (`services.redpanda.ports[0].port`), 1-based line/column of the
*key* for mapping entries and of the *item* for sequence items, so errors point where a user would look.
Duplicate keys are errors (PyYAML silently keeps the last one).

Hostile input is refused with a located problem, never a hang, a MemoryError or a traceback:
- the text is checked for characters YAML forbids (NUL, other control characters) before PyYAML sees it, so
  the problem names the character's own line:col;
- only the standard tags are accepted (`!foo`, `!!python/object`, `!!binary`, ... are refused where written);
- the loader limits below bound the file, the nesting and the work alias expansion may cause.

Aliases and merge keys. An alias (`*name`) is expanded at every place it is used; the keys inside it keep the
marks of their definition (the anchored mapping), because that is where the text to fix is, and the key path
names the place of use (`services.web.env.X`). Merge keys (`<<: *a`, `<<: [*a, *b]`) follow the YAML 1.1
merge spec: a key written in the mapping wins over a merged one wherever it is written; among merged mappings
the first one listed wins. A merged key keeps the mark of its origin (the anchored mapping); a key written
explicitly keeps its own mark, so a problem in an overridden value points at the override.

Strings stay strings. YAML 1.1 quietly turns `NO`, `yes`, `on` into booleans, `0777` into 511, `1.10` into
1.1 and `~` into nothing. Where topo wants text — env values (`services.*.env.*` and the `env_contract`
mapping aliased into them) and command items (`services.*.command[*]`, `services.*.healthcheck.command[*]`) —
the loader keeps the scalar's exact source text instead (`NO` stays "NO", `0777` stays "0777"). A value with
no text at all (empty, `~`, `null`) is refused there with a located problem telling the user to quote it,
because "unset" and "empty string" mean different things to a container runtime.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from harness.errors import Problem, TopologyError

# Loader limits (tests/test_yaml_hostile.py keeps the reference at most 1/10 of each). The
# reference topology.yaml (11.4 KiB) builds to 561 nodes after alias expansion (1016 counting keys), nests 8
# levels deep and expands 10 aliases. The limits sit far above that, yet low enough that a hostile file is
# refused quickly: a 10 KB alias bomb in ~0.1 s. The file size bounds the parse: PyYAML (pure Python, kept for its
# error messages; libyaml words them differently) takes 3-6 s for a pathological 128 KiB flow list of 65k
# scalars, ~0.1 s for the reference.
MAX_FILE_BYTES = 128 * 1024  # ~11x the reference file; a topology is hand-written, not generated data
MAX_NODES = 100_000  # ~180x the reference's 561 nodes after expansion; stops "billion laughs" alias bombs
MAX_DEPTH = 100  # reference: 8; also keeps PyYAML's recursive composer far from Python's recursion limit
MAX_ALIAS_EXPANSIONS = 1_000  # reference: 10 (100x); bounds the work of aliases inside aliases (and of merges)

_YAML = "tag:yaml.org,2002:"
MERGE_TAG = _YAML + "merge"
_NULL_TAG = _YAML + "null"
# tags a user may write explicitly, per kind of node; everything else (custom `!foo`, `!!python/...`,
# `!!binary`, `!!set`, `!!omap`, ...) is refused where it is written
_ALLOWED_TAGS = {
    yaml.ScalarEvent: {_YAML + t for t in ("str", "int", "float", "bool", "null", "timestamp")},
    yaml.SequenceStartEvent: {_YAML + "seq"},
    yaml.MappingStartEvent: {_YAML + "map"},
}
# what YAML allows in a stream (YAML 1.1 §5.1 c-printable, as PyYAML's reader checks it)
_NON_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # what PyYAML counts as a new line
# PyYAML's message → a hint that fits better than "fix the indentation or quoting"
_SYNTAX_HINTS = (
    ("second document", "remove this `---` and what follows, or merge it into the first document"),
    ("undefined alias", "define the anchor (`&name`) before its first alias, or quote the value if `*` is text"),
    ("duplicate anchor", "give each anchor its own name"),
)
# what to write first (there is no `topo init`)
START_HINT = "start with `version: 1`, `project:`, `services:` — see topology.yaml in the repository"
_CONTROL_NAMES = {0: "NUL", 7: "BEL", 8: "backspace", 0x0B: "vertical tab", 0x0C: "form feed", 0x1B: "ESC",
                  0x7F: "DEL"}


@dataclass(frozen=True)
class Mark:
    line: int
    col: int


_constructor = yaml.constructor.SafeConstructor()


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def position(text: str, index: int) -> Mark:
    """1-based line/col of text[index], counting line breaks the way PyYAML's marks do."""
    line, start = 1, 0
    for m in _LINE_BREAK.finditer(text, 0, index):
        line, start = line + 1, m.end()
    return Mark(line, index - start + 1)


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_YAML):] if tag.startswith(_YAML) else tag


def _is_text(parts: tuple) -> bool:
    """Paths whose scalars topo reads as text: env values and command items (see the module docstring)."""
    if len(parts) == 2 and parts[0] == "env_contract":
        return True
    if len(parts) < 4 or parts[0] != "services":
        return False
    if len(parts) == 4:
        return parts[2] == "env" or (parts[2] == "command" and isinstance(parts[3], int))
    return len(parts) == 5 and parts[2:4] == ("healthcheck", "command") and isinstance(parts[4], int)


class _Refused(Exception):
    """A limit was hit: stop at once with this one located problem."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


class _Loader(yaml.SafeLoader):
    """PyYAML's composer, plus: refuse foreign tags and deep nesting where written; give each alias its own node.

    PyYAML returns the anchored node itself for an alias, losing where the alias was written; here an alias
    becomes a shallow copy marked at the alias, with `alias_of` pointing at the anchored node, so the builder
    can count expansions and say which alias went too far.
    """

    def __init__(self, text: str, filename: str):
        super().__init__(text)
        self.filename = filename
        self.depth = 0
        self.problems: list[Problem] = []

    def _problem(self, mark, path: str, message: str, hint: str) -> Problem:
        return Problem(self.filename, mark.line + 1, mark.column + 1, path, message, hint)

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            if event.anchor not in self.anchors:
                return super().compose_node(parent, index)  # PyYAML's located "found undefined alias"
            self.get_event()
            target = self.anchors[event.anchor]
            if isinstance(target, yaml.ScalarNode):
                node = yaml.ScalarNode(target.tag, target.value, event.start_mark, event.end_mark, target.style)
            else:
                node = type(target)(target.tag, target.value, event.start_mark, event.end_mark, target.flow_style)
            node.alias_of, node.anchor = target, event.anchor
            return node
        event = self.peek_event()
        tag = getattr(event, "tag", None)
        allowed = _ALLOWED_TAGS.get(type(event), set())
        if tag not in (None, "!") and tag not in allowed:
            self.problems.append(self._problem(
                event.start_mark, "", f"the YAML tag '{_tag_name(tag)}' is not supported",
                "topo reads plain YAML: remove the tag (quote the value if it is meant as text)"))
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _Refused(self._problem(event.start_mark, "", f"nested more than {MAX_DEPTH} levels deep",
                                             "a topology needs fewer than 10 levels; flatten the structure"))
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Builder:
    def __init__(self, filename: str):
        self.filename = filename
        self.marks: dict[str, Mark] = {}
        self.problems: list[Problem] = []
        self.nodes = 0
        self.aliases = 0
        self.depth = 0
        self.expanding: list[tuple[yaml.Node, str]] = []  # the aliases being expanded (and where), outermost first
        self.open: set[int] = set()  # ids of the collections being built (an alias to one of them is a cycle)

    def mark(self, node: yaml.Node) -> Mark:
        return Mark(node.start_mark.line + 1, node.start_mark.column + 1)

    def problem(self, node: yaml.Node, path: str, message: str, hint: str) -> Problem:
        m = self.mark(node)
        return Problem(self.filename, m.line, m.col, path, message, hint)

    def refuse(self, node: yaml.Node, path: str, message: str, hint: str):
        """Stop at a limit; point at the outermost alias being expanded (the one the user wrote that pulled in
        too much), or at the node itself when no alias is involved."""
        where, path = self.expanding[0] if self.expanding else (node, path)
        raise _Refused(self.problem(where, path or "(top level)", message, hint))

    def count(self, node: yaml.Node, path: str) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.refuse(node, path, f"the document expands to more than {MAX_NODES} nodes",
                        "aliases repeat what they name; an alias of aliases multiplies it (an alias bomb?)")

    def deref(self, node: yaml.Node, path: str) -> yaml.Node:
        """The anchored node behind an alias (counting the expansion), or the node itself."""
        target = getattr(node, "alias_of", None)
        if target is None:
            return node
        self.aliases += 1
        if id(target) in self.open:
            raise _Refused(self.problem(node, path, f"alias *{node.anchor} is used inside its own anchor",
                                        "an alias can only repeat something defined outside it"))
        if self.aliases > MAX_ALIAS_EXPANSIONS:
            self.refuse(node, path, f"more than {MAX_ALIAS_EXPANSIONS} alias expansions",
                        "aliases repeat what they name; an alias of aliases multiplies it (an alias bomb?)")
        return target

    def build(self, node: yaml.Node, path: str, parts: tuple = ()):
        self.count(node, path)
        target = self.deref(node, path)
        if target is not node:
            self.expanding.append((node, path))
            try:
                return self.build_node(target, path, parts)
            finally:
                self.expanding.pop()
        return self.build_node(node, path, parts)

    def build_node(self, node: yaml.Node, path: str, parts: tuple):
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path, parts)
        self.depth += 1
        self.open.add(id(node))
        try:
            if self.depth > MAX_DEPTH:
                self.refuse(node, path, f"nested more than {MAX_DEPTH} levels deep once aliases are expanded",
                            "a topology needs fewer than 10 levels; flatten the structure")
            if isinstance(node, yaml.SequenceNode):
                items = []
                for i, item in enumerate(node.value):
                    child = join(path, i)
                    self.marks[child] = self.mark(item)
                    items.append(self.build(item, child, parts + (i,)))
                return items
            out: dict = {}
            for key, key_node, value_node in self.entries(node, path):
                child = join(path, key)
                self.marks[child] = self.mark(key_node)
                out[key] = self.build(value_node, child, parts + (key,))
            return out
        finally:
            self.open.discard(id(node))
            self.depth -= 1

    def scalar(self, node: yaml.ScalarNode, path: str, parts: tuple):
        if _is_text(parts):
            if node.tag == _NULL_TAG and node.style is None:
                shown = f"`{node.value}` means" if node.value else "an empty value is"
                self.problems.append(self.problem(
                    node, path, f"{shown} no value in YAML, not text",
                    f'quote it: `{parts[-1]}: "{node.value}"` (or remove the line)' if isinstance(parts[-1], str)
                    else f'quote it: "{node.value}" (or remove the item)'))
                return ""
            return node.value  # the exact source text (see the module docstring)
        try:
            return _constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, KeyError, TypeError, OverflowError):
            # e.g. `!!int abc`, `!!bool maybe`, or an integer of more digits than Python converts (4300)
            shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
            self.problems.append(self.problem(node, path, f"'{shown}' cannot be read as {_tag_name(node.tag)}",
                                              "quote it if it is text, or fix the value"))
            return None

    def entries(self, node: yaml.MappingNode, path: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """The mapping's (key, key node, value node), merge keys applied, in the order written: a merged key
        appears where its `<<` is written unless the mapping writes the key itself (the override wins)."""
        explicit: dict[str, yaml.Node] = {}
        merge_at: yaml.Node | None = None
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(self.problem(key_node, path or "(top level)", "a key must be a plain string",
                                                  "write `name: value`"))
            elif key_node.tag == MERGE_TAG:
                if merge_at is not None:
                    self.problems.append(self.problem(key_node, path or "(top level)",
                                                      f"duplicate key '<<' (first at line {self.mark(merge_at).line})",
                                                      "merge several mappings with one `<<: [*a, *b]`"))
                merge_at = merge_at or key_node
            else:
                key = key_node.value  # keys are text: `on:` is the key "on", never True
                if key in explicit:
                    first = self.mark(explicit[key])
                    self.problems.append(self.problem(key_node, join(path, key),
                                                      f"duplicate key '{key}' (first at line {first.line})",
                                                      "keep one of them"))
                else:
                    explicit[key] = key_node
        out: list[tuple[str, yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            if key_node is merge_at:
                taken = set(explicit)
                for key, k, v in self.merged(value_node, path):
                    if key not in taken:
                        taken.add(key)
                        out.append((key, k, v))
            elif key_node.tag != MERGE_TAG and explicit.get(key_node.value) is key_node:
                out.append((key_node.value, key_node, value_node))
        return out

    def merged(self, value: yaml.Node, path: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """The entries a `<<` brings in: one mapping, or a list of mappings where the first listed wins."""
        hint = "`<<` merges mappings: write `<<: *name` or `<<: [*a, *b]` with anchors of mappings"
        self.count(value, path)
        target = self.deref(value, path)
        sources = [value] if isinstance(target, yaml.MappingNode) else []
        if isinstance(target, yaml.SequenceNode):
            sources = list(target.value)
        elif not isinstance(target, yaml.MappingNode):
            self.problems.append(self.problem(value, path or "(top level)", "`<<` needs a mapping here", hint))
            return []
        out, seen = [], set()
        for source in sources:
            if source is not value:
                self.count(source, path)
                mapping = self.deref(source, path)
            else:
                mapping = target
            if not isinstance(mapping, yaml.MappingNode):
                self.problems.append(self.problem(source, path or "(top level)",
                                                  "`<<` can only merge mappings; this item is not one", hint))
                continue
            self.open.add(id(mapping))
            alias = source if mapping is not source else None
            if alias is not None:
                self.expanding.append((alias, path))
            try:
                for key, k, v in self.entries(mapping, path):
                    self.count(k, path)
                    if key not in seen:
                        seen.add(key)
                        out.append((key, k, v))
            finally:
                if alias is not None:
                    self.expanding.pop()
                self.open.discard(id(mapping))
        return out


def _check_characters(text: str, filename: str) -> None:
    bad = _NON_PRINTABLE.search(text)
    if bad is None:
        return
    m = position(text, bad.start())
    code = ord(bad.group())
    name = f"U+{code:04X}" + (f" ({_CONTROL_NAMES[code]})" if code in _CONTROL_NAMES else "")
    if code == 0:
        hint = "a text file never holds NUL: is it UTF-16 or binary? save it as UTF-8 text"
    elif 0xD800 <= code <= 0xDFFF:
        hint = "the text is not valid Unicode; save the file as UTF-8"
    else:
        hint = "delete it (inside double quotes it can be written as an escape, e.g. \"\\t\")"
    raise TopologyError([Problem(filename, m.line, m.col, "", f"character {name} is not allowed in YAML", hint)])


def check_size(size: int, filename: str) -> None:
    if size > MAX_FILE_BYTES:
        raise TopologyError([Problem(filename, 1, 1, "", f"the file is larger than {MAX_FILE_BYTES // 1024} KiB",
                                     "a topology is a hand-written file of a few KiB; is this the right file?")])


def load_yaml(text: str, filename: str) -> tuple[object, dict[str, Mark]]:
    """Parse text; raise TopologyError (never a yaml exception) on syntax errors or duplicate keys."""
    check_size(len(text), filename)
    check_size(len(text.encode("utf-8", "surrogatepass")), filename)
    _check_characters(text, filename)
    loader = _Loader(text, filename)
    try:
        root = loader.get_single_node()
    except _Refused as exc:
        raise TopologyError([exc.problem]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "not valid YAML"
        if what == "but found another document":  # PyYAML's context says "expected a single document"
            what = "a second document starts here; topo reads one"
        if exc.context and "duplicate anchor" in exc.context and exc.context_mark:  # PyYAML: "second occurrence"
            what = f"{exc.context.split(';')[0]} (first at line {exc.context_mark.line + 1})"
        hint = next((h for word, h in _SYNTAX_HINTS if word in what), "fix the indentation or quoting at this position")
        raise TopologyError([Problem(filename, line, col, "", f"YAML syntax: {what}", hint)]) from None
    except yaml.YAMLError as exc:  # not expected after _check_characters; kept so no yaml exception escapes
        raise TopologyError([Problem(filename, 1, 1, "", f"YAML syntax: {exc}", "save the file as UTF-8 text")]) from None
    except (RecursionError, ValueError) as exc:
        raise TopologyError([Problem(filename, 1, 1, "", f"YAML could not be read: {exc}", "simplify the document")]) from None
    finally:
        loader.dispose()
    if loader.problems:
        raise TopologyError(loader.problems)
    if root is None:
        raise TopologyError([Problem(filename, 1, 1, "", "the file is empty", START_HINT)])
    builder = _Builder(filename)
    builder.marks[""] = builder.mark(root)
    try:
        data = builder.build(root, "")
    except _Refused as exc:
        raise TopologyError([exc.problem]) from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise TopologyError([Problem(filename, 1, 1, "", f"YAML could not be read: {exc}", "simplify the document")]) from None
    if builder.problems:
        raise TopologyError(builder.problems)
    return data, builder.marks
