//! `Discovery` driven by a fake AWS that answers from a real capture: moto with two accounts
//! (one through AssumeRole with an external id, whose role may not DescribeSubscriptionFilters),
//! two Regions, paging (`fixtures/inventory/moto-discovery.json`, see its ORIGIN.md).

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use serde::Deserialize;
use ureq_proto::http::{HeaderMap, HeaderName, HeaderValue};

use super::*;
use crate::aws::api::json::test_support::split_http;
use crate::aws::error::AwsError;
use crate::inventory::model::{Account, RegionInventory};

const CAPTURE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/inventory/moto-discovery.json"
));

#[derive(Deserialize)]
struct Call {
    account: String,
    region: String,
    operation: String,
    key: String,
    next_token: Option<String>,
    response: String,
}

/// Answers each request with the captured response of the same account, Region, operation,
/// key and paging token, the way the AWS client reports it (`ApiResponse` when it succeeded,
/// `AwsCallError::Rejected` with the decoded error when not); each capture is used once.
pub(crate) struct FakeAws {
    calls: Vec<Call>,
    responses: Vec<ApiResponse>,
    used: Vec<bool>,
}

impl FakeAws {
    fn new() -> FakeAws {
        FakeAws::from_capture(CAPTURE)
    }

    /// Answers from another capture of the same shape (`capture_moto_inventory.py`).
    pub(crate) fn from_capture(capture: &[u8]) -> FakeAws {
        let calls: Vec<Call> = serde_json::from_slice(capture).unwrap();
        let responses = calls
            .iter()
            .map(|c| {
                let (start, headers, body) = split_http(c.response.as_bytes());
                let mut map = HeaderMap::new();
                for (k, v) in &headers {
                    map.insert(
                        HeaderName::try_from(k.as_str()).unwrap(),
                        HeaderValue::try_from(v.as_str()).unwrap(),
                    );
                }
                ApiResponse {
                    status: start.split(' ').nth(1).unwrap().parse().unwrap(),
                    headers: map,
                    body: body.to_vec(),
                }
            })
            .collect();
        let used = vec![false; calls.len()];
        FakeAws {
            calls,
            responses,
            used,
        }
    }

    pub(crate) fn answer(
        &mut self,
        account: &str,
        region: &str,
        req: &ApiRequest,
    ) -> Result<Reply<'_>, CallFailure> {
        let i = self.find(account, region, req);
        let r = &self.responses[i];
        if r.is_success() {
            return Ok(Reply::from_response(r));
        }
        Err(CallFailure::from_client(&rejected(req, r)))
    }

    /// The same answer as the AWS client's event for `call` (the agent's view).
    pub(crate) fn event(
        &mut self,
        account: &str,
        region: &str,
        req: &ApiRequest,
        call: crate::aws::client::CallId,
    ) -> crate::aws::client::AwsEvent {
        let i = self.find(account, region, req);
        let r = &self.responses[i];
        if r.is_success() {
            return crate::aws::client::AwsEvent::Done {
                call,
                response: r.clone(),
            };
        }
        crate::aws::client::AwsEvent::Failed {
            call,
            error: rejected(req, r),
        }
    }

    /// The unused capture of the same account, Region, operation, key and token; marked used.
    fn find(&mut self, account: &str, region: &str, req: &ApiRequest) -> usize {
        let (key, token) = key_and_token(req);
        let i = (0..self.calls.len())
            .find(|&i| {
                let c = &self.calls[i];
                !self.used[i]
                    && c.account == account
                    && c.region == region
                    && c.operation == req.operation
                    && c.key == key
                    && c.next_token == token
            })
            .unwrap_or_else(|| {
                panic!(
                    "no captured answer for {account} {region} {} key={key:?} token={token:?}",
                    req.operation
                )
            });
        self.used[i] = true;
        i
    }

    pub(crate) fn unused(&self) -> Vec<String> {
        (0..self.calls.len())
            .filter(|&i| !self.used[i])
            .map(|i| {
                format!(
                    "{} {} {}",
                    self.calls[i].account, self.calls[i].region, self.calls[i].operation
                )
            })
            .collect()
    }
}

/// A captured error answer as the AWS client reports it.
fn rejected(req: &ApiRequest, r: &ApiResponse) -> AwsCallError {
    let error = AwsError::from_parts(
        req.service.protocol(),
        req.method,
        r.status,
        &r.headers,
        &r.body,
    );
    AwsCallError::Rejected {
        action: IamAction::for_request(req),
        error: Box::new(error),
    }
}

