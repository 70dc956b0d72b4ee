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
"#,
    name = "key_init",
    finalize
);
