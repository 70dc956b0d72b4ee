//! Named catalog OIDs, and reads of PostgreSQL's catalogs without SQL.
//!
//! The policy caches are filled from catalogs read directly (with the catalog snapshot and
//! AccessShareLock, as PostgreSQL's own cache-filling code does), so they work for every role and
//! cost no parse or plan. Catalogs whose headers pgrx does not bind get their OIDs named here;
//! attribute numbers are looked up by name ([`attnum`]) so they stay right across versions.

use std::ffi::{CStr, CString};

use pgrx::pg_sys;
use pgrx::FromDatum;

/// `pg_inherits` and its indexes (catalog/pg_inherits.h).
pub const PG_INHERITS: u32 = 2611;
pub const PG_INHERITS_RELID_SEQNO_INDEX: u32 = 2680;
pub const PG_INHERITS_PARENT_INDEX: u32 = 2187;
/// `pg_shseclabel` (catalog/pg_shseclabel.h), shared across databases.
pub const PG_SHSECLABEL: u32 = 3592;
/// `pg_policy` and its (polrelid, polname) index (catalog/pg_policy.h).
pub const PG_POLICY: u32 = 3256;
pub const PG_POLICY_POLRELID_POLNAME_INDEX: u32 = 3258;
/// `pg_statistic_ext_data` (catalog/pg_statistic_ext_data.h): extended statistics' values.
pub const PG_STATISTIC_EXT_DATA: u32 = 3429;
/// `pg_constraint` (catalog/pg_constraint.h).
pub const PG_CONSTRAINT: u32 = 2606;
pub const PG_CONSTRAINT_OID_INDEX: u32 = 2667;
/// `pg_aggregate` (catalog/pg_aggregate.h).
pub const PG_AGGREGATE: u32 = 2600;
/// The `sql` language (catalog/pg_language.dat).
pub const SQL_LANGUAGE: u32 = 14;
/// pg_language's `internal` and `c` (pg_language.dat).
pub const INTERNAL_LANGUAGE: u32 = 12;
pub const C_LANGUAGE: u32 = 13;
/// `pg_extension`'s OID index (catalog/pg_extension.h).
pub const PG_EXTENSION_OID_INDEX: u32 = 3080;
pub const PG_SHDEPEND: u32 = 1214;
pub const PG_SHDEPEND_REFERENCE_INDEX: u32 = 1233;

/// The version of pg_privacy's SQL objects this library was built with: the only version whose
/// tables it reads (see [`extension_schema`]).
pub const LIBRARY_VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn oid(value: u32) -> pg_sys::Oid {
    pg_sys::Oid::from(value)
}

/// The attribute number of column `name` of catalog `relid` (0 if it has none).
pub fn attnum(relid: pg_sys::Oid, name: &CStr) -> i16 {
    // SAFETY: get_attnum reads the attribute syscache; it returns InvalidAttrNumber if missing.
    unsafe { pg_sys::get_attnum(relid, name.as_ptr()) }
}

/// One row of a catalog scan; attributes are read by number from the scan's own descriptor.
pub struct Row {
    tuple: pg_sys::HeapTuple,
    desc: pg_sys::TupleDesc,
}

impl Row {
    fn datum(&self, attno: i16) -> Option<pg_sys::Datum> {
        if attno <= 0 {
            return None;
        }
        // SAFETY: tuple and desc come from the open scan this row belongs to (see scan).
        unsafe {
            let mut isnull = false;
            let d = pg_sys::heap_getattr(self.tuple, attno as i32, self.desc, &mut isnull);
            (!isnull).then_some(d)
        }
    }

    /// Whether this row version was written by the current transaction (or one of its
    /// subtransactions).
    pub fn written_by_this_transaction(&self) -> bool {
        // SAFETY: the tuple comes from the open scan this row belongs to; t_choice.t_heap.t_xmin
        // is the inserting transaction of a heap tuple (HeapTupleHeaderGetRawXmin), and the lookup
        // in the backend's own transaction state cannot raise.
        unsafe {
            let xmin = (*(*self.tuple).t_data).t_choice.t_heap.t_xmin;
            pg_sys::TransactionIdIsCurrentTransactionId(xmin)
        }
    }

    pub fn oid(&self, attno: i16) -> pg_sys::Oid {
        // SAFETY: the datum of an oid (or regclass/regrole) column.
        self.datum(attno).and_then(|d| unsafe { pg_sys::Oid::from_datum(d, false) }).unwrap_or(pg_sys::InvalidOid)
    }

    pub fn bool(&self, attno: i16) -> bool {
        // SAFETY: the datum of a boolean column.
        self.datum(attno).and_then(|d| unsafe { bool::from_datum(d, false) }).unwrap_or(false)
    }

    pub fn int4(&self, attno: i16) -> i32 {
        // SAFETY: the datum of an int4 column.
        self.datum(attno).and_then(|d| unsafe { i32::from_datum(d, false) }).unwrap_or(0)
    }

    pub fn int8(&self, attno: i16) -> i64 {
        // SAFETY: the datum of an int8 column.
        self.datum(attno).and_then(|d| unsafe { i64::from_datum(d, false) }).unwrap_or(0)
    }

    pub fn interval(&self, attno: i16) -> Option<pgrx::datum::Interval> {
        // SAFETY: the datum of an interval column.
        self.datum(attno).and_then(|d| unsafe { pgrx::datum::Interval::from_datum(d, false) })
    }

    pub fn timestamptz(&self, attno: i16) -> Option<pgrx::datum::TimestampWithTimeZone> {
        // SAFETY: the datum of a timestamptz column.
        self.datum(attno).and_then(|d| unsafe { pgrx::datum::TimestampWithTimeZone::from_datum(d, false) })
    }

    pub fn name(&self, attno: i16) -> Option<String> {
        // SAFETY: a `name` column's datum points at a NUL-terminated NameData in the tuple.
        self.datum(attno)
            .map(|d| unsafe { CStr::from_ptr(d.cast_mut_ptr::<std::ffi::c_char>()).to_string_lossy().into_owned() })
    }

    /// A `"char"` column: its one byte (0 if NULL).
    pub fn char(&self, attno: i16) -> u8 {
        self.datum(attno).map(|d| d.value() as u8).unwrap_or(0)
    }

    pub fn text(&self, attno: i16) -> Option<String> {
        // SAFETY: the datum of a text column, copied into a Rust String before the scan moves on.
        self.datum(attno).and_then(|d| unsafe { String::from_datum(d, false) })
    }

    /// The attribute number of column `name` in this row's relation.
    pub fn column(&self, name: &CStr) -> i16 {
        // SAFETY: desc is the open relation's descriptor; attributes are read by index < natts.
        unsafe {
            for i in 0..(*self.desc).natts as usize {
                let attr = crate::pg::version::tuple_desc_attr(self.desc, i);
                if !(*attr).attisdropped && CStr::from_ptr((*attr).attname.data.as_ptr()) == name {
                    return (*attr).attnum;
                }
            }
        }
        0
    }
}

