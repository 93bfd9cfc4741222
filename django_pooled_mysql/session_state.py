"""The MySQL/MariaDB lexer and the rules that decide which statements leave state on the session.

A statement lease hands the next statement to whoever asks next, which is only correct when the
statement left nothing behind on the server session. ``classify()`` reads a statement text (as
given to ``execute()``, before parameter interpolation) and returns a ``Verdict``: the kind of
session state it leaves (the caller pins the connection until the end of the request), what it
reads of the previous statement's state, and whether it may have effects the text does not show.
This module is pure: no Django, no driver, no I/O.

Lexical rules (what ``lex()`` implements, after the server's lexer, ``sql/sql_lex.cc``):

- Whitespace is skipped. So are comments: ``-- `` (two dashes followed by whitespace, a control
  character or the end of the text), ``#`` to the end of the line, ``/* ... */`` (not nested), and
  optimizer hints ``/*+ ... */``.
- Executable comments are unwrapped: the server runs their content, so the lexer reads it as
  ordinary text. ``/*! ... */``, ``/*!NNNNN ... */`` (5 or 6 version digits), MariaDB's
  ``/*M! ... */`` and ``/*M!NNNNNN ... */``. The version is ignored (content treated as executed
  whatever the server's version): a needless pin costs a connection for one request, a missed one
  costs correctness.
- String literals in single or double quotes, with backslash escapes and doubled quotes, with an
  optional introducer or prefix: ``_utf8mb4'..'``, ``N'..'``, ``X'..'``, ``B'..'``. Token value:
  the literal as written. ``lex(sql, backslash_escapes=False)`` reads them as a server in
  ``NO_BACKSLASH_ESCAPES`` mode does. Under ``ANSI_QUOTES`` a double-quoted name is an identifier:
  ``"name"(`` is taken for a call.
- Backtick-quoted identifiers, with doubled backticks (``IDENT``; value unquoted). Unquoted
  words, keywords and identifiers alike (``WORD``; value upper-cased).
- Numbers: decimal, ``0x..``, ``0b..``, exponents. ``1abc`` is a word, as on the server; ``1.``
  is ``1`` and ``.`` (no rule looks at it).
- User variables ``@x``, ``@'x'``, ``@"x"``, ``@`x` `` (``USER_VAR``; value the name), except the
  ``@`` of an account name right after a quote (``'user'@'host'``), which is an ``OP``. An
  unquoted ``user@host`` reads as ``user`` and the variable ``@host`` (judgement call: that only
  sets ``reads_user_variables``).
- System variables ``@@x``, ``@@session.x``, ``@@global.x``, ``@@local.x`` (``SYS_VAR``; value
  ``SCOPE.NAME`` or ``NAME``, upper-cased).
- Placeholders of the DB-API format/pyformat styles, ``%s`` and ``%(name)s`` (``PARAM``); ``%%``
  is an ``OP`` (the ``%`` operator once interpolated).
- ``;`` is a ``SEMICOLON``; every other character or operator an ``OP`` (``:=``, ``<=>``, ``->>``
  and the other multi-character operators are one token each).
- ``start``/``end`` of every token index into the original text, also inside executable comments.
- A text that ends inside a string, a quoted identifier or a comment ends with an
  ``UNTERMINATED`` token (its value: the rest of the text; for an executable comment, whose
  content is read, an empty token at the end); it never raises.

Statements (``split()``): separated by ``;``, except inside compound statements, whose ``;`` are
part of the body: ``CREATE [OR REPLACE] [DEFINER = ...] {PROCEDURE|FUNCTION|TRIGGER|EVENT} ...``
and ``ALTER EVENT ... DO ...`` bodies, MariaDB's anonymous ``BEGIN NOT ATOMIC ... END`` and its
``IF``/``CASE``/``LOOP``/``WHILE``/``REPEAT``/labelled blocks outside stored programs. Nesting is
counted: ``BEGIN``/``CASE`` open a block that ``END`` closes; ``END IF``, ``END CASE``, ``END
LOOP``, ``END WHILE``, ``END REPEAT`` close their block; ``IF``/``REPEAT`` followed by ``(`` are
functions, ``IF EXISTS``/``IF NOT EXISTS`` clauses (judgement call: at the start of a statement
inside a body, ``IF (x) THEN`` is a block all the same); a ``CASE ... END`` expression balances
like a block. Known limit: a routine body that is a bare ``IF NOT ...``/``IF (...)`` statement
(no ``BEGIN``) is split at its ``;``: more statements, which can only pin more.

Classification rules (the ``Verdict`` of a text; docs/session-state.md has the same table):

Leaves state (``leaves`` is set; the caller pins):

- ``SET`` of anything of the session: user variables, ``SESSION``/``LOCAL``/``@@session.``/
  ``@@local.``/``@@x`` and bare names (no scope is the session), ``NAMES``, ``CHARACTER SET``,
  ``CHARSET``, ``TRANSACTION`` without ``GLOBAL`` (this session's next transaction), ``ROLE``,
  ``RESOURCE GROUP``. One session item in a ``SET`` list is enough. A ``GLOBAL``/``PERSIST``
  keyword applies to the items after it until another keyword; ``@@global.x`` only to itself.
  Not state: ``SET GLOBAL``/``@@global.`` when every item is global, ``SET PASSWORD``, ``SET
  DEFAULT ROLE``, MariaDB's ``SET STATEMENT var=val, ... FOR <statement>`` (only the inner
  statement is classified). Inside a compound body, ``SET x`` of a ``DECLARE``d name is local.
- A user variable assigned anywhere: ``@x := ...``, ``... INTO @x[, @y]``, ``@'x'`` alike; a user
  variable in ``LOAD DATA`` (its column list assigns it, row by row). ``GET DIAGNOSTICS @x = ...``.
- ``LOCK TABLE(S)``, ``LOCK INSTANCE FOR BACKUP``, ``FLUSH TABLES ... WITH READ LOCK`` (also ``...
  AND DISABLE CHECKPOINT``), ``FLUSH TABLES t FOR EXPORT``, MariaDB ``BACKUP STAGE ...`` and
  ``BACKUP LOCK t``. Other ``FLUSH`` statements, ``UNLOCK TABLES``/``INSTANCE``, ``BACKUP UNLOCK``
  create none.
- Calls (a name followed by ``(``) of ``GET_LOCK``, ``SERVICE_GET_WRITE_LOCKS``,
  ``SERVICE_GET_READ_LOCKS``, ``LAST_INSERT_ID`` with an argument, MariaDB ``NEXTVAL``/``SETVAL``,
  and ``NEXT VALUE FOR seq`` (they set the session's ``LASTVAL``). A quoted name counts
  (```get_lock`(...)`` calls the built-in); a qualified one (``db.get_lock(...)``) is a stored
  function (``hidden_effects``).
- ``CREATE [OR REPLACE] TEMPORARY TABLE`` (and ``TEMPORARY SEQUENCE``), ``PREPARE``, ``EXECUTE``,
  ``EXECUTE IMMEDIATE`` (unknown dynamic SQL), ``DEALLOCATE PREPARE``/``DROP PREPARE``,
  ``SQL_CALC_FOUND_ROWS`` (a keyword, never inside a string or identifier), ``USE``, ``HANDLER``,
  ``XA``, ``BEGIN``/``BEGIN WORK``/``START TRANSACTION`` issued as SQL (not ``BEGIN NOT ATOMIC``),
  ``COMMIT``/``ROLLBACK ... AND CHAIN`` (judgement call: they open a transaction), ``CALL``.
- ``BEGIN NOT ATOMIC ... END`` and MariaDB's other compound statements run their body: every
  statement and condition in it is classified (``reader_spans`` are not reported from a body).
- A text the lexer cannot finish (unterminated string, identifier or comment): ``"unparsed
  SQL"``, with every flag set. Judgement call: a text with a backslash is also read as a server
  in ``NO_BACKSLASH_ESCAPES`` mode reads it, and both verdicts are combined; of that second
  reading, if it cannot finish, the statements before the unfinished one count (a server runs
  the statements of a text in turn until one fails).

No state:

- ``EXPLAIN``/``DESCRIBE``/``DESC`` of a statement (not executed), but MySQL's ``EXPLAIN
  ANALYZE`` and MariaDB's ``ANALYZE <statement>`` execute it: the inner statement is classified.
  ``ANALYZE TABLE`` is maintenance.
- ``CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT/VIEW``, ``ALTER VIEW/EVENT/PROCEDURE/FUNCTION``: the
  body or definition is stored, not executed.
- Markers where they are not keywords or calls: inside identifiers (``target_locked``,
  ```get_lock```, ``t.get_lock`` without ``(``), string literals, ordinary comments, a column
  named ``set``. A leading comment (a tracer's ``/* traceparent=... */``, sqlcommenter's
  ``/*key='value'*/``, a ``-- note`` line) never hides the first keyword.
- Every other statement (DDL, ``SHOW``, ``SELECT``/``INSERT``/... without the above).

Reads of the previous statement's state (``reads_previous``; no pin by itself, the caller
restores or substitutes the value): calls ``LAST_INSERT_ID()`` (no argument), ``ROW_COUNT()``,
``FOUND_ROWS()``; ``@@IDENTITY``, ``@@LAST_INSERT_ID``, ``@@WARNING_COUNT``, ``@@ERROR_COUNT``
(with or without a session scope); ``SHOW WARNINGS``/``SHOW COUNT(*) WARNINGS`` (``"SHOW
WARNINGS"``), ``SHOW ERRORS``/``SHOW COUNT(*) ERRORS`` (``"SHOW ERRORS"``), ``GET [CURRENT|
STACKED] DIAGNOSTICS`` (``"GET DIAGNOSTICS"``); MariaDB ``LASTVAL(seq)``, ``PREVIOUS VALUE FOR
seq`` (``"LASTVAL()"``). The call-level ones of the first statement (not ``LASTVAL``) are listed
in ``reader_spans`` with their position in the text.

Other flags: ``reads_user_variables`` (a user variable that is not an assignment target),
``hidden_effects`` (``INSERT``/``UPDATE``/``DELETE``/``REPLACE``/``LOAD DATA``/``CALL``/
``EXECUTE``, or a call of a name that is qualified or not a known built-in: triggers and stored
code may do anything; a built-in missing from the list costs a check, never correctness),
``inserts`` (may change ``LAST_INSERT_ID()``: ``INSERT``, ``REPLACE``, ``LOAD DATA``,
``CREATE TABLE ... SELECT``, ``LAST_INSERT_ID(expr)``, and judgement call: ``CALL``/``EXECUTE``).
Several statements in one text: ``leaves`` is the first kind found, in text order; the other
fields are combined; ``reader_spans`` come from the first statement only.

Speed: Django sends the same few hundred texts again and again, so verdicts are remembered per
text (bounded; long texts never). The lexer is one master regular expression run with
``finditer()``; for classification it also matches runs of tokens that cannot matter (quoted
identifiers, literals, placeholders, operators, commas, parenthesised lists of them: the VALUES
of a bulk insert) as one internal token, expanded only where a rule needs the detail.
benchmarks/lexer.py prints the timings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "IDENT",
    "NO_EFFECT",
    "NUMBER",
    "OP",
    "PARAM",
    "SEMICOLON",
    "STRING",
    "SYS_VAR",
    "UNTERMINATED",
    "USER_VAR",
    "WORD",
    "InsertShape",
    "Token",
    "Verdict",
    "classify",
    "describe_insert",
    "lex",
    "split",
]

# Token kinds.
WORD = "WORD"
IDENT = "IDENT"
STRING = "STRING"
NUMBER = "NUMBER"
USER_VAR = "USER_VAR"
SYS_VAR = "SYS_VAR"
PARAM = "PARAM"
OP = "OP"
SEMICOLON = "SEMICOLON"
UNTERMINATED = "UNTERMINATED"
# Internal to classification: a run of tokens no rule looks into, and a parenthesised list of
# such runs (``(%s, %s), (%s, %s)``). lex() never returns them.
_RUN = "_RUN"
_ROWS = "_ROWS"


class Token(NamedTuple):
    """One token: its kind, its value (see the module docstring) and its span in the text."""

    kind: str
    value: str
    start: int
    end: int


_new_token = tuple.__new__  # Token(...) without namedtuple's Python-level __new__ (hot loop)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a statement text does to the session (see the module docstring for the rules).

    ``reader_spans`` are ``(start, end, name)``: ``text[start:end]`` is the reader (``name`` as in
    ``reads_previous``), for the first statement of the text only.
    """

    leaves: str | None = None
    reads_previous: frozenset[str] = frozenset()
    reads_user_variables: bool = False
    hidden_effects: bool = False
    inserts: bool = False
    reader_spans: tuple[tuple[int, int, str], ...] = ()
    statements: int = 1


