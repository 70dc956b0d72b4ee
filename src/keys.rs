//! The per-database secret key behind `privacy.hash`, the `pseudo_*` functions and pseudonyms.
//!
//! Stored in `privacy.key` (see [`crate::schema`]), readable only by superusers. Keyed functions
//! run as the caller, who usually cannot read that table, so the key is read here directly with
//! the table access method, bypassing the SQL permission check: the functions expose HMACs made
//! with the key, never the key. It is loaded once per backend into a [`Keyring`] and dropped when
//! the table's relcache entry is invalidated, which the table's trigger requests on every change.

use std::cell::RefCell;
use std::rc::Rc;

use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::prelude::*;
use privacy_core::keyed::{Keyring, KEY_LEN};

use crate::errors::{or_raise, raise};

thread_local! {
    /// Cached keyring of this backend (backends are single-threaded; thread_local keeps it safe Rust).
    static KEYRING: RefCell<Option<Rc<Keyring>>> = const { RefCell::new(None) };
    /// OID of privacy.key once found, to recognise its invalidations.
    static KEY_TABLE: RefCell<pg_sys::Oid> = const { RefCell::new(pg_sys::InvalidOid) };
}

/// Registers the invalidation callback. Called from `_PG_init`.
pub fn init() {
    // SAFETY: registering a callback with PostgreSQL during library load; the function is
    // `extern "C-unwind"` with the signature PostgreSQL expects and lives as long as the library.
    unsafe { pg_sys::CacheRegisterRelcacheCallback(Some(on_relcache_invalidation), pg_sys::Datum::from(0)) };
}

#[pg_guard]
unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    let ours = KEY_TABLE.with(|t| *t.borrow());
    // InvalidOid means "all relations" (cache reset): drop the key then too.
    if relid == pg_sys::InvalidOid || relid == ours {
        KEYRING.with(|k| k.borrow_mut().take());
        KEY_TABLE.with(|t| *t.borrow_mut() = pg_sys::InvalidOid);
    }
    if relid != pg_sys::InvalidOid && relid == ours {
        // The key table changes only with the extension itself (DROP/CREATE EXTENSION): every
        // OID cached from the old extension is stale.
        crate::policy_catalog::reset();
        crate::consent::reset();
    }
}

fn missing_key() -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        "pg_privacy has no key in this database",
        "The privacy.key table is empty or missing. Restore it from a backup of this database; \
         a new key would change every hash and pseudonym.",
    )
}

/// OID of the extension's key table, checked to belong to the pg_privacy extension.
fn key_table_oid() -> pg_sys::Oid {
    let cached = KEY_TABLE.with(|t| *t.borrow());
    if cached != pg_sys::InvalidOid {
        return cached;
    }
    // SAFETY: catalog lookups with NUL-terminated names; all return InvalidOid when not found
    // (missing_ok = true), which is checked before use.
    let relid = unsafe {
        let ext = pg_sys::get_extension_oid(c"pg_privacy".as_ptr(), true);
        let nsp = pg_sys::get_namespace_oid(c"privacy".as_ptr(), true);
        if ext == pg_sys::InvalidOid || nsp == pg_sys::InvalidOid {
            missing_key();
        }
        let relid = pg_sys::get_relname_relid(c"key".as_ptr(), nsp);
        // A table called privacy.key that the extension does not own is not our key.
        if relid == pg_sys::InvalidOid || pg_sys::getExtensionOfObject(pg_sys::RelationRelationId, relid) != ext {
            missing_key();
        }
        relid
    };
    KEY_TABLE.with(|t| *t.borrow_mut() = relid);
    relid
}

/// Whether `relid` is a table of the pg_privacy extension (key table, consent registry).
pub fn is_extension_table(relid: pg_sys::Oid) -> bool {
    // SAFETY: catalog lookups returning InvalidOid when not found.
    unsafe {
        let ext = pg_sys::get_extension_oid(c"pg_privacy".as_ptr(), true);
        ext != pg_sys::InvalidOid
            && pg_sys::get_rel_relkind(relid) as u8 == b'r'
            && pg_sys::getExtensionOfObject(pg_sys::RelationRelationId, relid) == ext
    }
}

/// Reads the key bytes from privacy.key under the current snapshot.
fn read_key() -> Vec<u8> {
    let relid = key_table_oid();
    // SAFETY: the relation is opened with a lock and closed on every path below; the scan uses a
    // registered MVCC snapshot; tuple attributes are read with the relation's own descriptor and
    // copied out before the scan ends. An ERROR inside unwinds through pg_guard and PostgreSQL's
    // resource owner releases the lock and scan.
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
            let desc = (*rel).rd_att;
            let mut isnull = false;
            // Column 2 is `key bytea`.
            let datum = pg_sys::heap_getattr(tuple, 2, desc, &mut isnull);
            if !isnull {
                if let Some(bytes) = <&[u8]>::from_datum(datum, false) {
                    key.extend_from_slice(bytes);
                }
            }
        }
        pg_sys::systable_endscan(scan);
        pg_sys::UnregisterSnapshot(snapshot);
        pg_sys::table_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        key
    }
}

/// Runs `f` with the keyring, without cloning it (the hot path of per-row keyed functions).
pub fn with_keyring<T>(f: impl FnOnce(&Keyring) -> T) -> T {
    let ring = KEYRING.with(|k| k.borrow().clone());
    match ring {
        Some(ring) => f(&ring),
        None => f(&keyring()),
    }
}

/// The keyring of this database, loaded on first use in the backend.
pub fn keyring() -> Rc<Keyring> {
    if let Some(k) = KEYRING.with(|k| k.borrow().clone()) {
        return k;
    }
    let mut master = read_key();
    if master.is_empty() {
        missing_key();
    }
    let ring = Rc::new(or_raise(Keyring::from_master(&master)));
    master.iter_mut().for_each(|b| *b = 0);
    KEYRING.with(|k| *k.borrow_mut() = Some(ring.clone()));
    ring
}

/// `privacy.random_key()`: 32 bytes from PostgreSQL's strong random source (OpenSSL or
/// /dev/urandom), used to make the key. Superuser only (EXECUTE revoked from PUBLIC).
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
    // The trigger's own relation, not a cached OID: the extension may have been re-created.
    let relid = match trigger.relation() {
        Ok(rel) => rel.oid(),
        Err(_) => key_table_oid(),
    };
    // SAFETY: queues a relcache invalidation for an existing relation; sent at commit.
    unsafe { pg_sys::CacheInvalidateRelcacheByRelid(relid) };
    Ok(None)
}

extension_sql!(
    "REVOKE ALL ON FUNCTION privacy.random_key() FROM PUBLIC;\n",
    name = "key_function_privileges",
    requires = [random_key]
);
