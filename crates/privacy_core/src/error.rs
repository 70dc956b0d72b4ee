//! Errors of the pure masking core, carrying what the extension needs for an `ereport`:
//! a kind that maps to a SQLSTATE, a message a DBA understands, and a hint.

use std::fmt;

/// What went wrong, in the terms of SQLSTATE classes the extension maps these to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 22023 invalid_parameter_value: an argument outside its documented range.
    InvalidParameterValue,
    /// 2201B invalid_regular_expression.
    InvalidRegularExpression,
    /// 54000 program_limit_exceeded: a result or pattern too large to build.
    ProgramLimitExceeded,
    /// 22003 numeric_value_out_of_range: arithmetic overflow of the result type.
    NumericValueOutOfRange,
    /// 22008 datetime_field_overflow: a date result outside the supported range.
    DatetimeFieldOverflow,
    /// 22P02 invalid_text_representation: malformed input text (a pseudonym token).
    InvalidTextRepresentation,
}

impl ErrorKind {
    /// The five-character SQLSTATE this kind is reported with.
    pub fn sqlstate(self) -> &'static str {
        match self {
            ErrorKind::InvalidParameterValue => "22023",
            ErrorKind::InvalidRegularExpression => "2201B",
            ErrorKind::ProgramLimitExceeded => "54000",
            ErrorKind::NumericValueOutOfRange => "22003",
            ErrorKind::DatetimeFieldOverflow => "22008",
            ErrorKind::InvalidTextRepresentation => "22P02",
        }
    }
}

/// An error raised by a masking function on bad arguments. Never contains the value being masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskError {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: String,
}

impl MaskError {
    pub fn new(kind: ErrorKind, message: impl Into<String>, hint: impl Into<String>) -> Self {
        MaskError { kind, message: message.into(), hint: hint.into() }
    }

    pub fn invalid(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameterValue, message, hint)
    }
}

impl fmt::Display for MaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (SQLSTATE {}; hint: {})", self.message, self.kind.sqlstate(), self.hint)
    }
}

impl std::error::Error for MaskError {}
