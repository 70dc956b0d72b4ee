//! Dictionaries the pseudonym and fake-value functions draw from.
//!
//! The word lists come from the `fake` crate's English locale (MIT OR Apache-2.0), itself derived
//! from the long-maintained Faker data sets: about 3,000 first names, 470 last names, 225 street
//! suffixes, 244 countries. They are compiled into the library, so nothing is loaded at run time.
//! E-mail domains are only the ones reserved for documentation (RFC 2606), so a pseudonymous or fake
//! address can never reach a real mailbox.

use fake::locales::{Data, EN};

pub fn first_names() -> &'static [&'static str] {
    EN::NAME_FIRST_NAME
}

pub fn last_names() -> &'static [&'static str] {
    EN::NAME_LAST_NAME
}

/// City names are built like Faker's: a name followed by a place suffix (`Abbottville`).
pub fn city_suffixes() -> &'static [&'static str] {
    EN::ADDRESS_CITY_SUFFIX
}

pub fn street_suffixes() -> &'static [&'static str] {
    EN::ADDRESS_STREET_SUFFIX
}

pub fn countries() -> &'static [&'static str] {
    EN::ADDRESS_COUNTRY
}

/// Reserved example domains (RFC 2606): never deliverable.
pub const EMAIL_DOMAINS: &[&str] = &["example.com", "example.net", "example.org"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionaries_are_of_useful_size() {
        assert!(first_names().len() >= 1000, "{}", first_names().len());
        assert!(last_names().len() >= 400, "{}", last_names().len());
        assert!(street_suffixes().len() >= 100);
        assert!(countries().len() >= 200);
        assert!(city_suffixes().len() >= 10);
        // Each list's entries are non-empty and free of '@' (they go into e-mail local parts).
        for w in first_names().iter().chain(last_names()) {
            assert!(!w.is_empty() && !w.contains('@'), "{w:?}");
        }
    }
}
