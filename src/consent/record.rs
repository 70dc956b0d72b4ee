//! Recording consent: `privacy.grant_consent` and `privacy.withdraw_consent`, C functions that
//! write the ledger event and the current-state rows without planning or running a statement.
//!
//! **Why not SQL.** A grant writes the event (its hash chained to the subject's previous one) and
//! one current-state row per kept reading of the subject id. As SQL statements (PL/pgSQL, or one
//! data-modifying CTE run from C) most of a grant's time is the executor's start-up of each
//! statement, not the rows (docs/BENCHMARKS.md, "Recording consent"). So the rows are written
//! with PostgreSQL's own single-row routines, the ones logical replication's apply worker uses
//! (`executor/execReplication.c`, set up by `crate::pg::rows`): `ExecSimpleRelationInsert` checks
//! the table's constraints, computes its generated columns, inserts into every index and fires its
//! row-level triggers as an INSERT does (statement-level triggers do not fire, as for logical
//! replication; a BEFORE trigger that changes the row is refused, see [`refuse_changed_event`]; the
//! foreign key to `privacy.purpose` is checked by the recording itself, see [`find_purpose`]);
//! `RelationFindReplTupleByIndex` finds a state row by primary key with
//! a dirty snapshot and locks it, waiting for and retrying after a concurrent writer;
//! `ExecSimpleRelationUpdate` replaces it. No privilege is checked on the tables or the id
//! sequence: the functions' EXECUTE privilege is the gate, as it was for the SECURITY DEFINER SQL
//! they replace. They are not SECURITY DEFINER and set no search_path (each would cost a GUC
//! save and restore per call): they resolve no names (relations by OID in the extension's schema,
//! the triggers' and constraints' stored expressions, the foreign key's schema-qualified query,
//! which PostgreSQL runs as the referenced table's owner). A trigger a DBA adds to the ledger runs
//! as the caller, as for an INSERT.
//!
//! **Chains.** A subject's events are serialized by a transaction-level lock on the subject's
//! key (the lock manager's advisory space, in a class of its own: [`CHAIN_LOCK_CLASS`], so it
//! never meets `pg_advisory_lock` keys; `pg_locks` shows it with that `objsubid`). Holding it, the
//! grant reads the chain's tail (the subject's event with the highest id, through the
//! `consent_event_key` index, with the latest snapshot: a REPEATABLE READ transaction still
//! chains after an event committed after its snapshot), then takes the event's id, so a chain's
//! ids increase with its links. The same lock guards the current-state rows of the subject (every
//! reading of an id canonicalises to the same key), so a state row is written by one recording
//! at a time; the writers that do not take it (`rebuild_consent_state`, a restore) use ON CONFLICT
//! against these inserts, and `rebuild_consent_state` also locks the state tables.
//!
//! **The trigger that keeps the state for other inserts** (`applied`: restores, the 0.1.0
//! update, a superuser's manual INSERT) has `WHEN (NEW.event_id <> privacy.event_being_recorded())`,
//! so it does not repeat the work for the event being recorded here; `chained` only runs for
//! events without a hash.
//!
//! **Errors keep their fields.** A deadlock, a lock timeout, a constraint or a user's trigger on
//! the ledger raise inside PostgreSQL's routines; they are called from a frame that holds only
//! raw values (`crate::pg::ffi`), and every step that needs Rust (checks, hashing, building the
//! rows) runs in a guarded helper that returns before them.

use std::cell::Cell;
use std::ffi::CStr;

use pgrx::pg_sys;
use pgrx::prelude::*;
use privacy_core::ledger::{event_hash, LedgerEvent};
use privacy_core::subject::{parse_bigint, parse_uuid};

use super::registry::{registry, KeyKind};
use crate::pg::cache::{watch_relation, Cached, Class};
use crate::pg::catalog;
use crate::pg::errors::raise;
use crate::pg::ffi;
use crate::pg::rows;
use crate::pg::version;

/// The fourth field of a chain lock's tag. `pg_advisory_lock` and friends use 1 and 2.
pub const CHAIN_LOCK_CLASS: u16 = 0x7072;

/// The longest subject id that can be recorded (bytes): the text reading's state index.
const TEXT_ID_LIMIT: usize = 2000;

/// The state tables in [`KeyKind`] order.
const KINDS: [KeyKind; 4] = [KeyKind::Bigint, KeyKind::Uuid, KeyKind::Text, KeyKind::Pseudonym];

backend_local! {
    static TARGETS: Cached<Option<Targets>> = const { Cached::new(Class::Relations) };
    /// The id of the event `grant_consent`/`withdraw_consent` is inserting (0: none), for the
    /// `applied` trigger's WHEN.
    static BEING_RECORDED: Cell<i64> = const { Cell::new(0) };
    /// The subtransaction that recording runs in: its abort (an error caught by a savepoint or a
    /// PL/pgSQL exception block) ends the recording.
    static RECORDING_SUBXACT: Cell<pg_sys::SubTransactionId> = const { Cell::new(0) };
}

/// The extension's objects a recording writes, found once per cache generation.
#[derive(Clone, Copy)]
struct Targets {
    event: pg_sys::Oid,
    event_key_index: pg_sys::Oid,
    sequence: pg_sys::Oid,
    /// consent_event's columns, 1-based.
    event_id: i16,
    subject: i16,
    purpose: i16,
    state: i16,
    valid_until: i16,
    recorded_at: i16,
    recorded_by: i16,
    source: i16,
    subject_key: i16,
    prev_hash: i16,
    hash: i16,
    /// The state tables in [`KINDS`] order, and their columns (purpose, subject, active_until,
    /// event_id), the same in each.
    states: [pg_sys::Oid; 4],
    state_cols: [i16; 4],
    /// The ledger's own `chained` and `applied` triggers and the insert check of its foreign key
    /// to `privacy.purpose` (InvalidOid where missing), left out of the recordings' trigger lists:
    /// see [`without_own_triggers`] and [`find_purpose`].
    own_triggers: [pg_sys::Oid; 3],
    /// `privacy.purpose`, its primary key (on `name`) and that column.
    purpose_table: pg_sys::Oid,
    purpose_key_index: pg_sys::Oid,
    purpose_name: i16,
}