/// The capture's key (log group, stream ARN, bucket) and paging token of a request.
fn key_and_token(req: &ApiRequest) -> (String, Option<String>) {
    let body = std::str::from_utf8(&req.body).unwrap();
    match req.operation {
        "DescribeLogGroups" | "DescribeSubscriptionFilters" | "DescribeStreamSummary" => {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            let key = ["logGroupNamePrefix", "logGroupName", "StreamARN"]
                .iter()
                .find_map(|k| v[k].as_str())
                .unwrap();
            (key.to_string(), v["nextToken"].as_str().map(str::to_string))
        }
        "HeadBucket" | "GetBucketNotificationConfiguration" => (req.bucket.clone().unwrap(), None),
        _ => {
            let token = body
                .split('&')
                .find_map(|p| p.strip_prefix("NextToken="))
                .map(percent_decode);
            (String::new(), token)
        }
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[derive(Clone, Copy, PartialEq)]
enum Order {
    /// Answer the oldest call first.
    Fifo,
    /// Answer the newest call first (another interleaving of the same calls).
    Lifo,
}

pub(crate) fn accounts() -> Vec<AccountSpec<&'static str>> {
    vec![
        AccountSpec {
            account: "A",
            label: "profile default".into(),
            home_region: "us-east-1".into(),
            account_id: None,
        },
        AccountSpec {
            account: "B",
            label: "arn:aws:iam::222222222222:role/Discover".into(),
            home_region: "us-east-1".into(),
            account_id: Some("222222222222".into()),
        },
    ]
}

pub(crate) fn wall() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_768_478_400)
}

pub(crate) fn regions() -> Vec<String> {
    vec!["us-east-1".into(), "eu-west-1".into()]
}

/// Runs a discovery to the end against the capture; checks the in-flight bound on the way.
fn run(options: Options, order: Order) -> (Inventory, FakeAws, u64) {
    let mut aws = FakeAws::new();
    let mut d = Discovery::with_options(accounts(), &regions(), wall(), options);
    let mut pending = Vec::new();
    let mut most = 0;
    loop {
        while let Some(call) = d.poll_request() {
            pending.push(call);
        }
        most = most.max(pending.len());
        assert!(pending.len() <= options.max_in_flight);
        if pending.is_empty() {
            break;
        }
        let (id, account, region, req) = match order {
            Order::Fifo => pending.remove(0),
            Order::Lifo => pending.pop().unwrap(),
        };
        let result = aws.answer(account, &region, &req);
        d.handle_response(id, result);
    }
    assert!(d.is_done());
    assert_eq!(
        most, options.max_in_flight,
        "the bound was reached, never passed"
    );
    let (calls, left) = d.progress();
    assert_eq!(left, 0);
    (d.into_inventory(), aws, calls)
}

/// The inventory of the moto capture (for the report and enrichment tests).
pub(crate) fn moto_inventory() -> Inventory {
    run(
        Options {
            max_in_flight: 8,
            page_size: Some(5),
        },
        Order::Fifo,
    )
    .0
}

fn region<'a>(a: &'a Account, name: &str) -> &'a RegionInventory {
    a.regions.iter().find(|r| r.region == name).unwrap()
}

fn vpc_id<'a>(r: &'a RegionInventory, name: &str) -> &'a str {
    &r.vpcs
        .iter()
        .find(|v| v.name.as_deref() == Some(name))
        .unwrap()
        .id
}

