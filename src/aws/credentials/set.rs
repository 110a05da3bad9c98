//! `CredentialSet`: the credential caches of every account, and the wiring from each assumed
//! role to the base credentials its AssumeRole call is signed with.
//!
//! ```text
//!   base cache (env / profile / instance role) ──current()──► role cache (AssumeRole, signed with it)
//!        ▲                                                        │ STS said ExpiredToken
//!        └──────────────── force_refresh (≤ 1 per 60 s) ◄─────────┘
//! ```
//! The driver asks the set for the next call (`poll_request`) and returns its outcome to the
//! cache that asked (`handle_response(id, …)`). Ids are indices, stable for the set's life.

use std::time::{Instant, SystemTime};

use crate::aws::clock_skew::ClockSkew;
use crate::aws::credentials::{
    CallOutcome, CredentialCache, CredentialCall, Credentials, ForceRefresh,
};

/// Names one cache in a [`CredentialSet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CacheId(pub usize);

struct Slot {
    cache: CredentialCache,
    base: Option<CacheId>,
    /// (generation, has credentials) of the base when last handed to the role.
    seen: Option<(u64, bool)>,
}

/// All accounts' credential caches.
#[derive(Default)]
pub struct CredentialSet {
    slots: Vec<Slot>,
}

impl std::fmt::Debug for CredentialSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.slots.iter().map(|s| (&s.cache, s.base)))
            .finish()
    }
}

impl CredentialSet {
    pub fn new() -> CredentialSet {
        CredentialSet::default()
    }

    /// Adds a cache; `base` is required for (and only used by) assumed roles.
    pub fn add(&mut self, cache: CredentialCache, base: Option<CacheId>) -> CacheId {
        self.slots.push(Slot {
            cache,
            base,
            seen: None,
        });
        CacheId(self.slots.len() - 1)
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn cache(&self, id: CacheId) -> Option<&CredentialCache> {
        self.slots.get(id.0).map(|s| &s.cache)
    }

    /// The cache an assumed role signs its AssumeRole calls with.
    pub fn base_of(&self, id: CacheId) -> Option<CacheId> {
        self.slots.get(id.0).and_then(|s| s.base)
    }

    /// Every cache id, in the order they were added.
    pub fn ids(&self) -> impl Iterator<Item = CacheId> + '_ {
        (0..self.slots.len()).map(CacheId)
    }

    pub fn current(&self, id: CacheId) -> Option<&Credentials> {
        self.cache(id)?.current()
    }

    /// The next call any cache needs, with the id to report its outcome to.
    pub fn poll_request(
        &mut self,
        now: Instant,
        wall: SystemTime,
    ) -> Option<(CacheId, CredentialCall)> {
        self.sync_bases();
        self.slots.iter_mut().enumerate().find_map(|(i, s)| {
            s.cache
                .poll_request(now, wall)
                .map(|call| (CacheId(i), call))
        })
    }

