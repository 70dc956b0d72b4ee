//! Partial masking: keep a documented part of a value, hide the rest.
//!
//! Every function here counts and cuts in Unicode scalar values (`char`s), never bytes, so a
//! multi-byte character is either kept whole or hidden whole. None of them reveals the length of
//! the hidden part unless its documentation says so (`mask_card` and friends keep the layout of
//! separators by design, as card receipts do).

use crate::{check_result_size, MaskError};

/// Text `redact` returns.
pub const REDACTED: &str = "[REDACTED]";

/// `partial(value, prefix, padding, suffix)`: the first `prefix` and last `suffix` characters of
/// `value` with `padding` in between.
///
/// If the value has no more than `prefix + suffix` characters, keeping them would reveal the whole
/// value, so nothing of it is kept and the result is `padding` alone (fail closed).
pub fn partial(value: &str, prefix: i32, padding: &str, suffix: i32) -> Result<String, MaskError> {
    if prefix < 0 || suffix < 0 {
        return Err(MaskError::invalid(
            format!("partial() prefix and suffix must be zero or positive, got {prefix} and {suffix}"),
            "Pass the number of leading and trailing characters to keep, e.g. partial(card, 0, 'XXXX-', 4).",
        ));
    }
    let (prefix, suffix) = (prefix as usize, suffix as usize);
    // Fast path for ASCII, the common case: byte offsets are character offsets.
    let len = if value.is_ascii() { value.len() } else { value.chars().count() };
    if len <= prefix.saturating_add(suffix) {
        return Ok(padding.to_owned());
    }
    let head_end = byte_offset_of_char(value, prefix);
    let tail_start = byte_offset_of_char(value, len - suffix);
    let size = head_end + padding.len() + (value.len() - tail_start);
    check_result_size(size)?;
    let mut out = String::with_capacity(size);
    out.push_str(&value[..head_end]);
    out.push_str(padding);
    out.push_str(&value[tail_start..]);
    Ok(out)
}

/// Byte offset of the `n`-th character (or the end of the string).
fn byte_offset_of_char(s: &str, n: usize) -> usize {
    if s.is_ascii() {
        return n.min(s.len());
    }
    s.char_indices().nth(n).map(|(i, _)| i).unwrap_or(s.len())
}

/// `mask_email(value)`: keeps the first character of the local part and the whole domain,
/// `a***@example.com`. The hidden part is always three asterisks, whatever its length.
/// A value without `@` (not an e-mail address) is masked entirely as `***`.
pub fn mask_email(value: &str) -> String {
    match value.rfind('@') {
        Some(at) if at > 0 => {
            let first = value[..at].chars().next().map(|c| c.len_utf8()).unwrap_or(0);
            let mut out = String::with_capacity(first + 3 + value.len() - at);
            out.push_str(&value[..first]);
            out.push_str("***");
            out.push_str(&value[at..]);
            out
        }
        Some(at) => format!("***{}", &value[at..]),
        None => "***".to_owned(),
    }
}

/// Counts digits in the Unicode sense (`char::is_numeric`: ASCII, full-width, Arabic-Indic, ...),
/// so a number written in any script is masked, not only ASCII ones.
fn count_digits(value: &str) -> usize {
    value.chars().filter(|c| c.is_numeric()).count()
}

/// Replace every digit by `mask` except the last `keep` digits; everything else (spaces,
/// dashes, parentheses, `+`, letters) stays where it is. Used by `mask_phone` and `mask_card`.
fn mask_digits_keep_last(value: &str, keep: usize, mask: char) -> String {
    let digits = count_digits(value);
    let hide = digits.saturating_sub(keep);
    let mut seen = 0usize;
    value
        .chars()
        .map(|c| {
            if c.is_numeric() {
                seen += 1;
                if seen <= hide {
                    return mask;
                }
            }
            c
        })
        .collect()
}

/// `mask_phone(value)`: every digit but the last two becomes `X`; layout kept:
/// `+1 (555) 010-4477` → `+X (XXX) XXX-XX77`.
pub fn mask_phone(value: &str) -> String {
    let digits = count_digits(value);
    // A number too short to be a phone number is hidden entirely rather than half-revealed.
    let keep = if digits >= 6 { 2 } else { 0 };
    mask_digits_keep_last(value, keep, 'X')
}

