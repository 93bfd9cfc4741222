"""The rules (sql/rules.py, dispatch.py, scan.py, words.py): one table row per rule, both ways."""

from __future__ import annotations

from typing import Any

import pytest

from django_pooled_mysql.sql import classify, lexer, verdicts
from tests.unit.sql.expected import ASSIGNS, INSERT, NOTHING, UNPARSED, WRITE, expect, fields

RULES = [
    # --- SET of session things pins; a list with one session item is enough.
    ("SET @x = 1", expect("SET")),
    ("SET @x := 1", expect("SET")),
    ("set @x = 1, @y = 2", expect("SET")),
    ("SET SESSION sql_mode = 'TRADITIONAL'", expect("SET")),
    ("SET LOCAL sql_mode = ''", expect("SET")),
    ("SET @@session.sql_mode = ''", expect("SET")),
    ("SET @@local.wait_timeout = 10", expect("SET")),
    ("SET @@sql_mode = ''", expect("SET")),
    ("SET NAMES utf8mb4", expect("SET")),
    ("SET NAMES 'utf8mb4' COLLATE 'utf8mb4_unicode_ci'", expect("SET")),
    ("SET CHARACTER SET utf8mb4", expect("SET")),
    ("SET CHARSET utf8mb4", expect("SET")),
    ("SET autocommit = 0", expect("SET")),
    ("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", expect("SET")),
    ("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", expect("SET")),
    ("SET SESSION TRANSACTION READ ONLY", expect("SET")),
    ("SET ROLE 'app_reader'", expect("SET")),
    ("SET ROLE NONE", expect("SET")),
    ("SET sql_mode = 'STRICT_TRANS_TABLES'", expect("SET")),
    ("SET time_zone = '+00:00'", expect("SET")),
    ("SET foreign_key_checks=0", expect("SET")),  # Django's disable_constraint_checking()
    ("SET RESOURCE GROUP batch", expect("SET")),
    ("SET `sql_mode` = ''", expect("SET")),
    ("SET GLOBAL max_connections = 100, SESSION sql_mode = ''", expect("SET")),
    ("SET GLOBAL max_connections = 100, @x = 1", expect("SET")),
    # @@global. applies to its own item only; the item after it is the session's.
    ("SET @@global.max_connections = 100, wait_timeout = 10", expect("SET")),
    ("SET @x = LAST_INSERT_ID()", expect("SET", reads=("LAST_INSERT_ID()",))),
    ("SET @x = @y", expect("SET", user=True)),
    ("SET @x = GET_LOCK('a', 0)", expect("SET")),  # the statement's own kind comes first
    # --- SET of global things, of accounts, or for one statement does not pin.
    ("SET GLOBAL max_connections = 100", NOTHING),
    ("SET @@global.max_connections = 100", NOTHING),
    ("SET @@GLOBAL.max_connections = 100, @@global.wait_timeout = 10", NOTHING),
    ("SET GLOBAL max_connections = 100, sort_buffer_size = 1000000", NOTHING),
    ("SET PERSIST max_connections = 100", NOTHING),
    ("SET PERSIST_ONLY max_connections = 100", NOTHING),
    ("SET GLOBAL TRANSACTION ISOLATION LEVEL READ COMMITTED", NOTHING),
    ("SET GLOBAL max_connections = @wanted", expect(user=True)),
    ("SET PASSWORD = 'secret'", NOTHING),
    ("SET PASSWORD FOR 'app'@'%' = %s", NOTHING),
    ("SET DEFAULT ROLE 'reader' TO 'app'@'%'", NOTHING),
    ("SET STATEMENT max_statement_time=5 FOR SELECT `a`.`id` FROM `a`", NOTHING),
    ("SET STATEMENT max_statement_time=5 FOR SELECT GET_LOCK('a', 1)", expect("GET_LOCK()")),
    ("SET STATEMENT sql_mode='', foreign_key_checks=0 FOR INSERT INTO t (a) VALUES (%s)", INSERT),
    ("SET STATEMENT max_statement_time=5 FOR SET @x = 1", expect("SET")),
    # --- User variables: assigned anywhere pins; read only is a flag.
    ("SELECT @x := 1", expect(ASSIGNS)),
    ("SELECT @x := @x + 1 FROM t", expect(ASSIGNS, user=True)),
    ("SELECT `a` INTO @x FROM t", expect(ASSIGNS)),
    ("SELECT a, b INTO @x, @y FROM t", expect(ASSIGNS)),
    ("SELECT a INTO @'x' FROM t", expect(ASSIGNS)),
    ('SELECT a FROM t INTO @"x"', expect(ASSIGNS)),
    ("SELECT @`x` := 1", expect(ASSIGNS)),
    ("SELECT a INTO OUTFILE '/tmp/a.csv' FROM t", NOTHING),
    ("SELECT `id` FROM `t` WHERE `a` = @x", expect(user=True)),
    ("SELECT @x", expect(user=True)),
    ("SELECT @'my var', @\"other\", @`third`", expect(user=True)),
    ("SELECT @@session.sql_mode", NOTHING),
    ("SELECT @@sql_mode, @@global.max_connections", NOTHING),
    (
        "LOAD DATA LOCAL INFILE 'f.csv' INTO TABLE t (a, @skip) SET b = 1",
        expect(ASSIGNS, hidden=True, inserts=True),
    ),
    (
        "LOAD DATA INFILE 'f.csv' INTO TABLE t (a, @v) SET b = @v",
        expect(ASSIGNS, user=True, hidden=True, inserts=True),
    ),
    ("LOAD DATA INFILE 'f.csv' INTO TABLE t", INSERT),
    ("LOAD XML INFILE 'f.xml' INTO TABLE t", INSERT),
    ("LOAD INDEX INTO CACHE t", NOTHING),
    ("GET DIAGNOSTICS @n = NUMBER", expect(ASSIGNS, reads=("GET DIAGNOSTICS",))),
    (
        "GET CURRENT DIAGNOSTICS CONDITION 1 @msg = MESSAGE_TEXT",
        expect(ASSIGNS, reads=("GET DIAGNOSTICS",)),
    ),
    ("GET STACKED DIAGNOSTICS @n = NUMBER", expect(ASSIGNS, reads=("GET DIAGNOSTICS",))),
    # --- Locks.
    ("LOCK TABLES `t` WRITE", expect("LOCK TABLES")),
    ("LOCK TABLE t READ, u AS v WRITE", expect("LOCK TABLES")),
    ("LOCK INSTANCE FOR BACKUP", expect("LOCK INSTANCE FOR BACKUP")),
    ("UNLOCK TABLES", NOTHING),
    ("UNLOCK INSTANCE", NOTHING),
    ("FLUSH TABLES WITH READ LOCK", expect("FLUSH TABLES WITH READ LOCK")),
    ("FLUSH TABLES `t1`, `t2` WITH READ LOCK", expect("FLUSH TABLES WITH READ LOCK")),
    ("FLUSH TABLES WITH READ LOCK AND DISABLE CHECKPOINT", expect("FLUSH TABLES WITH READ LOCK")),
    ("FLUSH TABLES t FOR EXPORT", expect("FLUSH TABLES FOR EXPORT")),
    ("FLUSH TABLES", NOTHING),
    ("FLUSH PRIVILEGES", NOTHING),
    ("FLUSH LOCAL STATUS", NOTHING),
    ("BACKUP STAGE START", expect("BACKUP STAGE")),
    ("BACKUP STAGE BLOCK_COMMIT", expect("BACKUP STAGE")),
    ("BACKUP LOCK t", expect("BACKUP LOCK")),
    ("BACKUP UNLOCK", NOTHING),
    # --- Calls that leave state (django-mysql's Lock: GET_LOCK / RELEASE_LOCK).
    ("SELECT GET_LOCK(%s, %s)", expect("GET_LOCK()")),
    ("select get_lock('x', 0)", expect("GET_LOCK()")),
    ("SELECT GET_LOCK ('x', 0)", expect("GET_LOCK()")),
    ("SELECT GET_LOCK/* why not */('x', 0)", expect("GET_LOCK()")),
    ("SELECT `get_lock`('x', 0)", expect("GET_LOCK()")),  # a quoted name calls the built-in
    ("SELECT RELEASE_LOCK(%s)", NOTHING),
    ("SELECT RELEASE_ALL_LOCKS(), IS_FREE_LOCK(%s), IS_USED_LOCK(%s)", NOTHING),
    ("DO GET_LOCK('a', 0)", expect("GET_LOCK()")),
    ("DO RELEASE_LOCK('a')", NOTHING),
    ("SELECT service_get_write_locks('ns', 'l', 10)", expect("SERVICE_GET_WRITE_LOCKS()")),
    ("SELECT service_get_read_locks('ns', 'l', 10)", expect("SERVICE_GET_READ_LOCKS()")),
    ("SELECT LAST_INSERT_ID(%s)", expect("LAST_INSERT_ID(expr)", inserts=True)),
    (
        "UPDATE seq SET id = LAST_INSERT_ID(id + 1)",
        expect("LAST_INSERT_ID(expr)", hidden=True, inserts=True),
    ),
    ("SELECT NEXTVAL(s)", expect("NEXTVAL()")),
    ("SELECT SETVAL(s, 10)", expect("SETVAL()")),
    ("SELECT NEXT VALUE FOR s", expect("NEXT VALUE FOR")),
    (
        "INSERT INTO t (id) VALUES (NEXT VALUE FOR s)",
        expect("NEXT VALUE FOR", hidden=True, inserts=True),
    ),
    ("SELECT `next`, `value` FROM t", NOTHING),
    # --- Statements that leave state.
    ("CREATE TEMPORARY TABLE t (a INT)", expect("CREATE TEMPORARY TABLE")),
    ("create temporary table if not exists t (a int)", expect("CREATE TEMPORARY TABLE")),
    (
        "CREATE OR REPLACE TEMPORARY TABLE t AS SELECT 1",
        expect("CREATE TEMPORARY TABLE", inserts=True),
    ),
    ("CREATE TEMPORARY SEQUENCE s", expect("CREATE TEMPORARY SEQUENCE")),
    ("CREATE TABLE t (a INT)", NOTHING),
    ("CREATE TABLE get_lock (a INT, KEY get_lock (a))", NOTHING),
    ("CREATE TABLE t AS SELECT GET_LOCK('a', 0)", expect("GET_LOCK()", inserts=True)),
    (
        "CREATE TABLE t (id INT, KEY k (id)) SELECT myfunc() AS id",
        expect(hidden=True, inserts=True),
    ),
    ("DROP TEMPORARY TABLE IF EXISTS t", NOTHING),
    ("PREPARE s FROM 'SELECT 1'", expect("PREPARE")),
    ("PREPARE s FROM @sql", expect("PREPARE", user=True)),
    ("EXECUTE s", expect("EXECUTE", hidden=True, inserts=True)),
    ("EXECUTE s USING @a, @b", expect("EXECUTE", user=True, hidden=True, inserts=True)),
    ("EXECUTE IMMEDIATE 'SELECT 1'", expect("EXECUTE IMMEDIATE", hidden=True, inserts=True)),
    ("DEALLOCATE PREPARE s", expect("DEALLOCATE PREPARE")),
    ("DROP PREPARE s", expect("DEALLOCATE PREPARE")),
    ("SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 10", expect("SQL_CALC_FOUND_ROWS")),
    ("SELECT SQL_CALC_FOUND_ROWS (`a`) FROM t", expect("SQL_CALC_FOUND_ROWS")),
    ("SELECT 'SQL_CALC_FOUND_ROWS' FROM t", NOTHING),
    ("SELECT `sql_calc_found_rows`, t.sql_calc_found_rows FROM t", NOTHING),
    ("USE `db`", expect("USE")),
    ("HANDLER t OPEN", expect("HANDLER")),
    ("HANDLER t READ FIRST", expect("HANDLER")),
    ("XA START 'x'", expect("XA")),
    ("XA COMMIT 'x'", expect("XA")),
    ("BEGIN", expect("BEGIN")),
    ("BEGIN WORK", expect("BEGIN")),
    ("START TRANSACTION", expect("START TRANSACTION")),
    ("START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT", expect("START TRANSACTION")),
    ("START SLAVE", NOTHING),
    ("COMMIT", NOTHING),
    ("ROLLBACK", NOTHING),
    ("COMMIT AND CHAIN", expect("COMMIT AND CHAIN")),
    ("ROLLBACK WORK AND CHAIN", expect("ROLLBACK AND CHAIN")),
    ("ROLLBACK WORK AND NO CHAIN", NOTHING),
    ("SAVEPOINT s", NOTHING),
    ("CALL p(1)", expect("CALL", hidden=True, inserts=True)),
    ("CALL db.p(@out)", expect("CALL", user=True, hidden=True, inserts=True)),
    ("CALL p", expect("CALL", hidden=True, inserts=True)),
    # --- Compound statements that run their body.
    ("BEGIN NOT ATOMIC SET @x = 1; END", expect("SET")),
    ("BEGIN NOT ATOMIC DECLARE x INT DEFAULT 0; SET x = 1; SELECT x; END", NOTHING),
    (
        "BEGIN NOT ATOMIC IF @a > 1 THEN SELECT GET_LOCK('a', 0); END IF; END",
        expect("GET_LOCK()", user=True),
    ),
    ("BEGIN NOT ATOMIC IF GET_LOCK('a', 0) THEN SELECT 1; END IF; END", expect("GET_LOCK()")),
    (
        "BEGIN NOT ATOMIC INSERT INTO t VALUES (1); SELECT LAST_INSERT_ID(); END",
        expect(reads=("LAST_INSERT_ID()",), hidden=True, inserts=True),
    ),
    (
        "BEGIN NOT ATOMIC DECLARE CONTINUE HANDLER FOR SQLEXCEPTION SET @failed = 1; SELECT 1; END",
        expect("SET"),
    ),
    (
        "BEGIN NOT ATOMIC DECLARE EXIT HANDLER FOR SQLSTATE '42S02', NOT FOUND BEGIN SET @f = 1; "
        "END; SELECT 1; END",
        expect("SET"),
    ),
    ("BEGIN NOT ATOMIC WHILE @i < 3 DO SET @i = @i + 1; END WHILE; END", expect("SET", user=True)),
    (
        "BEGIN NOT ATOMIC REPEAT SET @i = @i + 1; UNTIL @i > 3 END REPEAT; END",
        expect("SET", user=True),
    ),
    (
        "BEGIN NOT ATOMIC CASE @x WHEN 1 THEN SELECT 1; ELSE SET @y = 2; END CASE; END",
        expect("SET", user=True),
    ),
    ("BEGIN NOT ATOMIC lbl: LOOP LEAVE lbl; END LOOP lbl; END", NOTHING),
    ("BEGIN NOT ATOMIC handler: LOOP LEAVE handler; END LOOP handler; END", NOTHING),
    ("BEGIN NOT ATOMIC IF 1 THEN SELECT 1; END IF; SET @x = 1; END", expect("SET")),
    (
        "BEGIN NOT ATOMIC WHILE 0 DO SELECT 1; END WHILE; LOCK TABLES t READ; END",
        expect("LOCK TABLES"),
    ),
    ("BEGIN NOT ATOMIC BEGIN SELECT 1; END; USE db; END", expect("USE")),
    ("IF @x THEN SET @y = 1; END IF", expect("SET", user=True)),
    (
        "IF (@x > 0) THEN SELECT 1; ELSEIF @x < 0 THEN SELECT 2; ELSE SELECT 3; END IF",
        expect(user=True),
    ),
    # --- Not executed: EXPLAIN/DESCRIBE, stored programs and views.
    ("EXPLAIN SELECT GET_LOCK('a', 1)", NOTHING),
    ("EXPLAIN FORMAT=JSON SELECT @x := 1", NOTHING),
    ("EXPLAIN EXTENDED SELECT SQL_CALC_FOUND_ROWS * FROM t", NOTHING),
    ("DESCRIBE `t`", NOTHING),
    ("DESC SELECT GET_LOCK('a', 1)", NOTHING),
    ("EXPLAIN ANALYZE SELECT GET_LOCK('a', 1)", expect("GET_LOCK()")),
    ("EXPLAIN ANALYZE UPDATE t SET a = 1", WRITE),
    ("ANALYZE SELECT GET_LOCK('a', 1)", expect("GET_LOCK()")),
    ("ANALYZE FORMAT=JSON SELECT @x := 1", expect(ASSIGNS)),
    ("ANALYZE TABLE t", NOTHING),
    (
        "CREATE PROCEDURE p() BEGIN DECLARE x INT; SET @x = 1; IF x THEN SELECT 1; END IF; END",
        NOTHING,
    ),
    (
        "CREATE DEFINER=`root`@`localhost` PROCEDURE p(IN a INT) SQL SECURITY INVOKER BEGIN "
        "SELECT GET_LOCK('a', 0); END",
        NOTHING,
    ),
    ("CREATE OR REPLACE DEFINER = 'root'@'localhost' PROCEDURE p() SET @x = 1", NOTHING),
    ("CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN IF(1, 2, 3)", NOTHING),
    ("CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW SET @n = @n + 1", NOTHING),
    (
        "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW BEGIN IF NEW.a > 0 THEN SET @n = 1; "
        "END IF; END",
        NOTHING,
    ),
    (
        "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN SET @x = 1; SELECT GET_LOCK('a', 0); END",
        NOTHING,
    ),
    ("ALTER EVENT e DO BEGIN SET @x = 1; END", NOTHING),
    ("CREATE VIEW v AS SELECT GET_LOCK('a', 0)", NOTHING),
    ("CREATE OR REPLACE ALGORITHM=MERGE VIEW v AS SELECT @x", NOTHING),
    ("ALTER VIEW v AS SELECT GET_LOCK('a', 0)", NOTHING),
    ("ALTER TABLE t ADD COLUMN get_lock INT, ADD KEY k (get_lock)", NOTHING),
    # --- Markers that are identifiers, strings or comments.
    ("SELECT target_locked, budget_lock_reason FROM t", NOTHING),
    ("SELECT `get_lock` FROM t", NOTHING),
    ("SELECT t.get_lock FROM t", NOTHING),
    ("SELECT `set`, `lock`, `use`, `begin` FROM `t`", NOTHING),
    ("SELECT `t`.`set` FROM `t` WHERE `t`.`set` = %s", NOTHING),
    ("UPDATE `t` SET `set` = %s, `lock` = %s", WRITE),
    ("SELECT 'step 1; set flag'", NOTHING),
    ("SELECT 'get_lock('", NOTHING),
    ("SELECT \"SET @x = 1\", '@y := 2'", NOTHING),
    ("SELECT 'it''s; SET @x = 1'", NOTHING),
    ("SELECT 'it\\'s; SET @x = 1'", NOTHING),
    ("SELECT `a``; SET @x = 1`", NOTHING),
    ("/* SET @x = 1 */ SELECT 1", NOTHING),
    ("SELECT 1 -- SET NAMES utf8", NOTHING),
    ("SELECT 1 # SET @x = 1", NOTHING),
    ("SELECT 1 --\tSET @x := 1", NOTHING),
    ("SELECT 1 --", NOTHING),
    # "--" without whitespace after it is two minus signs, not a comment.
    ("SELECT 1 --@x", expect(user=True)),
    # A leading or trailing comment never hides the statement.
    ("/* x */ CREATE TEMPORARY TABLE t (a INT)", expect("CREATE TEMPORARY TABLE")),
    ("-- note\nSET @x = 1", expect("SET")),
    ("# note\nLOCK TABLES t WRITE", expect("LOCK TABLES")),
    (
        "/* traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' */ SELECT "
        "`a`.`id` FROM `a`",
        NOTHING,
    ),
    (
        "/* traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' */ SET @x = 1",
        expect("SET"),
    ),
    ("SELECT `a`.`id` FROM `a` /*controller='index',framework='django%%3A5.2'*/", NOTHING),
    ("SELECT GET_LOCK(%s, 0) /*application='shop',route='%%2Fcart'*/", expect("GET_LOCK()")),
    ("SELECT /*+ SET_VAR(sql_mode='') MAX_EXECUTION_TIME(100) */ 1", NOTHING),
    ("SELECT /*+ BKA(t) */ GET_LOCK('a', 0)", expect("GET_LOCK()")),
    # --- Calls: built-ins have no hidden effects; stored functions may.
    ("SELECT COUNT(*), MAX(`a`), COALESCE(`b`, %s), IFNULL(`c`, 0) FROM t", NOTHING),
    (
        "SELECT CAST(`a` AS DECIMAL(10, 2)), CONVERT(`b`, CHAR(10)), CONVERT(`c` USING utf8mb4) "
        "FROM t",
        NOTHING,
    ),
    ("SELECT JSON_EXTRACT(`data`, %s), JSON_UNQUOTE(JSON_EXTRACT(`data`, '$.a')) FROM t", NOTHING),
    ("SELECT myfunc(1)", expect(hidden=True)),
    ("SELECT DISTINCT (`a`), SQL_NO_CACHE (1) FROM t WHERE `b` = SOME (SELECT 1)", NOTHING),
    # Under ANSI_QUOTES a double-quoted name is an identifier: "get_lock"(...) is the call.
    ('SELECT "get_lock"(%s, 0)', expect("GET_LOCK()")),
    ('SELECT "myfunc" (1), "db"."f"(2)', expect(hidden=True)),
    ('SELECT "a", "b" FROM t WHERE "c" = (1)', NOTHING),
    ("SELECT 'get_lock'('a', 0)", NOTHING),  # a single-quoted string is never a name
    ("SELECT 1. f(1), 1.f(2)", expect(hidden=True)),
    ("SELECT 1. ROW(1)", expect(hidden=True)),  # "1" "." "ROW(": read as qualified, to be safe
    # What separates a quoted name from its "(" does not hide the call.
    ("SELECT `myfunc` /* c */ (1)", expect(hidden=True)),
    ('SELECT "get_lock" -- c\n(%s, 0)', expect("GET_LOCK()")),
    ("/*!40101 SELECT `get_lock`*/('a', 0)", expect("GET_LOCK()")),
    ("SELECT `myfunc`(1)", expect(hidden=True)),
    ("SELECT db.myfunc(1)", expect(hidden=True)),
    ("SELECT t.get_lock('a')", expect(hidden=True)),  # a stored function in schema t
    ("SELECT sys.format_bytes(10)", expect(hidden=True)),
    ("SELECT * FROM t WHERE a IN (SELECT b FROM u) AND EXISTS (SELECT 1) AND (c OR d)", NOTHING),
    (
        "WITH RECURSIVE `cte` (`n`) AS (SELECT 1 UNION ALL SELECT `n` + 1 FROM `cte` WHERE `n` < "
        "%s) SELECT `n` FROM `cte`",
        NOTHING,
    ),
    ("WITH a (x) AS (SELECT 1), b (y) AS (SELECT 2) SELECT * FROM a, b", NOTHING),
    ("SELECT * FROM (SELECT 1, 2) AS dt (a, b)", NOTHING),
    ("SELECT ROW_NUMBER() OVER (PARTITION BY `a` ORDER BY `b`) FROM t", NOTHING),
    ("SELECT * FROM JSON_TABLE(@j, '$[*]' COLUMNS (id INT PATH '$.id')) AS jt", expect(user=True)),
    # --- Reads of the previous statement's state.
    ("SELECT LAST_INSERT_ID()", expect(reads=("LAST_INSERT_ID()",))),
    ("SELECT ROW_COUNT()", expect(reads=("ROW_COUNT()",))),
    ("SELECT FOUND_ROWS()", expect(reads=("FOUND_ROWS()",))),
    ("SELECT ROW_COUNT(%s)", expect(reads=("ROW_COUNT()",))),  # a wrong call still reads
    ("SELECT @@IDENTITY", expect(reads=("@@IDENTITY",))),
    ("SELECT @@session.last_insert_id", expect(reads=("@@LAST_INSERT_ID",))),
    (
        "SELECT @@warning_count, @@LOCAL.error_count",
        expect(reads=("@@WARNING_COUNT", "@@ERROR_COUNT")),
    ),
    ("SELECT @@global.max_connections, last_insert_id, found_rows FROM t", NOTHING),
    ("SHOW WARNINGS", expect(reads=("SHOW WARNINGS",))),
    ("SHOW WARNINGS LIMIT 10", expect(reads=("SHOW WARNINGS",))),
    ("SHOW COUNT(*) WARNINGS", expect(reads=("SHOW WARNINGS",))),
    ("SHOW ERRORS", expect(reads=("SHOW ERRORS",))),
    ("SHOW COUNT(*) ERRORS", expect(reads=("SHOW ERRORS",))),
    ("SHOW VARIABLES LIKE 'warning_count'", NOTHING),
    ("SHOW FULL TABLES", NOTHING),
    # --- What names or describes the session pins it: the next statements run on it.
    ("SELECT CONNECTION_ID()", expect("session identity (CONNECTION_ID())")),
    ("select connection_id() AS id", expect("session identity (CONNECTION_ID())")),
    ("SELECT PS_CURRENT_THREAD_ID()", expect("session identity (PS_CURRENT_THREAD_ID())")),
    ("SELECT @@pseudo_thread_id", expect("session identity (@@pseudo_thread_id)")),
    ("SELECT @@session.pseudo_thread_id", expect("session identity (@@pseudo_thread_id)")),
    ("SELECT @@global.pseudo_thread_id", NOTHING),
    ("SHOW STATUS LIKE 'Questions'", expect("session identity (SHOW SESSION STATUS)")),
    ("SHOW SESSION STATUS", expect("session identity (SHOW SESSION STATUS)")),
    (
        "show local status where variable_name = %s",
        expect("session identity (SHOW SESSION STATUS)"),
    ),
    ("SHOW GLOBAL STATUS", NOTHING),
    ("SHOW SESSION VARIABLES", NOTHING),
    ("SELECT 'CONNECTION_ID()'", NOTHING),
    ("SELECT `connection_id` FROM t", NOTHING),
    ("SELECT LASTVAL(s)", expect(reads=("LASTVAL()",))),
    ("SELECT PREVIOUS VALUE FOR s", expect(reads=("LASTVAL()",))),
    (
        "INSERT INTO t (a) VALUES (LAST_INSERT_ID())",
        expect(reads=("LAST_INSERT_ID()",), hidden=True, inserts=True),
    ),
    # --- Several statements in one text.
    ("SELECT 'a;b'; SET @x = 1", expect("SET", statements=2)),
    ("SELECT 1; SELECT 2;", expect(statements=2)),
    ("SELECT 1;;", expect(statements=1)),
    (
        "INSERT INTO t (a) VALUES (1); SELECT LAST_INSERT_ID()",
        expect(reads=("LAST_INSERT_ID()",), hidden=True, inserts=True, statements=2),
    ),
    ("LOCK TABLES t WRITE; SET @x = 1", expect("LOCK TABLES", statements=2)),
    ("SELECT GET_LOCK('a', 0), @x := 1", expect("GET_LOCK()")),
    ("SELECT @x := 1, GET_LOCK('a', 0)", expect(ASSIGNS)),
    ("SELECT %s; SET @x = %s", expect("SET", statements=2)),
    ("CREATE PROCEDURE p() BEGIN SET @x = 1; END; SET @y = 2", expect("SET", statements=2)),
    ("", expect(statements=0)),
    ("  \n ", expect(statements=0)),
    ("/* nothing */ -- at all", expect(statements=0)),
    # --- Texts the lexer cannot finish.
    ("SELECT 'abc", UNPARSED),
    ('SELECT "abc', UNPARSED),
    ("SELECT `abc", UNPARSED),
    ("SELECT 1 /* abc", UNPARSED),
    ("SELECT /*+ BKA(t) 1", UNPARSED),
    ("/*!40101 SET NAMES utf8", UNPARSED),
    ("SELECT 'it''s", UNPARSED),
    ("SELECT 1; SELECT 'abc", UNPARSED),
    ("SELECT 'a\\'", UNPARSED),
    # --- Backslashes: the text is also read as NO_BACKSLASH_ESCAPES would (judgement call).
    # With escapes this is one string; without, a SELECT and a SET and a comment.
    ("SELECT 'a\\' ; SET @x = 1 -- '", expect("SET", statements=2)),
    ("SELECT 'a\\\\'; SET @x = 1", expect("SET", statements=2)),
    # --- Placeholders and %.
    ("SELECT %s", NOTHING),
    ("SELECT %s, %(name)s, 10 %% 3", NOTHING),
    ("SELECT * FROM t WHERE a LIKE '%s' OR b LIKE '%%'", NOTHING),
    ("SELECT DATE_FORMAT(CONVERT_TZ(`a`.`c`, 'UTC', %s), '%%Y-%%m-01') AS `m` FROM `a`", NOTHING),
    # --- Accounts: user@host is no variable.
    ("CREATE USER 'app'@'%' IDENTIFIED BY %s", NOTHING),
    ("GRANT SELECT ON db.* TO 'app'@'localhost'", NOTHING),
    ("DROP USER `app`@`%`", NOTHING),
    # --- Django ORM.
    (
        "SELECT `app_book`.`id`, `app_book`.`title` FROM `app_book` WHERE `app_book`.`id` = %s "
        "LIMIT 21",
        NOTHING,
    ),
    ("SELECT COUNT(*) AS `__count` FROM `app_book`", NOTHING),
    ("SELECT (1) AS `a` FROM `app_book` WHERE `app_book`.`title` LIKE BINARY %s LIMIT 1", NOTHING),
    ("SELECT `app_book`.`id` FROM `app_book` ORDER BY `app_book`.`id` ASC FOR UPDATE", NOTHING),
    ("SELECT CURRENT_TIMESTAMP(6), UTC_TIMESTAMP(6)", NOTHING),
    (
        "INSERT INTO `app_book` (`title`, `author_id`) VALUES (%s, %s) RETURNING `app_book`.`id`",
        INSERT,
    ),
    ("INSERT INTO `app_book` (`title`) VALUES (%s), (%s), (%s)", INSERT),
    (
        "INSERT INTO `app_book` (`title`) VALUES (%s) ON DUPLICATE KEY UPDATE `title` = "
        "VALUES(`title`)",
        INSERT,
    ),
    ("UPDATE `app_book` SET `title` = %s WHERE `app_book`.`id` = %s", WRITE),
    ("DELETE FROM `app_book` WHERE `app_book`.`id` IN (%s, %s)", WRITE),
    ("REPLACE INTO `t` (`a`) VALUES (%s)", INSERT),
    ("WITH `c` AS (SELECT 1) UPDATE `t` SET `a` = 1", WRITE),
    ("WITH `c` AS (SELECT 1) SELECT * FROM `c`", NOTHING),
    ("(SELECT 1) UNION (SELECT @x := 2)", expect(ASSIGNS)),
    ("SELECT 1 FROM DUAL WHERE 0", NOTHING),
    ("SELECT 2*/*c*/3", NOTHING),
    ("TRUNCATE TABLE t", NOTHING),
    ("KILL QUERY 5", NOTHING),
    # --- A mysqldump file, line by line (header, table, footer).
    (
        "-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)",
        expect(statements=0),
    ),
    ("/*M!999999\\- enable the sandbox mode */", NOTHING),
    ("/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;", expect("SET")),
    ("/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;", expect("SET")),
    ("/*!40101 SET NAMES utf8mb4 */;", expect("SET")),
    ("/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;", expect("SET")),
    ("/*!40103 SET TIME_ZONE='+00:00' */;", expect("SET")),
    ("/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;", expect("SET")),
    (
        "/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;",
        expect("SET"),
    ),
    ("/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;", expect("SET")),
    ("/*M!100616 SET @OLD_NOTE_VERBOSITY=@@NOTE_VERBOSITY, NOTE_VERBOSITY=0 */;", expect("SET")),
    ("/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;", expect("SET")),
    ("DROP TABLE IF EXISTS `t`;", NOTHING),
    ("/*!40101 SET @saved_cs_client     = @@character_set_client */;", expect("SET")),
    ("/*!40101 SET character_set_client = utf8mb4 */;", expect("SET")),
    (
        "CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `a` varchar(10) DEFAULT "
        "NULL,\n  PRIMARY KEY (`id`),\n  KEY `a_idx` (`a`)\n) ENGINE=InnoDB DEFAULT "
        "CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;",
        NOTHING,
    ),
    ("/*!40101 SET character_set_client = @saved_cs_client */;", expect("SET", user=True)),
    ("LOCK TABLES `t` WRITE;", expect("LOCK TABLES")),
    ("/*!40000 ALTER TABLE `t` DISABLE KEYS */;", NOTHING),
    ("INSERT INTO `t` VALUES (1,'a\\'b'),(2,NULL);", INSERT),
    ("/*!40000 ALTER TABLE `t` ENABLE KEYS */;", NOTHING),
    ("UNLOCK TABLES;", NOTHING),
    (
        "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER trg BEFORE "
        "INSERT ON t FOR EACH ROW SET NEW.a = 1 */;",
        NOTHING,
    ),
    (
        "/*!50001 CREATE ALGORITHM=UNDEFINED */ /*!50013 DEFINER=`root`@`localhost` SQL SECURITY "
        "DEFINER */ /*!50001 VIEW `v` AS select 1 AS `1` */;",
        NOTHING,
    ),
    ("/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;", expect("SET", user=True)),
    ("/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;", expect("SET", user=True)),
    ("/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;", expect("SET", user=True)),
    ("/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;", expect("SET", user=True)),
    ("/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;", expect("SET", user=True)),
    ("-- Dump completed on 2026-11-23  1:50:05", expect(statements=0)),
]


