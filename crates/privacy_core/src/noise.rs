//! `noise(value, ratio)`: multiply a number by a random factor in `[1 - ratio, 1 + ratio]`.
//! Aggregates over many rows stay close to the truth while each row's value is uncertain.

use crate::random::Rng;
use crate::{ErrorKind, MaskError};

fn check_ratio(ratio: f64) -> Result<(), MaskError> {
    if !(ratio.is_finite() && ratio >= 0.0) {
        return Err(MaskError::invalid(
            format!("noise ratio must be a finite number zero or above, got {ratio}"),
            "Pass the largest relative change, e.g. noise(salary, 0.1) for ±10 %.",
        ));
    }
    Ok(())
}

pub fn noise_f64(rng: &mut Rng, value: f64, ratio: f64) -> Result<f64, MaskError> {
    check_ratio(ratio)?;
    let factor = 1.0 + (rng.unit_f64() * 2.0 - 1.0) * ratio;
    Ok(value * factor)
}

/// Integer version: rounded to the nearest integer, with an error if it leaves the type's range.
pub fn noise_i64(rng: &mut Rng, value: i64, ratio: f64, min: i64, max: i64) -> Result<i64, MaskError> {
    let noisy = noise_f64(rng, value as f64, ratio)?.round();
    if noisy < min as f64 || noisy > max as f64 {
        return Err(MaskError::new(
            ErrorKind::NumericValueOutOfRange,
            "noisy value is out of range for its integer type",
            "Use a smaller ratio, or cast the column to a wider type first.",
        ));
    }
    Ok(noisy as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_bounds() {
        let mut rng = Rng::from_seed([5; 32]);
        for _ in 0..10_000 {
            let v = noise_f64(&mut rng, 100.0, 0.1).unwrap();
            assert!((90.0..=110.0).contains(&v), "{v}");
        }
        assert_eq!(noise_f64(&mut rng, 42.0, 0.0).unwrap(), 42.0);
    }

    #[test]
    fn bad_ratio_and_overflow() {
        let mut rng = Rng::from_seed([5; 32]);
        assert_eq!(noise_f64(&mut rng, 1.0, -0.5).unwrap_err().kind.sqlstate(), "22023");
        assert!(noise_f64(&mut rng, 1.0, f64::NAN).is_err());
        let e = (0..100).find_map(|_| noise_i64(&mut rng, i32::MAX as i64, 0.5, i32::MIN as i64, i32::MAX as i64).err());
        assert_eq!(e.unwrap().kind.sqlstate(), "22003");
    }
}
