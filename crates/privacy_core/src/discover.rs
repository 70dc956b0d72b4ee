//! PII discovery: what kind of personal data a column holds, judged by its name and by sampled
//! values. Pure functions: the extension samples rows and feeds the values in; nothing here sees
//! a database, and no value is kept (only counts leave a [`ColumnScan`]).
//!
//! Value checks are strict where the data has a checksum (card numbers: Luhn; IBAN: ISO 13616
//! mod-97) or a fixed shape (IPv4/IPv6 by the standard library's parsers, US SSNs with the
//! SSA's never-issued areas excluded), and conservative elsewhere (e-mail: one `@`, a dotted
//! domain, no spaces; phone: 7 to 15 digits with the usual separators and nothing else).
//! Person names are recognised by dictionary (given names, optionally followed by a family name).

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

/// A kind of personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Email,
    Phone,
    CardNumber,
    Iban,
    IpAddress,
    NationalId,
    BirthDate,
    PersonName,
}

impl Kind {
    pub const ALL: [Kind; 8] =
        [Kind::Email, Kind::Phone, Kind::CardNumber, Kind::Iban, Kind::IpAddress, Kind::NationalId, Kind::BirthDate, Kind::PersonName];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::CardNumber => "card_number",
            Kind::Iban => "iban",
            Kind::IpAddress => "ip_address",
            Kind::NationalId => "national_id",
            Kind::BirthDate => "birth_date",
            Kind::PersonName => "person_name",
        }
    }

    /// Whether sampled values can contradict a name: values of this kind have a shape or a
    /// checksum that real data of the kind always has (a column named `phone` may hold bare
    /// digits, `first_name` lower-case names; `email` never holds text without an `@`).
    pub fn contradictable(self) -> bool {
        matches!(self, Kind::Email | Kind::CardNumber | Kind::Iban | Kind::IpAddress)
    }
}

/// What a column's name says, if anything. Names are compared as lower-case words split at `_`,
/// `-`, spaces and case changes, so `customerEmail`, `e_mail` and `EMAIL_ADDR` all read as e-mail.
pub fn kind_by_name(column: &str) -> Option<Kind> {
    let words = name_words(column);
    let has = |w: &str| words.iter().any(|x| x == w);
    let joined = words.join("_");
    // counters and flags about a kind are not the data itself
    if words.iter().any(|w| matches!(w.as_str(), "count" | "cnt" | "num" | "verified" | "opt" | "optin" | "is" | "has" | "template" | "type" | "version" | "format" | "status"))
        && !joined.contains("card_num")
        && !joined.contains("phone_num")
    {
        return None;
    }
    if has("email") || has("mail") || joined.contains("e_mail") {
        return Some(Kind::Email);
    }
    if has("phone") || has("mobile") || has("tel") || has("telephone") || has("fax") || has("msisdn") || has("cell") {
        return Some(Kind::Phone);
    }
    if has("iban") {
        return Some(Kind::Iban);
    }
    if has("pan") || has("cc") || joined.contains("card_number") || joined.contains("card_no") || joined.contains("credit_card") || joined.contains("card_num") {
        return Some(Kind::CardNumber);
    }
    if has("ip") || has("ipv4") || has("ipv6") || joined.contains("ip_address") || joined.contains("ip_addr") {
        return Some(Kind::IpAddress);
    }
    if has("ssn") || has("nino") || has("passport") || joined.contains("social_security") || joined.contains("national_id")
        || joined.contains("tax_id") || joined.contains("id_number") || has("sin") || has("bsn")
    {
        return Some(Kind::NationalId);
    }
    if has("dob") || has("birthday") || has("birthdate") || joined.contains("birth_date") || joined.contains("date_of_birth") || has("born") {
        return Some(Kind::BirthDate);
    }
    if joined.contains("first_name") || joined.contains("last_name") || joined.contains("full_name") || has("surname")
        || joined.contains("given_name") || joined.contains("family_name") || has("firstname") || has("lastname") || has("fullname")
        || joined.contains("maiden_name") || joined.contains("middle_name")
    {
        return Some(Kind::PersonName);
    }
    None
}