@dataclass(frozen=True, slots=True)
class InsertShape:
    """The parts of one INSERT/REPLACE statement that decide whether it generates ids.

    ``rows`` holds, for ``VALUES``/``VALUE``, each row as a tuple of values, each value the tokens
    of its expression; for the ``SET a = 1, b = 2`` form, one row of the SET values (their names
    in ``set_columns``); None for ``INSERT ... SELECT``/``TABLE``. ``returning`` holds MariaDB's
    ``RETURNING`` items: a column's name unqualified, an alias, ``*``, or else the expression text.
    """

    table: str
    columns: tuple[str, ...] | None
    rows: tuple[tuple[tuple[Token, ...], ...], ...] | None
    set_columns: tuple[str, ...] | None
    returning: tuple[str, ...] | None
    on_duplicate: bool


# ---------------------------------------------------------------------------------------------
# The lexer

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


# ---------------------------------------------------------------------------------------------
# Statements


def _is_word(token: Token, value: str) -> bool:
    return token.kind == WORD and token.value == value


def _is_op(token: Token, value: str) -> bool:
    return token.kind == OP and token.value == value


def _opens(token: Token) -> bool:
    """Whether token starts with "(" (a _ROWS token is a whole parenthesised list)."""
    return token.kind == _ROWS or (token.kind == OP and token.value == "(")


def _after_dot(tokens: Sequence[Token], index: int, lo: int) -> bool:
    """Whether tokens[index] is the second part of a qualified name (``t.end``, ``db.f``)."""
    if index <= lo:
        return False
    previous = tokens[index - 1]
    return (previous.kind == OP or previous.kind == _RUN) and previous.value.endswith(".")


