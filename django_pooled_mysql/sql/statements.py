"""Statement splitting: the ``;`` that end statements, compound-statement bodies kept whole.

The ``;`` of a body belong to it: ``CREATE [OR REPLACE] [DEFINER = ...]
{PROCEDURE|FUNCTION|TRIGGER|EVENT} ...`` and ``ALTER EVENT ... DO ...`` (stored: one statement),
MariaDB's anonymous ``BEGIN NOT ATOMIC ... END`` and its ``IF``/``CASE``/``LOOP``/``WHILE``/
``REPEAT``/labelled blocks outside stored programs (run now: dispatch.py reads their bodies).
Nesting is counted: ``BEGIN``/``CASE`` open a block that ``END`` closes; ``END IF``, ``END CASE``,
``END LOOP``, ``END WHILE``, ``END REPEAT`` close their block; ``IF``/``REPEAT`` followed by ``(``
are functions, ``IF EXISTS``/``IF NOT EXISTS`` clauses (judgement call: at the start of a
statement inside a body, ``IF (x) THEN`` is a block all the same); a ``CASE ... END`` expression
balances like a block. Known limit: a routine body that is a bare ``IF NOT ...``/``IF (...)``
statement (no ``BEGIN``) is split at its ``;``: more statements, which can only pin more.

The splitter works on index ranges of the lexer's collapsed tokens (a ``;`` is never inside a
run), so that classifying a text never expands the tokens of its statements just to split them.
"""

from __future__ import annotations

from collections.abc import Sequence

from .tokens import (
    IDENT,
    SEMICOLON,
    UNTERMINATED,
    WORD,
    Token,
    _after_dot,
    _is_op,
    _is_word,
    _opens,
    _word_at,
)

# Blocks of compound statements and the word that may follow END when closing them.
_BLOCK_ENDS = frozenset({"IF", "CASE", "LOOP", "WHILE", "REPEAT"})
# What a CREATE statement creates: the first of these words after CREATE names it.
_CREATED_OBJECTS = frozenset(
    {
        "TABLE",
        "VIEW",
        "INDEX",
        "DATABASE",
        "SCHEMA",
        "USER",
        "ROLE",
        "SEQUENCE",
        "SERVER",
        "TABLESPACE",
        "LOGFILE",
        "RESOURCE",
        "PROCEDURE",
        "FUNCTION",
        "TRIGGER",
        "EVENT",
        "PACKAGE",
        "SPATIAL",
        "SYNONYM",
    }
)
_STORED_PROGRAMS = frozenset({"PROCEDURE", "FUNCTION", "TRIGGER", "EVENT"})


def _created(tokens: Sequence[Token], lo: int, hi: int) -> tuple[str | None, bool]:
    """What the CREATE/ALTER statement at lo creates, and whether TEMPORARY came before it."""
    temporary = False
    # OR REPLACE, DEFINER = account, ALGORITHM = x, SQL SECURITY x, AGGREGATE, ONLINE, UNIQUE...
    for index in range(lo + 1, hi):
        token = tokens[index]
        if token.kind == WORD:
            if token.value == "TEMPORARY":
                temporary = True
            elif token.value in _CREATED_OBJECTS and not _after_dot(tokens, index, lo):
                return token.value, temporary
    return None, temporary


def _compound_kind(tokens: Sequence[Token], lo: int, hi: int) -> str | None:
    """ "block" for a compound statement that runs its body, "stored" for one that stores it."""
    head = tokens[lo]
    if head.kind == WORD:
        value = head.value
        if value in _BLOCK_ENDS:
            return "block"
        if value == "BEGIN":
            if _word_at(tokens, lo + 1, hi) == "NOT" and _word_at(tokens, lo + 2, hi) == "ATOMIC":
                return "block"
            return None
        if value == "CREATE" or value == "ALTER":
            created, _ = _created(tokens, lo, hi)
            if created in _STORED_PROGRAMS and (value == "CREATE" or created == "EVENT"):
                return "stored"
            return None
    if head.kind in (WORD, IDENT) and lo + 1 < hi and _is_op(tokens[lo + 1], ":"):
        return "block"  # label: BEGIN NOT ATOMIC / LOOP / WHILE / REPEAT
    return None


