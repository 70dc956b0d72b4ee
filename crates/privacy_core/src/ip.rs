//! `mask_ip`: truncate the host part of an address, keeping the network a provider or region can
//! be told from. IPv4 keeps its first 24 bits, IPv6 its first 48 (the usual site prefix); an
//! address whose own netmask is shorter keeps that shorter netmask. The result is the network
//! address with the kept netmask: `192.168.17.42` → `192.168.17.0/24`.

/// Bits of an IPv4 address `mask_ip` keeps.
pub const IPV4_KEEP_BITS: u8 = 24;
/// Bits of an IPv6 address `mask_ip` keeps.
pub const IPV6_KEEP_BITS: u8 = 48;

/// Masks `addr` (4 bytes for IPv4, 16 for IPv6) in place, given its current netmask length,
/// and returns the new netmask length. Bytes past the address length are left alone.
pub fn mask_ip_bytes(addr: &mut [u8], bits: u8) -> u8 {
    let keep_limit = if addr.len() == 4 { IPV4_KEEP_BITS } else { IPV6_KEEP_BITS };
    let max_bits = (addr.len() * 8) as u8;
    let keep = bits.min(keep_limit).min(max_bits);
    for (i, byte) in addr.iter_mut().enumerate() {
        let start = (i * 8) as u8;
        if start >= keep {
            *byte = 0;
        } else if keep - start < 8 {
            *byte &= 0xFFu8 << (8 - (keep - start));
        }
    }
    keep
}

/// `mask_ip` on PostgreSQL's text form of an `inet` (`addr` or `addr/bits`): the masked network
/// in the same text form, always with its netmask.
pub fn mask_ip_text(value: &str) -> Result<String, crate::MaskError> {
    use std::net::IpAddr;
    let bad = || crate::MaskError::invalid("mask_ip() got a value that is not an IP address", "Pass an inet value.");
    let (addr, bits) = match value.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u8>().map_err(|_| bad())?)),
        None => (value, None),
    };
    match addr.parse::<IpAddr>().map_err(|_| bad())? {
        IpAddr::V4(v4) => {
            let mut o = v4.octets();
            let keep = mask_ip_bytes(&mut o, bits.unwrap_or(32));
            Ok(format!("{}/{keep}", std::net::Ipv4Addr::from(o)))
        }
        IpAddr::V6(v6) => {
            let mut o = v6.octets();
            let keep = mask_ip_bytes(&mut o, bits.unwrap_or(128));
            Ok(format!("{}/{keep}", std::net::Ipv6Addr::from(o)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms() {
        assert_eq!(mask_ip_text("192.168.17.42").unwrap(), "192.168.17.0/24");
        assert_eq!(mask_ip_text("10.9.8.7/8").unwrap(), "10.0.0.0/8");
        assert_eq!(mask_ip_text("2001:db8:1234:5678::1").unwrap(), "2001:db8:1234::/48");
        assert_eq!(mask_ip_text("::ffff:1.2.3.4").unwrap(), "::/48");
        assert!(mask_ip_text("nonsense").is_err());
    }

    #[test]
    fn v4() {
        let mut a = [192, 168, 17, 42];
        assert_eq!(mask_ip_bytes(&mut a, 32), 24);
        assert_eq!(a, [192, 168, 17, 0]);
        let mut b = [10, 1, 2, 3];
        assert_eq!(mask_ip_bytes(&mut b, 8), 8);
        assert_eq!(b, [10, 0, 0, 0]);
        let mut c = [172, 31, 255, 255];
        assert_eq!(mask_ip_bytes(&mut c, 20), 20);
        assert_eq!(c, [172, 31, 240, 0]);
    }

    #[test]
    fn v6() {
        let mut a = [0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78, 1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(mask_ip_bytes(&mut a, 128), 48);
        assert_eq!(a, [0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }
}
