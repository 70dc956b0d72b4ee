//! `privacy.discover(schemas, sample_rows)`: where personal data is. Lists the columns of the
//! database's tables, samples a bounded number of rows of each table (TABLESAMPLE SYSTEM over
//! about three times the rows wanted, then LIMIT), and hands names and values to
//! `privacy_core::discover`, which judges each column. Returns findings and counts only, never a
//! sampled value. Tables are listed with the caller's rights (a privacy admin's: tables it cannot
//! read are judged by column names alone, and said so) and sampled as their owners, in a
//! security-restricted operation, as ANALYZE samples them.

use std::collections::BTreeMap;

use pgrx::pg_sys;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::prelude::*;
use privacy_core::discover::{judge, ColumnScan, Kind};

use crate::masking::rules::resolve;
use crate::pg::catalog::{qualified_name, quote_ident, quote_literal};
use crate::pg::errors::raise;

struct Column {
    attnum: i16,
    name: String,
    type_name: String,
    /// Sampled for content: text-like and network-address types.
    sampled: bool,
    category: u8,
    is_inet: bool,
}

struct Table {
    relid: pg_sys::Oid,
    schema: String,
    name: String,
    reltuples: f64,
    readable: bool,
    columns: Vec<Column>,
}

fn spi_failed(what: &str, e: pgrx::spi::SpiError) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("could not {what}: {e}"), "Check that you can read the catalogs and the tables.")
}

/// Tables and columns to look at: ordinary, partitioned, foreign tables and materialized views
/// outside the system schemas, pg_privacy's own schema and extensions' objects; partitions are
/// judged through their parent.
fn candidate_tables(schemas: Option<Vec<String>>) -> Vec<Table> {
    let rows = Spi::connect(|client| {
        let args = [pgrx::datum::DatumWithOid::from(schemas)];
        let rows = client.select(
            "SELECT c.oid, n.nspname::text, c.relname::text, c.reltuples::float8, \
                    pg_catalog.has_table_privilege(c.oid, 'SELECT') AND pg_catalog.has_table_privilege(c.relowner, c.oid, 'SELECT'), \
                    a.attnum, a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), \
                    t.typcategory::text, a.atttypid IN ('inet'::regtype, 'cidr'::regtype) \
             FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
             WHERE c.relkind IN ('r', 'p', 'm', 'f') AND NOT c.relispartition \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'privacy') \
               AND n.nspname !~ '^pg_(toast|temp)' \
               AND ($1::text[] IS NULL OR n.nspname = ANY ($1)) \
               AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass \
                               AND d.objid = c.oid AND d.deptype = 'e') \
             ORDER BY n.nspname, c.relname, a.attnum",
            None,
            &args,
        )?;
        let mut out: Vec<Table> = Vec::new();
        for row in rows {
            let relid = row.get::<pg_sys::Oid>(1)?.unwrap_or(pg_sys::InvalidOid);
            if out.last().is_none_or(|t| t.relid != relid) {
                out.push(Table {
                    relid,
                    schema: row.get::<String>(2)?.unwrap_or_default(),
                    name: row.get::<String>(3)?.unwrap_or_default(),
                    reltuples: row.get::<f64>(4)?.unwrap_or(-1.0),
                    // sampled as the owner, which row security does not restrict: not when it
                    // restricts the caller, whose sample would count rows hidden from it
                    readable: row.get::<bool>(5)?.unwrap_or(false) && !crate::pg::catalog::owner_row_security_restricts_current_user(relid),
                    columns: Vec::new(),
                });
            }
            let category = row.get::<String>(9)?.and_then(|c| c.bytes().next()).unwrap_or(b'X');
            let is_inet = row.get::<bool>(10)?.unwrap_or(false);
            if let Some(t) = out.last_mut() {
                t.columns.push(Column {
                    attnum: row.get::<i16>(6)?.unwrap_or(0),
                    name: row.get::<String>(7)?.unwrap_or_default(),
                    type_name: row.get::<String>(8)?.unwrap_or_default(),
                    sampled: category == b'S' || is_inet,
                    category,
                    is_inet,
                });
            }
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    });
    rows.unwrap_or_else(|e| spi_failed("list the tables", e))
}

/// Samples up to `limit` rows of the table's sampled columns into one scan per column.
fn sample(table: &Table, limit: i32) -> Vec<ColumnScan> {
    let cols: Vec<&Column> = table.columns.iter().filter(|c| c.sampled).collect();
    let mut scans = vec![ColumnScan::default(); cols.len()];
    if cols.is_empty() {
        return scans;
    }
    let list = cols.iter().map(|c| format!("({})::text", quote_ident(&c.name))).collect::<Vec<_>>().join(", ");
    // Read about three times the rows wanted from randomly chosen pages when the table is large;
    // small (or never analysed) tables are read from the start, up to the limit.
    let wanted = f64::from(limit.max(1));
    let tablesample = if table.reltuples > 3.0 * wanted {
        format!(" TABLESAMPLE SYSTEM ({:.6})", (300.0 * wanted / table.reltuples).clamp(0.000_001, 100.0))
    } else {
        String::new()
    };
    // Identifiers come from the catalog, quoted by PostgreSQL; the percentage and limit are
    // numbers computed here. The statement runs with the caller's rights.
    let text = format!("SELECT {list} FROM {}{tablesample} LIMIT {}", qualified_name(table.relid), limit.max(1));
    // Read as the table's owner, in a security-restricted operation, as ANALYZE samples: code the
    // table carries (row-security policies, output functions of its types) must not run with a
    // privacy admin's rights.
    let result = crate::pg::catalog::as_relation_owner(table.relid, || {
        Spi::connect(|client| {
            for row in client.select(&text, None, &[])? {
                for (i, scan) in scans.iter_mut().enumerate() {
                    if let Some(v) = row.get::<String>(i + 1)? {
                        scan.add(&v);
                    }
                }
            }
            Ok::<_, pgrx::spi::SpiError>(())
        })
    });
    if let Err(e) = result {
        spi_failed(&format!("sample {}", qualified_name(table.relid)), e);
    }
    scans
}

