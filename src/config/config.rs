//! The agent's configuration: typed, validated, with line-numbered errors.
//!
//! The file is INI in the dialect of `~/.aws/config` (parsed by `config::ini`). Every setting of
//! the seed (NetFlow Optimizer's EDFN agent) has a key here; design.md lists them. This module
//! only turns text into values: it reads no files and no environment (main.rs does), so a config
//! can be checked anywhere (`check-config`) and built in tests from a string.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::fmt;
use std::time::Duration;

use super::ini::{self, Entry, Section};

/// AWS's own limits for the settings the seed exposes.
pub mod limits {
    use std::time::Duration;
    /// STS AssumeRole `DurationSeconds`: 900..=43200 (seed: "from 15 minutes to 12 hours").
    pub const SESSION_MIN: Duration = Duration::from_secs(900);
    pub const SESSION_MAX: Duration = Duration::from_secs(43_200);
    /// Seed: "Valid values are from 1 second to 1 day".
    pub const CWL_INTERVAL_MIN: Duration = Duration::from_secs(1);
    pub const CWL_INTERVAL_MAX: Duration = Duration::from_secs(86_400);
    /// The largest IPFIX message that fits in one UDP datagram over IPv4 (65535 − 20 − 8).
    pub const MAX_PACKET_SIZE: usize = 65_507;
    /// Smaller than this cannot hold a message header, a template and one record.
    pub const MIN_PACKET_SIZE: usize = 256;
    /// Upper bound on parallel S3 objects: each holds a decoder and a line buffer.
    pub const S3_CONCURRENCY_MAX: usize = 64;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartPosition {
    Latest,
    TrimHorizon,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricsLevel {
    None,
    Summary,
    Detailed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// How a collector learns which VPC ("exporter") a record belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExporterIdentity {
    /// exporterIPv4Address (IE 130) in every data record; one socket for all VPCs (default).
    Element,
    /// Each VPC's UDP socket is bound to its exporter IP, so the datagram's source address says it
    /// (nfdump and ElastiFlow key on the source address). The address must be local.
    Bind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleSpec {
    pub arn: String,
    pub external_id: Option<String>,
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExporterSpec {
    pub vpc_id: String,
    pub ip: Option<Ipv4Addr>,
    pub domain_id: Option<u32>,
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// `kinesis:arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`
    Kinesis { arn: String },
    /// `cwl:arn:aws:logs:REGION:ACCOUNT:log-group:NAME`
    CloudWatch { arn: String },
    /// `s3:arn:aws:s3:::BUCKET` with the queue its notifications go to.
    S3 { bucket: String, queue_url: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputSpec {
    pub kind: InputKind,
    pub enabled: bool,
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    // [agent]
    pub state_dir: String,
    pub inventory_refresh: String,
    pub status_interval: Duration,
    // [aws]
    pub credentials_file: Option<String>,
    pub aws_config_file: Option<String>,
    pub roles: Vec<RoleSpec>,
    pub session_duration: Duration,
    pub regions: Vec<String>,
    pub ca_bundle: String,
    pub ip_ranges_file: Option<String>,
    // [cloudwatch]
    pub cwl_request_interval: Duration,
    pub cwl_initial_position: StartPosition,
    // [s3]
    pub s3_concurrency: usize,
    // [kinesis]
    pub kinesis_initial_position: StartPosition,
    pub kinesis_metrics_level: MetricsLevel,
    pub kinesis_enhanced_fan_out: bool,
    // [ipfix]
    pub collectors: Vec<SocketAddr>,
    pub transport: Transport,
    pub max_packet_size: usize,
    /// UDP: send runs of equal-length datagrams as one segmented send (Linux UDP GSO).
    pub udp_gso: bool,
    pub rate_limit: u32,
    pub template_refresh: Duration,
    pub enterprise_number: u32,
    pub exporter_identity: ExporterIdentity,
    pub exporter_pool: Option<(Ipv4Addr, u8)>,
    // [exporter vpc-…]
    pub exporters: Vec<ExporterSpec>,
    // [input …]
    pub inputs: Vec<InputSpec>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            state_dir: "/var/lib/vpcflow-ipfix".into(),
            inventory_refresh: "0 */4 * * *".into(),
            status_interval: Duration::from_secs(60),
            credentials_file: None,
            aws_config_file: None,
            roles: Vec::new(),
            session_duration: Duration::from_secs(3600),
            regions: Vec::new(),
            ca_bundle: "/etc/ssl/certs/ca-certificates.crt".into(),
            ip_ranges_file: None,
            cwl_request_interval: Duration::from_secs(30),
            cwl_initial_position: StartPosition::Latest,
            s3_concurrency: 2,
            kinesis_initial_position: StartPosition::Latest,
            kinesis_metrics_level: MetricsLevel::None,
            kinesis_enhanced_fan_out: false,
            collectors: vec![SocketAddr::from(([127, 0, 0, 1], 4739))],
            transport: Transport::Udp,
            max_packet_size: 1400,
            udp_gso: true,
            rate_limit: 0,
            template_refresh: Duration::from_secs(600),
            enterprise_number: 32473,
            exporter_identity: ExporterIdentity::Element,
            exporter_pool: None,
            exporters: Vec::new(),
            inputs: Vec::new(),
        }
    }
}

/// One problem in a config file, with the line it is on (0 = the file as a whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

fn err(line: usize, message: impl Into<String>) -> ConfigError {
    ConfigError {
        line,
        message: message.into(),
    }
}

impl Config {
    /// Parses and validates a whole config file. Every error found is returned, not just the first,
    /// so `check-config` can list them all.
    pub fn parse(text: &str) -> Result<Config, Vec<ConfigError>> {
        let ini = ini::parse(text).map_err(|e| vec![err(e.line, e.message.to_string())])?;
        let mut cfg = Config::default();
        let mut errors = Vec::new();
        let mut collectors_set = false;
        for section in &ini.sections {
            let name = section.name;
            let result = if name.is_empty() {
                section.entries.first().map_or(Ok(()), |e| {
                    Err(err(e.line, "setting outside any [section]"))
                })
            } else if name == "agent" {
                cfg.apply_agent(section, &mut errors)
            } else if name == "aws" {
                cfg.apply_aws(section, &mut errors)
            } else if name == "cloudwatch" {
                cfg.apply_cloudwatch(section, &mut errors)
            } else if name == "s3" {
                cfg.apply_s3(section, &mut errors)
            } else if name == "kinesis" {
                cfg.apply_kinesis(section, &mut errors)
            } else if name == "ipfix" {
                cfg.apply_ipfix(section, &mut collectors_set, &mut errors)
            } else if let Some(vpc) = name.strip_prefix("exporter ") {
                cfg.apply_exporter(vpc.trim(), section, &mut errors)
            } else if let Some(input) = name.strip_prefix("input ") {
                cfg.apply_input(input.trim(), section, &mut errors)
            } else {
                Err(err(
                    section.line,
                    format!(
                        "unknown section [{name}] (known: agent, aws, cloudwatch, s3, kinesis, ipfix, exporter vpc-…, input …)"
                    ),
                ))
            };
            if let Err(e) = result {
                errors.push(e);
            }
        }
        cfg.check_whole(&mut errors);
        if errors.is_empty() {
            Ok(cfg)
        } else {
            errors.sort_by_key(|e| e.line);
            Err(errors)
        }
    }

    fn apply_agent(
        &mut self,
        s: &Section<'_>,
        errors: &mut Vec<ConfigError>,
    ) -> Result<(), ConfigError> {
        for e in &s.entries {
            let r = match e.key {
                "state_dir" => nonempty(e).map(|v| self.state_dir = v.into()),
                "inventory_refresh" => nonempty(e)
                    .and_then(|v| {
                        crate::inventory::cron::Cron::parse(v)
                            .map_err(|c| err(e.line, format!("inventory_refresh: {c}")))?;
                        Ok(v)
                    })
                    .map(|v| self.inventory_refresh = v.into()),
                "status_interval" => {
                    parse_duration_in(e, Duration::from_secs(1), Duration::from_secs(86_400))
                        .map(|d| self.status_interval = d)
                }
                _ => Err(unknown_key(e, "agent")),
            };
            collect(r, errors);
        }
        Ok(())
    }

    fn apply_aws(
        &mut self,
        s: &Section<'_>,
        errors: &mut Vec<ConfigError>,
    ) -> Result<(), ConfigError> {
        for e in &s.entries {
            let r = match e.key {
                "credentials_file" => {
                    self.credentials_file = optional(e.value);
                    Ok(())
                }
                "config_file" => {
                    self.aws_config_file = optional(e.value);
                    Ok(())
                }
                "role" => parse_role(e).map(|r| self.roles.push(r)),
                "session_duration" => {
                    parse_duration_in(e, limits::SESSION_MIN, limits::SESSION_MAX)
                        .map(|d| self.session_duration = d)
                }
                "regions" => {
                    self.regions = split_list(e.value);
                    Ok(())
                }
                "ca_bundle" => nonempty(e).map(|v| self.ca_bundle = v.into()),
                "ip_ranges_file" => {
                    self.ip_ranges_file = optional(e.value);
                    Ok(())
                }
                _ => Err(unknown_key(e, "aws")),
            };
            collect(r, errors);
        }
        Ok(())
    }

    fn apply_cloudwatch(
        &mut self,
        s: &Section<'_>,
        errors: &mut Vec<ConfigError>,
    ) -> Result<(), ConfigError> {
        for e in &s.entries {
            let r = match e.key {
                "request_interval" => {
                    parse_duration_in(e, limits::CWL_INTERVAL_MIN, limits::CWL_INTERVAL_MAX)
                        .map(|d| self.cwl_request_interval = d)
                }
                "initial_position" => parse_position(e).map(|p| self.cwl_initial_position = p),
                _ => Err(unknown_key(e, "cloudwatch")),
            };
            collect(r, errors);
        }
        Ok(())
    }

    fn apply_s3(
        &mut self,
        s: &Section<'_>,
        errors: &mut Vec<ConfigError>,
    ) -> Result<(), ConfigError> {
        for e in &s.entries {
            let r = match e.key {
                "concurrency" => parse_int_in(e, 1, limits::S3_CONCURRENCY_MAX as u64)
                    .map(|n| self.s3_concurrency = n as usize),
                _ => Err(unknown_key(e, "s3")),
            };
            collect(r, errors);
        }
        Ok(())
    }

    fn apply_kinesis(
        &mut self,
        s: &Section<'_>,
        errors: &mut Vec<ConfigError>,
    ) -> Result<(), ConfigError> {
        for e in &s.entries {
            let r = match e.key {
                "initial_position" => parse_position(e).map(|p| self.kinesis_initial_position = p),
                "metrics_level" => match e.value.to_ascii_uppercase().as_str() {
                    "NONE" => Ok(MetricsLevel::None),
                    "SUMMARY" => Ok(MetricsLevel::Summary),
                    "DETAILED" => Ok(MetricsLevel::Detailed),
                    _ => Err(bad_value(e, "NONE, SUMMARY or DETAILED")),
                }
                .map(|m| self.kinesis_metrics_level = m),
                "enhanced_fan_out" => parse_bool(e).map(|b| self.kinesis_enhanced_fan_out = b),
                _ => Err(unknown_key(e, "kinesis")),
            };
            collect(r, errors);
        }
        Ok(())
    }

    fn apply_ipfix(
        &mut self,
        s: &Section<'_>,
        collectors_set: &mut bool,
        errors: &mut Vec<ConfigError>,
    ) -> Result<(), ConfigError> {
        for e in &s.entries {
            let r = match e.key {
                "collector" => parse_socket_addr(e).map(|a| {
                    if !*collectors_set {
                        self.collectors.clear();
                        *collectors_set = true;
                    }
                    self.collectors.push(a)
                }),
                "transport" => match e.value.to_ascii_lowercase().as_str() {
                    "udp" => Ok(Transport::Udp),
                    "tcp" => Ok(Transport::Tcp),
                    _ => Err(bad_value(e, "udp or tcp")),
                }
                .map(|t| self.transport = t),
                "max_packet_size" => parse_int_in(
                    e,
                    limits::MIN_PACKET_SIZE as u64,
                    limits::MAX_PACKET_SIZE as u64,
                )
                .map(|n| self.max_packet_size = n as usize),
                "udp_gso" => parse_bool(e).map(|b| self.udp_gso = b),
                "rate_limit" => {
                    parse_int_in(e, 0, u32::MAX as u64).map(|n| self.rate_limit = n as u32)
                }
                "template_refresh" => {
                    parse_duration_in(e, Duration::from_secs(1), Duration::from_secs(86_400))
                        .map(|d| self.template_refresh = d)
                }
                "enterprise_number" => {
                    parse_int_in(e, 1, u32::MAX as u64).map(|n| self.enterprise_number = n as u32)
                }
                "exporter_identity" => match e.value.to_ascii_lowercase().as_str() {
                    "element" | "ie130" => Ok(ExporterIdentity::Element),
                    "bind" => Ok(ExporterIdentity::Bind),
                    _ => Err(bad_value(
                        e,
                        "element (IE 130 in each record) or bind (source address)",
                    )),
                }
                .map(|m| self.exporter_identity = m),
                "exporter_pool" => parse_cidr(e).map(|p| self.exporter_pool = Some(p)),
                _ => Err(unknown_key(e, "ipfix")),
            };
            collect(r, errors);
        }
        Ok(())
    }

    fn apply_exporter(
        &mut self,
        vpc: &str,
        s: &Section<'_>,
        errors: &mut Vec<ConfigError>,
    ) -> Result<(), ConfigError> {
        if !is_vpc_id(vpc) {
            return Err(err(
                s.line,
                format!("[exporter {vpc}]: expected a VPC id like vpc-0a1b2c3d4e5f60718"),
            ));
        }
        let mut spec = ExporterSpec {
            vpc_id: vpc.to_string(),
            ip: None,
            domain_id: None,
            line: s.line,
        };
        for e in &s.entries {
            let r = match e.key {
                "ip" => match e.value.parse::<IpAddr>() {
                    Ok(IpAddr::V4(a)) => {
                        spec.ip = Some(a);
                        Ok(())
                    }
                    _ => Err(bad_value(e, "an IPv4 address")),
                },
                "domain_id" => {
                    parse_int_in(e, 1, u32::MAX as u64).map(|n| spec.domain_id = Some(n as u32))
                }
                _ => Err(unknown_key(e, "exporter")),
            };
            collect(r, errors);
        }
        self.exporters.push(spec);
        Ok(())
    }

    fn apply_input(
        &mut self,
        id: &str,
        s: &Section<'_>,
        errors: &mut Vec<ConfigError>,
    ) -> Result<(), ConfigError> {
        let mut enabled = true;
        let mut queue = None;
        for e in &s.entries {
            let r = match e.key {
                "enabled" => parse_bool(e).map(|b| enabled = b),
                "queue" => nonempty(e).map(|v| queue = Some(v.to_string())),
                _ => Err(unknown_key(e, "input")),
            };
            collect(r, errors);
        }
        let kind = if let Some(arn) = id.strip_prefix("kinesis:") {
            if !arn.starts_with("arn:") || !arn.contains(":stream/") {
                return Err(err(
                    s.line,
                    format!(
                        "[input {id}]: expected kinesis:arn:aws:kinesis:REGION:ACCOUNT:stream/NAME"
                    ),
                ));
            }
            InputKind::Kinesis {
                arn: arn.to_string(),
            }
        } else if let Some(arn) = id.strip_prefix("cwl:") {
            if !arn.starts_with("arn:") || !arn.contains(":log-group:") {
                return Err(err(
                    s.line,
                    format!(
                        "[input {id}]: expected cwl:arn:aws:logs:REGION:ACCOUNT:log-group:NAME"
                    ),
                ));
            }
            InputKind::CloudWatch {
                arn: arn.trim_end_matches(":*").to_string(),
            }
        } else if let Some(arn) = id.strip_prefix("s3:") {
            let bucket = arn
                .strip_prefix("arn:aws:s3:::")
                .or_else(|| arn.strip_prefix("arn:aws-cn:s3:::"))
                .or_else(|| arn.strip_prefix("arn:aws-us-gov:s3:::"));
            let Some(bucket) = bucket.filter(|b| !b.is_empty() && !b.contains('/')) else {
                return Err(err(
                    s.line,
                    format!("[input {id}]: expected s3:arn:aws:s3:::BUCKET"),
                ));
            };
            let Some(queue_url) = queue else {
                return Err(err(
                    s.line,
                    format!(
                        "[input {id}]: `queue = https://sqs.REGION.amazonaws.com/ACCOUNT/NAME` is required"
                    ),
                ));
            };
            InputKind::S3 {
                bucket: bucket.to_string(),
                queue_url,
            }
        } else {
            return Err(err(
                s.line,
                format!("[input {id}]: expected kinesis:ARN, cwl:ARN or s3:ARN"),
            ));
        };
        if queue_is_misplaced(&kind, s) {
            return Err(err(
                s.line,
                format!("[input {id}]: `queue` only applies to s3 inputs"),
            ));
        }
        self.inputs.push(InputSpec {
            kind,
            enabled,
            line: s.line,
        });
        Ok(())
    }

    /// Checks that need the whole file: duplicates and cross-section rules.
    fn check_whole(&self, errors: &mut Vec<ConfigError>) {
        for (i, a) in self.exporters.iter().enumerate() {
            for b in &self.exporters[..i] {
                if a.vpc_id == b.vpc_id {
                    errors.push(err(
                        a.line,
                        format!("[exporter {}] is also at line {}", a.vpc_id, b.line),
                    ));
                }
                if a.ip.is_some() && a.ip == b.ip {
                    errors.push(err(
                        a.line,
                        format!(
                            "exporter ip {} is also used at line {}",
                            a.ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                            b.line
                        ),
                    ));
                }
                if a.domain_id.is_some() && a.domain_id == b.domain_id {
                    errors.push(err(
                        a.line,
                        format!(
                            "domain_id {} is also used at line {}",
                            a.domain_id.unwrap_or(0),
                            b.line
                        ),
                    ));
                }
            }
        }
        for (i, a) in self.inputs.iter().enumerate() {
            if let Some(b) = self.inputs[..i].iter().find(|b| b.kind == a.kind) {
                errors.push(err(
                    a.line,
                    format!("this input is also configured at line {}", b.line),
                ));
            }
        }
        if self.exporter_identity == ExporterIdentity::Bind && self.transport == Transport::Tcp {
            errors.push(err(
                0,
                "[ipfix] exporter_identity = bind needs transport = udp (one UDP socket per VPC)",
            ));
        }
    }

    /// The exporter spec of a VPC, if the config names one.
    pub fn exporter_for(&self, vpc_id: &str) -> Option<&ExporterSpec> {
        self.exporters.iter().find(|e| e.vpc_id == vpc_id)
    }
}

fn queue_is_misplaced(kind: &InputKind, s: &Section<'_>) -> bool {
    !matches!(kind, InputKind::S3 { .. }) && s.entries.iter().any(|e| e.key == "queue")
}

fn collect(r: Result<(), ConfigError>, errors: &mut Vec<ConfigError>) {
    if let Err(e) = r {
        errors.push(e);
    }
}

fn unknown_key(e: &Entry<'_>, section: &str) -> ConfigError {
    err(e.line, format!("unknown key `{}` in [{section}]", e.key))
}

fn bad_value(e: &Entry<'_>, expected: &str) -> ConfigError {
    err(
        e.line,
        format!("{} = {:?}: expected {expected}", e.key, e.value),
    )
}

fn nonempty<'a>(e: &Entry<'a>) -> Result<&'a str, ConfigError> {
    if e.value.is_empty() {
        Err(bad_value(e, "a value"))
    } else {
        Ok(e.value)
    }
}

fn optional(v: &str) -> Option<String> {
    if v.is_empty() {
        None
    } else {
        Some(v.to_string())
    }
}

fn split_list(v: &str) -> Vec<String> {
    v.split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn parse_bool(e: &Entry<'_>) -> Result<bool, ConfigError> {
    match e.value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(bad_value(e, "true or false")),
    }
}

fn parse_position(e: &Entry<'_>) -> Result<StartPosition, ConfigError> {
    match e.value.to_ascii_uppercase().as_str() {
        "LATEST" => Ok(StartPosition::Latest),
        "TRIM_HORIZON" => Ok(StartPosition::TrimHorizon),
        _ => Err(bad_value(e, "LATEST or TRIM_HORIZON")),
    }
}

fn parse_int_in(e: &Entry<'_>, min: u64, max: u64) -> Result<u64, ConfigError> {
    match e.value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(bad_value(e, &format!("a whole number from {min} to {max}"))),
    }
}

fn parse_duration_in(e: &Entry<'_>, min: Duration, max: Duration) -> Result<Duration, ConfigError> {
    let d = parse_duration(e.value)
        .ok_or_else(|| bad_value(e, "a duration such as 30s, 15m, 1h or 1d"))?;
    if d < min || d > max {
        return Err(err(
            e.line,
            format!(
                "{} = {}: must be from {} to {}",
                e.key,
                e.value,
                fmt_duration(min),
                fmt_duration(max)
            ),
        ));
    }
    Ok(d)
}

/// `30s`, `15m`, `1h`, `1d`, `1h30m`, `500ms`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            "d" => Duration::from_secs(n.checked_mul(86_400)?),
            _ => return None,
        };
        total = total.checked_add(part)?;
    }
    Some(total)
}

