//! `privacy.anonymize_table(relation, confirm_database)`: static anonymization for staging copies.
//! Rewrites every stored value of the table's masked columns with the column's masking rule,
//! table by table of its inheritance tree, in batches of pages, reusing erasure's anonymizing
//! scope (`crate::context::Scope::Anonymizing`): the statement `UPDATE ONLY t SET c = c` is masked
//! whoever runs it, so the rule's value is what gets stored. SQL text names tables and columns
//! from the catalog (`%s` of a regclass, `%I`), never from input, and runs with the caller's
//! rights.

use pgrx::prelude::*;

/// `privacy.written_by_this_transaction(xmin)`: whether a row version was written by the current
/// transaction or one of its subtransactions (so a batch never rewrites a row twice when its new
/// version lands in a page still to come).
#[pg_extern(volatile, parallel_unsafe)]
fn written_by_this_transaction(xmin: i64) -> bool {
    let Ok(xid) = u32::try_from(xmin) else { return false };
    // SAFETY: a lookup in the backend's own transaction state; cannot raise.
    unsafe { pgrx::pg_sys::TransactionIdIsCurrentTransactionId(pgrx::pg_sys::TransactionId::from(xid)) }
}

extension_sql!(
    r#"

CREATE FUNCTION privacy.anonymize_table(relation regclass, confirm_database text, batch_pages integer DEFAULT 1000)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    part regclass;
    cols text[];
    set_list text;
    pages bigint;
    first bigint;
    n bigint;
    part_rows bigint;
    total bigint := 0;
    depth int;
    done jsonb := '[]';
    started timestamptz := clock_timestamp();
BEGIN
    PERFORM privacy.require_admin('anonymize a table');
    IF confirm_database IS DISTINCT FROM current_database() THEN
        RAISE EXCEPTION 'anonymize_table would rewrite % in database "%", but confirm_database is %',
                        relation, current_database(), coalesce(quote_literal(confirm_database), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass confirm_database => the name of the database you mean to change (a staging copy): a guard against running it on production.';
    END IF;
    IF batch_pages IS NULL OR batch_pages < 1 THEN
        RAISE EXCEPTION 'batch_pages must be at least 1' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'It is how many table pages each UPDATE rewrites; the default is 1000.';
    END IF;
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = relation) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', relation USING ERRCODE = 'wrong_object_type',
            HINT = 'Anonymize the tables a view or materialized view reads, then refresh it.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM privacy.masking_rules m WHERE m."table" = relation) THEN
        RAISE EXCEPTION '% has no masking rules', relation USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Declare rules first: SECURITY LABEL FOR privacy ON COLUMN ... IS ''MASKED WITH ...''.';
    END IF;
    -- nobody else writes the tables while they are rewritten (reads go on)
    EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', relation);
    FOR part IN
        WITH RECURSIVE tree(oid) AS (
            SELECT relation::oid
            UNION SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid)
        SELECT t.oid::regclass FROM tree t JOIN pg_class c ON c.oid = t.oid
        WHERE c.relkind = 'r' ORDER BY t.oid
    LOOP
        SELECT array_agg(m."column" ORDER BY a.attnum) INTO cols
        FROM privacy.masking_rules m
        JOIN pg_attribute a ON a.attrelid = m."table" AND a.attname = m."column"
        WHERE m."table" = part AND m.applies_to = 'all reads'
          AND a.attgenerated = '' AND a.attidentity <> 'a';
        part_rows := 0;
        IF cardinality(cols) > 0 THEN
            SELECT string_agg(format('%I = %I', c, c), ', ') INTO set_list FROM unnest(cols) c;
            pages := pg_relation_size(part) / current_setting('block_size')::bigint;
            first := 0;
            depth := privacy.begin_anonymizing();
            WHILE first < pages LOOP
                EXECUTE format('UPDATE ONLY %s r SET %s WHERE r.ctid >= $1 AND r.ctid < $2 '
                               'AND NOT privacy.written_by_this_transaction(r.xmin::text::bigint)', part, set_list)
                    USING format('(%s,0)', first)::tid, format('(%s,0)', least(first + batch_pages, pages))::tid;
                GET DIAGNOSTICS n = ROW_COUNT;
                part_rows := part_rows + n;
                first := first + batch_pages;
                RAISE NOTICE 'anonymize_table: %: % of % pages, % rows', part, least(first, pages), pages, part_rows;
            END LOOP;
            PERFORM privacy.end_anonymizing(depth);
        END IF;
        total := total + part_rows;
        done := done || jsonb_build_object('table', part::text, 'columns', to_jsonb(coalesce(cols, '{}')), 'rows', part_rows);
    END LOOP;
    RETURN jsonb_build_object('relation', relation::text, 'database', current_database(), 'tables', done,
                              'rows', total, 'started_at', started, 'finished_at', clock_timestamp());
END $$;
"#,
    name = "anonymize_table",
    requires = [written_by_this_transaction, "masking_rules_view"]
);
