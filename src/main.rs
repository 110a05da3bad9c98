//! `vpcflow-ipfix`: argv → subcommand, exit codes. The only place that reads the environment.

use std::process::ExitCode;

use vpcflow_ipfix::cli::env::AwsEnv;
use vpcflow_ipfix::cli::{self, CliError};
use vpcflow_ipfix::driver::logger;

const USAGE: &str = "\
vpcflow-ipfix: AWS VPC Flow Logs to IPFIX, one exporter per VPC

Usage:
  vpcflow-ipfix run      [--config FILE]       the agent: S3+SQS, CloudWatch Logs and Kinesis inputs
                                               to IPFIX (default config /etc/vpcflow-ipfix.conf)
  vpcflow-ipfix replay   [options] FILE...|-   local .log/.log.gz flow logs (or stdin) to IPFIX
  vpcflow-ipfix collect  [options]             a small IPFIX collector that prints decoded records
  vpcflow-ipfix check-config FILE              validate a config file
  vpcflow-ipfix check-aws [--config FILE]      verify AWS access: accounts, regions, IAM permissions
  vpcflow-ipfix discover [options]             find VPCs, flow logs, streams, log groups and buckets;
                                               print the [exporter] and [input] sections to paste
  vpcflow-ipfix help COMMAND                   options of a command

Global options (before the command): --log-level error|warn|info|debug|trace (or VPCFLOW_LOG)";

fn main() -> ExitCode {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    let mut level = std::env::var("VPCFLOW_LOG").ok();
    if argv.first().map(String::as_str) == Some("--log-level") && argv.len() >= 2 {
        level = Some(argv[1].clone());
        argv.drain(..2);
    }
    let level = match level.as_deref().map(logger::parse_level) {
        None => log::LevelFilter::Info,
        Some(Some(l)) => l,
        Some(None) => {
            eprintln!(
                "vpcflow-ipfix: bad log level {level:?} (error, warn, info, debug, trace, off)"
            );
            return ExitCode::from(2);
        }
    };
    logger::init(level);
    // The AWS environment is read here, once; commands get it as a value.
    let aws_env = AwsEnv::from_vars(|name| std::env::var(name).ok());
    if argv.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let command = argv.remove(0);
    let wants_help = argv.iter().any(|a| a == "--help" || a == "-h");
    let result = match command.as_str() {
        "-h" | "--help" => {
            say(USAGE);
            Ok(())
        }
        "-V" | "--version" => {
            say(concat!("vpcflow-ipfix ", env!("CARGO_PKG_VERSION")));
            Ok(())
        }
        "help" => match argv.first().map(String::as_str) {
            Some("run") => {
                say(cli::run::HELP);
                Ok(())
            }
            Some("collect") => {
                say(cli::collect::HELP);
                Ok(())
            }
            Some("replay") => {
                say(cli::replay::HELP);
                Ok(())
            }
            Some("check-config") => {
                say(cli::check_config::HELP);
                Ok(())
            }
            Some("check-aws") => {
                say(cli::check_aws::HELP);
                Ok(())
            }
            Some("discover") => {
                say(cli::discover::HELP);
                Ok(())
            }
            _ => {
                say(USAGE);
                Ok(())
            }
        },
        "run" if wants_help => {
            say(cli::run::HELP);
            Ok(())
        }
        "run" => cli::run::run(argv, &aws_env),
        "collect" if wants_help => {
            say(cli::collect::HELP);
            Ok(())
        }
        "collect" => cli::collect::run(argv),
        "replay" if wants_help => {
            say(cli::replay::HELP);
            Ok(())
        }
        "replay" => cli::replay::run(argv),
        "check-config" if wants_help => {
            say(cli::check_config::HELP);
            Ok(())
        }
        "check-config" => cli::check_config::run(argv),
        "check-aws" if wants_help => {
            say(cli::check_aws::HELP);
            Ok(())
        }
        "check-aws" => cli::check_aws::run(argv, &aws_env),
        "discover" if wants_help => {
            say(cli::discover::HELP);
            Ok(())
        }
        "discover" => cli::discover::run(argv, &aws_env),
        other => Err(CliError::Usage(format!(
            "unknown command {other:?}\n{USAGE}"
        ))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vpcflow-ipfix {command}: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Prints help text; a closed stdout (`… | head`) is not an error worth a panic.
fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}