/// The shortest exact form: `1d`, `12h`, `15m`, `30s`, `250ms`.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    let secs = d.as_secs();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else if secs != 0 && secs.is_multiple_of(86_400) {
        format!("{}d", secs / 86_400)
    } else if secs != 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs != 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

fn parse_role(e: &Entry<'_>) -> Result<RoleSpec, ConfigError> {
    // The seed's list form: `arn:aws:iam::999999999997:role/Role2,externalID-2` (a trailing comma
    // from a pasted multi-line list is tolerated).
    let v = e.value.trim().trim_end_matches(',');
    let (arn, external_id) = match v.split_once(',') {
        Some((a, x)) => (a.trim(), Some(x.trim())),
        None => (v, None),
    };
    let is_role_arn =
        arn.starts_with("arn:") && arn.split(':').nth(2) == Some("iam") && arn.contains(":role/");
    if !is_role_arn {
        return Err(bad_value(
            e,
            "a role ARN like arn:aws:iam::999999999999:role/Role1, optionally followed by `, EXTERNAL_ID`",
        ));
    }
    if let Some(x) = external_id {
        // STS AssumeRole ExternalId: 2..=1224 chars of [\w+=,.@:/-].
        let ok = (2..=1224).contains(&x.len())
            && x.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b));
        if !ok {
            return Err(bad_value(
                e,
                "an external id of 2 to 1224 characters from [A-Za-z0-9_+=,.@:/-]",
            ));
        }
    }
    Ok(RoleSpec {
        arn: arn.to_string(),
        external_id: external_id.filter(|x| !x.is_empty()).map(str::to_string),
        line: e.line,
    })
}

