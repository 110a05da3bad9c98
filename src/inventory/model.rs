//! The inventory as data: what `discover` (and the scheduled refresh) found in every account and
//! Region, written by the driver to `state_dir/inventory.json`.
//!
//! It is the one shape three readers share: the `discover` report (table and config sections),
//! the enrichment tables of the per-record hot path (`inventory::enrich`), and operators reading
//! the JSON. So it holds plain owned values (ids, names, CIDRs and addresses as text, exactly as
//! AWS spells them), every list is sorted by id or name before it is written (two runs over an
//! unchanged estate give byte-identical files, and `diff` shows what changed), and the calls
//! that failed are recorded next to what they would have filled, with the IAM action that was
//! missing, so an incomplete inventory says why.

use std::fmt;

use serde::{Deserialize, Serialize};

#[path = "model/arn.rs"]
mod arn;
pub use arn::{Arn, bucket_of_arn, partition, queue_url_from_arn};

/// Version of the `inventory.json` format. Readers refuse another version rather than
/// misread it; the next scheduled refresh rewrites the file.
pub const INVENTORY_VERSION: u32 = 1;
/// The inventory's file in `[agent] state_dir`, written by `discover` and the scheduled refresh.
pub const INVENTORY_FILE: &str = "inventory.json";

/// Everything discovered, per account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub version: u32,
    /// When discovery started, ISO 8601 UTC (`2026-01-15T12:00:00Z`).
    pub generated_at: String,
    pub accounts: Vec<Account>,
}

/// One set of credentials (a profile, an assumed role, the instance role) and what it sees.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// How the operator named it: `profile NAME`, the role ARN, `instance role`.
    pub label: String,
    /// From GetCallerIdentity (else from the credentials), `None` if neither said.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The caller's ARN (GetCallerIdentity).
    #[serde(default)]
    pub caller_arn: Option<String>,
    /// The Regions visited, by name.
    #[serde(default)]
    pub regions: Vec<RegionInventory>,
    /// Buckets that receive this account's flow logs (buckets are global: listed once here,
    /// with their own Region).
    #[serde(default)]
    pub buckets: Vec<Bucket>,
    /// Calls about the account as a whole that failed (GetCallerIdentity, DescribeRegions,
    /// bucket calls).
    #[serde(default)]
    pub errors: Vec<CallError>,
}

