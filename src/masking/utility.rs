//! Statements that are not planned, or not only: checks the planner hook cannot make.
//!
//! - A session whose login is masked cannot act as an unmasked role: `SET ROLE` to one is refused,
//!   and a switch made another way (`set_config('role')`, a `role` in PGOPTIONS or `ALTER ROLE ...
//!   SET`) is refused at its next statement, utility statements included.
//! - `COPY table TO` reads a plain table without planning a query, so for a masked session it is
//!   turned into `COPY (SELECT ... FROM ONLY table) TO` (see `crate::hooks`).
//! - `COPY table FROM` by a masked session may not write the input of a keyed rule (as INSERT).
//! - Foreign keys to masked columns cannot be created by masked sessions: whether an insert
//!   succeeds would tell whether a raw value exists (and `ON UPDATE CASCADE` would copy raw
//!   values into the new table).

use std::ffi::CStr;

use pgrx::pg_sys;
use pgrx::PgList;

use super::roles::is_masked;
use super::rules::{protection, Protection};
use crate::context;
use crate::pg::catalog;
use crate::pg::errors::refuse;

/// Refuses a masked login acting as an unmasked role (checked at every statement).
pub fn check_role_switch() {
    // SAFETY: reads backend globals; cannot raise.
    let (login, outer) = unsafe { (crate::pg::ffi::GetSessionUserId(), crate::pg::ffi::GetOuterUserId()) };
    if login != outer && super::roles::any_masked_role() && is_masked(login) && !is_masked(outer) {
        refuse_switch(login, outer);
    }
}

fn refuse_switch(login: pg_sys::Oid, target: pg_sys::Oid) -> ! {
    refuse(
        format!(
            "role \"{}\" is masked and cannot act as unmasked role \"{}\"",
            catalog::role_name(login),
            catalog::role_name(target)
        ),
        "A session that logged in as a masked role stays masked. Log in as the other role instead.",
    )
}

/// `SET ROLE x` from a masked login: refused if x is unmasked.
///
/// # Safety
/// `stmt` must be a valid VariableSetStmt.
pub unsafe fn check_set_role(stmt: *mut pg_sys::VariableSetStmt) {
    // SAFETY: fields of a valid VariableSetStmt; args is a list of A_Const.
    unsafe {
        if (*stmt).kind != pg_sys::VariableSetKind::VAR_SET_VALUE || (*stmt).name.is_null() {
            return;
        }
        if CStr::from_ptr((*stmt).name).to_bytes() != b"role" {
            return;
        }
        let args = PgList::<pg_sys::Node>::from_pg((*stmt).args);
        let Some(arg) = args.get_ptr(0) else { return };
        if !pgrx::is_a(arg, pg_sys::NodeTag::T_A_Const) {
            return;
        }
        let aconst = arg as *mut pg_sys::A_Const;
        if (*aconst).isnull || (*aconst).val.node.type_ != pg_sys::NodeTag::T_String {
            return;
        }
        let name = (*aconst).val.sval.sval;
        if name.is_null() || CStr::from_ptr(name).to_bytes() == b"none" {
            return;
        }
        let target = pg_sys::get_role_oid(name, true);
        let login = context::login();
        if target != pg_sys::InvalidOid && target != login && is_masked(login) && !is_masked(target) {
            refuse_switch(login, target);
        }
    }
}

/// Whether `COPY relid TO` must become a query for the masked session.
pub fn copy_needs_query(relid: pg_sys::Oid) -> bool {
    super::rules::is_protected(relid, false)
}

/// A trigger whose function a masked role owns, on a relation with masking rules (or on one of
/// its partitions or children), would hand that role's code the raw rows (`OLD`, `NEW`) whoever
/// writes them; so would a CHECK constraint, generated column or index expression calling such a
/// function (`catalog::code_functions`). Checked for every write to such a relation, whoever runs it (so also triggers
/// created before the rule or before the role was masked): the statement is refused instead.
pub fn refuse_masked_triggers(relid: pg_sys::Oid) {
    if !super::rules::any_rules() || !super::roles::any_masked_role() {
        return;
    }
    let family = catalog::descendants_cached(relid);
    for rel in std::iter::once(relid).chain(family.iter().copied()) {
        if let Some((name, owner)) = masked_trigger(rel) {
            refuse(
                format!(
                    "{name} on {} runs a function of masked role \"{}\", which would see raw values",
                    catalog::relation_name(rel),
                    catalog::role_name(owner)
                ),
                "A privacy admin should drop it, or give its function to an unmasked owner who vouches for it.",
            );
        }
    }
}

