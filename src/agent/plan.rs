//! Which inputs the agent runs, read off the config: every enabled `[input …]` section becomes an
//! [`InputPlan`] with its name (the key of its checkpoint), the account id its calls must be
//! made in and, when the ARN or queue URL says it, its region.
//!
//! The account id is what ties an input to credentials: the agent starts an input once a
//! credential cache reports that account id (`AwsEvent::AccountKnown`). The region comes from
//! the ARN (Kinesis, CloudWatch Logs) or the SQS queue host (`sqs.REGION.amazonaws.com`); a
//! queue URL without one (an emulator's `http://127.0.0.1:5000/ACCOUNT/NAME`) takes the
//! account's default region.

use std::fmt;

use crate::config::config::{Config, InputKind};

/// What kind of input, with what it reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanKind {
    S3 { bucket: String, queue_url: String },
    Cwl { arn: String },
    Kinesis { arn: String },
}

/// One enabled input of the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputPlan {
    /// `s3:BUCKET`, `cwl:GROUP`, `kinesis:STREAM`: the input's name and its checkpoint key.
    pub name: String,
    pub kind: PlanKind,
    /// The 12-digit account its calls are made in.
    pub account_id: String,
    /// `None`: the account's default region.
    pub region: Option<String>,
    /// The line of its `[input …]` section.
    pub line: usize,
}

/// A config whose inputs cannot be run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// No account id in the ARN or queue URL.
    NoAccount {
        line: usize,
        input: String,
    },
    /// Two inputs would share a name, and so a checkpoint.
    SameName {
        name: String,
        line: usize,
        other_line: usize,
    },
    NoInputs,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::NoAccount { line, input } => write!(
                f,
                "line {line}: [input {input}]: no account id in it (expected an ARN with the account, or a queue URL https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)"
            ),
            PlanError::SameName {
                name,
                line,
                other_line,
            } => write!(
                f,
                "line {line}: this input and the one at line {other_line} are both named {name} and would share a checkpoint: enable only one of them"
            ),
            PlanError::NoInputs => f.write_str(
                "no enabled [input ...] section: nothing to read (`discover` prints the sections to add)",
            ),
        }
    }
}

impl std::error::Error for PlanError {}

/// The enabled inputs of `cfg`, in config order.
pub fn plan(cfg: &Config) -> Result<Vec<InputPlan>, PlanError> {
    let mut out: Vec<InputPlan> = Vec::new();
    for spec in cfg.inputs.iter().filter(|i| i.enabled) {
        let (name, kind, account, region) = match &spec.kind {
            InputKind::S3 { bucket, queue_url } => (
                format!("s3:{bucket}"),
                PlanKind::S3 {
                    bucket: bucket.clone(),
                    queue_url: queue_url.clone(),
                },
                queue_account(queue_url),
                queue_region(queue_url),
            ),
            InputKind::CloudWatch { arn } => (
                format!("cwl:{}", arn_resource_name(arn, ":log-group:")),
                PlanKind::Cwl { arn: arn.clone() },
                arn_account(arn),
                arn_region(arn),
            ),
            InputKind::Kinesis { arn } => (
                format!("kinesis:{}", arn_resource_name(arn, ":stream/")),
                PlanKind::Kinesis { arn: arn.clone() },
                arn_account(arn),
                arn_region(arn),
            ),
        };
        let Some(account_id) = account else {
            return Err(PlanError::NoAccount {
                line: spec.line,
                input: section_id(&spec.kind),
            });
        };
        if let Some(other) = out.iter().find(|p| p.name == name) {
            return Err(PlanError::SameName {
                name,
                line: spec.line,
                other_line: other.line,
            });
        }
        out.push(InputPlan {
            name,
            kind,
            account_id: account_id.to_string(),
            region: region.map(str::to_string),
            line: spec.line,
        });
    }
    if out.is_empty() {
        return Err(PlanError::NoInputs);
    }
    Ok(out)
}

/// ARNs of the enabled Kinesis inputs: a log group subscribed to one of them is read there and
/// not polled through the CloudWatch Logs API (no duplicates between inputs).
pub fn kinesis_arns(plans: &[InputPlan]) -> Vec<String> {
    plans
        .iter()
        .filter_map(|p| match &p.kind {
            PlanKind::Kinesis { arn } => Some(arn.clone()),
            _ => None,
        })
        .collect()
}

