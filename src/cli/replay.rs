//! `vpcflow-ipfix replay`: local flow-log files (or stdin) → IPFIX, for backfill and testing.
//!
//! Files are read in chunks and streamed through the same line reader, parser, mapping and
//! export engine as the AWS inputs; memory stays constant whatever the file size. The export
//! engine's backpressure (full buffers, the rate limit) pauses reading: nothing is dropped.
//! A file whose lines are malformed is not fatal: each bad line is counted and reported with
//! `file:line`; a corrupt gzip stops that file (with its byte offset) and the next one goes on.
//!
//! ```text
//!   Read ──chunk──► Decode ──lines──► Export ──(buffers full / rate)──► Wait(poll) ──► Export
//!     ▲                                  │
//!     └──────────(reader wants input)────┘      end of files ─► Flush ─► Drain ─► summary
//! ```

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use super::CliError;
use super::args::Args;
use crate::config::config::{Config, ExporterIdentity, Transport, parse_duration};
use crate::driver::clock::Now;
use crate::driver::export_io::ExportIo;
use crate::driver::signals::{Signal, Signals};
use crate::export::{Export, ExportConfig};
use crate::flowlog::layout::Layout;
use crate::flowlog::lines::{DEFAULT_CAPACITY, LineReader};
use crate::pipeline::domains::DomainTable;
use crate::pipeline::map::Enrichment;
use crate::pipeline::{Identity, LineOutcome, Pipeline, SourceLine};

pub const HELP: &str = "\
vpcflow-ipfix replay [--to ADDR] [--transport udp|tcp] [--rate N] [--max-packet-size N]
                     [--format LOGFORMAT] [--template-refresh DURATION] [--no-udp-gso]
                     [--config FILE] FILE...|DIR...|-

Replays VPC Flow Log files (.log or .log.gz, plain or gzip by content; a directory is read
recursively in name order; - is stdin) as IPFIX, one observation domain per VPC.
  --to ADDR                collector address (repeatable; default 127.0.0.1:4739, or [ipfix] collector)
  --transport udp|tcp      (default udp)
  --rate N                 records per second, 0 = unlimited (default 0)
  --max-packet-size N      largest IPFIX message in octets (default 1400)
  --format LOGFORMAT       the layout of files without a header line, e.g.
                           '${version} ${vpc-id} ${srcaddr} ...' (default: the v2 default format)
  --template-refresh D     resend templates every D (default 600s)
  --no-udp-gso             hand UDP datagrams to the kernel one by one, not as segmented runs
                           (UDP GSO; the collector receives the same datagrams either way)
  --config FILE            take [ipfix] and [exporter vpc-...] settings from a config file
                           (command-line options win)
  --quiet                  no progress line
A header line (S3 objects start with one) sets the layout of its file.";

const SIGNALS: Token = Token(0);
const EXPORT_BASE: usize = 10;
/// Raw bytes read per `read(2)`: large enough that syscalls are a small part of the work.
const READ_CHUNK: usize = 256 * 1024;
/// Message buffers that may fill before they are written while input is at hand: at line rate
/// a `sendmmsg(2)` then carries this many datagrams instead of one (half the default pool of a
/// collector, so the other half keeps the producer going meanwhile).
const SEND_BATCH: usize = crate::export::DEFAULT_BUFFERS_PER_COLLECTOR / 2;
/// How often the clock is read while producing (reading it per line would cost more than parsing).
const LINES_PER_CLOCK_READ: u32 = 512;