def _word_at(tokens: Sequence[Token], index: int, hi: int) -> str | None:
    if index < hi and tokens[index].kind == WORD:
        return tokens[index].value
    return None


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
_NOT_EXECUTED = frozenset({"PROCEDURE", "FUNCTION", "TRIGGER", "EVENT", "VIEW", "PACKAGE"})


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


# ---------------------------------------------------------------------------------------------
# Names: keywords that may precede "(" without calling anything, and built-in functions.

# Reserved and other words followed by "(" that are syntax, not a call (IN (...), VALUES (...),
# OVER (...), KEY (...)), and data types (DECIMAL(10, 2), CHAR(10)).
_SYNTAX_BEFORE_PAREN = frozenset(
    """
    ADD AGAINST ALGORITHM ALL ALTER ALWAYS AND ANY AS ASC AT ATOMIC BETWEEN BOTH BTREE BY CALL
    CASCADE CASE CHANGE CHARACTER CHARSET CHECK COLLATE COLUMN COLUMNS COMMENT CONSTRAINT CREATE
    CROSS CURRENT CYCLE DAY DEFAULT DELETE DESC DISTINCT DISTINCTROW DIV DO DROP DUAL DUPLICATE
    EACH ELSE ELSEIF EMPTY ENCLOSED END ENGINE ERROR ESCAPE ESCAPED EVENT EXCEPT EXISTS EXPLAIN
    FIELDS FOLLOWING FOR FORCE FOREIGN FROM FULLTEXT FUNCTION GENERATED GROUP HASH HAVING HOUR
    IGNORE IN INDEX INNER INTERSECT INTERVAL INTO INVISIBLE IS JOIN KEY KEYS LATERAL LEADING
    LESS LIKE LIMIT LINEAR LINES LIST LOCK LOOP MATCH MAXVALUE MINUTE MOD MODE MODIFY MONTH
    NATURAL NESTED NOT NULL OF OFFSET ON OPTIONALLY OR ORDER ORDINALITY OUTER OVER PARTITION
    PARTITIONS PATH PERIOD PERSISTENT PRECEDING PRIMARY PROCEDURE QUARTER RANGE RECURSIVE
    REFERENCES REGEXP RENAME REPEAT RETURN RETURNING RETURNS RLIKE ROLLUP ROW ROWS RTREE SECOND
    SELECT SEPARATOR SET SOME SOUNDS SPATIAL STARTING STORED STRAIGHT_JOIN SUBPARTITION
    SUBPARTITIONS
    HIGH_PRIORITY LOW_PRIORITY DELAYED QUICK SQL_NO_CACHE SQL_CACHE SQL_BUFFER_RESULT
    SQL_SMALL_RESULT SQL_BIG_RESULT MINUS
    SYSTEM_TIME TABLE TERMINATED THAN THEN TO TRAILING TRIGGER UNBOUNDED UNION UNIQUE UNTIL UPDATE
    USE USING VALUE VALUES VIEW VIRTUAL VISIBLE WEEK WHEN WHERE WHILE WINDOW WITH XOR YEAR
    BIGINT BINARY BIT BLOB BOOL BOOLEAN CHAR DATE DATETIME DEC DECIMAL DOUBLE ENUM FIXED FLOAT
    FLOAT4 FLOAT8 GEOMETRY GEOMETRYCOLLECTION INET4 INET6 INT INT1 INT2 INT3 INT4 INT8 INTEGER
    JSON LINESTRING LONG LONGBLOB LONGTEXT MEDIUMBLOB MEDIUMINT MEDIUMTEXT MIDDLEINT MULTIPOINT
    MULTILINESTRING MULTIPOLYGON NATIONAL NCHAR NUMERIC NVARCHAR POINT POLYGON PRECISION REAL
    SERIAL SIGNED SMALLINT TEXT TIME TIMESTAMP TINYBLOB TINYINT TINYTEXT UNSIGNED UUID VARBINARY
    VARCHAR VARYING VECTOR XMLTYPE YEAR_MONTH ZEROFILL
    """.split()
)

