"""Verdicts: what a statement text does to the session, and the bounded memory of them.

``classify()`` is what the statement path calls: the lexer's collapsed tokens, split into
statements, each read by its rule into one set of findings, become one ``Verdict`` (the rules
for readers: docs/session-state.md). Of several statements, ``leaves`` is the first kind found
in text order, ``reader_spans`` come from the first statement, the rest is combined. Judgement
call: a text with a backslash is also read as a server in ``NO_BACKSLASH_ESCAPES`` mode reads it,
and both verdicts are combined; of that second reading, if it cannot finish, the statements
before the unfinished one count (a server runs the statements of a text in turn until one
fails). Django sends the same few hundred texts again and again, so verdicts are remembered per
text (bounded; long texts never), and the hot path reads that dict itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from .dispatch import _statement
from .lexer import _ESCAPES, _NO_ESCAPES, _coarse, _Mode, _text
from .scan import _Findings
from .statements import _statement_ranges
from .tokens import Token


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a statement text does to the session (the rules: docs/session-state.md).

    ``reader_spans`` are ``(start, end, name)``: ``text[start:end]`` is the reader (``name`` as in
    ``reads_previous``), for the first statement of the text only. ``replays``: the text is one
    ``SET`` of session variables that can be replayed on another session instead of pinning
    (assignments.py), with the keys it sets; ``leaves`` still says ``SET`` for callers that
    cannot replay. ``tracked``: the same for a ``SET`` of session variables to expressions,
    whose values only the server's tracker can tell.
    """

    leaves: str | None = None
    reads_previous: frozenset[str] = frozenset()
    reads_user_variables: bool = False
    hidden_effects: bool = False
    inserts: bool = False
    reader_spans: tuple[tuple[int, int, str], ...] = ()
    statements: int = 1
    replays: tuple[str, ...] | None = None
    tracked: tuple[str, ...] | None = None


# The verdict of a statement that does nothing to the session (most of what Django sends).
NO_EFFECT = Verdict()


_UNPARSED = Verdict(
    leaves="unparsed SQL", reads_user_variables=True, hidden_effects=True, inserts=True
)
_NOTHING = {count: Verdict(statements=count) for count in range(4)}


def _classify_as(sql: str, mode: _Mode) -> tuple[Verdict, bool]:
    """The verdict of sql read in one mode, and whether the lexer could finish the text."""
    tokens, complete = _coarse(sql, mode)
    return _verdict(sql, tokens, complete, mode, split_needed=";" in sql), complete


def _verdict(
    sql: str, tokens: list[Token], complete: bool, mode: _Mode, split_needed: bool
) -> Verdict:
    """The verdict of lexed tokens (collapsed or not; the rules give the same either way).

    Of an unfinished text, the statements before the unfinished one count: a server given
    several statements runs them in turn until one fails.
    """
    if split_needed:
        ranges = _statement_ranges(tokens)
    else:
        count = len(tokens) - (not complete)  # one statement: nothing to split
        ranges = [(0, count)] if count else []
    if not complete and ranges and ranges[-1][1] == len(tokens) - 1:
        ranges.pop()  # the statement the UNTERMINATED token belongs to
    found = _Findings(sql, mode)
    for lo, hi in ranges:
        _statement(tokens, lo, hi, found)
        found.spans_wanted = False
    if (
        found.leaves is None
        and not found.reads
        and not (found.user_reads or found.hidden_effects or found.inserts)
        and len(ranges) in _NOTHING
    ):
        return _NOTHING[len(ranges)]
    return Verdict(
        leaves=found.leaves,
        reads_previous=frozenset(found.reads),
        reads_user_variables=found.user_reads,
        hidden_effects=found.hidden_effects,
        inserts=found.inserts,
        reader_spans=tuple(found.spans),
        statements=len(ranges),
        replays=found.replays if len(ranges) == 1 else None,
        tracked=found.tracked if len(ranges) == 1 else None,
    )


def _classify(sql: str) -> Verdict:
    verdict, complete = _classify_as(sql, _ESCAPES)
    if not complete:
        return _UNPARSED
    if "\\" in sql:
        # The same text on a server in NO_BACKSLASH_ESCAPES mode may hold other statements:
        # combine both readings (judgement call; the server runs one of them).
        other, _ = _classify_as(sql, _NO_ESCAPES)
        if other != verdict:
            verdict = Verdict(
                leaves=verdict.leaves or other.leaves,
                reads_previous=verdict.reads_previous | other.reads_previous,
                reads_user_variables=verdict.reads_user_variables or other.reads_user_variables,
                hidden_effects=verdict.hidden_effects or other.hidden_effects,
                inserts=verdict.inserts or other.inserts,
                # Positions only where both readings agree on them.
                reader_spans=verdict.reader_spans
                if verdict.reader_spans == other.reader_spans
                else (),
                statements=max(verdict.statements, other.statements),
                replays=verdict.replays if verdict.replays == other.replays else None,
                tracked=verdict.tracked if verdict.tracked == other.tracked else None,
            )
    return verdict


# Django sends the same few hundred statement texts over and over (parameters travel apart), so
# their verdicts are remembered. Bounded: a workload of ever-new texts (values inlined into the
# SQL) just refills it; long texts (bulk inserts) are classified each time and never held.
_verdicts: dict[str, Verdict] = {}
# For the per-statement hot path (connection.py): the dict itself, which classify() only ever
# clears and refills, never replaces.
remembered_verdicts = _verdicts
_VERDICTS_MAX = 2048
_CACHED_TEXT_MAX = 2000


def classify(sql: str | bytes | bytearray) -> Verdict:
    """The Verdict of a statement text (one or more statements), remembered per str text.

    bytes are decoded as UTF-8 (invalid bytes replaced) and not remembered; their reader_spans
    index the decoded str, not the bytes.
    """
    if type(sql) is str:
        verdict = _verdicts.get(sql)
        if verdict is not None:
            return verdict
        verdict = _classify(sql)
        if verdict == NO_EFFECT:
            verdict = NO_EFFECT  # one object, so that callers can test it with `is`
        if len(sql) <= _CACHED_TEXT_MAX:
            if len(_verdicts) >= _VERDICTS_MAX:
                _verdicts.clear()
            _verdicts[sql] = verdict
        return verdict
    verdict = _classify(_text(sql))
    return NO_EFFECT if verdict == NO_EFFECT else verdict
