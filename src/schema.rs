//! SQL objects of the extension that are not functions: schema privileges and the key table.
//!
//! The key table is an extension configuration table (`pg_extension_config_dump`) so pg_dump
//! includes its row and a restore keeps every pseudonym and hash stable. Only its owner (the
//! superuser who ran CREATE EXTENSION) and other superusers can read it.
//!
//! A restore runs CREATE EXTENSION first, which makes a fresh key, and then loads the dumped row;
//! the BEFORE INSERT trigger therefore makes an insert *replace* the key instead of failing on the
//! singleton primary key, so the dumped key wins. The AFTER trigger tells every backend to drop
//! its cached copy (relcache invalidation, PostgreSQL's own cross-backend signal).

use pgrx::prelude::*;

extension_sql!(
    r#"
DO $$
BEGIN
    IF pg_catalog.getdatabaseencoding() <> 'UTF8' THEN
        RAISE EXCEPTION 'pg_privacy needs a UTF8 database, this one is %', pg_catalog.getdatabaseencoding()
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Create the database with ENCODING ''UTF8''.';
    END IF;
END $$;

GRANT USAGE ON SCHEMA privacy TO PUBLIC;

-- privacy_admin: members may set and remove privacy labels besides superusers (a role is
-- cluster-wide, so it may already exist from another database).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'privacy_admin') THEN
        CREATE ROLE privacy_admin NOLOGIN;
    END IF;
END $$;

CREATE TABLE privacy.key (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    key        bytea NOT NULL CHECK (octet_length(key) = 32),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
REVOKE ALL ON privacy.key FROM PUBLIC;
COMMENT ON TABLE privacy.key IS
  'pg_privacy''s secret key (superusers only). Losing or replacing it changes every hash and pseudonym.';

CREATE FUNCTION privacy.key_replaces_previous() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM privacy.key;
    RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION privacy.key_replaces_previous() FROM PUBLIC;

CREATE TRIGGER key_replaces_previous BEFORE INSERT ON privacy.key
    FOR EACH ROW EXECUTE FUNCTION privacy.key_replaces_previous();
"#,
    name = "key_table",
    bootstrap
);

extension_sql!(
    r#"
CREATE TRIGGER key_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.key
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.key_changed();

INSERT INTO privacy.key (key) VALUES (privacy.random_key());
SELECT pg_catalog.pg_extension_config_dump('privacy.key', '');
REVOKE ALL ON FUNCTION privacy.key_changed() FROM PUBLIC;

-- Registry changes change what every session filters: tell all backends (cached plans too).
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.purpose
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.consent_config_changed();
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.role_purpose
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.consent_config_changed();
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.subject_table
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.consent_config_changed();
REVOKE ALL ON FUNCTION privacy.consent_config_changed() FROM PUBLIC;

"#,
    name = "key_init",
    finalize
);

extension_sql!(
    r#"
-- Every effective masking rule: a column's own rule, or the one it inherits from an ancestor
-- (inheritance or partitioning). Names are schema-qualified: views resolve them once, here.
CREATE VIEW privacy.masking_rules AS
WITH RECURSIVE labelled AS (
    SELECT l.objoid AS relid, a.attname, l.label, l.objoid AS source
    FROM pg_catalog.pg_seclabel l
    JOIN pg_catalog.pg_attribute a ON a.attrelid = l.objoid AND a.attnum = l.objsubid
    WHERE l.provider = 'privacy' AND l.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND l.objsubid > 0
), tree AS (
    SELECT relid, attname, label, source, 0 AS depth FROM labelled
    UNION ALL
    SELECT i.inhrelid, t.attname, t.label, t.source, t.depth + 1
    FROM tree t
    JOIN pg_catalog.pg_inherits i ON i.inhparent = t.relid
    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.inhrelid AND a.attname = t.attname AND NOT a.attisdropped
)
SELECT DISTINCT ON (relid, attname)
       relid::pg_catalog.regclass AS "table",
       attname AS "column",
       label AS rule,
       CASE WHEN source = relid THEN NULL ELSE source::pg_catalog.regclass END AS inherited_from
FROM tree
ORDER BY relid, attname, depth;
GRANT SELECT ON privacy.masking_rules TO PUBLIC;

CREATE VIEW privacy.masked_roles AS SELECT * FROM privacy.masked_role_list();
GRANT SELECT ON privacy.masked_roles TO PUBLIC;
"#,
    name = "catalog_views",
    requires = ["masked_role_list_sql"]
);