fn find_targets() -> Option<Targets> {
    let event = catalog::extension_table(c"consent_event")?;
    let purpose_table = catalog::extension_table(c"purpose")?;
    let nsp = catalog::extension_schema()?;
    // SAFETY: catalog lookups returning InvalidOid when missing.
    let (event_key_index, sequence, purpose_key_index) = unsafe {
        (
            pg_sys::get_relname_relid(c"consent_event_key".as_ptr(), nsp),
            pg_sys::get_relname_relid(c"consent_event_event_id_seq".as_ptr(), nsp),
            pg_sys::get_relname_relid(c"purpose_pkey".as_ptr(), nsp),
        )
    };
    if event_key_index == pg_sys::InvalidOid || sequence == pg_sys::InvalidOid || purpose_key_index == pg_sys::InvalidOid {
        return None;
    }
    let mut states = [pg_sys::InvalidOid; 4];
    for (slot, kind) in states.iter_mut().zip(KINDS) {
        *slot = catalog::extension_table(kind.state_table())?;
    }
    let col = |name: &CStr| catalog::attnum(event, name);
    let state_col = |name: &CStr| catalog::attnum(states[0], name);
    let t = Targets {
        event,
        event_key_index,
        sequence,
        event_id: col(c"event_id"),
        subject: col(c"subject"),
        purpose: col(c"purpose"),
        state: col(c"state"),
        valid_until: col(c"valid_until"),
        recorded_at: col(c"recorded_at"),
        recorded_by: col(c"recorded_by"),
        source: col(c"source"),
        subject_key: col(c"subject_key"),
        prev_hash: col(c"prev_hash"),
        hash: col(c"hash"),
        states,
        state_cols: [state_col(c"purpose"), state_col(c"subject"), state_col(c"active_until"), state_col(c"event_id")],
        own_triggers: own_ledger_triggers(event, nsp, purpose_table),
        purpose_table,
        purpose_key_index,
        purpose_name: catalog::attnum(purpose_table, c"name"),
    };
    // dropping or changing one of them (DROP EXTENSION, an update) finds them again
    for relid in [event, purpose_table].into_iter().chain(states) {
        watch_relation(relid, Class::Relations);
    }
    let all = [t.event_id, t.subject, t.purpose, t.state, t.valid_until, t.recorded_at, t.recorded_by, t.source, t.subject_key, t.prev_hash, t.hash];
    (all.iter().chain(t.state_cols.iter()).all(|&a| a > 0) && t.purpose_name > 0).then_some(t)
}

/// The ledger's `chained` and `applied` triggers: by name, calling the extension's own function
/// of that name (a trigger a DBA names alike on the ledger is not one of them); and the insert
/// check of its foreign key `consent_event_purpose_fkey` to `privacy.purpose` (PostgreSQL's
/// internal trigger of that constraint).
fn own_ledger_triggers(event: pg_sys::Oid, nsp: pg_sys::Oid, purpose_table: pg_sys::Oid) -> [pg_sys::Oid; 3] {
    let mut out = [pg_sys::InvalidOid; 3];
    // SAFETY: the relcache entry is held open while its trigger descriptor is read; the function
    // lookups return NULL/InvalidOid for a missing function.
    unsafe {
        let rel = pg_sys::RelationIdGetRelation(event);
        if rel.is_null() {
            return out;
        }
        let td = (*rel).trigdesc;
        for i in 0..if td.is_null() { 0 } else { (*td).numtriggers as usize } {
            let tg = &*(*td).triggers.add(i);
            if tg.tgfoid == pg_sys::Oid::from(pg_sys::F_RI_FKEY_CHECK_INS) && tg.tgconstrrelid == purpose_table && tg.tgisinternal {
                let name = pg_sys::get_constraint_name(tg.tgconstraint);
                if !name.is_null() && CStr::from_ptr(name) == c"consent_event_purpose_fkey" {
                    out[2] = tg.tgoid;
                }
                continue;
            }
            let (at, function) = match CStr::from_ptr(tg.tgname).to_bytes() {
                b"chained" => (0, c"consent_event_chained"),
                b"applied" => (1, c"consent_event_applied"),
                _ => continue,
            };
            let name = pg_sys::get_func_name(tg.tgfoid);
            if !name.is_null() && CStr::from_ptr(name) == function && pg_sys::get_func_namespace(tg.tgfoid) == nsp {
                out[at] = tg.tgoid;
            }
        }
        pg_sys::RelationClose(rel);
    }
    out
}

/// Leaves the ledger's own triggers out of a recording's copy of its trigger list. They exist for
/// events inserted any other way (`chained` hashes an event that has no hash, `applied` writes
/// the state of an event not being recorded here); for a recorded event their WHEN conditions
/// are always false, yet PostgreSQL would read those conditions from the catalog's text for every
/// recording's fresh executor state and evaluate them. The foreign key's insert check is done by
/// [`find_purpose`] instead. Triggers a DBA adds (foreign keys included) stay.
///
/// # Safety
/// `td` is NULL or the ResultRelInfo's own copy of the trigger list (InitResultRelInfo makes
/// one), before any trigger of it ran.
unsafe fn without_own_triggers(td: *mut pg_sys::TriggerDesc, own: [pg_sys::Oid; 3]) {
    if td.is_null() {
        return;
    }
    // SAFETY: see the function's contract; entries are moved within the array, their strings
    // and arrays (allocated apart) stay where they are.
    unsafe {
        let n = (*td).numtriggers as usize;
        let mut kept = 0;
        for i in 0..n {
            let tgoid = (*(*td).triggers.add(i)).tgoid;
            if tgoid != pg_sys::InvalidOid && own.contains(&tgoid) {
                continue;
            }
            if kept != i {
                std::ptr::copy_nonoverlapping((*td).triggers.add(i), (*td).triggers.add(kept), 1);
            }
            kept += 1;
        }
        (*td).numtriggers = kept as i32;
        // Only two of the list's flags can change: ours are a BEFORE and two AFTER row triggers on
        // INSERT (and nothing else).
        let row_insert = |tgtype: u32, before: bool| {
            tgtype & pg_sys::TRIGGER_TYPE_ROW != 0
                && tgtype & pg_sys::TRIGGER_TYPE_INSERT != 0
                && tgtype & pg_sys::TRIGGER_TYPE_INSTEAD == 0
                && (tgtype & pg_sys::TRIGGER_TYPE_BEFORE != 0) == before
        };
        (*td).trig_insert_before_row = false;
        (*td).trig_insert_after_row = false;
        for i in 0..kept {
            let tgtype = (*(*td).triggers.add(i)).tgtype as u16 as u32;
            (*td).trig_insert_before_row |= row_insert(tgtype, true);
            (*td).trig_insert_after_row |= row_insert(tgtype, false);
        }
    }
}

