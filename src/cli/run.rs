//! `vpcflow-ipfix run [--config FILE]`: the agent. Reads the config, finds the accounts and
//! their credentials (`cli/accounts.rs`), and runs sessions of the agent loop
//! (`driver/agent_loop.rs`) until a stop signal; SIGHUP ends one session gracefully and starts
//! the next with the config read again, in the same process.
//!
//! ```text
//!  read config + accounts ──► session ──SIGTERM/SIGINT──► exit 0
//!          ▲                    │ SIGHUP (config valid)
//!          └── next session ◄───┘
//! ```

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::path::Path;

use super::CliError;
use super::accounts;
use super::args::Args;
use super::env::AwsEnv;
use crate::agent::plan;
use crate::aws::client::AwsClient;
use crate::config::config::Config;
use crate::driver::agent_loop::{AgentLoop, Session, SessionEnd};
use crate::driver::signals::Signals;
use crate::driver::tls;

/// Where `run` looks for its configuration when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/vpcflow-ipfix.conf";

pub const HELP: &str = "\
vpcflow-ipfix run [--config FILE]

Runs the agent: reads VPC Flow Logs from every enabled [input ...] section of the config, all
at once, and exports them as IPFIX to the [ipfix] collectors, one exporter (observation domain)
per VPC:
  s3:arn:aws:s3:::BUCKET + queue = URL   objects announced on an SQS queue, streamed; a message
                                         is deleted once every record of its objects was sent
  cwl:arn:aws:logs:...:log-group:NAME    log streams polled every [cloudwatch] request_interval
                                         (not polled when the group is subscribed to an
                                         enabled Kinesis input: no duplicates)
  kinesis:arn:aws:kinesis:...:stream/S   the shards of a stream fed by a log subscription
Each input runs in the account of its ARN (or queue URL), with the credentials that act in that
account ([aws] credentials_file profiles, roles, environment keys or the instance role).

Enrichment: records carry the instance, VPC and subnet Name tags, the AZ, the AWS service and
Region of the remote address ([aws] ip_ranges_file; not downloaded) and the path (nat-gateway,
vpc-endpoint, peering, transit-gateway, internet-gateway, local, ...), from an inventory of every
account and region ([aws] regions limits them). It is discovered at start (state_dir/
inventory.json is used until then; without one the inputs wait for it, at most 60 s) and again
at every [agent] inventory_refresh (cron, UTC), without pausing the inputs; each refresh gives
new VPCs their exporter and names the domains.
[kinesis] metrics_level SUMMARY or DETAILED sends the Kinesis inputs' metrics to CloudWatch
(namespace vpcflow-ipfix/STREAM) every minute.

Options:
  --config FILE   the configuration (default /etc/vpcflow-ipfix.conf)

State, in [agent] state_dir (written atomically):
  checkpoints.json   where every input is: positions only advance once their records are on
                     every collector's socket, so a crash repeats at most the units in flight
  exporters.json     the observation domain id and exporter IP given to each VPC
  inventory.json     the last completed inventory (as `discover` writes it)
  status.json        per input lines in, records out, units acknowledged, errors and lag; per
                     collector messages, records and bytes; inventory refreshes (runs,
                     last completion, VPCs, ENIs); refreshed every 5 s
A one-line summary is logged every [agent] status_interval.

Signals:
  SIGTERM, SIGINT  stop: finish and acknowledge the work in flight, save state, exit 0 (at most
                   20 s; a second signal exits at once; state is saved either way)
  SIGHUP           reload: read the config again; if it is valid, stop gracefully and start
                   again with it; if not, log why and keep running

Environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE,
AWS_REGION, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, AWS_ENDPOINT_URL[_<SERVICE>]; logs
go to stderr (--log-level or VPCFLOW_LOG).

Exit status: 0 after a stop, 1 when the agent cannot run (state directory, sockets,
credentials), 2 for usage or config errors.";

pub fn run(argv: Vec<String>, env: &AwsEnv) -> Result<(), CliError> {
    let args = Args::parse(argv, &["--config"], &[])?;
    if let Some(extra) = args.positionals.first() {
        return Err(CliError::Usage(format!(
            "unexpected argument {extra:?} (run takes only --config FILE)"
        )));
    }
    let path = args.value("--config").unwrap_or(DEFAULT_CONFIG).to_string();
    let seeds = RandomState::new();
    let mut session = prepare(&path, env, &seeds)?;
    let signals =
        Signals::new().map_err(|e| CliError::Runtime(format!("cannot block signals: {e}")))?;
    loop {
        let lp = AgentLoop::new(session, &signals).map_err(|e| CliError::Runtime(e.to_string()))?;
        let mut reload = || prepare(&path, env, &seeds).map_err(|e| e.to_string());
        match lp.run(&signals, &mut reload) {
            Ok(SessionEnd::Stopped) | Ok(SessionEnd::Forced) => return Ok(()),
            Ok(SessionEnd::Reload(next)) => {
                log::info!("starting again with the reloaded configuration; config={path}");
                session = *next;
            }
            Err(e) => return Err(CliError::Runtime(e.to_string())),
        }
    }
}

/// Reads and checks the config, loads the accounts and the CA roots: a session ready to start.
fn prepare(path: &str, env: &AwsEnv, seeds: &RandomState) -> Result<Session, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let hint = if path == DEFAULT_CONFIG {
            " (give another with --config FILE)"
        } else {
            ""
        };
        CliError::Usage(format!("cannot read config {path}: {e}{hint}"))
    })?;
    let cfg = Config::parse(&text).map_err(|errs| {
        let lines: Vec<String> = errs.iter().map(|e| format!("{path}: {e}")).collect();
        CliError::Usage(lines.join("\n"))
    })?;
    // Input errors before touching credentials: they are the config's.
    plan::plan(&cfg).map_err(|e| CliError::Usage(format!("{path}: {e}")))?;
    let accounts = accounts::load(&cfg, env, seeds.hash_one(1u8))
        .map_err(|e| CliError::Runtime(e.to_string()))?;
    let tls = tls::client_config(Path::new(&cfg.ca_bundle))
        .map_err(|e| CliError::Runtime(e.to_string()))?;
    let client = AwsClient::new(
        accounts.credentials,
        env.endpoint_overrides(),
        seeds.hash_one(2u8),
    );
    let overrides = env.endpoint_overrides();
    let emulator = overrides.global.is_some() || !overrides.per_service.is_empty();
    let refresh_accounts = super::discover::account_specs(&accounts.accounts, &client);
    let list = accounts.accounts;
    Ok(Session {
        cfg,
        client,
        tls,
        account_region: Box::new(move |client: &AwsClient, id| {
            list.iter()
                .find(|a| a.cache == id)
                .map(|a| a.effective_region(client).0.to_string())
        }),
        emulator,
        refresh_accounts,
    })
}