/// One Region of one account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionInventory {
    pub region: String,
    #[serde(default)]
    pub vpcs: Vec<Vpc>,
    #[serde(default)]
    pub subnets: Vec<Subnet>,
    #[serde(default)]
    pub instances: Vec<Instance>,
    #[serde(default)]
    pub network_interfaces: Vec<NetworkInterface>,
    #[serde(default)]
    pub nat_gateways: Vec<NatGateway>,
    #[serde(default)]
    pub vpc_endpoints: Vec<VpcEndpoint>,
    #[serde(default)]
    pub peering_connections: Vec<PeeringConnection>,
    #[serde(default)]
    pub transit_gateway_attachments: Vec<TransitGatewayAttachment>,
    #[serde(default)]
    pub route_tables: Vec<RouteTable>,
    #[serde(default)]
    pub flow_logs: Vec<FlowLog>,
    /// The log groups flow logs write to.
    #[serde(default)]
    pub log_groups: Vec<LogGroup>,
    /// The Kinesis streams those log groups' subscription filters feed.
    #[serde(default)]
    pub kinesis_streams: Vec<KinesisStream>,
    /// Calls in this Region that failed.
    #[serde(default)]
    pub errors: Vec<CallError>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    pub id: String,
    /// The `Name` tag.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub owner_id: Option<String>,
    /// Every IPv4 CIDR, primary first.
    #[serde(default)]
    pub cidrs_v4: Vec<String>,
    #[serde(default)]
    pub cidrs_v6: Vec<String>,
    #[serde(default)]
    pub is_default: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub az: Option<String>,
    #[serde(default)]
    pub az_id: Option<String>,
    #[serde(default)]
    pub cidrs_v4: Vec<String>,
    #[serde(default)]
    pub cidrs_v6: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub az: Option<String>,
    #[serde(default)]
    pub az_id: Option<String>,
    #[serde(default)]
    pub private_ips: Vec<String>,
    #[serde(default)]
    pub public_ips: Vec<String>,
    /// Its network interfaces (`eni-…`), sorted.
    #[serde(default)]
    pub network_interface_ids: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInterface {
    pub id: String,
    /// `interface`, `nat_gateway`, `vpc_endpoint`, `transit_gateway`, `lambda`, … (open set).
    #[serde(default)]
    pub interface_type: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub az: Option<String>,
    #[serde(default)]
    pub az_id: Option<String>,
    /// The instance it is attached to.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// Created by an AWS service (NAT gateway, endpoint, load balancer, Lambda…).
    #[serde(default)]
    pub requester_managed: bool,
    #[serde(default)]
    pub private_ips: Vec<String>,
    #[serde(default)]
    pub public_ips: Vec<String>,
    #[serde(default)]
    pub ipv6_ips: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatGateway {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    /// `public` or `private`.
    #[serde(default)]
    pub connectivity_type: Option<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub network_interface_ids: Vec<String>,
    #[serde(default)]
    pub private_ips: Vec<String>,
    #[serde(default)]
    pub public_ips: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcEndpoint {
    pub id: String,
    /// `Interface`, `Gateway`, `GatewayLoadBalancer`, … (open set).
    #[serde(default)]
    pub endpoint_type: Option<String>,
    /// `com.amazonaws.us-east-1.s3`, …
    #[serde(default)]
    pub service_name: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub network_interface_ids: Vec<String>,
    /// Gateway endpoints: the route tables that route to it.
    #[serde(default)]
    pub route_table_ids: Vec<String>,
    #[serde(default)]
    pub subnet_ids: Vec<String>,
}

/// One side of a peering connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeeringSide {
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub cidrs_v4: Vec<String>,
    #[serde(default)]
    pub cidrs_v6: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeeringConnection {
    pub id: String,
    /// `active`, `pending-acceptance`, `deleted`, …
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub requester: PeeringSide,
    #[serde(default)]
    pub accepter: PeeringSide,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitGatewayAttachment {
    pub id: String,
    #[serde(default)]
    pub transit_gateway_id: Option<String>,
    /// `vpc`, `vpn`, `direct-connect-gateway`, `peering`, … (open set).
    #[serde(default)]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub resource_owner_id: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    pub id: String,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// The VPC's main route table (used by subnets without an explicit association).
    #[serde(default)]
    pub main: bool,
    /// Subnets explicitly associated with it.
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    #[serde(default)]
    pub routes: Vec<Route>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The destination: an IPv4 or IPv6 CIDR, or a prefix list id (`pl-…`).
    pub destination: String,
    /// Where it goes: `local`, `igw-…`, `nat-…`, `tgw-…`, `pcx-…`, `vpce-…`, `vgw-…`,
    /// `eigw-…`, `lgw-…`, `eni-…`, `i-…`, a core network ARN; empty if AWS named none.
    pub target: String,
    /// `active` or `blackhole`.
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowLog {
    pub id: String,
    /// The VPC, subnet, ENI or transit gateway it watches.
    #[serde(default)]
    pub resource_id: Option<String>,
    /// `ACCEPT`, `REJECT` or `ALL`.
    #[serde(default)]
    pub traffic_type: Option<String>,
    /// `cloud-watch-logs`, `s3` or `kinesis-data-firehose`.
    #[serde(default)]
    pub destination_type: Option<String>,
    /// CloudWatch Logs destinations.
    #[serde(default)]
    pub log_group_name: Option<String>,
    /// S3 destinations: the bucket and the key prefix (without slashes at either end).
    #[serde(default)]
    pub bucket: Option<String>,
    #[serde(default)]
    pub bucket_prefix: Option<String>,
    /// The destination ARN as AWS gave it.
    #[serde(default)]
    pub destination_arn: Option<String>,
    /// `${version} ${account-id} …` (spec A.5).
    #[serde(default)]
    pub log_format: Option<String>,
    /// S3: `plain-text` or `parquet`.
    #[serde(default)]
    pub file_format: Option<String>,
    #[serde(default)]
    pub hive_compatible_partitions: Option<bool>,
    #[serde(default)]
    pub per_hour_partition: Option<bool>,
    /// `ACTIVE`.
    #[serde(default)]
    pub status: Option<String>,
    /// `SUCCESS` or `FAILED`.
    #[serde(default)]
    pub deliver_logs_status: Option<String>,
    #[serde(default)]
    pub max_aggregation_interval: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogGroup {
    pub name: String,
    /// `arn:aws:logs:REGION:ACCOUNT:log-group:NAME` (without the `:*` of the old `arn`).
    #[serde(default)]
    pub arn: Option<String>,
    /// DescribeLogGroups found it (`None`: not asked, or the call failed).
    #[serde(default)]
    pub exists: Option<bool>,
    #[serde(default)]
    pub retention_in_days: Option<u32>,
    #[serde(default)]
    pub stored_bytes: Option<u64>,
    /// The flow logs writing to it.
    #[serde(default)]
    pub flow_log_ids: Vec<String>,
    /// Its subscription filters; `None` when DescribeSubscriptionFilters failed (unknown).
    #[serde(default)]
    pub subscriptions: Option<Vec<Subscription>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    #[serde(default)]
    pub filter_name: Option<String>,
    #[serde(default)]
    pub filter_pattern: Option<String>,
    /// Kinesis stream, Firehose stream, Lambda function or a CloudWatch Logs destination.
    pub destination_arn: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KinesisStream {
    pub arn: String,
    pub name: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    /// From DescribeStreamSummary (`ACTIVE`, …), when it was asked and answered.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub open_shards: Option<u32>,
    /// `PROVISIONED` or `ON_DEMAND`.
    #[serde(default)]
    pub mode: Option<String>,
    /// The log groups whose subscription filters feed it.
    #[serde(default)]
    pub log_groups: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    /// From HeadBucket's `x-amz-bucket-region`.
    #[serde(default)]
    pub region: Option<String>,
    /// The flow logs delivering to it.
    #[serde(default)]
    pub flow_log_ids: Vec<String>,
    /// Their key prefixes (`""` for none).
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// Its SQS notifications; `None` when GetBucketNotificationConfiguration failed (unknown).
    #[serde(default)]
    pub queues: Option<Vec<BucketQueue>>,
    /// Notifications also go to SNS topics / Lambda functions / EventBridge.
    #[serde(default)]
    pub other_notifications: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketQueue {
    #[serde(default)]
    pub id: Option<String>,
    pub queue_arn: String,
    /// `https://sqs.{region}.{suffix}/{account}/{name}`, from the ARN.
    #[serde(default)]
    pub queue_url: Option<String>,
    /// `s3:ObjectCreated:*`, …
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub suffix: Option<String>,
}

/// A call that failed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallError {
    /// `DescribeFlowLogs`, …
    pub operation: String,
    /// What it was about (log group, bucket, stream ARN), if not the whole Region.
    #[serde(default)]
    pub resource: Option<String>,
    /// `AccessDenied`, `UnauthorizedOperation`, …
    pub code: String,
    pub message: String,
    /// The IAM action that was refused (`ec2:DescribeFlowLogs`), for access errors.
    #[serde(default)]
    pub action: Option<String>,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.operation)?;
        if let Some(r) = &self.resource {
            write!(f, " {r}")?;
        }
        write!(f, ": {}", self.code)?;
        if let Some(a) = &self.action {
            write!(f, " (missing permission {a})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl CallError {
    /// An access refusal (the operator must grant `action`).
    pub fn is_access_denied(&self) -> bool {
        matches!(
            self.code.as_str(),
            "AccessDenied"
                | "AccessDeniedException"
                | "UnauthorizedOperation"
                | "AuthorizationError"
                | "AuthorizationErrorException"
                // A bodiless 403 (S3 HEAD).
                | "Forbidden"
        )
    }
}

/// Why `inventory.json` could not be read.
#[derive(Debug)]
pub enum InventoryError {
    Json(serde_json::Error),
    Version { found: u32 },
}

impl fmt::Display for InventoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InventoryError::Json(e) => write!(f, "inventory file is not valid: {e}"),
            InventoryError::Version { found } => write!(
                f,
                "inventory file has version {found}, this build reads version {INVENTORY_VERSION}: run `discover` again"
            ),
        }
    }
}

impl std::error::Error for InventoryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InventoryError::Json(e) => Some(e),
            InventoryError::Version { .. } => None,
        }
    }
}

impl Inventory {
    /// Reads `inventory.json`.
    pub fn from_json(bytes: &[u8]) -> Result<Inventory, InventoryError> {
        #[derive(Deserialize)]
        struct VersionOnly {
            version: u32,
        }
        let v: VersionOnly = serde_json::from_slice(bytes).map_err(InventoryError::Json)?;
        if v.version != INVENTORY_VERSION {
            return Err(InventoryError::Version { found: v.version });
        }
        serde_json::from_slice(bytes).map_err(InventoryError::Json)
    }

    /// `inventory.json`: pretty, sorted (see [`Inventory::sort`]), newline-terminated.
    pub fn to_json(&self) -> Vec<u8> {
        // Strings, numbers, bools and lists only: serialization cannot fail.
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Puts every list in its stable order: accounts as given, Regions by name, resources by
    /// id, log groups and buckets by name, errors by operation and resource.
    pub fn sort(&mut self) {
        for a in &mut self.accounts {
            a.regions.sort_by(|x, y| x.region.cmp(&y.region));
            for r in &mut a.regions {
                r.sort();
            }
            a.buckets.sort_by(|x, y| x.name.cmp(&y.name));
            for b in &mut a.buckets {
                sort_dedup(&mut b.flow_log_ids);
                sort_dedup(&mut b.prefixes);
                if let Some(q) = &mut b.queues {
                    q.sort_by(|x, y| (&x.queue_arn, &x.id).cmp(&(&y.queue_arn, &y.id)));
                }
                sort_dedup(&mut b.other_notifications);
            }
            sort_errors(&mut a.errors);
        }
    }

    /// Every VPC with its account and Region.
    pub fn vpcs(&self) -> impl Iterator<Item = (&Account, &RegionInventory, &Vpc)> {
        self.accounts.iter().flat_map(|a| {
            a.regions
                .iter()
                .flat_map(move |r| r.vpcs.iter().map(move |v| (a, r, v)))
        })
    }

    /// The number of recorded errors, everywhere.
    pub fn error_count(&self) -> usize {
        self.accounts
            .iter()
            .map(|a| a.errors.len() + a.regions.iter().map(|r| r.errors.len()).sum::<usize>())
            .sum()
    }
}

impl RegionInventory {
    fn sort(&mut self) {
        self.vpcs.sort_by(|a, b| a.id.cmp(&b.id));
        self.subnets.sort_by(|a, b| a.id.cmp(&b.id));
        self.instances.sort_by(|a, b| a.id.cmp(&b.id));
        for i in &mut self.instances {
            sort_dedup(&mut i.network_interface_ids);
        }
        self.network_interfaces.sort_by(|a, b| a.id.cmp(&b.id));
        self.nat_gateways.sort_by(|a, b| a.id.cmp(&b.id));
        self.vpc_endpoints.sort_by(|a, b| a.id.cmp(&b.id));
        for e in &mut self.vpc_endpoints {
            sort_dedup(&mut e.network_interface_ids);
            sort_dedup(&mut e.route_table_ids);
            sort_dedup(&mut e.subnet_ids);
        }
        self.peering_connections.sort_by(|a, b| a.id.cmp(&b.id));
        self.transit_gateway_attachments
            .sort_by(|a, b| a.id.cmp(&b.id));
        self.route_tables.sort_by(|a, b| a.id.cmp(&b.id));
        for t in &mut self.route_tables {
            sort_dedup(&mut t.subnet_ids);
            t.routes
                .sort_by(|a, b| (&a.destination, &a.target).cmp(&(&b.destination, &b.target)));
        }
        self.flow_logs.sort_by(|a, b| a.id.cmp(&b.id));
        self.log_groups.sort_by(|a, b| a.name.cmp(&b.name));
        for g in &mut self.log_groups {
            sort_dedup(&mut g.flow_log_ids);
            if let Some(s) = &mut g.subscriptions {
                s.sort_by(|a, b| {
                    (&a.filter_name, &a.destination_arn).cmp(&(&b.filter_name, &b.destination_arn))
                });
            }
        }
        self.kinesis_streams.sort_by(|a, b| a.arn.cmp(&b.arn));
        for s in &mut self.kinesis_streams {
            sort_dedup(&mut s.log_groups);
        }
        sort_errors(&mut self.errors);
    }

    /// The VPC with this id.
    pub fn vpc(&self, id: &str) -> Option<&Vpc> {
        self.vpcs.iter().find(|v| v.id == id)
    }

    /// The flow logs of a VPC: on the VPC itself, or on one of its subnets or ENIs.
    pub fn flow_logs_of<'a>(&'a self, vpc_id: &'a str) -> impl Iterator<Item = &'a FlowLog> {
        self.flow_logs.iter().filter(move |f| {
            let Some(r) = f.resource_id.as_deref() else {
                return false;
            };
            r == vpc_id
                || self
                    .subnets
                    .iter()
                    .any(|s| s.id == r && s.vpc_id.as_deref() == Some(vpc_id))
                || self
                    .network_interfaces
                    .iter()
                    .any(|e| e.id == r && e.vpc_id.as_deref() == Some(vpc_id))
        })
    }

    /// The Kinesis streams the subscription filters of `group` feed.
    pub fn streams_of<'a>(
        &'a self,
        group: &'a LogGroup,
    ) -> impl Iterator<Item = &'a KinesisStream> {
        self.kinesis_streams
            .iter()
            .filter(move |s| s.log_groups.contains(&group.name))
    }
}

