//! The subcommands: each file parses its own options and drives the sans-IO core.

pub mod accounts;
pub mod args;
pub mod check_aws;
pub mod check_config;
pub mod collect;
pub mod discover;
pub mod env;
pub mod replay;
pub mod run;

use std::fmt;

/// How a command failed: a usage error (exit 2) or a runtime error (exit 1). The text is one
/// clear line: what, where, what to do.
#[derive(Debug)]
pub enum CliError {
    Usage(String),
    Runtime(String),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Runtime(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CliError {}

impl From<args::ArgsError> for CliError {
    fn from(e: args::ArgsError) -> Self {
        CliError::Usage(e.0)
    }
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Runtime(_) => 1,
        }
    }
}