#[test]
fn two_accounts_two_regions_from_moto() {
    let (inv, aws, calls) = run(
        Options {
            max_in_flight: 8,
            page_size: Some(5),
        },
        Order::Fifo,
    );
    // Exactly the calls that were captured: nothing missing, nothing extra.
    assert_eq!(aws.unused(), Vec::<String>::new());
    assert_eq!(calls as usize, aws.calls.len());
    assert_eq!(inv.version, INVENTORY_VERSION);
    assert_eq!(inv.generated_at, "2026-01-15T12:00:00Z");

    let a = &inv.accounts[0];
    assert_eq!(a.label, "profile default");
    assert_eq!(a.account_id.as_deref(), Some("123456789012"));
    assert_eq!(
        a.caller_arn.as_deref(),
        Some("arn:aws:iam::123456789012:user/discover")
    );
    let names: Vec<&str> = a.regions.iter().map(|r| r.region.as_str()).collect();
    assert_eq!(names, ["eu-west-1", "us-east-1"]);
    assert_eq!(a.errors, vec![]);

    let r = region(a, "us-east-1");
    assert_eq!(r.errors, vec![]);
    let prod = vpc_id(r, "prod");
    let shared = vpc_id(r, "shared");
    let p = r.vpc(prod).unwrap();
    assert_eq!(p.cidrs_v4, ["10.0.0.0/16"]);
    assert_eq!(p.cidrs_v6.len(), 1, "Amazon-provided IPv6 block");
    assert!(!p.is_default);
    assert_eq!(r.vpcs.iter().filter(|v| v.is_default).count(), 1);
    assert_eq!(r.vpcs.len(), 3);

    // Two pages of instances (5 + 1 reservations) merged.
    let mut inames: Vec<&str> = r
        .instances
        .iter()
        .filter_map(|i| i.name.as_deref())
        .collect();
    inames.sort();
    assert_eq!(
        inames,
        ["app-shared", "bastion", "db-1", "ops", "web-1", "web-2"]
    );
    let web1 = r
        .instances
        .iter()
        .find(|i| i.name.as_deref() == Some("web-1"))
        .unwrap();
    assert_eq!(web1.private_ips, ["10.0.1.10"]);
    assert_eq!(web1.vpc_id.as_deref(), Some(prod));
    let web1_subnet = r
        .subnets
        .iter()
        .find(|s| Some(&s.id) == web1.subnet_id.as_ref())
        .unwrap();
    assert_eq!(web1_subnet.name.as_deref(), Some("prod-private-a"));
    assert_eq!(web1_subnet.az_id.as_deref(), Some("use1-az6"));
    let eni = &web1.network_interface_ids[0];
    let e = r.network_interfaces.iter().find(|n| n.id == *eni).unwrap();
    assert_eq!(e.instance_id.as_deref(), Some(web1.id.as_str()));
    assert_eq!(e.private_ips, ["10.0.1.10"]);

    // NAT gateway, endpoints, peering, transit gateway, routes.
    let nat = &r.nat_gateways[0];
    assert_eq!(
        (nat.name.as_deref(), nat.vpc_id.as_deref()),
        (Some("prod-nat"), Some(prod))
    );
    assert!(
        r.network_interfaces
            .iter()
            .any(|n| n.id == nat.network_interface_ids[0])
    );
    let types: Vec<&str> = r
        .vpc_endpoints
        .iter()
        .filter_map(|e| e.endpoint_type.as_deref())
        .collect();
    assert!(
        types.contains(&"Gateway") && types.contains(&"Interface"),
        "{types:?}"
    );
    let pcx = &r.peering_connections[0];
    assert_eq!(pcx.status.as_deref(), Some("active"));
    assert_eq!(
        (
            pcx.requester.vpc_id.as_deref(),
            pcx.accepter.vpc_id.as_deref()
        ),
        (Some(prod), Some(shared))
    );
    assert_eq!(pcx.accepter.cidrs_v4, ["10.1.0.0/16"]);
    let att = &r.transit_gateway_attachments[0];
    assert_eq!(
        (att.resource_type.as_deref(), att.resource_id.as_deref()),
        (Some("vpc"), Some(prod))
    );
    let private_rt = r
        .route_tables
        .iter()
        .find(|t| t.name.as_deref() == Some("prod-private"))
        .unwrap();
    let target = |prefix: &str| {
        private_rt
            .routes
            .iter()
            .find(|x| x.target.starts_with(prefix))
            .map(|x| x.destination.as_str())
    };
    assert_eq!(target("nat-"), Some("0.0.0.0/0"));
    assert_eq!(target("pcx-"), Some("10.1.0.0/16"));
    assert_eq!(target("tgw-"), Some("172.16.0.0/12"));
    assert!(target("vpce-").unwrap().starts_with("pl-"));
    assert_eq!(target("local"), Some("10.0.0.0/16"));
    assert_eq!(private_rt.subnet_ids, std::slice::from_ref(&web1_subnet.id));
    assert!(
        r.route_tables
            .iter()
            .any(|t| t.main && t.vpc_id.as_deref() == Some(prod))
    );

    // Flow logs → log groups → subscription → Kinesis; bucket → queue.
    assert_eq!(r.flow_logs.len(), 3);
    let prod_logs: Vec<&str> = r.flow_logs_of(prod).map(|f| f.id.as_str()).collect();
    assert_eq!(prod_logs.len(), 1);
    let g = r
        .log_groups
        .iter()
        .find(|g| g.name == "/vpc/prod-flow-logs")
        .unwrap();
    assert_eq!(
        g.arn.as_deref(),
        Some("arn:aws:logs:us-east-1:123456789012:log-group:/vpc/prod-flow-logs")
    );
    assert_eq!(g.exists, Some(true));
    assert_eq!(g.flow_log_ids, [prod_logs[0].to_string()]);
    let subs = g.subscriptions.as_ref().unwrap();
    let stream_arn = "arn:aws:kinesis:us-east-1:123456789012:stream/vpc-flow-stream";
    assert_eq!(subs[0].destination_arn, stream_arn);
    let s = &r.kinesis_streams[0];
    assert_eq!(
        (s.arn.as_str(), s.name.as_str()),
        (stream_arn, "vpc-flow-stream")
    );
    assert_eq!(
        (s.status.as_deref(), s.open_shards, s.mode.as_deref()),
        (Some("ACTIVE"), Some(1), Some("PROVISIONED"))
    );
    assert_eq!(s.log_groups, ["/vpc/prod-flow-logs"]);
    let sg = r
        .log_groups
        .iter()
        .find(|g| g.name == "/vpc/shared-flow-logs")
        .unwrap();
    assert_eq!(sg.subscriptions, Some(vec![]), "asked: none");
    let f = r
        .flow_logs
        .iter()
        .find(|f| f.log_group_name.as_deref() == Some("/vpc/prod-flow-logs"))
        .unwrap();
    assert!(
        f.log_format
            .as_deref()
            .unwrap()
            .ends_with("${traffic-path}")
    );
    assert_eq!(a.buckets.len(), 1);
    let b = &a.buckets[0];
    assert_eq!(
        (b.name.as_str(), b.region.as_deref()),
        ("flow-logs-a", Some("us-east-1"))
    );
    let q = &b.queues.as_ref().unwrap()[0];
    assert_eq!(
        q.queue_url.as_deref(),
        Some("https://sqs.us-east-1.amazonaws.com/123456789012/flow-logs-a-events")
    );
    assert_eq!(
        (q.prefix.as_deref(), q.suffix.as_deref()),
        (Some("AWSLogs/"), Some(".log.gz"))
    );
    assert_eq!(q.events, ["s3:ObjectCreated:*"]);
    // eu-west-1: the default VPC only.
    let eu = region(a, "eu-west-1");
    assert_eq!((eu.vpcs.len(), eu.flow_logs.len()), (1, 0));

    // Account B: AccessDenied on DescribeSubscriptionFilters is recorded, the rest is there.
    let b = &inv.accounts[1];
    assert_eq!(b.account_id.as_deref(), Some("222222222222"));
    assert!(
        b.caller_arn
            .as_deref()
            .unwrap()
            .starts_with("arn:aws:sts::222222222222:assumed-role/Discover/")
    );
    let r = region(b, "us-east-1");
    assert_eq!(r.errors.len(), 1);
    let err = &r.errors[0];
    assert_eq!(err.operation, "DescribeSubscriptionFilters");
    assert_eq!(err.code, "AccessDenied");
    assert_eq!(err.resource.as_deref(), Some("/vpc/analytics"));
    assert_eq!(
        err.action.as_deref(),
        Some("logs:DescribeSubscriptionFilters")
    );
    assert!(
        err.message
            .ends_with("not authorized to perform: logs:DescribeSubscriptionFilters"),
        "{}",
        err.message
    );
    assert!(err.is_access_denied());
    let g = &r.log_groups[0];
    assert_eq!(
        (g.name.as_str(), g.subscriptions.as_ref()),
        ("/vpc/analytics", None),
        "unknown, not empty"
    );
    assert!(r.kinesis_streams.is_empty());
    assert_eq!(
        vpc_id(r, "analytics"),
        r.instances[0].vpc_id.as_deref().unwrap()
    );
    // Its bucket is in eu-west-1 (HeadBucket said so), its queue too.
    let bk = &b.buckets[0];
    assert_eq!(
        (bk.name.as_str(), bk.region.as_deref()),
        ("flow-logs-b", Some("eu-west-1"))
    );
    assert_eq!(
        bk.queues.as_ref().unwrap()[0].queue_url.as_deref(),
        Some("https://sqs.eu-west-1.amazonaws.com/222222222222/flow-logs-b-events")
    );
    assert_eq!(inv.error_count(), 1);
}

