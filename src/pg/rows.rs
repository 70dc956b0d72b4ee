//! Writing rows without a statement. PostgreSQL's single-row executor routines
//! (`executor/execReplication.c`, the ones logical replication's apply worker uses:
//! `ExecSimpleRelationInsert` and friends, reached through [`crate::pg::ffi`]) check constraints,
//! insert into every index and fire row triggers and foreign-key checks as an INSERT does, but need
//! an executor state with the tables as result relations. This module makes that state and
//! releases it, as the apply worker's `create_edata_for_relation` does.
//!
//! Used where a statement's planning and executor start-up would be most of the time spent:
//! consent recording (`crate::consent::record`) and the erasure receipt
//! (`crate::rights::receipt`); docs/BENCHMARKS.md has the measurements. [`for_each_equal`] is
//! their lookup: the rows an index finds for one key, without a statement either.

use pgrx::pg_sys;

use super::version;

/// Opens `relids` with the lock an INSERT takes and an executor state for writing them: a
/// range-table entry per table (index `i + 1`), a result relation per table with its indexes open
/// (trigger processing finds them in `es_opened_result_relations`), the current command id as the
/// output command, the active snapshot if one is set. Collects AFTER-trigger events from here on:
/// the caller fires them with `ffi::AfterTriggerEndQuery` (a foreign key's check, a DBA's trigger)
/// and releases everything with [`close_writes`].
///
/// # Safety
/// Raises on error (a missing table, a lock timeout): call it from guarded code, whose abort
/// processing releases what was taken. `rels` and `rris` are at least `relids.len()` long.
pub unsafe fn open_for_writes(relids: &[pg_sys::Oid], rels: &mut [pg_sys::Relation], rris: &mut [*mut pg_sys::ResultRelInfo]) -> *mut pg_sys::EState {
    // SAFETY: relations opened with RowExclusiveLock, closed in close_writes (the lock is kept to
    // the transaction's end); what is allocated here lives in the executor state's memory context
    // (FreeExecutorState frees it), as an executor's does.
    unsafe {
        let estate = pg_sys::CreateExecutorState();
        let caller_context = pg_sys::MemoryContextSwitchTo((*estate).es_query_cxt);
        let mut rtable: *mut pg_sys::List = std::ptr::null_mut();
        for (i, &relid) in relids.iter().enumerate() {
            let rel = pg_sys::table_open(relid, pg_sys::RowExclusiveLock as i32);
            let rte = pg_sys::palloc0(std::mem::size_of::<pg_sys::RangeTblEntry>()).cast::<pg_sys::RangeTblEntry>();
            (*rte).type_ = pg_sys::NodeTag::T_RangeTblEntry;
            (*rte).rtekind = pg_sys::RTEKind::RTE_RELATION;
            (*rte).relid = relid;
            (*rte).relkind = (*(*rel).rd_rel).relkind;
            (*rte).rellockmode = pg_sys::RowExclusiveLock as i32;
            rtable = pg_sys::lappend(rtable, rte.cast());
            rels[i] = rel;
        }
        version::init_range_table(estate, rtable);
        (*estate).es_output_cid = pg_sys::GetCurrentCommandId(true);
        if pg_sys::ActiveSnapshotSet() {
            (*estate).es_snapshot = pg_sys::GetActiveSnapshot();
        }
        for i in 0..relids.len() {
            refuse_transition_tables(rels[i]);
            let rri = pg_sys::palloc0(std::mem::size_of::<pg_sys::ResultRelInfo>()).cast::<pg_sys::ResultRelInfo>();
            (*rri).type_ = pg_sys::NodeTag::T_ResultRelInfo;
            pg_sys::InitResultRelInfo(rri, rels[i], (i + 1) as pg_sys::Index, std::ptr::null_mut(), 0);
            pg_sys::ExecOpenIndices(rri, false);
            (*estate).es_opened_result_relations = pg_sys::lappend((*estate).es_opened_result_relations, rri.cast());
            rris[i] = rri;
        }
        pg_sys::MemoryContextSwitchTo(caller_context);
        pg_sys::AfterTriggerBeginQuery();
        estate
    }
}

