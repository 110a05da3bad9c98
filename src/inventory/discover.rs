//! `Discovery`: the sans-IO state machine behind `discover` (the seed's "Run now") and the
//! scheduled inventory refresh. It walks every account and Region and builds an [`Inventory`].
//!
//! It emits calls as `(RequestId, account, Region, ApiRequest)` and is handed each call's
//! outcome: the body (plus, for HeadBucket, the `x-amz-bucket-region` header), or a
//! [`CallFailure`] naming the error code and the IAM action refused. Signing, retries,
//! throttling back-off and credentials are the caller's (the AWS client's); this machine only
//! decides what to ask next, keeps at most `max_in_flight` calls out (so that a Region with
//! many resources does not trip EC2's request-rate limits), and records what failed — an
//! AccessDenied in one account or Region is noted with the missing action and everything else
//! carries on.
//!
//! ```text
//!  per account:
//!   GetCallerIdentity ─► account id, caller ARN            (failure: recorded, go on)
//!   DescribeRegions ──► enabled Regions ∩ [aws] regions    (failure: the configured Regions,
//!        │                                                   else the home Region)
//!        ▼ per Region, all at once, each paged to the end (NextToken):
//!   DescribeVpcs  DescribeSubnets  DescribeInstances  DescribeNetworkInterfaces
//!   DescribeNatGateways  DescribeVpcEndpoints  DescribeVpcPeeringConnections
//!   DescribeTransitGatewayAttachments  DescribeRouteTables  DescribeFlowLogs
//!        │ each page of flow logs:
//!        ├─ CloudWatch Logs group (new) ─► DescribeLogGroups(prefix = name) until found
//!        │                               DescribeSubscriptionFilters(group), paged
//!        │                                  └─ Kinesis destination (new) ─► DescribeStreamSummary
//!        └─ S3 bucket (new to the account) ─► HeadBucket (its Region)
//!                                              └─► GetBucketNotificationConfiguration there
//!  done: no call queued and none in flight ─► into_inventory() (sorted)
//! ```

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::time::SystemTime;

use crate::aws::api::ec2::{self, DescribeInput};
use crate::aws::api::{kinesis, logs, s3, sts};
use crate::aws::client::{ApiResponse, AwsCallError};
use crate::aws::clock_skew::format_iso8601;
use crate::aws::permissions::IamAction;
use crate::aws::request::ApiRequest;
use crate::inventory::model::{
    Account, Arn, Bucket, CallError, INVENTORY_VERSION, Inventory, LogGroup, Subscription,
};

#[path = "discover/convert.rs"]
mod convert;
#[path = "discover/follow.rs"]
mod follow;

/// Calls in flight at once, by default. EC2 throttles per account and Region with a token
/// bucket ("Request throttling for the Amazon EC2 API": Describe* share the non-mutating
/// bucket, refilled at 20 requests/s, burst 100); eight in flight stays well inside it.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 8;
/// `limit` of DescribeLogGroups / DescribeSubscriptionFilters: "Valid Range: Minimum value of
/// 1. Maximum value of 50." (CloudWatch Logs API Reference).
pub const LOGS_MAX_LIMIT: u32 = logs::MAX_DESCRIBE_LIMIT;

/// Names one emitted call; hand it back with the outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestId(pub u64);

/// One account to walk.
#[derive(Clone, Debug)]
pub struct AccountSpec<A> {
    /// Handed back with every call (the caller's credential reference).
    pub account: A,
    /// `profile NAME`, the role ARN, `instance role`.
    pub label: String,
    /// Where GetCallerIdentity and DescribeRegions go (the profile's or `AWS_REGION`).
    pub home_region: String,
    /// When the credentials already say (a role ARN, IMDS).
    pub account_id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// At most this many calls out at once (≥ 1).
    pub max_in_flight: usize,
    /// `MaxResults` / `limit` of paged calls; `None`: the largest each API accepts.
    pub page_size: Option<u32>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            page_size: None,
        }
    }
}

/// A successful call's response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reply<'a> {
    pub body: &'a [u8],
    /// `x-amz-bucket-region` (HeadBucket answers in headers only).
    pub bucket_region: Option<&'a str>,
}

impl<'a> From<&'a [u8]> for Reply<'a> {
    fn from(body: &'a [u8]) -> Self {
        Reply {
            body,
            bucket_region: None,
        }
    }
}

