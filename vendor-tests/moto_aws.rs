//! Our AWS clients against the moto emulator (moto_server from PyPI, in `.venv`): every API client
//! through `AwsClient` and the real poll loop, signature checking, 50 concurrent GetObject calls,
//! and the `check-aws` command.
//!
//! One moto_server serves the whole binary (`harness = false`: this file's `main` starts it, runs
//! the tests one after another with a reset in between, and stops it by PID). Resources are
//! seeded with boto3 by `vendor-tests/moto_seed.py`. `cargo test --test moto_aws -- NAME` runs the
//! tests whose name contains NAME.
//!
//! moto facts met here: HTTP 500 for DescribeInstances with the filter `network-interface.subnet-id`
//! (avoided: we filter by `vpc-id`) and for SearchTransitGatewayRoutes with `MaxResults` (sent
//! without); MaxResults is not honoured for subnets (one page); CreateFlowLogs to S3 needs the
//! bucket to exist; PutLogEvents drops events older than 14 days; signature checking also
//! applies the IAM policy.
#![allow(clippy::disallowed_methods)] // a test harness is its own driver

#[path = "moto_aws/apis.rs"]
mod apis;
#[path = "moto_aws/check_aws.rs"]
mod check_aws;
#[path = "moto_aws/support.rs"]
mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use support::{Aws, Call, MOTO_ACCOUNT, Moto, call, keys, pattern, s, streamed};
use vpcflow_ipfix::aws::api::{dynamodb, ec2, kinesis, logs, s3, sqs, sts};
use vpcflow_ipfix::aws::credentials::assume_role::AssumeRoleConfig;
use vpcflow_ipfix::aws::credentials::{CredentialCache, CredentialSet};
use vpcflow_ipfix::driver::pool::HttpClientConfig;

type Test = fn(&Moto);

const TESTS: &[(&str, Test)] = &[
    (
        "sts_identity_and_assume_role_with_external_id",
        sts_identity_and_assume_role,
    ),
    ("ec2_describe_calls", apis::ec2_describe_calls),
    ("cloudwatch_logs_calls", apis::cloudwatch_logs_calls),
    ("kinesis_calls", apis::kinesis_calls),
    ("sqs_calls", apis::sqs_calls),
    ("s3_calls", apis::s3_calls),
    ("dynamodb_conditional_writes", apis::dynamodb_calls),
    ("cloudwatch_metrics_put_then_get", apis::cloudwatch_metrics),
    (
        "signature_checking_accepts_ours_and_names_a_wrong_secret",
        signature_checking,
    ),
    (
        "fifty_get_object_calls_in_flight_on_one_thread",
        fifty_get_objects,
    ),
    (
        "check_aws_prints_a_profile_and_an_assumed_role",
        check_aws::check_aws_two_accounts,
    ),
    (
        "check_aws_names_a_denied_action",
        check_aws::check_aws_denied_action,
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if args.iter().any(|a| a == "--list") {
        for (name, _) in TESTS {
            println!("{name}: test");
        }
        return;
    }
    let selected: Vec<&(&str, Test)> = TESTS
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests (moto_aws)", selected.len());
    if selected.is_empty() {
        return;
    }
    let moto = Moto::start();
    let mut failed = Vec::new();
    for (name, test) in &selected {
        moto.reset();
        let outcome = catch_unwind(AssertUnwindSafe(|| test(&moto)));
        match outcome {
            Ok(()) => println!("test {name} ... ok"),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(*name);
            }
        }
    }
    if !failed.is_empty() {
        eprintln!("moto_server log (tail):\n{}", moto.logs());
    }
    drop(moto);
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        selected.len() - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        eprintln!("failed: {}", failed.join(", "));
        std::process::exit(101);
    }
}

fn sts_identity_and_assume_role(moto: &Moto) {
    // Account 0: static keys; account 1: a role in another account, assumed with account 0's keys.
    let mut set = CredentialSet::new();
    let base = set.add(
        keys("base", support::BOOTSTRAP_KEYS.0, support::BOOTSTRAP_KEYS.1),
        None,
    );
    let role = AssumeRoleConfig::new(
        "arn:aws:iam::111111111111:role/FlowReader",
        Some("ext-1234"),
        Duration::from_secs(900),
        1,
        support::REGION,
    )
    .expect("valid role");
    let role = set.add(CredentialCache::assume_role(role, 3), Some(base));
    let mut aws = Aws::new(moto, set, HttpClientConfig::default());
    let out = aws.run(vec![
        call(sts::get_caller_identity()),
        Call {
            account: role,
            ..call(sts::get_caller_identity())
        },
        call(sts::assume_role(&sts::AssumeRoleInput {
            role_arn: "arn:aws:iam::222222222222:role/Other",
            role_session_name: "vpcflow-test",
            external_id: Some("ext-5678"),
            duration_seconds: Some(3600),
        })),
    ]);
    let me = sts::parse_get_caller_identity(out[0].ok()).expect("parses");
    assert_eq!(me.account, MOTO_ACCOUNT);
    let assumed = sts::parse_get_caller_identity(out[1].ok()).expect("parses");
    assert_eq!(assumed.account, "111111111111");
    assert!(
        assumed
            .arn
            .starts_with("arn:aws:sts::111111111111:assumed-role/FlowReader/vpcflow-ipfix-1"),
        "{}",
        assumed.arn
    );
    let direct = sts::parse_assume_role(out[2].ok()).expect("parses");
    assert!(
        direct.access_key_id.starts_with("ASIA"),
        "{:?}",
        direct.access_key_id
    );
    assert_eq!(aws.client().account_id(role), Some("111111111111"));
}