fn name_words(column: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in column.chars() {
        if ch == '_' || ch == '-' || ch == ' ' || ch == '.' {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if ch.is_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = ch.is_lowercase() || ch.is_ascii_digit();
        cur.extend(ch.to_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Whether `v` is an e-mail address: one `@`, a non-empty local part without spaces, a domain of
/// at least two labels whose last is 2+ letters.
pub fn is_email(v: &str) -> bool {
    let v = v.trim();
    if v.len() > 254 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = v.split_once('@') else { return false };
    if local.is_empty() || domain.contains('@') || local.len() > 64 {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
        && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_alphabetic()))
}

/// Whether `v` is a phone number: an optional leading `+`, 7 to 15 digits, and only spaces,
/// dashes, dots, slashes and parentheses between them (no letters, no other signs).
pub fn is_phone(v: &str) -> bool {
    let v = v.trim();
    let body = v.strip_prefix('+').unwrap_or(v);
    let mut digits = 0;
    for c in body.chars() {
        match c {
            '0'..='9' => digits += 1,
            ' ' | '-' | '.' | '(' | ')' | '/' => {}
            _ => return false,
        }
    }
    // a bare run of digits is as likely an id or an amount: it needs a + or separators
    let separated = v.starts_with('+') || body.chars().any(|c| !c.is_ascii_digit());
    (7..=15).contains(&digits) && separated && !is_date_like(body)
}

fn is_date_like(v: &str) -> bool {
    // 2024-05-01, 01.05.2024, 01/05/2024: three groups of 2-4 digits
    let groups: Vec<&str> = v.split(['-', '.', '/']).collect();
    groups.len() == 3 && groups.iter().all(|g| (1..=4).contains(&g.len()) && g.chars().all(|c| c.is_ascii_digit())) && v.len() <= 10
}

/// The Luhn checksum over a digit string.
pub fn luhn_valid(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut x = u32::from(*d);
        if i % 2 == 1 {
            x *= 2;
            if x > 9 {
                x -= 9;
            }
        }
        sum += x;
    }
    sum.is_multiple_of(10)
}

/// Whether `v` is a payment card number: 13 to 19 digits (spaces or dashes between groups
/// allowed), a Luhn-valid checksum, and not all one digit.
pub fn is_card_number(v: &str) -> bool {
    let v = v.trim();
    let mut digits = Vec::with_capacity(19);
    for c in v.chars() {
        match c {
            '0'..='9' => digits.push(c as u8 - b'0'),
            ' ' | '-' => {}
            _ => return false,
        }
    }
    (13..=19).contains(&digits.len()) && digits.iter().any(|d| *d != digits[0]) && luhn_valid(&digits)
}

/// Whether `v` is an IBAN: country letters, two check digits, 11 to 30 letters and digits
/// (spaces allowed), and the ISO 13616 mod-97 check equal to 1.
pub fn is_iban(v: &str) -> bool {
    let compact: Vec<char> = v.trim().chars().filter(|c| *c != ' ').collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    if !compact[..2].iter().all(|c| c.is_ascii_uppercase()) || !compact[2..4].iter().all(|c| c.is_ascii_digit()) {
        return false;
    }
    if !compact[4..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
        return false;
    }
    let mut rem: u32 = 0;
    for c in compact[4..].iter().chain(compact[..4].iter()) {
        let n = if c.is_ascii_digit() { *c as u32 - '0' as u32 } else { *c as u32 - 'A' as u32 + 10 };
        rem = if n >= 10 { (rem * 100 + n) % 97 } else { (rem * 10 + n) % 97 };
    }
    rem == 1
}

/// Whether `v` is an IPv4 or IPv6 address (optionally with a /prefix).
pub fn is_ip_address(v: &str) -> bool {
    let v = v.trim();
    let addr = v.split_once('/').map_or(v, |(a, _)| a);
    addr.parse::<Ipv4Addr>().is_ok() || (addr.contains(':') && addr.parse::<Ipv6Addr>().is_ok())
}

/// Whether `v` looks like a national identifier: a US social security number (`ddd-dd-dddd`,
/// area not 000, 666 or 9xx, group not 00, serial not 0000) or a UK National Insurance number
/// (two letters, six digits, A-D).
pub fn is_national_id(v: &str) -> bool {
    let v = v.trim();
    let b = v.as_bytes();
    if b.len() == 11 && b[3] == b'-' && b[6] == b'-' {
        let (area, group, serial) = (&v[0..3], &v[4..6], &v[7..11]);
        let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if all_digits(area) && all_digits(group) && all_digits(serial) {
            return area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000";
        }
        return false;
    }
    let compact: Vec<char> = v.chars().filter(|c| *c != ' ').collect();
    compact.len() == 9
        && compact[..2].iter().all(|c| c.is_ascii_uppercase())
        && compact[2..8].iter().all(|c| c.is_ascii_digit())
        && matches!(compact[8], 'A'..='D')
}

fn given_names() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| crate::dictionary::first_names().iter().map(|n| n.to_lowercase()).collect())
}

fn family_names() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| crate::dictionary::last_names().iter().map(|n| n.to_lowercase()).collect())
}

