//! The consent ledger: `privacy.consent_event` as a tamper-evident history.
//!
//! Every event carries `subject_key` (the keyed pseudonym of the subject's canonical id, the same
//! digest `privacy.pseudonymize` gives), `prev_hash` (the hash of the subject's previous event)
//! and `hash` (SHA-256 over the event and `prev_hash`, `privacy_core::ledger`). Nothing in a
//! hash names the subject in the clear, so erasing a subject (its id set to NULL in its events)
//! leaves every chain valid.
//!
//! **Concurrency.** One chain per subject: recording an event takes that subject's chain lock
//! (`crate::consent::record`) and nothing else, so grants for different subjects never wait on
//! each other; holding it, it reads the chain's last event and only then takes the event's id,
//! so a chain's events also have increasing ids (its last event is the one with the highest id).
//!
//! **Tamper evidence.** `privacy.verify_ledger()` recomputes every hash and checks that each
//! subject's events form one unbroken chain: a changed event breaks its hash, a removed or
//! inserted one breaks a link. Someone who can write the tables (a superuser) can rebuild every
//! hash after a change, so `privacy.ledger_anchor()` records a digest over all chains' last
//! hashes (chained to the previous anchor) and returns it: kept outside the database, it lets
//! `verify_ledger(anchor)` show that the history up to it is still the one that produced it.
//!
//! Orchestration is SQL (`extension_sql!` below): errors keep all their fields, and the checks are
//! set-based queries the planner runs with indexes. Rust computes the hashes, from
//! `privacy_core::ledger`, the one definition of them.

use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use privacy_core::ledger::{anchor_digest, event_hash, ChainHead, LedgerEvent};

use crate::pg::errors::raise;

fn required<T>(value: Option<T>, what: &str) -> T {
    value.unwrap_or_else(|| {
        raise(
            pg_sys::errcodes::PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!("a ledger event needs its {what}"),
            "Consent events are recorded by privacy.grant_consent() and privacy.withdraw_consent().",
        )
    })
}

/// `privacy.ledger_event_hash(...)`: the hash of one event chained to `previous` (NULL for a
/// subject's first event). Public: an auditor can recompute the chain from the ledger alone.
#[allow(clippy::too_many_arguments)] // one argument per hashed field, as SQL calls it
#[pg_extern(immutable, parallel_safe)]
fn ledger_event_hash(
    previous: Option<&[u8]>,
    event_id: Option<i64>,
    subject_key: Option<&[u8]>,
    purpose: Option<&str>,
    state: Option<&str>,
    valid_until: Option<TimestampWithTimeZone>,
    recorded_at: Option<TimestampWithTimeZone>,
    recorded_by: Option<&str>,
    source: Option<&str>,
) -> Vec<u8> {
    let event = LedgerEvent {
        event_id: required(event_id, "id"),
        subject_key: required(subject_key, "subject key"),
        purpose: required(purpose, "purpose"),
        state: required(state, "state"),
        valid_until: valid_until.map(pg_sys::TimestampTz::from),
        recorded_at: pg_sys::TimestampTz::from(required(recorded_at, "time")),
        recorded_by: required(recorded_by, "recorder"),
        source,
    };
    event_hash(previous, &event).to_vec()
}

/// `privacy.ledger_subject_key(subject)`: the key a subject is chained under: the keyed
/// pseudonym digest of its canonical id, so `'045'` and `'45'` (integer readings) or two
/// spellings of a UUID are one chain. EXECUTE is revoked from PUBLIC (it is a keyed function of
/// input of the caller's choice); the extension's own functions call it.
#[pg_extern(stable, parallel_safe)]
fn ledger_subject_key(subject: &str) -> Vec<u8> {
    subject_key(subject)
}

/// The key a subject is chained under (see `ledger_subject_key`); `grant_consent` computes it too.
pub(crate) fn subject_key(subject: &str) -> Vec<u8> {
    let canonical = super::registry::canonical_subject(subject);
    crate::keys::with_keyring(|ring| ring.pseudonym_digest(canonical.as_bytes()).to_vec())
}

