//! PostgreSQL entry points the hooks pass statements on to, and a few getters that cannot raise,
//! declared *without* pgrx's guard.
//!
//! pgrx wraps every function of `pg_sys` in a guard that catches a PostgreSQL ERROR, turns it
//! into a Rust panic and reports it again at the next Rust boundary as a new error. The new error
//! keeps the SQLSTATE and message but loses the cursor position, CONTEXT, QUERY, internal
//! position and the schema/table/column/constraint fields (pgrx 0.18.1). A hook that only passes
//! a statement on must not change what its errors look like, so hooks call these declarations:
//! an ERROR raised below them longjmps straight through the hook's frame to PostgreSQL's own
//! handler, every field intact.
//!
//! That is sound only if the calling frame holds nothing that needs dropping at the moment of the
//! call (a "plain old frame", RFC 2945): the hooks in `crate::hooks` do their own work in guarded
//! functions that return before they call these, and hold only raw pointers and integers here.

use pgrx::pg_sys;

/// Declares the fmgr version-1 info function PostgreSQL looks for beside a C-language function
/// written without `#[pg_extern]` (the pseudonym type's functions, the rights functions whose
/// errors must keep their fields).
macro_rules! fmgr_v1 {
    ($($info:ident),* $(,)?) => {
        $(
            #[no_mangle]
            #[doc(hidden)]
            pub extern "C" fn $info() -> &'static pgrx::pg_sys::Pg_finfo_record {
                const V1: pgrx::pg_sys::Pg_finfo_record = pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
                &V1
            }
        )*
    };
}