/// Scans relation `relid` (a catalog or one of the extension's own tables) with the catalog
/// snapshot, calling `f` for each row. With `key = Some((index, attno, oid))` only rows whose
/// column `attno` (the leading column of `index`) equals `oid` are read, through that index.
pub fn scan(relid: pg_sys::Oid, key: Option<(u32, i16, pg_sys::Oid)>, f: impl FnMut(&Row)) {
    let key = key.map(|(index, attno, value)| (oid(index), attno, pg_sys::F_OIDEQ, pg_sys::Datum::from(value)));
    scan_keyed(relid, key, f)
}

/// Like [`scan`] with an `int8` key: rows whose column `attno` (the leading column of `index`)
/// equals `value`.
pub fn scan_int8(relid: pg_sys::Oid, index: pg_sys::Oid, attno: i16, value: i64, f: impl FnMut(&Row)) {
    scan_keyed(relid, Some((index, attno, pg_sys::F_INT8EQ, pg_sys::Datum::from(value))), f)
}

fn scan_keyed(relid: pg_sys::Oid, key: Option<(pg_sys::Oid, i16, u32, pg_sys::Datum)>, mut f: impl FnMut(&Row)) {
    scan_while(relid, key, |row| {
        f(row);
        true
    })
}

/// Like [`scan_keyed`], stopping at the first row for which `f` returns false.
fn scan_while(relid: pg_sys::Oid, key: Option<(pg_sys::Oid, i16, u32, pg_sys::Datum)>, mut f: impl FnMut(&Row) -> bool) {
    // SAFETY: a standard catalog scan: the relation is opened and closed with the same lock, the
    // scan key is fully initialised before use, the scan uses the catalog snapshot (NULL) and is
    // ended before closing. An ERROR inside `f` unwinds through pg_guard; the resource owner
    // releases the relation and the scan on abort.
    unsafe {
        let rel = pg_sys::table_open(relid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let mut skey: pg_sys::ScanKeyData = std::mem::zeroed();
        let (index, nkeys) = match key {
            Some((index, attno, equality, value)) => {
                pg_sys::ScanKeyInit(
                    &mut skey,
                    attno,
                    pg_sys::BTEqualStrategyNumber as pg_sys::StrategyNumber,
                    pg_sys::Oid::from(equality),
                    value,
                );
                (index, 1)
            }
            None => (pg_sys::InvalidOid, 0),
        };
        let scan = pg_sys::systable_beginscan(rel, index, key.is_some(), std::ptr::null_mut(), nkeys, &mut skey);
        loop {
            let tuple = pg_sys::systable_getnext(scan);
            if tuple.is_null() {
                break;
            }
            if !f(&Row { tuple, desc: (*rel).rd_att }) {
                break;
            }
        }
        pg_sys::systable_endscan(scan);
        pg_sys::table_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
    }
}

/// Whether `role` owns a relation (table, view, sequence, ...) of this database: its ownership
/// dependencies in `pg_shdepend`, read through the index on the role. Pinned roles (the bootstrap
/// superuser, the predefined roles) have none recorded: callers must treat them apart.
pub fn role_owns_relations_here(role: pg_sys::Oid) -> bool {
    let cat = oid(PG_SHDEPEND);
    let (a_db, a_class, a_refclass, a_refobj, a_type) =
        (attnum(cat, c"dbid"), attnum(cat, c"classid"), attnum(cat, c"refclassid"), attnum(cat, c"refobjid"), attnum(cat, c"deptype"));
    let mut found = false;
    // SAFETY: a standard catalog scan with two fully initialised keys on the index's two columns,
    // the catalog snapshot, ended and closed with the lock it was opened with.
    unsafe {
        let rel = pg_sys::table_open(cat, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let mut keys: [pg_sys::ScanKeyData; 2] = std::mem::zeroed();
        let strategy = pg_sys::BTEqualStrategyNumber as pg_sys::StrategyNumber;
        pg_sys::ScanKeyInit(&mut keys[0], a_refclass, strategy, pg_sys::Oid::from(pg_sys::F_OIDEQ), pg_sys::Datum::from(pg_sys::AuthIdRelationId));
        pg_sys::ScanKeyInit(&mut keys[1], a_refobj, strategy, pg_sys::Oid::from(pg_sys::F_OIDEQ), pg_sys::Datum::from(role));
        let scan = pg_sys::systable_beginscan(rel, oid(PG_SHDEPEND_REFERENCE_INDEX), true, std::ptr::null_mut(), 2, keys.as_mut_ptr());
        loop {
            let tuple = pg_sys::systable_getnext(scan);
            if tuple.is_null() {
                break;
            }
            let row = Row { tuple, desc: (*rel).rd_att };
            if row.oid(a_db) == pg_sys::MyDatabaseId && row.oid(a_class) == pg_sys::RelationRelationId && row.char(a_type) == b'o' {
                found = true;
                break;
            }
        }
        pg_sys::systable_endscan(scan);
        pg_sys::table_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
    }
    found
}

/// The OID of relation `name` in `pg_catalog` (InvalidOid if there is none): catalogs other
/// extensions put there, such as Citus's metadata tables and their indexes.
pub fn pg_catalog_relation(name: &CStr) -> pg_sys::Oid {
    // SAFETY: a syscache lookup by name in a fixed namespace; returns InvalidOid if missing.
    unsafe { pg_sys::get_relname_relid(name.as_ptr(), oid(pg_sys::PG_CATALOG_NAMESPACE)) }
}

/// Direct parents of `relid` (inheritance and partitioning), in inhseqno order.
pub fn parents_of(relid: pg_sys::Oid) -> Vec<pg_sys::Oid> {
    let mut out = Vec::new();
    let cat = oid(PG_INHERITS);
    let (inhrelid, inhparent) = (attnum(cat, c"inhrelid"), attnum(cat, c"inhparent"));
    scan(cat, Some((PG_INHERITS_RELID_SEQNO_INDEX, inhrelid, relid)), |row| out.push(row.oid(inhparent)));
    out
}

/// Direct children of `relid`.
pub fn children_of(relid: pg_sys::Oid) -> Vec<pg_sys::Oid> {
    let mut out = Vec::new();
    let cat = oid(PG_INHERITS);
    let (inhrelid, inhparent) = (attnum(cat, c"inhrelid"), attnum(cat, c"inhparent"));
    scan(cat, Some((PG_INHERITS_PARENT_INDEX, inhparent, relid)), |row| out.push(row.oid(inhrelid)));
    out
}

/// `relid`'s ancestors, nearest first (breadth first, each once).
pub fn ancestors_of(relid: pg_sys::Oid) -> Vec<pg_sys::Oid> {
    walk_breadth_first(parents_of(relid), parents_of)
}

backend_local! {
    static DESCENDANTS: crate::pg::cache::CachedMap<pg_sys::Oid, std::rc::Rc<Vec<pg_sys::Oid>>> =
        crate::pg::cache::CachedMap::new(crate::pg::cache::Class::Relations);
}

/// [`descendants_of`], cached until the relation changes (attaching or creating a partition or a
/// child invalidates the parent); relations without children are answered from pg_class alone.
pub fn descendants_cached(relid: pg_sys::Oid) -> std::rc::Rc<Vec<pg_sys::Oid>> {
    DESCENDANTS.with(|c| {
        c.get(relid, |relid| {
            crate::pg::cache::watch_relation(relid, crate::pg::cache::Class::Relations);
            std::rc::Rc::new(if has_subclass(relid) { descendants_of(relid) } else { Vec::new() })
        })
    })
}

backend_local! {
    static CODE_OWNERS: crate::pg::cache::CachedMap<pg_sys::Oid, std::rc::Rc<Vec<pg_sys::Oid>>> =
        crate::pg::cache::CachedMap::new(crate::pg::cache::Class::Relations);
}

/// Owners of the code that statements on `relid` run: the owner of `relid` and of each of its
/// partitions and children that [`carries_code`], each once. Cached until one of them changes
/// (an owner change, new code or a new child invalidates the relation; each is watched).
pub fn code_owners(relid: pg_sys::Oid) -> std::rc::Rc<Vec<pg_sys::Oid>> {
    CODE_OWNERS.with(|c| {
        c.get(relid, |relid| {
            let mut owners = Vec::new();
            for rel in std::iter::once(relid).chain(descendants_cached(relid).iter().copied()) {
                crate::pg::cache::watch_relation(rel, crate::pg::cache::Class::Relations);
                if carries_code(rel) {
                    // the domains' owners too: a domain's CHECK and DEFAULT are its owner's code
                    // (found by an attack pass: a masked role's domain read a table raw)
                    for owner in std::iter::once(relation_owner(rel)).chain(domain_owners(rel)) {
                        if !owners.contains(&owner) {
                            owners.push(owner);
                        }
                    }
                }
            }
            std::rc::Rc::new(owners)
        })
    })
}

/// `relid`'s descendants (breadth first, each once).
pub fn descendants_of(relid: pg_sys::Oid) -> Vec<pg_sys::Oid> {
    walk_breadth_first(children_of(relid), children_of)
}

fn walk_breadth_first(start: Vec<pg_sys::Oid>, next: fn(pg_sys::Oid) -> Vec<pg_sys::Oid>) -> Vec<pg_sys::Oid> {
    let mut queue = std::collections::VecDeque::from(start);
    let mut seen: Vec<pg_sys::Oid> = Vec::new();
    while let Some(rel) = queue.pop_front() {
        if seen.contains(&rel) {
            continue;
        }
        seen.push(rel);
        queue.extend(next(rel));
    }
    seen
}

/// A security label of provider `privacy` in this database.
pub struct Label {
    pub classoid: pg_sys::Oid,
    pub objoid: pg_sys::Oid,
    pub objsubid: i32,
    pub label: String,
}

/// Attribute numbers of the pg_seclabel / pg_shseclabel columns pg_privacy reads (looked up by
/// name, like every catalog column here).
struct LabelColumns {
    objoid: i16,
    classoid: i16,
    objsubid: i16,
    provider: i16,
    label: i16,
}

fn label_columns(cat: pg_sys::Oid) -> LabelColumns {
    LabelColumns {
        objoid: attnum(cat, c"objoid"),
        classoid: attnum(cat, c"classoid"),
        objsubid: attnum(cat, c"objsubid"),
        provider: attnum(cat, c"provider"),
        label: attnum(cat, c"label"),
    }
}

/// Every `privacy` label of this database (pg_seclabel), optionally only those on `objoid`.
pub fn labels(objoid: Option<pg_sys::Oid>) -> Vec<Label> {
    let cat = pg_sys::SecLabelRelationId;
    let LabelColumns { objoid: a_objoid, classoid: a_classoid, objsubid: a_objsubid, provider: a_provider, label: a_label } =
        label_columns(cat);
    let mut out = Vec::new();
    let key = objoid.map(|o| (pg_sys::SecLabelObjectIndexId, a_objoid, o));
    scan(cat, key, |row| {
        if row.text(a_provider).as_deref() != Some(crate::PROVIDER) {
            return;
        }
        if let Some(label) = row.text(a_label) {
            out.push(Label { classoid: row.oid(a_classoid), objoid: row.oid(a_objoid), objsubid: row.int4(a_objsubid), label });
        }
    });
    out
}

/// What a session needs to know of the whole database's labels before its first statement,
/// read in one pass: whether any column has a rule, and the (rare) schema and function labels.
pub struct LabelSummary {
    pub column_rules: bool,
    /// (object, label) of labels on schemas and on functions.
    pub schemas: Vec<(pg_sys::Oid, String)>,
    pub functions: Vec<(pg_sys::Oid, String)>,
}

backend_local! {
    static LABEL_SUMMARY: crate::pg::cache::Cached<LabelSummary> = const {
        crate::pg::cache::Cached::depending_on(crate::pg::cache::Deps::of(&[crate::pg::cache::Class::Relations, crate::pg::cache::Class::Functions]))
    };
}

/// The [`LabelSummary`] of this database (cached). A database with thousands of column rules
/// costs one pass over `pg_seclabel` reading two fixed-width fields per row: a column label's
/// provider is read only until the first one of ours is found, and no column label's text is
/// read (rules are read per relation, when a statement touches it).
pub fn label_summary() -> std::rc::Rc<LabelSummary> {
    LABEL_SUMMARY.with(|c| {
        c.get(|| {
            let cat = pg_sys::SecLabelRelationId;
            let LabelColumns { objoid: a_objoid, classoid: a_classoid, objsubid: a_objsubid, provider: a_provider, label: a_label } =
                label_columns(cat);
            let mut summary = LabelSummary { column_rules: false, schemas: Vec::new(), functions: Vec::new() };
            scan(cat, None, |row| {
                let class = row.oid(a_classoid);
                let ours = || row.text(a_provider).as_deref() == Some(crate::PROVIDER);
                if class == pg_sys::RelationRelationId {
                    if !summary.column_rules && row.int4(a_objsubid) > 0 && ours() {
                        summary.column_rules = true;
                    }
                } else if class == pg_sys::NamespaceRelationId || class == pg_sys::ProcedureRelationId {
                    if let (true, Some(label)) = (ours(), row.text(a_label)) {
                        let list = if class == pg_sys::NamespaceRelationId { &mut summary.schemas } else { &mut summary.functions };
                        list.push((row.oid(a_objoid), label));
                    }
                }
            });
            summary
        })
    })
}

/// Whether any column of `relid` has a label of provider `privacy` (stops at the first).
pub fn has_column_label(relid: pg_sys::Oid) -> bool {
    let cat = pg_sys::SecLabelRelationId;
    let LabelColumns { objoid: a_objoid, classoid: a_classoid, objsubid: a_objsubid, provider: a_provider, .. } = label_columns(cat);
    let mut found = false;
    let key = Some((oid(pg_sys::SecLabelObjectIndexId), a_objoid, pg_sys::F_OIDEQ, pg_sys::Datum::from(relid)));
    scan_while(cat, key, |row| {
        found = row.oid(a_classoid) == pg_sys::RelationRelationId
            && row.int4(a_objsubid) > 0
            && row.text(a_provider).as_deref() == Some(crate::PROVIDER);
        !found
    });
    found
}

/// Column labels of provider `privacy` on `relid`: (attnum, label).
pub fn column_labels_of(relid: pg_sys::Oid) -> Vec<(i16, String)> {
    labels(Some(relid))
        .into_iter()
        .filter(|l| l.classoid == pg_sys::RelationRelationId && l.objsubid > 0)
        .map(|l| (l.objsubid as i16, l.label))
        .collect()
}

/// Role labels of provider `privacy` (cluster-wide): (role, label).
pub fn role_labels() -> Vec<(pg_sys::Oid, String)> {
    let cat = oid(PG_SHSECLABEL);
    let (a_objoid, a_classoid, a_provider, a_label) =
        (attnum(cat, c"objoid"), attnum(cat, c"classoid"), attnum(cat, c"provider"), attnum(cat, c"label"));
    let mut out = Vec::new();
    scan(cat, None, |row| {
        if row.oid(a_classoid) == pg_sys::AuthIdRelationId && row.text(a_provider).as_deref() == Some(crate::PROVIDER) {
            if let Some(label) = row.text(a_label) {
                out.push((row.oid(a_objoid), label));
            }
        }
    });
    out
}

/// (oid, name) of the row-security policies on `relid`.
pub fn policies(relid: pg_sys::Oid) -> Vec<(pg_sys::Oid, String)> {
    let cat = oid(PG_POLICY);
    let (a_oid, a_name, a_rel) = (attnum(cat, c"oid"), attnum(cat, c"polname"), attnum(cat, c"polrelid"));
    let mut out = Vec::new();
    scan(cat, Some((PG_POLICY_POLRELID_POLNAME_INDEX, a_rel, relid)), |row| {
        if let Some(name) = row.name(a_name) {
            out.push((row.oid(a_oid), name));
        }
    });
    out
}

/// The version of pg_privacy created in this database (`pg_extension.extversion`), if it is.
fn installed_version() -> Option<String> {
    // SAFETY: a catalog lookup by name with missing_ok.
    let ext = unsafe { pg_sys::get_extension_oid(c"pg_privacy".as_ptr(), true) };
    if ext == pg_sys::InvalidOid {
        return None;
    }
    let cat = pg_sys::ExtensionRelationId;
    let (a_oid, a_version) = (attnum(cat, c"oid"), attnum(cat, c"extversion"));
    let mut version = None;
    scan(cat, Some((PG_EXTENSION_OID_INDEX, a_oid, ext)), |row| version = row.text(a_version));
    version
}

backend_local! {
    static OUTDATED_SCHEMA: crate::pg::cache::Cached<Option<String>> =
        const { crate::pg::cache::Cached::new(crate::pg::cache::Class::Relations) };
}

/// The version of pg_privacy's SQL objects in this database when it is not the library's own:
/// after the library was upgraded and before `ALTER EXTENSION pg_privacy UPDATE` ran here. The
/// library then reads none of those objects ([`extension_schema`] answers None) and
/// `guards::refuse_outdated_schema` keeps everyone but superusers out. Cached; the update's DDL
/// and the invalidation sent at `ALTER EXTENSION` (`guards::after_extension_change`) refresh it.
pub fn outdated_schema() -> Option<String> {
    (*OUTDATED_SCHEMA.with(|c| c.get(|| installed_version().filter(|v| v != LIBRARY_VERSION)))).clone()
}

/// Whether pg_privacy is created in this database, at whatever version.
pub fn extension_installed() -> bool {
    // SAFETY: a catalog lookup by name with missing_ok.
    unsafe { pg_sys::get_extension_oid(c"pg_privacy".as_ptr(), true) != pg_sys::InvalidOid }
}

backend_local! {
    static EXTENSION_SCHEMA: crate::pg::cache::Cached<Option<pg_sys::Oid>> =
        const { crate::pg::cache::Cached::new(crate::pg::cache::Class::Relations) };
}

/// The `privacy` schema if the pg_privacy extension is installed in this database, at the
/// library's own version (an older schema's tables have other shapes: reading them as this
/// version's would misread them, so the library treats them as absent and fails closed).
/// Cached: it is asked on hot paths (every `SET privacy.purpose`); creating, updating or dropping
/// the extension invalidates it (their DDL, and `guards::after_extension_change`).
pub fn extension_schema() -> Option<pg_sys::Oid> {
    *EXTENSION_SCHEMA.with(|c| c.get(load_extension_schema))
}

fn load_extension_schema() -> Option<pg_sys::Oid> {
    if installed_version().as_deref() != Some(LIBRARY_VERSION) {
        return None;
    }
    // SAFETY: a catalog lookup with missing_ok.
    let nsp = unsafe { pg_sys::get_namespace_oid(c"privacy".as_ptr(), true) };
    (nsp != pg_sys::InvalidOid).then_some(nsp)
}

/// The OID of the extension's table `privacy.<name>`, if it exists and belongs to the extension
/// (a table of that name someone else created is not ours).
pub fn extension_table(name: &CStr) -> Option<pg_sys::Oid> {
    let nsp = extension_schema()?;
    // SAFETY: catalog lookups returning InvalidOid when missing.
    unsafe {
        let ext = pg_sys::get_extension_oid(c"pg_privacy".as_ptr(), true);
        let relid = pg_sys::get_relname_relid(name.as_ptr(), nsp);
        (relid != pg_sys::InvalidOid && pg_sys::getExtensionOfObject(pg_sys::RelationRelationId, relid) == ext).then_some(relid)
    }
}

/// Whether `relid` is a table of the pg_privacy extension (key table, consent registry).
pub fn is_extension_table(relid: pg_sys::Oid) -> bool {
    // SAFETY: catalog lookups returning InvalidOid when not found.
    unsafe {
        let ext = pg_sys::get_extension_oid(c"pg_privacy".as_ptr(), true);
        ext != pg_sys::InvalidOid
            && pg_sys::get_rel_relkind(relid) as u8 == pg_sys::RELKIND_RELATION
            && pg_sys::getExtensionOfObject(pg_sys::RelationRelationId, relid) == ext
    }
}

/// `schema.relation` for messages (the OID if the relation is gone).
pub fn relation_name(relid: pg_sys::Oid) -> String {
    // SAFETY: lsyscache lookups returning palloc'd strings or NULL.
    unsafe {
        let name = pg_sys::get_rel_name(relid);
        if name.is_null() {
            return relid.to_u32().to_string();
        }
        let nsp = pg_sys::get_namespace_name(pg_sys::get_rel_namespace(relid));
        let rel = CStr::from_ptr(name).to_string_lossy();
        if nsp.is_null() {
            rel.into_owned()
        } else {
            format!("{}.{}", CStr::from_ptr(nsp).to_string_lossy(), rel)
        }
    }
}

/// The name of column `attno` of `relid`, if it exists.
pub fn attribute_name(relid: pg_sys::Oid, attno: i16) -> Option<String> {
    // SAFETY: get_attname with missing_ok returns NULL for a missing attribute.
    unsafe {
        let p = pg_sys::get_attname(relid, attno, true);
        if p.is_null() { None } else { Some(CStr::from_ptr(p).to_string_lossy().into_owned()) }
    }
}

/// The attribute number of column `name` of `relid` (0 if none).
pub fn attribute_number(relid: pg_sys::Oid, name: &str) -> i16 {
    let Ok(c) = CString::new(name) else { return 0 };
    // SAFETY: get_attnum returns InvalidAttrNumber when the column does not exist.
    unsafe { pg_sys::get_attnum(relid, c.as_ptr()) }
}

/// The OID of type `name` in the extension's schema (InvalidOid without the extension).
pub fn extension_type(name: &CStr) -> pg_sys::Oid {
    let Some(nsp) = extension_schema() else { return pg_sys::InvalidOid };
    // SAFETY: a syscache lookup of a type by name and namespace.
    unsafe {
        pg_sys::GetSysCacheOid(
            pg_sys::SysCacheIdentifier::TYPENAMENSP as i32,
            attnum(pg_sys::TypeRelationId, c"oid"),
            pg_sys::Datum::from(name.as_ptr()),
            pg_sys::Datum::from(nsp),
            pg_sys::Datum::from(0),
            pg_sys::Datum::from(0),
        )
    }
}

/// Whether column `attno` of `relid` is declared NOT NULL.
pub fn attribute_not_null(relid: pg_sys::Oid, attno: i16) -> bool {
    // SAFETY: syscache lookup of a pg_attribute row, read and released before returning.
    unsafe {
        let tuple = pg_sys::SearchSysCache2(
            pg_sys::SysCacheIdentifier::ATTNUM as i32,
            pg_sys::Datum::from(relid),
            pg_sys::Datum::from(attno),
        );
        if tuple.is_null() {
            return false;
        }
        let not_null = (*pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_attribute>(tuple)).attnotnull;
        pg_sys::ReleaseSysCache(tuple);
        not_null
    }
}

/// A role's name for messages (its OID if it is gone).
pub fn role_name(role: pg_sys::Oid) -> String {
    // SAFETY: GetUserNameFromId with noerr=true returns NULL for an unknown role.
    unsafe {
        let p = pg_sys::GetUserNameFromId(role, true);
        if p.is_null() { role.to_u32().to_string() } else { CStr::from_ptr(p).to_string_lossy().into_owned() }
    }
}

/// `schema.function(argtypes)` for messages.
pub fn function_name(funcid: pg_sys::Oid) -> String {
    // SAFETY: format_procedure returns a palloc'd string for any OID.
    unsafe { CStr::from_ptr(pg_sys::format_procedure(funcid)).to_string_lossy().into_owned() }
}

/// A type's name for messages.
pub fn type_name(typid: pg_sys::Oid) -> String {
    // SAFETY: format_type_be returns a palloc'd string for any type OID.
    unsafe { CStr::from_ptr(pg_sys::format_type_be(typid)).to_string_lossy().into_owned() }
}

/// What pg_privacy needs to know about a function: its owner and whether it is SQL-language.
/// None if it does not exist.
#[derive(Clone, Copy, Debug)]
pub struct FunctionInfo {
    pub owner: pg_sys::Oid,
    pub sql_language: bool,
    /// One of Citus's functions that run SQL text over new connections to nodes
    /// ([`crate::pg::citus::REMOTE_COMMAND_FUNCTIONS`]).
    pub citus_remote_command: bool,
}

/// Cached per function (the fmgr hooks ask for every function a plan calls, every time the plan
/// is started); a pg_proc invalidation drops the cache.
pub fn function_info(funcid: pg_sys::Oid) -> Option<FunctionInfo> {
    FUNCTION_INFO.with(|c| c.get(funcid, load_function_info))
}

fn load_function_info(funcid: pg_sys::Oid) -> Option<FunctionInfo> {
    // SAFETY: syscache lookup of a pg_proc row, read and released before returning.
    unsafe {
        let tuple = pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::PROCOID as i32, pg_sys::Datum::from(funcid));
        if tuple.is_null() {
            return None;
        }
        let form = pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_proc>(tuple);
        let name = CStr::from_ptr((*form).proname.data.as_ptr()).to_bytes();
        let info = FunctionInfo {
            owner: (*form).proowner,
            sql_language: (*form).prolang == oid(SQL_LANGUAGE),
            citus_remote_command: (*form).pronamespace == oid(pg_sys::PG_CATALOG_NAMESPACE)
                && crate::pg::citus::REMOTE_COMMAND_FUNCTIONS.iter().any(|f| f.as_bytes() == name),
        };
        pg_sys::ReleaseSysCache(tuple);
        Some(info)
    }
}

/// A flag of `relid`'s pg_class row (false when there is none).
fn pg_class_flag(relid: pg_sys::Oid, flag: fn(&pg_sys::FormData_pg_class) -> bool) -> bool {
    // SAFETY: syscache lookup of a pg_class row, read and released before returning.
    unsafe {
        let tuple = pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::RELOID as i32, pg_sys::Datum::from(relid));
        if tuple.is_null() {
            return false;
        }
        let value = flag(&*pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_class>(tuple));
        pg_sys::ReleaseSysCache(tuple);
        value
    }
}