def _compound_end(tokens: Sequence[Token], lo: int, hi: int, at_start: bool) -> int:
    """Index of the ";" that ends the compound statement starting at lo (or hi)."""
    blocks: list[str] = []
    start = at_start  # whether tokens[index] starts a statement of a body
    index = lo
    while index < hi:
        token = tokens[index]
        starts = False  # whether the token after this one starts a statement
        if token.kind == SEMICOLON:
            if not blocks:
                return index
            starts = True
        elif token.kind == WORD and not _after_dot(tokens, index, lo):
            value = token.value
            following = tokens[index + 1] if index + 1 < hi else None
            if value == "END":
                if blocks:
                    blocks.pop()
                if _word_at(tokens, index + 1, hi) in _BLOCK_ENDS:
                    index += 1  # END IF, END CASE, ...
            elif value == "BEGIN":
                blocks.append(value)
                starts = True
                if _word_at(tokens, index + 1, hi) == "NOT":
                    index += 2  # NOT ATOMIC
            elif value == "CASE":
                # CASE x WHEN 1 THEN <statements> END CASE, or an expression: CASE ... END.
                blocks.append("CASE STATEMENT" if start else value)
            elif value == "IF" or value == "REPEAT":
                # IF(...)/REPEAT(...) are functions, IF [NOT] EXISTS a clause, except where
                # a statement starts: IF (x > 0) THEN ... END IF.
                if following is None:
                    function_or_clause = False
                elif value == "IF" and following.kind == WORD:
                    function_or_clause = following.value in ("EXISTS", "NOT")
                else:
                    function_or_clause = _opens(following)
                if start or not function_or_clause:
                    blocks.append(value)
                    starts = value == "REPEAT"
            elif value == "LOOP" or value == "WHILE":
                blocks.append(value)
                starts = value == "LOOP"
            elif value == "DO":
                # WHILE ... DO <statements>, CREATE EVENT ... DO <body>, or a DO statement.
                starts = not start
            elif value == "THEN" or value == "ELSE":
                starts = bool(blocks) and blocks[-1] in ("IF", "CASE STATEMENT")
            elif value == "ROW" and index > lo and _is_word(tokens[index - 1], "EACH"):
                starts = True  # CREATE TRIGGER ... FOR EACH ROW <body>
            elif value in ("FOLLOWS", "PRECEDES") and start:
                index += 1  # FOR EACH ROW FOLLOWS other_trigger <body>
                starts = True
        start = starts
        index += 1
    return hi


def _statement_ranges(tokens: Sequence[Token]) -> list[tuple[int, int]]:
    """(start, end) index ranges of the statements in tokens; empty statements left out."""
    ranges: list[tuple[int, int]] = []
    count = len(tokens)
    index = 0
    while index < count:
        kind = tokens[index].kind
        if kind == SEMICOLON:
            index += 1
            continue
        if kind == UNTERMINATED:
            break
        compound = _compound_kind(tokens, index, count)
        if compound is None:
            end = index + 1
            while end < count and tokens[end].kind != SEMICOLON:
                end += 1
        else:
            end = _compound_end(tokens, index, count, compound == "block")
        if tokens[end - 1].kind == UNTERMINATED:
            end -= 1
        if end > index:
            ranges.append((index, end))
        index = end + 1
    return ranges


def split(tokens: Sequence[Token]) -> list[list[Token]]:
    """The statements of a token list: split at ";" except inside compound-statement bodies."""
    return [list(tokens[lo:hi]) for lo, hi in _statement_ranges(tokens)]
