//! The erasure receipt (`privacy.erasure_receipt`), written with PostgreSQL's single-row insert
//! (`crate::pg::rows`) instead of an INSERT statement, and returned as a `jsonb` built in place
//! (`crate::pg::jsonb`).
//!
//! **Why not a statement.** The INSERT's executor start-up, its RETURNING projection (a
//! `jsonb_build_object`), its EXISTS sub-plan and the CHECK constraint PostgreSQL read back from
//! the catalog's text at every start-up cost about as much as all the DELETEs of a three-table
//! erasure (docs/BENCHMARKS.md, "Data-subject rights"). The routines apply what an INSERT applies
//! to the row: NOT NULL, the primary key, and any row trigger a DBA adds (run as the table's
//! owner, as the statement was); column defaults are not applied, so every column the extension
//! defines is filled here (a column a DBA adds gets NULL unless a BEFORE trigger fills it). No
//! privilege is checked: `erase_subject`'s admin check is the gate, as the owner's rights were.
//!
//! The frame that calls the unguarded routines holds only the raw values of [`Receipt`]; the
//! functions here are guarded helpers that return before those calls.

use std::ffi::CStr;

use pgrx::pg_sys;
use pgrx::prelude::*;

use std::rc::Rc;

use crate::pg::cache::{watch_relation, Cached, CachedMap, Class};
use crate::pg::catalog;
use crate::pg::errors::raise;
use crate::pg::jsonb::Json;
use crate::pg::rows;

/// The receipt table's columns this module writes, 1-based, in this order.
const COLUMNS: [&CStr; 8] = [c"receipt_id", c"subject_key", c"mode", c"reason", c"tables", c"started_at", c"finished_at", c"erased_by"];
const RECEIPT_ID: usize = 0;
const SUBJECT_KEY: usize = 1;
const MODE: usize = 2;
const REASON: usize = 3;
const TABLES: usize = 4;
const STARTED_AT: usize = 5;
const FINISHED_AT: usize = 6;

/// The extension's objects a receipt involves, found once per cache generation.
#[derive(Clone, Copy)]
struct Targets {
    table: pg_sys::Oid,
    sequence: pg_sys::Oid,
    /// The owner of the receipt table: the role the extension's SECURITY DEFINER functions run as.
    owner: pg_sys::Oid,
    columns: [i16; 8],
    /// The consent history and its (subject_key, event_id) index, to tell whether the subject has
    /// consent records left to erase, and its `subject` column.
    events: pg_sys::Oid,
    events_key_index: pg_sys::Oid,
    events_subject: i16,
}

backend_local! {
    static TARGETS: Cached<Option<Targets>> = const { Cached::new(Class::Relations) };
    /// Each subject table's name as the receipt shows it (`regclass` output; a rename is a
    /// relcache invalidation).
    static NAMES: CachedMap<pg_sys::Oid, Rc<str>> = CachedMap::new(Class::Relations);
}

/// The tables an erasure acted on: `count` tables deleted from (`relids`, `rows`: palloc'd
/// arrays), or, for the anonymize mode, the list `privacy.anonymize_subject_rows` returned
/// (`walked`, a jsonb; `count` is 0).
#[repr(C)]
pub struct Tables {
    pub relids: *const pg_sys::Oid,
    pub rows: *const i64,
    pub count: usize,
    pub walked: pg_sys::Datum,
}

/// `[{"table", "action": "deleted", "rows"}]` for the tables deleted from, in order.
///
/// # Safety
/// `tables` as [`Tables`] says; `names` holds its tables' names (kept alive by the caller).
unsafe fn deleted_list<'a>(tables: &Tables, names: &'a [Rc<str>]) -> Json<'a> {
    // SAFETY: see the function's contract.
    let rows = unsafe { std::slice::from_raw_parts(tables.rows, tables.count) };
    Json::Array(
        names
            .iter()
            .zip(rows)
            .map(|(name, &rows)| Json::Object(vec![("table", Json::str(name)), ("action", Json::str("deleted")), ("rows", Json::Int(rows))]))
            .collect(),
    )
}

/// The names of the tables deleted from.
///
/// # Safety
/// `tables` as [`Tables`] says.
unsafe fn deleted_names(tables: &Tables) -> Vec<Rc<str>> {
    // SAFETY: see the function's contract.
    let relids = unsafe { std::slice::from_raw_parts(tables.relids, tables.count) };
    relids.iter().map(|&relid| NAMES.with(|c| c.get(relid, |relid| Rc::from(super::plans::regclass_text(relid).as_str())))).collect()
}

