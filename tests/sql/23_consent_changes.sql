-- A withdrawal is visible to every session from its next statement after commit, cached plans
-- included; an uncommitted one changes nothing. Expiry is checked at execution.
\set SHOW_CONTEXT never
\getenv pghost PGHOST
\getenv pgport PGPORT
SELECT dblink_connect('app', format('host=%s port=%s dbname=privacy_e2e user=marketing_app', :'pghost', :'pgport'));
SELECT dblink_exec('app', 'SET plan_cache_mode = force_generic_plan');
SELECT dblink_exec('app', 'PREPARE visible AS SELECT id FROM shop.customers ORDER BY id');
SELECT * FROM dblink('app', 'EXECUTE visible') AS t(id int);
-- grant consent to customer 4: visible from the next statement
SELECT privacy.grant_consent('4', 'marketing', source => 'phone call') > 0 AS ok;
SELECT * FROM dblink('app', 'EXECUTE visible') AS t(id int);
-- an uncommitted withdrawal changes nothing for others
BEGIN;
SELECT privacy.withdraw_consent('4', 'marketing', source => 'phone call') > 0 AS ok;
SELECT * FROM dblink('app', 'EXECUTE visible') AS t(id int);
COMMIT;
-- committed: gone from the next execution of the same cached plan
SELECT * FROM dblink('app', 'EXECUTE visible') AS t(id int);
-- consent expires with no further event: one granted until a microsecond after this
-- transaction began has expired by the application's next statement (scenario 50 shows an open
-- transaction losing the row at its next statement; nothing here waits on a clock)
SELECT privacy.grant_consent('4', 'marketing', expires_at => now() + interval '1 microsecond', source => 'trial') > 0 AS ok;
SELECT * FROM dblink('app', 'EXECUTE visible') AS t(id int);
SELECT dblink_disconnect('app');
-- allowing a purpose takes effect for the next statement of existing sessions
SELECT dblink_connect('multi', format('host=%s port=%s dbname=privacy_e2e user=reporting_app', :'pghost', :'pgport'));
SELECT * FROM dblink('multi', 'SELECT count(*) FROM shop.customers') AS t(n bigint);
SELECT privacy.allow_purpose('reporting_app', 'analytics');
SELECT * FROM dblink('multi', 'SELECT count(*) FROM shop.customers') AS t(n bigint);
SELECT privacy.disallow_purpose('reporting_app', 'analytics');
SELECT * FROM dblink('multi', 'SELECT count(*) FROM shop.customers') AS t(n bigint);
SELECT dblink_disconnect('multi');