/// A call that failed for good (after the client's retries).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallFailure {
    /// The AWS error code (`AccessDenied`, `UnauthorizedOperation`, …) or a transport error.
    pub code: String,
    pub message: String,
    /// The IAM action refused (`ec2:DescribeFlowLogs`), when the client knows it.
    pub action: Option<String>,
    /// S3: `x-amz-bucket-region` of the error (HeadBucket 301/403 still say where the bucket is).
    pub bucket_region: Option<String>,
}

impl<'a> Reply<'a> {
    /// From the AWS client's `AwsEvent::Done` response.
    pub fn from_response(r: &'a ApiResponse) -> Reply<'a> {
        Reply {
            body: &r.body,
            bucket_region: r.header("x-amz-bucket-region"),
        }
    }
}

impl CallFailure {
    /// From the AWS client's `AwsEvent::Failed` error: the service's code and message when it
    /// answered, else the kind of failure (`Transport`, `Credentials`, …) and its description.
    pub fn from_client(e: &AwsCallError) -> CallFailure {
        let aws = e.aws_error();
        let code = match (aws, e) {
            (Some(a), _) => a.code.clone(),
            (None, AwsCallError::Exhausted { .. }) => "RetriesExhausted".into(),
            (None, AwsCallError::Credentials { .. }) => "NoCredentials".into(),
            (None, AwsCallError::Unroutable { .. }) => "Unroutable".into(),
            (None, _) => "Transport".into(),
        };
        CallFailure {
            code,
            message: aws.map_or_else(|| e.to_string(), |a| a.message.clone()),
            action: Some(e.action().to_string()),
            bucket_region: aws.and_then(|a| a.bucket_region.clone()),
        }
    }
}

impl fmt::Display for CallFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// The paged EC2 listings made in every Region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ec2Op {
    Vpcs,
    Subnets,
    Instances,
    Interfaces,
    NatGateways,
    VpcEndpoints,
    Peering,
    TransitGatewayAttachments,
    RouteTables,
    FlowLogs,
}

