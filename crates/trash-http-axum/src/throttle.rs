//! Who is asking, and how often they may: the client's address (the peer,
//! or what a trusted proxy says in `X-Forwarded-For`), and rate limits per
//! API key and per client address (token buckets from `governor`).
//!
//! Over a limit the answer is 429 with `Retry-After` (whole seconds until
//! a request would pass) and the usual `{"error": …}` body. The per-client
//! limit applies to every route but `/healthz` and `/readyz`, before any
//! work; the per-key limit applies once a key is authenticated, so keys
//! that do not exist only ever count against their sender's address.
//! IPv6 clients are counted per /64, the block one subscriber usually holds.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use trash_core::domain::KeyId;

use crate::error::ApiError;

/// The header a proxy names the client in.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// Rate limits and the proxies trusted to name the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EdgeConfig {
    /// Requests per second per API key, with bursts of twice that; `None`
    /// turns the limit off.
    pub per_key: Option<NonZeroU32>,
    /// Requests per second per client address, with bursts of twice that;
    /// `None` turns the limit off.
    pub per_client: Option<NonZeroU32>,
    /// Peers whose `X-Forwarded-For` is believed. Anyone else's is ignored:
    /// the peer itself is the client.
    pub trusted_proxies: Vec<IpNet>,
}

/// The client address of a request (an extension set for every request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("unknown"),
        }
    }
}

/// The limiters, shared by every request.
pub struct Edge {
    config: EdgeConfig,
    keys: Option<DefaultKeyedRateLimiter<KeyId>>,
    clients: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Checks since the limiters last forgot idle buckets.
    checks: AtomicU64,
}

impl std::fmt::Debug for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edge")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// How many checks pass between two sweeps of idle buckets.
const SWEEP_EVERY: u64 = 10_000;

fn limiter<K>(per_second: NonZeroU32) -> DefaultKeyedRateLimiter<K>
where
    K: std::hash::Hash + Eq + Clone,
{
    let burst = per_second.saturating_mul(NonZeroU32::new(2).expect("2 is not zero"));
    RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))
}

impl Edge {
    /// Limiters for `config`.
    pub fn new(config: EdgeConfig) -> Edge {
        Edge {
            keys: config.per_key.map(limiter),
            clients: config.per_client.map(limiter),
            config,
            checks: AtomicU64::new(0),
        }
    }

    /// No limits, no trusted proxies.
    pub fn off() -> Edge {
        Edge::new(EdgeConfig::default())
    }

    /// The configuration.
    pub fn config(&self) -> &EdgeConfig {
        &self.config
    }

    fn sweep(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            if let Some(l) = &self.keys {
                l.retain_recent();
            }
            if let Some(l) = &self.clients {
                l.retain_recent();
            }
        }
    }

    /// Counts a request of an authenticated key; 429 when over the limit.
    pub fn check_key(&self, key: &KeyId) -> Result<(), ApiError> {
        self.sweep();
        match &self.keys {
            Some(limiter) => limiter.check_key(key).map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                too_many("this API key", wait)
            }),
            None => Ok(()),
        }
    }

    /// Counts a request from a client address; 429 when over the limit.
    pub fn check_client(&self, client: IpAddr) -> Result<(), ApiError> {
        self.sweep();
        match &self.clients {
            Some(limiter) => limiter.check_key(&bucket_of(client)).map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                too_many("this client address", wait)
            }),
            None => Ok(()),
        }
    }

    /// Whether `peer` is a trusted proxy.
    fn trusts(&self, peer: IpAddr) -> bool {
        self.config
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&canonical(peer)))
    }

    /// The client of a request from `peer`: `peer` itself, unless it is a
    /// trusted proxy; then the right-most address of `X-Forwarded-For`
    /// that is not a trusted proxy (each proxy appends the address it was
    /// reached from, so addresses left of an untrusted one could be forged).
    pub fn client_of(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = canonical(peer?);
        if !self.trusts(peer) {
            return Some(peer);
        }
        let mut client = peer;
        let forwarded = headers
            .get_all(FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in forwarded.iter().rev() {
            match parse_hop(hop) {
                Some(ip) => {
                    client = canonical(ip);
                    if !self.trusts(client) {
                        break;
                    }
                }
                // Garbage where an address should be: trust nothing left of it.
                None => break,
            }
        }
        Some(client)
    }
}

