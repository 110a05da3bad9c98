//! What each answer leads to: the Regions to walk, the EC2 pages recorded, and the calls a
//! flow log's destination needs (its log group and subscription filters, their Kinesis
//! streams, its bucket's Region and notifications).

use std::collections::HashSet;

use super::{Discovery, EC2_OPS, Ec2Op, Job, Task, convert};
use crate::aws::api::ec2;
use crate::inventory::model::{
    self, Arn, Bucket, CallError, KinesisStream, LogGroup, RegionInventory,
};

impl<A: Clone> Discovery<A> {
    /// Creates the Region entries and queues their listings. `enabled`: DescribeRegions'
    /// (name, opt-in status) pairs, `None` when it failed.
    pub(super) fn start_regions(&mut self, account: usize, enabled: Option<&[(&str, &str)]>) {
        let Some(acct) = self.accounts.get_mut(account) else {
            return;
        };
        let is_enabled = |status: &str| matches!(status, "" | "opt-in-not-required" | "opted-in");
        let mut names: Vec<String> = match enabled {
            Some(list) if self.regions_filter.is_empty() => list
                .iter()
                .filter(|(_, s)| is_enabled(s))
                .map(|(n, _)| n.to_string())
                .collect(),
            Some(list) => {
                let mut keep = Vec::new();
                for want in &self.regions_filter {
                    match list.iter().find(|(n, _)| n == want) {
                        Some((_, s)) if is_enabled(s) => keep.push(want.clone()),
                        other => acct.out.errors.push(CallError {
                            operation: "DescribeRegions".into(),
                            resource: Some(want.clone()),
                            code: "RegionNotEnabled".into(),
                            message: match other {
                                Some((_, s)) => format!("opt-in status {s}: enable the Region for this account or remove it from [aws] regions"),
                                None => "not a Region of this account's partition: check [aws] regions".into(),
                            },
                            action: None,
                        }),
                    }
                }
                keep
            }
            None if self.regions_filter.is_empty() => vec![acct.spec.home_region.clone()],
            None => self.regions_filter.clone(),
        };
        names.sort();
        names.dedup();
        for name in names {
            let index = acct.out.regions.len();
            acct.out.regions.push(RegionInventory {
                region: name.clone(),
                ..RegionInventory::default()
            });
            acct.asked_groups.push(HashSet::new());
            acct.asked_streams.push(HashSet::new());
            for op in EC2_OPS {
                self.queue.push_back(Task {
                    account,
                    call_region: name.clone(),
                    job: Job::Ec2 { region: index, op },
                    token: None,
                });
            }
        }
    }

    /// Parses one page of an EC2 listing into the Region; returns its `nextToken`.
    pub(super) fn handle_ec2(
        &mut self,
        account: usize,
        region: usize,
        op: Ec2Op,
        body: &[u8],
    ) -> Result<Option<String>, String> {
        let Some(r) = self
            .accounts
            .get_mut(account)
            .and_then(|a| a.out.regions.get_mut(region))
        else {
            return Ok(None);
        };
        let e = |e: ec2::Ec2Error| e.to_string();
        let next = match op {
            Ec2Op::Vpcs => {
                let o = ec2::parse_describe_vpcs(body).map_err(e)?;
                r.vpcs.extend(o.vpcs.iter().map(convert::vpc));
                o.next_token
            }
            Ec2Op::Subnets => {
                let o = ec2::parse_describe_subnets(body).map_err(e)?;
                r.subnets.extend(o.subnets.iter().map(convert::subnet));
                o.next_token
            }
            Ec2Op::Instances => {
                let o = ec2::parse_describe_instances(body).map_err(e)?;
                r.instances.extend(o.instances().map(convert::instance));
                o.next_token
            }
            Ec2Op::Interfaces => {
                let o = ec2::parse_describe_network_interfaces(body).map_err(e)?;
                r.network_interfaces
                    .extend(o.network_interfaces.iter().map(convert::interface));
                o.next_token
            }
            Ec2Op::NatGateways => {
                let o = ec2::parse_describe_nat_gateways(body).map_err(e)?;
                r.nat_gateways
                    .extend(o.nat_gateways.iter().map(convert::nat_gateway));
                o.next_token
            }
            Ec2Op::VpcEndpoints => {
                let o = ec2::parse_describe_vpc_endpoints(body).map_err(e)?;
                r.vpc_endpoints
                    .extend(o.vpc_endpoints.iter().map(convert::vpc_endpoint));
                o.next_token
            }
            Ec2Op::Peering => {
                let o = ec2::parse_describe_vpc_peering_connections(body).map_err(e)?;
                r.peering_connections
                    .extend(o.vpc_peering_connections.iter().map(convert::peering));
                o.next_token
            }
            Ec2Op::TransitGatewayAttachments => {
                let o = ec2::parse_describe_transit_gateway_attachments(body).map_err(e)?;
                r.transit_gateway_attachments.extend(
                    o.transit_gateway_attachments
                        .iter()
                        .map(convert::tgw_attachment),
                );
                o.next_token
            }
            Ec2Op::RouteTables => {
                let o = ec2::parse_describe_route_tables(body).map_err(e)?;
                r.route_tables
                    .extend(o.route_tables.iter().map(convert::route_table));
                o.next_token
            }
            Ec2Op::FlowLogs => {
                let o = ec2::parse_describe_flow_logs(body).map_err(e)?;
                let flow_logs: Vec<model::FlowLog> =
                    o.flow_logs.iter().map(convert::flow_log).collect();
                let next = o.next_token.map(str::to_string);
                self.add_flow_logs(account, region, flow_logs);
                return Ok(next);
            }
        };
        Ok(next.map(str::to_string))
    }

