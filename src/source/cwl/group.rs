//! The group-level calls of the CloudWatch Logs input and what their answers do: the formats of
//! the flow logs writing to the group (DescribeFlowLogs), whether an enabled Kinesis input
//! already reads it (DescribeSubscriptionFilters), and its streams (DescribeLogStreams): new
//! ones join, unlisted ones are dropped with their positions.

use std::fmt;

use crate::aws::api::ec2::{self, DescribeInput, Filter};
use crate::aws::api::logs::{
    self, DescribeLogStreamsInput, DescribeSubscriptionFiltersInput, LogGroupRef,
    MAX_DESCRIBE_LIMIT,
};
use crate::aws::client::{ApiResponse, AwsCallError, CallOptions};
use crate::config::config::StartPosition;
use crate::source::Outgoing;

use super::stream::{Phase, Position, Stream};
use super::{COVER_RECHECK, CwlInput, LAYOUT_REFRESH, Pending};

/// `DescribeFlowLogs` reports the format of every flow log; this is the default one (spec A.5).
const DEFAULT_FORMAT: &str = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}";

impl CwlInput {
    pub(super) fn describe_flow_logs(&mut self) -> Outgoing {
        self.layouts.call.in_flight = true;
        let group = [self.settings.log_group.as_str()];
        let filters = [Filter {
            name: "log-group-name",
            values: &group,
        }];
        let request = ec2::describe_flow_logs(&DescribeInput {
            filters: &filters,
            next_token: self.layouts.call.next_token.as_deref(),
            ..DescribeInput::default()
        });
        let options = CallOptions::buffered(ec2::MAX_RESPONSE_BYTES);
        self.out(request, options, Pending::FlowLogs)
    }

    pub(super) fn describe_filters(&mut self) -> Outgoing {
        self.cover.in_flight = true;
        let request = logs::describe_subscription_filters(&DescribeSubscriptionFiltersInput {
            log_group_name: &self.settings.log_group,
            filter_name_prefix: None,
            limit: None,
            next_token: self.cover.next_token.as_deref(),
        });
        let options = Self::logs_options(logs::MAX_DESCRIBE_RESPONSE_BYTES);
        self.out(request, options, Pending::Filters)
    }

    pub(super) fn describe_streams(&mut self) -> Outgoing {
        self.listing.in_flight = true;
        let request = logs::describe_log_streams(&DescribeLogStreamsInput {
            log_group: LogGroupRef::Name(&self.settings.log_group),
            log_stream_name_prefix: None,
            order_by: None,
            descending: None,
            limit: Some(MAX_DESCRIBE_LIMIT),
            next_token: self.listing.next_token.as_deref(),
        });
        let options = Self::logs_options(logs::MAX_DESCRIBE_RESPONSE_BYTES);
        self.out(request, options, Pending::Streams)
    }

    pub(super) fn on_flow_logs(&mut self, result: Result<ApiResponse, AwsCallError>) {
        let body = match result {
            Ok(r) => r.body,
            Err(e) => return self.flow_logs_failed(&e),
        };
        let out = match ec2::parse_describe_flow_logs(&body) {
            Ok(out) => out,
            Err(e) => return self.flow_logs_failed(&e),
        };
        let (group, arn) = (&self.settings.log_group, &self.settings.log_group_arn);
        for fl in &out.flow_logs {
            let to_cwl = fl
                .log_destination_type
                .is_none_or(|t| t == "cloud-watch-logs");
            let to_group = fl.log_group_name.as_deref() == Some(group.as_str())
                || fl
                    .log_destination
                    .as_deref()
                    .is_some_and(|d| d.trim_end_matches(":*") == arn);
            if to_cwl && to_group {
                // AWS always names the format; none means the default one.
                let format = fl.log_format.as_deref().unwrap_or(DEFAULT_FORMAT);
                self.layouts.gathering.push(format.to_string());
            }
        }
        if self
            .layouts
            .call
            .page_done(out.next_token, self.now, LAYOUT_REFRESH)
        {
            self.layouts.finish(&self.settings.log_group, self.now);
        }
    }

    pub(super) fn flow_logs_failed(&mut self, err: &dyn fmt::Display) {
        self.call_failed("ec2:DescribeFlowLogs", err);
        self.layouts.call.failed(self.now, false);
        if self.layouts.set.is_some() {
            // Keep the formats we have; lines of no known format stop waiting for this read.
            self.layouts.fetched_at = Some(self.now);
        }
    }