/// One recording in progress. Only raw values: it lives in the frame that calls PostgreSQL's
/// routines unguarded.
struct Recording {
    t: Targets,
    grant: bool,
    subject: pg_sys::Datum,
    purpose: pg_sys::Datum,
    state: pg_sys::Datum,
    valid_until: Option<i64>,
    source: Option<pg_sys::Datum>,
    recorded_at: i64,
    recorded_by: pg_sys::Datum,
    key: pg_sys::Datum,
    lock_key: (u32, u32),
    active_until: i64,
    /// Per state table (KINDS order): the subject's reading, if that table is written.
    readings: [Option<pg_sys::Datum>; 4],
    prev_hash: Option<pg_sys::Datum>,
    event_id: i64,
    estate: *mut pg_sys::EState,
    epq: *mut pg_sys::EPQState,
    /// [event, states...] relations and their result infos (null where not written).
    rels: [pg_sys::Relation; 5],
    rris: [*mut pg_sys::ResultRelInfo; 5],
    event_slot: *mut pg_sys::TupleTableSlot,
    /// The event's columns as sealed (palloc'd copies of the slot's arrays), to see afterwards
    /// whether a BEFORE trigger changed the row.
    sealed_values: *mut pg_sys::Datum,
    sealed_nulls: *mut bool,
    /// Per state table (same positions as `rels`): the key to find its row by, the row found,
    /// the row to write. The tables differ in their subject column's type.
    search_slots: [*mut pg_sys::TupleTableSlot; 5],
    found_slots: [*mut pg_sys::TupleTableSlot; 5],
    new_slots: [*mut pg_sys::TupleTableSlot; 5],
    /// `privacy.purpose` and the foreign key's check (see [`find_purpose`]): the row found, its
    /// address, the snapshot it was found with, how to lock it and the lock's outcome.
    purpose_rel: pg_sys::Relation,
    purpose_found: *mut pg_sys::TupleTableSlot,
    purpose_tid: pg_sys::ItemPointerData,
    purpose_snapshot: pg_sys::Snapshot,
    purpose_cid: pg_sys::CommandId,
    purpose_lock_flags: u8,
    purpose_lock: pg_sys::TM_Result::Type,
    purpose_failure: pg_sys::TM_FailureData,
}

impl Recording {
    fn empty(t: Targets) -> Recording {
        let none = pg_sys::Datum::from(0);
        Recording {
            t,
            grant: true,
            subject: none,
            purpose: none,
            state: none,
            valid_until: None,
            source: None,
            recorded_at: 0,
            recorded_by: none,
            key: none,
            lock_key: (0, 0),
            active_until: 0,
            readings: [None; 4],
            prev_hash: None,
            event_id: 0,
            estate: std::ptr::null_mut(),
            epq: std::ptr::null_mut(),
            rels: [std::ptr::null_mut(); 5],
            rris: [std::ptr::null_mut(); 5],
            event_slot: std::ptr::null_mut(),
            sealed_values: std::ptr::null_mut(),
            sealed_nulls: std::ptr::null_mut(),
            search_slots: [std::ptr::null_mut(); 5],
            found_slots: [std::ptr::null_mut(); 5],
            new_slots: [std::ptr::null_mut(); 5],
            purpose_rel: std::ptr::null_mut(),
            purpose_found: std::ptr::null_mut(),
            purpose_tid: pg_sys::ItemPointerData::default(),
            purpose_snapshot: std::ptr::null_mut(),
            purpose_cid: 0,
            purpose_lock_flags: 0,
            purpose_lock: pg_sys::TM_Result::TM_Invisible,
            // SAFETY: plain data (a tuple id, transaction ids, a flag), written by the lock.
            purpose_failure: unsafe { std::mem::zeroed() },
        }
    }
}

/// `privacy.event_being_recorded()`: the id of the event a grant or withdrawal of this session is
/// inserting right now, else 0. The `applied` trigger's WHEN compares with it.
#[pg_extern(volatile, parallel_unsafe)]
pub fn event_being_recorded() -> i64 {
    BEING_RECORDED.with(|b| b.get())
}

/// At the end of every transaction (from `hooks::xact_callback`): an error between setting and
/// clearing the id leaves it set; clear it, so that the next recording is not taken for a nested
/// one.
#[inline]
pub fn on_xact() {
    BEING_RECORDED.with(|b| {
        if b.get() != 0 {
            b.set(0)
        }
    });
}

/// An aborted subtransaction ends a recording that ran in it or below it (subtransaction ids
/// grow: one started after the recording began, by a trigger it fired, has a larger id and its
/// abort leaves the recording running).
#[pg_guard]
unsafe extern "C-unwind" fn on_subxact(
    event: pg_sys::SubXactEvent::Type,
    my_subid: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    if event == pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB && BEING_RECORDED.with(|b| b.get()) != 0 && RECORDING_SUBXACT.with(|s| s.get()) >= my_subid {
        BEING_RECORDED.with(|b| b.set(0));
    }
}

pub fn init() {
    // SAFETY: registering a subtransaction callback during library load; the function has the
    // signature PostgreSQL expects and lives as long as the library.
    unsafe { pg_sys::RegisterSubXactCallback(Some(on_subxact), std::ptr::null_mut()) };
}

/// Refuses to record an event (or chain one inserted by hand) while this session is inserting
/// another: a BEFORE trigger or a CHECK constraint of the ledger calling grant_consent, or
/// inserting into the ledger, would read the chain's tail before the outer event is stored and
/// fork the chain (two events following one), or write a state row the outer recording is about
/// to write. From an AFTER trigger it works: the outer event is stored by then.
fn refuse_nested(what: &str) {
    if BEING_RECORDED.with(|b| b.get()) != 0 {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("cannot {what} while another consent event is being recorded"),
            "A BEFORE trigger or a CHECK constraint of privacy.consent_event cannot record consent; use an AFTER trigger.",
        )
    }
}

fmgr_v1!(pg_finfo_grant_consent, pg_finfo_withdraw_consent, pg_finfo_ledger_lock);

/// `privacy.grant_consent(subject text, purpose text, expires_at timestamptz, source text)
/// RETURNS bigint`: records a grant; returns the event's id.
///
/// # Safety
/// Called by PostgreSQL's fmgr as declared in the extension's SQL (four arguments, not STRICT).
#[no_mangle]
pub unsafe extern "C-unwind" fn grant_consent(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: forwarded; argument 2 is expires_at, 3 the source.
    unsafe { record(fcinfo, true, Some(2), 3) }
}

/// `privacy.withdraw_consent(subject text, purpose text, source text) RETURNS bigint`.
///
/// # Safety
/// Called by PostgreSQL's fmgr as declared in the extension's SQL (three arguments, not STRICT).
#[no_mangle]
pub unsafe extern "C-unwind" fn withdraw_consent(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: forwarded; argument 2 is the source.
    unsafe { record(fcinfo, false, None, 2) }
}

