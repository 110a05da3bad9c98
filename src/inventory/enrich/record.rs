//! The enrichment of one record as the pipeline takes it: what the inventory knows, else what
//! the input already knew (an S3 key's Region and account, a log group's VPC). Kept apart from
//! the tables so the pipeline's change is one call (see `enrichment_for`).

use super::EnrichTables;
use crate::flowlog::FlowRecord;
use crate::inventory::ip_ranges::IpRanges;
use crate::pipeline::map::Enrichment;

/// The [`Enrichment`] of `rec`: each member from the inventory (`tables`, and `ip` for the
/// remote side's AWS service) when it knows, else `given`'s (the input's fallbacks);
/// `exporter_ipv4` is `given`'s (the domain's, set by the pipeline). Allocation-free: hash
/// probes and binary searches whose results borrow from `tables`, `ip` and `given`.
///
/// Empty `tables` (no inventory yet) give back `given`, plus the remote service when the record
/// says which side is remote (`flow-direction`).
pub fn enrichment_for<'a>(
    tables: &'a EnrichTables,
    ip: Option<&'a IpRanges>,
    rec: &FlowRecord<'_>,
    given: &Enrichment<'a>,
) -> Enrichment<'a> {
    let found = tables.enrich(rec, ip);
    Enrichment {
        instance_name: found.instance_name.or(given.instance_name),
        vpc_name: found.vpc_name.or(given.vpc_name),
        subnet_name: found.subnet_name.or(given.subnet_name),
        remote_aws_service: found.remote_aws_service.or(given.remote_aws_service),
        path_kind: found.path_kind.or(given.path_kind),
        availability_zone: found.availability_zone.or(given.availability_zone),
        remote_aws_region: found.remote_aws_region.or(given.remote_aws_region),
        vpc_id: found.vpc_id.or(given.vpc_id),
        subnet_id: found.subnet_id.or(given.subnet_id),
        instance_id: found.instance_id.or(given.instance_id),
        az_id: found.az_id.or(given.az_id),
        region: found.region.or(given.region),
        account_id: found.account_id.or(given.account_id),
        exporter_ipv4: given.exporter_ipv4,
    }
}
