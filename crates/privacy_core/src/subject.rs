//! Data-subject ids: when two spellings are the same subject.
//!
//! The consent registry keeps ids as the text it was given, and subject tables hold them as
//! integers, UUIDs or text. Two spellings that PostgreSQL reads as the same typed value (`'045'`
//! and `'45'` as bigint, a UUID in upper and lower case, with or without braces or hyphens) are
//! the same subject, so the registry records each event under every typed reading of its id.
//! These parsers accept exactly what PostgreSQL's own input functions accept, so a reading here
//! matches the value a subject column compares with.

/// Which integer syntax the server's `int8in` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntegerSyntax {
    /// PostgreSQL 15: optional whitespace, sign, decimal digits.
    Decimal,
    /// PostgreSQL 16 and later: also `0x`, `0o`, `0b` prefixes and `_` between digits.
    NonDecimalAndUnderscores,
}

/// C's `isspace` in the "C" locale, which PostgreSQL's integer input uses.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The bigint PostgreSQL's `int8in` reads from `s`, or None where it would raise an error.
pub fn parse_bigint(s: &str, syntax: IntegerSyntax) -> Option<i64> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() && is_space(bytes[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < bytes.len() && (bytes[i] == b'-' || bytes[i] == b'+') {
        negative = bytes[i] == b'-';
        i += 1;
    }
    let mut base: u32 = 10;
    if syntax == IntegerSyntax::NonDecimalAndUnderscores && i + 1 < bytes.len() && bytes[i] == b'0' {
        match bytes[i + 1] {
            b'x' | b'X' => base = 16,
            b'o' | b'O' => base = 8,
            b'b' | b'B' => base = 2,
            _ => {}
        }
        if base != 10 {
            i += 2;
        }
    }
    // Accumulate as a negative number, like PostgreSQL, so i64::MIN is reachable.
    let mut value: i64 = 0;
    let mut digits = 0;
    let mut last_was_underscore = false;
    let underscores = syntax == IntegerSyntax::NonDecimalAndUnderscores;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'_' && underscores {
            // Not doubled, not last; not first in a decimal number, but allowed right after a
            // 0x/0o/0b prefix ("0x_1" is 1: numutils.c pg_strtoint64_safe checks only that a
            // digit follows there).
            if (digits == 0 && base == 10) || last_was_underscore {
                return None;
            }
            last_was_underscore = true;
            i += 1;
            continue;
        }
        let Some(d) = (b as char).to_digit(base) else { break };
        value = value.checked_mul(base as i64)?.checked_sub(d as i64)?;
        digits += 1;
        last_was_underscore = false;
        i += 1;
    }
    if digits == 0 || last_was_underscore {
        return None;
    }
    while i < bytes.len() && is_space(bytes[i]) {
        i += 1;
    }
    if i != bytes.len() {
        return None;
    }
    if negative {
        Some(value)
    } else {
        value.checked_neg()
    }
}

/// The 16 bytes PostgreSQL's `uuid_in` reads from `s`, or None where it would raise an error:
/// hexadecimal digits in either case, a hyphen allowed after any group of four digits (but not
/// at the end), optionally within braces, nothing else (no whitespace).
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let braces = bytes.first() == Some(&b'{');
    if braces {
        i += 1;
    }
    let mut out = [0u8; 16];
    for (n, byte) in out.iter_mut().enumerate() {
        let hi = (*bytes.get(i)? as char).to_digit(16)?;
        let lo = (*bytes.get(i + 1)? as char).to_digit(16)?;
        *byte = (hi * 16 + lo) as u8;
        i += 2;
        if bytes.get(i) == Some(&b'-') && n % 2 == 1 && n < 15 {
            i += 1;
        }
    }
    if braces {
        if bytes.get(i) != Some(&b'}') {
            return None;
        }
        i += 1;
    }
    (i == bytes.len()).then_some(out)
}

/// The canonical text of a UUID (lower case, hyphenated), as PostgreSQL prints it.
pub fn format_uuid(u: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (n, b) in u.iter().enumerate() {
        if matches!(n, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use IntegerSyntax::*;

    #[test]
    fn bigint_readings() {
        for (s, v) in [("45", 45), ("045", 45), (" 45 ", 45), ("+45", 45), ("-0", 0), ("\t-12\n", -12)] {
            assert_eq!(parse_bigint(s, Decimal), Some(v), "{s:?}");
        }
        assert_eq!(parse_bigint("9223372036854775807", Decimal), Some(i64::MAX));
        assert_eq!(parse_bigint("-9223372036854775808", Decimal), Some(i64::MIN));
        for s in ["", " ", "+", "4 5", "45a", "9223372036854775808", "0x2D", "1_000", "٤٥", "4.5"] {
            assert_eq!(parse_bigint(s, Decimal), None, "{s:?}");
        }
    }

    #[test]
    fn bigint_readings_since_16() {
        for (s, v) in [("0x2D", 45), ("0X2d", 45), ("0o55", 45), ("0b101101", 45), ("1_000", 1000), ("-0x8000000000000000", i64::MIN)] {
            assert_eq!(parse_bigint(s, NonDecimalAndUnderscores), Some(v), "{s:?}");
        }
        // PostgreSQL 18.6 accepts an underscore right after the prefix (checked against int8in).
        for (s, v) in [("0x_1", 1), ("0b_1", 1), ("0o_7", 7), ("-0x_1", -1), ("0x_1_2", 0x12)] {
            assert_eq!(parse_bigint(s, NonDecimalAndUnderscores), Some(v), "{s:?}");
        }
        for s in ["_1", "1_", "1__0", "0x", "0x_", "0x__1", "0x1_", "_0x1", "0b2"] {
            assert_eq!(parse_bigint(s, NonDecimalAndUnderscores), None, "{s:?}");
        }
    }

    #[test]
    fn uuid_readings() {
        let canonical = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        for s in [
            canonical,
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
        ] {
            assert_eq!(parse_uuid(s).map(|u| format_uuid(&u)).as_deref(), Some(canonical), "{s:?}");
        }
        for s in [
            "",
            " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
            "a0eebc9-99c0b-4ef8-bb6d-6bb9bd380a11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11",
            "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        ] {
            assert_eq!(parse_uuid(s), None, "{s:?}");
        }
    }
}
