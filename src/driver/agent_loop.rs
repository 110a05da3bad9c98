//! The poll loop of `run`: one `mio::Poll` for the signalfd, the AWS connections
//! ([`AwsDriver`]), the IPFIX export sockets ([`ExportIo`]) and every timer, around the sans-IO
//! [`Agent`]; the state directory through the atomic [`Store`].
//!
//! ```text
//!  one turn:  AWS events ──► agent (responses, bodies, accounts)
//!             export ──► sockets (bind sockets opened for new exporter IPs) ─► acks
//!             agent.poll_work: acks to inputs, new calls submitted (the inputs' and the
//!               inventory refresh's), stalled bodies resumed; ip_ranges_file read when asked
//!             agent.poll_write ──► Store (checkpoints.json, exporters.json, status.json,
//!                                         inventory.json)
//!             sleep until readiness or min(agent, AWS, export, sockets, stop deadline)
//!
//!  session:  Running ──SIGTERM/SIGINT──► Stopping ──agent done──► Stopped (exit 0)
//!               │                           │ STOP_GRACE over, or a second signal
//!               │                           └──► Forced: checkpoints saved as they are (exit 0)
//!               └──SIGHUP, new config valid──► Stopping ──► Reload: the caller starts a new
//!                  (invalid: logged, kept)                  session with it, same process
//! ```
//! At start the saved `inventory.json` (if any) enriches records at once, and the first
//! scheduled refresh (`[agent] inventory_refresh`) starts immediately, then at every fire time.
//!
//! A session is everything built from one config: sockets, connections, inputs. A reload
//! stops it gracefully (so every unit in flight is acknowledged first) and starts the next one
//! from the saved state, which is the simplest way to apply any change of the config correctly.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use rustls::ClientConfig;

use crate::agent::inventory::InventoryRefresh;
use crate::agent::state::{CHECKPOINTS_FILE, EXPORTERS_FILE, StateWrite, TransportStats};
use crate::agent::{Agent, AgentError, AgentSettings, AwsPort};
use crate::aws::client::{AwsClient, AwsEvent, CallId, CallOptions};
use crate::aws::credentials::CacheId;
use crate::aws::request::ApiRequest;
use crate::config::config::{Config, ExporterIdentity, Transport};
use crate::driver::aws_loop::{AwsDriver, LoopEvent, STOP_GRACE};
use crate::driver::clock::Now;
use crate::driver::export_io::ExportIo;
use crate::driver::pool::HttpClientConfig;
use crate::driver::resolve::{DEFAULT_TTL, Resolver};
use crate::driver::signals::{Signal, Signals};
use crate::driver::store::{Store, StoreError};
use crate::export::{Export, ExportConfig};
use crate::inventory::cron::Cron;
use crate::inventory::discover::AccountSpec;
use crate::inventory::model::{INVENTORY_FILE, Inventory};
use crate::inventory::refresh::{RefreshSettings, Refresher};
use crate::pipeline::domains::DomainTable;
use crate::pipeline::{Identity, Pipeline};

const SIGNAL_TOKEN: Token = Token(0);
/// HTTP connections: `[16, 16 + max_connections)`.
const HTTP_TOKEN_BASE: usize = 16;
/// Export sockets; bind mode adds one per (collector, exporter IP), so they get a range of
/// their own far above the HTTP client's.
const EXPORT_TOKEN_BASE: usize = 1 << 20;
const EVENTS_CAPACITY: usize = 256;
/// Rounds of "deliver events, pump export, agent work" per turn before polling again, so a
/// burst of events cannot starve the sockets.
const MAX_ROUNDS_PER_TURN: usize = 64;
/// A failing export send is logged at most this often.
const EXPORT_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The default region of a credential cache that is an account; `None` for caches that only
/// sign for others (a role's base credentials that are not an account themselves).
pub type AccountRegion = Box<dyn Fn(&AwsClient, CacheId) -> Option<String>>;