/// Refuses to write a table that has a row-level trigger with a transition table (`REFERENCING
/// NEW TABLE AS ...`). Rows written here are written one at a time without a statement, as
/// logical replication's apply does (`ExecSimpleRelationInsert`), which collects no transition
/// table: such a trigger would fail with "relation ... does not exist" halfway through a
/// recording or an erasure. Refused before anything is written, naming the trigger.
///
/// # Safety
/// `rel` is open; guarded code (raises).
unsafe fn refuse_transition_tables(rel: pg_sys::Relation) {
    // SAFETY: the relcache entry's trigger descriptor, read while the relation is open.
    unsafe {
        let triggers = (*rel).trigdesc;
        if triggers.is_null() {
            return;
        }
        let td = &*triggers;
        if !(td.trig_insert_new_table || td.trig_update_old_table || td.trig_update_new_table || td.trig_delete_old_table) {
            return;
        }
        for k in 0..td.numtriggers as usize {
            let trigger = &*td.triggers.add(k);
            let for_row = trigger.tgtype as u32 & pg_sys::TRIGGER_TYPE_ROW != 0;
            if for_row && (!trigger.tgnewtable.is_null() || !trigger.tgoldtable.is_null()) {
                let name = std::ffi::CStr::from_ptr(trigger.tgname).to_string_lossy();
                super::errors::raise(
                    pg_sys::errcodes::PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                    format!(
                        "trigger \"{name}\" on {} uses a transition table, which pg_privacy's single-row writes do not collect",
                        super::catalog::relation_name((*rel).rd_id)
                    ),
                    "A row-level trigger here sees the row as NEW: drop its REFERENCING clause, or make it a trigger without one.",
                );
            }
        }
    }
}

/// Releases what [`open_for_writes`] took; the relations' locks are kept to the transaction's end.
///
/// # Safety
/// `estate` and `rels` (null entries skipped) are what `open_for_writes` returned, released once;
/// guarded code.
pub unsafe fn close_writes(estate: *mut pg_sys::EState, rels: &[pg_sys::Relation]) {
    // SAFETY: see the function's contract.
    unsafe {
        pg_sys::ExecCloseResultRelations(estate);
        pg_sys::ExecResetTupleTable((*estate).es_tupleTable, false);
        pg_sys::FreeExecutorState(estate);
        for &rel in rels {
            if !rel.is_null() {
                pg_sys::table_close(rel, pg_sys::NoLock as i32);
            }
        }
    }
}

/// Whether an insert stored the slot's row (the table gave it a tuple id): a BEFORE trigger may
/// have skipped it.
pub fn was_stored(slot: *mut pg_sys::TupleTableSlot) -> bool {
    // SAFETY: a slot an insert was given, read after it; a block number and offset of 0 is
    // ItemPointerIsValid's "invalid".
    unsafe { (*slot).tts_tid.ip_posid != 0 }
}

/// Hands `visit` the rows of the open `heap` whose `index`'s first column equals `value` (compared
/// by the function `eq_proc`, with the index column's collation), in `direction`, under
/// `snapshot`, each in a slot of the table's shape that lives for the scan, until it returns false.
///
/// # Safety
/// `heap` is open; `value` is of the column's type; guarded code (the index is opened with the
/// lock a SELECT takes, kept to the transaction's end).
pub unsafe fn for_each_equal(
    heap: pg_sys::Relation,
    index: pg_sys::Oid,
    eq_proc: u32,
    value: pg_sys::Datum,
    snapshot: pg_sys::Snapshot,
    direction: pg_sys::ScanDirection::Type,
    mut visit: impl FnMut(*mut pg_sys::TupleTableSlot) -> bool,
) {
    // SAFETY: see the function's contract; the scan is ended before returning.
    unsafe {
        let index = pg_sys::index_open(index, pg_sys::AccessShareLock as i32);
        let mut key: pg_sys::ScanKeyData = std::mem::zeroed();
        pg_sys::ScanKeyEntryInitialize(
            &mut key,
            0,
            1,
            pg_sys::BTEqualStrategyNumber as u16,
            pg_sys::InvalidOid,
            *(*index).rd_indcollation,
            pg_sys::Oid::from(eq_proc),
            value,
        );
        let scan = version::index_beginscan(heap, index, snapshot, 1);
        pg_sys::index_rescan(scan, &mut key, 1, std::ptr::null_mut(), 0);
        let slot = pg_sys::table_slot_create(heap, std::ptr::null_mut());
        while pg_sys::index_getnext_slot(scan, direction, slot) && visit(slot) {}
        pg_sys::ExecDropSingleTupleTableSlot(slot);
        pg_sys::index_endscan(scan);
        pg_sys::index_close(index, pg_sys::NoLock as i32);
    }
}