#[test]
fn the_inventory_does_not_depend_on_answer_order_or_concurrency() {
    let paged = |max_in_flight, order| {
        let (inv, aws, _) = run(
            Options {
                max_in_flight,
                page_size: Some(5),
            },
            order,
        );
        assert!(aws.unused().is_empty());
        inv.to_json()
    };
    let a = paged(8, Order::Fifo);
    assert_eq!(a, paged(1, Order::Fifo));
    assert_eq!(a, paged(3, Order::Lifo));
}

#[test]
fn requests_use_the_largest_pages_by_default_and_route_tables_their_own_limit() {
    let mut d = Discovery::new(accounts(), &[], wall());
    let mut ops = Vec::new();
    while let Some((id, _, region, req)) = d.poll_request() {
        assert_eq!(region, "us-east-1");
        ops.push(req.operation);
        d.handle_response(
            id,
            Err(CallFailure {
                code: "UnauthorizedOperation".into(),
                message: "You are not authorized to perform this operation.".into(),
                ..Default::default()
            }),
        );
        let body = String::from_utf8(req.body).unwrap();
        match req.operation {
            "DescribeRouteTables" => assert!(body.contains("MaxResults=100"), "{body}"),
            "DescribeVpcs" => assert!(body.contains("MaxResults=1000"), "{body}"),
            _ => {}
        }
    }
    // DescribeRegions refused and no [aws] regions: the home Region is still walked.
    assert_eq!(ops.iter().filter(|o| **o == "DescribeVpcs").count(), 2);
    assert!(ops.contains(&"DescribeRouteTables"));
    let inv = d.into_inventory();
    let a = &inv.accounts[0];
    assert_eq!(a.regions[0].region, "us-east-1");
    assert_eq!(a.errors[0].operation, "DescribeRegions");
    assert_eq!(a.errors[0].action.as_deref(), Some("ec2:DescribeRegions"));
    assert_eq!(
        a.regions[0].errors.len(),
        10,
        "every listing refused, each recorded"
    );
}

