"""Prompt templates kept as Markdown files under settings.prompts_dir.

A template is plain text with `{variable}` placeholders filled by str.format_map;
literal braces are written `{{` and `}}`. `Prompt.render` insists on exactly the
template's variables: a missing one or an unknown extra one is an error, never a
silently empty or ignored value.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..settings import Settings

_NAME_RE = re.compile(r"^[A-Za-z0-9_\-]+$")
_FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PromptError(ValueError):
    """A template is missing, malformed, or rendered with the wrong variables."""


@dataclass(frozen=True)
class Prompt:
    name: str
    path: Path
    template: str
    variables: frozenset[str]

    def render(self, **values: object) -> str:
        missing = sorted(self.variables - values.keys())
        extra = sorted(values.keys() - self.variables)
        if missing or extra:
            problems = []
            if missing:
                problems.append(f"missing variables: {', '.join(missing)}")
            if extra:
                problems.append(f"unknown variables: {', '.join(extra)}")
            expected = ", ".join(sorted(self.variables)) or "(none)"
            raise PromptError(
                f"prompt {self.name!r} ({self.path}): {'; '.join(problems)} (expects: {expected})"
            )
        # values are inserted verbatim: braces inside a user's question are not re-parsed
        return self.template.format_map({k: str(v) for k, v in values.items()})


def template_variables(template: str, *, source: str = "<template>") -> frozenset[str]:
    """Names of the `{variable}` fields in a str.format template."""
    names: set[str] = set()
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:  # e.g. a single unmatched "{" or "}"
        raise PromptError(
            f"{source}: malformed template ({exc}); write literal braces as {{{{ and }}}}"
        ) from exc
    for _literal, field, spec, conversion in fields:
        if field is None:
            continue
        if not _FIELD_RE.match(field) or spec or conversion:
            raise PromptError(
                f"{source}: unsupported placeholder {{{field}}}; use plain {{name}} fields only"
            )
        names.add(field)
    return frozenset(names)


@lru_cache(maxsize=64)
def _load(path: Path, name: str) -> Prompt:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PromptError(f"prompt {name!r} not found: {path}") from exc
    text = text.strip() + "\n"
    variables = template_variables(text, source=str(path))
    return Prompt(name=name, path=path, template=text, variables=variables)


def load_prompt(settings: Settings, name: str) -> Prompt:
    """Read prompts_dir/<name>.md (cached per resolved path)."""
    if not _NAME_RE.match(name):
        raise PromptError(f"invalid prompt name {name!r}")
    path = (Path(settings.prompts_dir) / f"{name}.md").resolve()
    return _load(path, name)


def clear_prompt_cache() -> None:
    """Forget cached templates (tests, or after editing prompts in a running process)."""
    _load.cache_clear()
