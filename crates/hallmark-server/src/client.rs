//! Which client a peer address counts as, for connection limits and rate
//! limits: an IPv4 address is one client; an IPv6 address counts by its /64
//! prefix (one subscriber or one host's privacy addresses, which a client can
//! otherwise rotate through freely); an IPv4-mapped IPv6 address is its IPv4
//! address.

use std::net::{IpAddr, Ipv6Addr};

/// The address `ip` is counted under.
pub(crate) fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !u128::from(u64::MAX);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_slash_64_and_ipv4_by_address() {
        let a: IpAddr = "2001:db8:1:2:aaaa:bbbb:cccc:dddd"
            .parse()
            .unwrap_or(IpAddr::V4([0; 4].into()));
        let b: IpAddr = "2001:db8:1:2::1"
            .parse()
            .unwrap_or(IpAddr::V4([0; 4].into()));
        let c: IpAddr = "2001:db8:1:3::1"
            .parse()
            .unwrap_or(IpAddr::V4([0; 4].into()));
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        assert_eq!(client_key(a).to_string(), "2001:db8:1:2::");
        let v4: IpAddr = [192, 0, 2, 7].into();
        let v4b: IpAddr = [192, 0, 2, 8].into();
        assert_eq!(client_key(v4), v4);
        assert_ne!(client_key(v4), client_key(v4b));
        let mapped: IpAddr = "::ffff:192.0.2.7"
            .parse()
            .unwrap_or(IpAddr::V4([0; 4].into()));
        assert_eq!(
            client_key(mapped),
            v4,
            "IPv4-mapped counts as the IPv4 address"
        );
    }
}
