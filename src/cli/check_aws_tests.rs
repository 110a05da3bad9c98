use super::*;
use crate::aws::credentials::{CacheId, CredentialCache, CredentialSet, Credentials};
use crate::aws::endpoint::EndpointOverrides;
use crate::aws::permissions::IamAction;
use crate::aws::request::Service;

fn client() -> AwsClient {
    let mut set = CredentialSet::new();
    let creds = Credentials::new("AKIDEXAMPLE", "secret", None, None);
    set.add(
        CredentialCache::fixed("profile a", creds, "us-east-1", 1),
        None,
    );
    AwsClient::new(set, EndpointOverrides::default(), 1)
}

fn check(identity: Identity) -> AccountCheck {
    AccountCheck {
        account: Account {
            cache: CacheId(0),
            label: "profile a".to_string(),
            region: Some("eu-west-1".to_string()),
            region_from: "profile a".to_string(),
        },
        identity,
        probes: Vec::new(),
        verdicts: Vec::new(),
        next_probe: 0,
        printed: false,
    }
}

#[test]
fn report_lists_every_probe_with_its_verdict() {
    let mut c = check(Identity::Known {
        account_id: "123456789012".to_string(),
        arn: "arn:aws:iam::123456789012:user/ops".to_string(),
    });
    c.probes = permissions::probes(&ProbeTargets {
        region: "eu-west-1",
        account_id: "123456789012",
        ..ProbeTargets::default()
    });
    c.verdicts = vec![Some(ProbeVerdict::Allowed); c.probes.len()];
    c.verdicts[1] = Some(ProbeVerdict::Denied {
        action: IamAction::of(Service::Ec2, "DescribeInstances"),
        detail: "UnauthorizedOperation: You are not authorized".to_string(),
    });
    c.verdicts[2] = Some(ProbeVerdict::Unknown("timed out".to_string()));
    assert!(c.is_finished());
    let text = report(&c, 1, 2, &client());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "account 1 of 2: profile a");
    assert_eq!(
        lines[1],
        "  account id   123456789012  arn:aws:iam::123456789012:user/ops"
    );
    assert_eq!(lines[2], "  region       eu-west-1 (profile a)");
    assert_eq!(lines[4], "    ok       ec2:DescribeRegions");
    assert_eq!(
        lines[5],
        "    MISSING  ec2:DescribeInstances  on dry run: UnauthorizedOperation: You are not authorized"
    );
    assert_eq!(
        lines[6],
        "    unknown  ec2:DescribeFlowLogs  on dry run: timed out"
    );
    let n = c.probes.len();
    assert_eq!(lines.len(), 4 + n + 1);
    assert_eq!(
        lines[4 + n],
        format!("  result       usable; {} ok, 1 missing, 1 unknown", n - 2)
    );
}

#[test]
fn an_unusable_account_says_why() {
    let c = check(Identity::Failed(
        "sts:GetCallerIdentity: no credentials from role arn:aws:iam::1:role/x".to_string(),
    ));
    assert!(c.is_finished());
    assert_eq!(
        report(&c, 2, 2, &client()),
        "account 2 of 2: profile a\n\
         \x20 account id   unknown: sts:GetCallerIdentity: no credentials from role arn:aws:iam::1:role/x\n\
         \x20 region       eu-west-1 (profile a)\n\
         \x20 result       UNUSABLE: STS did not confirm its credentials\n"
    );
    assert!(!check(Identity::Asking).is_finished());
}

#[test]
fn probes_target_the_inputs_of_their_own_account() {
    let cfg = Config::parse(
        "[input cwl:arn:aws:logs:us-east-1:111111111111:log-group:Other]\nenabled = true\n\
         [input cwl:arn:aws:logs:eu-west-1:123456789012:log-group:Flows]\nenabled = true\n\
         [input kinesis:arn:aws:kinesis:eu-west-1:123456789012:stream/S]\nenabled = false\n\
         [input s3:arn:aws:s3:::flow-bucket]\nqueue = https://sqs.eu-west-1.amazonaws.com/123456789012/q\nenabled = true\n",
    )
    .expect("config parses");
    let t = targets_for(&cfg.inputs, "123456789012", "eu-west-1");
    assert_eq!(
        t.log_group,
        Some("arn:aws:logs:eu-west-1:123456789012:log-group:Flows")
    );
    assert_eq!(t.stream, None, "disabled inputs are not probed");
    assert_eq!(t.bucket, Some("flow-bucket"));
    assert_eq!(
        t.queue_url,
        Some("https://sqs.eu-west-1.amazonaws.com/123456789012/q")
    );
    let other = targets_for(&cfg.inputs, "999999999999", "us-east-1");
    assert_eq!(
        (other.log_group, other.bucket, other.region),
        (None, None, "us-east-1")
    );
}