/// Whether `relid` has rewrite rules (pg_class.relhasrules).
pub fn has_rules(relid: pg_sys::Oid) -> bool {
    pg_class_flag(relid, |c| c.relhasrules)
}

/// Whether `relid` has (or had: the flag is cleared lazily) children or partitions.
pub fn has_subclass(relid: pg_sys::Oid) -> bool {
    pg_class_flag(relid, |c| c.relhassubclass)
}

/// The owner of relation `relid` (InvalidOid if it is gone).
pub fn relation_owner(relid: pg_sys::Oid) -> pg_sys::Oid {
    // SAFETY: syscache lookup of a pg_class row, read and released before returning.
    unsafe {
        let tuple = pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::RELOID as i32, pg_sys::Datum::from(relid));
        if tuple.is_null() {
            return pg_sys::InvalidOid;
        }
        let owner = (*pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_class>(tuple)).relowner;
        pg_sys::ReleaseSysCache(tuple);
        owner
    }
}

/// The relation's kind (`pg_class.relkind`), 0 if it is gone.
pub fn relkind(relid: pg_sys::Oid) -> u8 {
    // SAFETY: lsyscache lookup returning '\0' for a missing relation.
    unsafe { pg_sys::get_rel_relkind(relid) as u8 }
}

/// `relrowsecurity` and `relforcerowsecurity` of `relid`.
pub fn row_security_flags(relid: pg_sys::Oid) -> (bool, bool) {
    // SAFETY: syscache lookup of a pg_class row, read and released before returning.
    unsafe {
        let tuple = pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::RELOID as i32, pg_sys::Datum::from(relid));
        if tuple.is_null() {
            return (false, false);
        }
        let class = pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_class>(tuple);
        let flags = ((*class).relrowsecurity, (*class).relforcerowsecurity);
        pg_sys::ReleaseSysCache(tuple);
        flags
    }
}

