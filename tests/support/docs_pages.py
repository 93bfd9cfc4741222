"""The documentation site's pages and their code samples, for tests/*/test_docs_samples.py.

A page's fenced blocks are either MyST directives (```{literalinclude} path```, ...) or plain
samples tagged with their language. The helpers here find them; the tests decide what each kind
must satisfy.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"

_FENCE = re.compile(r"^(`{3,}|~{3,})(.*)$")
_DIRECTIVE = re.compile(r"^\{([a-z-]+)\}\s*(.*)$")


@dataclass(frozen=True)
class Block:
    """One fenced block of a page."""

    page: Path
    line: int  # 1-based line of the opening fence
    info: str  # what follows the fence: a language, or "{directive} argument"
    body: str

    @property
    def where(self) -> str:
        """page:line, for failure messages."""
        return "%s:%d" % (self.page.relative_to(ROOT), self.line)

    @property
    def directive(self) -> str | None:
        """The MyST directive's name, or None for a plain sample."""
        match = _DIRECTIVE.match(self.info)
        return match.group(1) if match else None

    @property
    def argument(self) -> str:
        """The directive's argument (a path for literalinclude and include)."""
        match = _DIRECTIVE.match(self.info)
        return match.group(2).strip() if match else ""

    @property
    def options(self) -> dict[str, str]:
        """The directive's ``:name: value`` options."""
        found = {}
        for line in self.body.split("\n"):
            match = re.match(r"^:([a-z-]+):\s*(.*)$", line)
            if not match:
                break
            found[match.group(1)] = match.group(2).strip()
        return found

    @property
    def language(self) -> str:
        """The plain sample's language tag ('' when untagged)."""
        return "" if self.directive else self.info.split()[0] if self.info else ""

    def included_path(self) -> Path:
        """The file a literalinclude or include directive names, resolved from its page."""
        return (self.page.parent / self.argument).resolve()


def site_pages() -> list[Path]:
    """Every Markdown page the site is built from."""
    return sorted(
        path
        for path in DOCS.rglob("*.md")
        if "_build" not in path.parts and path.parent != EXAMPLES
    )


def blocks(page: Path) -> Iterator[Block]:
    """The fenced blocks of one Markdown file, in order."""
    lines = page.read_text().split("\n")
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match:
            fence, info = match.group(1), match.group(2).strip()
            end = index + 1
            while end < len(lines) and not (
                lines[end].startswith(fence[0] * len(fence)) and not lines[end].strip(fence[0])
            ):
                end += 1
            if end == len(lines):
                raise AssertionError("%s:%d: unclosed fence" % (page, index + 1))
            yield Block(page, index + 1, info, "\n".join(lines[index + 1 : end]))
            index = end
        index += 1


def all_blocks(pages: list[Path] | None = None) -> list[Block]:
    """The fenced blocks of every site page."""
    return [block for page in pages or site_pages() for block in blocks(page)]


def shell_commands(body: str) -> Iterator[list[str]]:
    """The commands of a shell sample, one token list per command (comments and blank lines
    dropped, backslash continuations joined)."""
    joined = body.replace("\\\n", " ")
    for line in joined.split("\n"):
        tokens = shlex.split(line, comments=True)
        if tokens:
            yield tokens


def split_assignments(tokens: list[str]) -> tuple[dict[str, str], list[str]]:
    """Leading ``NAME=value`` words of a command (its environment), and the rest."""
    env: dict[str, str] = {}
    index = 0
    while index < len(tokens) and re.match(r"^[A-Z_][A-Z0-9_]*=", tokens[index]):
        name, _, value = tokens[index].partition("=")
        env[name] = value
        index += 1
    return env, tokens[index:]


def page_block(page: str, language: str, containing: str) -> Block:
    """The one block of ``page`` (relative to docs/) in ``language`` that contains a text."""
    found = [
        block
        for block in blocks(DOCS / page)
        if block.language == language and containing in block.body
    ]
    if len(found) != 1:
        raise AssertionError(
            "expected one %s block containing %r in docs/%s, found %d"
            % (language, containing, page, len(found))
        )
    return found[0]


def load_example(name: str) -> ModuleType:
    """A docs/examples/ file imported as a module of its own."""
    spec = importlib.util.spec_from_file_location("docs_example_" + name[:-3], EXAMPLES / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