    pub fn handle_response(
        &mut self,
        id: CacheId,
        now: Instant,
        wall: SystemTime,
        outcome: CallOutcome<'_>,
    ) {
        let Some(slot) = self.slots.get_mut(id.0) else {
            return;
        };
        slot.cache.handle_response(now, wall, outcome);
        if slot.cache.take_wants_base_refresh()
            && let Some(base) = slot.base
        {
            let r = self.force_refresh(base, now);
            log::info!(
                "role signer credentials refused as expired base={} refresh={r:?}",
                base.0
            );
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        for s in &mut self.slots {
            s.cache.handle_timeout(now);
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter_map(|s| s.cache.poll_timeout())
            .min()
    }

    /// See [`CredentialCache::force_refresh`]; an unknown id is `NotRefreshable`.
    pub fn force_refresh(&mut self, id: CacheId, now: Instant) -> ForceRefresh {
        self.slots
            .get_mut(id.0)
            .map_or(ForceRefresh::NotRefreshable, |s| s.cache.force_refresh(now))
    }

    /// Clock skew any cache's STS call reported (the driver adopts it for all signing).
    pub fn take_observed_skew(&mut self) -> Option<ClockSkew> {
        self.slots
            .iter_mut()
            .find_map(|s| s.cache.take_observed_skew())
    }

    /// Hands each role its base's current credentials when they changed.
    fn sync_bases(&mut self) {
        for i in 0..self.slots.len() {
            let Some(base) = self.slots[i].base.filter(|b| b.0 != i) else {
                continue;
            };
            let Some(b) = self.slots.get(base.0) else {
                continue;
            };
            let key = (b.cache.generation(), b.cache.current().is_some());
            if self.slots[i].seen == Some(key) {
                continue;
            }
            let creds = b.cache.current().cloned();
            let slot = &mut self.slots[i];
            slot.seen = Some(key);
            slot.cache.set_base(creds);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::api::imds::ImdsBase;
    use crate::aws::credentials::assume_role::AssumeRoleConfig;
    use crate::aws::credentials::test_epoch;
    use crate::aws::error::tests::parse_response;
    use std::time::{Duration, UNIX_EPOCH};
    use ureq_proto::http::Response;

    macro_rules! fixture {
        ($path:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/aws/", $path))
        };
    }

    fn noon() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_768_478_400) // 2026-01-15T12:00:00Z
    }

    fn response(text: &[u8]) -> (Response<()>, &[u8]) {
        let (status, headers, body) = parse_response(text);
        let mut r = Response::builder()
            .status(status)
            .body(())
            .expect("response");
        *r.headers_mut() = headers;
        (r, body)
    }

    fn deliver(set: &mut CredentialSet, id: CacheId, now: Instant, r: &(Response<()>, &[u8])) {
        set.handle_response(
            id,
            now,
            noon(),
            CallOutcome::Response {
                response: &r.0,
                body: r.1,
            },
        );
    }

    fn ok(body: &[u8]) -> (Response<()>, &[u8]) {
        (
            Response::builder().status(200).body(()).expect("response"),
            body,
        )
    }

    const IMDS_BODIES: [&[u8]; 4] = [
        fixture!("imds/token.body"),
        fixture!("imds/role-name.body"),
        fixture!("imds/credentials.json"),
        fixture!("imds/identity-document.json"),
    ];

    /// Instance role as the base of an assumed role: IMDS first, then AssumeRole signed with the
    /// instance credentials; ExpiredToken from STS forces the base to refresh, once.
    #[test]
    fn role_on_instance_role() {
        let t0 = test_epoch();
        let mut set = CredentialSet::new();
        let base = set.add(CredentialCache::instance_role(ImdsBase::default(), 1), None);
        let cfg = AssumeRoleConfig::new(
            "arn:aws:iam::210987654321:role/FlowReader",
            None,
            Duration::from_secs(3600),
            1,
            "us-east-1",
        )
        .expect("valid");
        let role = set.add(CredentialCache::assume_role(cfg, 2), Some(base));
        for body in IMDS_BODIES {
            let Some((id, CredentialCall::Imds { .. })) = set.poll_request(t0, noon()) else {
                panic!("expected IMDS first")
            };
            assert_eq!(id, base);
            deliver(&mut set, id, t0, &ok(body));
        }
        let Some((
            id,
            CredentialCall::Sts {
                request, signer, ..
            },
        )) = set.poll_request(t0, noon())
        else {
            panic!("expected AssumeRole")
        };
        assert_eq!((id, request.operation), (role, "AssumeRole"));
        assert_eq!(
            signer.access_key_id(),
            "ASIAIOSFODNN7EXAMPLE",
            "signed with the instance role"
        );
        assert!(set.poll_request(t0, noon()).is_none());
        // STS: the instance credentials expired.
        deliver(
            &mut set,
            role,
            t0,
            &response(fixture!("responses/sts_error_ExpiredToken.response.txt")),
        );
        assert!(set.current(base).is_none(), "base refresh forced");
        let Some((id, CredentialCall::Imds { request, .. })) = set.poll_request(t0, noon()) else {
            panic!("expected the base to refetch")
        };
        assert_eq!(
            (id, request.uri().path()),
            (
                base,
                "/latest/meta-data/iam/security-credentials/vpcflow-agent-role"
            )
        );
        deliver(&mut set, base, t0, &ok(IMDS_BODIES[2]));
        assert_eq!(set.cache(base).map(CredentialCache::generation), Some(2));
        // The role retries after its backoff (< 1 s) with the new base credentials.
        let t1 = set.poll_timeout().expect("role retry timer");
        assert!(t1 < t0 + Duration::from_secs(1));
        set.handle_timeout(t1);
        let Some((id, CredentialCall::Sts { .. })) = set.poll_request(t1, noon()) else {
            panic!("expected AssumeRole again")
        };
        deliver(
            &mut set,
            id,
            t1,
            &response(fixture!("responses/sts_AssumeRole.response.txt")),
        );
        assert_eq!(
            set.current(role).map(Credentials::access_key_id),
            Some("ASIAIOSFODNN7EXAMPLE")
        );
        assert_eq!(
            set.cache(role).and_then(CredentialCache::account_id),
            Some("210987654321")
        );
        // A second ExpiredToken within a minute does not force the base again.
        set.force_refresh(role, t1);
        let Some((id, _)) = set.poll_request(t1, noon()) else {
            panic!("role refetch")
        };
        deliver(
            &mut set,
            id,
            t1,
            &response(fixture!("responses/sts_error_ExpiredToken.response.txt")),
        );
        assert!(
            set.current(base).is_some(),
            "rate-limited: the base keeps its credentials"
        );
    }

    #[test]
    fn static_base_and_unknown_ids() {
        let t0 = test_epoch();
        let mut set = CredentialSet::new();
        assert!(set.is_empty());
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
        );
        let base = set.add(CredentialCache::fixed("env", creds, "us-east-1", 1), None);
        assert_eq!(set.len(), 1);
        assert_eq!(
            set.force_refresh(CacheId(9), t0),
            ForceRefresh::NotRefreshable
        );
        assert!(set.current(CacheId(9)).is_none());
        set.handle_response(
            CacheId(9),
            t0,
            noon(),
            CallOutcome::Failed(crate::aws::retry::TransportFailure::Closed),
        );
        let Some((id, CredentialCall::Sts { request, .. })) = set.poll_request(t0, noon()) else {
            panic!("GetCallerIdentity")
        };
        assert_eq!((id, request.operation), (base, "GetCallerIdentity"));
    }
}