backend_local! {
    static FUNCTION_INFO: crate::pg::cache::CachedMap<pg_sys::Oid, Option<FunctionInfo>> = crate::pg::cache::CachedMap::new(crate::pg::cache::Class::Functions);
    static CARRIES_CODE: crate::pg::cache::CachedMap<pg_sys::Oid, bool> = crate::pg::cache::CachedMap::new(crate::pg::cache::Class::Relations);
}

/// Whether relation `relid` carries code its owner wrote that runs for whoever reads or writes it:
/// triggers, rewrite rules, row-security policies (other than pg_privacy's guards), column
/// defaults, check constraints, generated columns or index expressions. Cached until the relation
/// changes.
pub fn carries_code(relid: pg_sys::Oid) -> bool {
    CARRIES_CODE.with(|c| {
        c.get(relid, |relid| {
            crate::pg::cache::watch_relation(relid, crate::pg::cache::Class::Relations);
            compute_carries_code(relid)
        })
    })
}

/// Recognises pg_privacy's own row-security policies (installed by `guards`, so this module
/// needs no knowledge of them).
pub type OwnPolicyPredicate = unsafe fn(*mut pg_sys::RowSecurityPolicy) -> bool;

backend_local! {
    static OWN_POLICY: std::cell::Cell<Option<OwnPolicyPredicate>> = const { std::cell::Cell::new(None) };
}