/// The recording itself. This frame holds only raw values: the calls into `ffi` may raise, and
/// the error then unwinds to PostgreSQL's handler, whose abort processing releases the locks,
/// relations, snapshots, slots and memory taken here.
#[inline(always)]
unsafe fn record(fcinfo: pg_sys::FunctionCallInfo, grant: bool, expires_arg: Option<usize>, source_arg: usize) -> pg_sys::Datum {
    // SAFETY: each helper is guarded and leaves `r` consistent; the unguarded calls get the
    // pointers those helpers made, valid until `finish`.
    unsafe {
        let mut r = std::mem::MaybeUninit::<Recording>::uninit();
        prepare(fcinfo, grant, expires_arg.map_or(-1, |a| a as i32), source_arg as i32, r.as_mut_ptr());
        let mut r = r.assume_init();
        let tag = chain_lock_tag(r.lock_key);
        ffi::LockAcquire(&tag, pg_sys::ExclusiveLock as i32, false, false);
        open(&mut r);
        read_tail(&mut r);
        // after the lock: a chain's ids increase
        r.event_id = ffi::nextval_internal(r.t.sequence, false);
        seal(&mut r);
        // marked while the event is inserted: its BEFORE triggers and constraints cannot record
        // consent (refuse_nested); an error here is cleared by on_subxact or on_xact
        BEING_RECORDED.with(|b| b.set(r.event_id));
        RECORDING_SUBXACT.with(|s| s.set(pg_sys::GetCurrentSubTransactionId()));
        ffi::ExecSimpleRelationInsert(r.rris[0], r.estate, r.event_slot);
        BEING_RECORDED.with(|b| b.set(0));
        // a BEFORE trigger a DBA added may have skipped the event: then there is no state to write
        let inserted = rows::was_stored(r.event_slot);
        if inserted {
            refuse_changed_event(&r);
            // the foreign key's check, where PostgreSQL's trigger would make it: after the row
            // and every BEFORE trigger (see find_purpose)
            if find_purpose(&mut r) {
                if let Some(lock) = (*(*r.purpose_rel).rd_tableam).tuple_lock {
                    r.purpose_lock = lock(
                        r.purpose_rel,
                        &mut r.purpose_tid,
                        r.purpose_snapshot,
                        r.purpose_found,
                        r.purpose_cid,
                        pg_sys::LockTupleMode::LockTupleKeyShare,
                        pg_sys::LockWaitPolicy::LockWaitBlock,
                        r.purpose_lock_flags,
                        &mut r.purpose_failure,
                    );
                }
            }
            purpose_locked(&mut r);
        }
        for k in 0..KINDS.len() {
            if r.readings[k].is_none() || !inserted {
                continue;
            }
            let p = k + 1;
            state_slots(&r, p);
            let (rel, found, new) = (r.rels[p], r.found_slots[p], r.new_slots[p]);
            // Always looked for, a subject's first event too: a state row can exist without an
            // event under the subject's current key (events restored into a database with
            // another key, a restore inserting the subject's event right now, a DBA's trigger
            // on a plain insert), and must be replaced, not collided with.
            if ffi::RelationFindReplTupleByIndex(rel, state_index(rel), pg_sys::LockTupleMode::LockTupleExclusive, r.search_slots[p], found) {
                if found_is_older(&r, found) {
                    (*r.epq).origslot = new;
                    ffi::ExecSimpleRelationUpdate(r.rris[p], r.estate, r.epq, found, new);
                }
            } else {
                ffi::ExecSimpleRelationInsert(r.rris[p], r.estate, new);
            }
        }
        // any AFTER trigger a DBA added (a foreign key of theirs included) fires here, as after an
        // INSERT
        ffi::AfterTriggerEndQuery(r.estate);
        finish(&mut r);
        if !inserted {
            (*fcinfo).isnull = true;
        }
        pg_sys::Datum::from(r.event_id)
    }
}

/// Refuses an event a BEFORE trigger on the ledger changed. The hash was computed over the row as
/// sealed, and the current-state rows are written from the same values: a changed row would
/// break its chain (`verify_ledger` would report it as tampered with) and leave the consent
/// filters reading values the ledger does not hold. A trigger may still skip an event (RETURN
/// NULL); what is recorded is changed through the functions' arguments or the purpose's
/// retention.
#[pg_guard]
unsafe extern "C-unwind" fn refuse_changed_event(r: &Recording) {
    // SAFETY: the event slot after ExecSimpleRelationInsert holds the row as stored (a trigger's
    // new row is stored into it, generated columns computed in it); sealed_* are seal's copies of
    // the same slot's arrays, natts long.
    unsafe {
        let slot = r.event_slot;
        let desc = (*slot).tts_tupleDescriptor;
        let natts = (*desc).natts as usize;
        // (slot_getsomeattrs: a virtual slot already holds every column)
        if ((*slot).tts_nvalid as usize) < natts {
            pg_sys::slot_getsomeattrs_int(slot, natts as i32);
        }
        // the columns the recording writes (and the hash covers); a trigger may fill columns a
        // DBA added to the ledger
        let t = r.t;
        let written = [t.event_id, t.subject, t.purpose, t.state, t.valid_until, t.recorded_at, t.recorded_by, t.source, t.subject_key, t.prev_hash, t.hash];
        for attno in written {
            let i = (attno - 1) as usize;
            if i >= natts {
                continue;
            }
            let att = version::tuple_desc_attr(desc, i);
            let (was_null, is_null) = (*r.sealed_nulls.add(i), *(*slot).tts_isnull.add(i));
            let same = match (was_null, is_null) {
                (true, true) => true,
                (false, false) => {
                    ffi::datum_image_eq(*r.sealed_values.add(i), *(*slot).tts_values.add(i), (*att).attbyval, (*att).attlen as i32)
                }
                _ => false,
            };
            if !same {
                let column = CStr::from_ptr((*att).attname.data.as_ptr()).to_string_lossy().into_owned();
                raise(
                    PgSqlErrorCode::ERRCODE_TRIGGERED_DATA_CHANGE_VIOLATION,
                    format!("a trigger on privacy.consent_event changed column \"{column}\" of the event being recorded"),
                    "Consent events are hash-chained as recorded, and the consent filters read the same values: a BEFORE \
                     trigger on the ledger may skip an event (RETURN NULL) but not change it. Record what should hold \
                     through grant_consent's arguments, or bound it with the purpose's retention.",
                );
            }
        }
    }
}

fn chain_lock_tag(key: (u32, u32)) -> pg_sys::LOCKTAG {
    pg_sys::LOCKTAG {
        // SAFETY: reading a backend global set at connection.
        locktag_field1: unsafe { pg_sys::MyDatabaseId }.to_u32(),
        locktag_field2: key.0,
        locktag_field3: key.1,
        locktag_field4: CHAIN_LOCK_CLASS,
        locktag_type: pg_sys::LockTagType::LOCKTAG_ADVISORY as u8,
        locktag_lockmethodid: pg_sys::USER_LOCKMETHOD as u8,
    }
}

