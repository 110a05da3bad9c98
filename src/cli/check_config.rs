//! `vpcflow-ipfix check-config FILE`: parse and validate a config file; list every problem
//! with its line number, or print the settings in effect.

use super::CliError;
use crate::config::config::{Config, Transport, fmt_duration};

pub const HELP: &str = "\
vpcflow-ipfix check-config FILE

Validates a configuration file. Every problem is listed with its line number (exit 2);
a valid file prints a summary of the settings in effect (exit 0).";

pub fn run(argv: Vec<String>) -> Result<(), CliError> {
    let [path] = argv.as_slice() else {
        return Err(CliError::Usage(
            "check-config takes exactly one FILE".into(),
        ));
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| CliError::Runtime(format!("{path}: {e}")))?;
    let cfg = Config::parse(&text).map_err(|errs| {
        let lines: Vec<String> = errs
            .iter()
            .map(|e| format!("{path}:{}: {}", e.line, e.message))
            .collect();
        CliError::Usage(format!("{} problem(s):\n{}", errs.len(), lines.join("\n")))
    })?;
    println!("{path}: ok");
    println!("  state_dir            {}", cfg.state_dir);
    println!("  inventory_refresh    {}", cfg.inventory_refresh);
    println!(
        "  accounts             credentials file: {}, roles: {}, session {}",
        cfg.credentials_file
            .as_deref()
            .unwrap_or("(none: environment / instance role)"),
        cfg.roles.len(),
        fmt_duration(cfg.session_duration)
    );
    println!(
        "  cloudwatch           every {}, new streams from {:?}",
        fmt_duration(cfg.cwl_request_interval),
        cfg.cwl_initial_position
    );
    println!("  s3                   concurrency {}", cfg.s3_concurrency);
    println!(
        "  kinesis              new shards from {:?}, metrics {:?}, enhanced fan-out {}",
        cfg.kinesis_initial_position, cfg.kinesis_metrics_level, cfg.kinesis_enhanced_fan_out
    );
    let collectors: Vec<String> = cfg.collectors.iter().map(|c| c.to_string()).collect();
    println!(
        "  ipfix                {:?} to {}, max {} octets{}, rate {}, templates every {}, PEN {}",
        cfg.transport,
        collectors.join(", "),
        cfg.max_packet_size,
        match (cfg.transport, cfg.udp_gso) {
            (Transport::Udp, true) => " (GSO)",
            _ => "",
        },
        if cfg.rate_limit == 0 {
            "unlimited".to_string()
        } else {
            format!("{}/s", cfg.rate_limit)
        },
        fmt_duration(cfg.template_refresh),
        cfg.enterprise_number
    );
    println!("  exporters            {} configured", cfg.exporters.len());
    println!(
        "  inputs               {} ({} enabled)",
        cfg.inputs.len(),
        cfg.inputs.iter().filter(|i| i.enabled).count()
    );
    Ok(())
}
