//! Masking rules: compiled once per backend into expression trees bound to OIDs, and resolved
//! across inheritance in one place.
//!
//! PostgreSQL's catalog holds the rules (`pg_seclabel`), so they follow the columns they label
//! (dropped with them, shown by `\d+`, dumped by pg_dump) and need no table of ours.
//!
//! **Compiling** a rule: PostgreSQL's parser and analyzer, under a pinned
//! `search_path = pg_catalog, pg_temp`, turn the rule text into an expression over the table's
//! columns whose functions and operators are OIDs; it is then checked (one expression, trusted
//! functions only, assignable to the column's type) and adjusted:
//! - calls of keyed functions (`hash`, `pseudo_*`, `pseudonymize`) become calls of their *rule
//!   variants*, which take a first argument of type `privacy.rule_call`. No SQL can make a value of
//!   that type (its input function refuses everything, nothing casts to it), so a masked role
//!   cannot call a rule variant itself, in the leader or in a parallel worker, while the constant
//!   the rule carries survives plan serialization to workers;
//! - `noise(value, ratio)` becomes its keyed variant: the noise is drawn from a keyed hash of the
//!   column's name, the row's primary key (if it has one) and the value, so reading the same row
//!   again gives the same noisy value and averaging repeated reads learns nothing (names, not
//!   OIDs: a dump restored elsewhere masks the same way);
//! - a rule that calls functions which may quote their input in an error message (casts, input
//!   functions: anything not LEAKPROOF outside the `privacy` schema) is wrapped so that such an
//!   error names the rule instead of the raw value (see `masking::side_channels`).
//!
//! **Resolving** which rule applies to a column of a relation ([`resolve`]): the column's own
//! label, else the nearest ancestor's (inheritance or partitioning, by column name). A read that
//! includes child tables (`FROM parent` rather than `FROM ONLY parent`) also takes rules found only
//! on children, so a child's rule cannot be bypassed by reading through its parent: the parent's
//! column is then masked with that rule for every row the read returns (with `NULL` when children
//! disagree). The `privacy.masking_rules` view is computed by the same function, so it lists such
//! columns too, with `applies_to = 'reads including child tables'`.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::rc::Rc;

use pgrx::pg_sys;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::prelude::*;
use pgrx::PgList;
use privacy_core::label::{parse_column_label, parse_schema_label, ColumnRule};

use crate::pg::cache::{watch_relation, Cached, CachedMap, Class};
use crate::pg::catalog;
use crate::pg::errors::{or_raise, raise};
use crate::pg::nodes::{self, walk, OwnedContext};

/// Keyed functions (one `text` argument) a masked role may not call on input of its choice; each
/// has a rule variant of the same name taking `(privacy.rule_call, text)`.
pub const KEYED_FUNCTIONS: &[&str] =
    &["hash", "pseudo_email", "pseudo_first_name", "pseudo_last_name", "pseudo_phone", "pseudo_city", "pseudonymize"];


/// How a relation is protected for masked readers.
#[derive(Clone)]
pub enum Protection {
    /// No masking rule applies.
    None,
    /// Column rules.
    Masked(Rc<MaskedRelation>),
    /// A materialized view derived from masked columns: masked roles may not read it.
    DerivedMatview,
}

/// One column's compiled rule.
pub struct CompiledRule {
    pub attno: i16,
    /// Expression over Vars of varno 1, in the relation's memory context; copy before use.
    pub expr: *mut pg_sys::Node,
    /// Columns the rule reads (0 = the whole row).
    pub inputs: Vec<i16>,
    /// Columns keyed noise is drawn from besides its inputs (the primary key's), which masked
    /// roles may not change.
    pub seed: Vec<i16>,
    /// Whether the rule computes keyed values (keyed functions, keyed noise) of its inputs.
    pub keyed: bool,
}

/// A masked relation's rules, compiled column by column the first time a masked statement needs
/// them (a table with 1,500 rules costs a masked reader of three columns three compilations),
/// and kept for the backend until the relation's rules change.
pub struct MaskedRelation {
    pub relid: pg_sys::Oid,
    /// Masked columns and their rules, resolved across inheritance (see [`protection_kind`]).
    columns: Rc<MaskedColumns>,
    /// Compiled so far (expressions in `context`).
    compiled: std::cell::RefCell<Vec<CompiledRule>>,
    /// Keeps the rules' memory alive while anyone holds this relation.
    context: Rc<OwnedContext>,
}

impl MaskedRelation {
    pub fn masks(&self, attno: i16) -> bool {
        self.columns.attnos.contains(&attno)
    }

