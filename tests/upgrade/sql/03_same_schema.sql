-- The updated database's pg_privacy objects are those of a fresh 0.2.0 install: every member,
-- function definition and privileges, table and view definition, column, constraint, index,
-- trigger, type, cast, and configuration table. Printed to files in each database and compared
-- with diff, which prints nothing when they are equal.
\set describe 'SELECT ''member'' AS what, pg_describe_object(classid, objid, objsubid) AS object, '''' AS detail FROM pg_depend WHERE refclassid = ''pg_extension''::regclass AND refobjid = (SELECT oid FROM pg_extension WHERE extname = ''pg_privacy'') AND deptype = ''e'' UNION ALL SELECT ''function'', p.oid::regprocedure::text, concat_ws('' | '', CASE WHEN p.prokind <> ''a'' THEN pg_get_functiondef(p.oid) END, p.proacl::text, pg_get_userbyid(p.proowner)) FROM pg_proc p WHERE p.pronamespace = ''privacy''::regnamespace UNION ALL SELECT ''relation'', c.oid::regclass::text, concat_ws('' | '', c.relkind, c.relacl::text, c.relrowsecurity, c.relforcerowsecurity, c.reloptions::text, CASE WHEN c.relkind = ''v'' THEN pg_get_viewdef(c.oid) END, CASE WHEN c.relkind = ''i'' THEN pg_get_indexdef(c.oid) END, pg_get_userbyid(c.relowner), obj_description(c.oid, ''pg_class'')) FROM pg_class c WHERE c.relnamespace = ''privacy''::regnamespace UNION ALL SELECT ''column'', a.attrelid::regclass::text || ''.'' || a.attname, concat_ws('' | '', a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid), a.attacl::text) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE c.relnamespace = ''privacy''::regnamespace AND a.attnum > 0 AND NOT a.attisdropped UNION ALL SELECT ''constraint'', conrelid::regclass::text || '' '' || conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = ''privacy''::regnamespace UNION ALL SELECT ''trigger'', tgrelid::regclass::text || '' '' || tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = ''privacy''::regnamespace) UNION ALL SELECT ''type'', t.oid::regtype::text, concat_ws('' | '', t.typtype, t.typinput::text, t.typoutput::text, t.typreceive::text, t.typsend::text, t.typlen, t.typalign, t.typstorage) FROM pg_type t WHERE t.typnamespace = ''privacy''::regnamespace UNION ALL SELECT ''cast'', format_type(castsource, NULL) || '' -> '' || format_type(casttarget, NULL), concat_ws('' | '', castfunc::regprocedure::text, castcontext, castmethod) FROM pg_cast WHERE castsource IN (SELECT oid FROM pg_type WHERE typnamespace = ''privacy''::regnamespace) OR casttarget IN (SELECT oid FROM pg_type WHERE typnamespace = ''privacy''::regnamespace) UNION ALL SELECT ''operator'', o.oid::regoperator::text, concat_ws('' | '', o.oprcode::text, o.oprcom::regoperator::text, o.oprnegate::regoperator::text) FROM pg_operator o WHERE o.oprleft IN (SELECT oid FROM pg_type WHERE typnamespace = ''privacy''::regnamespace) UNION ALL SELECT ''configuration'', e.extconfig::regclass[]::text, e.extcondition::text FROM pg_extension e WHERE e.extname = ''pg_privacy'' UNION ALL SELECT ''schema'', n.nspname, n.nspacl::text FROM pg_namespace n WHERE n.nspname = ''privacy'' ORDER BY 1, 2, 3'
\pset format unaligned
\pset tuples_only on
\getenv dir DUMPDIR
\set updated_file :dir '/schema-updated.txt'
\set fresh_file :dir '/schema-fresh.txt'
\o :updated_file
:describe;
\o
\c fresh
CREATE EXTENSION pg_privacy;
\o :fresh_file
:describe;
\o
\pset tuples_only off
\pset format aligned
-- sanity: the descriptions are not empty
SELECT count(*) > 200 AS described FROM (:describe) d;
\setenv UPDATED :updated_file
\setenv FRESH :fresh_file
\! diff "$UPDATED" "$FRESH" && echo "same objects"
