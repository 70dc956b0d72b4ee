//! In-backend tests (`cargo pgrx test`): the SQL functions as PostgreSQL calls them.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn text(sql: &str) -> Option<String> {
        Spi::get_one::<String>(sql).expect("query failed")
    }

    #[pg_test]
    fn partial_and_masks() {
        assert_eq!(text("SELECT privacy.partial('4111111111111111', 0, 'XXXX-', 4)").as_deref(), Some("XXXX-1111"));
        assert_eq!(text("SELECT privacy.mask_email('alice@example.com')").as_deref(), Some("a***@example.com"));
        assert_eq!(text("SELECT privacy.mask_card('4111 1111 1111 1234')").as_deref(), Some("XXXX XXXX XXXX 1234"));
        assert_eq!(text("SELECT privacy.mask_ip('192.168.10.77'::inet)::text").as_deref(), Some("192.168.10.0/24"));
        assert_eq!(text("SELECT privacy.partial(NULL, 1, '*', 1)"), None);
    }

    #[pg_test(error = "partial() prefix and suffix must be zero or positive, got -1 and 2")]
    fn partial_negative_is_an_error() {
        Spi::run("SELECT privacy.partial('abc', -1, '*', 2)").unwrap();
    }

    #[pg_test(error = "unknown generalization unit \"fortnight\"")]
    fn generalize_unknown_unit() {
        Spi::run("SELECT privacy.generalize_date('2020-05-05', 'fortnight')").unwrap();
    }

    #[pg_test]
    fn generalize_and_bucket() {
        assert_eq!(text("SELECT privacy.generalize_date('1987-08-23', 'month')::text").as_deref(), Some("1987-08-01"));
        assert_eq!(Spi::get_one::<i32>("SELECT privacy.bucket(37, 10)").unwrap(), Some(30));
        assert_eq!(text("SELECT privacy.bucket(37.5::numeric, 5)::text").as_deref(), Some("35"));
        assert_eq!(text("SELECT privacy.bucket(-0.5::numeric, 0.25)::text").as_deref(), Some("-0.50"));
    }

    #[pg_test]
    fn keyed_functions_are_stable_per_key_and_change_with_it() {
        let h1 = text("SELECT privacy.hash('alice')").unwrap();
        assert_eq!(h1.len(), 64);
        assert_eq!(text("SELECT privacy.hash('alice')").unwrap(), h1);
        let p1 = text("SELECT privacy.pseudo_email('alice@example.com')").unwrap();
        // Replacing the key (as a restore does) invalidates the cached keyring in this backend.
        Spi::run("INSERT INTO privacy.key (key) VALUES (privacy.random_key())").unwrap();
        assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM privacy.key").unwrap(), Some(1));
        Spi::run("SELECT pg_catalog.pg_sleep(0)").unwrap();
        let h2 = text("SELECT privacy.hash('alice')").unwrap();
        assert_ne!(h1, h2, "a new key must give new hashes");
        assert_ne!(p1, text("SELECT privacy.pseudo_email('alice@example.com')").unwrap());
    }

    #[pg_test]
    fn key_table_is_superuser_only() {
        let public_grants = Spi::get_one::<i64>(
            "SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a
              WHERE c.oid = 'privacy.key'::regclass AND a.grantee = 0",
        )
        .unwrap();
        assert_eq!(public_grants, Some(0), "PUBLIC must hold no privilege on the key table");
        Spi::run("CREATE ROLE key_probe").unwrap();
        Spi::run("SET LOCAL ROLE key_probe").unwrap();
        // The function works for an unprivileged role (it reads the key itself)...
        assert_eq!(text("SELECT privacy.hash('x')").map(|h| h.len()), Some(64));
    }

    #[pg_test(error = "permission denied for table key")]
    fn key_table_unreadable_by_others() {
        Spi::run("CREATE ROLE key_probe2").unwrap();
        Spi::run("SET LOCAL ROLE key_probe2").unwrap();
        Spi::run("SELECT key FROM privacy.key").unwrap();
    }

    #[pg_test]
    fn volatility_and_search_path_rules() {
        // Every SQL-language or PL function pins search_path; C functions resolve no names (see
        // masking_functions.rs) and are not pinned, for speed.
        let unpinned = Spi::get_one::<String>(
            "SELECT string_agg(p.oid::regprocedure::text, ', ') FROM pg_proc p
               JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'privacy'
               JOIN pg_language l ON l.oid = p.prolang
              WHERE l.lanname <> 'c'
                AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)",
        )
        .unwrap();
        assert_eq!(unpinned, None, "functions without a pinned search_path: {unpinned:?}");
        let wrong = Spi::get_one::<String>(
            "SELECT string_agg(proname || ':' || provolatile::text, ', ') FROM pg_proc
              WHERE pronamespace = 'privacy'::regnamespace AND (
                    (proname IN ('partial','mask_email','mask_phone','mask_card','mask_iban','mask_ip','redact',
                                 'regex_redact','generalize_date','bucket') AND provolatile <> 'i')
                 OR (proname IN ('hash') OR proname LIKE 'pseudo\\_%') AND provolatile <> 's'
                 OR ((proname = 'noise' AND pronargs = 2) OR proname LIKE 'fake\\_%') AND provolatile <> 'v'
                 OR (proname = 'noise' AND pronargs = 5) AND provolatile <> 's')",
        )
        .unwrap();
        assert_eq!(wrong, None);
    }


    #[pg_test(error = "bucket width must be positive, got 0")]
    fn bucket_numeric_zero_width() {
        Spi::run("SELECT privacy.bucket(1.5::numeric, 0::numeric)").unwrap();
    }

    fn setup_masked_table() {
        Spi::run(
            "CREATE TABLE t_people (id int, email text, ssn text);
             INSERT INTO t_people VALUES (1, 'alice@example.com', '123-45-6789');
             SECURITY LABEL FOR privacy ON COLUMN t_people.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
             SECURITY LABEL FOR privacy ON COLUMN t_people.ssn IS 'MASKED WITH VALUE ''XXX''';
             CREATE ROLE t_analyst;
             GRANT SELECT ON t_people TO t_analyst;
             SECURITY LABEL FOR privacy ON ROLE t_analyst IS 'MASKED';",
        )
        .unwrap();
    }

    #[pg_test]
    fn masked_role_sees_masked_values_and_owner_raw() {
        setup_masked_table();
        assert_eq!(text("SELECT email FROM t_people").as_deref(), Some("alice@example.com"));
        Spi::run("SET LOCAL ROLE t_analyst").unwrap();
        assert_eq!(text("SELECT email || ' ' || ssn FROM t_people").as_deref(), Some("a***@example.com XXX"));
        assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM t_people WHERE ssn LIKE '1%'").unwrap(), Some(0));
        Spi::run("RESET ROLE").unwrap();
        assert_eq!(text("SELECT ssn FROM t_people").as_deref(), Some("123-45-6789"));
    }

    #[pg_test]
    fn masked_roles_view_gives_reasons() {
        setup_masked_table();
        Spi::run("CREATE ROLE t_member IN ROLE t_analyst").unwrap();
        assert_eq!(
            text("SELECT string_agg(role || ': ' || reason, '; ' ORDER BY role) FROM privacy.masked_roles WHERE role LIKE 't!_%' ESCAPE '!'").as_deref(),
            Some("t_analyst: labelled MASKED; t_member: member of masked role t_analyst")
        );
    }

    #[pg_test(error = "invalid masking rule for column public.t_people.id: masking rule for column \"id\" returns type text, which cannot be assigned to the column's type integer")]
    fn rule_of_wrong_type_is_refused() {
        setup_masked_table();
        Spi::run("SECURITY LABEL FOR privacy ON COLUMN t_people.id IS 'MASKED WITH FUNCTION privacy.mask_email(email)'").unwrap();
    }

    #[pg_test(error = "masked roles cannot call privacy.hash(text) directly")]
    fn masked_role_cannot_hash_chosen_input() {
        setup_masked_table();
        Spi::run("SET LOCAL ROLE t_analyst").unwrap();
        Spi::run("SELECT privacy.hash('guess')").unwrap();
    }

    #[pg_test]
    fn pseudonym_io_and_operators() {
        Spi::run("CREATE TABLE t_events (c privacy.pseudonym); INSERT INTO t_events VALUES ('alice'), ('alice'), ('bob')").unwrap();
        let token = text("SELECT privacy.pseudonymize('alice')::text").unwrap();
        assert!(token.starts_with("psn_") && token.len() == 56, "{token}");
        // text form round-trips, plaintext input pseudonymizes, equality and hashing agree
        assert_eq!(text(&format!("SELECT ('{token}'::privacy.pseudonym)::text")).as_deref(), Some(token.as_str()));
        assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM t_events WHERE c = 'alice'").unwrap(), Some(2));
        assert_eq!(Spi::get_one::<i64>("SELECT count(DISTINCT c) FROM t_events").unwrap(), Some(2));
        assert_eq!(Spi::get_one::<bool>("SELECT privacy.pseudonymize('a') < privacy.pseudonymize('b') OR privacy.pseudonymize('a') > privacy.pseudonymize('b')").unwrap(), Some(true));
        assert_eq!(Spi::get_one::<i32>("SELECT pg_column_size(privacy.pseudonymize('x'))").unwrap(), Some(32));
        // the binary form is the 32 stored bytes (COPY BINARY round trip: e2e scenario 30)
        assert_eq!(Spi::get_one::<i32>("SELECT length(privacy.pseudonym_send(privacy.pseudonymize('alice')))").unwrap(), Some(32));
    }

    #[pg_test(error = "malformed pseudonym token: expected 52 characters after psn_, found 3")]
    fn malformed_token_is_an_error() {
        Spi::run("SELECT 'psn_abc'::privacy.pseudonym").unwrap();
    }

    // ---------------------------------------------------------------- consent

    fn count(sql: &str) -> i64 {
        Spi::get_one::<i64>(sql).expect("query failed").unwrap_or(-1)
    }

    fn setup_consent() {
        Spi::run(
            "CREATE TABLE t_subjects (id int PRIMARY KEY, name text);
             INSERT INTO t_subjects VALUES (1, 'one'), (2, 'two'), (45, 'forty-five');
             CREATE ROLE t_app;
             GRANT SELECT, UPDATE ON t_subjects TO t_app;
             SELECT privacy.create_purpose('t_news', true);
             SELECT privacy.create_purpose('t_billing', false);
             SELECT privacy.set_subject('t_subjects', 'id');
             SELECT privacy.allow_purpose('t_app', 't_news');
             SELECT privacy.grant_consent('1', 't_news');",
        )
        .unwrap();
    }

    #[pg_test]
    fn subject_readings_follow_the_server_input_functions() {
        assert_eq!(Spi::get_one::<i64>("SELECT privacy.subject_as_bigint(' +045 ')").unwrap(), Some(45));
        assert_eq!(Spi::get_one::<i64>("SELECT privacy.subject_as_bigint('4 5')").unwrap(), None);
        assert_eq!(
            text("SELECT privacy.subject_as_uuid('{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}')::text").as_deref(),
            Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        );
        // the readings agree with the casts PostgreSQL would make of the same text
        for (s, cast) in [("045", "bigint"), (" -7 ", "bigint"), ("9223372036854775807", "bigint"), ("a0eebc999c0b4ef8bb6d6bb9bd380a11", "uuid")] {
            let ours = text(&format!("SELECT privacy.subject_canonical('{s}')")).unwrap();
            let theirs = text(&format!("SELECT '{s}'::{cast}::text")).unwrap();
            assert_eq!(ours, theirs, "{s}");
        }
    }

    #[pg_test]
    fn filtered_role_sees_consenting_subjects_only() {
        setup_consent();
        assert_eq!(count("SELECT count(*) FROM t_subjects"), 3);
        Spi::run("SET LOCAL ROLE t_app").unwrap();
        assert_eq!(count("SELECT count(*) FROM t_subjects"), 1);
        // a withdrawal in the same transaction hides the row at the next statement
        Spi::run("RESET ROLE; SELECT privacy.withdraw_consent('01', 't_news'); SET LOCAL ROLE t_app").unwrap();
        assert_eq!(count("SELECT count(*) FROM t_subjects"), 0);
        // writes reach only visible rows
        Spi::run("RESET ROLE; SELECT privacy.grant_consent('45', 't_news'); SET LOCAL ROLE t_app").unwrap();
        assert_eq!(count("WITH u AS (UPDATE t_subjects SET name = upper(name) RETURNING id) SELECT count(*) FROM u"), 1);
    }

    #[pg_test(error = "role \"t_app\" is not allowed to act for purpose \"t_billing\"")]
    fn purpose_not_allowed_is_refused() {
        setup_consent();
        Spi::run("SET LOCAL ROLE t_app").unwrap();
        Spi::run("SET LOCAL privacy.purpose = 't_billing'").unwrap();
    }

    #[pg_test]
    fn catalog_views_show_what_filters_use() {
        setup_consent();
        assert_eq!(
            text("SELECT relation::text || ':' || subject_column || ':' || id_kind || ':' || array_to_string(filtered_for, ',') FROM privacy.subject_tables WHERE relation = 't_subjects'::regclass").as_deref(),
            Some("t_subjects:id:integer:t_news")
        );
        assert_eq!(text("SELECT string_agg(role_name || '/' || purpose, ',') FROM privacy.role_purposes WHERE role_name = 't_app'").as_deref(), Some("t_app/t_news"));
        // a dropped subject column: the view says so, and filtered sessions get an error, not rows
        Spi::run("ALTER TABLE t_subjects DROP COLUMN name").unwrap();
        Spi::run("ALTER TABLE t_subjects RENAME COLUMN id TO ident").unwrap();
        assert_eq!(count("SELECT count(*) FROM privacy.subject_tables WHERE relation = 't_subjects'::regclass AND id_kind IS NULL"), 1);
    }

    #[pg_test(error = "subject column \"id\" of public.t_subjects no longer exists or cannot hold subject ids")]
    fn broken_subject_column_fails_closed() {
        setup_consent();
        Spi::run("ALTER TABLE t_subjects RENAME COLUMN id TO ident").unwrap();
        Spi::run("SET LOCAL ROLE t_app").unwrap();
        Spi::run("SELECT count(*) FROM t_subjects").unwrap();
    }

    #[pg_test]
    fn key_fingerprint_follows_the_key_only() {
        let f1 = text("SELECT privacy.key_fingerprint()").unwrap();
        assert_eq!(f1.len(), 16);
        assert_eq!(text("SELECT privacy.key_fingerprint()").unwrap(), f1);
        // The same key copied in (as a node or a restore receives it) keeps the fingerprint.
        Spi::run("INSERT INTO privacy.key (key) SELECT key FROM privacy.key").unwrap();
        assert_eq!(text("SELECT privacy.key_fingerprint()").unwrap(), f1);
        Spi::run("INSERT INTO privacy.key (key) VALUES (privacy.random_key())").unwrap();
        assert_ne!(text("SELECT privacy.key_fingerprint()").unwrap(), f1, "a new key must give a new fingerprint");
    }

    #[pg_test(error = "only superusers and members of privacy_admin can read the key's fingerprint")]
    fn key_fingerprint_is_for_admins() {
        Spi::run("CREATE ROLE fingerprint_probe").unwrap();
        Spi::run("SET LOCAL ROLE fingerprint_probe").unwrap();
        Spi::run("SELECT privacy.key_fingerprint()").unwrap();
    }

    #[pg_test]
    fn guards_fail_closed_even_as_permissive_copies() {
        Spi::run("CREATE TABLE t_guarded (id int, secret text)").unwrap();
        Spi::run("SECURITY LABEL FOR privacy ON COLUMN t_guarded.secret IS 'MASKED WITH VALUE NULL'").unwrap();
        // Both guards call the function that raises where the library is not preloaded, so a copy
        // that lost AS RESTRICTIVE (Citus's copies on shards) still fails closed there.
        assert_eq!(
            text("SELECT string_agg(polname || ':' || pg_get_expr(polqual, polrelid), ',' ORDER BY polname) FROM pg_policy WHERE polrelid = 't_guarded'::regclass").as_deref(),
            Some("privacy_all_rows:privacy.enforcement_active(),privacy_preloaded:privacy.enforcement_active()")
        );
    }

    #[pg_test]
    fn no_citus_no_shards() {
        // Without Citus, a table named like a shard is an ordinary table with its own rules.
        Spi::run("CREATE TABLE t_orders_102008 (id int, card text)").unwrap();
        Spi::run("SECURITY LABEL FOR privacy ON COLUMN t_orders_102008.card IS 'MASKED WITH VALUE NULL'").unwrap();
        assert_eq!(count("SELECT count(*) FROM privacy.masking_rules WHERE \"table\" = 't_orders_102008'::regclass"), 1);
    }

    #[pg_test]
    fn ledger_hash_is_public_and_deterministic() {
        // The hash depends on every field and on nothing else: an auditor recomputes it anywhere.
        let h = |source: &str| {
            text(&format!(
                "SELECT encode(privacy.ledger_event_hash(NULL, 1, '\\x01'::bytea, 'news', 'granted', NULL, '2026-01-01 00:00:00+00', 'app', '{source}'), 'hex')"
            ))
            .unwrap()
        };
        assert_eq!(h("form"), h("form"));
        assert_ne!(h("form"), h("form2"));
        assert_eq!(h("form").len(), 64);
    }

    #[pg_test]
    fn subject_match_knows_every_kind() {
        for kind in ["integer", "uuid", "text", "pseudonym"] {
            assert!(text(&format!("SELECT privacy.subject_match('{kind}')")).is_some_and(|m| m.contains("$1")), "{kind}");
        }
        assert_eq!(text("SELECT privacy.subject_match('float')"), None);
    }

    #[pg_test]
    fn consent_lapses_with_retention() {
        Spi::run("SELECT privacy.create_purpose('t_trial', true, retention => interval '30 days')").unwrap();
        Spi::run("CREATE TABLE t_people (id int PRIMARY KEY)").unwrap();
        Spi::run("SELECT privacy.set_subject('t_people', 'id')").unwrap();
        Spi::run("INSERT INTO privacy.consent_event (subject, purpose, state, recorded_at) VALUES ('1', 't_trial', 'granted', now() - interval '40 days')").unwrap();
        Spi::run("SELECT privacy.grant_consent('2', 't_trial')").unwrap();
        assert_eq!(count("SELECT count(*) FROM privacy.consent_bigint WHERE purpose = 't_trial' AND active_until > now()"), 1);
        assert_eq!(text("SELECT string_agg(subject, ',') FROM privacy.retention_due()").as_deref(), Some("1"));
    }

    #[pg_test(error = "retention must be positive, got -1 days")]
    fn negative_retention_is_refused() {
        Spi::run("SELECT privacy.create_purpose('t_bad', true, retention => interval '-1 day')").unwrap();
    }

    #[pg_test]
    fn policy_export_applies_to_itself_without_changes() {
        Spi::run("CREATE TABLE t_pol (id int PRIMARY KEY, email text)").unwrap();
        Spi::run("SECURITY LABEL FOR privacy ON COLUMN t_pol.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)'").unwrap();
        Spi::run("SELECT privacy.create_purpose('t_pol_purpose', true, retention => interval '2 years')").unwrap();
        assert_eq!(count("SELECT jsonb_array_length(privacy.export_policy() -> 'masking_rules')"), 1);
        assert_eq!(count("SELECT count(*) FROM privacy.apply_policy(privacy.export_policy())"), 0);
        assert_eq!(text("SELECT privacy.export_policy() -> 'purposes' -> 0 ->> 'retention'").as_deref(), Some("P2Y"));
    }

    #[pg_test(error = "invalid label \"SOMETIMES\" for role analyst")]
    fn policy_with_a_bad_role_label_is_refused() {
        Spi::run(
            "SELECT * FROM privacy.apply_policy('{\"format\": \"pg_privacy policy\", \"version\": 1, \
             \"role_labels\": [{\"role\": \"analyst\", \"label\": \"SOMETIMES\"}]}', false)",
        )
        .unwrap();
    }

    #[pg_test]
    fn discover_finds_checksummed_cards_and_ignores_decoys() {
        Spi::run("CREATE TABLE t_disc (id int, pay text, code text)").unwrap();
        Spi::run("INSERT INTO t_disc SELECT g, '4111 1111 1111 1111', lpad((1000000000000000 + g * 7919)::text, 16, '0') FROM generate_series(1, 30) g").unwrap();
        assert_eq!(text("SELECT string_agg(column_name || ':' || kind || ':' || found_by, ',') FROM privacy.discover(ARRAY['tests', 'public'], 30) WHERE table_name = 't_disc'").as_deref(), Some("pay:card_number:content"));
    }

    /// The jsonb text of a document built by `crate::pg::jsonb`, as an SQL literal.
    fn built(json: &crate::pg::jsonb::Json<'_>) -> String {
        let datum = json.to_jsonb();
        // SAFETY: a jsonb datum just built in this memory context.
        let out = unsafe { pgrx::direct_function_call::<&std::ffi::CStr>(pg_sys::jsonb_out, &[Some(datum)]) }.expect("jsonb_out");
        let out = out.to_str().expect("UTF-8");
        format!("'{}'", out.replace('\'', "''"))
    }

    #[pg_test]
    fn jsonb_trees_encode_as_postgresql_builds_them() {
        use crate::pg::jsonb::Json;
        // 2026-12-07 08:00:00.123456 UTC, in microseconds since 2000-01-01
        let ts: i64 = Spi::get_one::<i64>("SELECT ((extract(epoch FROM '2026-12-07 08:00:00.123456+00'::timestamptz) - 946684800) * 1000000)::bigint")
            .unwrap()
            .unwrap();
        let unicode = "ünïcödé \"quoted\"\n\ttab";
        let tree = Json::Object(vec![
            ("zeta", Json::Int(i64::MIN)),
            ("a", Json::str(unicode)),
            ("bb", Json::Null),
            ("when", Json::Timestamptz(ts)),
            ("list", Json::Array(vec![Json::Int(0), Json::Int(i64::MAX), Json::Object(vec![("k", Json::str(""))])])),
            ("empty", Json::Array(vec![])),
            ("nothing", Json::Object(vec![])),
            ("ab", Json::Int(-2)),
            ("ab", Json::Int(-1)),
        ]);
        let expected = "jsonb_build_object('zeta', '-9223372036854775808'::bigint, 'a', E'ünïcödé \"quoted\"\\n\\ttab', 'bb', NULL, \
             'when', '2026-12-07 08:00:00.123456+00'::timestamptz, 'list', jsonb_build_array(0, 9223372036854775807, jsonb_build_object('k', '')), \
             'empty', '[]'::jsonb, 'nothing', '{}'::jsonb, 'ab', -1)";
        let literal = built(&tree);
        let same = format!("SELECT {literal}::jsonb = {expected} AND {literal} = ({expected})::text");
        assert_eq!(Spi::get_one::<bool>(&same).unwrap(), Some(true), "{literal} vs {expected}");
        // a stored document nested in a tree (built token by token)
        let text = std::ffi::CString::new("{\"x\": [1, {\"y\": null}], \"b\": \"s\"}").unwrap();
        // SAFETY: jsonb_in reads a NUL-terminated string and returns a palloc'd jsonb.
        let datum = unsafe { pgrx::direct_function_call_as_datum(pg_sys::jsonb_in, &[Some(pg_sys::Datum::from(text.as_ptr()))]) }.unwrap();
        let tree = Json::Array(vec![Json::Jsonb(datum), Json::Object(vec![("z", Json::Jsonb(datum)), ("when", Json::Timestamptz(ts)), ("a", Json::Int(7))])]);
        let literal = built(&tree);
        let expected = "jsonb_build_array('{\"x\": [1, {\"y\": null}], \"b\": \"s\"}'::jsonb, jsonb_build_object('z', '{\"x\": [1, {\"y\": null}], \"b\": \"s\"}'::jsonb, \
             'when', '2026-12-07 08:00:00.123456+00'::timestamptz, 'a', 7))";
        let same = format!("SELECT {literal}::jsonb = {expected} AND {literal} = ({expected})::text");
        assert_eq!(Spi::get_one::<bool>(&same).unwrap(), Some(true), "{literal} vs {expected}");
    }
}