pub fn run(argv: Vec<String>) -> Result<(), CliError> {
    let args = Args::parse(
        argv,
        &[
            "--to",
            "--transport",
            "--rate",
            "--max-packet-size",
            "--format",
            "--template-refresh",
            "--config",
        ],
        &["--quiet", "--no-udp-gso"],
    )?;
    let mut cfg = match args.value("--config") {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Runtime(format!("{path}: {e}")))?;
            Config::parse(&text).map_err(|errs| {
                let lines: Vec<String> = errs.iter().map(|e| format!("{path}: {e}")).collect();
                CliError::Usage(lines.join("\n"))
            })?
        }
        None => Config::default(),
    };
    let mut collectors = Vec::new();
    for (name, value) in args_values(&args, "--to") {
        collectors.push(
            value
                .parse::<SocketAddr>()
                .map_err(|_| CliError::Usage(format!("{name} {value:?}: expected ADDRESS:PORT")))?,
        );
    }
    if !collectors.is_empty() {
        cfg.collectors = collectors;
    }
    if let Some(t) = args.value("--transport") {
        cfg.transport = match t {
            "udp" => Transport::Udp,
            "tcp" => Transport::Tcp,
            _ => {
                return Err(CliError::Usage(format!(
                    "--transport {t:?}: expected udp or tcp"
                )));
            }
        };
    }
    if let Some(r) = args.parsed::<u32>("--rate", "records per second")? {
        cfg.rate_limit = r;
    }
    if let Some(m) = args.parsed::<usize>("--max-packet-size", "a size in octets")? {
        if !(256..=65_507).contains(&m) {
            return Err(CliError::Usage(format!(
                "--max-packet-size {m}: must be from 256 to 65507"
            )));
        }
        cfg.max_packet_size = m;
    }
    if args.flag("--no-udp-gso") {
        cfg.udp_gso = false;
    }
    if let Some(d) = args.value("--template-refresh") {
        cfg.template_refresh = parse_duration(d).filter(|d| !d.is_zero()).ok_or_else(|| {
            CliError::Usage(format!(
                "--template-refresh {d:?}: expected a duration like 60s"
            ))
        })?;
    }
    let default_layout = match args.value("--format") {
        Some(f) => {
            Layout::from_log_format(f).map_err(|e| CliError::Usage(format!("--format: {e}")))?
        }
        None => Layout::default_v2(),
    };
    if args.positionals.is_empty() {
        return Err(CliError::Usage(
            "no input: give files, directories or - for stdin (see --help)".into(),
        ));
    }
    let inputs = expand_inputs(&args.positionals)?;
    let progress = !args.flag("--quiet") && io::stderr().is_terminal();
    Replay::new(&cfg, default_layout, progress)?.run(&inputs)
}

fn args_values<'a>(args: &'a Args, name: &'static str) -> Vec<(&'static str, &'a str)> {
    args.values(name).map(|v| (name, v)).collect()
}

/// Files and directories (recursively, in name order) and `-`.
fn expand_inputs(items: &[String]) -> Result<Vec<Input>, CliError> {
    let mut out = Vec::new();
    for item in items {
        if item == "-" {
            out.push(Input::Stdin);
            continue;
        }
        let path = PathBuf::from(item);
        let meta =
            std::fs::metadata(&path).map_err(|e| CliError::Runtime(format!("{item}: {e}")))?;
        if meta.is_dir() {
            walk(&path, &mut out).map_err(|e| CliError::Runtime(format!("{item}: {e}")))?;
        } else {
            out.push(Input::File(path));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<Input>) -> io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if p.is_file() {
            out.push(Input::File(p));
        }
    }
    Ok(())
}

enum Input {
    File(PathBuf),
    Stdin,
}

impl Input {
    fn name(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Stdin => "-".into(),
        }
    }

    fn open(&self) -> io::Result<Box<dyn Read>> {
        Ok(match self {
            Input::File(p) => Box::new(File::open(p)?),
            Input::Stdin => Box::new(io::stdin().lock()),
        })
    }
}

struct Replay {
    poll: Poll,
    events: Events,
    signals: Signals,
    io: ExportIo,
    pipe: Pipeline,
    default_layout: Layout,
    collectors: usize,
    progress: bool,
    files_failed: u64,
    exported_lines: u64,
    stopping: bool,
}

impl Replay {
    fn new(cfg: &Config, default_layout: Layout, progress: bool) -> Result<Replay, CliError> {
        let rt = |what: &str| {
            let what = what.to_string();
            move |e: io::Error| CliError::Runtime(format!("{what}: {e}"))
        };
        let poll = Poll::new().map_err(rt("poll"))?;
        let signals = Signals::new().map_err(rt("signals"))?;
        poll.registry()
            .register(
                &mut SourceFd(&signals.raw_fd()),
                SIGNALS,
                Interest::READABLE,
            )
            .map_err(rt("signals"))?;
        let now = Now::read();
        let io = match cfg.transport {
            Transport::Udp => {
                ExportIo::udp(poll.registry(), &cfg.collectors, EXPORT_BASE, cfg.udp_gso)
                    .map_err(rt("udp socket"))?
            }
            Transport::Tcp => ExportIo::tcp(&cfg.collectors, EXPORT_BASE, now.mono),
        };
        let mut ecfg = ExportConfig::new(cfg.collectors.len(), cfg.max_packet_size);
        ecfg.rate_limit = cfg.rate_limit;
        ecfg.template_refresh = cfg.template_refresh;
        ecfg.enterprise_number = cfg.enterprise_number;
        let export = Export::new(ecfg).map_err(|e| CliError::Usage(e.to_string()))?;
        let domains = DomainTable::new(&cfg.exporters, cfg.exporter_pool)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        let identity = match cfg.exporter_identity {
            ExporterIdentity::Element => Identity::Element,
            ExporterIdentity::Bind => Identity::Bind,
        };
        Ok(Replay {
            poll,
            events: Events::with_capacity(64),
            signals,
            io,
            pipe: Pipeline::new(export, domains, identity),
            default_layout,
            collectors: cfg.collectors.len(),
            progress,
            files_failed: 0,
            exported_lines: 0,
            stopping: false,
        })
    }

