"""Domain errors: values users can act on. Each interface maps them to a response in one place."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: where (`loc`), what (`msg`), for gates which stage, and
    for a process definition the YAML line and path it is about (as data, for the pages that
    show a problem beside its line)."""

    loc: tuple[str | int, ...]
    msg: str
    type: str = "invalid"
    stage: str | None = None
    line: int | None = None
    path: str | None = None

    def as_dict(self) -> dict:
        out: dict = {"loc": list(self.loc), "msg": self.msg, "type": self.type}
        if self.stage is not None:
            out["stage"] = self.stage
        return out


class DomainError(Exception):
    """Base class; `status` is the HTTP status an interface should answer with."""

    status = 400

    def __init__(self, message: str = "", problems: list[Problem] | None = None):
        self.problems = problems or []
        super().__init__(message or "; ".join(p.msg for p in self.problems))


class ValidationFailed(DomainError):
    """The request names every missing field / unmet criterion at once."""

    status = 422


class NotFound(DomainError):
    status = 404


class PermissionDenied(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class PreconditionFailed(DomainError):
    status = 412


class Preparing(DomainError):
    """The answer needs work that runs in the background: ask again after `retry_after`
    seconds. `progress` says how far it got (interfaces show it; the API answers 202)."""

    status = 202

    def __init__(self, message: str, *, progress: dict, retry_after: int):
        super().__init__(message)
        self.progress = progress
        self.retry_after = retry_after


@dataclass
class ProblemList:
    """Collects problems so a service can report all of them at once."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, loc: tuple[str | int, ...], msg: str, **kwargs) -> None:
        self.problems.append(Problem(loc=loc, msg=msg, **kwargs))

    def raise_if_any(self, message: str = "") -> None:
        if self.problems:
            raise ValidationFailed(message, list(self.problems))

    def __bool__(self) -> bool:
        return bool(self.problems)
