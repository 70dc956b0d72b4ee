//! Generalization: replace a precise value by the range it falls in.
//!
//! Dates are PostgreSQL's representation, days since 2000-01-01, with `i32::MIN`/`i32::MAX` as
//! `-infinity`/`infinity` (kept as they are: they reveal nothing).

use crate::{ErrorKind, MaskError};

/// Granularity of `generalize_date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateUnit {
    Decade,
    Year,
    Quarter,
    Month,
    Week,
}

pub const DATE_UNITS: &str = "'decade', 'year', 'quarter', 'month' or 'week'";

impl DateUnit {
    pub fn parse(unit: &str) -> Result<Self, MaskError> {
        match unit.trim().to_ascii_lowercase().as_str() {
            "decade" => Ok(DateUnit::Decade),
            "year" => Ok(DateUnit::Year),
            "quarter" => Ok(DateUnit::Quarter),
            "month" => Ok(DateUnit::Month),
            "week" => Ok(DateUnit::Week),
            _ => Err(MaskError::invalid(
                format!("unknown generalization unit \"{}\"", unit.chars().take(40).collect::<String>()),
                format!("Use one of {DATE_UNITS}."),
            )),
        }
    }
}

const PG_EPOCH_FROM_UNIX_DAYS: i64 = 10_957; // 2000-01-01 is day 10957 after 1970-01-01

/// Proleptic Gregorian (year, month, day) of a count of days since 1970-01-01 (H. Hinnant's
/// civil_from_days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `generalize_date(date, unit)` on PostgreSQL's day number: the first day of the period.
pub fn generalize_date(pg_days: i32, unit: DateUnit) -> Result<i32, MaskError> {
    if pg_days == i32::MIN || pg_days == i32::MAX {
        return Ok(pg_days);
    }
    let unix = pg_days as i64 + PG_EPOCH_FROM_UNIX_DAYS;
    let (y, m, _) = civil_from_days(unix);
    let start = match unit {
        DateUnit::Decade => days_from_civil(y - y.rem_euclid(10), 1, 1),
        DateUnit::Year => days_from_civil(y, 1, 1),
        DateUnit::Quarter => days_from_civil(y, (m - 1) / 3 * 3 + 1, 1),
        DateUnit::Month => days_from_civil(y, m, 1),
        // 1970-01-01 was a Thursday; ISO weeks start on Monday.
        DateUnit::Week => unix - (unix + 3).rem_euclid(7),
    };
    i32::try_from(start - PG_EPOCH_FROM_UNIX_DAYS).map_err(|_| {
        MaskError::new(ErrorKind::DatetimeFieldOverflow, "generalized date is out of range", "Use a date within PostgreSQL's date range.")
    })
}

fn bad_width(width: impl std::fmt::Display) -> MaskError {
    MaskError::invalid(
        format!("bucket width must be positive, got {width}"),
        "Pass the size of the ranges values are rounded down to, e.g. bucket(age, 10).",
    )
}

/// `bucket(value, width)` for integers: the lower bound of the width-sized bucket holding value
/// (rounded towards minus infinity, so buckets are the same size on both sides of zero).
pub fn bucket_i64(value: i64, width: i64) -> Result<i64, MaskError> {
    if width <= 0 {
        return Err(bad_width(width));
    }
    value.checked_sub(value.rem_euclid(width)).ok_or_else(|| {
        MaskError::new(ErrorKind::NumericValueOutOfRange, "bucket lower bound is out of range for the type", "Use a smaller bucket width.")
    })
}

/// `bucket(value, width)` for floating point. NaN and infinities pass through unchanged.
pub fn bucket_f64(value: f64, width: f64) -> Result<f64, MaskError> {
    if !(width.is_finite() && width > 0.0) {
        return Err(bad_width(width));
    }
    if !value.is_finite() {
        return Ok(value);
    }
    Ok((value / width).floor() * width)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(y: i64, m: u32, d: u32) -> i32 {
        (days_from_civil(y, m, d) - PG_EPOCH_FROM_UNIX_DAYS) as i32
    }

    #[test]
    fn epoch_and_roundtrip() {
        assert_eq!(pg(2000, 1, 1), 0);
        for z in [-800_000i64, -1, 0, 1, 59, 60, 365, 10_957, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn units() {
        let d = pg(1987, 8, 23);
        assert_eq!(generalize_date(d, DateUnit::Year).unwrap(), pg(1987, 1, 1));
        assert_eq!(generalize_date(d, DateUnit::Month).unwrap(), pg(1987, 8, 1));
        assert_eq!(generalize_date(d, DateUnit::Quarter).unwrap(), pg(1987, 7, 1));
        assert_eq!(generalize_date(d, DateUnit::Decade).unwrap(), pg(1980, 1, 1));
        // 1987-08-23 was a Sunday; its ISO week began Monday 1987-08-17.
        assert_eq!(generalize_date(d, DateUnit::Week).unwrap(), pg(1987, 8, 17));
        assert_eq!(generalize_date(pg(-44, 3, 15), DateUnit::Decade).unwrap(), pg(-50, 1, 1));
        assert_eq!(generalize_date(i32::MAX, DateUnit::Year).unwrap(), i32::MAX);
    }

    #[test]
    fn unit_parsing() {
        assert_eq!(DateUnit::parse(" Year ").unwrap(), DateUnit::Year);
        let e = DateUnit::parse("fortnight").unwrap_err();
        assert_eq!(e.kind.sqlstate(), "22023");
        assert!(e.hint.contains("'month'"));
    }

    #[test]
    fn buckets() {
        assert_eq!(bucket_i64(37, 10).unwrap(), 30);
        assert_eq!(bucket_i64(-1, 10).unwrap(), -10);
        assert_eq!(bucket_i64(40, 10).unwrap(), 40);
        assert_eq!(bucket_i64(i64::MIN, 3).unwrap_err().kind.sqlstate(), "22003");
        assert_eq!(bucket_i64(5, 0).unwrap_err().kind.sqlstate(), "22023");
        assert_eq!(bucket_f64(37.5, 5.0).unwrap(), 35.0);
        assert!(bucket_f64(1.0, f64::NAN).is_err());
        assert!(bucket_f64(f64::INFINITY, 2.0).unwrap().is_infinite());
    }
}
