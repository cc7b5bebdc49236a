"""One exception tree for everything brownout raises on purpose.

    BrownoutError
    ├── SpecError          an experiment file is invalid (file, line, column, field, hint)
    │   └── SpecErrors     several SpecErrors found in one pass, reported together
    ├── TargetError        a target cannot be resolved or reached
    │   └── NotSteadyError the steady-state hypothesis did not hold
    ├── InjectError        a fault could not be applied (includes safety-rail refusals)
    │   └── RefusedError   a safety rail refused the fault; names the rule
    ├── RollbackError      a fault could not be undone, even after retries
    ├── ProbeError         a probe could not run (wraps the transport error)
    ├── LoadError          the load generator failed
    ├── SandboxError       the embedded sandbox failed to start or stop
    ├── JournalError       the journal cannot be read
    ├── HarnessError       a harness component (load process, fault proxy, probe loop) died or hangs
    └── AbortedError       a stop condition fired; carries the guard name

The CLI maps each class to an exit code in one place (`brownout.cli.main`, codes in `brownout.exit_codes`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AbortedError",
    "BrownoutError",
    "HarnessError",
    "InjectError",
    "JournalError",
    "LoadError",
    "NotSteadyError",
    "ProbeError",
    "RefusedError",
    "RollbackError",
    "SandboxError",
    "SpecError",
    "SpecErrors",
    "TargetError",
]


class BrownoutError(Exception):
    """Root of every error brownout raises on purpose."""


@dataclass(eq=False)
class SpecError(BrownoutError):
    """A problem in an experiment file, located as precisely as we can.

    `field` is a dotted path such as `faults[0].schedule.start`; `line` and
    `column` are 1-based and None when the problem has no single location
    (for example a file that cannot be read at all).
    """

    message: str
    file: str = "<string>"
    line: int | None = None
    column: int | None = None
    field: str | None = None
    hint: str | None = None

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: "
        if self.field:
            text += f"{self.field}: "
        text += self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class SpecErrors(SpecError):
    """Several located problems found in one pass; `errors` lists them all."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = list(errors)
        first = self.errors[0] if self.errors else SpecError("no errors")
        super().__init__(first.message, first.file, first.line, first.column, first.field, first.hint)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class TargetError(BrownoutError):
    """A target cannot be resolved or reached."""


class NotSteadyError(TargetError):
    """The steady-state hypothesis did not hold; no fault was injected."""


class InjectError(BrownoutError):
    """A fault could not be applied."""


class RefusedError(InjectError):
    """A safety rail refused a fault. `rule` names the rail."""

    def __init__(self, rule: str, message: str) -> None:
        self.rule = rule
        super().__init__(f"refused by safety rail '{rule}': {message}")


class RollbackError(BrownoutError):
    """A fault could not be undone even after retries. The journal keeps it open."""


class ProbeError(BrownoutError):
    """A probe could not run at all (as opposed to running and failing its check)."""


class LoadError(BrownoutError):
    """The load generator failed to start or crashed."""


class SandboxError(BrownoutError):
    """The embedded sandbox failed to start, answer or stop."""


class JournalError(BrownoutError):
    """The journal cannot be read."""


class HarnessError(BrownoutError):
    """A harness component died or stopped answering mid-run: the run ends, unscored, after rollback."""


class AbortedError(BrownoutError):
    """A stop condition fired and the run was aborted after rollback."""

    def __init__(self, guard: str, reason: str) -> None:
        self.guard = guard
        self.reason = reason
        super().__init__(f"stop condition '{guard}' fired: {reason}")