backend_local! {
    /// Per relation: code (an enabled trigger, a CHECK constraint, a generated column, an index
    /// expression) calling a function a masked role owns, if the relation has masking rules. Trigger and rule changes invalidate the relation; label and membership
    /// changes the roles; function owner changes the functions.
    static MASKED_TRIGGER: crate::pg::cache::CachedMap<pg_sys::Oid, Option<(String, pg_sys::Oid)>> =
        crate::pg::cache::CachedMap::depending_on(crate::pg::cache::Deps::of(&[
            crate::pg::cache::Class::Relations,
            crate::pg::cache::Class::Roles,
            crate::pg::cache::Class::Functions,
        ]));
}

fn masked_trigger(rel: pg_sys::Oid) -> Option<(String, pg_sys::Oid)> {
    MASKED_TRIGGER.with(|c| {
        c.get(rel, |rel| {
            crate::pg::cache::watch_relation(rel, crate::pg::cache::Class::Relations);
            if !super::rules::is_protected(rel, false) {
                return None;
            }
            // triggers, and (found by an attack pass) CHECK constraints, generated columns and
            // index expressions written before the rule: each runs its functions on every write
            catalog::code_functions(rel).into_iter().find_map(|(what, f)| {
                catalog::function_info(f).map(|i| i.owner).filter(|o| is_masked(*o)).map(|o| (what, o))
            })
        })
    })
}

/// `COPY relid FROM` by a masked session: the same write checks as INSERT.
pub fn check_copy_from(relid: pg_sys::Oid, columns: &[i16]) {
    check_foreign_key_writes(relid, columns);
    let Protection::Masked(rules) = protection(relid, false) else { return };
    for rule in rules.rules().iter() {
        if !rule.keyed {
            continue;
        }
        if let Some(a) = rule.inputs.iter().find(|a| **a == 0 || columns.contains(a)) {
            let name = |attno: i16| catalog::attribute_name(relid, attno).unwrap_or_default();
            refuse(
                format!(
                    "masked roles cannot write column \"{}\": the masking rule of \"{}\" computes a keyed value from it",
                    name(*a),
                    name(rule.attno)
                ),
                "Reading the row back would reveal the keyed value of a value of your choice. Ask an unmasked role.",
            );
        }
    }
}

/// Refuses a masked statement writing a value into a column whose foreign key references a
/// masked column: PostgreSQL's check of the key runs against the raw referenced values (it is
/// neither masked nor filtered: `crate::context::foreign_key_statement`), so whether the write
/// succeeds would tell whether a raw value exists. `written`: the columns given a value (INSERT
/// defaults and NULLs left out), for INSERT, UPDATE, MERGE and COPY FROM alike.
pub fn check_foreign_key_writes(relid: pg_sys::Oid, written: &[i16]) {
    if written.is_empty() {
        return;
    }
    // SAFETY: the relcache entry is held open while its foreign-key list (relcache-owned) is read.
    let references: Vec<(i16, pg_sys::Oid, i16)> = unsafe {
        let rel = pg_sys::RelationIdGetRelation(relid);
        if rel.is_null() {
            return;
        }
        let mut out = Vec::new();
        for fk in PgList::<pg_sys::ForeignKeyCacheInfo>::from_pg(pg_sys::RelationGetFKeyList(rel)).iter_ptr() {
            for k in 0..((*fk).nkeys.max(0) as usize).min((*fk).conkey.len()) {
                out.push(((*fk).conkey[k], (*fk).confrelid, (*fk).confkey[k]));
            }
        }
        pg_sys::RelationClose(rel);
        out
    };
    for (column, referenced, key) in references {
        if !written.contains(&column) {
            continue;
        }
        let Protection::Masked(rules) = protection(referenced, true) else { continue };
        if rules.masks(key) {
            refuse(
                format!(
                    "masked roles cannot write column \"{}\" of {}: its foreign key references masked column \"{}\" of {}",
                    catalog::attribute_name(relid, column).unwrap_or_default(),
                    catalog::relation_name(relid),
                    catalog::attribute_name(referenced, key).unwrap_or_default(),
                    catalog::relation_name(referenced)
                ),
                "Whether the write succeeds would tell whether a raw value exists there. Ask an unmasked role.",
            );
        }
    }
}

