//! Reading Citus's metadata, when the citus extension exists in the database: which relations are
//! Citus tables (distributed, reference, or local tables added to Citus's metadata) and which are
//! shards of one.
//!
//! pg_privacy does not link to Citus or call its functions: it reads Citus's catalog tables
//! (`pg_catalog.pg_dist_partition`, `pg_catalog.pg_dist_shard`) by name like any other catalog,
//! so it builds and runs the same with or without Citus, and a database without the citus
//! extension pays one syscache lookup per question.
//!
//! Answers are cached per relation and dropped with the relation's relcache entry: Citus sends a
//! relcache invalidation of a table whenever its row in `pg_dist_partition` or one of its shards'
//! rows in `pg_dist_shard` changes. A relation named like a shard whose metadata is not (yet) on
//! this node is asked again every time rather than cached as "not a shard": its metadata may arrive
//! with an invalidation of its table, which this backend would not connect to it.
//!
//! Shards on a node are ordinary tables named `<table>_<shardid>` in the schema of their table
//! (Citus shortens long names before the suffix, which is why the suffix and the namespace are
//! what is checked, not the whole name). A node knows which shard belongs to which table when it
//! has Citus's metadata, which Citus 11 and later sync to every node by default.

use std::ffi::CStr;

use pgrx::pg_sys;

use crate::pg::cache::{watch_relation, CachedMap, Class};
use crate::pg::catalog;

/// Citus's functions that run SQL text on nodes over connections of their own, which log in as
/// the current user (in `pg_catalog`; the PL/pgSQL ones end in `master_run_on_worker`).
pub const REMOTE_COMMAND_FUNCTIONS: &[&str] = &[
    "master_run_on_worker",
    "run_command_on_workers",
    "run_command_on_all_nodes",
    "run_command_on_coordinator",
    "run_command_on_placements",
    "run_command_on_colocated_placements",
    "run_command_on_shards",
];

/// Whether Citus's metadata exists in this database (a syscache lookup).
pub fn in_database() -> bool {
    catalog::pg_catalog_relation(c"pg_dist_partition") != pg_sys::InvalidOid
}

/// Whether `relid` is a Citus table (distributed, reference, or a local table in Citus's
/// metadata): its rows live in shards, on this node or others.
pub fn is_citus_table(relid: pg_sys::Oid) -> bool {
    CITUS_TABLE.with(|c| {
        c.get(relid, |relid| {
            watch_relation(relid, Class::Relations);
            load_is_citus_table(relid)
        })
    })
}

backend_local! {
    static CITUS_TABLE: CachedMap<pg_sys::Oid, bool> = CachedMap::new(Class::Relations);
    static SHARD_OF: CachedMap<pg_sys::Oid, Option<pg_sys::Oid>> = CachedMap::new(Class::Relations);
}

fn load_is_citus_table(relid: pg_sys::Oid) -> bool {
    let mut found = false;
    partition_rows(relid, |_| found = true);
    found
}

/// Calls `f` with `relid`'s rows in `pg_dist_partition` (none where Citus is not installed).
fn partition_rows(relid: pg_sys::Oid, f: impl FnMut(&catalog::Row)) {
    let partition = catalog::pg_catalog_relation(c"pg_dist_partition");
    if partition == pg_sys::InvalidOid {
        return;
    }
    let index = catalog::pg_catalog_relation(c"pg_dist_partition_logical_relid_index");
    let attno = catalog::attnum(partition, c"logicalrelid");
    if index != pg_sys::InvalidOid && attno > 0 {
        catalog::scan(partition, Some((index.to_u32(), attno, relid)), f);
    }
}

/// Calls `f` with the rows of shard `shard_id` in `pg_dist_shard`, and the attribute number of
/// their `logicalrelid` (none where Citus is not installed).
fn shard_rows(shard_id: i64, mut f: impl FnMut(&catalog::Row, i16)) {
    let shards = catalog::pg_catalog_relation(c"pg_dist_shard");
    if shards == pg_sys::InvalidOid {
        return;
    }
    let index = catalog::pg_catalog_relation(c"pg_dist_shard_shardid_index");
    let (a_shard, a_table) = (catalog::attnum(shards, c"shardid"), catalog::attnum(shards, c"logicalrelid"));
    if index != pg_sys::InvalidOid && a_shard > 0 && a_table > 0 {
        catalog::scan_int8(shards, index, a_shard, shard_id, |row| f(row, a_table));
    }
}

/// Whether the current transaction made `relid` a Citus table or a shard of one: its row in
/// `pg_dist_partition`, or its shard's row in `pg_dist_shard`, was written by this transaction
/// (read through the catalog snapshot, which sees the transaction's own changes). Not cached:
/// asked once per subject table at commit.
pub fn made_citus_table_in_this_transaction(relid: pg_sys::Oid) -> bool {
    let mut made = false;
    partition_rows(relid, |row| made |= row.written_by_this_transaction());
    // Citus makes a local table a Citus local table (for a reference table's foreign key, say) by
    // renaming it into the table's shard and creating a new table in its place: the relation is
    // then a shard whose metadata this transaction wrote.
    if let (false, Some(shard_id)) = (made, shard_id_suffix(relid)) {
        shard_rows(shard_id, |row, _| made |= row.written_by_this_transaction());
    }
    made
}