@pytest.mark.parametrize(("sql", "expected"), RULES, ids=[sql[:60] for sql, _ in RULES])
def test_rule(sql: str, expected: tuple[Any, ...]) -> None:
    verdicts._verdicts.clear()
    assert fields(classify(sql)) == expected
    # bytes and bytearray texts are classified alike (and not remembered: see below).
    assert fields(classify(sql.encode())) == expected
    assert fields(classify(bytearray(sql.encode()))) == expected


@pytest.mark.parametrize(("sql", "expected"), RULES, ids=[sql[:60] for sql, _ in RULES])
def test_collapsed_runs_give_the_verdict_of_the_full_tokens(
    sql: str, expected: tuple[Any, ...]
) -> None:
    # The classifier reads runs of inert tokens as one token; expanded, the rules agree.
    mode = lexer._ESCAPES
    tokens, complete = lexer._coarse(sql, mode)
    full = lexer._expand(sql, tokens, 0, len(tokens), mode)
    assert len(full) >= len(tokens)
    collapsed = verdicts._verdict(sql, tokens, complete, mode, split_needed=True)
    assert verdicts._verdict(sql, full, complete, mode, split_needed=True) == collapsed
    assert verdicts._verdict(sql, tokens, complete, mode, split_needed=";" in sql) == collapsed