/// The rule to suggest for a column of `kind` with this type.
fn suggested_rule(kind: Kind, col: &Column) -> String {
    let c = quote_ident(&col.name);
    let text = col.category == b'S';
    match kind {
        Kind::IpAddress if col.is_inet => format!("MASKED WITH FUNCTION privacy.mask_ip({c})"),
        Kind::IpAddress if text => format!("MASKED WITH FUNCTION privacy.redact({c})"),
        Kind::BirthDate if col.type_name == "date" => format!("MASKED WITH FUNCTION privacy.generalize_date({c}, 'year')"),
        Kind::Email if text => format!("MASKED WITH FUNCTION privacy.mask_email({c})"),
        Kind::Phone if text => format!("MASKED WITH FUNCTION privacy.mask_phone({c})"),
        Kind::CardNumber if text => format!("MASKED WITH FUNCTION privacy.mask_card({c})"),
        Kind::Iban if text => format!("MASKED WITH FUNCTION privacy.mask_iban({c})"),
        Kind::PersonName if text => format!("MASKED WITH FUNCTION privacy.pseudo_first_name({c})"),
        Kind::NationalId if text => format!("MASKED WITH FUNCTION privacy.redact({c})"),
        _ => "MASKED WITH VALUE NULL".to_owned(),
    }
}

/// `privacy.discover_columns(schemas, sample_rows)`: the rows behind `privacy.discover`.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
#[allow(clippy::type_complexity)]
fn discover_columns(
    schemas: Option<Vec<String>>,
    sample_rows: i32,
) -> TableIterator<
    'static,
    (
        name!(schema_name, String),
        name!(table_name, String),
        name!(column_name, String),
        name!(data_type, String),
        name!(kind, String),
        name!(found_by, String),
        name!(match_share, f64),
        name!(sampled_values, i64),
        name!(covered, bool),
        name!(suggested_label, String),
    ),
> {
    crate::admin::require_admin("discover personal data");
    if !(1..=1_000_000).contains(&sample_rows) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "sample_rows must be between 1 and 1000000",
            "It bounds how many rows of each table are read; the default is 1000.",
        );
    }
    let tables = candidate_tables(schemas);
    let total = tables.len();
    let mut out = Vec::new();
    for (i, table) in tables.iter().enumerate() {
        // progress on long scans (one line per table, as VACUUM VERBOSE does)
        pgrx::notice!("discover: {} of {}: {}.{}", i + 1, total, table.schema, table.name);
        if !table.readable {
            pgrx::notice!(
                "discover: no SELECT privilege on {}.{}, or row security restricts what you see of it: judged by column names only",
                table.schema,
                table.name
            );
        }
        let scans = if table.readable { sample(table, sample_rows) } else { Vec::new() };
        let covered: BTreeMap<i16, ()> = resolve(table.relid, true).into_iter().map(|r| (r.attno, ())).collect();
        let mut scan_of = scans.iter();
        for col in &table.columns {
            let scan = if col.sampled && table.readable { scan_of.next() } else { None };
            let Some(finding) = judge(&col.name, scan) else { continue };
            // quoted by PostgreSQL: a column name holding a backslash must not end the literal
            // early when the statement is pasted with standard_conforming_strings off
            let label = format!(
                "SECURITY LABEL FOR privacy ON COLUMN {}.{} IS {};",
                qualified_name(table.relid),
                quote_ident(&col.name),
                quote_literal(&suggested_rule(finding.kind, col))
            );
            out.push((
                table.schema.clone(),
                table.name.clone(),
                col.name.clone(),
                col.type_name.clone(),
                finding.kind.name().to_owned(),
                finding.found_by.name().to_owned(),
                (finding.share * 1000.0).round() / 1000.0,
                scan.map_or(0, |s| s.sampled as i64),
                covered.contains_key(&col.attnum),
                label,
            ));
        }
    }
    TableIterator::new(out)
}

extension_sql!(
    r#"
CREATE FUNCTION privacy.discover(schemas text[] DEFAULT NULL, sample_rows integer DEFAULT 1000)
RETURNS TABLE (schema_name text, table_name text, column_name text, data_type text, kind text,
               found_by text, match_share float8, sampled_values bigint, covered boolean,
               suggested_label text)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM privacy.discover_columns(schemas, sample_rows) $$;
"#,
    name = "discover",
    requires = [discover_columns]
);