/// `mask_card(value)`: every digit but the last four becomes `X`, separators kept:
/// `4111 1111 1111 1111` → `XXXX XXXX XXXX 1111`. Values with fewer than 12 digits (not a card
/// number) are masked entirely.
pub fn mask_card(value: &str) -> String {
    let digits = count_digits(value);
    let keep = if digits >= 12 { 4 } else { 0 };
    mask_digits_keep_last(value, keep, 'X')
}

/// `mask_iban(value)`: keeps the two-letter country code and the last four characters, every
/// other letter or digit becomes `*`, spaces kept: `DE89 3704 0044 0532 0130 00` →
/// `DE** **** **** **** **30 00`. Values with fewer than 12 alphanumerics are masked entirely.
pub fn mask_iban(value: &str) -> String {
    let alnum = value.chars().filter(|c| c.is_alphanumeric()).count();
    let (keep_head, keep_tail) = if alnum >= 12 { (2, 4) } else { (0, 0) };
    let mut seen = 0usize;
    value
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                seen += 1;
                if seen > keep_head && seen <= alnum - keep_tail {
                    return '*';
                }
            }
            c
        })
        .collect()
}

/// `redact(value)`: the constant `[REDACTED]`, so neither content nor length survives.
pub fn redact(_value: &str) -> &'static str {
    REDACTED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_keeps_prefix_and_suffix() {
        assert_eq!(partial("4111111111111111", 0, "XXXX-XXXX-XXXX-", 4).unwrap(), "XXXX-XXXX-XXXX-1111");
        assert_eq!(partial("Alexander", 2, "***", 1).unwrap(), "Al***r");
    }

    #[test]
    fn partial_never_reveals_short_values() {
        assert_eq!(partial("abc", 2, "**", 1).unwrap(), "**");
        assert_eq!(partial("", 0, "*", 0).unwrap(), "*");
        assert_eq!(partial("abcd", 2, "**", 1).unwrap(), "ab**d");
    }

    #[test]
    fn partial_is_character_safe() {
        assert_eq!(partial("Zoë Ørsted", 3, "…", 2).unwrap(), "Zoë…ed");
        assert_eq!(partial("日本語のテキスト", 1, "*", 1).unwrap(), "日*ト");
        assert_eq!(partial("👩‍👩‍👧x", 1, "*", 1).unwrap(), "👩*x");
    }

    #[test]
    fn partial_rejects_negative_lengths() {
        let e = partial("abc", -1, "*", 0).unwrap_err();
        assert_eq!(e.kind.sqlstate(), "22023");
        assert!(e.message.contains("-1"));
        assert!(!e.hint.is_empty());
    }

    #[test]
    fn partial_accepts_huge_lengths() {
        assert_eq!(partial("abc", i32::MAX, "*", i32::MAX).unwrap(), "*");
    }

    #[test]
    fn email() {
        assert_eq!(mask_email("alice.smith@example.com"), "a***@example.com");
        assert_eq!(mask_email("Ærøskøbing@dk.example"), "Æ***@dk.example");
        assert_eq!(mask_email("@example.com"), "***@example.com");
        assert_eq!(mask_email("not an email"), "***");
        assert_eq!(mask_email(""), "***");
        assert_eq!(mask_email("a@b@c"), "a***@c");
    }

    #[test]
    fn phone() {
        assert_eq!(mask_phone("+1 (555) 010-4477"), "+X (XXX) XXX-XX77");
        assert_eq!(mask_phone("12345"), "XXXXX");
        assert_eq!(mask_phone(""), "");
        // Digits of any script are masked, not only ASCII ones.
        assert_eq!(mask_phone("０１２３４５６７"), "XXXXXX６７");
        assert_eq!(mask_card("٤١١١ ١١١١ ١١١١ ١٢٣٤"), "XXXX XXXX XXXX ١٢٣٤");
    }

    #[test]
    fn card() {
        assert_eq!(mask_card("4111 1111 1111 1111"), "XXXX XXXX XXXX 1111");
        assert_eq!(mask_card("4111-1111-1111-1234"), "XXXX-XXXX-XXXX-1234");
        assert_eq!(mask_card("1234"), "XXXX");
    }

    #[test]
    fn iban() {
        assert_eq!(mask_iban("DE89 3704 0044 0532 0130 00"), "DE** **** **** **** **30 00");
        assert_eq!(mask_iban("GB82WEST12345698765432"), "GB****************5432");
        assert_eq!(mask_iban("SHORT"), "*****");
    }

    #[test]
    fn redaction_hides_length() {
        assert_eq!(redact("x"), redact("a much longer secret value"));
    }
}
