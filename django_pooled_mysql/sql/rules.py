"""The rules of simple statements: one function per first word (LOCK, FLUSH, CREATE, SHOW...).

Each classifies ``tokens[lo:hi]`` into the findings, usually by deciding which parts run and
scanning those (scan.py). ``_RULES`` (dispatch.py) maps first words to them; the rules whose
statements hold statements (``SET STATEMENT ... FOR``, ``EXPLAIN ANALYZE``, compound bodies)
live there too, as they call back into it. What each rule decides, for readers:
docs/session-state.md; tests/unit/sql/test_rules.py has a row for each, both ways.
"""

from __future__ import annotations

from collections.abc import Sequence

from .scan import _Findings, _Rule, _scan
from .statements import _created
from .tokens import OP, USER_VAR, WORD, Token, _depth0_word, _is_word, _word_at
from .words import _NOT_EXECUTED


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


def _declare(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """DECLARE in a compound body: DEFAULT expressions and cursor queries."""
    _scan(tokens, lo + 1, hi, found)
