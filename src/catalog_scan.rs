//! Small helpers to read PostgreSQL catalogs directly (no SQL), used by the policy caches.
//! Catalog scans run with the catalog snapshot and take AccessShareLock, as PostgreSQL's own
//! cache-filling code does, and need no SQL privilege.

use pgrx::pg_sys;
use pgrx::FromDatum;

pub const INHERITS_RELATION_ID: u32 = 2611;
pub const SHARED_SECLABEL_RELATION_ID: u32 = 3592;
pub const SQL_LANGUAGE_ID: u32 = 14;

/// One row of a catalog scan: attribute values read by number.
pub struct Row {
    tuple: pg_sys::HeapTuple,
    desc: pg_sys::TupleDesc,
}

impl Row {
    pub fn oid(&self, attno: i32) -> pg_sys::Oid {
        // SAFETY: tuple and desc come from the open scan this row belongs to (see scan_catalog).
        unsafe {
            let mut isnull = false;
            let d = pg_sys::heap_getattr(self.tuple, attno, self.desc, &mut isnull);
            if isnull { pg_sys::InvalidOid } else { pg_sys::Oid::from_datum(d, false).unwrap_or(pg_sys::InvalidOid) }
        }
    }

    pub fn bool(&self, attno: i32) -> bool {
        // SAFETY: as in `oid`.
        unsafe {
            let mut isnull = false;
            let d = pg_sys::heap_getattr(self.tuple, attno, self.desc, &mut isnull);
            !isnull && bool::from_datum(d, false).unwrap_or(false)
        }
    }

    pub fn int4(&self, attno: i32) -> i32 {
        // SAFETY: as in `oid`.
        unsafe {
            let mut isnull = false;
            let d = pg_sys::heap_getattr(self.tuple, attno, self.desc, &mut isnull);
            if isnull { 0 } else { i32::from_datum(d, false).unwrap_or(0) }
        }
    }

    pub fn name(&self, attno: i32) -> Option<String> {
        // SAFETY: as in `oid`; a `name` column's datum points at a NUL-terminated NameData.
        unsafe {
            let mut isnull = false;
            let d = pg_sys::heap_getattr(self.tuple, attno, self.desc, &mut isnull);
            if isnull {
                None
            } else {
                Some(std::ffi::CStr::from_ptr(d.cast_mut_ptr::<std::ffi::c_char>()).to_string_lossy().into_owned())
            }
        }
    }

    pub fn text(&self, attno: i32) -> Option<String> {
        // SAFETY: as in `oid`; the text is copied into a Rust String before the scan moves on.
        unsafe {
            let mut isnull = false;
            let d = pg_sys::heap_getattr(self.tuple, attno, self.desc, &mut isnull);
            if isnull { None } else { String::from_datum(d, false) }
        }
    }
}

/// Scans catalog `relid`, calling `f` for each row. With `key = Some((index, attno, oid))` only
/// rows whose column `attno` (a heap attribute number, leading column of `index`) equals `oid`
/// are read, through that index.
pub fn scan_catalog(relid: pg_sys::Oid, key: Option<(u32, i16, pg_sys::Oid)>, mut f: impl FnMut(&Row)) {
    // SAFETY: standard catalog scan: the relation is opened and closed with the same lock, the
    // scan key is fully initialised before use, the scan uses the catalog snapshot (NULL) and is
    // ended before closing. An ERROR inside `f` unwinds through pg_guard; the resource owner
    // releases the relation and scan on abort.
    unsafe {
        let rel = pg_sys::table_open(relid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let mut skey: pg_sys::ScanKeyData = std::mem::zeroed();
        let (index, nkeys) = match key {
            Some((index, attno, oid)) => {
                pg_sys::ScanKeyInit(
                    &mut skey,
                    attno,
                    pg_sys::BTEqualStrategyNumber as pg_sys::StrategyNumber,
                    pg_sys::Oid::from(pg_sys::F_OIDEQ),
                    pg_sys::Datum::from(oid),
                );
                (pg_sys::Oid::from(index), 1)
            }
            None => (pg_sys::InvalidOid, 0),
        };
        let scan = pg_sys::systable_beginscan(rel, index, key.is_some(), std::ptr::null_mut(), nkeys, &mut skey);
        loop {
            let tuple = pg_sys::systable_getnext(scan);
            if tuple.is_null() {
                break;
            }
            f(&Row { tuple, desc: (*rel).rd_att });
        }
        pg_sys::systable_endscan(scan);
        pg_sys::table_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
    }
}

const INHERITS_RELID_INDEX: u32 = 2680; // pg_inherits (inhrelid, inhseqno)
const INHERITS_PARENT_INDEX: u32 = 2187; // pg_inherits (inhparent)

/// Direct parents of `relid` (inheritance and partitioning), in inhseqno order.
pub fn parents_of(relid: pg_sys::Oid) -> Vec<pg_sys::Oid> {
    let mut out = Vec::new();
    // pg_inherits: inhrelid (1), inhparent (2)
    scan_catalog(pg_sys::Oid::from(INHERITS_RELATION_ID), Some((INHERITS_RELID_INDEX, 1, relid)), |row| out.push(row.oid(2)));
    out
}

/// Direct children of `relid`.
pub fn children_of(relid: pg_sys::Oid) -> Vec<pg_sys::Oid> {
    let mut out = Vec::new();
    scan_catalog(pg_sys::Oid::from(INHERITS_RELATION_ID), Some((INHERITS_PARENT_INDEX, 2, relid)), |row| out.push(row.oid(1)));
    out
}

/// Labels of provider `privacy` on the columns of `relid`: (attnum, label).
pub fn column_labels_of(relid: pg_sys::Oid) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    // pg_seclabel: objoid (1), classoid (2), objsubid (3), provider (4), label (5)
    scan_catalog(pg_sys::Oid::from(pg_sys::SecLabelRelationId), Some((pg_sys::SecLabelObjectIndexId, 1, relid)), |row| {
        if row.oid(2) == pg_sys::RelationRelationId && row.int4(3) > 0 && row.text(4).as_deref() == Some(crate::PROVIDER) {
            if let Some(label) = row.text(5) {
                out.push((row.int4(3), label));
            }
        }
    });
    out
}

