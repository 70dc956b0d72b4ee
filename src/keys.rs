//! The per-database secret key behind `privacy.hash`, the `pseudo_*` functions, keyed noise and
//! pseudonyms.
//!
//! Stored in `privacy.key`, readable only by superusers. Keyed functions run as the caller, who
//! usually cannot read that table, so the key is read here directly with the table access method,
//! bypassing the SQL permission check: the functions expose HMACs made with the key, never the
//! key. It is loaded once per backend into a [`Keyring`] ([`Class::Key`]) and dropped when the
//! table's relcache entry is invalidated, which the table's trigger requests on every change.
//!
//! The key table is an extension configuration table (`pg_extension_config_dump`) so pg_dump
//! includes its row and a restore keeps every pseudonym and hash stable. A restore runs CREATE
//! EXTENSION first, which makes a fresh key, and then loads the dumped row; the BEFORE INSERT
//! trigger therefore makes an insert *replace* the key, so the dumped key wins.

use std::rc::Rc;

use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::prelude::*;
use privacy_core::keyed::{Keyring, KEY_LEN};

use crate::pg::cache::{watch_relation, Cached, Class};
use crate::pg::catalog;
use crate::pg::errors::{or_raise, raise};

backend_local! {
    static KEYRING: Cached<Option<Keyring>> = const { Cached::new(Class::Key) };
}

fn missing_key() -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        "pg_privacy has no key in this database",
        "The privacy.key table is empty or missing. Restore it from a backup of this database; \
         a new key would change every hash and pseudonym.",
    )
}

/// Reads the key bytes from privacy.key under the current snapshot.
fn read_key() -> Option<Vec<u8>> {
    let relid = catalog::extension_table(c"key")?;
    watch_relation(relid, Class::Key);
    let attno = catalog::attnum(relid, c"key");
    // SAFETY: the relation is opened with a lock and closed on every path below; the scan uses a
    // registered MVCC snapshot; tuple attributes are read with the relation's own descriptor and
    // copied out before the scan ends.
    unsafe {
        let rel = pg_sys::table_open(relid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let snapshot = pg_sys::RegisterSnapshot(if pg_sys::ActiveSnapshotSet() {
            pg_sys::GetActiveSnapshot()
        } else {
            pg_sys::GetTransactionSnapshot()
        });
        let scan = pg_sys::systable_beginscan(rel, pg_sys::InvalidOid, false, snapshot, 0, std::ptr::null_mut());
        let tuple = pg_sys::systable_getnext(scan);
        let mut key = Vec::new();
        if !tuple.is_null() {
            let mut isnull = false;
            let datum = pg_sys::heap_getattr(tuple, attno as i32, (*rel).rd_att, &mut isnull);
            if !isnull {
                if let Some(bytes) = <&[u8]>::from_datum(datum, false) {
                    key.extend_from_slice(bytes);
                }
            }
        }
        pg_sys::systable_endscan(scan);
        pg_sys::UnregisterSnapshot(snapshot);
        pg_sys::table_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        Some(key)
    }
}

/// Runs `f` with the keyring of this database (loaded on first use in the backend).
pub fn with_keyring<T>(f: impl FnOnce(&Keyring) -> T) -> T {
    let ring: Rc<Option<Keyring>> = KEYRING.with(|c| {
        c.get(|| {
            let mut master = read_key()?;
            if master.is_empty() {
                return None;
            }
            let ring = Keyring::from_master(&master);
            master.iter_mut().for_each(|b| *b = 0);
            Some(or_raise(ring))
        })
    });
    match &*ring {
        Some(k) => f(k),
        None => missing_key(),
    }
}

/// The extension's tables no governed statement may read directly, whatever privileges its role
/// holds (`pg_read_all_data` gives SELECT on every table): the key, and the consent registry's
/// events and current state, which tell whose consent exists. pg_privacy's own consent conditions
/// read the state tables without a permission check and are not refused.
const SECRET_TABLES: [&std::ffi::CStr; 8] = [
    c"key",
    c"consent_event",
    c"consent_bigint",
    c"consent_uuid",
    c"consent_text",
    c"consent_pseudonym",
    c"consent_event_event_id_seq",
    c"ledger_anchor",
];

/// Refuses a governed (masked or filtered) statement reading one of the secret tables.
///
/// # Safety
/// `query` must be a valid Query being planned.
pub unsafe fn refuse_secret_reads(query: *mut pg_sys::Query) {
    // Superusers read what they like; the extension's own SECURITY DEFINER functions (recording
    // consent for an application role) run as one.
    // SAFETY: reads a backend global.
    if unsafe { pg_sys::superuser() } {
        return;
    }
    let Some(nsp) = catalog::extension_schema() else { return };
    // SAFETY: walking a valid query tree's range tables.
    unsafe {
        for q in crate::pg::nodes::queries(query) {
            for (_, rte) in crate::pg::nodes::rtable(q) {
                if (*rte).rtekind != pg_sys::RTEKind::RTE_RELATION || pg_sys::get_rel_namespace((*rte).relid) != nsp {
                    continue;
                }
                if !crate::pg::version::read_checked_as_current_user(q, rte) {
                    continue;
                }
                let name = catalog::relation_name((*rte).relid);
                if SECRET_TABLES.iter().any(|t| name == format!("privacy.{}", t.to_string_lossy())) {
                    crate::pg::errors::refuse(
                        format!("masked or consent-filtered sessions cannot read {name}"),
                        "It holds pg_privacy's key or consent records; privacy admins use privacy.consent_history().",
                    );
                }
            }
        }
    }
}

/// `privacy.random_key()`: 32 bytes from PostgreSQL's strong random source (OpenSSL or
/// /dev/urandom), used to make the key. Superuser only (EXECUTE revoked from PUBLIC).
/// `privacy.key_fingerprint()`: a public name for this database's key (16 hex digits), equal on
/// two databases exactly when their keys are equal. Citus nodes must hold the same key for keyed
/// rules to agree across shards (docs/citus.md); privacy admins compare fingerprints to check.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn key_fingerprint() -> String {
    crate::admin::require_admin("read the key's fingerprint");
    with_keyring(|ring| ring.fingerprint())
}

#[pg_extern(volatile, parallel_unsafe)]
fn random_key() -> Vec<u8> {
    let mut buf = vec![0u8; KEY_LEN];
    // SAFETY: buf is a valid writable buffer of exactly KEY_LEN bytes.
    let ok = unsafe { pg_sys::pg_strong_random(buf.as_mut_ptr().cast(), KEY_LEN) };
    if !ok {
        raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            "could not generate random bytes for the pg_privacy key",
            "PostgreSQL's strong random source failed; check the server's OpenSSL or /dev/urandom.",
        );
    }
    buf
}

/// Trigger on privacy.key: tells every backend to drop its cached keyring.
#[pg_trigger]
fn key_changed<'a>(
    trigger: &'a pgrx::PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, pgrx::AllocatedByPostgres>>, std::convert::Infallible> {
    if let Ok(rel) = trigger.relation() {
        // SAFETY: queues a relcache invalidation for an existing relation; sent at commit.
        unsafe { pg_sys::CacheInvalidateRelcacheByRelid(rel.oid()) };
    }
    crate::pg::cache::bump(Class::Key);
    Ok(None)
}

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
REVOKE ALL ON FUNCTION privacy.random_key() FROM PUBLIC;
"#,
    name = "key_init",
    finalize
);