    pub(super) fn on_filters(&mut self, result: Result<ApiResponse, AwsCallError>) {
        let body = match result {
            Ok(r) => r.body,
            Err(e) => {
                let throttled = self.check_throttle(&e);
                if !throttled {
                    self.call_failed("logs:DescribeSubscriptionFilters", &e);
                }
                return self.cover.failed(self.now, throttled);
            }
        };
        let out = match logs::parse_describe_subscription_filters(&body) {
            Ok(out) => out,
            Err(e) => {
                self.call_failed("logs:DescribeSubscriptionFilters", &e);
                return self.cover.failed(self.now, false);
            }
        };
        for f in &out.subscription_filters {
            if let Some(dest) = f.destination_arn.as_deref()
                && self.settings.kinesis_streams.iter().any(|k| k == dest)
            {
                self.cover_found = Some(dest.to_string());
            }
        }
        if !self
            .cover
            .page_done(out.next_token.as_deref(), self.now, COVER_RECHECK)
        {
            return;
        }
        let now_by = self.cover_found.take();
        if now_by != self.covered_by || !self.cover_known {
            match &now_by {
                Some(k) => log::info!(
                    "cloudwatch logs group read through Kinesis, not polled; input={} kinesis={k}",
                    self.name
                ),
                None if self.covered_by.is_some() => log::info!(
                    "cloudwatch logs group no longer sent to Kinesis, polling resumes; input={}",
                    self.name
                ),
                None => {}
            }
        }
        self.covered_by = now_by;
        self.cover_known = true;
    }

    pub(super) fn on_streams(&mut self, result: Result<ApiResponse, AwsCallError>) {
        let body = match result {
            Ok(r) => r.body,
            Err(e) => {
                let throttled = self.check_throttle(&e);
                if !throttled {
                    self.call_failed("logs:DescribeLogStreams", &e);
                }
                return self.listing.failed(self.now, throttled);
            }
        };
        let out = match logs::parse_describe_log_streams(&body) {
            Ok(out) => out,
            Err(e) => {
                self.call_failed("logs:DescribeLogStreams", &e);
                return self.listing.failed(self.now, false);
            }
        };
        for ls in &out.log_streams {
            let name = ls.log_stream_name.as_ref();
            match self.streams.get_mut(name) {
                Some(s) => s.listed = true,
                None => self.add_stream(name),
            }
        }
        let period = self.listing_period();
        if !self
            .listing
            .page_done(out.next_token.as_deref(), self.now, period)
        {
            return;
        }
        // A complete listing: streams it did not name are gone (their ENI was deleted).
        let gone: Vec<String> = self
            .streams
            .iter()
            .filter(|(_, s)| !s.listed)
            .map(|(n, _)| n.clone())
            .collect();
        for name in gone {
            self.drop_stream(&name, "no longer listed", false);
        }
        for s in self.streams.values_mut() {
            s.listed = false;
        }
        self.listed_once = true;
        // Positions of streams this listing did not name: gone for good.
        if !std::mem::take(&mut self.restored).is_empty() {
            self.dirty();
        }
    }

    pub(super) fn add_stream(&mut self, name: &str) {
        let position = match self.restored.remove(name) {
            Some(p) => p,
            None => match self.settings.initial_position {
                StartPosition::TrimHorizon => Position::default(),
                // Listed at start: from the input's start; appeared later: from its head.
                StartPosition::Latest if !self.listed_once => Position {
                    start_time: Some(self.since),
                    ..Position::default()
                },
                StartPosition::Latest => Position::default(),
            },
        };
        log::debug!(
            "cloudwatch logs stream added; input={} stream={name}",
            self.name
        );
        let source = format!("cwl:{}/{name}", self.settings.log_group);
        self.streams
            .insert(name.to_string(), Stream::new(source, position, self.now));
    }

    /// Forgets a stream. `keep`: its position waits in `restored` until the next complete
    /// listing, in case the stream is listed again (a ResourceNotFoundException that was not
    /// the end of it).
    pub(super) fn drop_stream(&mut self, name: &str, why: &str, keep: bool) {
        let Some(s) = self.streams.remove(name) else {
            return;
        };
        log::info!(
            "cloudwatch logs stream dropped; input={} stream={name} reason={why}",
            self.name
        );
        if let Phase::Feeding(f) = s.phase {
            self.pool.push(f.page);
        }
        if keep {
            self.restored.insert(name.to_string(), s.saved);
        } else if !s.saved.is_empty() {
            self.dirty();
        }
    }
}