pub fn register_own_policy(pred: OwnPolicyPredicate) {
    OWN_POLICY.with(|p| p.set(Some(pred)));
}

/// Whether an open relation has row security on with a policy its owner wrote: pg_privacy's own
/// guard policies (which turn row security on for every protected table) are not the owner's code.
///
/// # Safety
/// `rel` is an open relation.
pub unsafe fn has_owner_policies(rel: pg_sys::Relation) -> bool {
    // SAFETY: the relcache entry's fields, read while it is open.
    unsafe {
        if !(*(*rel).rd_rel).relrowsecurity || (*rel).rd_rsdesc.is_null() {
            return false;
        }
        let own = OWN_POLICY.with(|p| p.get());
        pgrx::PgList::<pg_sys::RowSecurityPolicy>::from_pg((*(*rel).rd_rsdesc).policies)
            .iter_ptr()
            .any(|policy| !own.is_some_and(|is_own| is_own(policy)))
    }
}

/// Whether row-security policies its owner wrote restrict what the current user sees of
/// `relid` (pg_privacy's guards, which every protected table has, restrict nothing: they only
/// close the table without the library).
pub fn owner_row_security_restricts_current_user(relid: pg_sys::Oid) -> bool {
    matches!(row_security_for_current_user(relid), Some(RowSecurity { owner_policies: true, .. }))
}

