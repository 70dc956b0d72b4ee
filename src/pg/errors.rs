//! Error reporting: every failure a query can reach becomes an `ereport(ERROR)` with a SQLSTATE,
//! a message a DBA understands and a hint, never a Rust panic message.

use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::PgLogLevel;
use privacy_core::{ErrorKind, MaskError};

fn sqlstate(kind: ErrorKind) -> PgSqlErrorCode {
    match kind {
        ErrorKind::InvalidParameterValue => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        ErrorKind::InvalidRegularExpression => PgSqlErrorCode::ERRCODE_INVALID_REGULAR_EXPRESSION,
        ErrorKind::ProgramLimitExceeded => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        ErrorKind::NumericValueOutOfRange => PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
        ErrorKind::DatetimeFieldOverflow => PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
        ErrorKind::InvalidTextRepresentation => PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
    }
}

/// Raises an ERROR with `code`, `message` and `hint` (does not return).
pub fn raise(code: PgSqlErrorCode, message: impl Into<String>, hint: impl Into<String>) -> ! {
    ErrorReport::new(code, message.into(), "pg_privacy").set_hint(hint.into()).report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

/// Raises an ERROR with `code`, `message`, `detail` and `hint` (does not return).
pub fn raise_with_detail(code: PgSqlErrorCode, message: impl Into<String>, detail: impl Into<String>, hint: impl Into<String>) -> ! {
    ErrorReport::new(code, message.into(), "pg_privacy").set_detail(detail.into()).set_hint(hint.into()).report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

/// Unwraps a core result or raises its error.
pub fn or_raise<T>(result: Result<T, MaskError>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => raise(sqlstate(e.kind), e.message, e.hint),
    }
}

/// The refusal every privilege check of pg_privacy raises.
pub fn refuse(message: impl Into<String>, hint: impl Into<String>) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, message, hint)
}