/// `privacy.ledger_anchor_digest(previous, watermark, keys, event_ids, hashes)`: the anchor over
/// the chain heads given as three parallel arrays (any order).
#[pg_extern(immutable, parallel_safe)]
fn ledger_anchor_digest(
    previous: Option<&[u8]>,
    watermark: i64,
    keys: Option<pgrx::Array<'_, &[u8]>>,
    event_ids: Option<pgrx::Array<'_, i64>>,
    hashes: Option<pgrx::Array<'_, &[u8]>>,
) -> Vec<u8> {
    let keys: Vec<Option<Vec<u8>>> = keys.map(|a| a.iter().map(|k| k.map(<[u8]>::to_vec)).collect()).unwrap_or_default();
    let ids: Vec<Option<i64>> = event_ids.map(|a| a.iter().collect()).unwrap_or_default();
    let hashes: Vec<Option<Vec<u8>>> = hashes.map(|a| a.iter().map(|h| h.map(<[u8]>::to_vec)).collect()).unwrap_or_default();
    if keys.len() != ids.len() || keys.len() != hashes.len() {
        raise(
            pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "the anchor's key, id and hash arrays differ in length",
            "Pass one element per chain head in each array.",
        );
    }
    let heads: Vec<ChainHead> = keys
        .into_iter()
        .zip(ids)
        .zip(hashes)
        .map(|((k, id), h)| ChainHead {
            subject_key: required(k, "subject key"),
            event_id: required(id, "id"),
            hash: required(h, "hash"),
        })
        .collect();
    anchor_digest(previous, watermark, &heads).to_vec()
}

