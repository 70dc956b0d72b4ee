-- Partial masking functions: normal, unicode, empty, NULL and bad input, run as an ordinary
-- (non-superuser) role through its own connection.
\c - analyst
\set SHOW_CONTEXT never

-- partial(value, prefix, padding, suffix)
SELECT privacy.partial('4111111111111111', 0, 'XXXX-XXXX-XXXX-', 4) AS card,
       privacy.partial('Alexander', 2, '***', 1) AS name,
       privacy.partial('Zoë Ørsted', 3, '…', 2) AS unicode,
       privacy.partial('日本語のテキスト', 1, '*', 1) AS cjk,
       privacy.partial('', 0, '*', 0) AS empty,
       privacy.partial('abc', 2, '**', 1) AS too_short_keeps_nothing,
       privacy.partial(NULL, 1, '*', 1) IS NULL AS null_in_null_out,
       privacy.partial('abc', 2147483647, '*', 2147483647) AS huge_lengths;
SELECT privacy.partial('abc', -1, '*', 2);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.partial('abc', 0, '*', -5);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- the session is still usable after an error
SELECT 1 AS still_usable;

-- e-mail: first character of the local part and the domain
SELECT v AS input, privacy.mask_email(v) AS masked
FROM (VALUES ('alice.smith@example.com'), ('Ærøskøbing@dk.example'), ('@example.com'),
             ('not an email'), (''), (NULL)) t(v);

-- phone: all digits but the last two; card: all digits but the last four; layout kept
SELECT v AS input, privacy.mask_phone(v) AS phone, privacy.mask_card(v) AS card
FROM (VALUES ('+1 (555) 010-4477'), ('4111 1111 1111 1111'), ('4111-1111-1111-1234'),
             ('12345'), ('０１２３４５６７８９'), (''), (NULL)) t(v);

-- IBAN: country code and last four characters
SELECT v AS input, privacy.mask_iban(v) AS masked
FROM (VALUES ('DE89 3704 0044 0532 0130 00'), ('GB82WEST12345698765432'), ('SHORT'), (''), (NULL)) t(v);

-- IP: host part truncated, IPv4 to /24, IPv6 to /48, shorter netmasks kept
SELECT v AS input, privacy.mask_ip(v) AS masked, pg_typeof(privacy.mask_ip(v)) AS type
FROM (VALUES ('192.168.17.42'::inet), ('10.9.8.7/8'), ('2001:db8:1234:5678::1'), (NULL)) t(v);

-- redact: neither content nor length survives
SELECT privacy.redact('secret') AS short, privacy.redact(repeat('x', 100000)) AS long,
       privacy.redact('') AS empty, privacy.redact(NULL) IS NULL AS null_in_null_out;

-- a very large input is handled (10 MB local part), not a crash
SELECT length(privacy.mask_email(repeat('a', 10000000) || '@example.com')) AS masked_length;