fn section_id(kind: &InputKind) -> String {
    match kind {
        InputKind::S3 { bucket, .. } => format!("s3:arn:aws:s3:::{bucket}"),
        InputKind::CloudWatch { arn } => format!("cwl:{arn}"),
        InputKind::Kinesis { arn } => format!("kinesis:{arn}"),
    }
}

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` → ACCOUNT (12 digits).
fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| is_account_id(a))
}

fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// What follows `marker` in the ARN (a log group name, a stream name), without a trailing `:*`.
fn arn_resource_name<'a>(arn: &'a str, marker: &str) -> &'a str {
    arn.split_once(marker)
        .map_or(arn, |(_, n)| n)
        .trim_end_matches(":*")
}

/// `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME` (any host) → ACCOUNT.
fn queue_account(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    rest.split('/').nth(1).filter(|a| is_account_id(a))
}

/// The region in an SQS queue host: `sqs.REGION.amazonaws.com[.cn]`, `sqs.REGION.api.aws`, or
/// the legacy `REGION.queue.amazonaws.com`.
fn queue_region(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let host = rest.split('/').next()?;
    let host = host.split(':').next()?;
    let labels: Vec<&str> = host.split('.').collect();
    let region = match labels.as_slice() {
        ["sqs", region, "amazonaws", "com", ..] | ["sqs", region, "api", "aws"] => region,
        [region, "queue", "amazonaws", "com", ..] => region,
        _ => return None,
    };
    let looks_like_region = region.len() >= 9
        && region.contains('-')
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    looks_like_region.then_some(*region)
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_design_example_plans_three_inputs_with_accounts_and_regions() {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/config/design-example.ini"
        ));
        let cfg = Config::parse(text).unwrap();
        let plans = plan(&cfg).unwrap();
        let names: Vec<&str> = plans.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "kinesis:NFLVpcKinesisStream",
                "cwl:NFLVpcFlowLogGroup",
                "s3:my-flow-bucket"
            ]
        );
        for p in &plans {
            assert_eq!(p.account_id, "123456789012", "{p:?}");
            assert_eq!(p.region.as_deref(), Some("us-east-1"), "{p:?}");
        }
        assert_eq!(
            kinesis_arns(&plans),
            ["arn:aws:kinesis:us-east-1:123456789012:stream/NFLVpcKinesisStream"]
        );
    }

    #[test]
    fn queue_urls_give_account_and_region_when_they_have_them() {
        let cases = [
            (
                "https://sqs.eu-west-1.amazonaws.com/111122223333/q",
                Some("111122223333"),
                Some("eu-west-1"),
            ),
            (
                "https://cn-north-1.queue.amazonaws.com.cn/111122223333/q",
                Some("111122223333"),
                Some("cn-north-1"),
            ),
            (
                "http://127.0.0.1:5000/123456789012/flowlogs",
                Some("123456789012"),
                None,
            ),
            (
                "https://sqs.us-east-1.amazonaws.com/q",
                None,
                Some("us-east-1"),
            ),
        ];
        for (url, account, region) in cases {
            assert_eq!(queue_account(url), account, "{url}");
            assert_eq!(queue_region(url), region, "{url}");
        }
    }

    #[test]
    fn disabled_inputs_are_skipped_and_none_enabled_is_an_error() {
        let cfg = Config::parse(
            "[input cwl:arn:aws:logs:us-east-1:123456789012:log-group:g]\nenabled = false\n",
        )
        .unwrap();
        assert_eq!(plan(&cfg), Err(PlanError::NoInputs));
    }

    #[test]
    fn same_group_name_in_two_regions_is_refused_with_both_lines() {
        let cfg = Config::parse(
            "[input cwl:arn:aws:logs:us-east-1:123456789012:log-group:g]\n\
             [input cwl:arn:aws:logs:eu-west-1:123456789012:log-group:g]\n",
        )
        .unwrap();
        let e = plan(&cfg).unwrap_err();
        assert_eq!(
            e,
            PlanError::SameName {
                name: "cwl:g".into(),
                line: 2,
                other_line: 1
            }
        );
        assert!(e.to_string().starts_with("line 2: "), "{e}");
    }

    #[test]
    fn an_arn_without_an_account_is_refused() {
        let cfg = Config::parse("[input kinesis:arn:aws:kinesis:us-east-1::stream/s]\n").unwrap();
        assert!(matches!(
            plan(&cfg),
            Err(PlanError::NoAccount { line: 1, .. })
        ));
    }
}