/// The Citus table `relid` is a shard of, if it is one (a placement on this node). Relations
/// whose name does not end in `_<digits>` are answered without reading Citus's metadata.
pub fn shard_of(relid: pg_sys::Oid) -> Option<pg_sys::Oid> {
    SHARD_OF.with(|c| {
        c.get_if_final(relid, |relid| {
            watch_relation(relid, Class::Relations);
            let Some(shard_id) = shard_id_suffix(relid) else { return (None, true) };
            if catalog::pg_catalog_relation(c"pg_dist_shard") == pg_sys::InvalidOid {
                // No Citus here: a relation renamed into a shard later gets a relcache
                // invalidation of its own.
                return (None, true);
            }
            let table = load_shard_of(relid, shard_id);
            if let Some(table) = table {
                watch_relation(table, Class::Relations);
            }
            (table, table.is_some())
        })
    })
}

fn load_shard_of(relid: pg_sys::Oid, shard_id: i64) -> Option<pg_sys::Oid> {
    let mut table = None;
    shard_rows(shard_id, |row, a_table| table = Some(row.oid(a_table)));
    let table = table.filter(|t| *t != pg_sys::InvalidOid && *t != relid)?;
    // SAFETY: lsyscache lookups by OID; InvalidOid for a missing relation.
    let same_schema = unsafe { pg_sys::get_rel_namespace(table) == pg_sys::get_rel_namespace(relid) };
    same_schema.then_some(table)
}

/// Whether [`shard_of`]'s answer for `relid` can be cached by its callers: false only for a
/// relation named like a shard, in a database with Citus, whose shard metadata is not on this
/// node (yet).
pub fn shard_answer_is_final(relid: pg_sys::Oid) -> bool {
    shard_of(relid).is_some() || shard_id_suffix(relid).is_none() || catalog::pg_catalog_relation(c"pg_dist_shard") == pg_sys::InvalidOid
}

/// The number after the last `_` of the relation's name, if it has only digits there.
fn shard_id_suffix(relid: pg_sys::Oid) -> Option<i64> {
    // SAFETY: get_rel_name returns a palloc'd copy of the name, or NULL for a missing relation.
    let name = unsafe {
        let p = pg_sys::get_rel_name(relid);
        if p.is_null() {
            return None;
        }
        CStr::from_ptr(p).to_bytes().to_vec()
    };
    let at = name.iter().rposition(|b| *b == b'_')?;
    let digits = &name[at + 1..];
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The shards of Citus table `table` that are on this node (placements whose relation exists
/// here), found through `pg_dist_shard`: named `<table>_<shardid>` in the table's schema, or, for
/// names Citus shortened (long table names get a hash before the shard id), the relation of that
/// schema whose name ends in `_<shardid>` and that [`shard_of`] maps to the table.
pub fn local_shards(table: pg_sys::Oid) -> Vec<pg_sys::Oid> {
    let shards = catalog::pg_catalog_relation(c"pg_dist_shard");
    let index = catalog::pg_catalog_relation(c"pg_dist_shard_logical_relid_index");
    if shards == pg_sys::InvalidOid || index == pg_sys::InvalidOid || !is_citus_table(table) {
        return Vec::new();
    }
    let (a_shard, a_table) = (catalog::attnum(shards, c"shardid"), catalog::attnum(shards, c"logicalrelid"));
    let mut ids = Vec::new();
    catalog::scan(shards, Some((index.to_u32(), a_table, table)), |row| ids.push(row.int8(a_shard)));
    // SAFETY: lsyscache lookups; get_rel_name returns a palloc'd copy or NULL.
    let (base, namespace) = unsafe {
        let name = pg_sys::get_rel_name(table);
        if name.is_null() {
            return Vec::new();
        }
        (CStr::from_ptr(name).to_string_lossy().into_owned(), pg_sys::get_rel_namespace(table))
    };
    let mut found = Vec::new();
    let mut shortened = Vec::new();
    for id in ids {
        let relid = std::ffi::CString::new(format!("{base}_{id}"))
            // SAFETY: a syscache lookup by name in a namespace; InvalidOid if missing.
            .map(|name| unsafe { pg_sys::get_relname_relid(name.as_ptr(), namespace) })
            .unwrap_or(pg_sys::InvalidOid);
        if relid != pg_sys::InvalidOid {
            found.push(relid);
        } else if base.len() + 1 + id.to_string().len() >= pg_sys::NAMEDATALEN as usize - 1 {
            shortened.push(format!("_{id}"));
        }
    }
    if !shortened.is_empty() {
        // Rare (labels on tables with names near the 63-byte limit): one pass over pg_class.
        let class = pg_sys::RelationRelationId;
        let (a_oid, a_name, a_nsp) = (catalog::attnum(class, c"oid"), catalog::attnum(class, c"relname"), catalog::attnum(class, c"relnamespace"));
        catalog::scan(class, None, |row| {
            if row.oid(a_nsp) == namespace && row.name(a_name).is_some_and(|n| shortened.iter().any(|suffix| n.ends_with(suffix.as_str()))) {
                found.push(row.oid(a_oid));
            }
        });
        found.retain(|relid| shard_of(*relid) == Some(table));
    }
    found
}
