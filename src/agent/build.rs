//! Builds the input state machines of the [`InputPlan`]s with the config's settings and their
//! restored checkpoints.
//!
//! Two things are shared between inputs here: the CloudWatch Logs request budget, one per
//! (account, region), so every log group of an account and region together stays within the
//! API quota; and the ARNs of the enabled Kinesis inputs, handed to every CloudWatch Logs input
//! so a group subscribed to one of them is read through Kinesis only (no duplicates).

use std::collections::HashMap;
use std::fmt;
use std::time::{Instant, SystemTime};

use serde_json::Value;

use super::plan::{InputPlan, PlanKind, kinesis_arns};
use crate::config::config::Config;
use crate::source::Input;
use crate::source::budget::{RequestBudget, SharedBudget};
use crate::source::cwl::{CwlInput, CwlSettings};
use crate::source::kinesis::{KinesisInput, KinesisSettings};
use crate::source::s3_sqs::{S3SqsInput, S3SqsSettings};

/// An input that cannot be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    pub line: usize,
    pub input: String,
    pub reason: String,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: input {}: {}",
            self.line, self.input, self.reason
        )
    }
}

impl std::error::Error for BuildError {}

/// Builds inputs one after the other, sharing budgets.
pub struct Builder<'a> {
    cfg: &'a Config,
    kinesis: Vec<String>,
    budgets: HashMap<(String, String), SharedBudget>,
    emulator: bool,
}

impl<'a> Builder<'a> {
    /// `emulator`: the AWS endpoints are overridden (moto): work around its known differences.
    pub fn new(cfg: &'a Config, plans: &[InputPlan], emulator: bool) -> Builder<'a> {
        Builder {
            cfg,
            kinesis: kinesis_arns(plans),
            budgets: HashMap::new(),
            emulator,
        }
    }

    /// The input of `plan`, resuming from `saved` (its entry of `checkpoints.json`).
    pub fn build(
        &mut self,
        plan: &InputPlan,
        saved: Option<&Value>,
        now: Instant,
        wall: SystemTime,
    ) -> Result<Box<dyn Input>, BuildError> {
        let fail = |reason: &str| BuildError {
            line: plan.line,
            input: plan.name.clone(),
            reason: reason.to_string(),
        };
        match &plan.kind {
            PlanKind::S3 { bucket, queue_url } => {
                let settings = S3SqsSettings::new(bucket, queue_url, self.cfg.s3_concurrency);
                Ok(Box::new(S3SqsInput::new(settings, saved, now)))
            }
            PlanKind::Cwl { arn } => {
                // CloudWatch Logs ARNs always name their region.
                let region = plan.region.clone().unwrap_or_default();
                let budget = self
                    .budgets
                    .entry((plan.account_id.clone(), region))
                    .or_insert_with(RequestBudget::shared)
                    .clone();
                let mut settings =
                    CwlSettings::new(arn, budget).ok_or_else(|| fail("not a log group ARN"))?;
                settings.request_interval = self.cfg.cwl_request_interval;
                settings.initial_position = self.cfg.cwl_initial_position;
                settings.kinesis_streams = self.kinesis.clone();
                Ok(Box::new(CwlInput::new(settings, saved, now, wall)))
            }
            PlanKind::Kinesis { arn } => {
                let mut settings =
                    KinesisSettings::new(arn).ok_or_else(|| fail("not a Kinesis stream ARN"))?;
                settings.initial_position = self.cfg.kinesis_initial_position;
                settings.enhanced_fan_out = self.cfg.kinesis_enhanced_fan_out;
                settings.metrics_level = self.cfg.kinesis_metrics_level;
                // moto wants the stream name beside ListShards' NextToken; AWS refuses it.
                settings.list_shards_stream_with_next_token = self.emulator;
                Ok(Box::new(KinesisInput::new(settings, saved, now, wall)))
            }
        }
    }
}