extension_sql!(
    r#"
-- Anchors: digests over every chain's last hash up to a watermark, chained to each other. Copy
-- each one somewhere the database's superusers cannot rewrite.
CREATE TABLE privacy.ledger_anchor (
    anchor_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    watermark bigint NOT NULL,
    chains    bigint NOT NULL,
    previous  bytea,
    digest    bytea NOT NULL,
    taken_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    taken_by  name NOT NULL DEFAULT session_user,
    -- anchors form one chain: no two follow the same anchor (nor two start it)
    UNIQUE NULLS NOT DISTINCT (previous)
);
REVOKE ALL ON privacy.ledger_anchor FROM PUBLIC;
GRANT SELECT ON privacy.ledger_anchor TO privacy_admin;
SELECT pg_catalog.pg_extension_config_dump('privacy.ledger_anchor', '');
-- After a restore's COPY (a statement), numbering goes on after the restored anchors. The identity's
-- sequence is not an extension configuration object: pg_dump would read it for every role that
-- dumps the database, and fail for those that may not.
CREATE FUNCTION privacy.anchor_numbering() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    seq regclass := pg_get_serial_sequence('privacy.ledger_anchor', 'anchor_id')::regclass;
    top bigint;
BEGIN
    SELECT max(t.anchor_id) INTO top FROM privacy.ledger_anchor t;
    IF top > coalesce(pg_sequence_last_value(seq), 0) THEN
        PERFORM setval(seq, top);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER numbering AFTER INSERT ON privacy.ledger_anchor FOR EACH STATEMENT EXECUTE FUNCTION privacy.anchor_numbering();
REVOKE ALL ON FUNCTION privacy.ledger_subject_key(text) FROM PUBLIC;

-- Locks the subject's chain and returns its last hash, NULL for a new subject (consent/record.rs);
-- refuses an event id not above the chain's last one.
CREATE FUNCTION privacy.ledger_lock(key bytea, event_id bigint) RETURNS bytea
LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'ledger_lock';
REVOKE ALL ON FUNCTION privacy.ledger_lock(bytea, bigint) FROM PUBLIC;

-- Chains each new event to its subject's previous one. Events that arrive with a hash (a restore)
-- are kept as they are.
CREATE FUNCTION privacy.consent_event_chained() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.subject IS NULL THEN
        RAISE EXCEPTION 'a consent event needs its subject'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass the data subject''s id.';
    END IF;
    NEW.subject_key := privacy.ledger_subject_key(NEW.subject);
    NEW.prev_hash := privacy.ledger_lock(NEW.subject_key, NEW.event_id);
    NEW.hash := privacy.ledger_event_hash(NEW.prev_hash, NEW.event_id, NEW.subject_key, NEW.purpose, NEW.state,
                                          NEW.valid_until, NEW.recorded_at, NEW.recorded_by, NEW.source);
    RETURN NEW;
END $$;
CREATE TRIGGER chained BEFORE INSERT ON privacy.consent_event
    FOR EACH ROW WHEN (NEW.hash IS NULL) EXECUTE FUNCTION privacy.consent_event_chained();

-- Records an anchor over the whole ledger and returns it as hex, to be kept outside the database.
-- New events wait while it is taken, so no event with a smaller id can commit after it; so does
-- another anchor (SHARE ROW EXCLUSIVE conflicts with itself, where SHARE did not: two anchors
-- taken at once both followed the same previous one), which then follows this one.
CREATE FUNCTION privacy.ledger_anchor() RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    w bigint;
    prev bytea;
    n bigint;
    d bytea;
BEGIN
    PERFORM privacy.require_admin('anchor the consent ledger');
    LOCK TABLE privacy.consent_event IN SHARE ROW EXCLUSIVE MODE;
    SELECT coalesce(max(event_id), 0) INTO w FROM privacy.consent_event;
    SELECT a.digest INTO prev FROM privacy.ledger_anchor a ORDER BY a.anchor_id DESC LIMIT 1;
    SELECT count(*), privacy.ledger_anchor_digest(prev, w, array_agg(t.subject_key), array_agg(t.event_id), array_agg(t.hash))
    INTO n, d
    FROM privacy.ledger_heads_at(w) t;
    BEGIN
        INSERT INTO privacy.ledger_anchor (watermark, chains, previous, digest) VALUES (w, n, prev, d);
    EXCEPTION WHEN unique_violation THEN
        -- a REPEATABLE READ snapshot older than the last anchor: following the anchor it sees
        -- would fork the chain (the unique constraint on previous refuses that)
        RAISE EXCEPTION 'another anchor was taken after this transaction''s snapshot'
            USING ERRCODE = 'serialization_failure',
                  HINT = 'Take the anchor in a new transaction.';
    END;
    RETURN encode(d, 'hex');
END $$;

-- Every chain's last event among events up to a watermark.
CREATE FUNCTION privacy.ledger_heads_at(watermark bigint)
RETURNS TABLE (subject_key bytea, event_id bigint, hash bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT e.subject_key, e.event_id, e.hash
    FROM privacy.consent_event e
    WHERE e.event_id <= watermark
      AND NOT EXISTS (SELECT FROM privacy.consent_event n
                      WHERE n.subject_key = e.subject_key AND n.prev_hash = e.hash AND n.event_id <= watermark)
$$;

-- Checks the whole ledger: every hash, every link, one chain per subject, every anchor, and (if
-- given) that an anchor kept outside the database is one the ledger still produces. One row: the
-- counts, and the first problem found (NULL when the ledger is intact).
CREATE FUNCTION privacy.verify_ledger(expected_anchor text DEFAULT NULL)
RETURNS TABLE (intact boolean, events bigint, chains bigint, anchors bigint, event_id bigint, problem text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad bigint;
    a record;
    prev bytea;
    recomputed bytea;
    matched boolean := expected_anchor IS NULL;
BEGIN
    PERFORM privacy.require_admin('verify the consent ledger');
    SELECT count(*), count(DISTINCT e.subject_key) INTO events, chains FROM privacy.consent_event e;
    SELECT count(*) INTO anchors FROM privacy.ledger_anchor;
    intact := false;

    SELECT min(e.event_id) INTO bad FROM privacy.consent_event e
    WHERE e.hash IS DISTINCT FROM privacy.ledger_event_hash(e.prev_hash, e.event_id, e.subject_key, e.purpose, e.state,
                                                           e.valid_until, e.recorded_at, e.recorded_by, e.source);
    IF bad IS NOT NULL THEN
        event_id := bad; problem := 'the event''s contents do not match its hash: it was changed';
        RETURN NEXT; RETURN;
    END IF;
    -- an event follows an earlier event of its subject: chains follow id order (recording takes
    -- the id after the chain's lock), so one that follows a later event was added out of order
    SELECT min(e.event_id) INTO bad FROM privacy.consent_event e
    WHERE e.prev_hash IS NOT NULL
      AND NOT EXISTS (SELECT FROM privacy.consent_event p
                      WHERE p.subject_key = e.subject_key AND p.event_id < e.event_id AND p.hash = e.prev_hash);
    IF bad IS NOT NULL THEN
        event_id := bad; problem := 'the event does not follow any earlier event of its subject: an event before it was changed or removed, or it was added out of order';
        RETURN NEXT; RETURN;
    END IF;
    SELECT min(s.first_event) INTO bad FROM (
        SELECT min(e.event_id) AS first_event FROM privacy.consent_event e GROUP BY e.subject_key
        HAVING count(*) FILTER (WHERE e.prev_hash IS NULL) <> 1) s;
    IF bad IS NOT NULL THEN
        event_id := bad; problem := 'the subject''s events do not start one chain: its first event was removed or a chain was added';
        RETURN NEXT; RETURN;
    END IF;
    SELECT min(f.last_event) INTO bad FROM (
        SELECT max(e.event_id) AS last_event FROM privacy.consent_event e WHERE e.prev_hash IS NOT NULL
        GROUP BY e.subject_key, e.prev_hash HAVING count(*) > 1) f;
    IF bad IS NOT NULL THEN
        event_id := bad; problem := 'two events follow the same event: an event was inserted or the chain was rebuilt';
        RETURN NEXT; RETURN;
    END IF;

    FOR a IN SELECT * FROM privacy.ledger_anchor ORDER BY anchor_id LOOP
        IF a.previous IS DISTINCT FROM prev THEN
            event_id := a.watermark; problem := format('anchor %s does not follow the anchor before it: anchors were changed or removed', a.anchor_id);
            RETURN NEXT; RETURN;
        END IF;
        SELECT privacy.ledger_anchor_digest(a.previous, a.watermark, array_agg(t.subject_key), array_agg(t.event_id), array_agg(t.hash))
        INTO recomputed FROM privacy.ledger_heads_at(a.watermark) t;
        IF recomputed IS DISTINCT FROM a.digest THEN
            event_id := a.watermark;
            problem := format('the history up to event %s no longer produces anchor %s: events before it were changed, removed or added', a.watermark, a.anchor_id);
            RETURN NEXT; RETURN;
        END IF;
        IF expected_anchor IS NOT NULL AND encode(a.digest, 'hex') = lower(expected_anchor) THEN
            matched := true;
        END IF;
        prev := a.digest;
    END LOOP;
    IF NOT matched THEN
        problem := 'the anchor given is not one this ledger produces: the history or its anchors were rewritten';
        RETURN NEXT; RETURN;
    END IF;
    intact := true;
    RETURN NEXT;
END $$;
REVOKE ALL ON FUNCTION privacy.ledger_anchor(), privacy.verify_ledger(text), privacy.ledger_heads_at(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.ledger_anchor(), privacy.verify_ledger(text) TO privacy_admin;
"#,
    name = "consent_ledger",
    requires = ["consent_tables", ledger_event_hash, ledger_subject_key, ledger_anchor_digest, "admin_functions"]
);
