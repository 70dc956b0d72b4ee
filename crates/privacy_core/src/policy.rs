//! Policy as code: the document `privacy.export_policy()` writes and `privacy.apply_policy()`
//! reads, and the difference between two documents.
//!
//! A document is the whole desired state of one database's pg_privacy policy: masking rules,
//! role labels, trusted schemas and functions, purposes, subject tables and the purposes allowed
//! to roles. It is versioned (`"format": "pg_privacy policy", "version": 1`); unknown keys are
//! errors, so a typo never silently drops a rule. Every list is kept sorted, so exporting the same
//! state always gives the same document. Names are checked here (non-empty, at most 63 bytes, no
//! NUL); rules and labels with the label grammar ([`crate::label`]). The extension applies the
//! difference with PostgreSQL's own statements, where every rule is validated again as
//! `SECURITY LABEL` validates it.

use serde::{Deserialize, Serialize};

use crate::label::{parse_column_label, parse_role_label};
use crate::{ErrorKind, MaskError};

pub const FORMAT: &str = "pg_privacy policy";
pub const VERSION: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub format: String,
    pub version: u32,
    #[serde(default)]
    pub masking_rules: Vec<MaskingRule>,
    #[serde(default)]
    pub role_labels: Vec<RoleLabelEntry>,
    #[serde(default)]
    pub trusted_schemas: Vec<String>,
    /// Functions by signature as `regprocedure` prints it, e.g. `masks.initials(text)`.
    #[serde(default)]
    pub trusted_functions: Vec<String>,
    #[serde(default)]
    pub purposes: Vec<Purpose>,
    #[serde(default)]
    pub subject_tables: Vec<SubjectTable>,
    #[serde(default)]
    pub allowed_purposes: Vec<AllowedPurpose>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskingRule {
    pub schema: String,
    pub table: String,
    pub column: String,
    pub rule: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleLabelEntry {
    pub role: String,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    pub name: String,
    pub requires_consent: bool,
    #[serde(default)]
    pub description: Option<String>,
    /// An interval as PostgreSQL prints it (`2 years`), or none.
    #[serde(default)]
    pub retention: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectTable {
    pub schema: String,
    pub table: String,
    pub column: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedPurpose {
    pub role: String,
    pub purpose: String,
}

fn invalid(message: String, hint: &str) -> MaskError {
    MaskError::new(ErrorKind::InvalidParameterValue, message, hint)
}

fn check_name(what: &str, name: &str) -> Result<(), MaskError> {
    if name.is_empty() || name.len() > 63 || name.contains('\0') {
        return Err(invalid(
            format!("invalid {what} name {name:?} in the policy document"),
            "Names are 1 to 63 bytes, as PostgreSQL stores them, without quotes.",
        ));
    }
    Ok(())
}

/// The first key that occurs twice, as an error.
fn duplicate<K: Ord + Copy>(keys: impl Iterator<Item = K>, describe: impl Fn(K) -> (String, &'static str)) -> Result<(), MaskError> {
    let mut keys: Vec<K> = keys.collect();
    keys.sort();
    match keys.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => {
            let (message, hint) = describe(w[0]);
            Err(invalid(message, hint))
        }
        None => Ok(()),
    }
}

/// A name as the diff shows it: each part bare when it is a plain lower-case identifier, else
/// double-quoted (a `"` doubled), so `"a.b".c` and `a."b.c"` read differently. For display only:
/// statements quote with PostgreSQL's own quote_identifier.
pub fn display_name(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| {
            let plain = p.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
            if plain { (*p).to_owned() } else { format!("\"{}\"", p.replace('"', "\"\"")) }
        })
        .collect::<Vec<_>>()
        .join(".")
}

impl Policy {
    /// Parses and checks a document (JSON text).
    pub fn parse(text: &str) -> Result<Policy, MaskError> {
        let mut policy: Policy = serde_json::from_str(text).map_err(|e| {
            invalid(
                format!("the policy document is not valid: {e}"),
                "Start from SELECT privacy.export_policy(); keys are format, version, masking_rules, role_labels, \
                 trusted_schemas, trusted_functions, purposes, subject_tables, allowed_purposes.",
            )
        })?;
        if policy.format != FORMAT || policy.version != VERSION {
            return Err(invalid(
                format!("unsupported policy document: format {:?}, version {}", policy.format, policy.version),
                "This pg_privacy reads \"format\": \"pg_privacy policy\", \"version\": 1.",
            ));
        }
        policy.check()?;
        policy.normalize();
        Ok(policy)
    }

    fn check(&self) -> Result<(), MaskError> {
        for r in &self.masking_rules {
            check_name("schema", &r.schema)?;
            check_name("table", &r.table)?;
            check_name("column", &r.column)?;
            parse_column_label(&r.rule).map_err(|e| {
                invalid(format!("invalid rule for {}.{}.{}: {}", r.schema, r.table, r.column, e.message), "Rules are written as in SECURITY LABEL.")
            })?;
        }
        for l in &self.role_labels {
            check_name("role", &l.role)?;
            parse_role_label(&l.label)
                .map_err(|_| invalid(format!("invalid label {:?} for role {}", l.label, l.role), "A role label is MASKED or UNMASKED."))?;
        }
        for s in &self.trusted_schemas {
            check_name("schema", s)?;
        }
        for f in &self.trusted_functions {
            if f.is_empty() || f.len() > 1000 || f.contains('\0') || !f.ends_with(')') {
                return Err(invalid(format!("invalid function signature {f:?}"), "Write functions as regprocedure prints them: schema.name(argument types)."));
            }
        }
        for p in &self.purposes {
            check_name("purpose", &p.name)?;
        }
        for s in &self.subject_tables {
            check_name("schema", &s.schema)?;
            check_name("table", &s.table)?;
            check_name("column", &s.column)?;
        }
        for a in &self.allowed_purposes {
            check_name("role", &a.role)?;
            check_name("purpose", &a.purpose)?;
        }
        // Texts that become SQL literals or parameters cannot hold a NUL byte (names are checked
        // above): refused here, before anything is compared or applied.
        let texts = self.masking_rules.iter().map(|r| r.rule.as_str())
            .chain(self.role_labels.iter().map(|l| l.label.as_str()))
            .chain(self.purposes.iter().flat_map(|p| [p.description.as_deref(), p.retention.as_deref()]).flatten());
        for t in texts {
            if t.contains('\0') {
                return Err(invalid(format!("the policy document holds a NUL byte in {t:?}"), "Remove the \\u0000: PostgreSQL text cannot hold it."));
            }
        }
        // One entry per object: the document is the state it produces, so two entries for one
        // object (two rules for a column, two labels for a role, a purpose or a subject table twice)
        // are refused rather than applied one after the other.
        duplicate(self.masking_rules.iter().map(|r| (r.schema.as_str(), r.table.as_str(), r.column.as_str())), |k| {
            (format!("two rules for {}", display_name(&[k.0, k.1, k.2])), "A column has one rule.")
        })?;
        duplicate(self.role_labels.iter().map(|l| l.role.as_str()), |k| {
            (format!("two labels for role {}", display_name(&[k])), "A role has one label: MASKED or UNMASKED.")
        })?;
        duplicate(self.purposes.iter().map(|p| p.name.as_str()), |k| {
            (format!("purpose {} is listed twice", display_name(&[k])), "List each purpose once, with its settings.")
        })?;
        duplicate(self.subject_tables.iter().map(|t| (t.schema.as_str(), t.table.as_str())), |k| {
            (format!("subject table {} is listed twice", display_name(&[k.0, k.1])), "A subject table has one subject column.")
        })?;
        Ok(())
    }

    /// Sorts every list (the canonical form exports have).
    pub fn normalize(&mut self) {
        self.masking_rules.sort();
        self.role_labels.sort();
        self.trusted_schemas.sort();
        self.trusted_functions.sort();
        self.purposes.sort();
        self.subject_tables.sort();
        self.allowed_purposes.sort();
        self.masking_rules.dedup();
        self.role_labels.dedup();
        self.trusted_schemas.dedup();
        self.trusted_functions.dedup();
        self.subject_tables.dedup();
        self.allowed_purposes.dedup();
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One step from the database's state to the document's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    SetRule(MaskingRule),
    DropRule(MaskingRule),
    SetRoleLabel(RoleLabelEntry),
    DropRoleLabel(RoleLabelEntry),
    TrustSchema(String),
    UntrustSchema(String),
    TrustFunction(String),
    UntrustFunction(String),
    CreatePurpose(Purpose),
    ChangePurpose { old: Purpose, new: Purpose },
    /// Purposes are never dropped by a document: consents and their history refer to them.
    KeepPurpose(Purpose),
    SetSubject(SubjectTable),
    /// Subject tables are never undeclared by a document: that would lift consent filters.
    KeepSubject(SubjectTable),
    Allow(AllowedPurpose),
    Disallow(AllowedPurpose),
}

impl Change {
    /// (action, object kind, object, value) for the diff `apply_policy` returns.
    pub fn describe(&self) -> (&'static str, &'static str, String, Option<String>) {
        match self {
            Change::SetRule(r) => ("set", "masking rule", display_name(&[&r.schema, &r.table, &r.column]), Some(r.rule.clone())),
            Change::DropRule(r) => ("remove", "masking rule", display_name(&[&r.schema, &r.table, &r.column]), Some(r.rule.clone())),
            Change::SetRoleLabel(l) => ("set", "role label", display_name(&[&l.role]), Some(l.label.clone())),
            Change::DropRoleLabel(l) => ("remove", "role label", display_name(&[&l.role]), Some(l.label.clone())),
            Change::TrustSchema(s) => ("set", "trusted schema", display_name(&[s]), None),
            Change::UntrustSchema(s) => ("remove", "trusted schema", display_name(&[s]), None),
            Change::TrustFunction(f) => ("set", "trusted function", f.clone(), None),
            Change::UntrustFunction(f) => ("remove", "trusted function", f.clone(), None),
            Change::CreatePurpose(p) => ("create", "purpose", p.name.clone(), Some(purpose_text(p))),
            Change::ChangePurpose { new, .. } => ("change", "purpose", new.name.clone(), Some(purpose_text(new))),
            Change::KeepPurpose(p) => ("keep", "purpose", p.name.clone(), Some("not in the document; purposes are not dropped by apply_policy".to_owned())),
            Change::SetSubject(s) => ("set", "subject table", display_name(&[&s.schema, &s.table]), Some(s.column.clone())),
            Change::KeepSubject(s) => (
                "keep",
                "subject table",
                display_name(&[&s.schema, &s.table]),
                Some("not in the document; subject tables are not undeclared by apply_policy".to_owned()),
            ),
            Change::Allow(a) => ("set", "allowed purpose", display_name(&[&a.role]), Some(a.purpose.clone())),
            Change::Disallow(a) => ("remove", "allowed purpose", display_name(&[&a.role]), Some(a.purpose.clone())),
        }
    }
}

fn purpose_text(p: &Purpose) -> String {
    format!(
        "requires_consent={}, description={}, retention={}",
        p.requires_consent,
        p.description.as_deref().unwrap_or("none"),
        p.retention.as_deref().unwrap_or("none")
    )
}

/// The changes that turn `current` into `desired`, in the order to apply them (purposes before
/// what refers to them, removals of labels before new ones).
pub fn diff(current: &Policy, desired: &Policy) -> Vec<Change> {
    let mut out = Vec::new();
    for p in &desired.purposes {
        match current.purposes.iter().find(|c| c.name == p.name) {
            None => out.push(Change::CreatePurpose(p.clone())),
            Some(c) if c != p => out.push(Change::ChangePurpose { old: c.clone(), new: p.clone() }),
            Some(_) => {}
        }
    }
    for c in &current.purposes {
        if !desired.purposes.iter().any(|p| p.name == c.name) {
            out.push(Change::KeepPurpose(c.clone()));
        }
    }
    // Trust first: new rules may call functions in newly trusted schemas; distrust last, after
    // the rules that used them are gone.
    for s in desired.trusted_schemas.iter().filter(|s| !current.trusted_schemas.contains(s)) {
        out.push(Change::TrustSchema(s.clone()));
    }
    for f in desired.trusted_functions.iter().filter(|f| !current.trusted_functions.contains(f)) {
        out.push(Change::TrustFunction(f.clone()));
    }
    for r in &current.masking_rules {
        if !desired.masking_rules.iter().any(|d| (&d.schema, &d.table, &d.column) == (&r.schema, &r.table, &r.column)) {
            out.push(Change::DropRule(r.clone()));
        }
    }
    for r in &desired.masking_rules {
        if !current.masking_rules.contains(r) {
            out.push(Change::SetRule(r.clone()));
        }
    }
    for l in &current.role_labels {
        if !desired.role_labels.iter().any(|d| d.role == l.role) {
            out.push(Change::DropRoleLabel(l.clone()));
        }
    }
    for l in &desired.role_labels {
        if !current.role_labels.contains(l) {
            out.push(Change::SetRoleLabel(l.clone()));
        }
    }
    for s in current.trusted_schemas.iter().filter(|s| !desired.trusted_schemas.contains(s)) {
        out.push(Change::UntrustSchema(s.clone()));
    }
    for f in current.trusted_functions.iter().filter(|f| !desired.trusted_functions.contains(f)) {
        out.push(Change::UntrustFunction(f.clone()));
    }
    for s in &desired.subject_tables {
        if !current.subject_tables.contains(s) {
            out.push(Change::SetSubject(s.clone()));
        }
    }
    for s in &current.subject_tables {
        if !desired.subject_tables.iter().any(|d| (&d.schema, &d.table) == (&s.schema, &s.table)) {
            out.push(Change::KeepSubject(s.clone()));
        }
    }
    for a in current.allowed_purposes.iter().filter(|a| !desired.allowed_purposes.contains(a)) {
        out.push(Change::Disallow(a.clone()));
    }
    for a in desired.allowed_purposes.iter().filter(|a| !current.allowed_purposes.contains(a)) {
        out.push(Change::Allow(a.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DOC: &str = r#"{"format": "pg_privacy policy", "version": 1,
        "masking_rules": [{"schema": "crm", "table": "customers", "column": "email", "rule": "MASKED WITH FUNCTION privacy.mask_email(email)"}],
        "role_labels": [{"role": "analyst", "label": "MASKED"}],
        "purposes": [{"name": "marketing", "requires_consent": true, "description": null, "retention": "2 years"}],
        "subject_tables": [{"schema": "shop", "table": "customers", "column": "id"}],
        "allowed_purposes": [{"role": "app", "purpose": "marketing"}]}"#;

    #[test]
    fn round_trip() {
        let p = Policy::parse(DOC).unwrap();
        let again = Policy::parse(&p.to_json()).unwrap();
        assert_eq!(p, again);
        assert!(diff(&p, &again).is_empty());
        let changes = diff(&Policy::default(), &p);
        assert!(matches!(changes[0], Change::CreatePurpose(_)));
        assert_eq!(changes.len(), 5);
    }

    #[test]
    fn refusals() {
        assert!(Policy::parse(&DOC.replace("\"masking_rules\"", "\"masking_rulez\"")).is_err());
        assert!(Policy::parse(&DOC.replace("\"version\": 1", "\"version\": 2")).is_err());
        // The grammar here checks a rule's form only; that it is one expression is checked where it
        // is compiled, when SECURITY LABEL applies it (the rule travels as a quoted literal).
        assert!(Policy::parse(&DOC.replace("MASKED WITH FUNCTION privacy.mask_email(email)", "MASKED WITH FUNCTION x(); DROP TABLE t")).is_ok());
        assert!(Policy::parse(&DOC.replace("MASKED WITH FUNCTION privacy.mask_email(email)", "DROP TABLE t")).is_err());
        assert!(Policy::parse(&DOC.replace("\"MASKED\"", "\"UNMASKED; DROP ROLE x\"")).is_err());
        assert!(Policy::parse(&DOC.replace("\"customers\", \"column\": \"email\"", "\"\", \"column\": \"email\"")).is_err());
        assert!(Policy::parse("[]").is_err());
        // two entries for one object: refused, whatever they say
        let twice = |key: &str, entry: &str| Policy::parse(&DOC.replacen(&format!("\"{key}\": ["), &format!("\"{key}\": [{entry}, "), 1));
        assert!(twice("role_labels", r#"{"role": "analyst", "label": "UNMASKED"}"#).is_err());
        assert!(twice("role_labels", r#"{"role": "analyst", "label": "MASKED"}"#).is_err());
        assert!(twice("purposes", r#"{"name": "marketing", "requires_consent": false}"#).is_err());
        assert!(twice("subject_tables", r#"{"schema": "shop", "table": "customers", "column": "note"}"#).is_err());
        assert!(twice("masking_rules", r#"{"schema": "crm", "table": "customers", "column": "email", "rule": "MASKED WITH VALUE NULL"}"#).is_err());
        // control: another object of each kind is accepted
        assert!(twice("role_labels", r#"{"role": "support", "label": "UNMASKED"}"#).is_ok());
        assert!(twice("purposes", r#"{"name": "billing", "requires_consent": false}"#).is_ok());
        assert!(twice("subject_tables", r#"{"schema": "shop", "table": "orders", "column": "customer_id"}"#).is_ok());
        // a NUL byte in a rule is refused (it cannot be an SQL literal)
        assert!(Policy::parse(&DOC.replace("privacy.mask_email(email)", "privacy.mask_email(email)\\u0000")).is_err());
    }

    #[test]
    fn names_shown_unambiguously() {
        assert_eq!(display_name(&["crm", "customers", "email"]), "crm.customers.email");
        assert_eq!(display_name(&["a.b", "c", "x"]), "\"a.b\".c.x");
        assert_eq!(display_name(&["a", "b.c", "y"]), "a.\"b.c\".y");
        assert_eq!(display_name(&["Pe\"ople", "x"]), "\"Pe\"\"ople\".x");
        assert_ne!(display_name(&["a.b", "c"]), display_name(&["a", "b.c"]));
    }

    proptest! {
        // Any text is either refused or parsed into a document that survives a round trip.
        #[test]
        fn arbitrary_text(text in ".{0,200}") {
            if let Ok(p) = Policy::parse(&text) {
                prop_assert_eq!(Policy::parse(&p.to_json()).ok(), Some(p));
            }
        }
    }
}
