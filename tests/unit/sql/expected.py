"""What a row of the rule table expects of a verdict: its fields, reader_spans aside."""

from __future__ import annotations

from typing import Any

from django_pooled_mysql.sql import Verdict

ASSIGNS = "user variable assignment"


def expect(
    leaves: str | None = None,
    *,
    reads: tuple[str, ...] = (),
    user: bool = False,
    hidden: bool = False,
    inserts: bool = False,
    statements: int = 1,
) -> tuple[Any, ...]:
    """The verdict fields a row expects (reader_spans have tests of their own)."""
    return (leaves, frozenset(reads), user, hidden, inserts, statements)


def fields(verdict: Verdict) -> tuple[Any, ...]:
    return (
        verdict.leaves,
        verdict.reads_previous,
        verdict.reads_user_variables,
        verdict.hidden_effects,
        verdict.inserts,
        verdict.statements,
    )


NOTHING = expect()
WRITE = expect(hidden=True)
INSERT = expect(hidden=True, inserts=True)
UNPARSED = expect("unparsed SQL", user=True, hidden=True, inserts=True)
