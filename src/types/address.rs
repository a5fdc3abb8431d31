//! Peer and listener addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Builds an address from the 4 or 8 integers of an Erlang `inet:ip_address()` tuple;
/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`, what dual-stack listeners report) becomes plain IPv4.
/// Returns `None` when the parts are not an address.
pub fn ip_from_parts(parts: &[u64]) -> Option<IpAddr> {
    match parts {
        [a, b, c, d] => {
            let octets = [*a, *b, *c, *d].map(|p| u8::try_from(p).ok());
            match octets {
                [Some(a), Some(b), Some(c), Some(d)] => Some(IpAddr::V4(Ipv4Addr::new(a, b, c, d))),
                _ => None,
            }
        }
        [..] if parts.len() == 8 => {
            let mut segs = [0u16; 8];
            for (seg, part) in segs.iter_mut().zip(parts) {
                *seg = u16::try_from(*part).ok()?;
            }
            Some(normalize(IpAddr::V6(Ipv6Addr::from(segs))))
        }
        _ => None,
    }
}

/// Turns an IPv4-mapped IPv6 address into IPv4 and leaves every other address alone.
pub fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// A `{IP, Port}` peer or listener name; `None` parts stay `None` (4.3+ may report
/// addresses that are not IP, such as local sockets).
pub fn socket_addr(ip: Option<IpAddr>, port: Option<u16>) -> Option<SocketAddr> {
    Some(SocketAddr::new(ip?, port?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_and_ipv6_parts() {
        assert_eq!(
            ip_from_parts(&[127, 0, 0, 1]),
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(
            ip_from_parts(&[0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(ip_from_parts(&[256, 0, 0, 1]), None);
        assert_eq!(ip_from_parts(&[1, 2, 3]), None);
    }

    #[test]
    fn ipv4_mapped_ipv6_is_normalised() {
        assert_eq!(
            ip_from_parts(&[0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0005]),
            Some("10.0.0.5".parse().unwrap())
        );
        assert_eq!(
            normalize("::1".parse().unwrap()),
            "::1".parse::<IpAddr>().unwrap()
        );
    }
}
