//! Grammar of pg_privacy's security labels (provider `privacy`), without PostgreSQL.
//!
//! - on a column: `MASKED WITH FUNCTION <expression>` or `MASKED WITH VALUE <constant or NULL>`
//!   (the grammar of PostgreSQL Anonymizer, so its users migrate by changing provider and schema);
//! - on a role: `MASKED` or `UNMASKED`;
//! - on a schema: `TRUSTED` (functions in it may be used by masking rules);
//! - on a function: `TRUSTED` (a masked or filtered login runs it without the login's restrictions).
//!
//! Keywords are case-insensitive and may be separated by any whitespace. This module only splits
//! the label; the extension parses and validates the expression with PostgreSQL's own parser.

use crate::MaskError;

/// Longest rule expression accepted, in bytes: rules are short; this bounds parse work.
pub const MAX_EXPRESSION_BYTES: usize = 8192;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnRule {
    /// `MASKED WITH FUNCTION expr`: an expression over the row's columns.
    Function(String),
    /// `MASKED WITH VALUE literal`: a constant.
    Value(String),
}

impl ColumnRule {
    pub fn expression(&self) -> &str {
        match self {
            ColumnRule::Function(e) | ColumnRule::Value(e) => e,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleLabel {
    Masked,
    Unmasked,
}

/// Splits off the next whitespace-delimited word; returns (word, rest).
fn next_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

const COLUMN_HINT: &str =
    "Use 'MASKED WITH FUNCTION privacy.mask_email(email)' or 'MASKED WITH VALUE ''XXX''' or 'MASKED WITH VALUE NULL'.";

/// Parses a column label.
pub fn parse_column_label(label: &str) -> Result<ColumnRule, MaskError> {
    let (w1, rest) = next_word(label);
    let (w2, rest) = next_word(rest);
    let (w3, rest) = next_word(rest);
    if !w1.eq_ignore_ascii_case("MASKED") || !w2.eq_ignore_ascii_case("WITH") {
        return Err(MaskError::invalid(
            format!("invalid masking rule \"{}\": it must start with MASKED WITH", shorten(label)),
            COLUMN_HINT,
        ));
    }
    let expression = rest.trim();
    let kind = if w3.eq_ignore_ascii_case("FUNCTION") {
        ColumnRule::Function as fn(String) -> ColumnRule
    } else if w3.eq_ignore_ascii_case("VALUE") {
        ColumnRule::Value as fn(String) -> ColumnRule
    } else {
        return Err(MaskError::invalid(
            format!("invalid masking rule \"{}\": expected FUNCTION or VALUE after MASKED WITH", shorten(label)),
            COLUMN_HINT,
        ));
    };
    if expression.is_empty() {
        return Err(MaskError::invalid(
            format!("invalid masking rule \"{}\": the {} is missing", shorten(label), w3.to_ascii_uppercase()),
            COLUMN_HINT,
        ));
    }
    if expression.len() > MAX_EXPRESSION_BYTES {
        return Err(MaskError::invalid(
            format!("masking rule expression is {} bytes, over the limit of {MAX_EXPRESSION_BYTES}", expression.len()),
            "Wrap the logic in a function in a trusted schema and call it from the rule.",
        ));
    }
    Ok(kind(expression.to_owned()))
}

/// Parses a role label.
pub fn parse_role_label(label: &str) -> Result<RoleLabel, MaskError> {
    match label.trim().to_ascii_uppercase().as_str() {
        "MASKED" => Ok(RoleLabel::Masked),
        "UNMASKED" => Ok(RoleLabel::Unmasked),
        _ => Err(MaskError::invalid(
            format!("invalid role label \"{}\"", shorten(label)),
            "A role label is 'MASKED' or 'UNMASKED'.",
        )),
    }
}

/// Parses a schema label (only `TRUSTED` exists).
pub fn parse_schema_label(label: &str) -> Result<(), MaskError> {
    if label.trim().eq_ignore_ascii_case("TRUSTED") {
        Ok(())
    } else {
        Err(MaskError::invalid(
            format!("invalid schema label \"{}\"", shorten(label)),
            "A schema label is 'TRUSTED': masking rules may then call its functions.",
        ))
    }
}

/// Parses a function label (only `TRUSTED` exists): inside a function a privacy admin marked
/// trusted, the login role's masking and consent filters are lifted.
pub fn parse_function_label(label: &str) -> Result<(), MaskError> {
    if label.trim().eq_ignore_ascii_case("TRUSTED") {
        Ok(())
    } else {
        Err(MaskError::invalid(
            format!("invalid function label \"{}\"", shorten(label)),
            "A function label is 'TRUSTED': sessions of masked or filtered logins then run it with the restrictions of its own roles only.",
        ))
    }
}

/// First 60 characters of a label, for error messages.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if s.chars().count() > 60 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_labels() {
        assert_eq!(
            parse_column_label("MASKED WITH FUNCTION privacy.mask_email(email)").unwrap(),
            ColumnRule::Function("privacy.mask_email(email)".into())
        );
        assert_eq!(
            parse_column_label("  masked\n with\tvalue  'XXX-XX-XXXX'  ").unwrap(),
            ColumnRule::Value("'XXX-XX-XXXX'".into())
        );
        assert_eq!(parse_column_label("MASKED WITH VALUE NULL").unwrap().expression(), "NULL");
    }

    #[test]
    fn bad_column_labels_name_the_problem() {
        for (label, needle) in [
            ("MASKED", "MASKED WITH"),
            ("masked by function x", "MASKED WITH"),
            ("MASKED WITH LAMBDA x", "FUNCTION or VALUE"),
            ("MASKED WITH FUNCTION   ", "FUNCTION is missing"),
            ("", "MASKED WITH"),
        ] {
            let e = parse_column_label(label).unwrap_err();
            assert!(e.message.contains(needle), "{label:?}: {}", e.message);
            assert_eq!(e.kind.sqlstate(), "22023");
        }
        let long = format!("MASKED WITH FUNCTION {}", "x".repeat(MAX_EXPRESSION_BYTES + 1));
        assert!(parse_column_label(&long).unwrap_err().message.contains("over the limit"));
    }

    #[test]
    fn role_and_schema_labels() {
        assert_eq!(parse_role_label(" masked ").unwrap(), RoleLabel::Masked);
        assert_eq!(parse_role_label("UNMASKED").unwrap(), RoleLabel::Unmasked);
        assert!(parse_role_label("MASKED WITH VALUE 1").is_err());
        assert!(parse_schema_label("trusted").is_ok());
        assert!(parse_schema_label("TRUSTED!").is_err());
        assert!(parse_function_label(" Trusted ").is_ok());
        assert!(parse_function_label("UNTRUSTED").is_err());
    }
}
