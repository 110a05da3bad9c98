//! `AwsClient`: the sans-IO engine every AWS call of the agent goes through (sources, discover,
//! check-aws). It owns the accounts' credentials ([`CredentialSet`]), the endpoint overrides,
//! the clock-skew estimate, the retry quotas and an [`Rng`] for backoff jitter, and the table
//! of calls. The driver performs the HTTP exchanges it asks for; the owners of calls read
//! [`AwsEvent`]s.
//!
//! ```text
//!             submit
//!               ▼
//!   ┌──────► Waiting ── credential fetch failed (fatally, or once per allowed attempt) ─► Failed
//!   │           │ the account has credentials (generation ≥ min): resolve, sign at wall + skew
//!   │           ▼
//!   │        InFlight ── 2xx ───────────────────────────────────────────────────────────► Done
//!   │           │  └──── streamed 2xx head ─► StreamStart ─► body to the owner ───────────► Done
//!   │           │                                        └─ transport failure ─► Failed(StreamBroken)
//!   │           │ an error (a streamed non-2xx: its body collected first)
//!   │           ├── fatal code (AccessDenied, validation, not found…) ─────────────────► Failed
//!   │           ├── throttling / 5xx / transport ── attempts or retry quota spent ─► Failed(Exhausted)
//!   │           │        ▼ (else)
//!   │           │     Backoff (full jitter) ── retry_at ──┐
//!   ├───────────┼─────────────────────────────────────────┘
//!   ├───────────┼── credentials expired (once): force a refresh, wait for newer ones
//!   └───────────┴── clock skewed (once): adopt the server's offset, re-sign at once
//! ```
//! Timers: each call's `retry_at`, and the credential caches' refresh/expiry/backoff instants.
//! Credential fetches (STS AssumeRole and GetCallerIdentity, IMDS) come out of `poll_http` too,
//! before any call: they unblock calls. Every attempt is signed when it leaves, so a retry
//! carries the newest credentials and the corrected clock.
//!
//! The driver's side, precisely:
//! 1. After every `handle_*` call (and at start): drain `poll_http` (start each exchange with
//!    `CallSpec { endpoint, request, body, body_mode, deadline }` and remember
//!    driver call id ↔ [`AttemptId`]), drain `poll_cancel` (cancel those driver calls, drop
//!    their mapping, report nothing for them), then let the agent drain `poll_event`.
//! 2. A streamed exchange's head: `handle_head(attempt, status, &headers)`. On
//!    [`HeadAction::Stream`] the body-data events of that exchange go to the owner of the call
//!    (`call_of(attempt)`), who reads the bytes; on [`HeadAction::Collect`] the driver reads the
//!    body itself, keeps at most `cap` bytes and drops the rest; on [`HeadAction::Cancel`] it
//!    cancels the exchange. Buffered exchanges report no head.
//! 3. The end of every exchange: `handle_done(attempt, result, now, wall)` with the status,
//!    headers and body (buffered: the body; collected: what was kept; streamed: empty), or a
//!    [`TransportFailure`]: DNS/connect/refused/connect timeout/register → `Connect`; TLS or
//!    an invalid server name → `Tls`; closed or reset before or during the response → `Closed`;
//!    deadline → `Timeout`; a body over its cap → `TooLarge`; invalid HTTP → `Http`.
//! 4. Sleep until the earliest of its own deadlines and `poll_timeout()`; then `handle_timeout(now)`.

mod call;
mod retries;
mod types;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub use types::{
    ApiResponse, AttemptId, AwsCallError, AwsEvent, CREDENTIAL_BODY_CAP, CallId, CallOptions,
    DEFAULT_BODY_CAP, DEFAULT_TIMEOUT, ERROR_BODY_CAP, HeadAction, HttpRequestOut, HttpTarget,
    LastFailure,
};

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Instant, SystemTime};

use ureq_proto::http::{HeaderMap, Request, Response};