/// The first eight bytes of a subject key, as the lock's two fields.
fn lock_key_of(key: &[u8]) -> (u32, u32) {
    let word = |i: usize| u32::from_be_bytes([key[i], key[i + 1], key[i + 2], key[i + 3]]);
    if key.len() >= 8 { (word(0), word(4)) } else { (0, 0) }
}

fn text_arg(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> Option<String> {
    // SAFETY: fmgr's argument n, declared text in the SQL; NULL checked first.
    unsafe {
        if pgrx::pg_arg_is_null(fcinfo, n) {
            return None;
        }
        let datum = pgrx::pg_getarg_datum_raw(fcinfo, n);
        String::from_datum(datum, false)
    }
}

/// An id as messages show it, quoted: whole up to 64 characters, else its start and its length (an
/// id of a megabyte would otherwise fill the message and the server log).
fn shown_id(id: &str) -> String {
    const SHOWN: usize = 64;
    match id.char_indices().nth(SHOWN) {
        None => format!("\"{id}\""),
        Some((end, _)) => format!("\"{}...\" ({} characters)", &id[..end], id.chars().count()),
    }
}

fn text_datum(s: &str) -> pg_sys::Datum {
    s.into_datum().unwrap_or(pg_sys::Datum::from(0))
}

/// Checks the arguments as the SQL version did (same errors, same order) and computes everything
/// that does not depend on the chain's tail.
#[pg_guard]
unsafe extern "C-unwind" fn prepare(fcinfo: pg_sys::FunctionCallInfo, grant: bool, expires_arg: i32, source_arg: i32, out: *mut Recording) {
    // the rows are written without an INSERT statement, whose executor would refuse this
    // SAFETY: raises in a read-only transaction (or on a standby), as an INSERT would.
    unsafe { pg_sys::PreventCommandIfReadOnly(if grant { c"grant_consent()" } else { c"withdraw_consent()" }.as_ptr()) };
    refuse_nested(if grant { "grant consent" } else { "withdraw consent" });
    let subject = text_arg(fcinfo, 0);
    let purpose = text_arg(fcinfo, 1);
    let (Some(subject), Some(purpose)) = (subject, purpose) else {
        raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "subject and purpose are required",
            "Pass the data subject's id and a purpose name.",
        )
    };
    let Some(t) = TARGETS.with(|c| *c.get(find_targets)) else {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "the consent registry of pg_privacy is missing or incomplete in this database",
            "Install the extension with CREATE EXTENSION pg_privacy, or update it with ALTER EXTENSION pg_privacy UPDATE.",
        )
    };
    let reg = registry();
    let Some(details) = reg.purpose_details.iter().find(|(name, _)| *name == purpose).map(|(_, d)| d) else {
        raise(PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, format!("purpose \"{purpose}\" does not exist"), "See SELECT * FROM privacy.purposes.")
    };
    let kinds = &reg.kinds;
    let syntax = crate::pg::version::INTEGER_SYNTAX;
    let bigint = parse_bigint(&subject, syntax);
    let uuid = parse_uuid(&subject);
    let uses = |k: KeyKind| kinds.contains(&k);
    // some subject column must be able to hold the id (any id fits a text or pseudonym column)
    let readable = kinds.is_empty()
        || uses(KeyKind::Text)
        || uses(KeyKind::Pseudonym)
        || (uses(KeyKind::Bigint) && bigint.is_some())
        || (uses(KeyKind::Uuid) && uuid.is_some());
    if !readable {
        let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
            format!("subject id {} cannot be read as any subject column's type ({})", shown_id(&subject), names.join(", ")),
            "Subject ids are the values the subject columns hold: see privacy.subject_tables.",
        )
    }
    // The text reading's state row is found through an index, whose entries cannot be much
    // larger than 2.7 kB: refuse a longer id clearly, before anything is written. Whatever the
    // readings in use now: declaring a text subject column later fills that index from the
    // history (rebuild_consent_state), and one such id in it would make that fail.
    if subject.len() > TEXT_ID_LIMIT {
        raise(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!("subject id {} is too long to record consent for: {} bytes, at most {TEXT_ID_LIMIT}", shown_id(&subject), subject.len()),
            "A text subject column's consent state is kept in an index (privacy.consent_text), which cannot hold longer ids.",
        )
    }
    // SAFETY: fmgr's argument, declared timestamptz; NULL checked first.
    let valid_until = (expires_arg >= 0 && !unsafe { pgrx::pg_arg_is_null(fcinfo, expires_arg as usize) })
        .then(|| unsafe { pgrx::pg_getarg_datum_raw(fcinfo, expires_arg as usize) }.value() as i64);
    // SAFETY: reads of the transaction's start time and the clock.
    let (now, recorded_at) = unsafe { (pg_sys::GetCurrentTransactionStartTimestamp(), pg_sys::GetCurrentTimestamp()) };
    if grant && valid_until.is_some_and(|v| v <= now) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "consent would expire before it is recorded",
            "Pass a future expires_at, or none.",
        )
    }
    let key = super::ledger::subject_key(&subject);
    // Until when the event keeps consent active: never once withdrawn; else until its own expiry
    // and its purpose's retention after it was recorded, whichever comes first (as
    // privacy.consent_until, which the `applied` trigger uses).
    let active_until = if !grant {
        i64::MIN // -infinity
    } else {
        let mut until = valid_until.unwrap_or(i64::MAX); // infinity
        if let Some(retention) = details.retention {
            // SAFETY: timestamptz + interval through PostgreSQL's own operator function.
            let lapse = unsafe {
                pgrx::direct_function_call::<pgrx::datum::TimestampWithTimeZone>(
                    pg_sys::timestamptz_pl_interval,
                    &[Some(pg_sys::Datum::from(recorded_at)), retention.into_datum()],
                )
            }
            .map_or(i64::MAX, pg_sys::TimestampTz::from);
            until = until.min(lapse);
        }
        until
    };
    let readings = [
        bigint.filter(|_| uses(KeyKind::Bigint)).map(pg_sys::Datum::from),
        uuid.filter(|_| uses(KeyKind::Uuid)).and_then(|u| pgrx::Uuid::from_bytes(u).into_datum()),
        uses(KeyKind::Text).then(|| text_datum(&subject)),
        uses(KeyKind::Pseudonym).then(|| key.as_slice().into_datum()).flatten(),
    ];
    // SAFETY: the login role's name (it exists while the session does).
    let recorded_by = unsafe {
        let name = pg_sys::GetUserNameFromId(ffi::GetSessionUserId(), false);
        pgrx::direct_function_call_as_datum(pg_sys::namein, &[Some(pg_sys::Datum::from(name))]).unwrap_or(pg_sys::Datum::from(0))
    };
    let source = if source_arg >= 0 { text_arg(fcinfo, source_arg as usize).map(|s| text_datum(&s)) } else { None };
    // Events this command already wrote (an earlier call in the same statement) must be
    // visible to the tail's read and the state rows' update.
    // SAFETY: what SPI does before each statement of a volatile function.
    unsafe { pg_sys::CommandCounterIncrement() };
    let r = Recording {
        t,
        grant,
        subject: text_datum(&subject),
        purpose: text_datum(&purpose),
        state: text_datum(if grant { "granted" } else { "withdrawn" }),
        valid_until,
        source,
        recorded_at,
        recorded_by,
        lock_key: lock_key_of(&key),
        key: key.as_slice().into_datum().unwrap_or(pg_sys::Datum::from(0)),
        active_until,
        readings,
        ..Recording::empty(t)
    };
    // SAFETY: out points to the caller's Recording.
    unsafe { out.write(r) };
}

