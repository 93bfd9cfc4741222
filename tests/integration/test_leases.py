"""Statement and transaction leases against a real server (issue 3, rules 1, 2, 5, 8)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import transaction

from tests.driver import DRIVER
from tests.support.helpers import Admin, Scratch, eventually, join_all, run_threads, session_id

# -- statement lease ---------------------------------------------------------------------------


def test_statement_returns_its_connection_before_execute_returns(scratch: Scratch) -> None:
    db = scratch.wrapper({"pool_size": 2, "max_overflow": 0})
    with db.cursor() as cursor:
        cursor.execute("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3")
        # The rows are in memory and the connection is back before anything is fetched.
        assert db.pool_stats()["in_use"] == 0
        assert cursor.fetchone() == (1,)
        assert cursor.fetchmany(5) == ((2,), (3,))
        assert cursor.fetchone() is None
    assert db.pool_stats()["in_use"] == 0


def test_description_rowcount_and_lastrowid_survive_release(scratch: Scratch) -> None:
    db = scratch.wrapper()
    with db.cursor() as cursor:
        cursor.execute("INSERT INTO testapp_author (name, age) VALUES (%s, %s)", ["Ann", 3])
        first_id = cursor.lastrowid
        assert cursor.rowcount == 1
        cursor.execute("SELECT name, age FROM testapp_author WHERE id = %s", [first_id])
        assert [column[0] for column in cursor.description] == ["name", "age"]
        assert cursor.rowcount == 1
        assert cursor.fetchall() == (("Ann", 3),)
        cursor.execute("UPDATE testapp_author SET age = age + 1")
        assert cursor.rowcount == 1


@pytest.mark.skipif(DRIVER == "pymysql", reason="PyMySQL does not enable multi-statements")
def test_multiple_result_sets_are_drained_before_release(scratch: Scratch) -> None:
    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0})
    with db.cursor() as cursor:
        cursor.execute("SELECT 1; SELECT 2, 3; SELECT 4")
        assert db.pool_stats()["in_use"] == 0
        assert cursor.fetchall() == ((1,),)
        assert cursor.nextset() is True
        assert cursor.fetchall() == ((2, 3),)
        assert cursor.nextset() is True
        assert cursor.fetchall() == ((4,),)
        assert cursor.nextset() is None
        # The only pooled connection is clean: the next statement is not out of sync.
        cursor.execute("SELECT 5")
        assert cursor.fetchone() == (5,)


def test_procedure_result_sets_are_drained_before_release(scratch: Scratch) -> None:
    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0})
    with db.cursor() as cursor:
        cursor.execute("CREATE PROCEDURE two_sets() BEGIN SELECT 1; SELECT 2, 3; END")
        cursor.execute("CALL two_sets()")
        # A procedure may leave session state, so CALL pins until close() (session lease).
        assert db.pool_stats()["in_use"] == 1
        assert cursor.fetchall() == ((1,),)
        assert cursor.nextset() is True
        assert cursor.fetchall() == ((2, 3),)
        cursor.execute("SELECT 5")
        assert cursor.fetchone() == (5,)
    db.close()
    assert (db.pool_stats()["in_use"], db.pool_stats()["resets"]) == (0, 1)


def test_server_error_leaves_the_connection_in_the_pool(scratch: Scratch) -> None:
    from django.db import ProgrammingError

    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0})
    before = session_id(db)
    with pytest.raises(ProgrammingError), db.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    assert session_id(db) == before
    assert db.pool_stats()["invalidations"] == 0


def test_forty_threads_each_get_their_own_results(scratch: Scratch) -> None:
    make = scratch.factory({"pool_size": 5, "max_overflow": 5})

    def worker(i: int) -> int:
        db = make()
        mismatches = 0
        with db.cursor() as cursor:
            for n in range(150):
                cursor.execute("SELECT %s, %s", [i, n])
                if cursor.fetchone() != (i, n):
                    mismatches += 1
        db.close()
        return mismatches

    assert run_threads(40, worker) == [0] * 40
    assert make().pool_stats()["open"] <= 10


def test_fetchmany_of_20000_rows_interleaved_with_other_workers(scratch: Scratch) -> None:
    db = scratch.wrapper()
    with db.cursor() as cursor:
        cursor.execute("CREATE TABLE big (n INT PRIMARY KEY) SELECT seq AS n FROM seq_1_to_20000")
    make = scratch.factory({"pool_size": 2, "max_overflow": 0})

    def worker(i: int) -> int:
        db = make()
        total = 0
        with db.cursor() as cursor, db.cursor() as other:
            cursor.execute("SELECT n FROM big ORDER BY n")
            while rows := cursor.fetchmany(500):
                total += sum(row[0] for row in rows)
                # Another statement between fetches: the first cursor's rows must not change.
                other.execute("SELECT %s", [i])
                assert other.fetchone() == (i,)
        db.close()
        return total

    assert run_threads(6, worker) == [20000 * 20001 // 2] * 6


def test_lastrowid_under_concurrency(scratch: Scratch) -> None:
    make = scratch.factory({"pool_size": 3, "max_overflow": 0})

    def worker(i: int) -> list[tuple[int, str]]:
        db = make()
        seen = []
        with db.cursor() as cursor:
            for n in range(30):
                name = "w%d-%d" % (i, n)
                cursor.execute("INSERT INTO testapp_author (name, age) VALUES (%s, 0)", [name])
                seen.append((cursor.lastrowid, name))
        db.close()
        return seen

    pairs = [pair for result in run_threads(12, worker) for pair in result]
    db = scratch.wrapper()
    with db.cursor() as cursor:
        cursor.execute("SELECT id, name FROM testapp_author")
        stored = dict(cursor.fetchall())
    assert len(pairs) == 360
    assert all(stored[row_id] == name for row_id, name in pairs)


# -- transaction lease ---------------------------------------------------------------------------


def test_atomic_block_keeps_one_connection_and_returns_it(scratch: Scratch) -> None:
    db = scratch.wrapper({"pool_size": 3, "max_overflow": 0})
    db.set_autocommit(False)
    # Turning autocommit off takes no connection yet: the first statement does.
    assert db.pool_stats()["in_use"] == 0
    ids = set()
    for _ in range(5):
        ids.add(session_id(db))
        assert db.pool_stats()["in_use"] == 1
    db.commit()
    db.set_autocommit(True)
    assert len(ids) == 1
    assert db.pool_stats()["in_use"] == 0


def test_atomic_commit_and_rollback_with_savepoints(scratch: Scratch) -> None:
    from django.db import connections

    connections.settings["scratch_tx"] = scratch.settings({"pool_size": 2, "max_overflow": 0})
    try:
        from tests.testapp.models import Author

        db = connections["scratch_tx"]
        with transaction.atomic(using="scratch_tx"):
            outer_id = session_id(db)
            Author.objects.using("scratch_tx").create(name="kept")
            try:
                with transaction.atomic(using="scratch_tx"):
                    assert session_id(db) == outer_id
                    Author.objects.using("scratch_tx").create(name="undone")
                    raise RuntimeError("roll back the savepoint")
            except RuntimeError:
                pass
            assert db.pool_stats()["in_use"] == 1
        assert db.pool_stats()["in_use"] == 0
        names = sorted(Author.objects.using("scratch_tx").values_list("name", flat=True))
        assert names == ["kept"]
    finally:
        connections["scratch_tx"].close()
        del connections.settings["scratch_tx"]
        scratch.aliases.add("scratch_tx")


def test_concurrent_atomic_blocks_that_raise_leave_nothing(scratch: Scratch) -> None:
    make = scratch.factory({"pool_size": 4, "max_overflow": 0})

    def worker(i: int) -> None:
        db = make()
        for n in range(10):
            db.set_autocommit(False)
            try:
                with db.cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO testapp_author (name, age) VALUES (%s, 0)", ["p%d" % i]
                    )
                    if n % 2:
                        raise RuntimeError("fail half of them")
                db.commit()
            except RuntimeError:
                db.rollback()
            finally:
                db.set_autocommit(True)
        db.close()

    run_threads(16, worker)
    db = scratch.wrapper()
    with db.cursor() as cursor:
        cursor.execute("SELECT name, COUNT(*) FROM testapp_author GROUP BY name")
        counts = dict(cursor.fetchall())
    assert counts == {"p%d" % i: 5 for i in range(16)}
    assert db.pool_stats()["in_use"] == 0


def test_select_for_update_blocks_another_worker_until_commit(
    scratch: Scratch, admin: Admin
) -> None:
    db = scratch.wrapper()
    with db.cursor() as cursor:
        cursor.execute("INSERT INTO testapp_counter (name, value) VALUES ('c', 0)")
    locked = threading.Event()
    order: list[str] = []
    make = scratch.factory()

    def holder(_: int) -> None:
        db = make()
        db.set_autocommit(False)
        with db.cursor() as cursor:
            cursor.execute("SELECT value FROM testapp_counter WHERE name = 'c' FOR UPDATE")
            locked.set()
            # Hold the row lock until the server shows the other worker waiting for it.
            eventually(
                lambda: (
                    admin.query(
                        "SELECT COUNT(*) FROM information_schema.INNODB_TRX "
                        "WHERE trx_state = 'LOCK WAIT'"
                    )[0][0]
                    == 1
                ),
                what="the waiter to block on the row lock",
                # InnoDB refreshes INNODB_TRX only when it was not read for 0.1 s: polling faster
                # would read the same stale snapshot for ever.
                interval=0.25,
            )
            order.append("holder commits")
            cursor.execute("UPDATE testapp_counter SET value = value + 1 WHERE name = 'c'")
        db.commit()
        db.set_autocommit(True)
        db.close()

    def waiter(_: int) -> None:
        db = make()
        assert locked.wait(10)
        db.set_autocommit(False)
        with db.cursor() as cursor:
            cursor.execute("SELECT value FROM testapp_counter WHERE name = 'c' FOR UPDATE")
            order.append("waiter got %s" % cursor.fetchone()[0])
        db.commit()
        db.set_autocommit(True)
        db.close()

    threads = [threading.Thread(target=f, args=(0,), daemon=True) for f in (holder, waiter)]
    for thread in threads:
        thread.start()
    join_all(threads, 60)
    assert order == ["holder commits", "waiter got 1"]


def test_on_commit_runs_only_after_commit(scratch: Scratch) -> None:
    from django.db import connections

    connections.settings["scratch_hooks"] = scratch.settings()
    scratch.aliases.add("scratch_hooks")
    try:
        ran: list[str] = []
        with transaction.atomic(using="scratch_hooks"):
            transaction.on_commit(lambda: ran.append("committed"), using="scratch_hooks")
            session_id(connections["scratch_hooks"])
            assert ran == []
        assert ran == ["committed"]
        try:
            with transaction.atomic(using="scratch_hooks"):
                transaction.on_commit(lambda: ran.append("rolled back"), using="scratch_hooks")
                raise RuntimeError
        except RuntimeError:
            pass
        assert ran == ["committed"]
    finally:
        connections["scratch_hooks"].close()
        del connections.settings["scratch_hooks"]


# -- costs: no round trip per lease ------------------------------------------------------------


def _questions_and_pings(admin: Admin) -> tuple[int, int]:
    return admin.global_status("Questions"), admin.global_status("Com_admin_commands")


def _baseline(admin: Admin) -> int:
    """Questions counted by the measuring itself (its own SHOW statements)."""
    first = _questions_and_pings(admin)
    return _questions_and_pings(admin)[0] - first[0]


def test_statement_lease_adds_no_round_trip(scratch: Scratch, admin: Admin) -> None:
    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0})
    session_id(db)  # connect and read server facts first
    baseline = _baseline(admin)
    questions, pings = _questions_and_pings(admin)
    with db.cursor() as cursor:
        for _ in range(50):
            cursor.execute("SELECT 1")
    after_questions, after_pings = _questions_and_pings(admin)
    # Exactly the 50 statements: no ping, no rollback, no SET.
    assert after_questions - questions - baseline == 50
    assert after_pings == pings


def test_idle_connections_are_pinged_once_idle_long_enough(scratch: Scratch, admin: Admin) -> None:
    # ping_after=0: every checkout of a used connection pings. Proves the counter sees pings.
    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0, "ping_after": 0})
    session_id(db)
    _, pings = _questions_and_pings(admin)
    with db.cursor() as cursor:
        for _ in range(5):
            cursor.execute("SELECT 1")
    assert _questions_and_pings(admin)[1] - pings == 5


def test_request_signals_cost_no_round_trip(scratch: Scratch, admin: Admin) -> None:
    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0})
    session_id(db)
    baseline = _baseline(admin)
    questions, pings = _questions_and_pings(admin)
    for _ in range(20):
        db.close_if_unusable_or_obsolete()
        db.errors_occurred = True  # forces Django's health check path
        db.close_if_unusable_or_obsolete()
    after = _questions_and_pings(admin)
    assert (after[0] - questions - baseline, after[1] - pings) == (0, 0)


# -- close -----------------------------------------------------------------------------------------


def test_close_inside_a_transaction_discards_the_open_transaction(scratch: Scratch) -> None:
    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0})
    db.set_autocommit(False)
    with db.cursor() as cursor:
        cursor.execute("INSERT INTO testapp_author (name, age) VALUES ('half', 0)")
    db.connection.close()
    db.connection = None
    other = scratch.wrapper({"pool_size": 1, "max_overflow": 0})
    with other.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM testapp_author")
        assert cursor.fetchone() == (0,)
        # The session that held the transaction is gone, not reused with autocommit off.
        cursor.execute("SELECT @@autocommit")
        assert cursor.fetchone() == (1,)


def test_forty_idle_threads_hold_at_most_pool_size_connections(scratch: Scratch) -> None:
    # Without idle_timeout, connections beyond pool_size close as they come back (QueuePool's
    # rule); with it they would stay open, idle, for idle_timeout.
    make = scratch.factory({"pool_size": 3, "max_overflow": 10, "idle_timeout": None})
    done = threading.Barrier(41)
    release = threading.Event()

    def worker(_: int) -> None:
        db = make()
        session_id(db)
        done.wait()
        # Idle, as a greenlet waiting on an upstream call would be, with its Django
        # connection still open.
        release.wait(30)
        db.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    done.wait(60)  # a Barrier: raises BrokenBarrierError if a worker never arrives
    try:
        assert scratch.server_connections() <= 3
    finally:
        release.set()
        join_all(threads, 60)


def _executemany_outcome(db: Any, no_sets: Any) -> tuple[str, Any]:
    sql = "INSERT INTO testapp_author (name, age) VALUES (%s, %s)"
    try:
        with db.cursor() as cursor:
            cursor.executemany(sql, no_sets)
            cursor.execute("SELECT COUNT(*) FROM testapp_author")
            return ("ran", cursor.fetchone())
    except Exception as exc:
        return ("raised", type(exc).__name__)


@pytest.mark.parametrize("no_sets", [list, lambda: iter([])], ids=["empty list", "empty iterator"])
def test_executemany_with_no_parameter_sets_behaves_as_on_stock(
    scratch: Scratch, no_sets: Any
) -> None:
    pooled = _executemany_outcome(scratch.wrapper({"pool_size": 1, "max_overflow": 0}), no_sets())
    stock = _executemany_outcome(scratch.wrapper(False, alias="scratch_stock"), no_sets())
    assert pooled == stock
    if DRIVER == "mysqlclient":
        # mysqlclient runs nothing (PyMySQL fails on an empty iterator, on stock too).
        assert pooled == ("ran", (0,))


def test_executemany_over_a_generator_inserts_every_row(scratch: Scratch) -> None:
    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0})
    with db.cursor() as cursor:
        rows = (("author %d" % i, i) for i in range(5))
        cursor.executemany("INSERT INTO testapp_author (name, age) VALUES (%s, %s)", rows)
        assert cursor.rowcount == 5
        cursor.execute("SELECT COUNT(*), SUM(age) FROM testapp_author")
        assert cursor.fetchone() == (5, 10)