    /// Records flow logs and queues the calls about their destinations.
    pub(super) fn add_flow_logs(
        &mut self,
        account: usize,
        region: usize,
        flow_logs: Vec<model::FlowLog>,
    ) {
        let Some(acct) = self.accounts.get_mut(account) else {
            return;
        };
        let Some(r) = acct.out.regions.get_mut(region) else {
            return;
        };
        let region_name = r.region.clone();
        for f in &flow_logs {
            match f.destination_type.as_deref() {
                Some("cloud-watch-logs") => {
                    let Some(name) = f.log_group_name.clone() else {
                        continue;
                    };
                    match r.log_groups.iter_mut().find(|g| g.name == name) {
                        Some(g) => g.flow_log_ids.push(f.id.clone()),
                        None => r.log_groups.push(LogGroup {
                            name: name.clone(),
                            arn: f.destination_arn.clone(),
                            flow_log_ids: vec![f.id.clone()],
                            ..LogGroup::default()
                        }),
                    }
                    let asked = acct.asked_groups.get_mut(region);
                    if asked.is_some_and(|a| a.insert(name.clone())) {
                        for job in [
                            Job::LogGroup {
                                region,
                                group: name.clone(),
                            },
                            Job::Subscriptions {
                                region,
                                group: name.clone(),
                            },
                        ] {
                            self.queue.push_back(Task {
                                account,
                                call_region: region_name.clone(),
                                job,
                                token: None,
                            });
                        }
                    }
                }
                Some("s3") => {
                    let Some(bucket) = f.bucket.clone() else {
                        continue;
                    };
                    let new = !acct.buckets.contains_key(&bucket);
                    let b = acct
                        .buckets
                        .entry(bucket.clone())
                        .or_insert_with(|| Bucket {
                            name: bucket.clone(),
                            ..Bucket::default()
                        });
                    b.flow_log_ids.push(f.id.clone());
                    b.prefixes.push(f.bucket_prefix.clone().unwrap_or_default());
                    if new {
                        self.queue.push_back(Task {
                            account,
                            call_region: region_name.clone(),
                            job: Job::HeadBucket { bucket },
                            token: None,
                        });
                    }
                }
                _ => {}
            }
        }
        r.flow_logs.extend(flow_logs);
    }

    /// A Kinesis stream fed by `group`: recorded, and described once if it is this account's.
    pub(super) fn add_stream(&mut self, account: usize, region: usize, group: &str, arn: &str) {
        let Some(acct) = self.accounts.get_mut(account) else {
            return;
        };
        let parsed = Arn::parse(arn);
        let Some(r) = acct.out.regions.get_mut(region) else {
            return;
        };
        match r.kinesis_streams.iter_mut().find(|s| s.arn == arn) {
            Some(s) => s.log_groups.push(group.to_string()),
            None => r.kinesis_streams.push(KinesisStream {
                arn: arn.to_string(),
                name: parsed
                    .map(|a| a.resource.trim_start_matches("stream/").to_string())
                    .unwrap_or_default(),
                region: parsed.map(|a| a.region.to_string()),
                account_id: parsed.map(|a| a.account.to_string()),
                log_groups: vec![group.to_string()],
                ..KinesisStream::default()
            }),
        }
        // Another account's stream is not ours to describe (it would only add an AccessDenied).
        let foreign = match (parsed, acct.out.account_id.as_deref()) {
            (Some(a), Some(me)) => a.account != me,
            _ => false,
        };
        let call_region = parsed
            .map(|a| a.region)
            .filter(|r| !r.is_empty())
            .unwrap_or(&r.region)
            .to_string();
        let asked = acct.asked_streams.get_mut(region);
        if !foreign && asked.is_some_and(|a| a.insert(arn.to_string())) {
            self.queue.push_back(Task {
                account,
                call_region,
                job: Job::Stream {
                    region,
                    arn: arn.to_string(),
                },
                token: None,
            });
        }
    }

    /// HeadBucket answered (or failed): ask for the notifications in the bucket's Region.
    pub(super) fn after_head_bucket(&mut self, task: &Task, bucket: &str, region: Option<String>) {
        let Some(acct) = self.accounts.get_mut(task.account) else {
            return;
        };
        if let Some(b) = acct.buckets.get_mut(bucket) {
            b.region = region.clone().or(b.region.take());
        }
        self.queue.push_back(Task {
            account: task.account,
            call_region: region.unwrap_or_else(|| task.call_region.clone()),
            job: Job::Notification {
                bucket: bucket.to_string(),
            },
            token: None,
        });
    }
}