    fn run(mut self, inputs: &[Input]) -> Result<(), CliError> {
        let started = Now::read();
        let mut raw = vec![0u8; READ_CHUNK];
        let mut reader = LineReader::new(DEFAULT_CAPACITY);
        let mut last_progress = started.mono;
        for input in inputs {
            if self.stopping {
                break;
            }
            let name = input.name();
            let mut file = match input.open() {
                Ok(f) => f,
                Err(e) => {
                    log::error!("replay: cannot open input: file={name} error={e}");
                    self.files_failed += 1;
                    continue;
                }
            };
            reader.reset();
            let mut layout: Option<Layout> = None;
            let (mut raw_pos, mut raw_len, mut at_eof) = (0usize, 0usize, false);
            let mut now = Now::read();
            let mut since_clock = 0u32;
            'file: loop {
                // Produce: hand lines to the pipeline while it has room. Remember why this
                // stops: only a reader out of lines may be given input or end the file; a full
                // (or rate-limited) export engine just means "wait, then go on".
                let mut reader_empty = false;
                loop {
                    if !self.pipe.can_accept(now.mono) {
                        break;
                    }
                    let line = match reader.next_line() {
                        None => {
                            reader_empty = true;
                            break;
                        }
                        Some(Err(too_long)) => {
                            self.pipe
                                .stats
                                .count_overlong(&name, too_long.number, &too_long);
                            continue;
                        }
                        Some(Ok(line)) => line,
                    };
                    if layout.is_none() {
                        // The first line says the file's layout when it is a header (S3 objects).
                        if Layout::is_header_line(line.bytes) {
                            match Layout::from_header_line(line.bytes) {
                                Ok(l) => {
                                    layout = Some(l);
                                    self.pipe.stats.count_header();
                                    continue;
                                }
                                Err(e) => {
                                    log::error!("replay: bad header line: file={name} error={e}");
                                    self.files_failed += 1;
                                    break 'file;
                                }
                            }
                        }
                        layout = Some(self.default_layout.clone());
                    }
                    let Some(l) = layout.as_ref() else {
                        break 'file;
                    };
                    if Layout::is_header_line(line.bytes) && line.number > 1 {
                        // A header in the middle: concatenated S3 objects. It rules what follows.
                        if let Ok(l2) = Layout::from_header_line(line.bytes) {
                            layout = Some(l2);
                            self.pipe.stats.count_header();
                            continue;
                        }
                    }
                    let outcome = self.pipe.handle_line(
                        l,
                        SourceLine {
                            source: &name,
                            number: line.number,
                            bytes: line.bytes,
                        },
                        &Enrichment::default(),
                        now.mono,
                        now.wall,
                    );
                    if let LineOutcome::Exported(_) = outcome {
                        self.exported_lines += 1;
                    }
                    since_clock += 1;
                    if since_clock >= LINES_PER_CLOCK_READ {
                        since_clock = 0;
                        now = Now::read();
                    }
                }
                // Send what is ready; wait when the engine is full or rate-limited. While the
                // reader still holds input, finished messages may wait to go in one batch.
                let input_ready = !reader_empty || raw_pos < raw_len;
                self.drive(false, input_ready)?;
                now = Now::read();
                if self.progress && now.mono.duration_since(last_progress) >= Duration::from_secs(1)
                {
                    last_progress = now.mono;
                    self.print_progress(started.mono, now.mono);
                }
                if self.stopping {
                    break 'file;
                }
                if !reader_empty {
                    continue;
                }
                // The reader wants input: it gave no line while the engine had room.
                if raw_pos < raw_len {
                    match reader.handle_input(&raw[raw_pos..raw_len]) {
                        Ok(n) => raw_pos += n,
                        Err(e) => {
                            log::error!(
                                "replay: corrupt input, rest of file skipped: file={name} error={e}"
                            );
                            self.files_failed += 1;
                            break 'file;
                        }
                    }
                    continue;
                }
                if at_eof {
                    break 'file;
                }
                match file.read(&mut raw) {
                    Ok(0) => {
                        at_eof = true;
                        if let Err(e) = reader.handle_eof() {
                            log::error!("replay: corrupt input at its end: file={name} error={e}");
                            self.files_failed += 1;
                        }
                    }
                    Ok(n) => (raw_pos, raw_len) = (0, n),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        log::error!(
                            "replay: read error, rest of file skipped: file={name} error={e}"
                        );
                        self.files_failed += 1;
                        break 'file;
                    }
                }
            }
        }
        // Everything read: close open messages and wait until all are written.
        let now = Now::read();
        self.pipe.export.flush(now.mono, now.wall);
        let drain_deadline = now.mono + Duration::from_secs(30);
        while !self.pipe.export.is_drained() && !self.stopping {
            self.drive(true, false)?;
            if Now::read().mono > drain_deadline {
                log::error!("replay: collectors did not take the last messages within 30s");
                break;
            }
        }
        if self.progress {
            eprint!("\r\x1b[K");
        }
        self.print_summary(started.mono);
        if self.files_failed > 0 {
            return Err(CliError::Runtime(format!(
                "{} input(s) could not be read to the end (see above)",
                self.files_failed
            )));
        }
        Ok(())
    }

    /// Writes ready messages; when the engine cannot take more, waits for sockets or timers.
    /// `input_ready`: more lines are at hand without a read, so writing may wait until
    /// [`SEND_BATCH`] buffers hold messages (one `sendmmsg` then carries them all); before a
    /// read (which may block on a pipe) everything ready is written.
    fn drive(&mut self, draining: bool, input_ready: bool) -> Result<(), CliError> {
        let now = Now::read();
        let registry = self.poll.registry();
        while let Some(ip) = self.pipe.poll_new_bind_address() {
            self.io
                .bind_exporter(registry, self.collectors, ip)
                .map_err(|e| CliError::Runtime(format!("bind mode: {e}")))?;
        }
        self.pipe.export.handle_timeout(now.mono, now.wall);
        self.io
            .handle_timeout(registry, &mut self.pipe.export, now.mono);
        let can_accept = self.pipe.can_accept(now.mono);
        let Pipeline { export, binds, .. } = &mut self.pipe;
        let batch_later = input_ready && can_accept && export.buffers_in_use() < SEND_BATCH;
        if !batch_later {
            self.io
                .pump(registry, export, &|d| binds.address(d), now.mono)
                .map_err(|e| CliError::Runtime(format!("ipfix send: {e}")))?;
        }
        let must_wait = draining || !self.pipe.can_accept(now.mono);
        if !must_wait {
            return Ok(());
        }
        let timeout = [self.pipe.export.poll_timeout(), self.io.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .map(|t| t.saturating_duration_since(now.mono))
            .unwrap_or(Duration::from_millis(100))
            .min(Duration::from_millis(100));
        match self.poll.poll(&mut self.events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(CliError::Runtime(format!("poll: {e}"))),
        }
        let now = Now::read();
        for ev in self.events.iter() {
            if ev.token() == SIGNALS {
                if let Ok(Some(Signal::Stop)) = self.signals.read() {
                    log::warn!("replay: stopping on signal; messages already built are still sent");
                    self.stopping = true;
                }
            } else if self.io.owns_token(ev.token()) {
                self.io.handle_event(
                    self.poll.registry(),
                    &mut self.pipe.export,
                    ev.token(),
                    ev.is_readable(),
                    now.mono,
                );
            }
        }
        Ok(())
    }

    fn print_progress(&self, started: Instant, now: Instant) {
        let secs = now.duration_since(started).as_secs_f64().max(0.001);
        let s = &self.pipe.stats;
        eprint!(
            "\r\x1b[Kreplay: {} lines, {} flows exported, {:.0} records/s, {} malformed",
            s.lines,
            self.exported(),
            self.exported() as f64 / secs,
            s.malformed
        );
    }

    /// Records handed to the export engine (each goes to every collector).
    fn exported(&self) -> u64 {
        self.exported_lines
    }

    fn print_summary(&self, started: Instant) {
        let secs = Now::read()
            .mono
            .duration_since(started)
            .as_secs_f64()
            .max(0.000_001);
        let s = &self.pipe.stats;
        let es = self.pipe.export.stats();
        let io = &self.io.stats;
        eprintln!(
            "replay: {} lines read: {} flow records exported, {} NODATA, {} SKIPDATA, {} malformed, {} header, {} blank, {} over-long",
            s.lines,
            self.exported(),
            s.nodata,
            s.skipdata,
            s.malformed,
            s.header_lines,
            s.blank_lines,
            s.overlong_lines
        );
        eprintln!(
            "replay: {} IPFIX messages, {} bytes, {} datagrams lost, {} records dropped as too large, {:.3} s, {:.0} records/s",
            io.datagrams,
            io.bytes,
            io.lost,
            es.dropped_too_large,
            secs,
            self.exported() as f64 / secs
        );
        for m in s.samples() {
            eprintln!("replay: malformed: {}:{}: {}", m.source, m.line_no, m.error);
        }
        if s.unreported() > 0 {
            eprintln!("replay: … and {} more malformed lines", s.unreported());
        }
    }
}