use crate::aws::clock_skew::ClockSkew;
use crate::aws::credentials::{
    CacheId, CallOutcome, CredentialCall, CredentialError, CredentialSet,
};
use crate::aws::endpoint::{self, EndpointOverrides, Scheme};
use crate::aws::error::AwsError;
use crate::aws::request::{ApiRequest, Service};
use crate::aws::retry::{self, Backoff, Failure, RetryQuota, Rng, TransportFailure};
use crate::aws::sign::{self, SignError};
use crate::http::BodyMode;

use call::{Call, Phase, Stream};

/// Who an attempt belongs to.
#[derive(Clone, Copy, Debug)]
enum Owner {
    Call(CallId),
    Credentials(CacheId),
}

/// The AWS call engine. See the module doc for the driver's side of the contract.
pub struct AwsClient {
    creds: CredentialSet,
    overrides: EndpointOverrides,
    skew: ClockSkew,
    rng: Rng,
    backoff: Backoff,
    /// botocore keeps one retry quota per client, i.e. per (service, region).
    quotas: HashMap<(Service, String), RetryQuota>,
    /// Ordered by id, so timers and queues are served in submission order.
    calls: BTreeMap<CallId, Call>,
    /// Calls in `Phase::Waiting`, oldest first.
    waiting: VecDeque<CallId>,
    attempts: HashMap<AttemptId, Owner>,
    next_call: u64,
    next_attempt: u64,
    events: VecDeque<AwsEvent>,
    cancels: VecDeque<AttemptId>,
    /// Which caches' account ids were announced with `AccountKnown`.
    announced: Vec<bool>,
}

impl std::fmt::Debug for AwsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsClient")
            .field("credentials", &self.creds)
            .field("skew", &self.skew)
            .field("calls", &self.calls.len())
            .field("attempts", &self.attempts.len())
            .finish_non_exhaustive()
    }
}

impl AwsClient {
    /// `seed` feeds the backoff jitter (main: from the OS; tests: fixed).
    pub fn new(creds: CredentialSet, overrides: EndpointOverrides, seed: u64) -> AwsClient {
        let announced = vec![false; creds.len()];
        let mut c = AwsClient {
            creds,
            overrides,
            skew: ClockSkew::ZERO,
            rng: Rng::new(seed),
            backoff: Backoff::STANDARD,
            quotas: HashMap::new(),
            calls: BTreeMap::new(),
            waiting: VecDeque::new(),
            attempts: HashMap::new(),
            next_call: 1,
            next_attempt: 1,
            events: VecDeque::new(),
            cancels: VecDeque::new(),
            announced,
        };
        c.announce_accounts();
        c
    }

    pub fn credentials(&self) -> &CredentialSet {
        &self.creds
    }

    /// The offset added to our clock when signing.
    pub fn clock_skew(&self) -> ClockSkew {
        self.skew
    }

    /// The account id behind `account`, once known.
    pub fn account_id(&self, account: CacheId) -> Option<&str> {
        self.creds.cache(account)?.account_id()
    }

    /// The credential cache acting in `account_id` (the account of an input's ARN).
    pub fn account_by_id(&self, account_id: &str) -> Option<CacheId> {
        self.creds
            .ids()
            .find(|id| self.account_id(*id) == Some(account_id))
    }

    /// Calls not yet finished.
    pub fn pending_calls(&self) -> usize {
        self.calls.len()
    }

