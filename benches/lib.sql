-- Helpers for the SQL benchmarks, loaded with \i into the benchmarking session (temporary
-- functions: nothing is left behind). A benchmark compares two queries run as two roles in this
-- one backend, interleaved (B then A, `runs` times after one warm-up each), and keeps medians.

-- Milliseconds one query takes as role `who` (with one extra setting `name=value`, if given).
CREATE FUNCTION pg_temp.run_ms(who text, q text, setting text DEFAULT NULL) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; ms float8;
BEGIN
    PERFORM set_config('role', who, true);
    IF setting IS NOT NULL THEN
        PERFORM set_config(split_part(setting, '=', 1), split_part(setting, '=', 2), true);
    END IF;
    t0 := clock_timestamp();
    EXECUTE q;
    ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
    PERFORM set_config('role', 'none', true);
    RETURN ms;
END $$;

-- Median milliseconds of A and B and their ratio A / B.
CREATE FUNCTION pg_temp.compare(a_who text, a_q text, b_who text, b_q text, runs int DEFAULT 7,
                                a_setting text DEFAULT NULL, b_setting text DEFAULT NULL)
RETURNS TABLE (a_ms numeric, b_ms numeric, ratio numeric) LANGUAGE plpgsql AS $$
DECLARE a float8[] := '{}'; b float8[] := '{}';
BEGIN
    PERFORM pg_temp.run_ms(a_who, a_q, a_setting);
    PERFORM pg_temp.run_ms(b_who, b_q, b_setting);
    FOR i IN 1..runs LOOP
        b := b || pg_temp.run_ms(b_who, b_q, b_setting);
        a := a || pg_temp.run_ms(a_who, a_q, a_setting);
    END LOOP;
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) INTO a_ms FROM unnest(a) x;
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) INTO b_ms FROM unnest(b) x;
    ratio := round(a_ms / b_ms, 3);
    a_ms := round(a_ms, 1);
    b_ms := round(b_ms, 1);
    RETURN NEXT;
END $$;