/// The row-security policies that apply to the current user's reads and writes of a table.
pub struct RowSecurity {
    /// Whether the table has any policy (none means every row is refused).
    pub any_policies: bool,
    /// Whether one of them was written by the table's owner (not a pg_privacy guard).
    pub owner_policies: bool,
    /// Whether one of them is permissive and applies to every role (`TO PUBLIC`).
    pub permissive_for_public: bool,
}

/// Whether a policy applies to every role: its roles are `{public}` (ACL_ID_PUBLIC, 0), as
/// PostgreSQL's own check_role_for_policy tests first.
///
/// # Safety
/// `policy` must be a valid RowSecurityPolicy of an open relation.
unsafe fn applies_to_public(policy: *mut pg_sys::RowSecurityPolicy) -> bool {
    // SAFETY: roles is the relcache's detoasted copy of pg_policy.polroles, an oid[] without
    // NULLs; deconstruct_array pallocs the element array in the current context.
    unsafe {
        let roles = (*policy).roles;
        if roles.is_null() {
            return false;
        }
        let mut elems: *mut pg_sys::Datum = std::ptr::null_mut();
        let mut count: i32 = 0;
        pg_sys::deconstruct_array(
            roles,
            pg_sys::OIDOID,
            4,
            true,
            pg_sys::TYPALIGN_INT as std::ffi::c_char,
            &mut elems,
            std::ptr::null_mut(),
            &mut count,
        );
        (0..count.max(0) as usize).any(|i| (*elems.add(i)).value() == 0)
    }
}

/// What row security applies to the current user on `relid`, or None where it does not apply
/// (off, or the current user is the owner or BYPASSRLS).
pub fn row_security_for_current_user(relid: pg_sys::Oid) -> Option<RowSecurity> {
    // SAFETY: with noError, check_enable_rls reports for the current user and raises nothing;
    // the relcache entry is held open while its policies are read.
    unsafe {
        if pg_sys::check_enable_rls(relid, pg_sys::InvalidOid, true) != pg_sys::CheckEnableRlsResult::RLS_ENABLED as i32 {
            return None;
        }
        let rel = pg_sys::RelationIdGetRelation(relid);
        if rel.is_null() {
            return None;
        }
        let policies = if (*rel).rd_rsdesc.is_null() { std::ptr::null_mut() } else { (*(*rel).rd_rsdesc).policies };
        let any_policies = !policies.is_null();
        let owner_policies = has_owner_policies(rel);
        let permissive_for_public = pgrx::PgList::<pg_sys::RowSecurityPolicy>::from_pg(policies)
            .iter_ptr()
            .any(|policy| (*policy).permissive && applies_to_public(policy));
        pg_sys::RelationClose(rel);
        Some(RowSecurity { any_policies, owner_policies, permissive_for_public })
    }
}