const EC2_OPS: [Ec2Op; 10] = [
    Ec2Op::Vpcs,
    Ec2Op::Subnets,
    Ec2Op::Instances,
    Ec2Op::Interfaces,
    Ec2Op::NatGateways,
    Ec2Op::VpcEndpoints,
    Ec2Op::Peering,
    Ec2Op::TransitGatewayAttachments,
    Ec2Op::RouteTables,
    Ec2Op::FlowLogs,
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Job {
    CallerIdentity,
    Regions,
    Ec2 { region: usize, op: Ec2Op },
    LogGroup { region: usize, group: String },
    Subscriptions { region: usize, group: String },
    Stream { region: usize, arn: String },
    HeadBucket { bucket: String },
    Notification { bucket: String },
}

#[derive(Clone, Debug)]
struct Task {
    account: usize,
    /// The Region the call goes to.
    call_region: String,
    job: Job,
    token: Option<String>,
}

struct AccountState<A> {
    spec: AccountSpec<A>,
    out: Account,
    buckets: BTreeMap<String, Bucket>,
    /// Per Region (same index as `out.regions`): what was already asked.
    asked_groups: Vec<HashSet<String>>,
    asked_streams: Vec<HashSet<String>>,
}

/// See the module doc.
pub struct Discovery<A> {
    accounts: Vec<AccountState<A>>,
    /// `[aws] regions`: empty means every enabled Region.
    regions_filter: Vec<String>,
    options: Options,
    generated_at: String,
    queue: VecDeque<Task>,
    in_flight: HashMap<u64, Task>,
    next_id: u64,
    calls_done: u64,
}

impl<A: Clone> Discovery<A> {
    /// `regions`: the `[aws] regions` list (empty: every enabled Region). `wall`: the time
    /// recorded as `generated_at`.
    pub fn new(accounts: Vec<AccountSpec<A>>, regions: &[String], wall: SystemTime) -> Self {
        Discovery::with_options(accounts, regions, wall, Options::default())
    }

    pub fn with_options(
        accounts: Vec<AccountSpec<A>>,
        regions: &[String],
        wall: SystemTime,
        options: Options,
    ) -> Self {
        let mut d = Discovery {
            accounts: Vec::with_capacity(accounts.len()),
            regions_filter: regions.to_vec(),
            options: Options {
                max_in_flight: options.max_in_flight.max(1),
                page_size: options.page_size,
            },
            generated_at: format_iso8601(wall),
            queue: VecDeque::new(),
            in_flight: HashMap::new(),
            next_id: 0,
            calls_done: 0,
        };
        for (i, spec) in accounts.into_iter().enumerate() {
            d.queue.push_back(Task {
                account: i,
                call_region: spec.home_region.clone(),
                job: Job::CallerIdentity,
                token: None,
            });
            d.queue.push_back(Task {
                account: i,
                call_region: spec.home_region.clone(),
                job: Job::Regions,
                token: None,
            });
            d.accounts.push(AccountState {
                out: Account {
                    label: spec.label.clone(),
                    account_id: spec.account_id.clone(),
                    ..Account::default()
                },
                spec,
                buckets: BTreeMap::new(),
                asked_groups: Vec::new(),
                asked_streams: Vec::new(),
            });
        }
        d
    }

    /// The next call to make, unless `max_in_flight` calls are out or nothing is queued.
    pub fn poll_request(&mut self) -> Option<(RequestId, A, String, ApiRequest)> {
        if self.in_flight.len() >= self.options.max_in_flight {
            return None;
        }
        let task = self.queue.pop_front()?;
        let request = self.build(&task);
        let account = self.accounts.get(task.account)?.spec.account.clone();
        let id = self.next_id;
        self.next_id += 1;
        let region = task.call_region.clone();
        log::debug!(
            "discover call id={id} account={} region={region} operation={}",
            task.account,
            request.operation
        );
        self.in_flight.insert(id, task);
        Some((RequestId(id), account, region, request))
    }

    /// The outcome of call `id`. Unknown ids (answered twice) are ignored.
    pub fn handle_response(&mut self, id: RequestId, result: Result<Reply<'_>, CallFailure>) {
        let Some(task) = self.in_flight.remove(&id.0) else {
            log::warn!("discover response for an unknown call id={}", id.0);
            return;
        };
        self.calls_done += 1;
        match result {
            Ok(reply) => {
                if let Err(e) = self.handle_reply(&task, reply) {
                    self.record(&task, e);
                }
            }
            Err(failure) => self.handle_failure(&task, failure),
        }
    }

    /// Nothing queued and nothing in flight.
    pub fn is_done(&self) -> bool {
        self.queue.is_empty() && self.in_flight.is_empty()
    }

    /// (calls answered, calls queued or in flight), for progress output.
    pub fn progress(&self) -> (u64, usize) {
        (self.calls_done, self.queue.len() + self.in_flight.len())
    }

    /// The inventory, sorted. Calls still out are abandoned (their data is missing).
    pub fn into_inventory(self) -> Inventory {
        let mut inv = Inventory {
            version: INVENTORY_VERSION,
            generated_at: self.generated_at,
            accounts: self
                .accounts
                .into_iter()
                .map(|a| {
                    let mut out = a.out;
                    out.buckets = a.buckets.into_values().collect();
                    out
                })
                .collect(),
        };
        inv.sort();
        inv
    }

    fn page(&self, max: u32) -> u32 {
        self.options.page_size.map_or(max, |p| p.clamp(1, max))
    }

    fn build(&self, task: &Task) -> ApiRequest {
        let token = task.token.as_deref();
        match &task.job {
            Job::CallerIdentity => sts::get_caller_identity(),
            Job::Regions => ec2::describe_regions(&ec2::DescribeRegionsInput::default()),
            Job::Ec2 { op, .. } => {
                let max = if *op == Ec2Op::RouteTables {
                    ec2::ROUTE_TABLES_MAX_RESULTS
                } else {
                    ec2::MAX_RESULTS
                };
                let input = DescribeInput {
                    max_results: Some(self.page(max).max(ec2::MIN_RESULTS)),
                    next_token: token,
                    ..DescribeInput::default()
                };
                match op {
                    Ec2Op::Vpcs => ec2::describe_vpcs(&input),
                    Ec2Op::Subnets => ec2::describe_subnets(&input),
                    Ec2Op::Instances => ec2::describe_instances(&input),
                    Ec2Op::Interfaces => ec2::describe_network_interfaces(&input),
                    Ec2Op::NatGateways => ec2::describe_nat_gateways(&input),
                    Ec2Op::VpcEndpoints => ec2::describe_vpc_endpoints(&input),
                    Ec2Op::Peering => ec2::describe_vpc_peering_connections(&input),
                    Ec2Op::TransitGatewayAttachments => {
                        ec2::describe_transit_gateway_attachments(&input)
                    }
                    Ec2Op::RouteTables => ec2::describe_route_tables(&input),
                    Ec2Op::FlowLogs => ec2::describe_flow_logs(&input),
                }
            }
            Job::LogGroup { group, .. } => {
                logs::describe_log_groups(&logs::DescribeLogGroupsInput {
                    log_group_name_prefix: Some(group),
                    limit: Some(self.page(LOGS_MAX_LIMIT)),
                    next_token: token,
                    ..Default::default()
                })
            }
            Job::Subscriptions { group, .. } => {
                logs::describe_subscription_filters(&logs::DescribeSubscriptionFiltersInput {
                    log_group_name: group,
                    filter_name_prefix: None,
                    limit: Some(self.page(LOGS_MAX_LIMIT)),
                    next_token: token,
                })
            }
            Job::Stream { arn, .. } => {
                kinesis::describe_stream_summary(kinesis::StreamRef::Arn(arn))
            }
            Job::HeadBucket { bucket } => s3::head_bucket(bucket),
            Job::Notification { bucket } => s3::get_bucket_notification_configuration(bucket),
        }
    }

    /// Queues the next page of `task` when there is one.
    fn next_page(&mut self, task: &Task, token: Option<&str>) {
        if let Some(t) = token.filter(|t| !t.is_empty()) {
            if task.token.as_deref() == Some(t) {
                // A service handing back the token it was given would loop forever.
                log::warn!("discover paging token repeated operation={:?}", task.job);
                return;
            }
            self.queue.push_back(Task {
                token: Some(t.to_string()),
                ..task.clone()
            });
        }
    }

    fn handle_reply(&mut self, task: &Task, reply: Reply<'_>) -> Result<(), String> {
        let Some(acct) = self.accounts.get_mut(task.account) else {
            return Ok(());
        };
        let body = reply.body;
        match &task.job {
            Job::CallerIdentity => {
                let id = sts::parse_get_caller_identity(body).map_err(|e| e.to_string())?;
                acct.out.account_id = Some(id.account.into_owned());
                acct.out.caller_arn = Some(id.arn.into_owned());
            }
            Job::Regions => {
                let out = ec2::parse_describe_regions(body).map_err(|e| e.to_string())?;
                let enabled: Vec<(&str, &str)> = out
                    .regions
                    .iter()
                    .map(|r| (r.region_name, r.opt_in_status.unwrap_or("")))
                    .collect();
                self.start_regions(task.account, Some(&enabled));
            }
            Job::Ec2 { region, op } => {
                let next = self.handle_ec2(task.account, *region, *op, body)?;
                self.next_page(task, next.as_deref());
            }
            Job::LogGroup { region, group } => {
                let out = logs::parse_describe_log_groups(body).map_err(|e| e.to_string())?;
                let found = out.log_groups.iter().find(|g| g.log_group_name == *group);
                let next = out.next_token.as_deref();
                let mut more = false;
                if let Some(t) = group_mut(acct, *region, group) {
                    match found {
                        Some(g) => {
                            t.exists = Some(true);
                            t.arn = g
                                .log_group_arn
                                .as_deref()
                                .or_else(|| g.arn.as_deref().map(|a| a.trim_end_matches(":*")))
                                .map(str::to_string)
                                .or(t.arn.take());
                            t.retention_in_days = g.retention_in_days;
                            t.stored_bytes = g.stored_bytes;
                        }
                        // Names sort after their prefix: an exact match is on an early page.
                        None if next.is_none() => t.exists = Some(false),
                        None => more = true,
                    }
                }
                if more {
                    self.next_page(task, next);
                }
            }
            Job::Subscriptions { region, group } => {
                let out =
                    logs::parse_describe_subscription_filters(body).map_err(|e| e.to_string())?;
                let mut streams = Vec::new();
                if let Some(t) = group_mut(acct, *region, group) {
                    let subs = t.subscriptions.get_or_insert_with(Vec::new);
                    for f in &out.subscription_filters {
                        let Some(dest) = f.destination_arn.as_deref() else {
                            continue;
                        };
                        subs.push(Subscription {
                            filter_name: f.filter_name.as_deref().map(str::to_string),
                            filter_pattern: f.filter_pattern.as_deref().map(str::to_string),
                            destination_arn: dest.to_string(),
                        });
                        if Arn::parse(dest).is_some_and(|a| a.service == "kinesis") {
                            streams.push(dest.to_string());
                        }
                    }
                }
                for arn in streams {
                    self.add_stream(task.account, *region, group, &arn);
                }
                self.next_page(task, out.next_token.as_deref());
            }
            Job::Stream { region, arn } => {
                let out =
                    kinesis::parse_describe_stream_summary(body).map_err(|e| e.to_string())?;
                let s = out.stream_description_summary;
                if let Some(t) = acct
                    .out
                    .regions
                    .get_mut(*region)
                    .and_then(|r| r.kinesis_streams.iter_mut().find(|k| k.arn == *arn))
                {
                    t.status = Some(s.stream_status.into_owned());
                    t.open_shards = s.open_shard_count;
                    t.mode = s.stream_mode_details.map(|m| m.stream_mode.into_owned());
                }
            }
            Job::HeadBucket { bucket } => {
                let region = reply.bucket_region.map(str::to_string);
                self.after_head_bucket(task, bucket, region);
            }
            Job::Notification { bucket } => {
                let cfg = s3::parse_get_bucket_notification_configuration(body)
                    .map_err(|e| e.to_string())?;
                if let Some(b) = acct.buckets.get_mut(bucket) {
                    b.queues = Some(
                        cfg.queue_configurations
                            .iter()
                            .map(convert::queue)
                            .collect(),
                    );
                    b.other_notifications = cfg
                        .topic_configurations
                        .iter()
                        .map(|t| format!("sns {}", t.arn))
                        .chain(
                            cfg.lambda_function_configurations
                                .iter()
                                .map(|t| format!("lambda {}", t.arn)),
                        )
                        .chain(cfg.event_bridge_enabled.then(|| "eventbridge".to_string()))
                        .collect();
                }
            }
        }
        Ok(())
    }

    fn handle_failure(&mut self, task: &Task, failure: CallFailure) {
        log::info!(
            "discover call failed operation={:?} region={} code={} action={}",
            task.job,
            task.call_region,
            failure.code,
            failure.action.as_deref().unwrap_or("-")
        );
        match &task.job {
            // Without the Region list: the configured Regions, else the home Region.
            Job::Regions => self.start_regions(task.account, None),
            // A bucket elsewhere, or HeadBucket refused: its Region may still be in the answer.
            Job::HeadBucket { bucket } => {
                let region = failure.bucket_region.clone();
                self.after_head_bucket(task, bucket, region);
            }
            _ => {}
        }
        let request = self.build(task);
        let error = CallError {
            operation: request.operation.to_string(),
            resource: resource_of(&task.job),
            code: failure.code,
            message: failure.message,
            action: failure
                .action
                .or_else(|| Some(IamAction::for_request(&request).to_string())),
        };
        self.push_error(task, error);
    }

    /// A response that could not be read: recorded like a failed call.
    fn record(&mut self, task: &Task, message: String) {
        let request = self.build(task);
        log::warn!(
            "discover response unreadable operation={} region={} error={message}",
            request.operation,
            task.call_region
        );
        let error = CallError {
            operation: request.operation.to_string(),
            resource: resource_of(&task.job),
            code: "InvalidResponse".into(),
            message,
            action: None,
        };
        self.push_error(task, error);
    }

    fn push_error(&mut self, task: &Task, error: CallError) {
        let Some(acct) = self.accounts.get_mut(task.account) else {
            return;
        };
        let region = match &task.job {
            Job::Ec2 { region, .. }
            | Job::LogGroup { region, .. }
            | Job::Subscriptions { region, .. }
            | Job::Stream { region, .. } => Some(*region),
            _ => None,
        };
        match region.and_then(|r| acct.out.regions.get_mut(r)) {
            Some(r) => r.errors.push(error),
            None => acct.out.errors.push(error),
        }
    }
}

impl<A: PartialEq> Discovery<A> {
    /// The credentials of `account` act in `account_id` (the AWS client learned it from a role
    /// ARN, AssumeRole or IMDS): recorded unless GetCallerIdentity already said.
    pub fn handle_account_known(&mut self, account: &A, account_id: &str) {
        for a in self
            .accounts
            .iter_mut()
            .filter(|a| a.spec.account == *account)
        {
            if a.out.account_id.is_none() {
                a.out.account_id = Some(account_id.to_string());
            }
        }
    }
}

fn group_mut<'a, A>(
    acct: &'a mut AccountState<A>,
    region: usize,
    name: &str,
) -> Option<&'a mut LogGroup> {
    acct.out
        .regions
        .get_mut(region)?
        .log_groups
        .iter_mut()
        .find(|g| g.name == name)
}

fn resource_of(job: &Job) -> Option<String> {
    match job {
        Job::LogGroup { group, .. } | Job::Subscriptions { group, .. } => Some(group.clone()),
        Job::Stream { arn, .. } => Some(arn.clone()),
        Job::HeadBucket { bucket } | Job::Notification { bucket } => Some(bucket.clone()),
        _ => None,
    }
}

#[cfg(test)]
#[path = "discover/tests.rs"]
pub(crate) mod tests;
