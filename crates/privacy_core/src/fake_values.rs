//! Random fake values (`fake_*`): plausible stand-ins that have nothing to do with the input.
//! Each call draws again, so these are VOLATILE in SQL.

use crate::dictionary::{city_suffixes, countries, first_names, last_names, street_suffixes, EMAIL_DOMAINS};
use crate::random::Rng;

pub fn fake_first_name(rng: &mut Rng) -> &'static str {
    rng.pick(first_names())
}

pub fn fake_last_name(rng: &mut Rng) -> &'static str {
    rng.pick(last_names())
}

pub fn fake_email(rng: &mut Rng) -> String {
    let first = rng.pick(first_names()).to_ascii_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "");
    let last = rng.pick(last_names()).to_ascii_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "");
    let n = rng.below(10_000);
    format!("{first}.{last}{n}@{}", rng.pick(EMAIL_DOMAINS))
}

/// A North-American-style number in the 555-01xx range reserved for fiction, so a fake number
/// never rings a real person: `+1-XXX-555-01XX`.
pub fn fake_phone(rng: &mut Rng) -> String {
    let area = 200 + rng.below(800);
    let line = rng.below(100);
    format!("+1-{area}-555-01{line:02}")
}

pub fn fake_city(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(last_names()), rng.pick(city_suffixes()))
}

pub fn fake_street_address(rng: &mut Rng) -> String {
    let number = 1 + rng.below(9_999);
    format!("{number} {} {}", rng.pick(last_names()), rng.pick(street_suffixes()))
}

pub fn fake_country(rng: &mut Rng) -> &'static str {
    rng.pick(countries())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn varied_and_well_formed() {
        let mut rng = Rng::from_seed([9; 32]);
        let names: HashSet<_> = (0..1000).map(|_| fake_first_name(&mut rng)).collect();
        assert!(names.len() > 500);
        for _ in 0..1000 {
            let e = fake_email(&mut rng);
            let (local, domain) = e.split_once('@').unwrap();
            assert!(EMAIL_DOMAINS.contains(&domain) && !local.is_empty(), "{e}");
            let p = fake_phone(&mut rng);
            assert!(p.starts_with("+1-") && p.contains("-555-01"), "{p}");
            assert!(!fake_city(&mut rng).is_empty());
            assert!(fake_street_address(&mut rng).contains(' '));
            assert!(!fake_country(&mut rng).is_empty());
            assert!(!fake_last_name(&mut rng).is_empty());
        }
    }
}