fn compute_carries_code(relid: pg_sys::Oid) -> bool {
    // SAFETY: the relcache entry is opened and closed here; its fields are read while open.
    unsafe {
        let rel = pg_sys::RelationIdGetRelation(relid);
        if rel.is_null() {
            return false;
        }
        let form = (*rel).rd_rel;
        let mut code = (*form).relhasrules || (*form).relchecks > 0 || has_owner_triggers(rel) || !domain_owners(relid).is_empty();
        if !code && has_owner_policies(rel) {
            code = true;
        }
        let constr = (*(*rel).rd_att).constr;
        if !constr.is_null() && ((*constr).has_generated_stored || (*constr).num_defval > 0) {
            code = true;
        }
        if !code && (*form).relhasindex {
            let indexes = pg_sys::RelationGetIndexList(rel);
            for index in pgrx::PgList::<std::ffi::c_void>::from_pg(indexes).iter_oid() {
                let irel = pg_sys::RelationIdGetRelation(index);
                if irel.is_null() {
                    continue;
                }
                let idx = (*irel).rd_index;
                // indexprs / indpred are varlena columns; their presence shows as non-null in the
                // relcache's cached copies once loaded, so ask for them.
                let exprs = pg_sys::RelationGetIndexExpressions(irel);
                let pred = pg_sys::RelationGetIndexPredicate(irel);
                if !exprs.is_null() || !pred.is_null() || idx.is_null() {
                    code = true;
                }
                pg_sys::RelationClose(irel);
                if code {
                    break;
                }
            }
        }
        pg_sys::RelationClose(rel);
        code
    }
}

/// Owners of the domains `relid`'s columns are of, and of the domains those are based on: a
/// domain's CHECK constraints and DEFAULT run for whoever writes the column.
pub fn domain_owners(relid: pg_sys::Oid) -> Vec<pg_sys::Oid> {
    let mut owners = Vec::new();
    // SAFETY: the relcache entry is held open while its tuple descriptor is read; syscache lookups
    // of pg_type rows, read and released before the next.
    unsafe {
        let rel = pg_sys::RelationIdGetRelation(relid);
        if rel.is_null() {
            return owners;
        }
        let desc = (*rel).rd_att;
        for i in 0..(*desc).natts.max(0) as usize {
            let attr = *crate::pg::version::tuple_desc_attr(desc, i);
            if attr.attisdropped {
                continue;
            }
            let mut type_oid = attr.atttypid;
            loop {
                let tuple = pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::TYPEOID as i32, pg_sys::Datum::from(type_oid));
                if tuple.is_null() {
                    break;
                }
                let form = pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_type>(tuple);
                let (typtype, owner, base) = ((*form).typtype, (*form).typowner, (*form).typbasetype);
                pg_sys::ReleaseSysCache(tuple);
                if typtype as u8 != pg_sys::TYPTYPE_DOMAIN {
                    break;
                }
                if !owners.contains(&owner) {
                    owners.push(owner);
                }
                type_oid = base;
            }
        }
        pg_sys::RelationClose(rel);
    }
    owners
}

/// Whether an open relation has a trigger other than PostgreSQL's own foreign-key triggers,
/// whose functions (`RI_FKey_*`) are the server's code, not the owner's: a table that only
/// references or is referenced runs nothing its owner wrote.
///
/// # Safety
/// `rel` is an open relation.
unsafe fn has_owner_triggers(rel: pg_sys::Relation) -> bool {
    // SAFETY: the relcache entry's trigger descriptor, read while it is open; RI_FKey_trigger_type
    // only compares the function's oid with the RI functions' oids.
    unsafe {
        if !(*(*rel).rd_rel).relhastriggers {
            return false;
        }
        let desc = (*rel).trigdesc;
        if desc.is_null() {
            // relhastriggers may stay set after the last trigger is dropped: nothing to run.
            return false;
        }
        let triggers = std::slice::from_raw_parts((*desc).triggers, (*desc).numtriggers.max(0) as usize);
        triggers.iter().any(|t| pg_sys::RI_FKey_trigger_type(t.tgfoid) == pg_sys::RI_TRIGGER_NONE as i32)
    }
}

/// `name` quoted as an SQL identifier where needed (PostgreSQL's quote_identifier).
pub fn quote_ident(name: &str) -> String {
    let Ok(c) = CString::new(name) else { return String::new() };
    // SAFETY: quote_identifier returns its argument or a palloc'd quoted copy, NUL-terminated.
    unsafe { CStr::from_ptr(pg_sys::quote_identifier(c.as_ptr())).to_string_lossy().into_owned() }
}

/// `text` as an SQL string literal (PostgreSQL's quote_literal: `E'...'` when it holds a
/// backslash, so the literal means the same whatever `standard_conforming_strings` says). A text
/// with a NUL byte cannot be a literal and is refused, never quoted as something else.
pub fn quote_literal(text: &str) -> String {
    let Ok(c) = CString::new(text) else {
        crate::pg::errors::raise(
            pgrx::pg_sys::errcodes::PgSqlErrorCode::ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
            "a value with a NUL byte cannot be written as an SQL literal",
            "Remove the \\u0000 from it.",
        )
    };
    // SAFETY: quote_literal_cstr returns a palloc'd, NUL-terminated quoted copy.
    unsafe { CStr::from_ptr(pg_sys::quote_literal_cstr(c.as_ptr())).to_string_lossy().into_owned() }
}

/// A relation's name, schema-qualified and quoted by PostgreSQL ("" if it does not exist).
pub fn qualified_name(relid: pg_sys::Oid) -> String {
    // SAFETY: lsyscache lookups returning palloc'd names, or NULL for a missing relation.
    unsafe {
        let (nsp, rel) = (pg_sys::get_namespace_name(pg_sys::get_rel_namespace(relid)), pg_sys::get_rel_name(relid));
        if nsp.is_null() || rel.is_null() {
            return String::new();
        }
        let name = |p: *mut std::ffi::c_char| CStr::from_ptr(p).to_string_lossy().into_owned();
        format!("{}.{}", quote_ident(&name(nsp)), quote_ident(&name(rel)))
    }
}