/// Opens the ledger and the state tables written, with an executor state for them
/// (`crate::pg::rows`), and the slots the recording fills.
#[pg_guard]
unsafe extern "C-unwind" fn open(r: &mut Recording) {
    // position 0: the ledger; k + 1: the state table of KINDS[k], if written
    let mut at = [0usize; 5];
    let mut n = 1;
    for k in (0..KINDS.len()).filter(|&k| r.readings[k].is_some()) {
        at[n] = k + 1;
        n += 1;
    }
    let at = &at[..n];
    let mut relids = [pg_sys::InvalidOid; 5];
    for (i, &p) in at.iter().enumerate() {
        relids[i] = if p == 0 { r.t.event } else { r.t.states[p - 1] };
    }
    let (mut rels, mut rris) = ([std::ptr::null_mut(); 5], [std::ptr::null_mut(); 5]);
    // SAFETY: the relations are kept open until `finish`; slots and the EPQ state are made in
    // the executor state's memory context, as an executor's are.
    unsafe {
        let estate = rows::open_for_writes(&relids[..n], &mut rels[..n], &mut rris[..n]);
        for (i, &p) in at.iter().enumerate() {
            r.rels[p] = rels[i];
            r.rris[p] = rris[i];
        }
        without_own_triggers((*r.rris[0]).ri_TrigDesc, r.t.own_triggers);
        let caller_context = pg_sys::MemoryContextSwitchTo((*estate).es_query_cxt);
        let desc = (*r.rels[0]).rd_att;
        r.event_slot = pg_sys::ExecInitExtraTupleSlot(estate, desc, &pg_sys::TTSOpsVirtual);
        for &p in &at[1..] {
            let desc = (*r.rels[p]).rd_att;
            r.search_slots[p] = pg_sys::ExecInitExtraTupleSlot(estate, desc, &pg_sys::TTSOpsVirtual);
            r.new_slots[p] = pg_sys::ExecInitExtraTupleSlot(estate, desc, &pg_sys::TTSOpsVirtual);
            r.found_slots[p] = pg_sys::table_slot_create(r.rels[p], &mut (*estate).es_tupleTable);
        }
        r.epq = pg_sys::palloc0(std::mem::size_of::<pg_sys::EPQState>()).cast();
        version::eval_plan_qual_init(r.epq, estate);
        r.estate = estate;
        // the purpose the event refers to, found and locked after the insert (find_purpose), with
        // the lock a foreign key's check takes on the referenced table
        r.purpose_rel = pg_sys::table_open(r.t.purpose_table, pg_sys::RowShareLock as i32);
        r.purpose_found = pg_sys::table_slot_create(r.purpose_rel, &mut (*estate).es_tupleTable);
        pg_sys::MemoryContextSwitchTo(caller_context);
    }
}

/// **The foreign key's check, done here.** `consent_event.purpose` references `privacy.purpose`;
/// PostgreSQL checks an inserted row with an internal AFTER trigger that runs a statement (`SELECT
/// 1 FROM ONLY privacy.purpose x WHERE name = $1 FOR KEY SHARE OF x`) through SPI: its executor
/// start-up was about a tenth of each recording (docs/BENCHMARKS.md). A recording leaves that
/// trigger out of its trigger list and does what the statement does, after the row and its BEFORE
/// triggers as the trigger would: finds the purpose by its primary key with the snapshot the
/// statement would have (a new one in READ COMMITTED, the transaction's otherwise), then locks
/// the row `FOR KEY SHARE` with the table's own `tuple_lock` and the flags `FOR KEY SHARE` uses
/// (`nodeLockRows.c`): it waits only for a deletion or a change of the key in progress, not for
/// other updates of the row, and in READ COMMITTED follows an update to the row's latest version,
/// whose key is checked again. No one can then delete the purpose or rename it until the
/// recording's transaction ends (the constraint's triggers on `privacy.purpose` refuse that while
/// an event refers to it). The constraint stays on the table: plain INSERTs (restores) are checked
/// by PostgreSQL as before. Returns whether a row was found to lock.
#[pg_guard]
unsafe extern "C-unwind" fn find_purpose(r: &mut Recording) -> bool {
    // SAFETY: an index scan of the open purpose table under a registered snapshot (kept for the
    // lock, released by purpose_locked or the transaction's abort); only the row's address is
    // kept (the lock fills the recording's slot).
    unsafe {
        let repeatable = pg_sys::XactIsoLevel >= pg_sys::XACT_REPEATABLE_READ as i32;
        r.purpose_snapshot = pg_sys::RegisterSnapshot(pg_sys::GetTransactionSnapshot());
        r.purpose_cid = pg_sys::GetCurrentCommandId(false);
        r.purpose_lock_flags = (pg_sys::TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS | if repeatable { 0 } else { pg_sys::TUPLE_LOCK_FLAG_FIND_LAST_VERSION }) as u8;
        r.purpose_lock = pg_sys::TM_Result::TM_Invisible;
        let mut found = false;
        rows::for_each_equal(r.purpose_rel, r.t.purpose_key_index, pg_sys::F_TEXTEQ, r.purpose, r.purpose_snapshot, pg_sys::ScanDirection::ForwardScanDirection, |slot| {
            found = true;
            r.purpose_tid = (*slot).tts_tid;
            false
        });
        found
    }
}

