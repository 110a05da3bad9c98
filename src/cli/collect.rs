//! `vpcflow-ipfix collect`: a small IPFIX collector that prints what it decodes.
//!
//! For troubleshooting and demos: it listens on UDP or TCP, keeps templates per (exporter,
//! observation domain), prints one line per data record (a table, or JSON with IANA element
//! names and ours), reports sequence gaps on stderr, and stops after `--count` records or on
//! SIGINT/SIGTERM with a summary.

use std::collections::HashMap;
use std::io::{self, BufWriter, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use super::CliError;
use super::args::Args;
use crate::driver::signals::{Signal, Signals};
use crate::ipfix::framer::StreamFramer;
use crate::ipfix::reader::{DecodedRecord, Event, Message, Reader, Value};

pub const HELP: &str = "\
vpcflow-ipfix collect [--listen ADDR] [--transport udp|tcp] [--json] [--options] [--count N]
                      [--enterprise-number PEN]

A small IPFIX collector for troubleshooting: prints every data record it decodes.
  --listen ADDR            address to listen on (default 0.0.0.0:4739)
  --transport udp|tcp      (default udp)
  --json                   one JSON object per record: element names (IANA and ours) -> values
  --options                print options records too (domain and interface names)
  --count N                exit after N flow records
  --enterprise-number PEN  the PEN of our own elements, to name them (default 32473)
Sequence gaps are reported on stderr; a summary is printed there on exit.";

const SIGNALS: Token = Token(0);
const UDP: Token = Token(1);
const LISTENER: Token = Token(2);
const FIRST_CONN: usize = 16;

struct Summary {
    messages: u64,
    flows: u64,
    options: u64,
    gaps: u64,
    errors: u64,
}

struct Printer<W: Write> {
    out: W,
    json: bool,
    options: bool,
    count: Option<u64>,
    summary: Summary,
}

impl<W: Write> Printer<W> {
    /// Prints a message's records; returns true when `--count` is reached.
    fn message(&mut self, exporter: SocketAddr, msg: &Message) -> io::Result<bool> {
        self.summary.messages += 1;
        for ev in &msg.events {
            match ev {
                Event::SequenceGap { expected, got } => {
                    self.summary.gaps += 1;
                    eprintln!(
                        "collect: sequence gap exporter={exporter} domain={} expected={expected} got={got}",
                        msg.header.domain_id
                    );
                }
                Event::UnknownTemplate { set_id, .. } => {
                    eprintln!(
                        "collect: data set for unknown template exporter={exporter} template={set_id}"
                    )
                }
                _ => {}
            }
        }
        for rec in &msg.records {
            if rec.is_options() {
                self.summary.options += 1;
                if !self.options {
                    continue;
                }
            } else {
                self.summary.flows += 1;
            }
            if self.json {
                let mut obj = serde_json::Map::new();
                obj.insert("exporter".into(), exporter.to_string().into());
                obj.insert("domain".into(), rec.domain_id.into());
                obj.insert("template".into(), rec.template_id.into());
                if rec.is_options() {
                    obj.insert("options".into(), true.into());
                }
                if let serde_json::Value::Object(fields) = rec.to_json() {
                    obj.extend(fields);
                }
                writeln!(self.out, "{}", serde_json::Value::Object(obj))?;
            } else {
                writeln!(self.out, "{}", table_row(exporter, rec))?;
            }
            if let Some(n) = self.count
                && self.summary.flows >= n
            {
                self.out.flush()?;
                return Ok(true);
            }
        }
        self.out.flush()?;
        Ok(false)
    }
}

fn text(rec: &DecodedRecord, names: &[&str]) -> String {
    for n in names {
        if let Some(v) = rec.get(n) {
            return match v {
                Value::Unsigned(x) | Value::DateTimeMs(x) => x.to_string(),
                Value::Ipv4(a) => a.to_string(),
                Value::Ipv6(a) => a.to_string(),
                Value::String(s) if s.is_empty() => "-".into(),
                Value::String(s) => s.clone(),
                Value::Bytes(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
            };
        }
    }
    "-".into()
}

fn table_row(exporter: SocketAddr, rec: &DecodedRecord) -> String {
    if rec.is_options() {
        let fields: Vec<String> = rec
            .fields
            .iter()
            .map(|f| format!("{}={}", f.label(), f.value.to_json()))
            .collect();
        return format!("options domain={} {}", rec.domain_id, fields.join(" "));
    }
    let action = match rec.get("forwardingStatus").and_then(Value::as_u64) {
        Some(64) => "ACCEPT",
        Some(129) => "REJECT",
        Some(_) => "other",
        None => "-",
    };
    let dir = match rec.get("flowDirection").and_then(Value::as_u64) {
        Some(0) => "in",
        Some(1) => "out",
        _ => "-",
    };
    // An IPv6 address is bracketed before its port, as in URLs (RFC 3986), to stay readable.
    let host = |keys: &[&str]| {
        let a = text(rec, keys);
        if a.contains(':') { format!("[{a}]") } else { a }
    };
    // Enrichment, when the exporter sends it: the VPC's and the instance's names.
    let names: Vec<String> = ["vpcName", "instanceName"]
        .iter()
        .filter_map(|k| rec.get(k).and_then(Value::as_str).filter(|v| !v.is_empty()))
        .map(str::to_string)
        .collect();
    format!(
        "{exp:<15} {dom:>10} {src:>41}:{sp:<5} -> {dst:>41}:{dp:<5} {proto:>3} {pk:>8} {by:>10} {dir:>3} {action:<6} {eni} {vpc}{names}",
        exp = exporter.ip(),
        dom = rec.domain_id,
        src = host(&["sourceIPv4Address", "sourceIPv6Address"]),
        sp = text(rec, &["sourceTransportPort"]),
        dst = host(&["destinationIPv4Address", "destinationIPv6Address"]),
        dp = text(rec, &["destinationTransportPort"]),
        proto = text(rec, &["protocolIdentifier"]),
        pk = text(rec, &["packetDeltaCount"]),
        by = text(rec, &["octetDeltaCount"]),
        eni = text(rec, &["interfaceName"]),
        vpc = text(rec, &["vpcId"]),
        names = if names.is_empty() {
            String::new()
        } else {
            format!(" ({})", names.join(", "))
        },
    )
}

pub fn run(argv: Vec<String>) -> Result<(), CliError> {
    let args = Args::parse(
        argv,
        &["--listen", "--transport", "--count", "--enterprise-number"],
        &["--json", "--options"],
    )?;
    if let Some(p) = args.positionals.first() {
        return Err(CliError::Usage(format!(
            "collect takes no file arguments (got {p:?})"
        )));
    }
    let listen: SocketAddr = args
        .parsed("--listen", "ADDRESS:PORT")?
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 4739)));
    let tcp = match args.value("--transport").unwrap_or("udp") {
        "udp" => false,
        "tcp" => true,
        other => {
            return Err(CliError::Usage(format!(
                "--transport {other:?}: expected udp or tcp"
            )));
        }
    };
    let pen: u32 = args
        .parsed("--enterprise-number", "a number")?
        .unwrap_or(32473);
    let mut printer = Printer {
        out: BufWriter::new(io::stdout().lock()),
        json: args.flag("--json"),
        options: args.flag("--options"),
        count: args.parsed("--count", "a number")?,
        summary: Summary {
            messages: 0,
            flows: 0,
            options: 0,
            gaps: 0,
            errors: 0,
        },
    };
    let io_err = |what: &str| {
        let what = what.to_string();
        move |e: io::Error| CliError::Runtime(format!("{what}: {e}"))
    };

    let mut poll = Poll::new().map_err(io_err("poll"))?;
    let signals = Signals::new().map_err(io_err("signals"))?;
    poll.registry()
        .register(
            &mut SourceFd(&signals.raw_fd()),
            SIGNALS,
            Interest::READABLE,
        )
        .map_err(io_err("signals"))?;
    let mut reader = Reader::new(pen);
    let mut udp = None;
    let mut listener = None;
    if tcp {
        let mut l = TcpListener::bind(listen).map_err(io_err(&format!("listen tcp {listen}")))?;
        poll.registry()
            .register(&mut l, LISTENER, Interest::READABLE)
            .map_err(io_err("register"))?;
        listener = Some(l);
    } else {
        let mut s = UdpSocket::bind(listen).map_err(io_err(&format!("listen udp {listen}")))?;
        poll.registry()
            .register(&mut s, UDP, Interest::READABLE)
            .map_err(io_err("register"))?;
        udp = Some(s);
    }
    eprintln!(
        "collect: listening on {} {listen}",
        if tcp { "tcp" } else { "udp" }
    );

    let mut conns: HashMap<Token, (TcpStream, SocketAddr, StreamFramer)> = HashMap::new();
    let mut next_conn = FIRST_CONN;
    let mut events = Events::with_capacity(64);
    let mut datagram = vec![0u8; 65_536];
    let mut chunk = vec![0u8; 65_536];
    'run: loop {
        match poll.poll(&mut events, Some(Duration::from_secs(1))) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err("poll")(e)),
        }
        for ev in events.iter() {
            match ev.token() {
                SIGNALS => {
                    if let Ok(Some(Signal::Stop)) = signals.read() {
                        break 'run;
                    }
                }
                UDP => {
                    let Some(sock) = udp.as_ref() else { continue };
                    loop {
                        let (n, from) = match sock.recv_from(&mut datagram) {
                            Ok(x) => x,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            Err(e) => return Err(io_err("recv")(e)),
                        };
                        match reader.handle_message(from, &datagram[..n]) {
                            Ok(msg) => {
                                if printer.message(from, &msg).map_err(io_err("stdout"))? {
                                    break 'run;
                                }
                            }
                            Err(e) => {
                                printer.summary.errors += 1;
                                eprintln!("collect: undecodable message from {from}: {e}");
                            }
                        }
                    }
                }
                LISTENER => {
                    let Some(l) = listener.as_ref() else { continue };
                    loop {
                        match l.accept() {
                            Ok((mut s, peer)) => {
                                let t = Token(next_conn);
                                next_conn += 1;
                                poll.registry()
                                    .register(&mut s, t, Interest::READABLE)
                                    .map_err(io_err("register"))?;
                                eprintln!("collect: tcp exporter connected from {peer}");
                                conns.insert(t, (s, peer, StreamFramer::new()));
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => return Err(io_err("accept")(e)),
                        }
                    }
                }
                t => {
                    let mut closed = false;
                    if let Some((s, peer, framer)) = conns.get_mut(&t) {
                        loop {
                            match s.read(&mut chunk) {
                                Ok(0) => {
                                    closed = true;
                                    break;
                                }
                                Ok(n) => framer.feed(&chunk[..n]),
                                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                                Err(_) => {
                                    closed = true;
                                    break;
                                }
                            }
                        }
                        while let Some(m) = framer.next_message() {
                            match m {
                                Ok(bytes) => match reader.handle_message(*peer, bytes) {
                                    Ok(msg) => {
                                        if printer.message(*peer, &msg).map_err(io_err("stdout"))? {
                                            break 'run;
                                        }
                                    }
                                    Err(e) => {
                                        printer.summary.errors += 1;
                                        eprintln!("collect: undecodable message from {peer}: {e}");
                                    }
                                },
                                Err(e) => {
                                    printer.summary.errors += 1;
                                    eprintln!(
                                        "collect: broken IPFIX stream from {peer}: {e}; closing it"
                                    );
                                    closed = true;
                                    break;
                                }
                            }
                        }
                        if closed {
                            eprintln!("collect: tcp exporter {peer} disconnected");
                        }
                    }
                    if closed && let Some((mut s, _, _)) = conns.remove(&t) {
                        let _ = poll.registry().deregister(&mut s);
                    }
                }
            }
        }
    }
    let s = &printer.summary;
    eprintln!(
        "collect: {} messages, {} flow records, {} options records, {} sequence gaps, {} undecodable",
        s.messages, s.flows, s.options, s.gaps, s.errors
    );
    Ok(())
}
