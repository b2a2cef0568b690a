"""One exception family. Library code raises these; only the CLI and the pytest plugin turn them into exits."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One located finding: `file:line:col: key.path: what is wrong; what to do`."""

    file: str
    line: int
    col: int
    path: str
    message: str
    hint: str = ""
    severity: str = "error"  # "error" | "warning" | "notice"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        if self.hint:
            text += f"; {self.hint}"
        if self.severity != "error":
            text = f"{text} [{self.severity}]"
        return text

    def as_dict(self) -> dict:
        return {
            "file": self.file, "line": self.line, "col": self.col, "path": self.path,
            "message": self.message, "hint": self.hint, "severity": self.severity,
        }


class TopoError(Exception):
    """Base of every error topo raises on purpose."""


class TopologyError(TopoError):
    """The topology is invalid; carries every problem found, sorted by position."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.col, p.path))
        super().__init__("\n".join(str(p) for p in self.problems))


class RenderError(TopoError):
    """A target cannot represent the topology (or `--strict` turned a warning into an error)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class CommandError(TopoError):
    """An external command failed; carries the command, exit code, stdout and stderr."""

    def __init__(self, cmd: list[str], returncode: int, stdout: str = "", stderr: str = "", hint: str = ""):
        self.cmd, self.returncode, self.stdout, self.stderr, self.hint = cmd, returncode, stdout, stderr, hint
        tail = "\n".join((stderr or stdout).strip().splitlines()[-15:])
        msg = f"command failed (exit {returncode}): {' '.join(cmd)}"
        if tail:
            msg += f"\n{tail}"
        if hint:
            msg += f"\nhint: {hint}"
        super().__init__(msg)