fn find_targets() -> Option<Targets> {
    let nsp = catalog::extension_schema()?;
    let table = catalog::extension_table(c"erasure_receipt")?;
    let events = catalog::extension_table(c"consent_event")?;
    // SAFETY: catalog lookups by name in the extension's schema, InvalidOid when missing.
    let (sequence, events_key_index) = unsafe {
        (
            pg_sys::get_relname_relid(c"erasure_receipt_receipt_id_seq".as_ptr(), nsp),
            pg_sys::get_relname_relid(c"consent_event_key".as_ptr(), nsp),
        )
    };
    // dropping or changing them (an update, an owner change) finds them again
    watch_relation(table, Class::Relations);
    watch_relation(events, Class::Relations);
    let mut columns = [0i16; 8];
    for (slot, name) in columns.iter_mut().zip(COLUMNS) {
        *slot = catalog::attnum(table, name);
    }
    let t = Targets {
        table,
        sequence,
        owner: catalog::relation_owner(table),
        columns,
        events,
        events_key_index,
        events_subject: catalog::attnum(events, c"subject"),
    };
    let found = sequence != pg_sys::InvalidOid && events_key_index != pg_sys::InvalidOid && t.owner != pg_sys::InvalidOid;
    (found && t.events_subject > 0 && columns.iter().all(|&a| a > 0)).then_some(t)
}

/// A receipt being written. Only raw values: it lives in the frame that calls PostgreSQL's
/// routines unguarded.
#[repr(C)]
pub struct Receipt {
    pub estate: *mut pg_sys::EState,
    pub rri: *mut pg_sys::ResultRelInfo,
    pub slot: *mut pg_sys::TupleTableSlot,
    /// The receipt id's sequence, and the role the row is written as.
    pub sequence: pg_sys::Oid,
    pub owner: pg_sys::Oid,
    rel: pg_sys::Relation,
    t: Targets,
    tables: *const Tables,
    /// The `tables` value written (the list built from `tables`, or its `walked` list).
    tables_written: pg_sys::Datum,
}

impl Receipt {
    pub fn empty() -> Receipt {
        Receipt {
            estate: std::ptr::null_mut(),
            rri: std::ptr::null_mut(),
            slot: std::ptr::null_mut(),
            sequence: pg_sys::InvalidOid,
            owner: pg_sys::InvalidOid,
            rel: std::ptr::null_mut(),
            tables: std::ptr::null(),
            tables_written: pg_sys::Datum::from(0),
            t: Targets {
                table: pg_sys::InvalidOid,
                sequence: pg_sys::InvalidOid,
                owner: pg_sys::InvalidOid,
                columns: [0; 8],
                events: pg_sys::InvalidOid,
                events_key_index: pg_sys::InvalidOid,
                events_subject: 0,
            },
        }
    }

    /// Gives the row its id (from [`Receipt::sequence`], taken unguarded by the caller).
    ///
    /// # Safety
    /// After [`open`]: the slot is virtual and holds the row.
    pub unsafe fn number(&mut self, id: i64) {
        let i = (self.t.columns[RECEIPT_ID] - 1) as usize;
        // SAFETY: see the function's contract; i is within the slot's columns (find_targets).
        unsafe {
            *(*self.slot).tts_values.add(i) = pg_sys::Datum::from(id);
            *(*self.slot).tts_isnull.add(i) = false;
        }
    }
}

/// Opens the receipt table for one insert and fills the row, all but its id: the subject by its
/// keyed pseudonym (`subject_key`, a bytea: `privacy.ledger_subject_key` of the id, never the id), the mode, the reason, the tables acted on (`jsonb`), when the
/// erasure started and now, and the login role.
#[pg_guard]
pub unsafe extern "C-unwind" fn open(
    subject_key: pg_sys::Datum,
    mode: pg_sys::Datum,
    reason: pg_sys::Datum,
    reason_is_null: bool,
    tables: *const Tables,
    started: pg_sys::Datum,
    out: *mut Receipt,
) {
    let Some(t) = TARGETS.with(|c| *c.get(find_targets)) else {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            "privacy.erasure_receipt does not exist or is incomplete",
            "Run ALTER EXTENSION pg_privacy UPDATE, or reinstall the extension.",
        )
    };
    // SAFETY: the caller's list of tables (see Tables).
    let tables_written = unsafe {
        let list = &*tables;
        if list.count > 0 || list.walked.is_null() {
            let names = deleted_names(list);
            deleted_list(list, &names).to_jsonb()
        } else {
            list.walked
        }
    };
    // SAFETY: out is the caller's; the relation stays open until `close`; the slot's values are
    // palloc'd in the current memory context, which outlives the insert.
    unsafe {
        let out = &mut *out;
        let (mut rels, mut rris) = ([std::ptr::null_mut()], [std::ptr::null_mut()]);
        let estate = rows::open_for_writes(&[t.table], &mut rels, &mut rris);
        let caller_context = pg_sys::MemoryContextSwitchTo((*estate).es_query_cxt);
        let slot = pg_sys::ExecInitExtraTupleSlot(estate, (*rels[0]).rd_att, &pg_sys::TTSOpsVirtual);
        pg_sys::MemoryContextSwitchTo(caller_context);
        let natts = (*(*slot).tts_tupleDescriptor).natts as usize;
        for i in 0..natts {
            *(*slot).tts_isnull.add(i) = true;
            *(*slot).tts_values.add(i) = pg_sys::Datum::from(0);
        }
        let erased_by = {
            let name = pg_sys::GetUserNameFromId(crate::pg::ffi::GetSessionUserId(), false);
            pgrx::direct_function_call_as_datum(pg_sys::namein, &[Some(pg_sys::Datum::from(name))])
        };
        let values: [Option<pg_sys::Datum>; 8] = [
            Some(pg_sys::Datum::from(0)), // numbered later
            Some(subject_key),
            Some(mode),
            (!reason_is_null).then_some(reason),
            Some(tables_written),
            Some(started),
            Some(pg_sys::Datum::from(pg_sys::GetCurrentTimestamp())),
            erased_by,
        ];
        for (&att, value) in t.columns.iter().zip(values) {
            let i = (att - 1) as usize;
            *(*slot).tts_isnull.add(i) = value.is_none();
            *(*slot).tts_values.add(i) = value.unwrap_or(pg_sys::Datum::from(0));
        }
        pg_sys::ExecStoreVirtualTuple(slot);
        *out = Receipt { estate, rri: rris[0], slot, sequence: t.sequence, owner: t.owner, rel: rels[0], t, tables, tables_written };
    }
}

