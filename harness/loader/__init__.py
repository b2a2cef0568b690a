"""topology.yaml → Topology. Two passes: the JSON Schema (shape), then meaning (semantic.py).

Users only ever see TopologyError, whose problems read `topology.yaml:LINE:COL: key.path: what; what to do`.
"""
from __future__ import annotations

from pathlib import Path

from harness.errors import Problem, TopologyError
from harness.loader.schema import validate_schema
from harness.loader.semantic import build_model, check
from harness.loader.yamlmarks import MAX_FILE_BYTES, START_HINT, check_size, load_yaml, position
from harness.model import Topology


def load_text(text: str, file: str = "topology.yaml") -> tuple[Topology, list[Problem]]:
    """Parse and validate; return the model and the warnings. Raise TopologyError on any error."""
    data, marks = load_yaml(text, file)
    if not isinstance(data, dict):
        m = marks[""]
        raise TopologyError([Problem(file, m.line, m.col, "(top level)", "the file must be a mapping of keys",
                                     START_HINT)])
    problems = validate_schema(data, file, marks)
    if problems:
        raise TopologyError(problems)
    topology, problems = build_model(data, file, marks)
    problems += check(topology)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise TopologyError(errors)
    return topology, [p for p in problems if p.severity != "error"]


def load(path: str | Path = "topology.yaml") -> tuple[Topology, list[Problem]]:
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)  # never more: a huge (or endless) file is refused, not read
    except FileNotFoundError:
        raise TopologyError([Problem(str(path), 1, 1, "", "file not found",
                                     "run topo in the folder holding topology.yaml, or pass -f PATH")]) from None
    except OSError as exc:
        raise TopologyError([Problem(str(path), 1, 1, "", f"cannot read: {exc.strerror}", "check the path")]) from None
    check_size(len(data), str(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # locate the first bad byte: everything before it is valid UTF-8
        before = data[:exc.start].decode("utf-8")
        m = position(before, len(before))
        raise TopologyError([Problem(str(path), m.line, m.col, "", f"not UTF-8 text (byte {exc.start})",
                                     "save the file as UTF-8")]) from None
    return load_text(text, str(path))
