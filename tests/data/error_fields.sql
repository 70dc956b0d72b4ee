-- Statements whose errors carry every field psql can show: position (LINE and cursor), CONTEXT
-- from PL/pgSQL and SQL functions, DETAIL, HINT, QUERY, internal position, and the schema, table,
-- column, datatype and constraint names. Run with VERBOSITY verbose on two clusters, one with
-- pg_privacy preloaded and one without; the outputs must be identical.
\set VERBOSITY verbose
\set SHOW_CONTEXT always
CREATE SCHEMA s;
CREATE TABLE s.t (id int PRIMARY KEY, v int NOT NULL CHECK (v > 0), note text);
INSERT INTO s.t VALUES (1, 1, 'one');
-- position
SELECT * FROM s.no_such_table;
CREATE TABLE s.bad (id int DEFAULT (id));
SELECT id, no_such_column FROM s.t;
-- HINT
SELECT no_such_function(1);
-- DETAIL from an input function, raised while planning (constant folding)
SELECT '"\ud83d\u0041"'::jsonb;
-- DETAIL, schema/table/column/constraint names
INSERT INTO s.t VALUES (1, 2, 'dup');
INSERT INTO s.t VALUES (2, -1, 'negative');
INSERT INTO s.t VALUES (3, NULL, 'null');
-- CONTEXT from PL/pgSQL, with its line number
DO $$BEGIN PERFORM 1/0; END$$;
CREATE FUNCTION s.plf(a int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  RETURN 10 / a;
END $$;
SELECT s.plf(0);
-- CONTEXT from a SQL function (not inlined, and inlined)
CREATE FUNCTION s.sqlf(a int) RETURNS int LANGUAGE sql VOLATILE AS $$ SELECT 10 / a $$;
SELECT s.sqlf(0);
CREATE FUNCTION s.sqli(a int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT 10 / a $$;
SELECT s.sqli(0);
-- QUERY and internal position, from a query PL/pgSQL prepares
DO $$DECLARE x int; BEGIN x := (SELECT count(*) FROM s.no_such_table); END$$;
DO $$BEGIN EXECUTE 'SELECT * FROM s.t WHERE no_such_column = 1'; END$$;
-- RAISE with every option
DO $$BEGIN RAISE EXCEPTION 'custom' USING DETAIL = 'the detail', HINT = 'the hint', ERRCODE = 'check_violation',
  SCHEMA = 's', TABLE = 't', COLUMN = 'v', CONSTRAINT = 't_v_check', DATATYPE = 'int4'; END$$;
-- an error raised inside a utility statement's own code
ALTER TABLE s.t ADD CONSTRAINT small CHECK (v < 0);
INSERT INTO s.t VALUES (2, 2, 'two');
CREATE UNIQUE INDEX ON s.t ((v * 0));
COPY s.t FROM STDIN;
9	0	zero
\.
DROP SCHEMA s CASCADE;