    /// Submits a call in `account`'s credentials to `region`. Its outcome comes as an
    /// [`AwsEvent`] (possibly at once, for a call that cannot be made at all).
    pub fn submit(
        &mut self,
        account: CacheId,
        region: &str,
        request: ApiRequest,
        options: CallOptions,
        _now: Instant,
    ) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        let call = Call::new(account, region, request, options);
        log::debug!(
            "aws call submitted call={id} action={} account={} region={region}",
            call.action,
            account.0
        );
        if self.creds.cache(account).is_none() {
            let error = AwsCallError::Credentials {
                action: call.action,
                account,
                source: format!("unknown account #{}", account.0),
                error: None,
            };
            self.events.push_back(AwsEvent::Failed { call: id, error });
            return id;
        }
        if let Err(e) = endpoint::resolve(call.request.service, region, &self.overrides) {
            let error = AwsCallError::Unroutable {
                action: call.action,
                error: SignError::Endpoint(e),
            };
            self.events.push_back(AwsEvent::Failed { call: id, error });
            return id;
        }
        if let Some((source, e)) = self.fatal_credential_error(account) {
            let error = AwsCallError::Credentials {
                action: call.action,
                account,
                source,
                error: Some(e),
            };
            self.events.push_back(AwsEvent::Failed { call: id, error });
            return id;
        }
        self.calls.insert(id, call);
        self.waiting.push_back(id);
        id
    }

    /// Forgets `call`: no event comes for it. An exchange in flight is handed to
    /// `poll_cancel` for the driver to abort.
    pub fn cancel(&mut self, call: CallId) {
        let Some(c) = self.calls.remove(&call) else {
            return;
        };
        if let Some(a) = c.attempt() {
            self.attempts.remove(&a);
            self.cancels.push_back(a);
        }
        self.waiting.retain(|w| *w != call);
        log::debug!("aws call canceled call={call} action={}", c.action);
    }

    /// The call an attempt belongs to (`None` for credential fetches and finished calls).
    pub fn call_of(&self, attempt: AttemptId) -> Option<CallId> {
        match self.attempts.get(&attempt) {
            Some(Owner::Call(c)) => Some(*c),
            _ => None,
        }
    }

    /// The next exchange for the driver: credential fetches first, then calls in submission
    /// order whose account has credentials.
    pub fn poll_http(&mut self, now: Instant, wall: SystemTime) -> Option<HttpRequestOut> {
        while let Some((cache, fetch)) = self.creds.poll_request(now, wall) {
            match self.credential_request(fetch, now, wall) {
                Ok((endpoint, request, body, deadline)) => {
                    let attempt = self.new_attempt(Owner::Credentials(cache));
                    return Some(HttpRequestOut {
                        attempt,
                        endpoint,
                        request,
                        body,
                        body_mode: BodyMode::Buffered {
                            cap: CREDENTIAL_BODY_CAP,
                        },
                        deadline,
                    });
                }
                Err(failure) => {
                    self.credential_outcome(cache, now, wall, CallOutcome::Failed(failure))
                }
            }
        }
        loop {
            let pos = self.waiting.iter().position(|id| self.is_sendable(*id))?;
            let id = self.waiting.remove(pos)?;
            match self.sign_call(id, now, wall) {
                Some(Ok(out)) => return Some(out),
                Some(Err(error)) => self.fail(id, error),
                None => {}
            }
        }
    }

    /// Attempts the driver must abort (their calls were canceled).
    pub fn poll_cancel(&mut self) -> Option<AttemptId> {
        self.cancels.pop_front()
    }

    /// A streamed exchange's response head. See [`HeadAction`].
    pub fn handle_head(
        &mut self,
        attempt: AttemptId,
        status: u16,
        headers: &HeaderMap,
    ) -> HeadAction {
        let id = match self.attempts.get(&attempt) {
            None => return HeadAction::Cancel,
            // Credential fetches are buffered; a driver asking anyway gets the body collected.
            Some(Owner::Credentials(_)) => {
                return HeadAction::Collect {
                    cap: CREDENTIAL_BODY_CAP,
                };
            }
            Some(Owner::Call(id)) => *id,
        };
        let Some(Phase::InFlight { stream, .. }) = self.calls.get_mut(&id).map(|c| &mut c.phase)
        else {
            return HeadAction::Cancel;
        };
        if (200..300).contains(&status) {
            *stream = Stream::Started {
                status,
                headers: headers.clone(),
            };
            self.events.push_back(AwsEvent::StreamStart {
                call: id,
                status,
                headers: headers.clone(),
            });
            HeadAction::Stream { call: id }
        } else {
            *stream = Stream::Collecting;
            HeadAction::Collect {
                cap: ERROR_BODY_CAP,
            }
        }
    }

    /// The end of an exchange. `wall` is our clock when the response arrived (skew detection).
    pub fn handle_done(
        &mut self,
        attempt: AttemptId,
        result: Result<ApiResponse, TransportFailure>,
        now: Instant,
        wall: SystemTime,
    ) {
        match self.attempts.remove(&attempt) {
            None => log::debug!("aws response for a forgotten attempt attempt={attempt}"),
            Some(Owner::Credentials(cache)) => match &result {
                Ok(r) => match to_response(r) {
                    Some(response) => {
                        let outcome = CallOutcome::Response {
                            response: &response,
                            body: &r.body,
                        };
                        self.credential_outcome(cache, now, wall, outcome)
                    }
                    None => self.credential_outcome(
                        cache,
                        now,
                        wall,
                        CallOutcome::Failed(TransportFailure::Http),
                    ),
                },
                Err(t) => self.credential_outcome(cache, now, wall, CallOutcome::Failed(*t)),
            },
            Some(Owner::Call(id)) => self.finish_attempt(id, attempt, result, now, wall),
        }
    }

    pub fn poll_event(&mut self) -> Option<AwsEvent> {
        self.events.pop_front()
    }

    /// The next instant `handle_timeout` has work: a retry, or a credential timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let retries = self.calls.values().filter_map(|c| match c.phase {
            Phase::Backoff { retry_at } => Some(retry_at),
            _ => None,
        });
        retries.chain(self.creds.poll_timeout()).min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.creds.handle_timeout(now);
        for (id, call) in &mut self.calls {
            if let Phase::Backoff { retry_at } = call.phase
                && retry_at <= now
            {
                call.phase = Phase::Waiting { min_generation: 0 };
                self.waiting.push_back(*id);
            }
        }
        self.announce_accounts();
    }

    fn new_attempt(&mut self, owner: Owner) -> AttemptId {
        let a = AttemptId(self.next_attempt);
        self.next_attempt += 1;
        self.attempts.insert(a, owner);
        a
    }

    /// Whether a waiting call's account has the credentials it waits for.
    fn is_sendable(&self, id: CallId) -> bool {
        let Some(call) = self.calls.get(&id) else {
            return false;
        };
        let Phase::Waiting { min_generation } = call.phase else {
            return false;
        };
        self.creds
            .cache(call.account)
            .is_some_and(|c| c.current().is_some() && c.generation() >= min_generation)
    }

    /// Signs waiting call `id` for its next attempt (`None` if it is gone).
    fn sign_call(
        &mut self,
        id: CallId,
        now: Instant,
        wall: SystemTime,
    ) -> Option<Result<HttpRequestOut, AwsCallError>> {
        let call = self.calls.get(&id)?;
        let cache = self.creds.cache(call.account);
        let generation = cache.map_or(0, |c| c.generation());
        let Some(creds) = cache.and_then(|c| c.current()).cloned() else {
            return Some(Err(AwsCallError::Credentials {
                action: call.action,
                account: call.account,
                source: format!("account #{}", call.account.0),
                error: None,
            }));
        };
        let unroutable = |error| AwsCallError::Unroutable {
            action: call.action,
            error,
        };
        let signed = endpoint::resolve(call.request.service, &call.region, &self.overrides)
            .map_err(SignError::Endpoint)
            .and_then(|ep| {
                Ok((
                    sign::sign(&call.request, &ep, &creds, self.skew.apply(wall))?,
                    ep,
                ))
            });
        let (signed, ep) = match signed {
            Ok(s) => s,
            Err(e) => return Some(Err(unroutable(e))),
        };
        let body_mode = call.options.body_mode;
        let deadline = now + call.options.timeout;
        let attempt = self.new_attempt(Owner::Call(id));
        let call = self.calls.get_mut(&id)?;
        call.start_attempt(attempt, generation);
        log::debug!(
            "aws call sent call={id} attempt={attempt} action={} try={} host={}",
            call.action,
            call.sent,
            signed.connect_host
        );
        Some(Ok(HttpRequestOut {
            attempt,
            endpoint: HttpTarget {
                scheme: ep.scheme,
                host: signed.connect_host,
                port: ep.port,
            },
            request: signed.request,
            body: signed.body,
            body_mode,
            deadline,
        }))
    }

    /// Addresses (and for STS signs) a credential fetch.
    fn credential_request(
        &self,
        fetch: CredentialCall,
        now: Instant,
        wall: SystemTime,
    ) -> Result<(HttpTarget, Request<()>, Vec<u8>, Instant), TransportFailure> {
        match fetch {
            CredentialCall::Sts {
                request,
                region,
                signer,
            } => {
                let signed = endpoint::resolve(Service::Sts, &region, &self.overrides)
                    .map_err(SignError::Endpoint)
                    .and_then(|ep| {
                        let s = sign::sign(&request, &ep, &signer, self.skew.apply(wall))?;
                        Ok((ep, s))
                    });
                match signed {
                    Ok((ep, s)) => Ok((
                        HttpTarget {
                            scheme: ep.scheme,
                            host: s.connect_host,
                            port: ep.port,
                        },
                        s.request,
                        s.body,
                        now + DEFAULT_TIMEOUT,
                    )),
                    Err(e) => {
                        log::error!("cannot address STS call op={} error={e}", request.operation);
                        Err(TransportFailure::Connect)
                    }
                }
            }
            CredentialCall::Imds { request, timeout } => {
                let uri = request.uri();
                let scheme = match uri.scheme_str() {
                    Some("https") => Scheme::Https,
                    _ => Scheme::Http,
                };
                let Some(host) = uri.host() else {
                    log::error!("IMDS request without a host uri={uri}");
                    return Err(TransportFailure::Connect);
                };
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let port = uri.port_u16().unwrap_or(scheme.default_port());
                Ok((
                    HttpTarget {
                        scheme,
                        host: host.to_string(),
                        port,
                    },
                    request,
                    Vec::new(),
                    now + timeout,
                ))
            }
        }
    }

    /// Hands a credential fetch's outcome to its cache; then adopts a skew STS reported,
    /// announces account ids, and — if the fetch failed — fails or counts against the calls
    /// that wait for that cache.
    fn credential_outcome(
        &mut self,
        cache: CacheId,
        now: Instant,
        wall: SystemTime,
        outcome: CallOutcome<'_>,
    ) {
        let failures = |set: &CredentialSet| set.cache(cache).map_or(0, |c| c.failure_count());
        let before = failures(&self.creds);
        self.creds.handle_response(cache, now, wall, outcome);
        let failed = failures(&self.creds) > before;
        if let Some(skew) = self.creds.take_observed_skew() {
            log::info!("clock skew adopted from STS offset_ms={}", skew.offset_ms);
            self.skew = skew;
        }
        self.announce_accounts();
        if failed {
            self.credentials_failed(cache);
        }
    }

    fn credentials_failed(&mut self, cache: CacheId) {
        let Some(c) = self.creds.cache(cache) else {
            return;
        };
        let Some(error) = c.last_error().cloned() else {
            return;
        };
        let fatal = !c.last_error_is_retryable();
        let source = c.label().to_string();
        let blocked: Vec<CallId> = self
            .waiting
            .iter()
            .copied()
            .filter(|id| self.waits_on(*id, cache))
            .collect();
        for id in blocked {
            let Some(call) = self.calls.get_mut(&id) else {
                continue;
            };
            call.credential_failures += 1;
            if fatal || call.credential_failures >= call.options.max_attempts {
                let error = AwsCallError::Credentials {
                    action: call.action,
                    account: call.account,
                    source: source.clone(),
                    error: Some(error.clone()),
                };
                self.fail(id, error);
            }
        }
    }

    /// Whether waiting call `id` cannot be sent until `cache` (its account, or the base its
    /// role is signed with) delivers credentials.
    fn waits_on(&self, id: CallId, cache: CacheId) -> bool {
        let Some(call) = self.calls.get(&id) else {
            return false;
        };
        let related = call.account == cache || self.creds.base_of(call.account) == Some(cache);
        related && !self.is_sendable(id)
    }

    /// A credential failure that retrying soon will not fix, for `account` or its base.
    fn fatal_credential_error(&self, account: CacheId) -> Option<(String, CredentialError)> {
        let own = self.creds.cache(account)?;
        if own.current().is_some() {
            return None;
        }
        std::iter::once(account)
            .chain(self.creds.base_of(account))
            .filter_map(|id| self.creds.cache(id))
            .find(|c| c.current().is_none() && !c.last_error_is_retryable())
            .and_then(|c| Some((c.label().to_string(), c.last_error()?.clone())))
    }

    fn announce_accounts(&mut self) {
        self.announced.resize(self.creds.len(), false);
        for id in self.creds.ids() {
            if self.announced[id.0] {
                continue;
            }
            if let Some(account_id) = self.creds.cache(id).and_then(|c| c.account_id()) {
                self.announced[id.0] = true;
                self.events.push_back(AwsEvent::AccountKnown {
                    account: id,
                    account_id: account_id.to_string(),
                });
            }
        }
    }

    fn finish_attempt(
        &mut self,
        id: CallId,
        attempt: AttemptId,
        result: Result<ApiResponse, TransportFailure>,
        now: Instant,
        wall: SystemTime,
    ) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let (generation, stream) = match &mut call.phase {
            Phase::InFlight {
                attempt: a,
                generation,
                stream,
            } if *a == attempt => (*generation, std::mem::replace(stream, Stream::NotStarted)),
            _ => return,
        };
        let head = match stream {
            Stream::Started { status, headers } => Some((status, headers)),
            Stream::NotStarted | Stream::Collecting => None,
        };
        match (result, head) {
            (Ok(_), Some((status, headers))) => self.succeed(
                id,
                ApiResponse {
                    status,
                    headers,
                    body: Vec::new(),
                },
            ),
            (Ok(response), None) if response.is_success() => self.succeed(id, response),
            (Err(failure), Some(_)) => {
                let action = call.action;
                self.fail(id, AwsCallError::StreamBroken { action, failure });
            }
            (Ok(response), None) => {
                let e = AwsError::from_parts(
                    call.request.service.protocol(),
                    call.request.method,
                    response.status,
                    &response.headers,
                    &response.body,
                );
                let verdict = retry::classify(Failure::Aws(&e), wall);
                self.after_failure(id, LastFailure::Aws(Box::new(e)), verdict, generation, now);
            }
            (Err(t), None) => {
                let verdict = retry::classify(Failure::Transport(t), wall);
                self.after_failure(id, LastFailure::Transport(t), verdict, generation, now);
            }
        }
    }

    fn succeed(&mut self, id: CallId, response: ApiResponse) {
        let Some(call) = self.calls.remove(&id) else {
            return;
        };
        self.quota(call.request.service, &call.region)
            .on_success(call.last_retry_cost);
        log::debug!(
            "aws call done call={id} action={} status={} attempts={}",
            call.action,
            response.status,
            call.sent
        );
        self.events.push_back(AwsEvent::Done { call: id, response });
    }

    fn fail(&mut self, id: CallId, error: AwsCallError) {
        if let Some(call) = self.calls.remove(&id) {
            log::debug!(
                "aws call failed call={id} attempts={} error={error}",
                call.sent
            );
        }
        self.waiting.retain(|w| *w != id);
        self.events.push_back(AwsEvent::Failed { call: id, error });
    }

    fn quota(&mut self, service: Service, region: &str) -> &mut RetryQuota {
        self.quotas
            .entry((service, region.to_string()))
            .or_default()
    }
}

/// Rebuilds the `Response<()>` the credential sources parse.
fn to_response(r: &ApiResponse) -> Option<Response<()>> {
    let mut response = Response::builder().status(r.status).body(()).ok()?;
    *response.headers_mut() = r.headers.clone();
    Some(response)
}
