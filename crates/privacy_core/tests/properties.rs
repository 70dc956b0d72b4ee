//! Property tests (proptest) over arbitrary Unicode input: the masking functions never panic,
//! never split a character (the output is always valid UTF-8 by construction, so what is checked
//! is that kept parts are exact character-wise slices of the input) and never reveal more than
//! they document.

use privacy_core::keyed::Keyring;
use privacy_core::partial::{mask_card, mask_email, mask_iban, mask_phone, partial};
use privacy_core::pseudo::{pseudo_email, pseudo_phone};
use privacy_core::regex_redact::CompiledPattern;
use proptest::prelude::*;

fn keys() -> Keyring {
    Keyring::from_master(&[1u8; 32]).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn partial_keeps_exact_char_slices(s in "\\PC{0,40}", p in 0i32..50, pad in "\\PC{0,5}", x in 0i32..50) {
        let out = partial(&s, p, &pad, x).unwrap();
        let chars: Vec<char> = s.chars().collect();
        if chars.len() <= (p + x) as usize {
            prop_assert_eq!(out, pad);
        } else {
            let head: String = chars[..p as usize].iter().collect();
            let tail: String = chars[chars.len() - x as usize..].iter().collect();
            prop_assert_eq!(out, format!("{head}{pad}{tail}"));
        }
    }

    #[test]
    fn partial_rejects_any_negative(s in "\\PC{0,10}", p in i32::MIN..0, x in any::<i32>()) {
        prop_assert!(partial(&s, p, "*", x).is_err());
        prop_assert!(partial(&s, x.max(0), "*", p).is_err());
    }

    #[test]
    fn digit_masks_keep_length_and_hide_digits(s in "[0-9０-９٠-٩ +()\\-]{0,30}\\PC{0,5}") {
        for (out, keep) in [(mask_card(&s), 4usize), (mask_phone(&s), 2usize)] {
            prop_assert_eq!(out.chars().count(), s.chars().count());
            let revealed = out.chars().filter(|c| c.is_numeric()).count();
            prop_assert!(revealed <= keep, "{} revealed {} digits", out, revealed);
        }
        let iban = mask_iban(&s);
        prop_assert_eq!(iban.chars().count(), s.chars().count());
    }

    #[test]
    fn email_mask_reveals_at_most_first_char_and_domain(local in "\\PC{1,20}", domain in "[a-z.]{1,20}") {
        let local = local.replace('@', "");
        prop_assume!(!local.is_empty());
        let out = mask_email(&format!("{local}@{domain}"));
        let first: String = local.chars().take(1).collect();
        prop_assert_eq!(out, format!("{first}***@{domain}"));
    }

    #[test]
    fn pseudo_functions_are_total_and_deterministic(s in "\\PC{0,60}") {
        let k = keys();
        prop_assert_eq!(pseudo_email(&k, &s), pseudo_email(&k, &s));
        let phone = pseudo_phone(&k, &s);
        prop_assert_eq!(phone.chars().count(), s.chars().count());
    }

    #[test]
    fn regex_compile_never_panics(p in "\\PC{0,20}", s in "\\PC{0,40}") {
        if let Ok(c) = CompiledPattern::compile(&p) {
            let _ = c.redact(&s, "[x]").unwrap();
        }
    }
}

proptest! {
    #[test]
    fn label_parser_never_panics_and_roundtrips(s in "\\PC{0,80}", kind in prop_oneof![Just("FUNCTION"), Just("VALUE")], expr in "[a-z_.()' ]{1,40}") {
        let _ = privacy_core::label::parse_column_label(&s);
        let _ = privacy_core::label::parse_role_label(&s);
        let expr = expr.trim();
        prop_assume!(!expr.is_empty());
        let parsed = privacy_core::label::parse_column_label(&format!("masked with {kind} {expr}")).unwrap();
        prop_assert_eq!(parsed.expression(), expr);
    }
}

proptest! {
    #[test]
    fn pseudonym_tokens_round_trip(bytes in proptest::array::uniform32(any::<u8>()), s in "\\PC{0,70}") {
        let token = privacy_core::pseudonym::encode(&bytes);
        prop_assert_eq!(privacy_core::pseudonym::decode(&token).unwrap(), bytes);
        // any input is classified without panicking; psn_-prefixed input is a token or an error
        match privacy_core::pseudonym::parse_input(&s) {
            Ok(privacy_core::pseudonym::Input::Plaintext(p)) => prop_assert!(!p.starts_with("psn_")),
            Ok(privacy_core::pseudonym::Input::Token(_)) => prop_assert!(s.starts_with("psn_")),
            Err(_) => prop_assert!(s.starts_with("psn_")),
        }
    }
}

mod subject_ids {
    use privacy_core::subject::{format_uuid, parse_bigint, parse_uuid, IntegerSyntax};
    use proptest::prelude::*;

    proptest! {
        // Every integer's decimal spelling, padded or zero-prefixed, reads back as itself.
        #[test]
        fn integers_round_trip(v in any::<i64>(), zeros in 0usize..4, pad in 0usize..3) {
            let digits = v.unsigned_abs().to_string();
            let s = format!("{}{}{}{}{}", " ".repeat(pad), if v < 0 { "-" } else { "" }, "0".repeat(zeros), digits, " ".repeat(pad));
            prop_assert_eq!(parse_bigint(&s, IntegerSyntax::Decimal), Some(v));
            prop_assert_eq!(parse_bigint(&s, IntegerSyntax::NonDecimalAndUnderscores), Some(v));
        }

        // Whatever the input, parsing never panics, and a reading is the same in both syntaxes
        // when the input is plain decimal.
        #[test]
        fn arbitrary_text_never_panics(s in ".{0,40}") {
            let a = parse_bigint(&s, IntegerSyntax::Decimal);
            let b = parse_bigint(&s, IntegerSyntax::NonDecimalAndUnderscores);
            if a.is_some() { prop_assert_eq!(a, b); }
            let _ = parse_uuid(&s);
        }

        #[test]
        fn uuids_round_trip(bytes in any::<[u8; 16]>(), upper in any::<bool>(), braces in any::<bool>()) {
            let mut s = format_uuid(&bytes);
            if upper { s = s.to_uppercase(); }
            if braces { s = format!("{{{s}}}"); }
            prop_assert_eq!(parse_uuid(&s), Some(bytes));
        }
    }
}