/// Whether any column of any relation in this database has a `privacy` label.
pub fn any_column_label() -> bool {
    let mut found = false;
    scan_catalog(pg_sys::Oid::from(pg_sys::SecLabelRelationId), None, |row| {
        found |= row.oid(2) == pg_sys::RelationRelationId && row.int4(3) > 0 && row.text(4).as_deref() == Some(crate::PROVIDER);
    });
    found
}

/// Schemas labelled TRUSTED in this database.
pub fn trusted_schemas() -> Vec<pg_sys::Oid> {
    let mut out = Vec::new();
    scan_catalog(pg_sys::Oid::from(pg_sys::SecLabelRelationId), None, |row| {
        if row.oid(2) == pg_sys::NamespaceRelationId && row.text(4).as_deref() == Some(crate::PROVIDER) {
            if row.text(5).map(|l| privacy_core::label::parse_schema_label(&l).is_ok()) == Some(true) {
                out.push(row.oid(1));
            }
        }
    });
    out
}

/// Role labels of provider `privacy` (cluster-wide): (role, label).
pub fn role_labels() -> Vec<(pg_sys::Oid, String)> {
    let mut out = Vec::new();
    // pg_shseclabel: objoid (1), classoid (2), provider (3), label (4)
    scan_catalog(pg_sys::Oid::from(SHARED_SECLABEL_RELATION_ID), None, |row| {
        if row.oid(2) == pg_sys::AuthIdRelationId && row.text(3).as_deref() == Some(crate::PROVIDER) {
            if let Some(label) = row.text(4) {
                out.push((row.oid(1), label));
            }
        }
    });
    out
}

const POLICY_RELATION_ID: u32 = 3256;
const POLICY_POLRELID_POLNAME_INDEX: u32 = 3258;

pub const POLICY_CLASS_ID: u32 = POLICY_RELATION_ID;

/// Names of the row-security policies on `relid`.
pub fn policy_names(relid: pg_sys::Oid) -> Vec<String> {
    policies(relid).into_iter().map(|(_, name)| name).collect()
}

/// (oid, name) of the row-security policies on `relid`.
pub fn policies(relid: pg_sys::Oid) -> Vec<(pg_sys::Oid, String)> {
    let mut out = Vec::new();
    // pg_policy: oid (1), polname (2), polrelid (3)
    scan_catalog(pg_sys::Oid::from(POLICY_RELATION_ID), Some((POLICY_POLRELID_POLNAME_INDEX, 3, relid)), |row| {
        if let Some(name) = row.name(2) {
            out.push((row.oid(1), name));
        }
    });
    out
}

/// The extension's schema if pg_privacy is installed in this database.
pub fn extension_installed() -> Option<pg_sys::Oid> {
    // SAFETY: catalog lookups with missing_ok.
    unsafe {
        if pg_sys::get_extension_oid(c"pg_privacy".as_ptr(), true) == pg_sys::InvalidOid {
            return None;
        }
        let nsp = pg_sys::get_namespace_oid(c"privacy".as_ptr(), true);
        (nsp != pg_sys::InvalidOid).then_some(nsp)
    }
}