/// Everything one session is built from (prepared by `cli/run.rs`, at start and on reload).
pub struct Session {
    pub cfg: Config,
    pub client: AwsClient,
    pub tls: Arc<ClientConfig>,
    pub account_region: AccountRegion,
    /// The AWS endpoints are overridden (an emulator): see `AgentSettings::emulator`.
    pub emulator: bool,
    /// The accounts the scheduled inventory refresh walks.
    pub refresh_accounts: Vec<AccountSpec<CacheId>>,
}

/// How a session ended.
pub enum SessionEnd {
    /// Stopped by a signal, everything in flight finished and saved.
    Stopped,
    /// The stop grace ran out or a second signal came: in-flight units were abandoned (they
    /// come back after a restart; the checkpoints hold only acknowledged positions).
    Forced,
    /// SIGHUP with a valid config: start the next session with it.
    Reload(Box<Session>),
}

#[derive(Debug)]
pub enum LoopError {
    Setup {
        what: &'static str,
        error: io::Error,
    },
    Store(StoreError),
    Agent(AgentError),
    Exporters(String),
    Export(String),
    /// A condition that stopped the agent (after a graceful stop).
    Fatal(String),
}

impl fmt::Display for LoopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoopError::Setup { what, error } => write!(f, "cannot set up {what}: {error}"),
            LoopError::Store(e) => write!(f, "state directory: {e}"),
            LoopError::Agent(e) => write!(f, "{e}"),
            LoopError::Exporters(e) => write!(
                f,
                "{EXPORTERS_FILE}: {e} (fix it or move it away; VPCs then get new domain ids)"
            ),
            LoopError::Export(e) => write!(f, "IPFIX export: {e}"),
            LoopError::Fatal(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LoopError {}

/// [`AwsPort`] over the driver, at one instant.
struct DriverPort<'a> {
    driver: &'a mut AwsDriver,
    now: Now,
}

impl AwsPort for DriverPort<'_> {
    fn submit(
        &mut self,
        account: CacheId,
        region: &str,
        request: ApiRequest,
        options: CallOptions,
    ) -> CallId {
        self.driver
            .submit(account, region, request, options, self.now)
    }

    fn cancel(&mut self, call: CallId) {
        self.driver.cancel(call, self.now);
    }

    fn read_body(&mut self, call: CallId, out: &mut [u8]) -> usize {
        self.driver.read_body(call, out, self.now)
    }
}

/// One session's loop. See the module doc.
pub struct AgentLoop {
    poll: Poll,
    events: Events,
    driver: AwsDriver,
    io: ExportIo,
    store: Store,
    agent: Agent,
    collectors: usize,
    account_region: AccountRegion,
    export_error_logged: Option<Instant>,
    fatal: Option<String>,
}