/// Refuses a masked statement deleting rows of `relid`, or changing its key columns (`updated`,
/// None for a DELETE), where a foreign key *from a masked column* of another table references it:
/// PostgreSQL's check of that key compares the raw values (`crate::context::foreign_key_statement`),
/// so whether the write succeeds would tell whether some stored raw value equals the key. The
/// keys are found through the referenced table's own foreign-key triggers (relcache).
pub fn check_referenced_writes(relid: pg_sys::Oid, updated: Option<&[i16]>) {
    const ACTIONS: [u32; 10] = [
        pg_sys::F_RI_FKEY_NOACTION_DEL,
        pg_sys::F_RI_FKEY_RESTRICT_DEL,
        pg_sys::F_RI_FKEY_CASCADE_DEL,
        pg_sys::F_RI_FKEY_SETNULL_DEL,
        pg_sys::F_RI_FKEY_SETDEFAULT_DEL,
        pg_sys::F_RI_FKEY_NOACTION_UPD,
        pg_sys::F_RI_FKEY_RESTRICT_UPD,
        pg_sys::F_RI_FKEY_CASCADE_UPD,
        pg_sys::F_RI_FKEY_SETNULL_UPD,
        pg_sys::F_RI_FKEY_SETDEFAULT_UPD,
    ];
    // SAFETY: the relcache entry is held open while its trigger descriptor is read.
    let constraints: Vec<pg_sys::Oid> = unsafe {
        let rel = pg_sys::RelationIdGetRelation(relid);
        if rel.is_null() {
            return;
        }
        let td = (*rel).trigdesc;
        let mut out = Vec::new();
        for i in 0..if td.is_null() { 0 } else { (*td).numtriggers as usize } {
            let tg = &*(*td).triggers.add(i);
            if tg.tgisinternal && ACTIONS.contains(&tg.tgfoid.to_u32()) && !out.contains(&tg.tgconstraint) {
                out.push(tg.tgconstraint);
            }
        }
        pg_sys::RelationClose(rel);
        out
    };
    for conid in constraints {
        let Some(c) = constraint_reference(conid) else { continue };
        if let Some(updated) = updated {
            if !c.confkey.iter().any(|k| updated.contains(k)) {
                continue;
            }
        }
        let Protection::Masked(rules) = protection(c.conrelid, true) else { continue };
        if let Some(a) = c.conkey.iter().find(|a| rules.masks(**a)) {
            refuse(
                format!(
                    "masked roles cannot {} rows of {}: masked column \"{}\" of {} references them by foreign key",
                    if updated.is_some() { "change the keys of" } else { "delete" },
                    catalog::relation_name(relid),
                    catalog::attribute_name(c.conrelid, *a).unwrap_or_default(),
                    catalog::relation_name(c.conrelid)
                ),
                "Whether it succeeds would tell whether a raw value equals the key. Ask an unmasked role.",
            );
        }
    }
}

