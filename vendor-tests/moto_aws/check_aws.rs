//! `vpcflow-ipfix check-aws` (the built binary) against moto: a credentials-file profile and an
//! assumed role with an external id, then a user whose policy denies one action.

use std::process::Command;

use super::support::{self, MOTO_ACCOUNT, Moto, TempDir, s};

/// Runs the built binary with a clean environment pointing at moto.
fn check_aws(moto: &Moto, dir: &TempDir, config: &str) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vpcflow-ipfix"))
        .args(["check-aws", "--config", config])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &dir.0)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run vpcflow-ipfix");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The probe lines (`ok` / `MISSING` / `unknown`) of one account's section.
fn probe_lines<'a>(stdout: &'a str, header: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with(header))
        .skip(1)
        .take_while(|l| !l.starts_with("account "))
        .filter(|l| l.starts_with("    "))
        .collect()
}

pub fn check_aws_two_accounts(moto: &Moto) {
    let dir = TempDir::new("check-aws");
    let creds = dir.file(
        "credentials",
        &format!(
            "[moto]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            support::BOOTSTRAP_KEYS.0,
            support::BOOTSTRAP_KEYS.1
        ),
    );
    let aws_config = dir.file("aws-config", "[profile moto]\nregion = eu-west-1\n");
    let config = dir.file(
        "vpcflow.ini",
        &format!(
            "[aws]\ncredentials_file = {creds}\nconfig_file = {aws_config}\n\
             role = arn:aws:iam::111111111111:role/FlowReader, ext-1234\nsession_duration = 15m\n"
        ),
    );
    let (code, stdout, stderr) = check_aws(moto, &dir, &config);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "account 1 of 2: profile moto");
    assert!(
        lines[1].starts_with(&format!(
            "  account id   {MOTO_ACCOUNT}  arn:aws:sts::{MOTO_ACCOUNT}:"
        )),
        "{stdout}"
    );
    assert_eq!(lines[2], "  region       eu-west-1 (profile moto)");
    let role_header =
        "account 2 of 2: role arn:aws:iam::111111111111:role/FlowReader (with external id)";
    let at = lines
        .iter()
        .position(|l| *l == role_header)
        .unwrap_or_else(|| panic!("no role section:\n{stdout}"));
    assert!(
        lines[at + 1].starts_with(
            "  account id   111111111111  arn:aws:sts::111111111111:assumed-role/FlowReader/"
        ),
        "{stdout}"
    );
    assert_eq!(lines[at + 2], "  region       eu-west-1 (profile moto)");
    for header in ["account 1 of 2", "account 2 of 2"] {
        let probes = probe_lines(&stdout, header);
        assert!(probes.len() >= 37, "{header}: {probes:?}");
        assert!(
            probes
                .iter()
                .all(|l| l.starts_with("    ok ") || l.starts_with("    unknown ")),
            "signature checking is off, nothing can be missing:\n{stdout}"
        );
        assert!(
            probes.contains(&"    ok       ec2:DescribeFlowLogs"),
            "{stdout}"
        );
    }
}

pub fn check_aws_denied_action(moto: &Moto) {
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"ec2:DescribeFlowLogs","Resource":"*"}]}"#;
    let user = moto.seed(&["user", "limited", policy]);
    moto.enable_auth();
    let dir = TempDir::new("check-aws-denied");
    let creds = dir.file(
        "credentials",
        &format!(
            "[limited]\naws_access_key_id = {}\naws_secret_access_key = {}\nregion = us-east-1\n",
            s(&user, "access_key"),
            s(&user, "secret_key")
        ),
    );
    let config = dir.file(
        "vpcflow.ini",
        &format!("[aws]\ncredentials_file = {creds}\n"),
    );
    let (code, stdout, stderr) = check_aws(moto, &dir, &config);
    assert_eq!(
        code, 0,
        "missing permissions do not fail the command:\n{stdout}\n{stderr}"
    );
    let probes = probe_lines(&stdout, "account 1 of 1: profile limited");
    let flow_logs: Vec<&&str> = probes
        .iter()
        .filter(|l| l.contains("ec2:DescribeFlowLogs"))
        .collect();
    assert_eq!(flow_logs.len(), 1, "{stdout}");
    assert!(
        flow_logs[0].starts_with("    MISSING  ec2:DescribeFlowLogs  on dry run: "),
        "{stdout}"
    );
    assert!(
        probes.contains(&"    ok       ec2:DescribeVpcs"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  result       usable; ") && stdout.contains(" 1 missing"),
        "{stdout}"
    );
}