/// The outcome of the foreign key's check (see [`find_purpose`]), as the statement's `FOR KEY
/// SHARE` would have it: the row locked, or the constraint's own error when there is no such
/// purpose (deleted or renamed meanwhile, by another session or by a trigger of this insert), or a
/// serialization failure when a REPEATABLE READ transaction finds it changed since its snapshot.
#[pg_guard]
unsafe extern "C-unwind" fn purpose_locked(r: &mut Recording) {
    // SAFETY: the snapshot find_purpose registered (or none); the slot holds the locked row after
    // TM_Ok.
    unsafe {
        if !r.purpose_snapshot.is_null() {
            pg_sys::UnregisterSnapshot(r.purpose_snapshot);
            r.purpose_snapshot = std::ptr::null_mut();
        }
        let repeatable = pg_sys::XactIsoLevel >= pg_sys::XACT_REPEATABLE_READ as i32;
        let still_there = match r.purpose_lock {
            // after following an update, the latest version must still carry the name
            pg_sys::TM_Result::TM_Ok => {
                let att = r.t.purpose_name as usize;
                pg_sys::slot_getsomeattrs_int(r.purpose_found, att as i32);
                !*(*r.purpose_found).tts_isnull.add(att - 1) && ffi::datum_image_eq(*(*r.purpose_found).tts_values.add(att - 1), r.purpose, false, -1)
            }
            pg_sys::TM_Result::TM_Updated | pg_sys::TM_Result::TM_Deleted if repeatable => raise(
                PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
                if r.purpose_lock == pg_sys::TM_Result::TM_Deleted {
                    "could not serialize access due to concurrent delete"
                } else {
                    "could not serialize access due to concurrent update"
                },
                "The purpose of this consent was renamed or removed by a transaction that committed after this one began: retry the transaction.",
            ),
            // not found, deleted, or changed by this transaction since the snapshot
            _ => false,
        };
        if !still_there {
            let purpose = String::from_datum(r.purpose, false).unwrap_or_default();
            crate::pg::errors::raise_with_detail(
                PgSqlErrorCode::ERRCODE_FOREIGN_KEY_VIOLATION,
                "insert or update on table \"consent_event\" violates foreign key constraint \"consent_event_purpose_fkey\"",
                format!("Key (purpose)=({purpose}) is not present in table \"purpose\"."),
                "The purpose was removed or renamed while consent was being recorded: see SELECT * FROM privacy.purposes.",
            )
        }
    }
}

/// The chain's tail: the hash of the subject's event with the highest id, read with the latest
/// snapshot (the chain lock is held, so every earlier event of the subject has committed).
#[pg_guard]
unsafe extern "C-unwind" fn read_tail(r: &mut Recording) {
    // SAFETY: forwarded; the ledger is open.
    r.prev_hash = unsafe { last_event(r) }.and_then(|(_, hash)| hash);
}

/// The id and hash of the subject's last event (latest snapshot), if it has one.
unsafe fn last_event(r: &Recording) -> Option<(i64, Option<pg_sys::Datum>)> {
    // SAFETY: an index scan of the open ledger under a registered snapshot, ended here; the hash
    // is copied out of the buffer before the slot is dropped.
    unsafe {
        let heap = r.rels[0];
        let snapshot = pg_sys::RegisterSnapshot(pg_sys::GetLatestSnapshot());
        let mut last = None;
        // the highest id first: the chain's tail
        rows::for_each_equal(heap, r.t.event_key_index, pg_sys::F_BYTEAEQ, r.key, snapshot, pg_sys::ScanDirection::BackwardScanDirection, |slot| {
            let (id, hash) = (r.t.event_id as usize, r.t.hash as usize);
            pg_sys::slot_getsomeattrs_int(slot, id.max(hash) as i32);
            let value = |att: usize| (!*(*slot).tts_isnull.add(att - 1)).then(|| *(*slot).tts_values.add(att - 1));
            let hash = value(hash).map(|d| pg_sys::Datum::from(pg_sys::pg_detoast_datum_copy(d.cast_mut_ptr())));
            last = value(id).map(|d| (d.value() as i64, hash));
            false
        });
        pg_sys::UnregisterSnapshot(snapshot);
        last
    }
}

/// Hashes the event and fills the ledger row.
#[pg_guard]
unsafe extern "C-unwind" fn seal(r: &mut Recording) {
    // SAFETY: datums read back as the types the Recording built them with.
    unsafe {
        let key: &[u8] = <&[u8]>::from_datum(r.key, false).unwrap_or_default();
        let prev: Option<&[u8]> = r.prev_hash.and_then(|d| <&[u8]>::from_datum(d, false));
        let purpose = String::from_datum(r.purpose, false).unwrap_or_default();
        let state = if r.grant { "granted" } else { "withdrawn" };
        let by = CStr::from_ptr(r.recorded_by.cast_mut_ptr::<std::ffi::c_char>()).to_string_lossy().into_owned();
        let source = r.source.and_then(|d| String::from_datum(d, false));
        let event = LedgerEvent {
            event_id: r.event_id,
            subject_key: key,
            purpose: &purpose,
            state,
            valid_until: r.valid_until,
            recorded_at: r.recorded_at,
            recorded_by: &by,
            source: source.as_deref(),
        };
        let hash = event_hash(prev, &event).as_slice().into_datum().unwrap_or(pg_sys::Datum::from(0));
        let t = r.t;
        let slot = r.event_slot;
        let natts = (*(*slot).tts_tupleDescriptor).natts as usize;
        for i in 0..natts {
            *(*slot).tts_isnull.add(i) = true;
            *(*slot).tts_values.add(i) = pg_sys::Datum::from(0);
        }
        let put = |att: i16, value: Option<pg_sys::Datum>| {
            let i = (att - 1) as usize;
            if i < natts {
                *(*slot).tts_isnull.add(i) = value.is_none();
                *(*slot).tts_values.add(i) = value.unwrap_or(pg_sys::Datum::from(0));
            }
        };
        put(t.event_id, Some(pg_sys::Datum::from(r.event_id)));
        put(t.subject, Some(r.subject));
        put(t.purpose, Some(r.purpose));
        put(t.state, Some(r.state));
        put(t.valid_until, r.valid_until.map(pg_sys::Datum::from));
        put(t.recorded_at, Some(pg_sys::Datum::from(r.recorded_at)));
        put(t.recorded_by, Some(r.recorded_by));
        put(t.source, r.source);
        put(t.subject_key, Some(r.key));
        put(t.prev_hash, r.prev_hash);
        put(t.hash, Some(hash));
        pg_sys::ExecStoreVirtualTuple(slot);
        // what the hash covers and the state rows will hold, kept to compare after the insert
        r.sealed_values = pg_sys::palloc(natts.max(1) * std::mem::size_of::<pg_sys::Datum>()) as *mut pg_sys::Datum;
        r.sealed_nulls = pg_sys::palloc(natts.max(1)) as *mut bool;
        std::ptr::copy_nonoverlapping((*slot).tts_values, r.sealed_values, natts);
        std::ptr::copy_nonoverlapping((*slot).tts_isnull, r.sealed_nulls, natts);
    }
}