# Built-in functions, the ones Django's ORM, django-mysql and common hand-written SQL use. The
# session-state ones (GET_LOCK, LAST_INSERT_ID, ROW_COUNT, ...) are handled before this list.
_BUILTIN_FUNCTIONS = frozenset(
    """
    COUNT SUM AVG MIN MAX GROUP_CONCAT STD STDDEV STDDEV_POP STDDEV_SAMP VARIANCE VAR_POP VAR_SAMP
    BIT_AND BIT_OR BIT_XOR JSON_ARRAYAGG JSON_OBJECTAGG ANY_VALUE GROUPING
    ROW_NUMBER RANK DENSE_RANK PERCENT_RANK CUME_DIST NTILE LAG LEAD FIRST_VALUE LAST_VALUE
    NTH_VALUE MEDIAN PERCENTILE_CONT PERCENTILE_DISC
    CAST CONVERT IF IFNULL ISNULL NULLIF COALESCE GREATEST LEAST NVL NVL2 DECODE DECODE_ORACLE
    INTERVAL FIELD ELT FIND_IN_SET
    ASCII BIN BIT_LENGTH CHAR CHARACTER_LENGTH CHAR_LENGTH CHR CONCAT CONCAT_WS EXPORT_SET
    FORMAT FROM_BASE64 HEX INSERT INSTR LCASE LEFT LENGTH LENGTHB LOAD_FILE LOCATE LOWER LPAD
    LTRIM MAKE_SET MID OCT OCTET_LENGTH ORD POSITION QUOTE REPEAT REPLACE REVERSE RIGHT RPAD
    RTRIM SFORMAT SOUNDEX SPACE STRCMP SUBSTR SUBSTRING SUBSTRING_INDEX TO_BASE64 TO_CHAR TRIM
    UCASE UNHEX UPPER WEIGHT_STRING NATURAL_SORT_KEY REGEXP_INSTR REGEXP_LIKE REGEXP_REPLACE
    REGEXP_SUBSTR MATCH
    ABS ACOS ASIN ATAN ATAN2 CEIL CEILING CONV COS COT CRC32 CRC32C DEGREES DIV EXP FLOOR LN LOG
    LOG10 LOG2 MOD PI POW POWER RADIANS RAND ROUND SIGN SIN SQRT TAN TRUNCATE
    ADDDATE ADDTIME CONVERT_TZ CURDATE CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURTIME DATE
    DATE_ADD DATE_FORMAT DATE_SUB DATEDIFF DAY DAYNAME DAYOFMONTH DAYOFWEEK DAYOFYEAR EXTRACT
    FROM_DAYS FROM_UNIXTIME GET_FORMAT HOUR LAST_DAY LOCALTIME LOCALTIMESTAMP MAKEDATE MAKETIME
    MICROSECOND MINUTE MONTH MONTHNAME NOW PERIOD_ADD PERIOD_DIFF QUARTER SEC_TO_TIME SECOND
    STR_TO_DATE SUBDATE SUBTIME SYSDATE TIME TIME_FORMAT TIME_TO_SEC TIMEDIFF TIMESTAMP
    TIMESTAMPADD TIMESTAMPDIFF TO_DAYS TO_SECONDS UNIX_TIMESTAMP UTC_DATE UTC_TIME UTC_TIMESTAMP
    WEEK WEEKDAY WEEKOFYEAR YEAR YEARWEEK
    JSON_ARRAY JSON_ARRAY_APPEND JSON_ARRAY_INSERT JSON_ARRAY_INTERSECT JSON_COMPACT JSON_CONTAINS
    JSON_CONTAINS_PATH JSON_DEPTH JSON_DETAILED JSON_EQUALS JSON_EXISTS JSON_EXTRACT JSON_INSERT
    JSON_KEYS JSON_LENGTH JSON_LOOSE JSON_MERGE JSON_MERGE_PATCH JSON_MERGE_PRESERVE
    JSON_NORMALIZE JSON_OBJECT JSON_OVERLAPS JSON_PRETTY JSON_QUERY JSON_QUOTE JSON_REMOVE
    JSON_REPLACE JSON_SCHEMA_VALID JSON_SCHEMA_VALIDATION_REPORT JSON_SEARCH JSON_SET
    JSON_STORAGE_FREE JSON_STORAGE_SIZE JSON_TABLE JSON_TYPE JSON_UNQUOTE JSON_VALID JSON_VALUE
    COLUMN_ADD COLUMN_CHECK COLUMN_CREATE COLUMN_DELETE COLUMN_EXISTS COLUMN_GET COLUMN_JSON
    COLUMN_LIST
    AES_DECRYPT AES_ENCRYPT COMPRESS DES_DECRYPT DES_ENCRYPT ENCODE ENCRYPT MD5 PASSWORD
    OLD_PASSWORD RANDOM_BYTES SHA SHA1 SHA2 UNCOMPRESS UNCOMPRESSED_LENGTH KDF
    BENCHMARK BIN_TO_UUID CHARSET COERCIBILITY COLLATION CONNECTION_ID CURRENT_ROLE CURRENT_USER
    DATABASE DEFAULT FORMAT_BYTES FORMAT_PICO_TIME ICU_VERSION INET6_ATON INET6_NTOA INET_ATON
    INET_NTOA IS_IPV4 IS_IPV4_COMPAT IS_IPV4_MAPPED IS_IPV6 IS_UUID IS_FREE_LOCK IS_USED_LOCK
    MASTER_GTID_WAIT MASTER_POS_WAIT NAME_CONST PS_CURRENT_THREAD_ID PS_THREAD_ID RELEASE_ALL_LOCKS
    RELEASE_LOCK ROLES_GRAPHML ROW SCHEMA SESSION_USER SLEEP SOURCE_POS_WAIT STATEMENT_DIGEST
    STATEMENT_DIGEST_TEXT SYS_GUID SYSTEM_USER USER UUID UUID_SHORT UUID_TO_BIN VALUES VERSION
    WAIT_FOR_EXECUTED_GTID_SET GTID_SUBSET GTID_SUBTRACT
    EXISTS POINT LINESTRING POLYGON MULTIPOINT MULTILINESTRING MULTIPOLYGON GEOMETRYCOLLECTION
    ST_AREA ST_ASBINARY ST_ASGEOJSON ST_ASTEXT ST_ASWKB ST_ASWKT ST_BUFFER ST_CENTROID
    ST_CONTAINS ST_CONVEXHULL ST_CROSSES ST_DIFFERENCE ST_DIMENSION ST_DISJOINT ST_DISTANCE
    ST_DISTANCE_SPHERE ST_ENDPOINT ST_ENVELOPE ST_EQUALS ST_EXTERIORRING ST_GEOHASH
    ST_GEOMETRYTYPE ST_GEOMFROMGEOJSON ST_GEOMFROMTEXT ST_GEOMFROMWKB ST_INTERSECTION
    ST_INTERSECTS ST_ISEMPTY ST_ISVALID ST_LATFROMGEOHASH ST_LENGTH ST_LONGFROMGEOHASH
    ST_MAKEENVELOPE ST_NUMPOINTS ST_OVERLAPS ST_POINTFROMGEOHASH ST_POINTFROMTEXT ST_SIMPLIFY
    ST_SRID ST_STARTPOINT ST_SYMDIFFERENCE ST_TOUCHES ST_TRANSFORM ST_UNION ST_WITHIN ST_X ST_Y
    MBRCONTAINS MBRCOVEREDBY MBRCOVERS MBRDISJOINT MBREQUALS MBRINTERSECTS MBROVERLAPS MBRTOUCHES
    MBRWITHIN
    """.split()
)

# A name right after one of these words is a table, index or CTE name, and the "(" after it a
# column list: INSERT INTO t (a), CREATE TABLE t (...), KEY k (a), WITH cte (a) AS (...).
_NAME_FOLLOWS = frozenset(
    {"INTO", "TABLE", "REFERENCES", "KEY", "INDEX", "UNIQUE", "AS", "WITH", "RECURSIVE", "JOIN"}
    | {"FROM", "UPDATE"}
)

# Calls that read the previous statement's state: (name in reads_previous, has a span).
_PREVIOUS_STATE_CALLS = {
    "LAST_INSERT_ID": "LAST_INSERT_ID()",
    "ROW_COUNT": "ROW_COUNT()",
    "FOUND_ROWS": "FOUND_ROWS()",
}
# Calls that leave state.
_STATEFUL_CALLS = {
    "GET_LOCK": "GET_LOCK()",
    "SERVICE_GET_WRITE_LOCKS": "SERVICE_GET_WRITE_LOCKS()",
    "SERVICE_GET_READ_LOCKS": "SERVICE_GET_READ_LOCKS()",
    "NEXTVAL": "NEXTVAL()",
    "SETVAL": "SETVAL()",
    # They name the session: the statements after them must run on it (the watchdog idiom
    # SELECT CONNECTION_ID(), then KILL QUERY <id> from elsewhere).
    "CONNECTION_ID": "session identity (CONNECTION_ID())",
    "PS_CURRENT_THREAD_ID": "session identity (PS_CURRENT_THREAD_ID())",
}
# System variables that name the session, by SYS_VAR token value.
_IDENTITY_VARIABLES = {
    scope + "PSEUDO_THREAD_ID": "session identity (@@pseudo_thread_id)"
    for scope in ("", "SESSION.", "LOCAL.")
}
# System variables that read the previous statement's state, by SYS_VAR token value.
_PREVIOUS_STATE_VARIABLES = {
    scope + name: "@@" + name
    for name in ("IDENTITY", "LAST_INSERT_ID", "WARNING_COUNT", "ERROR_COUNT")
    for scope in ("", "SESSION.", "LOCAL.")
}
# Words the expression scan looks at (besides calls).
_MARKER_WORDS = frozenset({"SQL_CALC_FOUND_ROWS", "INTO", "NEXT", "PREVIOUS"})


# ---------------------------------------------------------------------------------------------
# Classification


class _Findings:
    """What the statements of one text were found to do, filled in by the rules below."""

    __slots__ = (
        "hidden_effects",
        "inserts",
        "leaves",
        "local_names",
        "mode",
        "reads",
        "spans",
        "spans_wanted",
        "sql",
        "user_reads",
    )

    def __init__(self, sql: str, mode: _Mode) -> None:
        self.sql = sql
        self.mode = mode
        self.leaves: str | None = None
        self.reads: set[str] = set()
        self.user_reads = False
        self.hidden_effects = False
        self.inserts = False
        self.spans: list[tuple[int, int, str]] = []
        self.spans_wanted = True  # only for the first statement
        self.local_names: frozenset[str] = frozenset()  # DECLAREd in the compound body

    def leave(self, kind: str) -> None:
        if self.leaves is None:
            self.leaves = kind

    def read(self, name: str, start: int = -1, end: int = -1) -> None:
        self.reads.add(name)
        if start >= 0 and self.spans_wanted:
            self.spans.append((start, end, name))


