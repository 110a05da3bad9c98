//! DNS through std's blocking `ToSocketAddrs` (getaddrinfo), cached per host with a fixed TTL.
//!
//! The agent talks to a handful of AWS endpoints, so a lookup is rare: at the first call to a
//! host and when its entry expires. It blocks the loop briefly, which design.md accepts ("DNS
//! may block briefly at start and on TTL expiry") instead of a resolver thread. std reports no
//! TTL, so entries live `ttl` (60 s by default, the order of AWS endpoint record TTLs); failures
//! are not cached, the retry layer's backoff paces them. IP literals bypass lookup and cache.
//! Successive connects to a host rotate through its addresses, spreading load across the
//! addresses an endpoint like S3 returns and stepping past one that refuses.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

/// std exposes no record TTL; AWS endpoint records carry TTLs of seconds to a minute.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// Bound on cached hosts; beyond it expired entries are dropped, then everything.
const MAX_ENTRIES: usize = 256;

/// The lookup function: host → addresses. Tests inject one; production uses getaddrinfo.
pub type LookupFn = Box<dyn FnMut(&str) -> io::Result<Vec<IpAddr>>>;

#[derive(Debug)]
pub enum ResolveError {
    Lookup { host: String, error: io::Error },
    NoAddress { host: String },
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lookup { host, error } => write!(f, "DNS lookup of {host} failed: {error}"),
            Self::NoAddress { host } => write!(f, "DNS lookup of {host} returned no address"),
        }
    }
}

impl std::error::Error for ResolveError {}

struct Entry {
    addrs: Vec<IpAddr>,
    expires_at: Instant,
    next: usize,
}

pub struct Resolver {
    ttl: Duration,
    lookup: LookupFn,
    cache: HashMap<String, Entry>,
}

impl Resolver {
    /// getaddrinfo-backed resolver.
    pub fn new(ttl: Duration) -> Resolver {
        Resolver::with_lookup(ttl, Box::new(system_lookup))
    }

    pub fn with_lookup(ttl: Duration, lookup: LookupFn) -> Resolver {
        Resolver {
            ttl,
            lookup,
            cache: HashMap::new(),
        }
    }

    /// One address for `host:port`, from the cache while fresh, else from a (blocking) lookup.
    pub fn resolve(
        &mut self,
        host: &str,
        port: u16,
        now: Instant,
    ) -> Result<SocketAddr, ResolveError> {
        let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        if let Ok(ip) = literal.unwrap_or(host).parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, port));
        }
        let fresh = self.cache.get(host).is_some_and(|e| now < e.expires_at);
        if !fresh {
            let mut addrs = (self.lookup)(host).map_err(|error| ResolveError::Lookup {
                host: host.to_owned(),
                error,
            })?;
            let mut seen = Vec::with_capacity(addrs.len());
            addrs.retain(|a| {
                let new = !seen.contains(a);
                seen.push(*a);
                new
            });
            if addrs.is_empty() {
                return Err(ResolveError::NoAddress {
                    host: host.to_owned(),
                });
            }
            log::debug!("dns resolved host={host} addrs={}", addrs.len());
            if self.cache.len() >= MAX_ENTRIES {
                self.cache.retain(|_, e| now < e.expires_at);
                if self.cache.len() >= MAX_ENTRIES {
                    self.cache.clear();
                }
            }
            let entry = Entry {
                addrs,
                expires_at: now + self.ttl,
                next: 0,
            };
            self.cache.insert(host.to_owned(), entry);
        }
        let entry = self
            .cache
            .get_mut(host)
            .ok_or_else(|| ResolveError::NoAddress {
                host: host.to_owned(),
            })?;
        let ip = entry.addrs[entry.next % entry.addrs.len()];
        entry.next = entry.next.wrapping_add(1);
        Ok(SocketAddr::new(ip, port))
    }

    /// Forgets `host`, so the next `resolve` looks it up again (e.g. after its addresses failed).
    pub fn invalidate(&mut self, host: &str) {
        self.cache.remove(host);
    }
}

fn system_lookup(host: &str) -> io::Result<Vec<IpAddr>> {
    Ok((host, 0u16).to_socket_addrs()?.map(|a| a.ip()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::rc::Rc;

    fn counting(answer: Vec<IpAddr>) -> (Resolver, Rc<Cell<usize>>) {
        let calls = Rc::new(Cell::new(0));
        let seen = calls.clone();
        let lookup: LookupFn = Box::new(move |host| {
            seen.set(seen.get() + 1);
            if host == "nxdomain.invalid" {
                return Err(io::Error::other("failed to lookup address information"));
            }
            Ok(answer.clone())
        });
        (Resolver::with_lookup(DEFAULT_TTL, lookup), calls)
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // a test is its own driver: it reads the clock once
    fn caches_for_the_ttl_and_rotates() {
        let a = IpAddr::V4(Ipv4Addr::new(52, 95, 150, 1));
        let b = IpAddr::V4(Ipv4Addr::new(52, 95, 150, 2));
        let (mut r, calls) = counting(vec![a, b, a]);
        let t0 = Instant::now();
        let host = "s3.eu-west-1.amazonaws.com";
        let got: Vec<_> = (0..3).map(|_| r.resolve(host, 443, t0).unwrap()).collect();
        assert_eq!(
            got,
            [
                SocketAddr::new(a, 443),
                SocketAddr::new(b, 443),
                SocketAddr::new(a, 443)
            ]
        );
        assert_eq!(calls.get(), 1);
        r.resolve(host, 443, t0 + DEFAULT_TTL - Duration::from_millis(1))
            .unwrap();
        assert_eq!(calls.get(), 1);
        r.resolve(host, 443, t0 + DEFAULT_TTL).unwrap();
        assert_eq!(calls.get(), 2);
        r.invalidate(host);
        r.resolve(host, 443, t0 + DEFAULT_TTL).unwrap();
        assert_eq!(calls.get(), 3);
    }

    #[test]
    #[allow(clippy::disallowed_methods)]
    fn literals_bypass_and_failures_are_not_cached() {
        let (mut r, calls) = counting(vec![]);
        let now = Instant::now();
        let v4 = r.resolve("127.0.0.1", 80, now).unwrap();
        assert_eq!(v4, SocketAddr::from((Ipv4Addr::LOCALHOST, 80)));
        for host in ["::1", "[::1]"] {
            assert_eq!(
                r.resolve(host, 443, now).unwrap(),
                SocketAddr::from((Ipv6Addr::LOCALHOST, 443))
            );
        }
        assert_eq!(calls.get(), 0);
        for _ in 0..2 {
            let err = r.resolve("nxdomain.invalid", 443, now).unwrap_err();
            assert!(err.to_string().contains("nxdomain.invalid"), "{err}");
        }
        assert_eq!(calls.get(), 2);
        assert!(matches!(
            r.resolve("empty.example", 443, now),
            Err(ResolveError::NoAddress { .. })
        ));
    }

    #[test]
    #[allow(clippy::disallowed_methods)]
    fn system_lookup_resolves_localhost() {
        let mut r = Resolver::new(DEFAULT_TTL);
        let addr = r.resolve("localhost", 8080, Instant::now()).unwrap();
        assert!(addr.ip().is_loopback() && addr.port() == 8080, "{addr}");
    }
}
