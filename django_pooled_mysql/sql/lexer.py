"""The MySQL/MariaDB lexer: statement text to tokens, as the server's lexer reads it.

The rules follow the server's ``sql/sql_lex.cc`` (docs/session-state.md has the readers' version).
No text makes ``lex()`` raise.

- Whitespace and comments are skipped: ``-- `` (two dashes followed by whitespace, a control
  character or the end of the text), ``#`` to the end of the line, ``/* ... */`` (not nested),
  optimizer hints ``/*+ ... */``.
- Executable comments are unwrapped and their content read as ordinary text: ``/*! ... */``,
  ``/*!NNNNN ... */`` (5 or 6 version digits), ``/*M! ... */``, ``/*M!NNNNNN ... */``. The version
  is ignored (judgement call: a needless pin costs a connection for one request, a missed one
  costs correctness).
- ``STRING``: single or double quotes, backslash escapes (none with ``backslash_escapes=False``,
  as under ``NO_BACKSLASH_ESCAPES``), doubled quotes, an optional introducer or prefix
  (``_utf8mb4'..'``, ``N'..'``, ``X'..'``, ``B'..'``); value: the literal as written. Under
  ``ANSI_QUOTES`` a double-quoted name is an identifier, so ``"name"(`` is taken for a call.
- ``IDENT``: backtick-quoted, with doubled backticks; value unquoted. ``WORD``: unquoted words,
  keywords and identifiers alike; value upper-cased.
- ``NUMBER``: decimal, ``0x..``, ``0b..``, exponents. ``1abc`` is a word, as on the server; ``1.``
  is ``1`` and ``.`` (no rule looks at it).
- ``USER_VAR``: ``@x``, ``@'x'``, ``@"x"``, ``@`x` `` (value: the name), except the ``@`` of an
  account name right after a quote (``'user'@'host'``), an ``OP``. An unquoted ``user@host``
  reads as ``user`` and the variable ``@host`` (judgement call: that only sets
  ``reads_user_variables``).
- ``SYS_VAR``: ``@@x``, ``@@session.x``, ``@@global.x``, ``@@local.x``; value ``SCOPE.NAME`` or
  ``NAME``, upper-cased.
- ``PARAM``: the DB-API placeholders ``%s`` and ``%(name)s``; ``%%`` is an ``OP`` (the ``%``
  operator once interpolated). ``SEMICOLON``: ``;``. ``OP``: every other character or operator
  (``:=``, ``<=>``, ``->>`` and the other multi-character operators are one token each).
- ``start``/``end`` of every token index the original text, also inside executable comments.
- A text that ends inside a string, a quoted identifier or a comment ends with an
  ``UNTERMINATED`` token (value: the rest of the text; for an executable comment, whose content
  is read, an empty token at the end).

Why a master expression and two token grains: one regular expression run with ``finditer()``
reads the text, and for classification it also matches runs of tokens no rule looks into
(quoted identifiers, literals, placeholders, operators, commas, and parenthesised lists of them:
the VALUES of a bulk insert) as one ``_RUN``/``_ROWS`` token (``_coarse()``), which
``_expand()`` reads into its tokens only where a rule needs the detail. benchmarks/lexer.py
prints the timings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from .tokens import (
    _ROWS,
    _RUN,
    IDENT,
    NUMBER,
    OP,
    PARAM,
    SEMICOLON,
    STRING,
    SYS_VAR,
    UNTERMINATED,
    USER_VAR,
    WORD,
    Token,
    _new_token,
)

_WS = r"[ \t\r\n\f\v]"
_IDCHAR = "[\\w$\u0080-\U0010ffff]"
_BACKTICKED = r"`[^`]*(?:``[^`]*)*`"
# A number never ends with a bare "." ("1." is 1 and "."), so that a run ending in "." always
# ends in the "." of a qualified name, whatever follows it.
_NUMBER_RE = (
    r"(?:0[xX][0-9A-Fa-f]+|0[bB][01]+"
    r"|(?:\d+\.(?=[eE][-+]?\d)|\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?)(?!%s)" % _IDCHAR
)
_PREFIX = r"(?:_[A-Za-z0-9_]+|[NnXxBb])"


def _quoted(backslash_escapes: bool) -> tuple[str, str]:
    if backslash_escapes:
        return (r"'[^'\\]*(?:(?:\\[\s\S]|'')[^'\\]*)*'", r'"[^"\\]*(?:(?:\\[\s\S]|"")[^"\\]*)*"')
    return (r"'[^']*(?:''[^']*)*'", r'"[^"]*(?:""[^"]*)*"')


def _atom(backslash_escapes: bool, comma: str = ",") -> str:
    """An element of a run: nothing in it can leave state or needs a closer look.

    Most frequent first. A quoted identifier followed by "(" is a call (a double-quoted one too,
    under ANSI_QUOTES) and followed by ":" a label, and "-", "/", "*" that start or end a comment
    are not operators, so they end a run.
    """
    single, double = _quoted(backslash_escapes)
    # Not a call, not a label ("*/" may close an executable comment before a "("): ends a run.
    name_end = rf"(?!{_WS}*(?:\(|:|/\*|\*/|\#|--))"
    return (
        rf"(?:{_BACKTICKED}{name_end}|[=<>!+&|^~{comma}.?]|%(?:s|\(\w+\)s|%)?"
        rf"|{_NUMBER_RE}|{single}|{double}{name_end}|{_PREFIX}(?:{single}|{double})"
        rf"|-(?!-(?:[\x00-\x20]|$))|/(?!\*)|\*(?!/))"
    )


def _master(backslash_escapes: bool) -> re.Pattern[str]:
    single, double = _quoted(backslash_escapes)
    atom = _atom(backslash_escapes)
    run = rf"{atom}(?:{_WS}*{atom})*"
    # "(" run ")" [, "(" run ")"]...; the lookahead and back-reference make the inner run atomic,
    # so that a "(" not closed right after its run ("WHERE (a = %s AND ...") fails without
    # backtracking through the run.
    rows = (
        rf"\((?=(?P<_r1>{_WS}*{run}{_WS}*))(?P=_r1)\)"
        rf"(?:{_WS}*,{_WS}*\((?=(?P<_r2>{_WS}*{run}{_WS}*))(?P=_r2)\))*"
    )
    return re.compile(
        rf"""{_WS}*(?:
          (?P<_RUN>{run})
        | (?P<WORD>{_IDCHAR}+)
        | (?P<_ROWS>{rows})
        | (?P<SYS_VAR>@@(?:{_BACKTICKED}|[\w$.\u0080-\U0010ffff]+))
        | (?P<USER_VAR>@(?:[\w$.\u0080-\U0010ffff]+|{single}|{double}|{_BACKTICKED}))
        | (?P<COMMENT>/\*(?![!+]|M!)[\s\S]*?\*/|--(?=[\x00-\x20]|$)[^\n]*|\#[^\n]*|/\*\+[\s\S]*?\*/)
        | (?P<XOPEN>/\*M?!(?:\d{{5,6}})?)
        | (?P<XCLOSE>\*/)
        | (?P<SEMICOLON>;)
        | (?P<IDENT>{_BACKTICKED})
        | (?P<STRING>{double})
        | (?P<UNTERMINATED>['"`]|/\*)
        | (?P<OP>:=|<=>|<=|>=|<>|!=|<<|>>|&&|\|\||->>|->|%%|\S)
        )""",
        re.VERBOSE,
    )


def _atoms(backslash_escapes: bool) -> re.Pattern[str]:
    """The tokens inside a run, one by one (to expand _RUN and _ROWS tokens)."""
    single, double = _quoted(backslash_escapes)
    return re.compile(
        rf"""{_WS}*(?:
          (?P<IDENT>{_BACKTICKED})
        | (?P<STRING>{_PREFIX}?(?:{single}|{double}))
        | (?P<NUMBER>{_NUMBER_RE})
        | (?P<PARAM>%(?:s|\(\w+\)s))
        | (?P<WORD>{_IDCHAR}+)
        | (?P<OP><=>|<=|>=|<>|!=|<<|>>|&&|\|\||->>|->|%%|\S)
        )""",
        re.VERBOSE,
    )


_COMMENT = "COMMENT"
_EXECUTABLE = "XOPEN"
_EXECUTABLE_END = "XCLOSE"
# The kind constants by name: kinds are compared by identity in the hot loops.
_KINDS = (WORD, IDENT, STRING, NUMBER, USER_VAR, SYS_VAR, PARAM, OP, SEMICOLON, UNTERMINATED)
_KIND_NAMES = {
    kind: kind for kind in (*_KINDS, _RUN, _ROWS, _COMMENT, _EXECUTABLE, _EXECUTABLE_END)
}


def _row_values(backslash_escapes: bool) -> re.Pattern[str]:
    """One value of a _ROWS token per match, with the "(" before and the ")" after it, if any."""
    atom = _atom(backslash_escapes, comma="")
    value = rf"%s(?={_WS}*[,)])|{atom}(?:{_WS}*{atom})*"  # %s first: the usual value
    return re.compile(rf"{_WS}*,?{_WS}*\(?{_WS}*({value}){_WS}*(\))?")


class _Mode(NamedTuple):
    master: re.Pattern[str]
    atoms: re.Pattern[str]
    row_values: re.Pattern[str]
    kinds: tuple[str | None, ...]  # the kind of each group number of master


def _mode(backslash_escapes: bool) -> _Mode:
    master = _master(backslash_escapes)
    kinds: list[str | None] = [None] * (master.groups + 1)
    for name, group in master.groupindex.items():
        kinds[group] = _KIND_NAMES.get(name)  # None for the helper groups inside _ROWS
    atoms, row_values = _atoms(backslash_escapes), _row_values(backslash_escapes)
    return _Mode(master, atoms, row_values, tuple(kinds))


_ESCAPES = _mode(True)
_NO_ESCAPES = _mode(False)  # sql_mode NO_BACKSLASH_ESCAPES
_SCOPES = frozenset({"GLOBAL", "SESSION", "LOCAL", "PERSIST", "PERSIST_ONLY"})


def _unquote(quoted: str) -> str:
    quote = quoted[0]
    return quoted[1:-1].replace(quote + quote, quote)


def _coarse(sql: str, mode: _Mode) -> tuple[list[Token], bool]:
    """The tokens of sql with runs collapsed, and whether the text was lexed to its end."""
    tokens: list[Token] = []
    append = tokens.append
    kinds = mode.kinds
    pos = 0
    executable_from = -1  # start of the executable comment being read, or -1
    while True:
        resume = -1
        for match in mode.master.finditer(sql, pos):
            group = match.lastindex
            kind = kinds[group]  # type: ignore[index]  # every alternative is a group
            start, end = match.span(group)  # type: ignore[arg-type]
            if kind is _RUN or kind is OP or kind is _ROWS or kind is SEMICOLON or kind is STRING:
                append(_new_token(Token, (kind, sql[start:end], start, end)))
            elif kind is WORD:
                append(_new_token(Token, (WORD, sql[start:end].upper(), start, end)))
            elif kind is _COMMENT:
                pass
            elif kind is IDENT:
                append(_new_token(Token, (IDENT, _unquote(sql[start:end]), start, end)))
            elif kind is USER_VAR:
                if start and sql[start - 1] in "'\"`":
                    # 'user'@'host': an account name, not a variable.
                    append(_new_token(Token, (OP, "@", start, start + 1)))
                    resume = start + 1
                    break
                name = sql[start + 1 : end]
                if name[0] in "'\"`":
                    name = _unquote(name)
                append(_new_token(Token, (USER_VAR, name, start, end)))
            elif kind is SYS_VAR:
                append(_new_token(Token, (SYS_VAR, _system_variable(sql[start:end]), start, end)))
            elif kind is _EXECUTABLE:
                if executable_from < 0:
                    executable_from = start
            elif kind is _EXECUTABLE_END:
                if executable_from >= 0:
                    executable_from = -1
                else:
                    # "*" then whatever "/" starts ("2*/*c*/3" is 2 * 3).
                    append(_new_token(Token, (OP, "*", start, start + 1)))
                    resume = start + 1
                    break
            else:  # UNTERMINATED
                append(_new_token(Token, (UNTERMINATED, sql[start:], start, len(sql))))
                return tokens, False
        if resume < 0:
            break
        pos = resume
    if executable_from >= 0:
        # Its content was read; what is missing is the "*/" at the end.
        append(_new_token(Token, (UNTERMINATED, "", len(sql), len(sql))))
        return tokens, False
    return tokens, True


def _system_variable(text: str) -> str:
    name = text[2:]
    if name[0] == "`":
        return _unquote(name).upper()
    scope, dot, rest = name.partition(".")
    if dot and rest and scope.upper() in _SCOPES:
        if rest[0] == "`":
            rest = _unquote(rest)
        return "%s.%s" % (scope.upper(), rest.upper())
    return name.upper()


def _expand(sql: str, tokens: Sequence[Token], lo: int, hi: int, mode: _Mode) -> list[Token]:
    """tokens[lo:hi] of sql with every _RUN and _ROWS token replaced by the tokens it holds."""
    out: list[Token] = []
    for index in range(lo, hi):
        token = tokens[index]
        if token.kind != _RUN and token.kind != _ROWS:
            out.append(token)
            continue
        # Read in the text itself, not in token.value: a lookahead at the end of the run sees
        # what follows it ("1.ROW(...)" is 1, ".", ROW as in the master expression).
        for match in mode.atoms.finditer(sql, token.start):
            name = match.lastgroup
            assert name is not None
            start, end = match.span(name)
            if start >= token.end:
                break
            kind = _KIND_NAMES[name]
            value = sql[start:end]
            if kind is WORD:
                value = value.upper()
            elif kind is IDENT:
                value = _unquote(value)
            out.append(_new_token(Token, (kind, value, start, end)))
    return out


def lex(sql: str, *, backslash_escapes: bool = True) -> list[Token]:
    """The tokens of sql; comments skipped, executable comments unwrapped (module docstring).

    ``backslash_escapes=False`` reads strings as a server in ``NO_BACKSLASH_ESCAPES`` mode does.
    """
    mode = _ESCAPES if backslash_escapes else _NO_ESCAPES
    tokens, _ = _coarse(sql, mode)
    return _expand(sql, tokens, 0, len(tokens), mode)


def _text(sql: str | bytes | bytearray) -> str:
    if isinstance(sql, (bytes, bytearray)):
        return bytes(sql).decode("utf-8", "replace")
    return str(sql)