/// After the insert: the receipt as `erase_subject` returns it, built from the row as stored (a
/// trigger may have filled it out), and whether the subject has consent records left to erase
/// (events still carrying its id). Releases what `open` took.
#[pg_guard]
pub unsafe extern "C-unwind" fn close(r: *mut Receipt, has_consent: *mut bool) -> pg_sys::Datum {
    // SAFETY: r was filled by `open` and the insert ran; its slot holds the stored row.
    unsafe {
        let r = &mut *r;
        if !rows::was_stored(r.slot) {
            raise(
                PgSqlErrorCode::ERRCODE_TRIGGERED_ACTION_EXCEPTION,
                "a trigger on privacy.erasure_receipt skipped the erasure's receipt",
                "Every erasure is recorded: a BEFORE trigger on privacy.erasure_receipt must not return NULL.",
            )
        }
        let slot = r.slot;
        // (a virtual slot holds every column already; getsomeattrs refuses it)
        let natts = (*(*slot).tts_tupleDescriptor).natts;
        if i32::from((*slot).tts_nvalid) < natts {
            pg_sys::slot_getsomeattrs_int(slot, natts);
        }
        let value = |column: usize| {
            let i = (r.t.columns[column] - 1) as usize;
            (!*(*slot).tts_isnull.add(i)).then(|| *(*slot).tts_values.add(i))
        };
        // The list of tables as built (encoded in one call with the rest), unless the row stored
        // holds another (a trigger changed it) or it came from the anonymize walk.
        let names = if (*r.tables).count > 0 { deleted_names(&*r.tables) } else { Vec::new() };
        let tables = match value(TABLES) {
            // (the insert copied the row into the slot's memory: compared by content)
            Some(stored) if (*r.tables).count > 0 && crate::pg::ffi::datum_image_eq(stored, r.tables_written, false, -1) => {
                deleted_list(&*r.tables, &names)
            }
            Some(stored) => Json::Jsonb(stored),
            None => Json::Null,
        };
        let time = |column| value(column).map_or(Json::Null, |ts| Json::Timestamptz(ts.value() as i64));
        let receipt = Json::Object(vec![
            ("receipt_id", value(RECEIPT_ID).map_or(Json::Null, |id| Json::Int(id.value() as i64))),
            ("mode", Json::text(value(MODE))),
            ("reason", Json::text(value(REASON))),
            ("tables", tables),
            // erase_consent_records' counts replace these when it runs
            ("consent_state_rows", Json::Int(0)),
            ("consent_events_erased", Json::Int(0)),
            ("started_at", time(STARTED_AT)),
            ("finished_at", time(FINISHED_AT)),
        ])
        .to_jsonb();
        *has_consent = value(SUBJECT_KEY).is_some_and(|key| events_with_id(&r.t, key));
        rows::close_writes(r.estate, &[r.rel]);
        receipt
    }
}

/// Whether the subject (by its key) has events in the consent history that still carry its id.
/// Read with the latest snapshot: an event committed since the statement began is erased too.
unsafe fn events_with_id(t: &Targets, key: pg_sys::Datum) -> bool {
    // SAFETY: an index scan under a registered snapshot, ended here; the relations are opened
    // with the lock a SELECT takes, kept to the transaction's end.
    unsafe {
        let heap = pg_sys::table_open(t.events, pg_sys::AccessShareLock as i32);
        let snapshot = pg_sys::RegisterSnapshot(pg_sys::GetLatestSnapshot());
        let subject = t.events_subject as usize;
        let mut found = false;
        rows::for_each_equal(heap, t.events_key_index, pg_sys::F_BYTEAEQ, key, snapshot, pg_sys::ScanDirection::ForwardScanDirection, |slot| {
            pg_sys::slot_getsomeattrs_int(slot, subject as i32);
            found = !*(*slot).tts_isnull.add(subject - 1);
            !found
        });
        pg_sys::UnregisterSnapshot(snapshot);
        pg_sys::table_close(heap, pg_sys::NoLock as i32);
        found
    }
}