#[test]
fn configured_regions_that_are_not_enabled_are_reported() {
    let capture: Vec<Call> = serde_json::from_slice(CAPTURE).unwrap();
    let regions_body = capture
        .iter()
        .find(|c| c.operation == "DescribeRegions")
        .unwrap();
    let filter = vec![
        "eu-west-1".to_string(),
        "ap-east-1".to_string(),
        "mars-1".to_string(),
    ];
    let one = vec![accounts().remove(0)];
    let mut d = Discovery::new(one, &filter, wall());
    let mut regions_seen = Vec::new();
    while let Some((id, _, region, req)) = d.poll_request() {
        match req.operation {
            "DescribeRegions" => d.handle_response(
                id,
                Ok(split_http(regions_body.response.as_bytes()).2.into()),
            ),
            "GetCallerIdentity" => d.handle_response(id, Ok(b"<not-xml".as_slice().into())),
            op => {
                regions_seen.push((op, region));
                d.handle_response(id, Ok(Reply::default()));
            }
        }
    }
    assert!(
        regions_seen.iter().all(|(_, r)| r == "eu-west-1"),
        "{regions_seen:?}"
    );
    let inv = d.into_inventory();
    let a = &inv.accounts[0];
    let errs: Vec<(&str, Option<&str>, &str)> = a
        .errors
        .iter()
        .map(|e| (e.operation.as_str(), e.resource.as_deref(), e.code.as_str()))
        .collect();
    assert_eq!(
        errs,
        [
            ("DescribeRegions", Some("ap-east-1"), "RegionNotEnabled"),
            ("DescribeRegions", Some("mars-1"), "RegionNotEnabled"),
            ("GetCallerIdentity", None, "InvalidResponse"),
        ]
    );
    assert!(
        a.errors[0].message.contains("not-opted-in"),
        "{}",
        a.errors[0].message
    );
    // Empty bodies are not EC2 responses: each listing recorded as unreadable.
    assert_eq!(a.regions[0].errors.len(), 10);
    assert!(
        a.regions[0]
            .errors
            .iter()
            .all(|e| e.code == "InvalidResponse" && e.action.is_none())
    );
}