/// Whether `v` reads as a person's name: a known given or family name as a whole, or one to four
/// capitalised words whose first is a known given name or whose last is a known family name
/// (dictionaries compared case-insensitively).
pub fn is_person_name(v: &str) -> bool {
    let whole = v.trim().to_lowercase();
    if whole.is_empty() || !v.trim().chars().next().is_some_and(|c| c.is_uppercase()) {
        return false;
    }
    if given_names().contains(&whole) || family_names().contains(&whole) {
        return true;
    }
    let words: Vec<&str> = v.split_whitespace().collect();
    if words.len() > 4 {
        return false;
    }
    if !words.iter().all(|w| w.chars().next().is_some_and(|c| c.is_uppercase()) && w.chars().all(|c| c.is_alphabetic() || c == '-' || c == '\'')) {
        return false;
    }
    let first = words[0].to_lowercase();
    let last = words[words.len() - 1].to_lowercase();
    given_names().contains(&first) || (words.len() > 1 && family_names().contains(&last))
}

/// Whether a sampled value is of `kind` (birth dates are judged by name and type only).
pub fn value_is(kind: Kind, v: &str) -> bool {
    match kind {
        Kind::Email => is_email(v),
        Kind::Phone => is_phone(v),
        Kind::CardNumber => is_card_number(v),
        Kind::Iban => is_iban(v),
        Kind::IpAddress => is_ip_address(v),
        Kind::NationalId => is_national_id(v),
        Kind::PersonName => is_person_name(v),
        Kind::BirthDate => false,
    }
}

/// Counts of sampled values per kind for one column.
#[derive(Clone, Debug, Default)]
pub struct ColumnScan {
    pub sampled: u64,
    pub matches: [u64; 8],
}

impl ColumnScan {
    pub fn add(&mut self, v: &str) {
        self.sampled += 1;
        for (i, kind) in Kind::ALL.iter().enumerate() {
            if value_is(*kind, v) {
                self.matches[i] += 1;
            }
        }
    }

    /// The kind most sampled values match, with its share, if any value matched.
    pub fn best(&self) -> Option<(Kind, f64)> {
        if self.sampled == 0 {
            return None;
        }
        let (i, n) = self.matches.iter().enumerate().max_by_key(|(_, n)| **n)?;
        (*n > 0).then(|| (Kind::ALL[i], *n as f64 / self.sampled as f64))
    }

    pub fn share(&self, kind: Kind) -> f64 {
        let i = Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        if self.sampled == 0 {
            0.0
        } else {
            self.matches[i] as f64 / self.sampled as f64
        }
    }
}

/// How a finding was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FoundBy {
    Name,
    Content,
    Both,
}

impl FoundBy {
    pub fn name(self) -> &'static str {
        match self {
            FoundBy::Name => "name",
            FoundBy::Content => "content",
            FoundBy::Both => "both",
        }
    }
}

/// A column's verdict: the kind, how it was found, and the share of sampled values that matched.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub kind: Kind,
    pub found_by: FoundBy,
    pub share: f64,
}

/// Share of sampled values that must match for content alone to report a column.
pub const CONTENT_THRESHOLD: f64 = 0.6;