    /// Every rule, compiled (writes, COPY FROM and foreign keys check them all).
    pub fn rules(&self) -> std::cell::Ref<'_, Vec<CompiledRule>> {
        for attno in self.columns.attnos.iter() {
            self.ensure(*attno);
        }
        self.compiled.borrow()
    }

    /// (attno, expression) pairs for substituting the masked columns among `wanted` (every
    /// masked column when `wanted` holds 0, a whole-row reference).
    pub fn expressions_for(&self, wanted: &[i16]) -> Vec<(i16, *mut pg_sys::Node)> {
        let all = wanted.contains(&0);
        let needed: Vec<i16> = self.columns.attnos.iter().copied().filter(|a| all || wanted.contains(a)).collect();
        for attno in &needed {
            self.ensure(*attno);
        }
        self.compiled.borrow().iter().filter(|r| needed.contains(&r.attno)).map(|r| (r.attno, r.expr)).collect()
    }

    /// Every masked column's (attno, expression) pair.
    pub fn expressions(&self) -> Vec<(i16, *mut pg_sys::Node)> {
        self.expressions_for(&[0])
    }

    fn is_compiled(&self, attno: i16) -> bool {
        self.compiled.borrow().iter().any(|r| r.attno == attno)
    }

    /// Compiles the rule of masked column `attno` unless it is compiled already. No borrow is
    /// held while compiling: compiling reads catalogs and may raise.
    fn ensure(&self, attno: i16) {
        if self.is_compiled(attno) || !self.masks(attno) {
            return;
        }
        let rule = match self.columns.resolved.iter().find(|r| r.attno == attno) {
            Some(r) => self.compile_resolved(r),
            None => self.compile_generated(attno),
        };
        if !self.is_compiled(attno) {
            self.compiled.borrow_mut().push(rule);
        }
    }

    fn compile_resolved(&self, r: &ResolvedRule) -> CompiledRule {
        let rule = or_raise(parse_column_label(&r.text));
        // SAFETY: the column exists (resolve read it from the relation); compilation happens in
        // the current context and the result is copied into the relation's context.
        match unsafe { compile_rule(self.relid, r.attno, &rule) } {
            Ok(c) => CompiledRule {
                attno: r.attno,
                // SAFETY: c.expr is a valid tree; the context is live.
                expr: unsafe { nodes::copy_into(self.context.get(), c.expr) },
                inputs: c.inputs,
                seed: c.seed,
                keyed: c.keyed,
            },
            Err(RuleError(message, hint)) => raise(
                PgSqlErrorCode::ERRCODE_INVALID_OBJECT_DEFINITION,
                format!("masking rule on {}.{} is no longer valid: {message}", catalog::relation_name(r.source), r.column),
                format!("A privacy admin must fix or drop the rule (SECURITY LABEL FOR privacy ON COLUMN ... IS NULL). {hint}"),
            ),
        }
    }

    /// A stored generated column computed from masked columns: masked readers see the generation
    /// expression evaluated over the masked values.
    fn compile_generated(&self, attno: i16) -> CompiledRule {
        // SAFETY: generation_expression returns the expression of a generated column (the column
        // is in `masked` because it is one, computed from masked columns).
        unsafe {
            let expr = generation_expression(self.relid, attno);
            let inputs = nodes::columns_read(expr);
            let rule_inputs: Vec<i16> = inputs.iter().copied().filter(|a| self.columns.resolved.iter().any(|r| r.attno == *a)).collect();
            for a in &rule_inputs {
                self.ensure(*a);
            }
            let (pairs, keyed) = {
                let compiled = self.compiled.borrow();
                let used: Vec<&CompiledRule> = compiled.iter().filter(|r| rule_inputs.contains(&r.attno)).collect();
                (used.iter().map(|r| (r.attno, r.expr)).collect::<Vec<_>>(), used.iter().any(|r| r.keyed))
            };
            // Generation expressions cannot hold whole-row Vars, so no RTE is needed.
            let substituted = nodes::replace_vars(expr, 1, std::ptr::null_mut(), &pairs, 0);
            CompiledRule { attno, expr: nodes::copy_into(self.context.get(), substituted), inputs, seed: Vec::new(), keyed }
        }
    }
}

pub struct MaskedColumns {
    pub attnos: Vec<i16>,
    pub resolved: Vec<ResolvedRule>,
}

/// What protects a relation, known without compiling its rules (labels and catalogs only): what
/// every statement that merely asks "is this relation masked?" needs, so that unmasked sessions
/// (superusers included) never pay for compiling the rules of the tables they touch.
#[derive(Clone)]
pub enum ProtectionKind {
    None,
    /// The masked columns (those with a rule, and stored generated columns computed from them)
    /// and the rules, resolved but not compiled.
    Masked(Rc<MaskedColumns>),
    DerivedMatview,
}

impl ProtectionKind {
    pub fn is_none(&self) -> bool {
        matches!(self, ProtectionKind::None)
    }
}

backend_local! {
    static ANY_RULES: Cached<bool> = const { Cached::new(Class::Relations) };
    static PROTECTION_KIND: CachedMap<(pg_sys::Oid, bool), ProtectionKind> = CachedMap::new(Class::Relations);
    static IS_PROTECTED: CachedMap<(pg_sys::Oid, bool), bool> = CachedMap::new(Class::Relations);
    static PROTECTION: CachedMap<(pg_sys::Oid, bool), Protection> = CachedMap::new(Class::Relations);
    static TRUSTED_SCHEMAS: Cached<Vec<pg_sys::Oid>> = const { Cached::new(Class::Relations) };
    static RULE_FUNCTIONS: Cached<RuleFunctions> = const { Cached::new(Class::Relations) };
}

/// Whether any masking rule exists in this database (cached).
pub fn any_rules() -> bool {
    *ANY_RULES.with(|c| {
        c.get(|| {
            catalog::extension_schema().is_some() && catalog::label_summary().column_rules
        })
    })
}

// ------------------------------------------------------------------ resolution

/// Where a column's rule applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applies {
    /// Every read of the column.
    Always,
    /// Reads of a parent that include its child tables (a child has the rule).
    WithChildren,
}

/// The rule that applies to one column.
#[derive(Clone, Debug)]
pub struct ResolvedRule {
    pub attno: i16,
    pub column: String,
    pub text: String,
    /// The relation whose column carries the label (this one, an ancestor or a child).
    pub source: pg_sys::Oid,
    pub applies: Applies,
}

/// Labels of a relation's columns, by column name.
fn labels_by_name(relid: pg_sys::Oid) -> HashMap<String, String> {
    let labels = catalog::column_labels_of(relid);
    if labels.is_empty() {
        return HashMap::new();
    }
    // names from the relation's descriptor, not one syscache lookup per labelled column
    let names: HashMap<i16, String> = columns_of(relid).into_iter().map(|(attno, name, _)| (attno, name)).collect();
    labels.into_iter().filter_map(|(attno, label)| names.get(&attno).map(|name| (name.clone(), label))).collect()
}

