//! Failed token attempts, counted per client: after [`FailureLimiter::MAX_FAILURES`] in a
//! window, that client gets 429 for the rest of the window, right token or not, so guessing
//! costs a minute per ten tries. Bounded memory: IPv6 clients are counted per /64 (one
//! machine can hold a whole /64), and past [`FailureLimiter::MAX_CLIENTS`] newcomers share
//! one bucket.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    failures: u32,
}

#[derive(Debug)]
pub struct FailureLimiter {
    window: Duration,
    clients: HashMap<IpAddr, Window>,
}

impl Default for FailureLimiter {
    fn default() -> Self {
        Self::new(Self::WINDOW)
    }
}

/// The key a client is counted under: its IPv4 address, or its IPv6 /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Where clients go once the table is full.
const OVERFLOW: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

impl FailureLimiter {
    pub const WINDOW: Duration = Duration::from_secs(60);
    pub const MAX_FAILURES: u32 = 10;
    pub const MAX_CLIENTS: usize = 4096;

    pub fn new(window: Duration) -> Self {
        Self {
            window,
            clients: HashMap::new(),
        }
    }

    /// `Err(retry_after)` while `ip` is blocked.
    pub fn check(&mut self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let k = self.slot(ip);
        match self.clients.get(&k) {
            Some(w) if now.duration_since(w.start) < self.window => {
                if w.failures >= Self::MAX_FAILURES {
                    Err(self.window - now.duration_since(w.start))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Counts one failed attempt by `ip`.
    pub fn failed(&mut self, ip: IpAddr, now: Instant) {
        if self.clients.len() >= Self::MAX_CLIENTS {
            let window = self.window;
            self.clients
                .retain(|_, w| now.duration_since(w.start) < window);
        }
        let k = self.slot(ip);
        let w = self.clients.entry(k).or_insert(Window {
            start: now,
            failures: 0,
        });
        if now.duration_since(w.start) >= self.window {
            *w = Window {
                start: now,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
    }

    /// `ip`'s key, or the shared overflow bucket when the table is full and `ip` is new.
    fn slot(&self, ip: IpAddr) -> IpAddr {
        let k = key(ip);
        if self.clients.contains_key(&k) || self.clients.len() < Self::MAX_CLIENTS {
            k
        } else {
            OVERFLOW
        }
    }

    /// Clients counted now (tests).
    pub fn tracked(&self) -> usize {
        self.clients.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10));
    const TWO: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 11));

    #[test]
    fn ten_failures_block_that_client_for_the_rest_of_the_window() {
        let mut l = FailureLimiter::default();
        let t0 = Instant::now();
        for i in 0..FailureLimiter::MAX_FAILURES {
            assert_eq!(l.check(ONE, t0), Ok(()), "attempt {i}");
            l.failed(ONE, t0 + Duration::from_secs(u64::from(i)));
        }
        let t = t0 + Duration::from_secs(20);
        assert_eq!(l.check(ONE, t), Err(Duration::from_secs(40)));
        assert_eq!(l.check(TWO, t), Ok(()), "others are not blocked");
        assert_eq!(
            l.check(ONE, t0 + FailureLimiter::WINDOW),
            Ok(()),
            "a new window"
        );
        l.failed(ONE, t0 + FailureLimiter::WINDOW);
        assert_eq!(
            l.check(ONE, t0 + FailureLimiter::WINDOW),
            Ok(()),
            "count restarted"
        );
    }

    #[test]
    fn ipv6_clients_count_per_64_and_mapped_v4_as_v4() {
        let mut l = FailureLimiter::default();
        let t0 = Instant::now();
        for i in 0..FailureLimiter::MAX_FAILURES {
            let ip: IpAddr = format!("2001:db8:1:2::{:x}", i + 1).parse().unwrap();
            l.failed(ip, t0);
        }
        assert!(l.check("2001:db8:1:2::ffff".parse().unwrap(), t0).is_err());
        assert!(l.check("2001:db8:1:3::1".parse().unwrap(), t0).is_ok());
        for _ in 0..FailureLimiter::MAX_FAILURES {
            l.failed("::ffff:192.168.1.10".parse().unwrap(), t0);
        }
        assert!(l.check(ONE, t0).is_err());
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut l = FailureLimiter::default();
        let t0 = Instant::now();
        for i in 0..(FailureLimiter::MAX_CLIENTS as u32 + 500) {
            l.failed(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)), t0);
        }
        assert!(l.tracked() <= FailureLimiter::MAX_CLIENTS + 1);
        // Once the old entries expire, room is made again.
        l.failed(TWO, t0 + FailureLimiter::WINDOW);
        assert!(l.tracked() < 10, "{}", l.tracked());
    }
}
