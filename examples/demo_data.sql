-- Sample data for `make demo`: a small shop's customers and their orders.
-- Every person, address and number here is invented; card numbers are test numbers and
-- IBANs use published example formats.
CREATE SCHEMA crm;

CREATE TABLE crm.customers (
    id          bigint PRIMARY KEY,
    first_name  text NOT NULL,
    last_name   text NOT NULL,
    email       text NOT NULL,
    phone       text,
    card_number text,
    iban        text,
    birth_date  date,
    last_ip     inet,
    city        text
);

CREATE TABLE crm.orders (
    id          bigint PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES crm.customers,
    ordered_at  timestamptz NOT NULL,
    amount      numeric(10,2) NOT NULL
);

INSERT INTO crm.customers VALUES
 (1, 'Alice',   'Martin',     'alice.martin@example.com',   '+33 6 12 34 56 78',  '4111 1111 1111 1111', 'FR76 3000 6000 0112 3456 7890 189', '1987-08-23', '203.0.113.42',   'Lyon'),
 (2, 'Bob',     'Schneider',  'bob.schneider@example.net',  '+49 151 2345 6789',  '5500 0000 0000 0004', 'DE89 3704 0044 0532 0130 00',       '1975-02-11', '198.51.100.7',   'Hamburg'),
 (3, 'Chiara',  'Rossi',      'chiara.rossi@example.org',   '+39 347 123 4567',   '3400 0000 0000 009',  'IT60 X054 2811 1010 0000 0123 456', '1992-11-30', '192.0.2.155',    'Milano'),
 (4, 'Dmitri',  'Ivanov',     'd.ivanov@example.com',       '+44 7700 900123',    '3000 0000 0000 04',   'GB82 WEST 1234 5698 7654 32',       '1968-05-04', '2001:db8:85a3::8a2e:370:7334', 'London'),
 (5, 'Élodie',  'Dubois',     'elodie.dubois@example.fr',   '+33 7 98 76 54 32',  '6011 0000 0000 0004', 'FR14 2004 1010 0505 0001 3M02 606', '2001-01-17', '203.0.113.9',    'Nantes'),
 (6, 'Fatima',  'Al-Sayed',   'fatima.alsayed@example.com', '+971 50 123 4567',   '4000 0566 5566 5556', 'AE07 0331 2345 6789 0123 456',      '1983-07-08', '198.51.100.200', 'Dubai'),
 (7, 'Gustav',  'Lindqvist',  'gustav@lindqvist.example',   '+46 70 123 45 67',   '4242 4242 4242 4242', 'SE45 5000 0000 0583 9825 7466',     '1959-12-24', '192.0.2.88',     'Göteborg'),
 (8, 'Hana',    'Kobayashi',  'hana.k@example.jp',          '+81 90 1234 5678',   '3530 1113 3330 0000', NULL,                                '1995-03-03', '2001:db8:1:2::42', 'Osaka'),
 (9, 'Ícaro',   'Pereira',    'icaro.pereira@example.br',   '+55 11 91234 5678',  '5105 1051 0510 5100', 'BR15 0000 0000 0000 1093 2840 814 P2', '1990-09-15', '203.0.113.77', 'São Paulo'),
 (10,'Jan',     'de Vries',   'jan.devries@example.nl',     '+31 6 1234 5678',    '4917 6100 0000 0000', 'NL91 ABNA 0417 1643 00',            '1979-06-21', '198.51.100.31',  'Utrecht');

INSERT INTO crm.orders
SELECT g, 1 + (g * 7) % 10, timestamptz '2026-01-01' + g * interval '37 hours', round((10 + (g * 37) % 490)::numeric + 0.99, 2)
FROM generate_series(1, 40) g;

-- Masking rules: what an analyst sees instead of the real values.
SECURITY LABEL FOR privacy ON COLUMN crm.customers.last_name   IS 'MASKED WITH FUNCTION privacy.pseudo_last_name(last_name)';
SECURITY LABEL FOR privacy ON COLUMN crm.customers.email       IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN crm.customers.phone       IS 'MASKED WITH FUNCTION privacy.mask_phone(phone)';
SECURITY LABEL FOR privacy ON COLUMN crm.customers.card_number IS 'MASKED WITH FUNCTION privacy.mask_card(card_number)';
SECURITY LABEL FOR privacy ON COLUMN crm.customers.iban        IS 'MASKED WITH VALUE NULL';
SECURITY LABEL FOR privacy ON COLUMN crm.customers.birth_date  IS 'MASKED WITH FUNCTION privacy.generalize_date(birth_date, ''decade'')';
SECURITY LABEL FOR privacy ON COLUMN crm.customers.last_ip     IS 'MASKED WITH FUNCTION privacy.mask_ip(last_ip)';

CREATE ROLE analyst LOGIN;
SECURITY LABEL FOR privacy ON ROLE analyst IS 'MASKED';
GRANT USAGE ON SCHEMA crm TO analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA crm TO analyst;

-- Consent: a marketing application sees only customers who consented to marketing.
SELECT privacy.create_purpose('marketing', requires_consent => true, description => 'newsletters and offers');
SELECT privacy.create_purpose('billing', requires_consent => false, description => 'invoicing (contract)');
SELECT privacy.set_subject('crm.customers', 'id');
SELECT privacy.set_subject('crm.orders', 'customer_id');
CREATE ROLE marketing_app LOGIN;
GRANT USAGE ON SCHEMA crm TO marketing_app;
GRANT SELECT ON ALL TABLES IN SCHEMA crm TO marketing_app;
SELECT privacy.allow_purpose('marketing_app', 'marketing');
SELECT privacy.grant_consent('1', 'marketing', expires_at => now() + interval '1 year', source => 'signup form v3');
SELECT privacy.grant_consent('3', 'marketing', source => 'signup form v3');
SELECT privacy.grant_consent('5', 'marketing', source => 'in-store tablet');
SELECT privacy.grant_consent('7', 'marketing', source => 'newsletter box');
SELECT privacy.grant_consent('2', 'marketing', source => 'signup form v2');
SELECT privacy.withdraw_consent('2', 'marketing', source => 'unsubscribe link');

-- Pseudonymized analytics: events keyed by a pseudonym of the customer's e-mail.
CREATE SCHEMA analytics;
CREATE TABLE analytics.page_views (customer privacy.pseudonym, page text);
INSERT INTO analytics.page_views
SELECT c.email, p FROM crm.customers c, unnest(ARRAY['/home', '/cart', '/checkout']) p WHERE c.id % 3 <> 0;
