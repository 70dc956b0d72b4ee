//! `regex_redact(value, pattern, replacement)`: replace every match of a regular expression.
//!
//! Uses the `regex` crate, whose matching time is linear in the input whatever the pattern, so a
//! pattern cannot be used to stall a backend (no catastrophic backtracking). Compiled programs are
//! size-limited; a pattern over the limit is refused with 54000.

use regex::{Regex, RegexBuilder};

use crate::{check_result_size, ErrorKind, MaskError};

/// Limit on the compiled size of one pattern.
const COMPILED_SIZE_LIMIT: usize = 8 << 20;

/// A compiled pattern, kept by the caller between rows (patterns are nearly always constant).
#[derive(Debug, Clone)]
pub struct CompiledPattern {
    pub source: String,
    regex: Regex,
}

impl CompiledPattern {
    pub fn compile(pattern: &str) -> Result<Self, MaskError> {
        let regex = RegexBuilder::new(pattern)
            .size_limit(COMPILED_SIZE_LIMIT)
            .dfa_size_limit(COMPILED_SIZE_LIMIT)
            .build()
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(_) => MaskError::new(
                    ErrorKind::ProgramLimitExceeded,
                    "regular expression is too large",
                    "Simplify the pattern or split it into several regex_redact calls.",
                ),
                other => MaskError::new(
                    ErrorKind::InvalidRegularExpression,
                    format!("invalid regular expression: {}", first_line_of(&other.to_string())),
                    "The pattern uses Rust regex syntax (like PCRE without look-around or back-references).",
                ),
            })?;
        Ok(CompiledPattern { source: pattern.to_owned(), regex })
    }

    /// Replaces every match; `$1` or `${name}` in `replacement` refer to capture groups, `$$` is a
    /// literal dollar sign.
    pub fn redact(&self, value: &str, replacement: &str) -> Result<String, MaskError> {
        // Bound the result size before building it: each match can grow by the replacement length.
        let matches = self.regex.find_iter(value).count();
        if matches == 0 {
            return Ok(value.to_owned());
        }
        check_result_size(value.len().saturating_add(matches.saturating_mul(replacement.len().saturating_mul(2))))?;
        Ok(self.regex.replace_all(value, replacement).into_owned())
    }
}

fn first_line_of(s: &str) -> String {
    // The crate's message spans several lines with a caret diagram; keep it readable in one line.
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_matches_with_groups() {
        let p = CompiledPattern::compile(r"\d{4}-\d{4}-\d{4}-(\d{4})").unwrap();
        assert_eq!(p.redact("card 1234-5678-9012-3456 ok", "XXXX-$1").unwrap(), "card XXXX-3456 ok");
        let p = CompiledPattern::compile(r"[\w.]+@[\w.]+").unwrap();
        assert_eq!(p.redact("mail zoë@exämple.org now", "[email]").unwrap(), "mail [email] now");
        assert_eq!(p.redact("", "x").unwrap(), "");
    }

    #[test]
    fn invalid_pattern_is_2201b() {
        let e = CompiledPattern::compile("(unclosed").unwrap_err();
        assert_eq!(e.kind.sqlstate(), "2201B");
        assert!(!e.message.contains('\n'));
    }

    #[test]
    fn huge_pattern_is_54000() {
        let e = CompiledPattern::compile("a{1000}{1000}").unwrap_err();
        assert_eq!(e.kind.sqlstate(), "54000");
    }
}
