-- Without pg_privacy preloaded, protected tables fail closed: a masked role gets an error,
-- never raw data; DROP EXTENSION leaves the table readable. Runs a cluster of its own
-- (tests/lib/no_preload.sh).
\! "$E2E_LIB/no_preload.sh"