/// Judges one column from its name and, if values were sampled, their counts. A name match alone
/// is reported unless sampled values clearly contradict it (values were seen and under 10 % of
/// them match a kind whose values can be checked); content alone needs [`CONTENT_THRESHOLD`].
pub fn judge(column: &str, scan: Option<&ColumnScan>) -> Option<Finding> {
    let by_name = kind_by_name(column);
    let scan = scan.filter(|s| s.sampled > 0);
    match (by_name, scan) {
        (Some(kind), None) => Some(Finding { kind, found_by: FoundBy::Name, share: 0.0 }),
        (Some(kind), Some(s)) => {
            let share = s.share(kind);
            if kind == Kind::BirthDate {
                return Some(Finding { kind, found_by: FoundBy::Name, share });
            }
            if share >= CONTENT_THRESHOLD {
                return Some(Finding { kind, found_by: FoundBy::Both, share });
            }
            if share < 0.1 && kind.contradictable() {
                // the values say something else: another kind, or nothing personal
                return match s.best() {
                    Some((other, sh)) if sh >= CONTENT_THRESHOLD => Some(Finding { kind: other, found_by: FoundBy::Content, share: sh }),
                    _ => None,
                };
            }
            Some(Finding { kind, found_by: FoundBy::Name, share })
        }
        (None, Some(s)) => match s.best() {
            Some((kind, share)) if share >= CONTENT_THRESHOLD => Some(Finding { kind, found_by: FoundBy::Content, share }),
            _ => None,
        },
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn checksums() {
        assert!(is_card_number("4111 1111 1111 1111"));
        assert!(is_card_number("5500-0000-0000-0004"));
        assert!(!is_card_number("4111 1111 1111 1112"));
        assert!(!is_card_number("0000000000000000"));
        assert!(is_iban("DE89 3704 0044 0532 0130 00"));
        assert!(is_iban("GB82WEST12345698765432"));
        assert!(!is_iban("DE89 3704 0044 0532 0130 01"));
        assert!(!is_iban("de89370400440532013000"));
    }

    #[test]
    fn shapes() {
        assert!(is_email("ann.lee+news@mail.example.co.uk"));
        assert!(!is_email("not an email@example.com"));
        assert!(!is_email("{{user.email}}"));
        assert!(!is_email("a@b"));
        assert!(is_phone("+49 30 1234567"));
        assert!(is_phone("(555) 010-2345"));
        assert!(!is_phone("20240501"));
        assert!(!is_phone("2024-05-01"));
        assert!(!is_phone("1234567890"));
        assert!(is_ip_address("192.168.0.1"));
        assert!(is_ip_address("2001:db8::1"));
        assert!(!is_ip_address("1.2.3"));
        assert!(is_national_id("123-45-6789"));
        assert!(!is_national_id("666-45-6789"));
        assert!(!is_national_id("123-00-6789"));
        assert!(is_national_id("AB 12 34 56 C"));
        assert!(is_person_name("Alice"));
        assert!(is_person_name("Alice Smith"));
        assert!(!is_person_name("Blue Widget"));
        assert!(!is_person_name("alice"));
        for name in crate::dictionary::first_names().iter().chain(crate::dictionary::last_names()) {
            assert!(is_person_name(name), "{name}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(kind_by_name("customerEmail"), Some(Kind::Email));
        assert_eq!(kind_by_name("EMAIL_ADDR"), Some(Kind::Email));
        assert_eq!(kind_by_name("e_mail"), Some(Kind::Email));
        assert_eq!(kind_by_name("email_count"), None);
        assert_eq!(kind_by_name("email_verified"), None);
        assert_eq!(kind_by_name("mobile_phone"), Some(Kind::Phone));
        assert_eq!(kind_by_name("card_number"), Some(Kind::CardNumber));
        assert_eq!(kind_by_name("client_ip"), Some(Kind::IpAddress));
        assert_eq!(kind_by_name("ip_version"), None);
        assert_eq!(kind_by_name("date_of_birth"), Some(Kind::BirthDate));
        assert_eq!(kind_by_name("first_name"), Some(Kind::PersonName));
        assert_eq!(kind_by_name("product_name"), None);
        assert_eq!(kind_by_name("shipping"), None);
        assert_eq!(kind_by_name("description"), None);
    }

    #[test]
    fn verdicts() {
        let mut s = ColumnScan::default();
        for v in ["ann@example.com", "bob@example.org", "n/a"] {
            s.add(v);
        }
        let f = judge("contact", Some(&s)).unwrap();
        assert_eq!((f.kind, f.found_by), (Kind::Email, FoundBy::Content));
        let f = judge("email", Some(&s)).unwrap();
        assert_eq!((f.kind, f.found_by), (Kind::Email, FoundBy::Both));
        let mut t = ColumnScan::default();
        for v in ["Hello {{name}}", "Dear customer"] {
            t.add(v);
        }
        assert_eq!(judge("email_body", Some(&t)), None);
        assert_eq!(judge("notes", Some(&t)), None);
        let mut p = ColumnScan::default();
        for v in ["15550102345", "15550102346"] {
            p.add(v);
        }
        assert_eq!(judge("phone", Some(&p)).map(|f| f.found_by), Some(FoundBy::Name));
    }

    proptest! {
        // Arbitrary text never panics any detector, and a verdict's share is a fraction.
        #[test]
        fn detectors_total(values in proptest::collection::vec(".{0,40}", 0..20), column in ".{0,20}") {
            let mut s = ColumnScan::default();
            for v in &values {
                s.add(v);
            }
            if let Some(f) = judge(&column, Some(&s)) {
                prop_assert!((0.0..=1.0).contains(&f.share));
            }
        }

        // Every Luhn-completed digit string of card length is recognised.
        #[test]
        fn luhn_completed_cards(body in proptest::collection::vec(0u8..10, 12..18)) {
            let mut digits = body.clone();
            digits.push(0);
            let check = (0..10).find(|d| { let mut t = body.clone(); t.push(*d); luhn_valid(&t) }).unwrap();
            *digits.last_mut().unwrap() = check;
            let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            prop_assume!(digits.iter().any(|d| *d != digits[0]));
            prop_assert!(is_card_number(&text));
        }
    }
}