// SAFETY (for the block): these are PostgreSQL's own exported functions with the signatures of
// its headers for the versions this crate builds for (checked against 15 and 18.6). The one
// whose signature differs, standard_ExecutorRun, is declared and called in pg/version.rs.
unsafe extern "C-unwind" {
    pub fn standard_planner(
        parse: *mut pg_sys::Query,
        query_string: *const std::ffi::c_char,
        cursor_options: std::ffi::c_int,
        bound_params: pg_sys::ParamListInfo,
    ) -> *mut pg_sys::PlannedStmt;

    pub fn standard_ProcessUtility(
        pstmt: *mut pg_sys::PlannedStmt,
        query_string: *const std::ffi::c_char,
        read_only_tree: bool,
        context: pg_sys::ProcessUtilityContext::Type,
        params: pg_sys::ParamListInfo,
        query_env: *mut pg_sys::QueryEnvironment,
        dest: *mut pg_sys::DestReceiver,
        qc: *mut pg_sys::QueryCompletion,
    );

    pub fn standard_ExecutorStart(query_desc: *mut pg_sys::QueryDesc, eflags: std::ffi::c_int);

    pub fn standard_ExecutorFinish(query_desc: *mut pg_sys::QueryDesc);

    /// The login role (never raises: reads a backend global). Unguarded because every statement
    /// of every session asks, and the guard's setjmp costs more than the read.
    pub fn GetSessionUserId() -> pg_sys::Oid;

    /// The current user (never raises: reads a backend global).
    pub fn GetUserId() -> pg_sys::Oid;

    /// The role before any `SET ROLE` (never raises: reads a backend global).
    pub fn GetOuterUserId() -> pg_sys::Oid;

    /// PostgreSQL's ALTER POLICY (commands/policy.h, which pgrx does not bind). Call it only
    /// through `pg_sys::submodules::ffi::pg_guard_ffi_boundary`: it can raise.
    pub fn AlterPolicy(stmt: *mut pg_sys::AlterPolicyStmt) -> pg_sys::ObjectAddress;

    /// `errmsg()` replaces the message of the error being reported (used by an error context
    /// callback; pgrx does not bind the err*() family).
    pub fn errmsg(fmt: *const std::ffi::c_char, ...) -> std::ffi::c_int;

    /// `errdetail()` replaces the DETAIL of the error being reported.
    pub fn errdetail(fmt: *const std::ffi::c_char, ...) -> std::ffi::c_int;

    /// `errhint()` replaces the HINT of the error being reported.
    pub fn errhint(fmt: *const std::ffi::c_char, ...) -> std::ffi::c_int;

    /// SPI, for the extension's SQL-callable functions that run a statement with the caller's
    /// rights (`crate::rights::plans`): an ERROR of the statement (a permission, a foreign key)
    /// reaches the caller with every field, and SPI's own cleanup at abort closes the connection.
    pub fn SPI_connect() -> std::ffi::c_int;

    pub fn SPI_finish() -> std::ffi::c_int;

    pub fn SPI_execute_plan(
        plan: pg_sys::SPIPlanPtr,
        values: *mut pg_sys::Datum,
        nulls: *const std::ffi::c_char,
        read_only: bool,
        count: std::ffi::c_long,
    ) -> std::ffi::c_int;

    /// The lock manager's acquisition (storage/lock.h), for the consent ledger's chain locks
    /// (`crate::consent::record`): a deadlock or lock timeout reaches the caller with its DETAIL.
    pub fn LockAcquire(
        locktag: *const pg_sys::LOCKTAG,
        lockmode: pg_sys::LOCKMODE,
        session_lock: bool,
        dont_wait: bool,
    ) -> pg_sys::LockAcquireResult::Type;

    /// PostgreSQL's single-row writes without a plan (executor/execReplication.c, used by
    /// logical replication's apply worker), for `crate::consent::record`: constraint, unique,
    /// trigger and foreign-key errors keep every field.
    pub fn ExecSimpleRelationInsert(
        result_rel_info: *mut pg_sys::ResultRelInfo,
        estate: *mut pg_sys::EState,
        slot: *mut pg_sys::TupleTableSlot,
    );

    pub fn ExecSimpleRelationUpdate(
        result_rel_info: *mut pg_sys::ResultRelInfo,
        estate: *mut pg_sys::EState,
        epqstate: *mut pg_sys::EPQState,
        searchslot: *mut pg_sys::TupleTableSlot,
        slot: *mut pg_sys::TupleTableSlot,
    );

    pub fn RelationFindReplTupleByIndex(
        rel: pg_sys::Relation,
        idxoid: pg_sys::Oid,
        lockmode: pg_sys::LockTupleMode::Type,
        searchslot: *mut pg_sys::TupleTableSlot,
        outslot: *mut pg_sys::TupleTableSlot,
    ) -> bool;

    /// Fires the AFTER triggers queued since `AfterTriggerBeginQuery` (foreign-key checks).
    pub fn AfterTriggerEndQuery(estate: *mut pg_sys::EState);

    /// The next value of a sequence (commands/sequence.h, which pgrx does not bind), without the
    /// caller's privilege check: the consent ledger's ids (`crate::consent::record`).
    pub fn nextval_internal(relid: pg_sys::Oid, check_permissions: bool) -> i64;

    /// Whether two datums of one type hold the same image (utils/datum.h, which pgrx does not
    /// bind): varlenas compared by content whatever their header (a value read back from a stored
    /// tuple has a short header where the one built in memory had a long one).
    pub fn datum_image_eq(value1: pg_sys::Datum, value2: pg_sys::Datum, typ_by_val: bool, typ_len: std::ffi::c_int) -> bool;

    // COPY FROM's steps (`crate::pg::copy`), unguarded so that COPY's own error context (the line
    // and column of a bad row) reaches the client.
    pub fn make_parsestate(parent: *mut pg_sys::ParseState) -> *mut pg_sys::ParseState;
    pub fn free_parsestate(pstate: *mut pg_sys::ParseState);
    pub fn table_open(relation_id: pg_sys::Oid, lockmode: pg_sys::LOCKMODE) -> pg_sys::Relation;
    pub fn table_close(relation: pg_sys::Relation, lockmode: pg_sys::LOCKMODE);
    pub fn addRangeTableEntryForRelation(
        pstate: *mut pg_sys::ParseState,
        rel: pg_sys::Relation,
        lockmode: std::ffi::c_int,
        alias: *mut pg_sys::Alias,
        inh: bool,
        in_from_cl: bool,
    ) -> *mut pg_sys::ParseNamespaceItem;
    pub fn CopyGetAttnums(tup_desc: pg_sys::TupleDesc, rel: pg_sys::Relation, attnamelist: *mut pg_sys::List) -> *mut pg_sys::List;
    pub fn PreventCommandIfReadOnly(cmdname: *const std::ffi::c_char);
    pub fn BeginCopyFrom(
        pstate: *mut pg_sys::ParseState,
        rel: pg_sys::Relation,
        where_clause: *mut pg_sys::Node,
        filename: *const std::ffi::c_char,
        is_program: bool,
        data_source_cb: pg_sys::copy_data_source_cb,
        attnamelist: *mut pg_sys::List,
        options: *mut pg_sys::List,
    ) -> pg_sys::CopyFromState;
    pub fn CopyFrom(cstate: pg_sys::CopyFromState) -> u64;
    pub fn EndCopyFrom(cstate: pg_sys::CopyFromState);
    pub fn bms_add_member(set: *mut pg_sys::Bitmapset, member: std::ffi::c_int) -> *mut pg_sys::Bitmapset;
}