# A statement's rule: it classifies tokens[lo:hi] into the findings.
_Rule = Callable[[Sequence[Token], int, int, _Findings], None]


def _matching(tokens: Sequence[Token], index: int, hi: int) -> int:
    """Index of the token that closes the "(" at index (a _ROWS token closes itself)."""
    if tokens[index].kind == _ROWS:
        return index
    depth = 0
    for position in range(index, hi):
        token = tokens[position]
        if token.kind == OP:
            if token.value == "(":
                depth += 1
            elif token.value == ")":
                depth -= 1
                if depth == 0:
                    return position
    return hi - 1


def _is_comma(token: Token) -> bool:
    return (token.kind == OP or token.kind == _RUN) and token.value == ","


def _scan(
    tokens: Sequence[Token], lo: int, hi: int, found: _Findings, stored_calls: bool = True
) -> None:
    """Apply the rules that hold anywhere in an executed statement: calls, variables, markers.

    stored_calls=False for DDL, whose "name (" are definitions (KEY k (a)), never stored code.
    """
    index = lo
    while index < hi:
        token = tokens[index]
        kind = token.kind
        index += 1
        if kind is _RUN or kind is OP or kind is _ROWS:
            continue  # the inert majority
        if kind is WORD and token.value in _MARKER_WORDS:
            if not _after_dot(tokens, index - 1, lo):
                index = _marker(tokens, index - 1, hi, found)  # SQL_CALC_FOUND_ROWS (a) too
        elif kind is WORD or kind is IDENT or (kind is STRING and token.value[0] == '"'):
            if index < hi and _opens(tokens[index]):
                _call(tokens, index - 1, lo, hi, found, stored_calls)
        elif kind is USER_VAR:
            if index < hi and _is_op(tokens[index], ":="):
                found.leave("user variable assignment")
            else:
                found.user_reads = True
        elif kind is SYS_VAR:
            name = _PREVIOUS_STATE_VARIABLES.get(token.value)
            if name is not None:
                found.read(name, token.start, token.end)
            elif token.value in _IDENTITY_VARIABLES:
                found.leave(_IDENTITY_VARIABLES[token.value])


def _marker(tokens: Sequence[Token], index: int, hi: int, found: _Findings) -> int:
    """Apply the rule of the marker word at index; the index to scan on from."""
    value = tokens[index].value
    if value == "SQL_CALC_FOUND_ROWS":
        found.leave("SQL_CALC_FOUND_ROWS")
    elif value == "INTO":
        # SELECT ... INTO @a, @b: assignments, not reads.
        index += 1
        while index < hi and tokens[index].kind == USER_VAR:
            found.leave("user variable assignment")
            index += 1
            if index < hi and _is_comma(tokens[index]):
                index += 1
            else:
                break
        return index
    elif _word_at(tokens, index + 1, hi) == "VALUE" and _word_at(tokens, index + 2, hi) == "FOR":
        if value == "NEXT":
            found.leave("NEXT VALUE FOR")
        else:
            found.read("LASTVAL()")
        return index + 3
    return index + 1


def _call(
    tokens: Sequence[Token], index: int, lo: int, hi: int, found: _Findings, stored_calls: bool
) -> None:
    """Apply the rules of the call ``name(`` at index."""
    token = tokens[index]
    if token.kind is WORD:
        name = token.value
    elif token.kind is IDENT:
        name = token.value.upper()
    else:  # "name"(...): a call under sql_mode ANSI_QUOTES
        name = _unquote(token.value).upper()
    if _after_dot(tokens, index, lo):
        if stored_calls:
            found.hidden_effects = True  # db.f(): a stored function
        return
    if index > lo:
        previous = tokens[index - 1]
        if previous.kind == WORD and previous.value in _NAME_FOLLOWS:
            return  # INSERT INTO t (a), CREATE TABLE get_lock (...)
    stateful = _STATEFUL_CALLS.get(name)
    if stateful is not None:
        found.leave(stateful)
        return
    if name == "LASTVAL":
        found.read("LASTVAL()")
        return
    reader = _PREVIOUS_STATE_CALLS.get(name)
    if reader is not None:
        following = tokens[index + 1]
        empty = index + 2 < hi and _is_op(following, "(") and _is_op(tokens[index + 2], ")")
        if empty:
            found.read(reader, token.start, tokens[index + 2].end)
        elif name == "LAST_INSERT_ID":
            found.leave("LAST_INSERT_ID(expr)")
            found.inserts = True
        else:
            found.read(reader)
        return
    if not stored_calls:
        return
    if (token.kind == WORD and name in _SYNTAX_BEFORE_PAREN) or name in _BUILTIN_FUNCTIONS:
        return
    close = _matching(tokens, index + 1, hi)
    if close + 2 < hi and _is_word(tokens[close + 1], "AS") and _opens(tokens[close + 2]):
        return  # WITH a (x) AS (...), b (y) AS (...): a CTE's column list
    found.hidden_effects = True