impl AgentLoop {
    /// Opens the state directory, restores the state, builds the inputs and opens the sockets.
    pub fn new(session: Session, signals: &Signals) -> Result<AgentLoop, LoopError> {
        let Session {
            cfg,
            client,
            tls,
            account_region,
            emulator,
            refresh_accounts,
        } = session;
        let setup = |what: &'static str| move |error: io::Error| LoopError::Setup { what, error };
        let poll = Poll::new().map_err(setup("the poller"))?;
        poll.registry()
            .register(
                &mut SourceFd(&signals.raw_fd()),
                SIGNAL_TOKEN,
                Interest::READABLE,
            )
            .map_err(setup("signals"))?;
        let now = Now::read();
        let store = Store::open(&cfg.state_dir).map_err(LoopError::Store)?;
        let checkpoints = store.read(CHECKPOINTS_FILE).map_err(LoopError::Store)?;
        let domains = match store.read(EXPORTERS_FILE).map_err(LoopError::Store)? {
            Some(bytes) => DomainTable::from_json(&cfg.exporters, cfg.exporter_pool, &bytes),
            None => DomainTable::new(&cfg.exporters, cfg.exporter_pool),
        }
        .map_err(|e| LoopError::Exporters(e.to_string()))?;
        let mut ecfg = ExportConfig::new(cfg.collectors.len(), cfg.max_packet_size);
        ecfg.rate_limit = cfg.rate_limit;
        ecfg.template_refresh = cfg.template_refresh;
        ecfg.enterprise_number = cfg.enterprise_number;
        let export = Export::new(ecfg).map_err(|e| LoopError::Export(e.to_string()))?;
        let identity = match cfg.exporter_identity {
            ExporterIdentity::Element => Identity::Element,
            ExporterIdentity::Bind => Identity::Bind,
        };
        let settings = AgentSettings {
            status_interval: cfg.status_interval,
            collectors: cfg.collectors.iter().map(ToString::to_string).collect(),
            emulator,
        };
        let mut pipeline = Pipeline::new(export, domains, identity);
        // The last inventory enriches from the first record; the refresh replaces it.
        match store.read(INVENTORY_FILE).map_err(LoopError::Store)? {
            Some(bytes) => match Inventory::from_json(&bytes) {
                Ok(inv) => {
                    let r = pipeline.install_inventory(&inv);
                    log::info!(
                        "saved inventory loaded file={INVENTORY_FILE} enis={} new_domains={}",
                        r.enis,
                        r.new_domains
                    );
                }
                Err(e) => log::warn!(
                    "saved inventory not used, the first refresh replaces it file={INVENTORY_FILE} error={e}"
                ),
            },
            None => log::info!(
                "no saved inventory: records are enriched once the first refresh completes"
            ),
        }
        let schedule = Cron::parse(&cfg.inventory_refresh)
            .map_err(|e| LoopError::Fatal(format!("[agent] inventory_refresh: {e}")))?;
        let refresh = Refresher::new(
            RefreshSettings::new(schedule, cfg.regions.clone(), cfg.ip_ranges_file.clone()),
            refresh_accounts,
            now.mono,
        );
        let agent = Agent::from_config(
            &cfg,
            pipeline,
            checkpoints.as_deref(),
            settings,
            now.mono,
            now.wall,
        )
        .map_err(|e| match e {
            // Name the file with its directory.
            AgentError::State(e) => {
                LoopError::Fatal(format!("{}/{e}", cfg.state_dir.trim_end_matches('/')))
            }
            e => LoopError::Agent(e),
        })?
        .with_refresh(InventoryRefresh::new(refresh));
        let io = match cfg.transport {
            Transport::Udp => ExportIo::udp(
                poll.registry(),
                &cfg.collectors,
                EXPORT_TOKEN_BASE,
                cfg.udp_gso,
            )
            .map_err(setup("the UDP export sockets"))?,
            Transport::Tcp => ExportIo::tcp(&cfg.collectors, EXPORT_TOKEN_BASE, now.mono),
        };
        let http = HttpClientConfig {
            token_base: HTTP_TOKEN_BASE,
            ..HttpClientConfig::default()
        };
        let mut driver = AwsDriver::new(
            poll.registry(),
            tls,
            Resolver::new(DEFAULT_TTL),
            http,
            client,
        )
        .map_err(setup("the AWS client"))?;
        // Credential fetches (and the account ids that start the inputs) begin at once.
        driver.handle_timeout(now);
        log::info!(
            "agent started; inputs={} collectors={} transport={:?} state_dir={}",
            agent.input_names().collect::<Vec<_>>().join(","),
            cfg.collectors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            cfg.transport,
            cfg.state_dir
        );
        Ok(AgentLoop {
            poll,
            events: Events::with_capacity(EVENTS_CAPACITY),
            driver,
            io,
            store,
            agent,
            collectors: cfg.collectors.len(),
            account_region,
            export_error_logged: None,
            fatal: None,
        })
    }