/// An `X-Forwarded-For` element: an address, possibly `[v6]:port` or `v4:port`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    hop.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// The bucket an address counts against: itself for IPv4, its /64 for IPv6.
fn bucket_of(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

fn too_many(who: &str, wait: Duration) -> ApiError {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = u32::try_from(secs.max(1)).unwrap_or(u32::MAX);
    ApiError::too_many_requests(
        format!("too many requests from {who}; retry after {secs} s"),
        secs,
    )
}

/// Sets [`ClientAddr`] from the connection's peer address and the trusted
/// proxies, for the log line and the per-client limit.
pub async fn identify_client(edge: Arc<Edge>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let client = edge.client_of(peer, req.headers());
    req.extensions_mut().insert(ClientAddr(client));
    next.run(req).await
}

/// The per-client limit, on every route but the health checks.
pub async fn limit_clients(edge: Arc<Edge>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let exempt = path == "/healthz" || path == "/readyz";
    if !exempt {
        if let Some(ClientAddr(Some(ip))) = req.extensions().get::<ClientAddr>() {
            if let Err(e) = edge.check_client(*ip) {
                return e.into_response();
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        h
    }

    fn edge(trusted: &[&str]) -> Edge {
        Edge::new(EdgeConfig {
            trusted_proxies: trusted.iter().map(|n| n.parse().unwrap()).collect(),
            ..EdgeConfig::default()
        })
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let e = edge(&["10.0.0.0/8", "::1/128"]);
        let spoof = xff("1.2.3.4");
        // An untrusted peer is the client, whatever it says.
        assert_eq!(
            e.client_of(Some(ip("203.0.113.9")), &spoof),
            Some(ip("203.0.113.9"))
        );
        // A trusted proxy names the client.
        assert_eq!(
            e.client_of(Some(ip("10.1.2.3")), &spoof),
            Some(ip("1.2.3.4"))
        );
        assert_eq!(e.client_of(Some(ip("::1")), &spoof), Some(ip("1.2.3.4")));
        // The right-most untrusted hop wins; what a client prepends is ignored.
        let chain = xff("6.6.6.6, 198.51.100.7, 10.0.0.5");
        assert_eq!(
            e.client_of(Some(ip("10.0.0.1")), &chain),
            Some(ip("198.51.100.7"))
        );
        // Ports and brackets are understood; garbage stops the walk.
        assert_eq!(
            e.client_of(Some(ip("10.0.0.1")), &xff("[2001:db8::1]:4711")),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            e.client_of(Some(ip("10.0.0.1")), &xff("1.2.3.4, nonsense")),
            Some(ip("10.0.0.1"))
        );
        // No header: the proxy itself.
        assert_eq!(
            e.client_of(Some(ip("10.0.0.1")), &HeaderMap::new()),
            Some(ip("10.0.0.1"))
        );
        // Mapped addresses are plain IPv4.
        assert_eq!(
            e.client_of(Some(ip("::ffff:10.0.0.1")), &spoof),
            Some(ip("1.2.3.4"))
        );
        assert_eq!(e.client_of(None, &spoof), None);
        // Nobody trusted: the header means nothing.
        assert_eq!(
            edge(&[]).client_of(Some(ip("10.0.0.1")), &spoof),
            Some(ip("10.0.0.1"))
        );
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        assert_eq!(bucket_of(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(bucket_of(ip("192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn buckets_hold_twice_the_rate_then_refuse_with_a_wait() {
        let e = Edge::new(EdgeConfig {
            per_key: NonZeroU32::new(2),
            per_client: NonZeroU32::new(3),
            trusted_proxies: Vec::new(),
        });
        let a = KeyId::parse("aaaaaaaaaaaaaaaaaaaa").unwrap();
        let b = KeyId::parse("bbbbbbbbbbbbbbbbbbbb").unwrap();
        for _ in 0..4 {
            e.check_key(&a).unwrap();
        }
        let refused = e.check_key(&a).unwrap_err();
        assert_eq!(refused.status().as_u16(), 429);
        assert!(
            refused.message().contains("retry after 1 s"),
            "{}",
            refused.message()
        );
        e.check_key(&b).expect("another key has its own bucket");
        for _ in 0..6 {
            e.check_client(ip("192.0.2.1")).unwrap();
        }
        assert!(e.check_client(ip("192.0.2.1")).is_err());
        e.check_client(ip("192.0.2.2")).unwrap();
        let off = Edge::off();
        for _ in 0..1000 {
            off.check_key(&a).unwrap();
            off.check_client(ip("192.0.2.1")).unwrap();
        }
    }
}