/// Refuses a foreign key a masked session just created if it references a masked column
/// (object-access hook, after the constraint row is written).
pub fn check_new_constraint(conid: pg_sys::Oid) {
    let Some(ConstraintReference { contype, confrelid, confkey, conrelid, conkey }) = constraint_reference(conid) else { return };
    if contype != b'f' || confrelid == pg_sys::InvalidOid {
        return;
    }
    // a key *from* a masked column: whether a referenced row can be deleted would tell whether a
    // raw value equals it (and its validation compares the raw values)
    if let Protection::Masked(rules) = protection(conrelid, true) {
        if let Some(a) = conkey.iter().find(|a| rules.masks(**a)) {
            refuse(
                format!(
                    "masked roles cannot create a foreign key on masked column \"{}\" of {}",
                    catalog::attribute_name(conrelid, *a).unwrap_or_default(),
                    catalog::relation_name(conrelid)
                ),
                "Whether a referenced row can be deleted would tell whether a raw value equals it. Ask an unmasked role.",
            );
        }
    }
    let Protection::Masked(rules) = protection(confrelid, true) else { return };
    if let Some(a) = confkey.iter().find(|a| rules.masks(**a)) {
        refuse(
            format!(
                "masked roles cannot create a foreign key referencing masked column \"{}\" of {}",
                catalog::attribute_name(confrelid, *a).unwrap_or_default(),
                catalog::relation_name(confrelid)
            ),
            "Whether a row can be inserted would tell whether a raw value exists. Reference an unmasked key instead.",
        );
    }
}

/// A constraint's type, referenced table and columns, and its own table and columns.
struct ConstraintReference {
    contype: u8,
    confrelid: pg_sys::Oid,
    confkey: Vec<i16>,
    conrelid: pg_sys::Oid,
    conkey: Vec<i16>,
}

/// A constraint's reference, read with SnapshotSelf (which sees a row created by the current
/// command before it ends).
fn constraint_reference(conid: pg_sys::Oid) -> Option<ConstraintReference> {
    let cat = catalog::oid(catalog::PG_CONSTRAINT);
    let (a_oid, a_type, a_frel, a_fkey) =
        (catalog::attnum(cat, c"oid"), catalog::attnum(cat, c"contype"), catalog::attnum(cat, c"confrelid"), catalog::attnum(cat, c"confkey"));
    let (a_rel, a_key) = (catalog::attnum(cat, c"conrelid"), catalog::attnum(cat, c"conkey"));
    // SAFETY: an index scan of pg_constraint by OID with SnapshotSelf; the row's attributes are
    // read with the catalog's descriptor before the scan ends.
    unsafe {
        let rel = pg_sys::table_open(cat, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let mut key: pg_sys::ScanKeyData = std::mem::zeroed();
        pg_sys::ScanKeyInit(&mut key, a_oid, pg_sys::BTEqualStrategyNumber as u16, pg_sys::Oid::from(pg_sys::F_OIDEQ), pg_sys::Datum::from(conid));
        let index = catalog::oid(catalog::PG_CONSTRAINT_OID_INDEX);
        let scan = pg_sys::systable_beginscan(rel, index, true, &raw mut pg_sys::SnapshotSelfData, 1, &mut key);
        let tuple = pg_sys::systable_getnext(scan);
        let mut out = None;
        if !tuple.is_null() {
            let desc = (*rel).rd_att;
            let mut isnull = false;
            let contype = pg_sys::heap_getattr(tuple, a_type as i32, desc, &mut isnull).value() as u8;
            let confrelid = pg_sys::Oid::from(pg_sys::heap_getattr(tuple, a_frel as i32, desc, &mut isnull).value() as u32);
            let conrelid = pg_sys::Oid::from(pg_sys::heap_getattr(tuple, a_rel as i32, desc, &mut isnull).value() as u32);
            let keys = |attno: i16| {
                let mut isnull = false;
                let datum = pg_sys::heap_getattr(tuple, attno as i32, desc, &mut isnull);
                let mut keys = Vec::new();
                if !isnull {
                    if let Some(arr) = <pgrx::Array<i16> as pgrx::FromDatum>::from_datum(datum, false) {
                        keys.extend(arr.iter().flatten());
                    }
                }
                keys
            };
            let (confkey, conkey) = (keys(a_fkey), keys(a_key));
            out = Some(ConstraintReference { contype, confrelid, confkey, conrelid, conkey });
        }
        pg_sys::systable_endscan(scan);
        pg_sys::table_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        out
    }
}