    /// Runs until stopped. `reload` prepares the next session on SIGHUP (reads and checks the
    /// config again); its error keeps the running session.
    pub fn run(
        mut self,
        signals: &Signals,
        reload: &mut dyn FnMut() -> Result<Session, String>,
    ) -> Result<SessionEnd, LoopError> {
        let mut stop_by: Option<Instant> = None;
        let mut next: Option<Box<Session>> = None;
        loop {
            let now = Now::read();
            let busy = self.turn(now);
            self.write_state(now);
            if self.agent.is_done() {
                self.final_writes(now);
                log::info!("agent stopped");
                return match (self.fatal.take(), next) {
                    (Some(e), _) => Err(LoopError::Fatal(e)),
                    (None, Some(s)) => Ok(SessionEnd::Reload(s)),
                    (None, None) => Ok(SessionEnd::Stopped),
                };
            }
            if stop_by.is_some_and(|t| t <= now.mono) {
                log::warn!(
                    "stop grace over: calls in flight abandoned, their units come back after a restart; calls={}",
                    self.agent.calls_out()
                );
                self.final_writes(now);
                return match (self.fatal.take(), next) {
                    (Some(e), _) => Err(LoopError::Fatal(e)),
                    (None, Some(s)) => Ok(SessionEnd::Reload(s)),
                    (None, None) => Ok(SessionEnd::Forced),
                };
            }
            if let Some(e) = &self.fatal
                && stop_by.is_none()
            {
                log::error!("stopping: {e}");
                stop_by = Some(now.mono + STOP_GRACE);
                self.agent.handle_stop(now.mono, now.wall);
                continue;
            }
            let deadline = [
                self.driver.poll_timeout(),
                self.agent.poll_timeout(),
                self.agent.pipeline().export.poll_timeout(),
                self.io.poll_timeout(),
                stop_by,
            ]
            .into_iter()
            .flatten()
            .min();
            let timeout = if busy {
                Some(Duration::ZERO)
            } else {
                deadline.map(|d| d.saturating_duration_since(now.mono))
            };
            match self.poll.poll(&mut self.events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    return Err(LoopError::Setup {
                        what: "the poller",
                        error,
                    });
                }
            }
            let now = Now::read();
            let mut signalled = false;
            for ev in self.events.iter() {
                let token = ev.token();
                if token == SIGNAL_TOKEN {
                    signalled = true;
                } else if self.driver.owns_token(token) {
                    self.driver.handle_ready(token, now);
                } else if self.io.owns_token(token) {
                    self.io.handle_event(
                        self.poll.registry(),
                        &mut self.agent.pipeline_mut().export,
                        token,
                        ev.is_readable(),
                        now.mono,
                    );
                }
            }
            if signalled {
                while let Some(signal) = signals.read().map_err(|error| LoopError::Setup {
                    what: "signals",
                    error,
                })? {
                    match signal {
                        Signal::Stop if stop_by.is_some() => {
                            log::warn!("second stop signal: exiting now");
                            self.final_writes(now);
                            return Ok(SessionEnd::Forced);
                        }
                        Signal::Stop => {
                            log::info!(
                                "stop signal: finishing in-flight work; grace_s={}",
                                STOP_GRACE.as_secs()
                            );
                            stop_by = Some(now.mono + STOP_GRACE);
                            self.agent.handle_stop(now.mono, now.wall);
                        }
                        Signal::Reload if stop_by.is_some() => {
                            log::info!("SIGHUP ignored: already stopping");
                        }
                        Signal::Reload => match reload() {
                            Ok(s) => {
                                log::info!(
                                    "SIGHUP: configuration read; stopping gracefully to start again with it"
                                );
                                next = Some(Box::new(s));
                                stop_by = Some(now.mono + STOP_GRACE);
                                self.agent.handle_stop(now.mono, now.wall);
                            }
                            Err(e) => log::error!(
                                "SIGHUP: configuration refused, the running one stays; error={e}"
                            ),
                        },
                    }
                }
            }
            self.handle_timers(now);
        }
    }

    /// Events, export and agent work until nothing moves (or the round limit: then `true`,
    /// poll without sleeping).
    fn turn(&mut self, now: Now) -> bool {
        for _ in 0..MAX_ROUNDS_PER_TURN {
            let mut moved = false;
            while let Some(ev) = self.driver.poll_event() {
                moved = true;
                self.route(ev, now);
            }
            self.pump_export(now);
            let mut port = DriverPort {
                driver: &mut self.driver,
                now,
            };
            self.agent.poll_work(&mut port, now.mono, now.wall);
            self.read_files();
            self.pump_export(now);
            if !moved && !self.agent.has_work() {
                // `poll_work` may have queued events (a call that failed at once, a body's end).
                match self.driver.poll_event() {
                    Some(ev) => self.route(ev, now),
                    None => return false,
                }
            }
        }
        true
    }

    fn route(&mut self, ev: LoopEvent, now: Now) {
        match ev {
            LoopEvent::BodyReady { call } => {
                let mut port = DriverPort {
                    driver: &mut self.driver,
                    now,
                };
                self.agent
                    .handle_body_ready(call, &mut port, now.mono, now.wall);
            }
            LoopEvent::Aws(AwsEvent::AccountKnown {
                account,
                account_id,
            }) => {
                // The refresh walks every configured account, inputs only those of their ARN.
                self.agent.handle_account_id(account, &account_id);
                match (self.account_region)(self.driver.aws(), account) {
                    Some(region) => self
                        .agent
                        .handle_account_known(account, &account_id, &region),
                    None => log::debug!(
                        "credentials that only sign for others know their account; account_id={account_id}"
                    ),
                }
            }
            LoopEvent::Aws(ev) => self.agent.handle_aws_event(ev, now.mono, now.wall),
        }
    }

    /// Opens bind-mode sockets for new exporter IPs and writes what export has ready.
    fn pump_export(&mut self, now: Now) {
        let registry = self.poll.registry();
        while let Some(ip) = self.agent.pipeline_mut().poll_new_bind_address() {
            if let Err(e) = self.io.bind_exporter(registry, self.collectors, ip) {
                // Datagrams of that VPC would leave from another address: a config error.
                self.fatal
                    .get_or_insert_with(|| format!("exporter_identity = bind: {e}"));
            }
        }
        let Pipeline { export, binds, .. } = self.agent.pipeline_mut();
        if let Err(e) = self
            .io
            .pump(registry, export, &|d| binds.address(d), now.mono)
        {
            let quiet = self
                .export_error_logged
                .is_some_and(|t| now.mono < t + EXPORT_ERROR_LOG_INTERVAL);
            if !quiet {
                log::error!("ipfix send failed, will retry; error={e}");
                self.export_error_logged = Some(now.mono);
            }
        }
    }

    fn handle_timers(&mut self, now: Now) {
        if self.driver.poll_timeout().is_some_and(|t| t <= now.mono) {
            self.driver.handle_timeout(now);
        }
        let export = &mut self.agent.pipeline_mut().export;
        if export.poll_timeout().is_some_and(|t| t <= now.mono) {
            export.handle_timeout(now.mono, now.wall);
        }
        if self.io.poll_timeout().is_some_and(|t| t <= now.mono) {
            self.io.handle_timeout(
                self.poll.registry(),
                &mut self.agent.pipeline_mut().export,
                now.mono,
            );
        }
        if self.agent.poll_timeout().is_some_and(|t| t <= now.mono) {
            self.agent.handle_timeout(now.mono, now.wall);
        }
    }

    /// Files the agent asked for (`[aws] ip_ranges_file` at each refresh), read now.
    fn read_files(&mut self) {
        while let Some(path) = self.agent.poll_file_read() {
            let content = std::fs::read(&path).map_err(|e| format!("cannot read {path}: {e}"));
            self.agent
                .handle_file(content.as_deref().map_err(Clone::clone));
        }
    }

    fn write_state(&mut self, now: Now) {
        // The loss table is lent to the agent and taken back: no copy every turn.
        let lost_by_collector = std::mem::take(&mut self.io.stats.lost_by_collector);
        let s = &self.io.stats;
        let t = TransportStats {
            datagrams: s.datagrams,
            bytes: s.bytes,
            lost: s.lost,
            reconnects: s.reconnects,
            lost_by_collector,
        };
        self.agent.note_transport(&t);
        self.io.stats.lost_by_collector = t.lost_by_collector;
        while let Some(w) = self.agent.poll_write(now.mono, now.wall) {
            let result = self.write(&w);
            self.agent.handle_written(w.file, result);
        }
    }

    fn write(&self, w: &StateWrite) -> Result<(), String> {
        self.store
            .write(w.file.name(), &w.bytes)
            .map_err(|e| e.to_string())
    }

    fn final_writes(&mut self, now: Now) {
        for w in self.agent.final_writes(now.mono, now.wall) {
            if let Err(e) = self.write(&w) {
                log::error!(
                    "state file not written at exit; file={} error={e}",
                    w.file.name()
                );
            }
        }
    }
}