fn sort_dedup(v: &mut Vec<String>) {
    v.sort();
    v.dedup();
}

fn sort_errors(v: &mut [CallError]) {
    v.sort_by(|a, b| {
        (&a.operation, &a.resource, &a.code).cmp(&(&b.operation, &b.resource, &b.code))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_sorting_and_version() {
        let mut inv = Inventory {
            version: INVENTORY_VERSION,
            generated_at: "2026-01-15T12:00:00Z".into(),
            accounts: vec![Account {
                label: "profile default".into(),
                account_id: Some("123456789012".into()),
                regions: vec![
                    RegionInventory {
                        region: "us-west-2".into(),
                        ..Default::default()
                    },
                    RegionInventory {
                        region: "eu-west-1".into(),
                        vpcs: vec![
                            Vpc {
                                id: "vpc-b".into(),
                                ..Default::default()
                            },
                            Vpc {
                                id: "vpc-a".into(),
                                name: Some("prod".into()),
                                cidrs_v4: vec!["10.0.0.0/16".into()],
                                ..Default::default()
                            },
                        ],
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
        };
        inv.sort();
        let r = &inv.accounts[0].regions;
        assert_eq!(
            (r[0].region.as_str(), r[1].region.as_str()),
            ("eu-west-1", "us-west-2")
        );
        assert_eq!(r[0].vpcs[0].id, "vpc-a");
        let json = inv.to_json();
        assert!(json.ends_with(b"}\n"));
        let back = Inventory::from_json(&json).unwrap();
        assert_eq!(back, inv);
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["accounts"][0]["regions"][0]["vpcs"][0]["name"], "prod");
        // Missing optional members read as empty (older or hand-written files).
        let minimal = br#"{"version":1,"generated_at":"x","accounts":[{"label":"l","regions":[{"region":"r"}]}]}"#;
        let m = Inventory::from_json(minimal).unwrap();
        assert_eq!(m.accounts[0].regions[0].vpcs, vec![]);
        let err = Inventory::from_json(br#"{"version":2,"accounts":[]}"#).unwrap_err();
        assert!(err.to_string().contains("version 2"), "{err}");
        let err = Inventory::from_json(b"[").unwrap_err();
        assert!(matches!(err, InventoryError::Json(_)), "{err}");
    }

    #[test]
    fn call_error_reads_as_one_line() {
        let e = CallError {
            operation: "DescribeSubscriptionFilters".into(),
            resource: Some("/vpc/analytics".into()),
            code: "AccessDenied".into(),
            message: "not authorized".into(),
            action: Some("logs:DescribeSubscriptionFilters".into()),
        };
        assert!(e.is_access_denied());
        assert_eq!(
            e.to_string(),
            "DescribeSubscriptionFilters /vpc/analytics: AccessDenied (missing permission logs:DescribeSubscriptionFilters): not authorized"
        );
    }
}