fn signature_checking(moto: &Moto) {
    let user = moto.seed(&["user", "vpcflow-ipfix-test"]);
    moto.seed(&["sqs", "flow-events"]);
    moto.seed(&["s3", "flow-bucket", "k.log.gz", "1000"]);
    moto.enable_auth();
    let (access, secret) = (s(&user, "access_key"), s(&user, "secret_key"));
    let wrong = format!("x{}", &secret[1..]);
    let mut set = CredentialSet::new();
    set.add(keys("user", access, secret), None);
    let bad = set.add(keys("wrong secret", access, &wrong), None);
    let unknown = set.add(keys("unknown key", "AKIAUNKNOWNKEY000000", secret), None);
    let mut aws = Aws::new(moto, set, HttpClientConfig::default());
    let mut calls = vec![
        call(sts::get_caller_identity()),
        call(ec2::describe_regions(&ec2::DescribeRegionsInput::default())),
        call(sqs::get_queue_url("flow-events", None)),
        call(logs::describe_log_groups(
            &logs::DescribeLogGroupsInput::default(),
        )),
        call(kinesis::list_shards(&kinesis::ListShardsInput {
            stream: kinesis::StreamRef::Name("none"),
            next_token: None,
            stream_with_next_token: false,
            exclusive_start_shard_id: None,
            shard_filter: None,
            max_results: None,
        })),
        call(dynamodb::describe_table("none")),
        streamed(s3::get_object(&s3::GetObjectInput {
            bucket: "flow-bucket",
            key: "k.log.gz",
            range: None,
            if_match: None,
        })),
    ];
    calls.push(Call {
        account: bad,
        ..call(sts::get_caller_identity())
    });
    calls.push(Call {
        account: bad,
        ..call(s3::list_buckets(&s3::ListBucketsInput::default()))
    });
    calls.push(Call {
        account: unknown,
        ..call(sts::get_caller_identity())
    });
    let out = aws.run(calls);
    let me = sts::parse_get_caller_identity(out[0].ok()).expect("identity");
    assert_eq!(me.arn, s(&user, "arn"));
    ec2::parse_describe_regions(out[1].ok()).expect("regions");
    sqs::parse_get_queue_url(out[2].ok()).expect("queue url");
    logs::parse_describe_log_groups(out[3].ok()).expect("groups");
    // Accepted signatures, then the services' own "no such resource".
    for (i, code) in [
        (4, "ResourceNotFoundException"),
        (5, "ResourceNotFoundException"),
    ] {
        let e = out[i].err();
        assert!(e.aws_error().is_some_and(|x| x.is_code(code)), "{e}");
    }
    assert_eq!(out[6].ok().len(), 1000);
    for i in [7, 8] {
        let e = out[i].err().to_string();
        assert!(
            e.contains("SignatureDoesNotMatch") && e.contains("signature"),
            "{e}"
        );
        assert!(
            !e.contains(&wrong) && !e.contains(secret),
            "no secret in {e}"
        );
    }
    let e = out[9].err().to_string();
    assert!(
        e.contains("InvalidClientTokenId") || e.contains("InvalidAccessKeyId"),
        "{e}"
    );
}

fn fifty_get_objects(moto: &Moto) {
    const N: u64 = 50;
    const PART: u64 = 20_000;
    moto.seed(&["s3", "many-bucket", "big.log.gz", &(N * PART).to_string()]);
    let mut set = CredentialSet::new();
    set.add(
        keys(
            "bootstrap",
            support::BOOTSTRAP_KEYS.0,
            support::BOOTSTRAP_KEYS.1,
        ),
        None,
    );
    let http = HttpClientConfig {
        max_connections: 64,
        max_per_host: 64,
        max_idle_per_host: 64,
        ..HttpClientConfig::default()
    };
    let mut aws = Aws::new(moto, set, http);
    let calls = (0..N)
        .map(|i| {
            streamed(s3::get_object(&s3::GetObjectInput {
                bucket: "many-bucket",
                key: "big.log.gz",
                range: Some(s3::ByteRange {
                    first: i * PART,
                    last: Some((i + 1) * PART - 1),
                }),
                if_match: None,
            }))
        })
        .collect();
    let out = aws.run(calls);
    for (i, o) in (0u64..).zip(&out) {
        let body = o.ok();
        assert_eq!(body.len() as u64, PART, "part {i}");
        assert!(
            body.iter().zip(i * PART..).all(|(b, j)| *b == pattern(j)),
            "part {i}"
        );
    }
    assert!(
        aws.peak.active_calls >= N as usize && aws.peak.open >= N as usize,
        "calls were not in flight at once: {:?}",
        aws.peak
    );
}