def _statement(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """Classify the statement tokens[lo:hi] into found."""
    while lo < hi and _is_op(tokens[lo], "("):
        lo += 1  # (SELECT ...) UNION (SELECT ...)
    if lo >= hi:
        return
    head = tokens[lo]
    if head.kind == WORD:
        rule = _RULES.get(head.value)
        if rule is not None:
            rule(tokens, lo, hi, found)
            return
    if head.kind in (WORD, IDENT) and lo + 1 < hi and _is_op(tokens[lo + 1], ":"):
        _compound(tokens, lo, hi, found)
        return
    _scan(tokens, lo, hi, found)


def _expression_statement(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """SELECT, DO, VALUES, TABLE and statements without a rule of their own."""
    _scan(tokens, lo, hi, found)


def _write(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """INSERT, REPLACE, UPDATE, DELETE: triggers may fire."""
    found.hidden_effects = True
    if tokens[lo].value in ("INSERT", "REPLACE"):
        found.inserts = True
    _scan(tokens, lo, hi, found)


def _with(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """WITH ... {SELECT|UPDATE|DELETE}: the statement after the CTEs decides."""
    depth = 0
    for index in range(lo + 1, hi):
        token = tokens[index]
        if token.kind == OP:
            depth += (token.value == "(") - (token.value == ")")
        elif depth == 0 and token.kind == WORD:
            if token.value in ("UPDATE", "DELETE"):
                found.hidden_effects = True
                break
            if token.value in ("SELECT", "TABLE", "VALUES"):
                break
    _scan(tokens, lo, hi, found)


def _load(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """LOAD DATA / LOAD XML: inserts, fires triggers, assigns the user variables it lists."""
    if _word_at(tokens, lo + 1, hi) not in ("DATA", "XML"):
        return  # LOAD INDEX INTO CACHE
    found.hidden_effects = True
    found.inserts = True
    # LOAD DATA INFILE 'f' INTO TABLE t (a, @skip) SET b = @skip: the column list assigns the
    # variables (and they keep the last row's values), the SET clause reads them.
    expressions = _depth0_word(tokens, lo, hi, ("SET",))
    if any(tokens[index].kind is USER_VAR for index in range(lo, expressions)):
        found.leave("user variable assignment")
    _scan(tokens, expressions, hi, found)


def _leaves(kind: str, hidden: bool = False) -> _Rule:
    def rule(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
        found.leave(kind)
        if hidden:
            found.hidden_effects = True
            found.inserts = True
        _scan(tokens, lo + 1, hi, found)

    rule.__doc__ = "Statements that leave %s." % kind
    return rule


def _no_state(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """Statements that neither leave state nor run anything: UNLOCK, DESCRIBE t, ..."""


def _ddl(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """DDL and administration: "name (" are definitions, but GET_LOCK() etc. still count."""
    _scan(tokens, lo, hi, found, stored_calls=False)


def _set(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """SET: pins unless every item is global (or it is SET PASSWORD / DEFAULT ROLE / STATEMENT)."""
    tokens = _expand(found.sql, tokens, lo, hi, found.mode)
    lo, hi = 1, len(tokens)
    first = _word_at(tokens, lo, hi)
    if first == "STATEMENT":
        end = lo + 1
        while end < hi and not _is_word(tokens[end], "FOR"):
            end += 1
        _scan(tokens, lo + 1, end, found)
        _statement(tokens, end + 1, hi, found)
        return
    if first == "PASSWORD" or (first == "DEFAULT" and _word_at(tokens, lo + 1, hi) == "ROLE"):
        _scan(tokens, lo + 1, hi, found)
        return
    sticky_global = False  # SET GLOBAL a = 1, b = 2: b is global too
    session = False
    values: list[tuple[int, int]] = []
    for start, end in _items(tokens, lo, hi):
        index = start
        scope = _word_at(tokens, index, end)
        if scope in ("GLOBAL", "PERSIST", "PERSIST_ONLY"):
            sticky_global = True
            index += 1
        elif scope in ("SESSION", "LOCAL"):
            sticky_global = False
            index += 1
        if index >= end:
            session = True
            continue
        target = tokens[index]
        if target.kind == USER_VAR:
            session = True
        elif target.kind == SYS_VAR:
            scope, dot, _ = target.value.partition(".")
            if not (dot and scope in ("GLOBAL", "PERSIST", "PERSIST_ONLY")):
                session = True  # @@x, @@session.x, @@local.x
        elif target.kind in (WORD, IDENT):
            name = target.value.upper()
            if name in found.local_names and target.kind == WORD:
                pass  # a local variable of the compound statement
            elif name in ("NAMES", "CHARSET", "CHARACTER", "ROLE") or not sticky_global:
                session = True
        else:
            session = True
        for position in range(index + 1, end):
            token = tokens[position]
            if token.kind == OP and token.value in ("=", ":="):
                values.append((position + 1, end))
                break
    if session:
        found.leave("SET")
    for start, end in values:
        _scan(tokens, start, end, found)


def _items(tokens: Sequence[Token], lo: int, hi: int) -> Iterator[tuple[int, int]]:
    """(start, end) of the comma-separated items of tokens[lo:hi] (expanded tokens)."""
    depth = 0
    start = lo
    for index in range(lo, hi):
        token = tokens[index]
        if token.kind == OP:
            if token.value == "(":
                depth += 1
            elif token.value == ")":
                depth -= 1
            elif token.value == "," and depth == 0:
                yield start, index
                start = index + 1
    if start < hi:
        yield start, hi


def _lock(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """LOCK TABLES / LOCK INSTANCE FOR BACKUP."""
    if _word_at(tokens, lo + 1, hi) == "INSTANCE":
        found.leave("LOCK INSTANCE FOR BACKUP")
    else:
        found.leave("LOCK TABLES")


def _words(tokens: Sequence[Token], lo: int, hi: int) -> list[str]:
    return [token.value for token in tokens[lo:hi] if token.kind == WORD]


def _contains(words: list[str], sequence: tuple[str, ...]) -> bool:
    size = len(sequence)
    return any(tuple(words[index : index + size]) == sequence for index in range(len(words)))


def _flush(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """FLUSH TABLES ... WITH READ LOCK / FOR EXPORT pin; other FLUSH statements do not."""
    words = _words(tokens, lo, hi)
    if _contains(words, ("WITH", "READ", "LOCK")):
        found.leave("FLUSH TABLES WITH READ LOCK")
    elif _contains(words, ("FOR", "EXPORT")):
        found.leave("FLUSH TABLES FOR EXPORT")


def _backup(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """MariaDB BACKUP STAGE / BACKUP LOCK pin; BACKUP UNLOCK does not."""
    second = _word_at(tokens, lo + 1, hi)
    if second == "STAGE":
        found.leave("BACKUP STAGE")
    elif second == "LOCK":
        found.leave("BACKUP LOCK")


def _create(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """CREATE: TEMPORARY pins; stored programs and views are not run; CREATE TABLE ... SELECT."""
    created, temporary = _created(tokens, lo, hi)
    if created in _NOT_EXECUTED:
        return
    if temporary and created in ("TABLE", "SEQUENCE"):
        found.leave("CREATE TEMPORARY " + created)
    _scan(tokens, lo, hi, found, stored_calls=False)
    if created == "TABLE":
        for index in range(lo, hi):
            if _is_word(tokens[index], "SELECT"):
                found.inserts = True  # AUTO_INCREMENT ids of the copied rows
                _scan(tokens, index, hi, found)
                break


def _alter(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """ALTER: views, events and stored programs are not run."""
    created, _ = _created(tokens, lo, hi)
    if created not in _NOT_EXECUTED:
        _scan(tokens, lo, hi, found, stored_calls=False)


def _drop(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """DROP PREPARE is DEALLOCATE PREPARE; other DROP statements are DDL."""
    if _word_at(tokens, lo + 1, hi) == "PREPARE":
        found.leave("DEALLOCATE PREPARE")
    else:
        _ddl(tokens, lo, hi, found)


def _execute(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """EXECUTE stmt [USING ...] / MariaDB EXECUTE IMMEDIATE 'sql': unknown statements."""
    immediate = _word_at(tokens, lo + 1, hi) == "IMMEDIATE"
    found.leave("EXECUTE IMMEDIATE" if immediate else "EXECUTE")
    found.hidden_effects = True
    found.inserts = True
    _scan(tokens, lo + 1, hi, found)


def _begin(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """BEGIN [WORK] starts a transaction; BEGIN NOT ATOMIC ... END runs its body."""
    if _word_at(tokens, lo + 1, hi) == "NOT":
        _compound(tokens, lo, hi, found)
    else:
        found.leave("BEGIN")


def _start(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """START TRANSACTION pins; START SLAVE/REPLICA/GROUP_REPLICATION do not."""
    if _word_at(tokens, lo + 1, hi) == "TRANSACTION":
        found.leave("START TRANSACTION")


def _end_transaction(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """COMMIT/ROLLBACK ... AND CHAIN open the next transaction at once."""
    words = _words(tokens, lo, hi)
    if _contains(words, ("AND", "CHAIN")):
        found.leave(words[0] + " AND CHAIN")


def _show(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """SHOW [COUNT(*)] WARNINGS / ERRORS read the previous statement's diagnostics; SHOW
    [SESSION|LOCAL] STATUS describes the session the next statements must run on."""
    second = _word_at(tokens, lo + 1, hi)
    if second == "COUNT":
        second = _word_at(tokens, hi - 1, hi)
    if second in ("WARNINGS", "ERRORS"):
        found.read("SHOW " + second)
    elif second == "STATUS" or (
        second in ("SESSION", "LOCAL") and _word_at(tokens, lo + 2, hi) == "STATUS"
    ):
        found.leave("session identity (SHOW SESSION STATUS)")
    _scan(tokens, lo + 1, hi, found)


def _get(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """GET [CURRENT|STACKED] DIAGNOSTICS @x = ...: reads diagnostics, assigns variables."""
    second = _word_at(tokens, lo + 1, hi)
    if second in ("CURRENT", "STACKED"):
        second = _word_at(tokens, lo + 2, hi)
    if second == "DIAGNOSTICS":
        found.read("GET DIAGNOSTICS")
        if any(tokens[index].kind == USER_VAR for index in range(lo, hi)):
            found.leave("user variable assignment")
    else:
        _scan(tokens, lo, hi, found)


_INNER_STATEMENTS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH"})
_INNER_STATEMENTS |= {"TABLE", "VALUES"}


def _inner(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """Classify the statement that EXPLAIN ANALYZE / ANALYZE run, after their options."""
    for index in range(lo, hi):
        token = tokens[index]
        if (token.kind == WORD and token.value in _INNER_STATEMENTS) or _is_op(token, "("):
            _statement(tokens, index, hi, found)
            return


def _explain(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """EXPLAIN/DESCRIBE: not executed, except MySQL's EXPLAIN ANALYZE [FORMAT = x] <statement>."""
    if _word_at(tokens, lo + 1, hi) == "ANALYZE":
        _inner(tokens, lo + 2, hi, found)


def _analyze(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """MariaDB ANALYZE <statement> executes it; ANALYZE TABLE is maintenance."""
    if _word_at(tokens, lo + 1, hi) not in ("TABLE", "TABLES", "NO_WRITE_TO_BINLOG", "LOCAL"):
        _inner(tokens, lo + 1, hi, found)


def _declare(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """DECLARE in a compound body: DEFAULT expressions and cursor queries."""
    _scan(tokens, lo + 1, hi, found)


def _compound(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """A compound statement that runs its body: classify every statement and condition in it."""
    body = _expand(found.sql, tokens, lo, hi, found.mode)
    spans_wanted, local_names = found.spans_wanted, found.local_names
    found.spans_wanted = False  # a body's readers may read its own earlier statements
    _body(body, found)
    found.spans_wanted, found.local_names = spans_wanted, local_names


def _condition_end(tokens: Sequence[Token], index: int, hi: int, stop: str) -> int:
    """Index of the word stop that ends the condition at index (outside CASE ... END)."""
    cases = 0
    depth = 0
    while index < hi:
        token = tokens[index]
        if token.kind == OP:
            depth += (token.value == "(") - (token.value == ")")
        elif token.kind == WORD and depth == 0:
            if token.value == "CASE":
                cases += 1
            elif token.value == "END" and cases:
                cases -= 1
            elif token.value == stop and not cases:
                return index
        index += 1
    return hi


_CONDITION_ENDS = {"IF": "THEN", "ELSEIF": "THEN", "WHEN": "THEN", "WHILE": "DO", "UNTIL": "END"}


def _body(tokens: list[Token], found: _Findings) -> None:
    """Walk a compound statement (expanded tokens): its conditions and simple statements."""
    hi = len(tokens)
    index = 0
    while index < hi:
        token = tokens[index]
        kind = token.kind
        if kind == SEMICOLON:
            index += 1
            continue
        if kind in (WORD, IDENT) and index + 1 < hi and _is_op(tokens[index + 1], ":"):
            index += 2  # label
            continue
        value = token.value if kind == WORD else ""
        if value == "BEGIN":
            index += 3 if _word_at(tokens, index + 1, hi) == "NOT" else 1
            continue
        if value == "END":
            index += 1
            if _word_at(tokens, index, hi) in _BLOCK_ENDS:
                index += 1
            if index < hi and tokens[index].kind in (WORD, IDENT):
                index += 1  # END label
            continue
        stop = _CONDITION_ENDS.get(value)
        if stop is not None:
            end = _condition_end(tokens, index + 1, hi, stop)
            _scan(tokens, index + 1, end, found)
            index = end if stop == "END" else end + 1
            continue
        if value == "CASE":
            end = _condition_end(tokens, index + 1, hi, "WHEN")
            _scan(tokens, index + 1, end, found)
            index = end
            continue
        if value in ("ELSE", "LOOP", "REPEAT"):
            index += 1
            continue
        if value == "DECLARE":
            handler = _handler_statement(tokens, index, hi)
            if handler is not None:
                index = handler
                continue
            position = index + 1
            while position < hi and tokens[position].kind in (WORD, IDENT):
                found.local_names |= {tokens[position].value.upper()}
                if position + 1 < hi and _is_op(tokens[position + 1], ","):
                    position += 2
                else:
                    break
        end = index
        while end < hi and tokens[end].kind != SEMICOLON:
            end += 1
        _statement(tokens, index, end, found)
        index = end + 1


def _handler_statement(tokens: Sequence[Token], index: int, hi: int) -> int | None:
    """Where the statement of ``DECLARE ... HANDLER FOR conditions <statement>`` starts."""
    if _word_at(tokens, index + 2, hi) != "HANDLER" or _word_at(tokens, index + 3, hi) != "FOR":
        return None
    index += 4
    while index < hi:
        value = _word_at(tokens, index, hi)
        if value == "SQLSTATE":
            index += 3 if _word_at(tokens, index + 1, hi) == "VALUE" else 2
        elif value == "NOT":
            index += 2  # NOT FOUND
        else:
            index += 1  # SQLEXCEPTION, SQLWARNING, an error number, a condition name
        if index < hi and _is_op(tokens[index], ","):
            index += 1
        else:
            return index
    return hi


_RULES: dict[str, _Rule] = {
    "SELECT": _expression_statement,
    "INSERT": _write,
    "REPLACE": _write,
    "UPDATE": _write,
    "DELETE": _write,
    "WITH": _with,
    "LOAD": _load,
    "SET": _set,
    "LOCK": _lock,
    "UNLOCK": _no_state,
    "FLUSH": _flush,
    "BACKUP": _backup,
    "CREATE": _create,
    "ALTER": _alter,
    "DROP": _drop,
    "RENAME": _ddl,
    "TRUNCATE": _ddl,
    "GRANT": _ddl,
    "REVOKE": _ddl,
    "OPTIMIZE": _ddl,
    "REPAIR": _ddl,
    "CHECK": _ddl,
    "CHECKSUM": _ddl,
    "PREPARE": _leaves("PREPARE"),
    "EXECUTE": _execute,
    "DEALLOCATE": _leaves("DEALLOCATE PREPARE"),
    "USE": _leaves("USE"),
    "HANDLER": _leaves("HANDLER"),
    "XA": _leaves("XA"),
    "CALL": _leaves("CALL", hidden=True),
    "BEGIN": _begin,
    "START": _start,
    "COMMIT": _end_transaction,
    "ROLLBACK": _end_transaction,
    "SHOW": _show,
    "GET": _get,
    "EXPLAIN": _explain,
    "DESCRIBE": _explain,
    "DESC": _explain,
    "ANALYZE": _analyze,
    "DECLARE": _declare,
    "IF": _compound,
    "CASE": _compound,
    "WHILE": _compound,
    "LOOP": _compound,
    "REPEAT": _compound,
}


# ---------------------------------------------------------------------------------------------
# Verdicts

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
            )
    return verdict


def _text(sql: str | bytes | bytearray) -> str:
    if isinstance(sql, (bytes, bytearray)):
        return bytes(sql).decode("utf-8", "replace")
    return str(sql)


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


# The verdict of a statement that does nothing to the session (most of what Django sends).
NO_EFFECT = Verdict()


# ---------------------------------------------------------------------------------------------
# INSERT statements


def _name(sql: str, token: Token) -> str:
    """An identifier as written (unquoted; a WORD keeps its case)."""
    return token.value if token.kind == IDENT else sql[token.start : token.end]


def _last_name(sql: str, tokens: Sequence[Token], lo: int, hi: int) -> str | None:
    if hi > lo and tokens[hi - 1].kind in (WORD, IDENT):
        return _name(sql, tokens[hi - 1])
    return None


def describe_insert(sql: str | bytes | bytearray) -> InsertShape | None:
    """The shape of a one-statement INSERT/REPLACE text, or None for any other text."""
    text = _text(sql)
    coarse, complete = _coarse(text, _ESCAPES)
    if not complete:
        return None
    # Every token expanded but the _ROWS lists (a bulk insert's VALUES): read by _rows().
    tokens: list[Token] = []
    for token in coarse:
        if token.kind is _ROWS:
            tokens.append(token)
        else:
            tokens.extend(_expand(text, (token,), 0, 1, _ESCAPES))
    ranges = _statement_ranges(tokens)
    if len(ranges) != 1:
        return None
    lo, hi = ranges[0]
    if _word_at(tokens, lo, hi) not in ("INSERT", "REPLACE"):
        return None
    index = lo + 1
    while _word_at(tokens, index, hi) in ("LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE"):
        index += 1
    if _word_at(tokens, index, hi) == "INTO":
        index += 1
    if index >= hi or tokens[index].kind not in (WORD, IDENT):
        return None
    table = _name(text, tokens[index])
    index += 1
    while index + 1 < hi and _is_op(tokens[index], ".") and tokens[index + 1].kind in (WORD, IDENT):
        table = _name(text, tokens[index + 1])  # db.t: the table without its schema
        index += 2
    if _word_at(tokens, index, hi) == "PARTITION" and index + 1 < hi:
        index = _matching(tokens, index + 1, hi) + 1
    columns: tuple[str, ...] | None = None
    if index < hi and tokens[index].kind is _ROWS:
        names = _expand(text, tokens, index, index + 1, _ESCAPES)  # (`a`, `b`)
        columns = tuple(
            _last_name(text, names, a, b) or "" for a, b in _items(names, 1, len(names) - 1)
        )
        index += 1
    elif index < hi and _is_op(tokens[index], "("):
        following = tokens[index + 1] if index + 1 < hi else None
        query = following is not None and (
            _opens(following) or (following.kind == WORD and following.value in _INNER_STATEMENTS)
        )
        if not query:
            close = _matching(tokens, index, hi)
            names = tokens[index + 1 : close]
            columns = tuple(
                _last_name(text, names, a, b) or "" for a, b in _items(names, 0, len(names))
            )
            index = close + 1
    rows: list[tuple[tuple[Token, ...], ...]] | None = None
    set_columns: tuple[str, ...] | None = None
    keyword = _word_at(tokens, index, hi)
    if keyword in ("VALUES", "VALUE"):
        index += 1
        rows = []
        while index < hi:
            if _word_at(tokens, index, hi) == "ROW":
                index += 1
            if index < hi and tokens[index].kind is _ROWS:
                rows.extend(_rows(text, tokens[index], _ESCAPES))
                close = index
            elif index < hi and _is_op(tokens[index], "("):
                close = _matching(tokens, index, hi)
                rows.append(
                    tuple(
                        tuple(_expand(text, tokens, a, b, _ESCAPES))
                        for a, b in _items(tokens, index + 1, close)
                    )
                )
            else:
                break
            index = close + 1
            if index < hi and _is_op(tokens[index], ","):
                index += 1
            else:
                break
    elif keyword == "SET":
        index += 1
        end = _depth0_word(tokens, index, hi, ("ON", "RETURNING"))
        assigned: list[str] = []
        values: list[tuple[Token, ...]] = []
        for a, b in _items(tokens, index, end):
            equals = next((p for p in range(a, b) if _is_op(tokens[p], "=")), b)
            assigned.append(_last_name(text, tokens, a, equals) or "")
            values.append(tuple(_expand(text, tokens, equals + 1, b, _ESCAPES)))
        set_columns = tuple(assigned)
        rows = [tuple(values)]
        index = end
    on_duplicate = False
    returning: tuple[str, ...] | None = None
    depth = 0
    for position in range(index, hi):
        token = tokens[position]
        if token.kind == OP:
            depth += (token.value == "(") - (token.value == ")")
        elif depth == 0 and token.kind == WORD:
            if token.value == "ON" and _word_at(tokens, position + 1, hi) == "DUPLICATE":
                on_duplicate = True
            elif token.value == "RETURNING":
                returning = tuple(
                    _returned(text, tokens, a, b) for a, b in _items(tokens, position + 1, hi)
                )
    return InsertShape(
        table=table,
        columns=columns,
        rows=None if rows is None else tuple(rows),
        set_columns=set_columns,
        returning=returning,
        on_duplicate=on_duplicate,
    )


def _rows(sql: str, token: Token, mode: _Mode) -> list[tuple[tuple[Token, ...], ...]]:
    """The rows of a _ROWS token, ``(%s, %s), (%s, %s)``: one match per value."""
    rows: list[tuple[tuple[Token, ...], ...]] = []
    row: list[tuple[Token, ...]] = []
    text, offset = token.value, token.start
    for match in mode.row_values.finditer(text):
        start, end = match.span(1)
        value = text[start:end]
        if value == "%s":  # the usual one, without a second regular expression
            row.append((_new_token(Token, (PARAM, value, start + offset, end + offset)),))
        else:
            run = _new_token(Token, (_RUN, value, start + offset, end + offset))
            row.append(tuple(_expand(sql, (run,), 0, 1, mode)))
        if match.lastindex == 2:  # the ")" that ends the row
            rows.append(tuple(row))
            row = []
    return rows


def _depth0_word(tokens: Sequence[Token], index: int, hi: int, words: tuple[str, ...]) -> int:
    depth = 0
    while index < hi:
        token = tokens[index]
        if token.kind == OP:
            depth += (token.value == "(") - (token.value == ")")
        elif depth == 0 and token.kind == WORD and token.value in words:
            return index
        index += 1
    return hi


def _returned(sql: str, tokens: Sequence[Token], lo: int, hi: int) -> str:
    """The name of one RETURNING item: column (unqualified), alias, "*", or the expression."""
    last = tokens[hi - 1]
    if _is_op(last, "*"):
        return "*"
    if last.kind in (WORD, IDENT):
        if hi - lo == 1:
            return _name(sql, last)
        previous = tokens[hi - 2]
        if _is_op(previous, ".") or _is_word(previous, "AS"):
            return _name(sql, last)
    return sql[tokens[lo].start : last.end]