/// The state row of the table at position `p` (the reading `KINDS[p - 1]`): the key to find it
/// by and the row to write.
#[pg_guard]
unsafe extern "C-unwind" fn state_slots(r: &Recording, p: usize) {
    // SAFETY: virtual slots of that table's shape, made in `open`.
    unsafe {
        let [purpose, subject, active_until, event_id] = r.t.state_cols;
        for slot in [r.search_slots[p], r.new_slots[p]] {
            if let Some(clear) = (*(*slot).tts_ops).clear {
                clear(slot);
            }
            let natts = (*(*slot).tts_tupleDescriptor).natts as usize;
            for i in 0..natts {
                *(*slot).tts_isnull.add(i) = true;
                *(*slot).tts_values.add(i) = pg_sys::Datum::from(0);
            }
            let put = |att: i16, value: pg_sys::Datum| {
                *(*slot).tts_isnull.add((att - 1) as usize) = false;
                *(*slot).tts_values.add((att - 1) as usize) = value;
            };
            put(purpose, r.purpose);
            put(subject, r.readings[p - 1].unwrap_or(pg_sys::Datum::from(0)));
            if slot == r.new_slots[p] {
                put(active_until, pg_sys::Datum::from(r.active_until));
                put(event_id, pg_sys::Datum::from(r.event_id));
            }
            pg_sys::ExecStoreVirtualTuple(slot);
        }
    }
}

/// Whether the state row found holds an older event than this one (a later event always wins).
#[pg_guard]
unsafe extern "C-unwind" fn found_is_older(r: &Recording, found: *mut pg_sys::TupleTableSlot) -> bool {
    // SAFETY: the slot holds the row RelationFindReplTupleByIndex found and locked.
    unsafe {
        let att = r.t.state_cols[3] as i32;
        pg_sys::slot_getsomeattrs_int(found, att);
        let i = (att - 1) as usize;
        *(*found).tts_isnull.add(i) || ((*(*found).tts_values.add(i)).value() as i64) < r.event_id
    }
}

/// A state table's primary key (the index the row is found by).
#[pg_guard]
unsafe extern "C-unwind" fn state_index(rel: pg_sys::Relation) -> pg_sys::Oid {
    // SAFETY: an open relation; the relcache knows its primary key and id.
    let (index, relid) = unsafe { (version::primary_key_index(rel), (*rel).rd_id) };
    if index == pg_sys::InvalidOid {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("{} has no primary key", catalog::relation_name(relid)),
            "Update the extension: ALTER EXTENSION pg_privacy UPDATE.",
        )
    }
    index
}

/// Releases what `open` took (the relations' locks are kept to the transaction's end).
#[pg_guard]
unsafe extern "C-unwind" fn finish(r: &mut Recording) {
    // SAFETY: everything here was made by `open` and is released once.
    unsafe {
        pg_sys::EvalPlanQualEnd(r.epq);
        rows::close_writes(r.estate, &r.rels);
        if !r.purpose_rel.is_null() {
            pg_sys::table_close(r.purpose_rel, pg_sys::NoLock as i32);
        }
    }
}

/// `privacy.ledger_lock(key bytea, event_id bigint) RETURNS bytea`, for events inserted without
/// a hash (the `chained` trigger: the 0.1.0 update's replay, a superuser's INSERT): takes the
/// subject's chain lock and returns the chain's last hash (NULL for a new subject). The event's
/// id was given before the lock; one not above the chain's last is refused rather than chained
/// out of order.
///
/// # Safety
/// Called by PostgreSQL's fmgr as declared in the extension's SQL (STRICT).
#[no_mangle]
pub unsafe extern "C-unwind" fn ledger_lock(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: STRICT (bytea, bigint); the frame holds only raw values around the lock.
    unsafe {
        let mut r = std::mem::MaybeUninit::<Recording>::uninit();
        tail_only(fcinfo, r.as_mut_ptr());
        let mut r = r.assume_init();
        let tag = chain_lock_tag(r.lock_key);
        ffi::LockAcquire(&tag, pg_sys::ExclusiveLock as i32, false, false);
        tail_hash(&mut r);
        match r.prev_hash {
            Some(d) => d,
            None => {
                (*fcinfo).isnull = true;
                pg_sys::Datum::from(0)
            }
        }
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn tail_only(fcinfo: pg_sys::FunctionCallInfo, out: *mut Recording) {
    refuse_nested("insert into the consent history");
    let Some(t) = TARGETS.with(|c| *c.get(find_targets)) else {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "the consent registry of pg_privacy is missing or incomplete in this database",
            "Install the extension with CREATE EXTENSION pg_privacy, or update it with ALTER EXTENSION pg_privacy UPDATE.",
        )
    };
    // SAFETY: argument 0 is a non-NULL bytea (STRICT).
    let key = unsafe { pgrx::pg_getarg_datum_raw(fcinfo, 0) };
    // SAFETY: as above.
    let bytes: Vec<u8> = unsafe { <&[u8]>::from_datum(key, false) }.unwrap_or_default().to_vec();
    // rows this command inserted (an INSERT ... SELECT of several events) must be seen
    // SAFETY: as SPI does before each statement.
    unsafe { pg_sys::CommandCounterIncrement() };
    // SAFETY: argument 1 is a non-NULL bigint (STRICT): the id the event was given.
    let event_id = unsafe { pgrx::pg_getarg_datum_raw(fcinfo, 1) }.value() as i64;
    let r = Recording {
        key: bytes.as_slice().into_datum().unwrap_or(pg_sys::Datum::from(0)),
        lock_key: lock_key_of(&bytes),
        event_id,
        ..Recording::empty(t)
    };
    // SAFETY: out points to the caller's Recording.
    unsafe { out.write(r) };
}

/// The chain's last hash for `ledger_lock`, refusing an event id not above the chain's last.
#[pg_guard]
unsafe extern "C-unwind" fn tail_hash(r: &mut Recording) {
    let event_id = r.event_id;
    // SAFETY: the ledger opened for the read and closed again (its lock kept).
    unsafe {
        r.rels[0] = pg_sys::table_open(r.t.event, pg_sys::AccessShareLock as i32);
        let last = last_event(r);
        pg_sys::table_close(r.rels[0], pg_sys::NoLock as i32);
        r.prev_hash = last.and_then(|(_, hash)| hash);
        let last = last.map(|(id, _)| id);
        if let Some(last) = last.filter(|&last| event_id <= last) {
            raise(
                PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
                format!("consent event {event_id} would follow event {last} of the same subject"),
                "A subject's events are chained in id order: insert it again (it gets a new id), or record consent with privacy.grant_consent().",
            )
        }
    }
}