fn parse_socket_addr(e: &Entry<'_>) -> Result<SocketAddr, ConfigError> {
    let v = e.value.trim();
    if let Ok(a) = v.parse::<SocketAddr>() {
        return Ok(a);
    }
    // A bare address gets the IPFIX port (RFC 7011 §10: 4739).
    if let Ok(ip) = v.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 4739));
    }
    Err(bad_value(
        e,
        "ADDRESS:PORT, e.g. 127.0.0.1:4739 or [::1]:4739",
    ))
}

fn parse_cidr(e: &Entry<'_>) -> Result<(Ipv4Addr, u8), ConfigError> {
    let bad = || bad_value(e, "an IPv4 block like 10.255.0.0/16");
    let (addr, len) = e.value.split_once('/').ok_or_else(bad)?;
    let addr: Ipv4Addr = addr.trim().parse().map_err(|_| bad())?;
    let len: u8 = len.trim().parse().map_err(|_| bad())?;
    if !(8..=30).contains(&len) {
        return Err(bad_value(e, "a prefix length from /8 to /30"));
    }
    Ok((addr, len))
}

fn is_vpc_id(s: &str) -> bool {
    s.strip_prefix("vpc-")
        .is_some_and(|h| !h.is_empty() && h.len() <= 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example config of design.md, verbatim.
    const DESIGN_EXAMPLE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/config/design-example.ini"
    ));

    #[test]
    fn the_design_example_parses_to_its_values() {
        let c = Config::parse(DESIGN_EXAMPLE).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(c.state_dir, "/var/lib/vpcflow-ipfix");
        assert_eq!(c.inventory_refresh, "0 */4 * * *");
        assert_eq!(
            c.credentials_file.as_deref(),
            Some("/root/.aws/credentials")
        );
        assert_eq!(c.roles.len(), 2);
        assert_eq!(c.roles[1].arn, "arn:aws:iam::999999999997:role/Role2");
        assert_eq!(c.roles[1].external_id.as_deref(), Some("externalID-2"));
        assert_eq!(c.roles[0].external_id, None);
        assert_eq!(c.session_duration, Duration::from_secs(3600));
        assert_eq!(c.cwl_request_interval, Duration::from_secs(30));
        assert_eq!(c.s3_concurrency, 2);
        assert_eq!(c.kinesis_metrics_level, MetricsLevel::None);
        assert!(!c.kinesis_enhanced_fan_out);
        assert_eq!(
            c.collectors,
            vec!["127.0.0.1:4739".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(c.max_packet_size, 1400);
        assert!(c.udp_gso);
        assert_eq!(c.template_refresh, Duration::from_secs(600));
        assert_eq!(c.exporters.len(), 1);
        assert_eq!(c.exporters[0].vpc_id, "vpc-0a1b2c3d4e5f60718");
        assert_eq!(c.exporters[0].ip, Some(Ipv4Addr::new(10, 255, 0, 1)));
        assert_eq!(c.exporters[0].domain_id, Some(1001));
        assert_eq!(c.inputs.len(), 3);
        assert!(
            matches!(&c.inputs[2].kind, InputKind::S3 { bucket, queue_url }
            if bucket == "my-flow-bucket" && queue_url.ends_with("/123456789012/flowlogs"))
        );
    }

    #[test]
    fn errors_name_their_lines_and_all_are_reported() {
        let text = "[cloudwatch]\nrequest_interval = 2d\n[aws]\nsession_duration = 10m\nrole = not-an-arn\n[ipfix]\nmax_packet_size = 70000\nbogus = 1\n[s3]\nconcurrency = 0\n";
        let errs = Config::parse(text).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 4, 5, 7, 8, 10], "{errs:?}");
        assert!(errs[0].to_string().contains("from 1s to 1d"), "{}", errs[0]);
        assert!(
            errs[1].to_string().contains("from 15m to 12h"),
            "{}",
            errs[1]
        );
    }

    #[test]
    fn udp_gso_is_a_boolean() {
        assert!(!Config::parse("[ipfix]\nudp_gso = false\n").unwrap().udp_gso);
        let errs = Config::parse("[ipfix]\nudp_gso = maybe\n").unwrap_err();
        assert_eq!(errs[0].line, 2, "{errs:?}");
    }

    #[test]
    fn inventory_refresh_is_a_cron_schedule() {
        let ok = Config::parse("[agent]\ninventory_refresh = * * * * *\n").unwrap();
        assert_eq!(ok.inventory_refresh, "* * * * *");
        let errs = Config::parse("[agent]\nstate_dir = /tmp\ninventory_refresh = 61 * * * *\n")
            .unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].line, 3);
        assert!(
            errs[0].to_string().contains("inventory_refresh"),
            "{}",
            errs[0]
        );
    }

    #[test]
    fn session_duration_bounds_are_inclusive() {
        for (v, ok) in [
            ("15m", true),
            ("12h", true),
            ("899s", false),
            ("43201", false),
            ("1h30m", true),
        ] {
            let r = Config::parse(&format!("[aws]\nsession_duration = {v}\n"));
            assert_eq!(r.is_ok(), ok, "{v}: {r:?}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("600"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("1w"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(fmt_duration(Duration::from_secs(43_200)), "12h");
    }

    #[test]
    fn duplicates_are_refused() {
        let text = "[exporter vpc-01]\nip = 10.0.0.1\ndomain_id = 5\n[exporter vpc-02]\nip = 10.0.0.1\ndomain_id = 5\n";
        let errs = Config::parse(text).unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
    }

    #[test]
    fn s3_input_needs_a_queue_and_a_bucket_arn() {
        assert!(Config::parse("[input s3:arn:aws:s3:::b]\nenabled = true\n").is_err());
        assert!(Config::parse("[input s3:arn:aws:s3:::b/prefix]\nqueue = https://q\n").is_err());
        assert!(
            Config::parse("[input cwl:arn:aws:logs:us-east-1:1:log-group:g]\nqueue = https://q\n")
                .is_err()
        );
        let c =
            Config::parse("[input cwl:arn:aws:logs:us-east-1:1:log-group:g:*]\nenabled = false\n")
                .unwrap();
        assert_eq!(
            c.inputs[0].kind,
            InputKind::CloudWatch {
                arn: "arn:aws:logs:us-east-1:1:log-group:g".into()
            }
        );
        assert!(!c.inputs[0].enabled);
    }

    #[test]
    fn collector_without_port_gets_4739_and_first_one_replaces_the_default() {
        let c = Config::parse("[ipfix]\ncollector = 192.0.2.1\ncollector = [::1]:9995\n").unwrap();
        assert_eq!(
            c.collectors,
            vec![
                "192.0.2.1:4739".parse::<SocketAddr>().unwrap(),
                "[::1]:9995".parse().unwrap()
            ]
        );
    }
}
