//! API shapes (borrowing the response) → inventory records (owned): keeps what the report and
//! the enrichment tables use, in the model's names.

use crate::aws::api::ec2;
use crate::aws::api::s3::NotificationTarget;
use crate::inventory::model::{
    self, BucketQueue, PeeringSide, Route, bucket_of_arn, queue_url_from_arn,
};

fn own(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_string)
}

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Appends `s` unless it is empty or already there (order kept: primary first).
fn push_unique(v: &mut Vec<String>, s: &str) {
    if !s.is_empty() && !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

pub(super) fn vpc(v: &ec2::Vpc<'_>) -> model::Vpc {
    let mut cidrs_v4 = Vec::new();
    for c in v.cidr_block.iter().chain(v.cidr_blocks.iter()) {
        push_unique(&mut cidrs_v4, c);
    }
    model::Vpc {
        id: v.vpc_id.to_string(),
        name: own(v.tags.name()),
        owner_id: own(v.owner_id),
        cidrs_v4,
        cidrs_v6: owned(&v.ipv6_cidr_blocks),
        is_default: v.is_default,
    }
}

pub(super) fn subnet(s: &ec2::Subnet<'_>) -> model::Subnet {
    model::Subnet {
        id: s.subnet_id.to_string(),
        vpc_id: own(s.vpc_id),
        name: own(s.tags.name()),
        az: own(s.availability_zone),
        az_id: own(s.availability_zone_id),
        cidrs_v4: s.cidr_block.iter().map(|c| c.to_string()).collect(),
        cidrs_v6: owned(&s.ipv6_cidr_blocks),
    }
}

pub(super) fn instance(i: &ec2::Instance<'_>) -> model::Instance {
    let mut private_ips = Vec::new();
    let mut public_ips = Vec::new();
    if let Some(ip) = i.private_ip_address {
        push_unique(&mut private_ips, ip);
    }
    if let Some(ip) = i.public_ip_address {
        push_unique(&mut public_ips, ip);
    }
    for n in &i.network_interfaces {
        for p in &n.private_ip_addresses {
            push_unique(&mut private_ips, p.private_ip_address);
        }
        for ip in n.public_ips() {
            push_unique(&mut public_ips, ip);
        }
    }
    model::Instance {
        id: i.instance_id.to_string(),
        name: own(i.tags.name()),
        state: own(i.state),
        vpc_id: own(i.vpc_id),
        subnet_id: own(i.subnet_id),
        az: own(i.availability_zone),
        az_id: own(i.availability_zone_id),
        private_ips,
        public_ips,
        network_interface_ids: i
            .network_interfaces
            .iter()
            .map(|n| n.network_interface_id.to_string())
            .collect(),
    }
}

pub(super) fn interface(n: &ec2::NetworkInterface<'_>) -> model::NetworkInterface {
    let mut private_ips = Vec::new();
    if let Some(ip) = n.private_ip_address {
        push_unique(&mut private_ips, ip);
    }
    for p in &n.private_ip_addresses {
        push_unique(&mut private_ips, p.private_ip_address);
    }
    model::NetworkInterface {
        id: n.network_interface_id.to_string(),
        interface_type: own(n.interface_type),
        description: own(n.description.as_deref()),
        owner_id: own(n.owner_id),
        vpc_id: own(n.vpc_id),
        subnet_id: own(n.subnet_id),
        az: own(n.availability_zone),
        az_id: own(n.availability_zone_id),
        instance_id: own(n.attachment.as_ref().and_then(|a| a.instance_id)),
        requester_managed: n.requester_managed,
        private_ips,
        public_ips: owned(&n.public_ips()),
        ipv6_ips: owned(&n.ipv6_addresses),
    }
}

pub(super) fn nat_gateway(g: &ec2::NatGateway<'_>) -> model::NatGateway {
    let mut out = model::NatGateway {
        id: g.nat_gateway_id.to_string(),
        name: own(g.tags.name()),
        state: own(g.state),
        connectivity_type: own(g.connectivity_type),
        vpc_id: own(g.vpc_id),
        subnet_id: own(g.subnet_id),
        ..Default::default()
    };
    for a in &g.addresses {
        if let Some(eni) = a.network_interface_id {
            push_unique(&mut out.network_interface_ids, eni);
        }
        if let Some(ip) = a.private_ip {
            push_unique(&mut out.private_ips, ip);
        }
        if let Some(ip) = a.public_ip {
            push_unique(&mut out.public_ips, ip);
        }
    }
    out
}

pub(super) fn vpc_endpoint(e: &ec2::VpcEndpoint<'_>) -> model::VpcEndpoint {
    model::VpcEndpoint {
        id: e.vpc_endpoint_id.to_string(),
        endpoint_type: own(e.vpc_endpoint_type),
        service_name: own(e.service_name),
        state: own(e.state),
        vpc_id: own(e.vpc_id),
        network_interface_ids: owned(&e.network_interface_ids),
        route_table_ids: owned(&e.route_table_ids),
        subnet_ids: owned(&e.subnet_ids),
    }
}

fn peering_side(p: &ec2::PeeringVpcInfo<'_>) -> PeeringSide {
    let mut cidrs_v4 = Vec::new();
    for c in p.cidr_block.iter().chain(p.cidr_blocks.iter()) {
        push_unique(&mut cidrs_v4, c);
    }
    PeeringSide {
        vpc_id: own(p.vpc_id),
        owner_id: own(p.owner_id),
        region: own(p.region),
        cidrs_v4,
        cidrs_v6: owned(&p.ipv6_cidr_blocks),
    }
}

pub(super) fn peering(p: &ec2::VpcPeeringConnection<'_>) -> model::PeeringConnection {
    model::PeeringConnection {
        id: p.vpc_peering_connection_id.to_string(),
        status: own(p.status_code),
        requester: peering_side(&p.requester),
        accepter: peering_side(&p.accepter),
    }
}

pub(super) fn tgw_attachment(
    a: &ec2::TransitGatewayAttachment<'_>,
) -> model::TransitGatewayAttachment {
    model::TransitGatewayAttachment {
        id: a.transit_gateway_attachment_id.to_string(),
        transit_gateway_id: own(a.transit_gateway_id),
        resource_type: own(a.resource_type),
        resource_id: own(a.resource_id),
        resource_owner_id: own(a.resource_owner_id),
        state: own(a.state),
    }
}

fn route(r: &ec2::Route<'_>) -> Option<Route> {
    let destination = r
        .destination_cidr_block
        .or(r.destination_ipv6_cidr_block)
        .or(r.destination_prefix_list_id)?;
    // One target per route; the first that is set, most specific kinds first.
    let target = r
        .nat_gateway_id
        .or(r.transit_gateway_id)
        .or(r.vpc_peering_connection_id)
        .or(r.egress_only_internet_gateway_id)
        .or(r.local_gateway_id)
        .or(r.carrier_gateway_id)
        .or(r.gateway_id)
        .or(r.network_interface_id)
        .or(r.instance_id)
        .map(str::to_string)
        .or_else(|| r.core_network_arn.as_deref().map(str::to_string))
        .unwrap_or_default();
    Some(Route {
        destination: destination.to_string(),
        target,
        state: own(r.state),
    })
}

pub(super) fn route_table(t: &ec2::RouteTable<'_>) -> model::RouteTable {
    let mut subnet_ids = Vec::new();
    for a in &t.associations {
        if let Some(s) = a.subnet_id {
            push_unique(&mut subnet_ids, s);
        }
    }
    model::RouteTable {
        id: t.route_table_id.to_string(),
        vpc_id: own(t.vpc_id),
        name: own(t.tags.name()),
        main: t.associations.iter().any(|a| a.main),
        subnet_ids,
        routes: t.routes.iter().filter_map(route).collect(),
    }
}

pub(super) fn flow_log(f: &ec2::FlowLog<'_>) -> model::FlowLog {
    let destination_type = own(f.log_destination_type);
    let arn = f.log_destination.as_deref();
    let (bucket, bucket_prefix) = match (destination_type.as_deref(), arn.and_then(bucket_of_arn)) {
        (Some("s3"), Some((b, p))) => (Some(b.to_string()), Some(p.to_string())),
        _ => (None, None),
    };
    // Older CloudWatch Logs flow logs name only the group; newer ones give its ARN too.
    let log_group_name = own(f.log_group_name.as_deref()).or_else(|| {
        let a = model::Arn::parse(arn?)?;
        (a.service == "logs")
            .then(|| a.resource.strip_prefix("log-group:"))
            .flatten()
            .map(|n| n.trim_end_matches(":*").to_string())
    });
    let opts = f.destination_options.as_ref();
    model::FlowLog {
        id: f.flow_log_id.to_string(),
        resource_id: own(f.resource_id),
        traffic_type: own(f.traffic_type),
        destination_type,
        log_group_name,
        bucket,
        bucket_prefix,
        destination_arn: own(arn),
        log_format: own(f.log_format.as_deref()),
        file_format: own(opts.and_then(|o| o.file_format)),
        hive_compatible_partitions: opts.and_then(|o| o.hive_compatible_partitions),
        per_hour_partition: opts.and_then(|o| o.per_hour_partition),
        status: own(f.flow_log_status),
        deliver_logs_status: own(f.deliver_logs_status),
        max_aggregation_interval: f.max_aggregation_interval,
    }
}

pub(super) fn queue(t: &NotificationTarget<'_>) -> BucketQueue {
    let rule = |name: &str| {
        t.filter_rules
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
            .map(|r| r.value.to_string())
    };
    BucketQueue {
        id: t.id.as_deref().map(str::to_string),
        queue_arn: t.arn.to_string(),
        queue_url: queue_url_from_arn(&t.arn),
        events: t.events.iter().map(|e| e.to_string()).collect(),
        prefix: rule("prefix"),
        suffix: rule("suffix"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::api::json::test_support::split_http;

    #[test]
    fn sample_flow_logs_name_their_group_bucket_and_prefix() {
        let raw = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/aws/responses/ec2_DescribeFlowLogs.response.txt"
        ));
        let out = ec2::parse_describe_flow_logs(split_http(raw).2).unwrap();
        let f: Vec<model::FlowLog> = out.flow_logs.iter().map(flow_log).collect();
        assert_eq!(f[0].log_group_name.as_deref(), Some("/vpc/flow-logs"));
        assert_eq!(f[0].bucket, None);
        assert_eq!(f[0].max_aggregation_interval, Some(600));
        assert_eq!(f[1].bucket.as_deref(), Some("my-flow-log-bucket"));
        assert_eq!(f[1].bucket_prefix.as_deref(), Some("prefix"));
        assert_eq!(f[1].file_format.as_deref(), Some("plain-text"));
        assert_eq!(f[1].log_group_name, None);
        assert!(
            f[1].log_format
                .as_deref()
                .unwrap()
                .contains("${traffic-path}")
        );
        // A flow log that names its group only through the ARN.
        let g = ec2::FlowLog {
            flow_log_id: "fl-1",
            log_destination_type: Some("cloud-watch-logs"),
            log_destination: Some("arn:aws:logs:us-east-1:1:log-group:/a/b:*".into()),
            ..Default::default()
        };
        assert_eq!(flow_log(&g).log_group_name.as_deref(), Some("/a/b"));
    }

    #[test]
    fn sample_route_tables_keep_one_target_per_route() {
        let raw = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/aws/responses/ec2_DescribeRouteTables.response.txt"
        ));
        let out = ec2::parse_describe_route_tables(split_http(raw).2).unwrap();
        let t = route_table(&out.route_tables[0]);
        let routes: Vec<(&str, &str)> = t
            .routes
            .iter()
            .map(|r| (r.destination.as_str(), r.target.as_str()))
            .collect();
        assert!(routes.contains(&("10.0.0.0/16", "local")), "{routes:?}");
        assert!(
            routes.contains(&("0.0.0.0/0", "nat-0123456789abcdef0")),
            "{routes:?}"
        );
        assert_eq!(t.subnet_ids, vec!["subnet-0a1b2c3d4e5f60001".to_string()]);
    }
}
