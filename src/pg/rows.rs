//! Writing rows without a statement. PostgreSQL's single-row executor routines
//! (`executor/execReplication.c`, the ones logical replication's apply worker uses:
//! `ExecSimpleRelationInsert` and friends, reached through [`crate::pg::ffi`]) check constraints,
//! insert into every index and fire row triggers and foreign-key checks as an INSERT does, but need
//! an executor state with the tables as result relations. This module makes that state and
//! releases it, as the apply worker's `create_edata_for_relation` does.
//!
//! Used where a statement's planning and executor start-up would be most of the time spent:
//! consent recording (`crate::consent::record`) and the erasure receipt
//! (`crate::rights::receipt`); docs/BENCHMARKS.md has the measurements.

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