/// Live columns of a relation: (attno, name, attgenerated).
fn columns_of(relid: pg_sys::Oid) -> Vec<(i16, String, u8)> {
    // SAFETY: the relation is opened for the read (callers have it locked or merely inspect it);
    // attributes are read from its descriptor while it is open.
    unsafe {
        let rel = pg_sys::try_relation_open(relid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        if rel.is_null() {
            return Vec::new();
        }
        let desc = (*rel).rd_att;
        let mut cols = Vec::new();
        for i in 0..(*desc).natts as usize {
            let attr = crate::pg::version::tuple_desc_attr(desc, i);
            if !(*attr).attisdropped {
                let name = CStr::from_ptr((*attr).attname.data.as_ptr()).to_string_lossy().into_owned();
                cols.push(((*attr).attnum, name, (*attr).attgenerated as u8));
            }
        }
        pg_sys::relation_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        cols
    }
}

/// The rules that apply to `relid`'s columns when it is read with (`inh`) or without its children.
/// This is the one resolver: query masking and the `privacy.masking_rules` view both use it.
pub fn resolve(relid: pg_sys::Oid, inh: bool) -> Vec<ResolvedRule> {
    // A Citus shard is masked with its table's rules only: the labels live on the table (on every
    // node, kept current by Citus), the rows in the shard. A shard's own labels are copies Citus
    // made when it created the shard; they go stale when the table's rules change, so they are
    // not read (nor are those of the shards of its parents, whose tables are the table's
    // ancestors).
    let mut chain = vec![relid];
    if let Some(table) = crate::pg::citus::shard_of(relid) {
        chain = vec![table];
        chain.extend(catalog::ancestors_of(table));
    } else {
        chain.extend(catalog::ancestors_of(relid));
    }
    let chain_labels: Vec<(pg_sys::Oid, HashMap<String, String>)> = chain.iter().map(|r| (*r, labels_by_name(*r))).collect();
    let labels_of_child = |r: pg_sys::Oid| (r, labels_by_name(crate::pg::citus::shard_of(r).unwrap_or(r)));
    let child_labels: Vec<(pg_sys::Oid, HashMap<String, String>)> =
        if inh { catalog::descendants_of(relid).into_iter().map(labels_of_child).collect() } else { Vec::new() };
    let mut out = Vec::new();
    let columns = columns_of(relid);
    for (attno, name, _) in columns.iter().cloned() {
        if let Some((source, text)) = chain_labels.iter().find_map(|(r, l)| l.get(&name).map(|t| (*r, t.clone()))) {
            out.push(ResolvedRule { attno, column: name, text, source, applies: Applies::Always });
            continue;
        }
        let mut found: Vec<(pg_sys::Oid, String)> =
            child_labels.iter().filter_map(|(r, l)| l.get(&name).map(|t| (*r, t.clone()))).collect();
        if found.is_empty() {
            continue;
        }
        let mut texts: Vec<&String> = found.iter().map(|(_, t)| t).collect();
        texts.sort();
        texts.dedup();
        let text = if texts.len() == 1 {
            texts[0].clone()
        } else {
            // Children disagree: reading through the parent hides the column entirely.
            "MASKED WITH VALUE NULL".to_owned()
        };
        let (source, _) = found.remove(0);
        out.push(ResolvedRule { attno, column: name, text, source, applies: Applies::WithChildren });
    }
    if inh {
        for child in catalog::descendants_of(relid) {
            masked_generated_in_child(&columns, child, &mut out);
        }
    }
    out
}

/// A child or partition may compute a column from masked columns where its parent stores a plain
/// one (`GENERATED ... STORED` on the child only: `CREATE TABLE ... INHERITS`, `ALTER TABLE ...
/// INHERIT`, `ATTACH PARTITION` allow it). Read through the parent, that column would carry the
/// child's expression over the raw values, so the parent's column of that name reads as NULL
/// for masked roles in reads that include children, as a column whose children disagree does.
fn masked_generated_in_child(parent_columns: &[(i16, String, u8)], child: pg_sys::Oid, out: &mut Vec<ResolvedRule>) {
    let child_masked: Vec<i16> = resolve(child, false).iter().map(|r| r.attno).collect();
    for (_, name) in generated_from(child, &child_masked) {
        let Some((parent_attno, parent_name, _)) = parent_columns.iter().find(|(_, n, _)| *n == name) else { continue };
        if !out.iter().any(|r| r.attno == *parent_attno) {
            out.push(ResolvedRule {
                attno: *parent_attno,
                column: parent_name.clone(),
                text: "MASKED WITH VALUE NULL".to_owned(),
                source: child,
                applies: Applies::WithChildren,
            });
        }
    }
}

/// Stored generated columns of `relid` computed from columns in `masked`: (attno, name).
fn generated_from(relid: pg_sys::Oid, masked: &[i16]) -> Vec<(i16, String)> {
    if masked.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (attno, name, generated) in columns_of(relid) {
        if !crate::pg::version::is_generated(generated) || masked.contains(&attno) {
            continue;
        }
        // SAFETY: the generation expression of a generated column of an existing relation.
        let expr = unsafe { generation_expression(relid, attno) };
        // SAFETY: expr is a valid tree when not NULL.
        if !expr.is_null() && unsafe { nodes::references_columns(expr, 1, 0, |a| a == 0 || masked.contains(&a)) } {
            out.push((attno, name));
        }
    }
    out
}

/// Every rule in force in this database: the function behind `privacy.masking_rules`.
#[pg_extern(stable, parallel_safe)]
fn masking_rule_list() -> TableIterator<
    'static,
    (
        name!(relation, pg_sys::Oid),
        name!(column_name, String),
        name!(rule, String),
        name!(source, pg_sys::Oid),
        name!(applies_to, String),
    ),
> {
    let mut relations: Vec<pg_sys::Oid> = Vec::new();
    for l in catalog::labels(None) {
        if l.classoid == pg_sys::RelationRelationId && l.objsubid > 0 && !relations.contains(&l.objoid) {
            relations.push(l.objoid);
        }
    }
    let labelled = relations.clone();
    for rel in labelled {
        for other in catalog::descendants_of(rel).into_iter().chain(catalog::ancestors_of(rel)) {
            if !relations.contains(&other) {
                relations.push(other);
            }
        }
    }
    let mut rows = Vec::new();
    for rel in relations {
        if catalog::relkind(rel) == 0 {
            continue;
        }
        for r in resolve(rel, true) {
            let applies = match r.applies {
                Applies::Always => "all reads",
                Applies::WithChildren => "reads including child tables",
            };
            rows.push((rel, r.column, r.text, r.source, applies.to_owned()));
        }
    }
    rows.sort_by(|a, b| (catalog::relation_name(a.0), &a.1).cmp(&(catalog::relation_name(b.0), &b.1)));
    TableIterator::new(rows)
}

extension_sql!(
    r#"
-- Every rule in force, computed by the same resolver the query rewriting uses. A rule a table
-- inherits from an ancestor names it in inherited_from; a rule found on a child table applies to
-- the parent's column only in reads that include child tables.
CREATE VIEW privacy.masking_rules AS
SELECT relation::pg_catalog.regclass AS "table",
       column_name AS "column",
       rule,
       CASE WHEN source = relation THEN NULL ELSE source::pg_catalog.regclass END AS inherited_from,
       applies_to
FROM privacy.masking_rule_list();
GRANT SELECT ON privacy.masking_rules TO PUBLIC;
"#,
    name = "masking_rules_view",
    requires = [masking_rule_list]
);

// ------------------------------------------------------------------ protection per relation

/// The protection of `relid` read with (`inh`) or without its children. Cached until a label or
/// the relation (or one of its ancestors or children) changes.
pub fn protection(relid: pg_sys::Oid, inh: bool) -> Protection {
    if !any_rules() {
        return Protection::None;
    }
    PROTECTION.with(|c| {
        c.get_if_final((relid, inh), |(relid, inh)| {
            watch_relation(relid, Class::Relations);
            (compute_protection(relid, inh), crate::pg::citus::shard_answer_is_final(relid))
        })
    })
}

/// Whether `relid` is masked, and which of its columns, without compiling a rule (cached).
pub fn protection_kind(relid: pg_sys::Oid, inh: bool) -> ProtectionKind {
    if !any_rules() {
        return ProtectionKind::None;
    }
    PROTECTION_KIND.with(|c| {
        c.get_if_final((relid, inh), |(relid, inh)| {
            watch_relation(relid, Class::Relations);
            (compute_kind(relid, inh), crate::pg::citus::shard_answer_is_final(relid))
        })
    })
}

/// Whether any masking rule covers `relid` (or it is a materialized view derived from masked
/// columns), without compiling a rule: what every unmasked statement asks of the relations it
/// touches. A plain table or partition is answered by its own labels and its ancestors' (a
/// child has every column of its parents, so any rule on an ancestor's column covers it), each
/// read up to the first; other cases take [`protection_kind`].
pub fn is_protected(relid: pg_sys::Oid, inh: bool) -> bool {
    if !any_rules() {
        return false;
    }
    IS_PROTECTED.with(|c| {
        c.get_if_final((relid, inh), |(relid, inh)| {
            watch_relation(relid, Class::Relations);
            let plain = matches!(catalog::relkind(relid), pg_sys::RELKIND_RELATION | pg_sys::RELKIND_PARTITIONED_TABLE | pg_sys::RELKIND_FOREIGN_TABLE)
                && (!inh || catalog::descendants_cached(relid).is_empty())
                && !crate::pg::citus::is_citus_table(relid)
                && crate::pg::citus::shard_of(relid).is_none();
            if !plain {
                return (!protection_kind(relid, inh).is_none(), crate::pg::citus::shard_answer_is_final(relid));
            }
            let ancestors = catalog::ancestors_of(relid);
            for a in &ancestors {
                watch_relation(*a, Class::Relations);
            }
            let found = std::iter::once(relid).chain(ancestors).any(catalog::has_column_label);
            (found, crate::pg::citus::shard_answer_is_final(relid))
        })
    })
}

fn compute_kind(relid: pg_sys::Oid, inh: bool) -> ProtectionKind {
    let relkind = catalog::relkind(relid);
    if relkind == pg_sys::RELKIND_MATVIEW {
        return if matview_reads_masked(relid) { ProtectionKind::DerivedMatview } else { ProtectionKind::None };
    }
    if !matches!(relkind, pg_sys::RELKIND_RELATION | pg_sys::RELKIND_PARTITIONED_TABLE | pg_sys::RELKIND_FOREIGN_TABLE) {
        return ProtectionKind::None;
    }
    for related in catalog::ancestors_of(relid).into_iter().chain(if inh { catalog::descendants_of(relid) } else { Vec::new() }) {
        watch_relation(related, Class::Relations);
    }
    if let Some(table) = crate::pg::citus::shard_of(relid) {
        watch_relation(table, Class::Relations);
    }
    let resolved = resolve(relid, inh);
    if resolved.is_empty() {
        return ProtectionKind::None;
    }
    let mut attnos: Vec<i16> = resolved.iter().map(|r| r.attno).collect();
    let generated: Vec<i16> = generated_from(relid, &attnos).into_iter().map(|(attno, _)| attno).collect();
    attnos.extend(generated);
    ProtectionKind::Masked(Rc::new(MaskedColumns { attnos, resolved }))
}

fn compute_protection(relid: pg_sys::Oid, inh: bool) -> Protection {
    match protection_kind(relid, inh) {
        ProtectionKind::None => Protection::None,
        ProtectionKind::DerivedMatview => Protection::DerivedMatview,
        ProtectionKind::Masked(columns) => Protection::Masked(Rc::new(MaskedRelation {
            relid,
            columns,
            compiled: std::cell::RefCell::new(Vec::new()),
            context: Rc::new(OwnedContext::new(c"pg_privacy masking rules")),
        })),
    }
}

/// The generation expression of a stored generated column (Vars of varno 1), or NULL.
unsafe fn generation_expression(relid: pg_sys::Oid, attno: i16) -> *mut pg_sys::Node {
    // SAFETY: build_column_default on an open relation returns the generation expression of a
    // generated column.
    unsafe {
        let rel = pg_sys::relation_open(relid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let expr = pg_sys::build_column_default(rel, attno as i32);
        pg_sys::relation_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        expr
    }
}

/// Whether a materialized view's defining query uses a masked column (directly, through views
/// and other materialized views, or possibly through a function whose body cannot be seen here:
/// [`crate::context::calls_opaque_function`]): its stored data would then be the owner's unmasked
/// view.
fn matview_reads_masked(relid: pg_sys::Oid) -> bool {
    stored_query_reads_masked(relid)
}

/// The same for a view's or materialized view's stored query (a view read by a materialized view
/// is expanded only when the materialized view is refreshed, so its query is looked at here).
fn stored_query_reads_masked(relid: pg_sys::Oid) -> bool {
    // SAFETY: get_view_query returns the stored query, read while the relation is open; nodes
    // are tag-checked before casts.
    unsafe {
        let rel = pg_sys::relation_open(relid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let query = pg_sys::get_view_query(rel);
        let mut uses_masked = crate::context::calls_opaque_function(query);
        for q in nodes::queries(query) {
            for (index, rte) in nodes::rtable(q) {
                if (*rte).rtekind != pg_sys::RTEKind::RTE_RELATION || (*rte).relid == relid {
                    continue;
                }
                watch_relation((*rte).relid, Class::Relations);
                if catalog::relkind((*rte).relid) == pg_sys::RELKIND_VIEW {
                    uses_masked |= stored_query_reads_masked((*rte).relid);
                    continue;
                }
                match protection_kind((*rte).relid, (*rte).inh) {
                    ProtectionKind::None => {}
                    ProtectionKind::DerivedMatview => uses_masked = true,
                    ProtectionKind::Masked(columns) => {
                        uses_masked |= nodes::references_columns(q.cast(), index, 0, |a| a == 0 || columns.attnos.contains(&a));
                    }
                }
            }
        }
        pg_sys::relation_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        uses_masked
    }
}

// ------------------------------------------------------------------ compilation

/// A rule that cannot be compiled: (message, hint).
pub struct RuleError(pub String, pub String);

fn rule_error(message: impl Into<String>, hint: impl Into<String>) -> RuleError {
    RuleError(message.into(), hint.into())
}

/// A freshly compiled rule (in the current memory context).
pub struct Compiled {
    pub expr: *mut pg_sys::Node,
    pub inputs: Vec<i16>,
    pub seed: Vec<i16>,
    pub keyed: bool,
}

/// Functions a compiled rule is rewritten to use, looked up once.
#[derive(Default)]
struct RuleFunctions {
    privacy: pg_sys::Oid,
    /// direct keyed function -> its rule variant
    keyed: Vec<(pg_sys::Oid, pg_sys::Oid)>,
    /// noise(value, ratio) -> its keyed rule variant, per value type
    noise: Vec<(pg_sys::Oid, pg_sys::Oid)>,
    rule_begin: pg_sys::Oid,
    rule_value: pg_sys::Oid,
}

fn lookup_function(name: &str, argtypes: &[pg_sys::Oid]) -> pg_sys::Oid {
    let Ok(cname) = CString::new(name) else { return pg_sys::InvalidOid };
    // SAFETY: builds a qualified name list and looks the function up by argument types.
    unsafe {
        let mut names = PgList::<pg_sys::Node>::new();
        names.push(nodes::string_node("privacy"));
        names.push(pg_sys::makeString(pg_sys::pstrdup(cname.as_ptr())).cast());
        pg_sys::LookupFuncName(names.into_pg(), argtypes.len() as i32, argtypes.as_ptr(), true)
    }
}

fn rule_functions() -> Rc<RuleFunctions> {
    RULE_FUNCTIONS.with(|c| {
        c.get(|| {
            let Some(privacy) = catalog::extension_schema() else { return RuleFunctions::default() };
            let marker = crate::pg::marker::type_oid();
            let mut f = RuleFunctions { privacy, ..Default::default() };
            for name in KEYED_FUNCTIONS {
                let direct = lookup_function(name, &[pg_sys::TEXTOID]);
                let variant = lookup_function(name, &[marker, pg_sys::TEXTOID]);
                if direct != pg_sys::InvalidOid && variant != pg_sys::InvalidOid {
                    f.keyed.push((direct, variant));
                }
            }
            for t in [pg_sys::FLOAT8OID, pg_sys::INT4OID, pg_sys::INT8OID] {
                let direct = lookup_function("noise", &[t, pg_sys::FLOAT8OID]);
                let variant =
                    lookup_function("noise", &[marker, t, pg_sys::FLOAT8OID, pg_sys::TEXTOID, pg_sys::TEXTOID]);
                if direct != pg_sys::InvalidOid && variant != pg_sys::InvalidOid {
                    f.noise.push((direct, variant));
                }
            }
            f.rule_begin = lookup_function("rule_begin", &[pg_sys::TEXTOID, pg_sys::ANYOID]);
            f.rule_value = lookup_function("rule_value", &[pg_sys::BOOLOID, pg_sys::ANYELEMENTOID]);
            f
        })
    })
}

/// Schemas a superuser labelled TRUSTED.
fn trusted_schemas() -> Rc<Vec<pg_sys::Oid>> {
    TRUSTED_SCHEMAS.with(|c| {
        c.get(|| {
            catalog::label_summary().schemas.iter().filter(|(_, label)| parse_schema_label(label).is_ok()).map(|(schema, _)| *schema).collect()
        })
    })
}

/// Validates a rule when its label is set: errors from PostgreSQL's parser ("function ... does
/// not exist", "syntax error") are re-raised naming the column, keeping their SQLSTATE.
pub fn validate(relid: pg_sys::Oid, attno: i16, rule: &ColumnRule) {
    let column = format!("{}.{}", catalog::relation_name(relid), catalog::attribute_name(relid, attno).unwrap_or_default());
    let compiled = pgrx::PgTryBuilder::new(std::panic::AssertUnwindSafe(|| {
        // SAFETY: relid/attno name an existing column (PostgreSQL resolved it for the label).
        unsafe { compile_rule(relid, attno, rule) }.map(|_| ())
    }))
    .catch_others(|caught| match caught {
        pgrx::pg_sys::panic::CaughtError::PostgresError(report) | pgrx::pg_sys::panic::CaughtError::ErrorReport(report) => raise(
            report.sql_error_code(),
            format!("invalid masking rule for column {column}: {}", report.message()),
            report.hint().unwrap_or("Check the rule's syntax, function names and argument types.").to_owned(),
        ),
        other => other.rethrow(),
    })
    .execute();
    if let Err(RuleError(message, hint)) = compiled {
        raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("invalid masking rule for column {column}: {message}"), hint);
    }
}

/// Compiles one rule for column `attno` of `relid`. The result is in the current memory context;
/// its Vars have varno 1.
///
/// # Safety
/// `relid` and `attno` must name an existing column.
pub unsafe fn compile_rule(relid: pg_sys::Oid, attno: i16, rule: &ColumnRule) -> Result<Compiled, RuleError> {
    let column = catalog::attribute_name(relid, attno).unwrap_or_default();
    let sql = CString::new(format!("SELECT {}", rule.expression()))
        .map_err(|_| rule_error("masking rule contains a NUL character", "Remove it."))?;
    let trusted = trusted_schemas();
    let functions = rule_functions();
    nodes::with_pinned_search_path(|| {
        // SAFETY: forwarded from the caller.
        unsafe { compile_under_pinned_path(relid, attno, &column, rule, &sql, &trusted, &functions) }
    })
}

unsafe fn compile_under_pinned_path(
    relid: pg_sys::Oid,
    attno: i16,
    column: &str,
    rule: &ColumnRule,
    sql: &CStr,
    trusted: &[pg_sys::Oid],
    functions: &RuleFunctions,
) -> Result<Compiled, RuleError> {
    let shape_hint = "A rule is one expression: a function call, an operator expression, a CASE, a literal; no SELECT, FROM or ';'.";
    // SAFETY: raw_parser returns a List of RawStmt; every node is tag-checked before use; the
    // relation is opened and closed inside.
    unsafe {
        let stmts = PgList::<pg_sys::RawStmt>::from_pg(pg_sys::raw_parser(sql.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT));
        let single = if stmts.len() == 1 { stmts.get_ptr(0) } else { None };
        let select = match single {
            Some(raw) if pgrx::is_a((*raw).stmt, pg_sys::NodeTag::T_SelectStmt) => (*raw).stmt as *mut pg_sys::SelectStmt,
            _ => return Err(rule_error(format!("masking rule for column \"{column}\" is not a single expression"), shape_hint)),
        };
        let s = &*select;
        let targets = PgList::<pg_sys::ResTarget>::from_pg(s.targetList);
        if targets.len() != 1
            || !s.fromClause.is_null()
            || !s.whereClause.is_null()
            || !s.groupClause.is_null()
            || !s.havingClause.is_null()
            || !s.windowClause.is_null()
            || !s.valuesLists.is_null()
            || !s.sortClause.is_null()
            || !s.limitCount.is_null()
            || !s.limitOffset.is_null()
            || !s.lockingClause.is_null()
            || !s.withClause.is_null()
            || !s.distinctClause.is_null()
            || !s.intoClause.is_null()
            || s.op != pg_sys::SetOperation::SETOP_NONE
        {
            return Err(rule_error(format!("masking rule for column \"{column}\" is not a single expression"), shape_hint));
        }
        let target = targets.get_ptr(0).ok_or_else(|| rule_error("empty masking rule", shape_hint))?;
        if !(*target).name.is_null() {
            return Err(rule_error(format!("masking rule for column \"{column}\" has an alias"), "Remove the AS clause."));
        }

        let rel = pg_sys::relation_open(relid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let pstate = pg_sys::make_parsestate(std::ptr::null_mut());
        (*pstate).p_sourcetext = sql.as_ptr();
        let nsitem =
            pg_sys::addRangeTableEntryForRelation(pstate, rel, pg_sys::AccessShareLock as i32, std::ptr::null_mut(), false, false);
        pg_sys::addNSItemToQuery(pstate, nsitem, false, true, true);
        let expr = pg_sys::transformExpr(pstate, (*target).val, pg_sys::ParseExprKind::EXPR_KIND_SELECT_TARGET);
        pg_sys::assign_expr_collations(pstate, expr);
        let attr = *crate::pg::version::tuple_desc_attr((*rel).rd_att, attno as usize - 1);
        let result = check_and_adjust(pstate, relid, attno, column, rule, expr, attr, trusted, functions);
        pg_sys::free_parsestate(pstate);
        pg_sys::relation_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        result
    }
}

#[allow(clippy::too_many_arguments)]
unsafe fn check_and_adjust(
    pstate: *mut pg_sys::ParseState,
    relid: pg_sys::Oid,
    attno: i16,
    column: &str,
    rule: &ColumnRule,
    expr: *mut pg_sys::Node,
    attr: pg_sys::FormData_pg_attribute,
    trusted: &[pg_sys::Oid],
    functions: &RuleFunctions,
) -> Result<Compiled, RuleError> {
    // SAFETY: expr is the analysed rule expression; nodes are tag-checked before casts; the
    // adjustments build new nodes in the current context.
    unsafe {
        let forbidden = walk(expr, |node, _| {
            pgrx::is_a(node, pg_sys::NodeTag::T_SubLink)
                || pgrx::is_a(node, pg_sys::NodeTag::T_Aggref)
                || pgrx::is_a(node, pg_sys::NodeTag::T_WindowFunc)
                || pgrx::is_a(node, pg_sys::NodeTag::T_GroupingFunc)
                || pgrx::is_a(node, pg_sys::NodeTag::T_Param)
        });
        if forbidden || pg_sys::expression_returns_set(expr) {
            return Err(rule_error(
                format!("masking rule for column \"{column}\" uses a subquery, aggregate, window or set-returning function"),
                "Rules are computed row by row from the row's own columns; move other logic into a function in a trusted schema.",
            ));
        }
        if matches!(rule, ColumnRule::Value(_)) && pg_sys::contain_var_clause(expr) {
            return Err(rule_error(
                format!("MASKED WITH VALUE for column \"{column}\" refers to a column"),
                "VALUE takes a constant; use MASKED WITH FUNCTION to compute from columns.",
            ));
        }
        let source_type = pg_sys::exprType(expr);
        let mut expr = pg_sys::coerce_to_target_type(
            pstate,
            expr,
            source_type,
            attr.atttypid,
            -1,
            pg_sys::CoercionContext::COERCION_ASSIGNMENT,
            pg_sys::CoercionForm::COERCE_IMPLICIT_CAST,
            -1,
        );
        if expr.is_null() {
            return Err(rule_error(
                format!(
                    "masking rule for column \"{column}\" returns type {}, which cannot be assigned to the column's type {}",
                    catalog::type_name(source_type),
                    catalog::type_name(attr.atttypid)
                ),
                "Cast the rule's result, or use a masking function that returns the column's type.",
            ));
        }
        // Keep the column's collation, so ORDER BY and comparisons on the masked value behave
        // as on the column.
        if pg_sys::type_is_collatable(attr.atttypid) && pg_sys::exprCollation(expr) != attr.attcollation {
            expr = pg_sys::makeRelabelType(expr.cast(), attr.atttypid, -1, attr.attcollation, pg_sys::CoercionForm::COERCE_IMPLICIT_CAST)
                .cast();
        }
        // Every function, operator and cast must come from a trusted schema.
        let called = nodes::functions_called(expr);
        let privacy = functions.privacy;
        let is_trusted = |f: pg_sys::Oid| {
            let nsp = pg_sys::get_func_namespace(f);
            nsp == pg_sys::Oid::from(pg_sys::PG_CATALOG_NAMESPACE) || nsp == privacy || trusted.contains(&nsp)
        };
        if let Some(untrusted) = called.iter().find(|f| !is_trusted(**f)) {
            return Err(rule_error(
                format!("masking rule for column \"{column}\" calls {}, which is not in a trusted schema", catalog::function_name(*untrusted)),
                "Rules may call functions in pg_catalog, privacy, and schemas a superuser labels TRUSTED \
                 (SECURITY LABEL FOR privacy ON SCHEMA s IS 'TRUSTED').",
            ));
        }
        let inputs = nodes::columns_read(expr);
        let keyed = retarget_keyed_calls(expr, relid, attno, functions)?;
        // Keyed noise is drawn from the row's primary key too (retargeting added it): a masked
        // role changing the key would get a fresh draw each time and average the noise away
        // (found by an attack pass), so those columns may not be changed by masked roles.
        let seed = nodes::columns_read(expr).into_iter().filter(|a| !inputs.contains(a)).collect();
        // A keyed function reached any other way (an operator or cast in a trusted schema) would
        // not carry the rule marker and would be refused at run time for masked readers.
        if let Some(f) = nodes::functions_called(expr).iter().find(|f| functions.keyed.iter().any(|(d, _)| d == *f)) {
            return Err(rule_error(
                format!("masking rule for column \"{column}\" reaches {} through an operator or cast", catalog::function_name(*f)),
                "Call keyed functions directly in the rule, e.g. privacy.hash(email).",
            ));
        }
        let expr = if may_quote_input(expr, privacy) { wrap_fallible(expr, relid, column, functions) } else { expr };
        Ok(Compiled { expr, inputs, seed, keyed })
    }
}

/// Turns calls of keyed functions and of `noise` into their rule variants (see the module
/// header). Returns whether the rule computes keyed values.
unsafe fn retarget_keyed_calls(expr: *mut pg_sys::Node, relid: pg_sys::Oid, attno: i16, f: &RuleFunctions) -> Result<bool, RuleError> {
    let mut keyed = false;
    let mut calls: Vec<*mut pg_sys::FuncExpr> = Vec::new();
    // SAFETY: walking a valid tree; FuncExpr nodes are tag-checked.
    unsafe {
        walk(expr, |node, _| {
            if pgrx::is_a(node, pg_sys::NodeTag::T_FuncExpr) {
                calls.push(node.cast());
            }
            false
        });
    }
    if calls.is_empty() {
        return Ok(false);
    }
    // SAFETY: each FuncExpr is modified in place: a new OID and new argument list, built as
    // PostgreSQL's parser would for the variant's signature.
    unsafe {
        for call in calls {
            let funcid = (*call).funcid;
            if let Some((_, variant)) = f.keyed.iter().find(|(d, _)| *d == funcid) {
                let mut args = PgList::<pg_sys::Node>::new();
                args.push(crate::pg::marker::constant().cast());
                for a in PgList::<pg_sys::Node>::from_pg((*call).args).iter_ptr() {
                    args.push(a);
                }
                (*call).funcid = *variant;
                (*call).args = args.into_pg();
                keyed = true;
            } else if let Some((_, variant)) = f.noise.iter().find(|(d, _)| *d == funcid) {
                let old = PgList::<pg_sys::Node>::from_pg((*call).args);
                let (Some(value), Some(ratio)) = (old.get_ptr(0), old.get_ptr(1)) else { continue };
                let mut args = PgList::<pg_sys::Node>::new();
                args.push(crate::pg::marker::constant().cast());
                args.push(value);
                args.push(ratio);
                args.push(text_const(&catalog::attribute_name(relid, attno).unwrap_or_default()).cast());
                args.push(row_seed(relid));
                (*call).funcid = *variant;
                (*call).args = args.into_pg();
                keyed = true;
            }
        }
    }
    Ok(keyed)
}

/// A text constant.
unsafe fn text_const(s: &str) -> *mut pg_sys::Const {
    let c = CString::new(s.replace('\0', "")).unwrap_or_default();
    // SAFETY: cstring_to_text copies into the current memory context.
    unsafe {
        let text = pg_sys::cstring_to_text(c.as_ptr());
        pg_sys::makeConst(pg_sys::TEXTOID, -1, pg_sys::DEFAULT_COLLATION_OID, -1, pg_sys::Datum::from(text), false, false)
    }
}

/// `ROW(primary key columns)::text` of relation `relid`, or `''` when it has no primary key:
/// what keyed noise is drawn from besides the value.
unsafe fn row_seed(relid: pg_sys::Oid) -> *mut pg_sys::Node {
    // SAFETY: the relation is open while its primary key is read; Vars and the row expression
    // are built as the parser would.
    unsafe {
        let rel = pg_sys::relation_open(relid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let pk = crate::pg::version::primary_key_index(rel);
        let mut vars = PgList::<pg_sys::Node>::new();
        if pk != pg_sys::InvalidOid {
            let index = pg_sys::index_open(pk, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
            let form = (*index).rd_index;
            let keys = (*form).indnkeyatts as usize;
            let attnums = (*form).indkey.values.as_slice(keys);
            for &a in attnums {
                if a <= 0 {
                    continue;
                }
                let attr = *crate::pg::version::tuple_desc_attr((*rel).rd_att, a as usize - 1);
                vars.push(pg_sys::makeVar(1, a, attr.atttypid, attr.atttypmod, attr.attcollation, 0).cast());
            }
            pg_sys::index_close(index, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        }
        pg_sys::relation_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        if vars.is_empty() {
            let empty = pg_sys::cstring_to_text(c"".as_ptr());
            return pg_sys::makeConst(pg_sys::TEXTOID, -1, pg_sys::DEFAULT_COLLATION_OID, -1, pg_sys::Datum::from(empty), false, false).cast();
        }
        let row = nodes::make_node::<pg_sys::RowExpr>(pg_sys::NodeTag::T_RowExpr);
        (*row).args = vars.into_pg();
        (*row).row_typeid = pg_sys::RECORDOID;
        (*row).row_format = pg_sys::CoercionForm::COERCE_IMPLICIT_CAST;
        (*row).location = -1;
        let io = nodes::make_node::<pg_sys::CoerceViaIO>(pg_sys::NodeTag::T_CoerceViaIO);
        (*io).arg = row.cast();
        (*io).resulttype = pg_sys::TEXTOID;
        (*io).resultcollid = pg_sys::DEFAULT_COLLATION_OID;
        (*io).coerceformat = pg_sys::CoercionForm::COERCE_IMPLICIT_CAST;
        (*io).location = -1;
        io.cast()
    }
}

/// Whether evaluating `expr` may raise an error that quotes its input: it calls a function that is
/// not LEAKPROOF outside the `privacy` schema (pg_privacy's own functions never quote values).
unsafe fn may_quote_input(expr: *mut pg_sys::Node, privacy: pg_sys::Oid) -> bool {
    // SAFETY: forwarded; lsyscache lookups per function.
    unsafe {
        nodes::functions_called(expr)
            .into_iter()
            .any(|f| pg_sys::get_func_namespace(f) != privacy && !pg_sys::get_func_leakproof(f))
    }
}

/// `privacy.rule_value(privacy.rule_begin('<table.column>', <a column>), expr)`: the first call
/// marks the rule as being evaluated (for the error context callback of
/// `masking::side_channels`), the second ends it and returns the value.
unsafe fn wrap_fallible(expr: *mut pg_sys::Node, relid: pg_sys::Oid, column: &str, f: &RuleFunctions) -> *mut pg_sys::Node {
    // SAFETY: builds two FuncExpr nodes over valid sub-trees, as the parser would.
    unsafe {
        if f.rule_begin == pg_sys::InvalidOid || f.rule_value == pg_sys::InvalidOid {
            return expr;
        }
        let mut anchor: *mut pg_sys::Node = std::ptr::null_mut();
        walk(expr, |n, _| {
            if pgrx::is_a(n, pg_sys::NodeTag::T_Var) {
                anchor = pg_sys::copyObjectImpl(n.cast()).cast();
                return true;
            }
            false
        });
        if anchor.is_null() {
            return expr;
        }
        let name = format!("{}.{}", catalog::relation_name(relid), column);
        let cname = CString::new(name).unwrap_or_default();
        let text = pg_sys::cstring_to_text(cname.as_ptr());
        let label = pg_sys::makeConst(pg_sys::TEXTOID, -1, pg_sys::DEFAULT_COLLATION_OID, -1, pg_sys::Datum::from(text), false, false);
        let mut begin_args = PgList::<pg_sys::Node>::new();
        begin_args.push(label.cast());
        begin_args.push(anchor);
        let begin = pg_sys::makeFuncExpr(
            f.rule_begin,
            pg_sys::BOOLOID,
            begin_args.into_pg(),
            pg_sys::InvalidOid,
            pg_sys::DEFAULT_COLLATION_OID,
            pg_sys::CoercionForm::COERCE_EXPLICIT_CALL,
        );
        let mut value_args = PgList::<pg_sys::Node>::new();
        value_args.push(begin.cast());
        value_args.push(expr);
        let collation = pg_sys::exprCollation(expr);
        pg_sys::makeFuncExpr(
            f.rule_value,
            pg_sys::exprType(expr),
            value_args.into_pg(),
            collation,
            collation,
            pg_sys::CoercionForm::COERCE_EXPLICIT_CALL,
        )
        .cast()
    }
}
