-- Under pg_privacy 0.1.0 (its library and SQL): a database with rules, role labels, purposes,
-- subject tables, consent and pseudonyms, as a 0.1.0 user would have it. What each role sees is
-- recorded in public.witness, to be compared after the update.
CREATE EXTENSION pg_privacy VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'pg_privacy';

CREATE ROLE up_analyst LOGIN;
CREATE ROLE up_marketing LOGIN;
CREATE ROLE up_clerk LOGIN;
CREATE ROLE up_gone LOGIN;
CREATE SCHEMA crm;
CREATE TABLE crm.customers (
    id    bigint PRIMARY KEY,
    name  text,
    email text,
    ssn   text,
    card  privacy.pseudonym
);
CREATE INDEX customers_card ON crm.customers (card);
INSERT INTO crm.customers VALUES
    (1, 'Ada Lovelace', 'ada@example.com', '123-45-6789', '4111111111111111'),
    (2, 'Alan Turing', 'alan@example.org', '234-56-7890', '5500000000000004'),
    (3, 'Grace Hopper', 'grace@example.net', '345-67-8901', '340000000000009'),
    (4, 'Edsger Dijkstra', 'edsger@example.com', '456-78-9012', '6011000000000004'),
    (5, 'Barbara Liskov', 'barbara@example.org', '567-89-0123', '3530111333300000'),
    (6, 'Donald Knuth', 'don@example.net', '678-90-1234', '4222222222222');
CREATE TABLE crm.orders (id int PRIMARY KEY, customer_id bigint, amount numeric);
INSERT INTO crm.orders SELECT g, 1 + g % 6, g * 10 FROM generate_series(1, 12) g;
CREATE TABLE crm.notes (id int, body text);   -- no rule, no subject: governs nothing
INSERT INTO crm.notes VALUES (1, 'hello');
GRANT USAGE ON SCHEMA crm TO up_analyst, up_marketing, up_clerk;
GRANT SELECT ON ALL TABLES IN SCHEMA crm TO up_analyst, up_marketing, up_clerk;

SECURITY LABEL FOR privacy ON COLUMN crm.customers.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN crm.customers.ssn IS 'MASKED WITH FUNCTION privacy.partial(ssn, 0, ''XXX-XX-'', 4)';
SECURITY LABEL FOR privacy ON ROLE up_analyst IS 'MASKED';

SELECT privacy.create_purpose('marketing', true, 'newsletters');
SELECT privacy.create_purpose('billing', false, NULL);
SELECT privacy.set_subject('crm.customers', 'id');
SELECT privacy.set_subject('crm.orders', 'customer_id');
SELECT privacy.allow_purpose('up_marketing', 'marketing');
SELECT privacy.allow_purpose('up_gone', 'marketing');
SELECT privacy.grant_consent('1', 'marketing', source => 'signup form') > 0 AS granted;
SELECT privacy.grant_consent('2', 'marketing') > 0 AS granted;
SELECT privacy.grant_consent('3', 'marketing', now() + interval '1 day') > 0 AS granted;
SELECT privacy.withdraw_consent('2', 'marketing', 'unsubscribe link') > 0 AS withdrawn;
SELECT privacy.grant_consent('5', 'marketing') > 0 AS granted;
SELECT privacy.grant_consent('5', 'billing') > 0 AS granted;

-- what the key and pseudonyms are now
CREATE TABLE public.witness AS
SELECT (SELECT encode(sha256(key), 'hex') FROM privacy.key) AS key_digest,
       (SELECT array_agg(card::text ORDER BY id) FROM crm.customers) AS cards,
       (SELECT count(*) FROM privacy.consent_event) AS events;
SELECT length(key_digest), cardinality(cards), events FROM public.witness;

-- what each role sees under 0.1.0
\c - up_analyst
SELECT id, name, email, ssn FROM crm.customers ORDER BY id;
\c - up_marketing
SELECT id, name FROM crm.customers ORDER BY id;
SELECT count(*) FROM crm.orders;
\c - up_clerk
SELECT id, email FROM crm.customers ORDER BY id;
\c - postgres
SELECT count(*) FROM crm.customers;