#[test]
fn head_bucket_refused_still_gives_the_region_and_unknown_ids_are_ignored() {
    let one = vec![accounts().remove(1)];
    let mut d = Discovery::with_options(
        one,
        &["us-east-1".to_string()],
        wall(),
        Options {
            max_in_flight: 64,
            page_size: None,
        },
    );
    let flow_logs = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/aws/responses/ec2_DescribeFlowLogs.response.txt"
    ));
    let mut notified_in = None;
    let mut answered: HashMap<&'static str, usize> = HashMap::new();
    while let Some((id, _, region, req)) = d.poll_request() {
        *answered.entry(req.operation).or_default() += 1;
        match req.operation {
            "DescribeFlowLogs" => d.handle_response(id, Ok(split_http(flow_logs).2.into())),
            "HeadBucket" => {
                assert_eq!(req.bucket.as_deref(), Some("my-flow-log-bucket"));
                d.handle_response(
                    id,
                    Err(CallFailure {
                        code: "Forbidden".into(),
                        message: "Forbidden".into(),
                        action: Some("s3:ListBucket".into()),
                        bucket_region: Some("eu-central-1".into()),
                    }),
                );
                // Answered twice: ignored.
                d.handle_response(id, Ok(Reply::default()));
                d.handle_response(RequestId(9_999), Ok(Reply::default()));
            }
            "GetBucketNotificationConfiguration" => {
                notified_in = Some(region);
                d.handle_response(id, Ok(b"<NotificationConfiguration/>".as_slice().into()));
            }
            _ => d.handle_response(
                id,
                Err(CallFailure {
                    code: "Throttling".into(),
                    ..Default::default()
                }),
            ),
        }
    }
    assert_eq!(notified_in.as_deref(), Some("eu-central-1"));
    assert_eq!(answered["HeadBucket"], 1);
    // The sample's CloudWatch Logs flow log: its group is asked about once.
    assert_eq!(
        (
            answered["DescribeLogGroups"],
            answered["DescribeSubscriptionFilters"]
        ),
        (1, 1)
    );
    let inv = d.into_inventory();
    let a = &inv.accounts[0];
    let b = &a.buckets[0];
    assert_eq!(
        (b.region.as_deref(), b.prefixes.as_slice()),
        (Some("eu-central-1"), ["prefix".to_string()].as_slice())
    );
    assert_eq!(b.queues, Some(vec![]));
    let head = a
        .errors
        .iter()
        .find(|e| e.operation == "HeadBucket")
        .unwrap();
    assert_eq!(
        (head.code.as_str(), head.action.as_deref()),
        ("Forbidden", Some("s3:ListBucket"))
    );
    let g = &a.regions[0].log_groups[0];
    assert_eq!(
        g.arn.as_deref(),
        Some("arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flow-logs"),
        "from the flow log"
    );
    assert_eq!((g.exists, g.subscriptions.as_ref()), (None, None));
}

#[test]
fn failures_without_a_service_answer_keep_their_kind_and_action() {
    use crate::aws::client::LastFailure;
    use crate::aws::retry::TransportFailure;
    let action = IamAction::for_request(&s3::get_bucket_notification_configuration("b"));
    let f = CallFailure::from_client(&AwsCallError::Exhausted {
        action,
        attempts: 3,
        quota_empty: false,
        last: LastFailure::Transport(TransportFailure::Timeout),
    });
    assert_eq!(f.code, "RetriesExhausted");
    assert_eq!(f.action.as_deref(), Some("s3:GetBucketNotification"));
    assert!(f.message.contains("timed out"), "{}", f.message);
    let f = CallFailure::from_client(&AwsCallError::Transport {
        action,
        failure: TransportFailure::TooLarge,
    });
    assert_eq!((f.code.as_str(), f.bucket_region), ("Transport", None));
}

#[test]
fn an_account_id_the_credentials_know_fills_an_account_sts_did_not_confirm() {
    let mut d = Discovery::new(accounts(), &regions(), wall());
    d.handle_account_known(&"A", "123456789012");
    // Account B's spec already said; a report about another account changes nothing.
    d.handle_account_known(&"B", "999999999999");
    let inv = d.into_inventory();
    assert_eq!(inv.accounts[0].account_id.as_deref(), Some("123456789012"));
    assert_eq!(inv.accounts[1].account_id.as_deref(), Some("222222222222"));
}
