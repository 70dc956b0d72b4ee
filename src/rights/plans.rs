//! The statements the rights functions run on the subject tables, prepared once and kept, and the
//! C-language functions that run them: `privacy.subject_data` (one statement for the whole export),
//! `privacy.erase_subject` (every subject table's DELETE in foreign-key order, or the anonymize
//! walk; then the receipt, with the extension owner's rights) and `privacy.delete_subject_rows`
//! (one table's).
//!
//! **Names resolve the same way at every run.** Each statement runs under the functions' own
//! search_path, put back before it if code that ran during the call (a subject table's trigger)
//! changed it: PostgreSQL's plan cache analyses a saved statement again when the path differs, and
//! must never do so under a path the caller's code chose. The statement run as the owner also
//! names its operators in `pg_catalog`. Masked and consent-filtered sessions are refused.
//!
//! **Why C functions, not SQL or `#[pg_extern]`.** A rights function runs a statement per subject
//! table with the caller's rights; its errors (a permission, a foreign key refusing a delete, a
//! lock timeout) are the DBA's to read with every field. pgrx's guard would catch them and report
//! a new error without CONTEXT, positions or constraint names (`crate::pg::ffi`), so these
//! functions do their own work (checks, finding the plans, reading results) in guarded helpers
//! that return before the statement runs, and run it through `ffi::SPI_execute_plan` from a frame
//! that holds only raw pointers. An error then unwinds to PostgreSQL's handler, whose abort
//! processing closes the SPI connection.
//!
//! **Why one prepared plan per map, kept.** PL/pgSQL's `EXECUTE` plans dynamic SQL at every call;
//! an export is then mostly planning (docs/BENCHMARKS.md). The texts name tables and columns read
//! from the catalog, quoted by PostgreSQL; the subject id is only ever the parameter `$1`.
//! PostgreSQL's plan cache re-plans when a table changes; a changed subject map (a new subject
//! table, a dropped column) prepares new plans. Plans replaced during a transaction may still be
//! running in it (a trigger of a deleted row can erase another subject), so they are freed when
//! the transaction ends.

use std::cell::RefCell;
use std::ffi::CString;
use std::rc::Rc;

use pgrx::prelude::*;

use super::{map, receipt, MapEntry};
use crate::pg::cache::{Cached, CachedMap, Class};
use crate::pg::catalog::{qualified_name as qualified, quote_ident as quoted};
use crate::pg::errors::{raise, raise_with_detail};
use crate::pg::ffi;

/// A plan saved with `SPI_keepplan`. Dropping it (its map was replaced) frees it at the end of
/// the transaction, not at once.
struct KeptPlan(pg_sys::SPIPlanPtr);

backend_local! {
    static RETIRED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    static ANY_RETIRED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The export statement for the current subject map (None: a subject column is unusable).
    static EXPORT: Cached<Option<KeptPlan>> = const { Cached::new(Class::Relations) };
    /// One DELETE per subject table.
    static DELETES: CachedMap<pg_sys::Oid, Option<Rc<KeptPlan>>> = CachedMap::new(Class::Relations);
    /// Which subject table still holds rows about the subject after an erasure (see
    /// `left_behind_text`), with the tables in the statement's order.
    static LEFT_BEHIND: Cached<Option<(KeptPlan, Vec<pg_sys::Oid>)>> = const { Cached::new(Class::Relations) };
}

impl Drop for KeptPlan {
    fn drop(&mut self) {
        RETIRED.with(|r| r.borrow_mut().push(self.0 as usize));
        ANY_RETIRED.with(|a| a.set(true));
    }
}