/// Runs `f` as `relid`'s owner in a security-restricted operation, with GUC changes undone
/// afterwards: how PostgreSQL itself runs code that a table's owner wrote when a maintenance
/// command touches the table (ANALYZE, VACUUM, CLUSTER, REFRESH MATERIALIZED VIEW, CREATE INDEX).
/// pg_privacy's admin tools read and rewrite tables of any owner; whatever code such a table
/// carries (row-security policies, triggers, index expressions, check constraints, output
/// functions of its types) then runs with its owner's rights, never the admin's, and cannot
/// switch roles or create temporary objects. An error aborts the (sub)transaction, which restores
/// the user and the settings itself.
pub fn as_relation_owner<R>(relid: pg_sys::Oid, f: impl FnOnce() -> R) -> R {
    let owner = relation_owner(relid);
    let mut saved_user = pg_sys::InvalidOid;
    let mut saved_context = 0;
    // SAFETY: reading and setting the backend's current user and security context, as
    // PostgreSQL's own maintenance commands do (commands/analyze.c, commands/cluster.c); the
    // saved values are restored below, or by transaction abort on error.
    let level = unsafe {
        pg_sys::GetUserIdAndSecContext(&mut saved_user, &mut saved_context);
        pg_sys::SetUserIdAndSecContext(owner, saved_context | pg_sys::SECURITY_RESTRICTED_OPERATION as i32);
        pg_sys::NewGUCNestLevel()
    };
    let result = f();
    // SAFETY: undoing exactly what was done above, in reverse order.
    unsafe {
        pg_sys::AtEOXact_GUC(false, level);
        pg_sys::SetUserIdAndSecContext(saved_user, saved_context);
    }
    result
}

/// The functions code a relation carries calls whenever a row is written: enabled triggers'
/// functions and WHEN conditions, rules on writes (conditions and actions), and the functions
/// called by its CHECK constraints, its columns' domains' CHECKs, generated columns and index
/// expressions and predicates, each with a description for messages (`trigger "t"`, `CHECK
/// constraint "c"`, `generated column "g"`, `index "i"`). Whoever owns such a function sees the
/// rows written, raw and whatever filters would hide.
pub fn code_functions(relid: pg_sys::Oid) -> Vec<(String, pg_sys::Oid)> {
    let mut out = Vec::new();
    // SAFETY: the relcache entries are opened and closed here, their descriptors read while open;
    // stored expressions are read back with stringToNode as PostgreSQL does (in the current
    // memory context), and only walked.
    unsafe {
        let rel = pg_sys::RelationIdGetRelation(relid);
        if rel.is_null() {
            return out;
        }
        let td = (*rel).trigdesc;
        for i in 0..if td.is_null() { 0 } else { (*td).numtriggers as usize } {
            let tg = &*(*td).triggers.add(i);
            if tg.tgenabled != b'D' as std::ffi::c_char {
                let name = format!("trigger \"{}\"", CStr::from_ptr(tg.tgname).to_string_lossy());
                out.push((name.clone(), tg.tgfoid));
                // its WHEN condition sees NEW and OLD too
                if !tg.tgqual.is_null() {
                    for f in crate::pg::nodes::functions_called(pg_sys::stringToNode(tg.tgqual).cast()) {
                        out.push((name.clone(), f));
                    }
                }
            }
        }
        // rules on writes see NEW and OLD in their conditions and actions
        let rules = (*rel).rd_rules;
        for i in 0..if rules.is_null() { 0 } else { (*rules).numLocks as usize } {
            let rule = &**(*rules).rules.add(i);
            if rule.event == pg_sys::CmdType::CMD_SELECT || rule.enabled == b'D' as std::ffi::c_char {
                continue;
            }
            let event = match rule.event {
                pg_sys::CmdType::CMD_INSERT => "INSERT",
                pg_sys::CmdType::CMD_UPDATE => "UPDATE",
                _ => "DELETE",
            };
            let name = format!("a rule on {event}");
            let mut functions = if rule.qual.is_null() { Vec::new() } else { crate::pg::nodes::functions_called(rule.qual) };
            for action in pgrx::PgList::<pg_sys::Query>::from_pg(rule.actions).iter_ptr() {
                functions.extend(crate::pg::nodes::functions_called(action.cast()));
            }
            out.extend(functions.into_iter().map(|f| (name.clone(), f)));
        }
        let constr = (*(*rel).rd_att).constr;
        if !constr.is_null() {
            for i in 0..(*constr).num_check as usize {
                let check = (*constr).check.add(i);
                if (*check).ccbin.is_null() {
                    continue;
                }
                let expr = pg_sys::stringToNode((*check).ccbin).cast::<pg_sys::Node>();
                let name = CStr::from_ptr((*check).ccname).to_string_lossy().into_owned();
                for f in crate::pg::nodes::functions_called(expr) {
                    out.push((format!("CHECK constraint \"{name}\""), f));
                }
            }
        }
        let natts = (*(*rel).rd_att).natts as usize;
        for i in 0..natts {
            let attr = crate::pg::version::tuple_desc_attr((*rel).rd_att, i);
            if (*attr).attisdropped {
                continue;
            }
            // a domain's CHECK constraints run on every value written to a column of it
            let name = CStr::from_ptr((*attr).attname.data.as_ptr()).to_string_lossy().into_owned();
            if pg_sys::get_typtype((*attr).atttypid) == pg_sys::TYPTYPE_DOMAIN as std::ffi::c_char && pg_sys::DomainHasConstraints((*attr).atttypid) {
                // the reference lives in the current memory context, which releases it (its
                // callback is registered there), as the executor's references do
                let dref = pg_sys::palloc0(std::mem::size_of::<pg_sys::DomainConstraintRef>()).cast::<pg_sys::DomainConstraintRef>();
                pg_sys::InitDomainConstraintRef((*attr).atttypid, dref, pg_sys::CurrentMemoryContext, false);
                for c in pgrx::PgList::<pg_sys::DomainConstraintState>::from_pg((*dref).constraints).iter_ptr() {
                    if !(*c).check_expr.is_null() {
                        for f in crate::pg::nodes::functions_called((*c).check_expr.cast()) {
                            out.push((format!("the domain of column \"{name}\""), f));
                        }
                    }
                }
            }
            if (*attr).attgenerated == 0 {
                continue;
            }
            let expr = pg_sys::build_column_default(rel, i as i32 + 1);
            if expr.is_null() {
                continue;
            }
            for f in crate::pg::nodes::functions_called(expr) {
                out.push((format!("generated column \"{name}\""), f));
            }
        }
        if (*(*rel).rd_rel).relhasindex {
            let indexes = pgrx::PgList::<std::ffi::c_void>::from_pg(pg_sys::RelationGetIndexList(rel));
            for index in indexes.iter_oid() {
                let irel = pg_sys::RelationIdGetRelation(index);
                if irel.is_null() {
                    continue;
                }
                let name = CStr::from_ptr((*(*irel).rd_rel).relname.data.as_ptr()).to_string_lossy().into_owned();
                for expr in [pg_sys::RelationGetIndexExpressions(irel).cast::<pg_sys::Node>(), pg_sys::RelationGetIndexPredicate(irel).cast::<pg_sys::Node>()] {
                    if expr.is_null() {
                        continue;
                    }
                    for f in crate::pg::nodes::functions_called(expr) {
                        out.push((format!("index \"{name}\""), f));
                    }
                }
                pg_sys::RelationClose(irel);
            }
        }
        pg_sys::RelationClose(rel);
    }
    out
}