/// At each transaction event (from `hooks`' one transaction callback): frees the plans retired
/// during the transaction. Unguarded: every transaction of every session ends here, and almost
/// none has a plan to free (reading a flag cannot raise).
#[inline]
pub fn on_xact(event: pg_sys::XactEvent::Type) {
    if ANY_RETIRED.with(|a| a.get()) {
        // SAFETY: forwarding the event to the guarded body.
        unsafe { free_retired_plans(event) };
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn free_retired_plans(event: pg_sys::XactEvent::Type) {
    if matches!(
        event,
        pg_sys::XactEvent::XACT_EVENT_COMMIT
            | pg_sys::XactEvent::XACT_EVENT_ABORT
            | pg_sys::XactEvent::XACT_EVENT_PARALLEL_COMMIT
            | pg_sys::XactEvent::XACT_EVENT_PARALLEL_ABORT
            | pg_sys::XactEvent::XACT_EVENT_PREPARE
    ) {
        let plans = RETIRED.with(|r| std::mem::take(&mut *r.borrow_mut()));
        ANY_RETIRED.with(|a| a.set(false));
        for plan in plans {
            // SAFETY: each was kept by SPI_keepplan, retired once, and no statement runs any
            // more at transaction end.
            unsafe { pg_sys::SPI_freeplan(plan as pg_sys::SPIPlanPtr) };
        }
    }
}

/// Prepares `text` with parameters of `types` and keeps the plan for the backend's life.
fn prepare_with(text: &str, types: &[pg_sys::Oid]) -> KeptPlan {
    let Ok(c) = CString::new(text) else {
        raise(
            pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            "pg_privacy built a statement holding a NUL byte",
            "Report this: statements are built from catalog names only.",
        )
    };
    let mut types = types.to_vec();
    // SAFETY: a connection of our own around the prepare; SPI_keepplan moves the plan out of it.
    unsafe {
        pg_sys::SPI_connect();
        let plan = pg_sys::SPI_prepare(c.as_ptr(), types.len() as i32, types.as_mut_ptr());
        if plan.is_null() || pg_sys::SPI_keepplan(plan) != 0 {
            pg_sys::SPI_finish();
            raise(
                pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "could not prepare pg_privacy's statement on the subject tables",
                "Run privacy.subject_map() to see the subject tables; report this if they look right.",
            );
        }
        pg_sys::SPI_finish();
        KeptPlan(plan)
    }
}

/// Prepares `text` with the subject id as its one parameter, `$1`.
fn prepare(text: &str) -> KeptPlan {
    prepare_with(text, &[pg_sys::TEXTOID])
}

/// Prepares `text` with the subject's readings as parameters (see [`Readings`]).
fn prepare_for_readings(text: &str) -> KeptPlan {
    prepare_with(text, &[pg_sys::TEXTOID, pg_sys::INT8OID, pg_sys::UUIDOID, crate::pseudonym::type_oid(), pg_sys::BYTEAOID])
}

/// A subject id as the statements on the subject tables compare it, computed once per call in
/// Rust rather than by a function call per statement: `$1` the id as given (text columns), `$2`
/// its bigint reading (integer columns), `$3` its uuid reading, `$4` its pseudonym (pseudonym
/// columns: the keyed digest of its canonical spelling, as `privacy.pseudonymize`), `$5` the
/// same digest as the consent history's `subject_key` (`privacy.ledger_subject_key`). A reading
/// the id does not have is NULL, which matches no row (as the SQL functions' NULL did).
#[repr(C)]
struct Readings {
    values: [pg_sys::Datum; 5],
    /// `SPI_execute_plan`'s flags: b'n' for NULL, b' ' otherwise.
    nulls: [std::ffi::c_char; 5],
}

/// The readings of the subject id `subject` (a text datum, not NULL), palloc'd in the current
/// memory context.
#[pg_guard]
unsafe extern "C-unwind" fn readings(subject: pg_sys::Datum, out: *mut Readings) {
    // SAFETY: a text datum, as the functions are declared.
    let id = unsafe { String::from_datum(subject, false) }.unwrap_or_default();
    let bigint = privacy_core::subject::parse_bigint(&id, crate::pg::version::INTEGER_SYNTAX);
    let uuid = privacy_core::subject::parse_uuid(&id);
    // the ledger's key is the keyed digest of the canonical spelling, which is also what
    // privacy.pseudonymize(privacy.subject_canonical(id)) gives (unless the id is a psn_ token)
    let key = crate::consent::ledger::subject_key(&id);
    let canonical = crate::consent::registry::canonical_subject(&id);
    // (only when a pseudonym column is searched: a malformed psn_ token is an error there)
    let searched = map().iter().any(|e| e.kind.as_deref() == Some("pseudonym"));
    let pseudonym = if searched { crate::pseudonym::pseudonym_datum(canonical.as_bytes(), &key) } else { None };
    let values = [
        Some(subject),
        bigint.map(pg_sys::Datum::from),
        uuid.and_then(|u| pgrx::Uuid::from_bytes(u).into_datum()),
        pseudonym,
        key.as_slice().into_datum(),
    ];
    let flag = |v: &Option<pg_sys::Datum>| if v.is_some() { b' ' } else { b'n' } as std::ffi::c_char;
    // SAFETY: out is the caller's.
    unsafe {
        *out = Readings { values: values.map(|v| v.unwrap_or(pg_sys::Datum::from(0))), nulls: [0; 5] };
        for (n, v) in (*out).nulls.iter_mut().zip(values.iter()) {
            *n = flag(v);
        }
    }
}

/// The parameter a subject column of each kind is compared with (see [`Readings`]).
fn reading_parameter(kind: &str) -> Option<&'static str> {
    match kind {
        "integer" => Some("$2"),
        "uuid" => Some("$3"),
        "text" => Some("$1"),
        "pseudonym" => Some("$4"),
        _ => None,
    }
}

/// Puts the functions' search_path back before a statement runs, if code that ran during the
/// call (a subject table's trigger, a policy's function) changed it. PostgreSQL's plan cache
/// analyses a saved statement again when the path differs from the one it was planned under; it
/// must never do so under a path the caller's code chose (an operator of the caller's schema
/// would run in the receipt's statement, with the owner's rights). `level` is the GUC nest level
/// opened by an earlier call (0: none); returns the one to close with [`unpin_search_path`].
#[pg_guard]
unsafe extern "C-unwind" fn pin_search_path(level: i32) -> i32 {
    // SAFETY: namespace_search_path is the GUC's current value (never NULL once GUCs are set up);
    // the nest level is closed by unpin_search_path, or by the transaction's abort.
    unsafe {
        let current = pg_sys::namespace_search_path;
        if !current.is_null() && std::ffi::CStr::from_ptr(current) == crate::pg::nodes::PINNED_SEARCH_PATH {
            return level;
        }
        // Code that ran since an earlier pin may have SET the path at that level: close it (the
        // path becomes what that code set) and save again at a fresh level, as GUC expects.
        if level > 0 {
            pg_sys::AtEOXact_GUC(true, level);
        }
    }
    crate::pg::nodes::open_pinned_search_path()
}

/// Closes what [`pin_search_path`] opened: the path is what the caller's code had set.
#[pg_guard]
unsafe extern "C-unwind" fn unpin_search_path(level: i32) {
    if level > 0 {
        // SAFETY: the nest level pin_search_path opened in this call.
        unsafe { pg_sys::AtEOXact_GUC(true, level) };
    }
}

/// Refuses a session whose statements are masked or consent-filtered: the rights functions must
/// see every row about the subject (a filtered session's DELETE would find none, yet the consent
/// records would be erased and a receipt written).
fn refuse_governed_session(what: &str) {
    if crate::context::scoped() || !crate::context::session_ungoverned() {
        crate::pg::errors::refuse(
            format!("a masked or consent-filtered session cannot {what}"),
            "Data-subject requests must see every row about the subject: run them as a privacy admin that is neither masked nor restricted to purposes.",
        );
    }
}

/// A string as an SQL literal, quoted by PostgreSQL.
fn literal(value: &str) -> String {
    let Ok(c) = CString::new(value) else { return "NULL".to_owned() };
    // SAFETY: quote_literal_cstr returns a palloc'd, NUL-terminated quoted copy.
    unsafe { std::ffi::CStr::from_ptr(pg_sys::quote_literal_cstr(c.as_ptr())).to_string_lossy().into_owned() }
}

/// How `$1` is compared with the entry's subject column (None: the column is unusable).
fn condition(entry: &MapEntry) -> Option<String> {
    let matches = reading_parameter(entry.kind.as_deref()?)?;
    Some(format!("r.{} = {matches}", quoted(&entry.column)))
}

fn unusable(entry: &MapEntry) -> ! {
    raise(
        pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INVALID_OBJECT_DEFINITION,
        format!(
            "subject column \"{}\" of {} no longer exists or cannot hold subject ids",
            entry.column,
            regclass_text(entry.relid)
        ),
        "A privacy admin must run privacy.set_subject() again with the column that holds the subject's id.",
    )
}

/// The whole export as one statement: each subject table's rows about `$1` (as PostgreSQL renders
/// them, in a stable order), the controller and the consent history. Few plan nodes: the executor
/// starts the whole statement at every call, and its start-up is most of an export's time.
fn export_text(entries: &[MapEntry]) -> Option<String> {
    let mut tables = Vec::with_capacity(entries.len());
    for entry in entries {
        let condition = condition(entry)?;
        tables.push(format!(
            "pg_catalog.jsonb_build_object('table', {name}, 'subject_column', {column}, 'rows', \
             (SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(r) ORDER BY pg_catalog.to_jsonb(r)) FROM {table} r WHERE {condition}))",
            name = literal(&regclass_text(entry.relid)),
            column = literal(&entry.column),
            table = qualified(entry.relid),
        ));
    }
    // tables without rows about the subject are left out
    let tables = if tables.is_empty() {
        "'[]'::pg_catalog.jsonb".to_owned()
    } else {
        format!("pg_catalog.jsonb_path_query_array(pg_catalog.jsonb_build_array({}), '$[*] ? (@.rows != null)')", tables.join(", "))
    };
    Some(format!(
        "SELECT pg_catalog.jsonb_build_object(\
           'subject', $1, \
           'generated_at', pg_catalog.statement_timestamp(), \
           'controller', (SELECT pg_catalog.jsonb_build_object('name', c.name, 'contact', c.contact, 'jurisdiction', c.jurisdiction) \
                          FROM privacy.controller c), \
           'tables', {tables}, \
           'consent', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(\
                             'purpose', h.purpose, 'state', h.state, 'valid_until', h.valid_until, 'recorded_at', h.recorded_at, \
                             'recorded_by', h.recorded_by, 'source', h.source) ORDER BY h.event_id), '[]'::pg_catalog.jsonb) \
                       FROM privacy.consent_event h \
                       WHERE h.subject_key = $5 AND h.subject IS NOT NULL))"
    ))
}

/// The checks every rights function makes first: a privacy admin calls it, with a subject.
fn admin_and_subject(what: &str, function: &str, subject_is_null: bool) {
    crate::admin::require_admin(what);
    refuse_governed_session(what);
    if subject_is_null {
        raise(
            pg_sys::errcodes::PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!("{function} needs a subject id"),
            "Pass the data subject's id as the subject tables hold it.",
        );
    }
}

/// The checks of `subject_data` and its plan.
#[pg_guard]
unsafe extern "C-unwind" fn export_plan(subject_is_null: bool) -> pg_sys::SPIPlanPtr {
    admin_and_subject("export a data subject's data", "subject_data", subject_is_null);
    let plan = EXPORT.with(|c| c.get(|| export_text(&map()).map(|text| prepare_for_readings(&text))));
    match plan.as_ref() {
        Some(plan) => plan.0,
        None => match map().iter().find(|e| condition(e).is_none()) {
            Some(entry) => unusable(entry),
            None => raise(
                pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "could not build the export statement",
                "Run privacy.subject_map() to see the subject tables.",
            ),
        },
    }
}

/// The one row the statement just run returned (`expected`: its SPI result code), or an error.
///
/// # Safety
/// Called in a guarded function, on the SPI connection the statement ran on.
unsafe fn one_row(rc: i32, expected: u32) -> (pg_sys::HeapTuple, pg_sys::TupleDesc) {
    // SAFETY: SPI_tuptable is the result of the statement just run on this connection.
    unsafe {
        let table = pg_sys::SPI_tuptable;
        if rc != expected as i32 || table.is_null() || pg_sys::SPI_processed != 1 {
            raise(
                pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                format!("pg_privacy's statement returned no result (SPI code {rc})"),
                "Report this with the output of privacy.subject_map(); the transaction is rolled back.",
            );
        }
        (*(*table).vals, (*table).tupdesc)
    }
}

/// The first column of the one row a statement returned: copied out of SPI's memory (`copy`) to
/// be the function's result, or left there for the next statement.
#[pg_guard]
unsafe extern "C-unwind" fn single_result(rc: i32, copy: bool) -> pg_sys::Datum {
    // SAFETY: the row and its descriptor belong to the statement just run.
    unsafe {
        let (row, desc) = one_row(rc, pg_sys::SPI_OK_SELECT);
        let mut is_null = false;
        let value = pg_sys::SPI_getbinval(row, desc, 1, &mut is_null);
        if is_null {
            raise(
                pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "pg_privacy's statement returned NULL",
                "Report this with the output of privacy.subject_map().",
            );
        }
        if copy { pg_sys::SPI_datumTransfer(value, false, -1) } else { value }
    }
}

fmgr_v1!(pg_finfo_subject_data, pg_finfo_delete_subject_rows, pg_finfo_erase_subject);

/// `privacy.subject_data(subject text) RETURNS jsonb`: everything about one data subject (GDPR
/// Art. 15 and 20): every row of every subject table about it, grouped by table, and its consent
/// history. Runs with the caller's rights.
///
/// # Safety
/// Called by PostgreSQL's fmgr as declared in the extension's SQL.
#[no_mangle]
pub unsafe extern "C-unwind" fn subject_data(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: fmgr passes one text argument; this frame holds only raw values (see the module
    // comment), so an error of the statement reaches PostgreSQL untouched.
    unsafe {
        let plan = export_plan(pgrx::pg_arg_is_null(fcinfo, 0));
        let mut r = std::mem::MaybeUninit::<Readings>::uninit();
        readings(pgrx::pg_getarg_datum_raw(fcinfo, 0), r.as_mut_ptr());
        let mut r = r.assume_init();
        ffi::SPI_connect();
        let level = pin_search_path(0);
        let rc = ffi::SPI_execute_plan(plan, r.values.as_mut_ptr(), r.nulls.as_ptr(), true, 1);
        let result = single_result(rc, true);
        ffi::SPI_finish();
        unpin_search_path(level);
        result
    }
}

/// The DELETE of one subject table's rows about `$1`.
fn delete_plan(entry: &MapEntry) -> Option<Rc<KeptPlan>> {
    DELETES.with(|c| {
        c.get(entry.relid, |relid| {
            let condition = condition(entry)?;
            Some(Rc::new(prepare_for_readings(&format!("DELETE FROM {} r WHERE {condition}", qualified(relid)))))
        })
    })
}

/// After an erasure's statements, one statement probes every subject table again for rows about
/// the subject and returns the position of the first that has some (0: none). A DELETE or UPDATE
/// can leave rows behind in ways no single table's statement shows: a trigger that skips the row
/// (a soft-delete trigger), puts it back (AFTER DELETE, or a later table's trigger refilling an
/// earlier table), a BEFORE UPDATE trigger or an INSTEAD rule that keeps the old values, a
/// masking rule that keeps the id, row security that lets the admin see a row but not delete it.
/// Checking the outcome catches all of them; one index probe per table.
fn left_behind_text(entries: &[MapEntry]) -> Option<String> {
    if entries.is_empty() {
        return Some("SELECT 0".to_owned());
    }
    let mut cases = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let condition = condition(entry)?;
        cases.push(format!(
            "WHEN EXISTS (SELECT FROM {} r WHERE {condition}) THEN {}",
            qualified(entry.relid),
            i + 1
        ));
    }
    Some(format!("SELECT CASE {} ELSE 0 END", cases.join(" ")))
}

/// pg_privacy's own tables an erasure writes after the subject tables (the receipt, the consent
/// history, the consent state): a trigger a DBA adds to them runs during the erasure too.
const WRITTEN_AFTER: [&std::ffi::CStr; 6] = [
    c"erasure_receipt",
    c"consent_event",
    c"consent_bigint",
    c"consent_uuid",
    c"consent_text",
    c"consent_pseudonym",
];

backend_local! {
    /// Whether a table runs code of the DBA's when an erasure writes it (`runs_dba_code`).
    static RUNS_CODE: CachedMap<pg_sys::Oid, bool> = CachedMap::new(Class::Relations);
}

/// Whether an erasure in delete mode can leave rows behind: only when it runs code of the DBA's
/// besides the DELETEs themselves, on a subject table or on one of pg_privacy's tables it writes
/// afterwards (`WRITTEN_AFTER`). A plain DELETE of plain tables leaves nothing, and skipping the
/// probe there keeps erasure within its budget (docs/BENCHMARKS.md). Anonymize mode always
/// probes (a masking rule may keep the id). Not seen here: code reached through a custom
/// operator class of an index or a foreign key's operators (docs/subject-rights.md).
#[pg_guard]
unsafe extern "C-unwind" fn erasure_runs_dba_code(relids: *const pg_sys::Oid, count: usize) -> bool {
    // SAFETY: relids holds count OIDs (the erasure's subject tables).
    let subject_tables = (0..count).map(|i| unsafe { *relids.add(i) });
    let own = crate::pg::catalog::extension_schema();
    let own_tables = WRITTEN_AFTER.iter().filter_map(|name| {
        // SAFETY: a syscache lookup; InvalidOid when missing.
        let relid = unsafe { pg_sys::get_relname_relid(name.as_ptr(), own?) };
        (relid != pg_sys::InvalidOid).then_some(relid)
    });
    subject_tables.chain(own_tables).any(|relid| RUNS_CODE.with(|c| c.get(relid, |relid| {
        crate::pg::cache::watch_relation(relid, Class::Relations);
        runs_dba_code(relid, own)
    })))
}

/// Whether deleting from (or writing) the table runs code of the DBA's: a trigger whose function
/// is not pg_privacy's (a foreign key's own checks and `NO ACTION`/`RESTRICT` actions do not
/// count; an `ON DELETE` action that writes another table does, since that table's triggers
/// could refill a subject table), a rule, a row-security policy of the owner's (one can call
/// functions; pg_privacy's guards do not count), partitions or child tables (triggers of their
/// own).
fn runs_dba_code(relid: pg_sys::Oid, own_schema: Option<pg_sys::Oid>) -> bool {
    // SAFETY: a relcache reference held only for these reads; lsyscache lookups.
    unsafe {
        let rel = pg_sys::RelationIdGetRelation(relid);
        if rel.is_null() {
            return true;
        }
        let class = &*(*rel).rd_rel;
        let mut runs = class.relhasrules
            || crate::pg::catalog::has_owner_policies(rel)
            || class.relhassubclass
            || class.relkind == pg_sys::RELKIND_PARTITIONED_TABLE as std::ffi::c_char;
        let triggers = (*rel).trigdesc;
        if !runs && !triggers.is_null() {
            for k in 0..(*triggers).numtriggers as usize {
                let trigger = &*(*triggers).triggers.add(k);
                let writes_elsewhere = [pg_sys::F_RI_FKEY_CASCADE_DEL, pg_sys::F_RI_FKEY_SETNULL_DEL, pg_sys::F_RI_FKEY_SETDEFAULT_DEL]
                    .contains(&u32::from(trigger.tgfoid));
                let ours = own_schema.is_some_and(|nsp| pg_sys::get_func_namespace(trigger.tgfoid) == nsp);
                if writes_elsewhere || !(trigger.tgisinternal || ours) {
                    runs = true;
                    break;
                }
            }
        }
        pg_sys::RelationClose(rel);
        runs
    }
}

/// Refuses the erasure if a subject table still holds rows about the subject (`left_behind_text`).
///
/// # Safety
/// On the erasure's SPI connection; `values`/`nulls` are the subject's readings.
unsafe fn refuse_if_left_behind(values: *mut pg_sys::Datum, nulls: *const std::ffi::c_char) {
    // SAFETY: see the contract; the plan is kept until the transaction ends.
    unsafe {
        let mut check = LeftBehind {
            plan: std::ptr::null_mut(),
            relids: std::ptr::null_mut(),
        };
        left_behind_plan(&mut check);
        let (plan, relids) = (check.plan, check.relids);
        // not read-only: SPI makes the erasure's changes visible to it (a new command and snapshot)
        let rc = ffi::SPI_execute_plan(plan, values, nulls, false, 1);
        let position = single_result(rc, false).value() as usize;
        if position > 0 {
            refuse_left_behind(*relids.add(position - 1));
        }
    }
}

/// The plan of `left_behind_text` for the current subject map and its tables (a palloc'd array,
/// in the statement's order).
#[repr(C)]
struct LeftBehind {
    plan: pg_sys::SPIPlanPtr,
    relids: *mut pg_sys::Oid,
}

#[pg_guard]
unsafe extern "C-unwind" fn left_behind_plan(out: *mut LeftBehind) {
    let map = map();
    let cached = LEFT_BEHIND.with(|c| {
        c.get(|| {
            left_behind_text(&map).map(|text| {
                (
                    prepare_for_readings(&text),
                    map.iter().map(|e| e.relid).collect(),
                )
            })
        })
    });
    let Some((plan, relids)) = cached.as_ref() else {
        match map.iter().find(|e| condition(e).is_none()) {
            Some(entry) => unusable(entry),
            None => raise(
                pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "could not build the erasure's check",
                "Run privacy.subject_map() to see the subject tables.",
            ),
        }
    };
    // SAFETY: palloc'd in the caller's (SPI procedure) context, read before SPI_finish; out is the
    // caller's.
    unsafe {
        let copy = pg_sys::palloc(relids.len().max(1) * std::mem::size_of::<pg_sys::Oid>())
            as *mut pg_sys::Oid;
        std::ptr::copy_nonoverlapping(relids.as_ptr(), copy, relids.len());
        out.write(LeftBehind {
            plan: plan.0,
            relids: copy,
        });
    }
}

/// Refuses an erasure that left rows about the subject in a table: erasure removes them all or
/// nothing (the transaction is rolled back), never a receipt for rows still there.
#[pg_guard]
unsafe extern "C-unwind" fn refuse_left_behind(relid: pg_sys::Oid) {
    raise_with_detail(
        pg_sys::errcodes::PgSqlErrorCode::ERRCODE_TRIGGERED_ACTION_EXCEPTION,
        format!("rows of {} about the data subject were not erased", crate::pg::catalog::relation_name(relid)),
        "After the erasure's statements the table still holds rows about the subject: a trigger or rule kept or restored them (a soft-delete trigger, for example), a masking rule kept the id, or row security let them be seen but not changed. Nothing was erased.",
        "Let the table's triggers and policies delete or rewrite a subject's rows for a privacy admin during erasure, then erase again.",
    )
}

/// The plans to run, as palloc'd arrays of `count` plans and their tables.
#[repr(C)]
struct Deletes {
    plans: *mut pg_sys::SPIPlanPtr,
    tables: *mut pg_sys::Oid,
    count: usize,
}

impl Deletes {
    const fn none() -> Deletes {
        Deletes { plans: std::ptr::null_mut(), tables: std::ptr::null_mut(), count: 0 }
    }
}

/// The checks of the delete functions, and the plans to run: for `relation` only, or for every
/// subject table in erasure order (`every_table`).
#[pg_guard]
unsafe extern "C-unwind" fn delete_plans(relation: pg_sys::Oid, every_table: bool, subject_is_null: bool, out: *mut Deletes) {
    admin_and_subject("erase a data subject's data", "delete_subject_rows", subject_is_null);
    let map = map();
    let entries: Vec<&MapEntry> = map.iter().filter(|e| every_table || e.relid == relation).collect();
    if !every_table && entries.is_empty() {
        raise(
            pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INVALID_OBJECT_DEFINITION,
            format!("{} is not a subject table with a usable subject column", crate::pg::catalog::relation_name(relation)),
            "A privacy admin must run privacy.set_subject() again with the column that holds the subject's id.",
        );
    }
    let n = entries.len().max(1);
    // SAFETY: palloc'd in the function's memory context, filled below; out is the caller's.
    unsafe {
        let plans = pg_sys::palloc(n * std::mem::size_of::<pg_sys::SPIPlanPtr>()) as *mut pg_sys::SPIPlanPtr;
        let tables = pg_sys::palloc(n * std::mem::size_of::<pg_sys::Oid>()) as *mut pg_sys::Oid;
        for (i, entry) in entries.iter().enumerate() {
            let Some(plan) = delete_plan(entry) else { unusable(entry) };
            *plans.add(i) = plan.0;
            *tables.add(i) = entry.relid;
        }
        *out = Deletes { plans, tables, count: entries.len() };
    }
}

/// How many rows the DELETE just run removed.
#[pg_guard]
unsafe extern "C-unwind" fn deleted_rows(rc: i32) -> i64 {
    // a rule on the table may turn the DELETE into other statements: any success counts
    if rc < 0 {
        raise(
            pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("pg_privacy's delete statement failed (SPI code {rc})"),
            "Run privacy.subject_map() to see the subject tables; report this if they look right.",
        );
    }
    // SAFETY: reads SPI's global row count of the statement just run.
    unsafe { pg_sys::SPI_processed as i64 }
}

#[pg_guard]
unsafe extern "C-unwind" fn relation_required() {
    raise(
        pg_sys::errcodes::PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
        "delete_subject_rows needs a subject table",
        "Pass one of the relations privacy.subject_map() lists.",
    );
}

/// A relation's name as `regclass` prints it under the function's search_path.
pub(super) fn regclass_text(relid: pg_sys::Oid) -> String {
    // SAFETY: regclassout takes an OID and returns a palloc'd C string.
    let out = unsafe { pgrx::direct_function_call::<&std::ffi::CStr>(pg_sys::regclassout, &[relid.into_datum()]) };
    out.map(|c| c.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Runs the DELETE plans on the subject, in order, writing each row count.
///
/// # Safety
/// `deletes` was filled by `delete_plans`; `counts` holds its `count` entries. The frame holds
/// only raw values.
unsafe fn run_deletes(deletes: *const Deletes, counts: *mut i64, subject: pg_sys::Datum) {
    // SAFETY: see the function's contract; each plan is kept until the transaction ends.
    unsafe {
        let mut r = std::mem::MaybeUninit::<Readings>::uninit();
        readings(subject, r.as_mut_ptr());
        let mut r = r.assume_init();
        ffi::SPI_connect();
        let mut level = 0;
        for i in 0..(*deletes).count {
            level = pin_search_path(level);
            let rc = ffi::SPI_execute_plan(*(*deletes).plans.add(i), r.values.as_mut_ptr(), r.nulls.as_ptr(), false, 0);
            *counts.add(i) = deleted_rows(rc);
        }
        ffi::SPI_finish();
        unpin_search_path(level);
    }
}

/// `privacy.delete_subject_rows(relation oid, subject text) RETURNS bigint`: deletes the rows of
/// one subject table about the subject; returns how many. Runs with the caller's rights.
///
/// # Safety
/// Called by PostgreSQL's fmgr as declared in the extension's SQL.
#[no_mangle]
pub unsafe extern "C-unwind" fn delete_subject_rows(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: fmgr passes (oid, text), NULLs included (not STRICT); this frame holds raw values.
    unsafe {
        if pgrx::pg_arg_is_null(fcinfo, 0) {
            relation_required();
        }
        let relation = pg_sys::Oid::from(pgrx::pg_getarg_datum_raw(fcinfo, 0).value() as u32);
        let mut deletes = Deletes::none();
        delete_plans(relation, false, pgrx::pg_arg_is_null(fcinfo, 1), &mut deletes);
        let mut deleted: i64 = 0;
        deletes.count = deletes.count.min(1);
        run_deletes(&deletes, &mut deleted, pgrx::pg_getarg_datum_raw(fcinfo, 1));
        pg_sys::Datum::from(deleted)
    }
}

backend_local! {
    /// `privacy.anonymize_subject_rows($1)`: the anonymize mode's walk over the subject tables.
    static ANONYMIZE: Cached<KeptPlan> = const { Cached::new(Class::Relations) };
    /// `privacy.erase_consent_records($2)`, its counts added to the receipt `$1`.
    static CONSENT: Cached<KeptPlan> = const { Cached::new(Class::Relations) };
}

const CONSENT_TEXT: &str = "SELECT $1 OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('consent_state_rows', c.state_rows, 'consent_events_erased', c.events) \
     FROM privacy.erase_consent_records($2) c";

/// What `erase_subject` runs, found by [`erasure_plans`].
#[repr(C)]
struct Erasure {
    deletes: Deletes,
    /// One row count per DELETE, zeroed.
    counts: *mut i64,
    anonymize: pg_sys::SPIPlanPtr,
    consent: pg_sys::SPIPlanPtr,
    started: pg_sys::Datum,
}

/// The checks of `erase_subject` and the plans it runs.
#[pg_guard]
unsafe extern "C-unwind" fn erasure_plans(subject_is_null: bool, mode: pg_sys::Datum, mode_is_null: bool, out: *mut Erasure) {
    admin_and_subject("erase a data subject's data", "erase_subject", subject_is_null);
    // SAFETY: a text datum (or NULL), as the function is declared.
    let mode = unsafe { String::from_datum(mode, mode_is_null) };
    let anonymize = match mode.as_deref() {
        Some("delete") => false,
        Some("anonymize") => true,
        other => raise(
            pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown erasure mode \"{}\"", other.unwrap_or("<NULL>")),
            "Use mode => 'delete' (remove the rows) or 'anonymize' (rewrite them with the masking rules).",
        ),
    };
    // SAFETY: out is the caller's; the plans are kept until the transaction ends.
    unsafe {
        let out = &mut *out;
        out.started = pg_sys::Datum::from(pg_sys::GetCurrentTimestamp());
        if anonymize {
            out.anonymize = ANONYMIZE.with(|c| c.get(|| prepare("SELECT privacy.anonymize_subject_rows($1)"))).0;
        } else {
            delete_plans(pg_sys::InvalidOid, true, false, &mut out.deletes);
        }
        out.counts = pg_sys::palloc0(out.deletes.count.max(1) * std::mem::size_of::<i64>()) as *mut i64;
        out.consent = CONSENT.with(|c| c.get(|| prepare_with(CONSENT_TEXT, &[pg_sys::JSONBOID, pg_sys::TEXTOID]))).0;
    }
}

/// Switches to `owner` as a SECURITY DEFINER function does (transaction and subtransaction abort
/// switch back); returns what to restore.
#[pg_guard]
unsafe extern "C-unwind" fn become_owner(owner: pg_sys::Oid, saved: *mut (pg_sys::Oid, i32)) {
    // SAFETY: saved is the caller's; the flag marks the change as local, as fmgr does.
    unsafe {
        let (mut user, mut context) = (pg_sys::InvalidOid, 0);
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
        *saved = (user, context);
        pg_sys::SetUserIdAndSecContext(owner, context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn restore_user(saved: *const (pg_sys::Oid, i32)) {
    // SAFETY: what become_owner saved.
    unsafe { pg_sys::SetUserIdAndSecContext((*saved).0, (*saved).1) };
}

/// A datum copied out of SPI's memory into the function's (`SPI_datumTransfer`).
#[pg_guard]
unsafe extern "C-unwind" fn transferred(value: pg_sys::Datum) -> pg_sys::Datum {
    // SAFETY: a varlena datum (the receipt's jsonb) in SPI's procedure context.
    unsafe { pg_sys::SPI_datumTransfer(value, false, -1) }
}

/// `privacy.erase_subject(subject text, mode text, reason text) RETURNS jsonb`: erases a data
/// subject (GDPR Art. 17) in the caller's transaction: deletes its rows from every subject table,
/// tables referencing others first, or (mode => 'anonymize') rewrites them with each column's
/// masking rule (`privacy.anonymize_subject_rows`); records the receipt (`super::receipt`), and
/// removes the subject's consent state and its id from the consent history
/// (`privacy.erase_consent_records`). The subject tables are written with the caller's rights,
/// the receipt as the extension's owner (a trigger a DBA adds to it runs as that role).
///
/// # Safety
/// Called by PostgreSQL's fmgr as declared in the extension's SQL.
#[no_mangle]
pub unsafe extern "C-unwind" fn erase_subject(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: fmgr passes (text, text, text), NULLs included (not STRICT); this frame holds only
    // raw values; palloc'd memory lives in SPI's procedure context until SPI_finish, and the
    // result is copied out before it.
    unsafe {
        let mut e = Erasure {
            deletes: Deletes::none(),
            counts: std::ptr::null_mut(),
            anonymize: std::ptr::null_mut(),
            consent: std::ptr::null_mut(),
            started: pg_sys::Datum::from(0),
        };
        erasure_plans(pgrx::pg_arg_is_null(fcinfo, 0), pgrx::pg_getarg_datum_raw(fcinfo, 1), pgrx::pg_arg_is_null(fcinfo, 1), &mut e);
        let mut subject = pgrx::pg_getarg_datum_raw(fcinfo, 0);
        let mut r = std::mem::MaybeUninit::<Readings>::uninit();
        readings(subject, r.as_mut_ptr());
        let mut readings = r.assume_init();
        ffi::SPI_connect();
        let mut level = 0;
        // the tables acted on: deleted from (counted here), or what the anonymize walk returned
        let mut tables = receipt::Tables { relids: e.deletes.tables, rows: e.counts, count: 0, walked: pg_sys::Datum::from(0) };
        if e.anonymize.is_null() {
            for i in 0..e.deletes.count {
                level = pin_search_path(level);
                let rc = ffi::SPI_execute_plan(*e.deletes.plans.add(i), readings.values.as_mut_ptr(), readings.nulls.as_ptr(), false, 0);
                *e.counts.add(i) = deleted_rows(rc);
            }
            tables.count = e.deletes.count;
        } else {
            level = pin_search_path(level);
            let rc = ffi::SPI_execute_plan(e.anonymize, &mut subject, std::ptr::null(), false, 1);
            tables.walked = single_result(rc, false);
        }
        let mut receipt = receipt::Receipt::empty();
        let (mode, reason) = (pgrx::pg_getarg_datum_raw(fcinfo, 1), pgrx::pg_getarg_datum_raw(fcinfo, 2));
        // what the tables' statements wrote is visible to the receipt's triggers
        pg_sys::CommandCounterIncrement();
        // The receipt is written as the extension's owner: its triggers, and the table names it
        // records, must see the functions' search_path, not one a subject table's trigger set.
        level = pin_search_path(level);
        // the subject by its keyed pseudonym (the ledger's key), never its id
        receipt::open(readings.values[4], mode, reason, pgrx::pg_arg_is_null(fcinfo, 2), &tables, e.started, &mut receipt);
        receipt.number(ffi::nextval_internal(receipt.sequence, false));
        let mut saved = (pg_sys::InvalidOid, 0);
        become_owner(receipt.owner, &mut saved);
        ffi::ExecSimpleRelationInsert(receipt.rri, receipt.estate, receipt.slot);
        ffi::AfterTriggerEndQuery(receipt.estate);
        restore_user(&saved);
        let mut has_consent = false;
        let mut result = receipt::close(&mut receipt, &mut has_consent);
        if has_consent {
            let mut args = [result, subject];
            level = pin_search_path(level);
            let rc = ffi::SPI_execute_plan(e.consent, args.as_mut_ptr(), std::ptr::null(), false, 1);
            result = single_result(rc, true);
        } else {
            result = transferred(result);
        }
        // Every row about the subject is gone (or rewritten without its id), or nothing is erased.
        // Last: the receipt's and the consent records' triggers run before it.
        if !e.anonymize.is_null() || erasure_runs_dba_code(e.deletes.tables, e.deletes.count) {
            level = pin_search_path(level);
            refuse_if_left_behind(readings.values.as_mut_ptr(), readings.nulls.as_ptr());
        }
        ffi::SPI_finish();
        unpin_search_path(level);
        result
    }
}
