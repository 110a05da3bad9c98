use super::*;
use crate::config::config::Config;

const CREDENTIALS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/aws/misc/aws-credentials.ini"
));
const CONFIG: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/aws/misc/aws-config.ini"
));
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn files(explicit: bool) -> AwsFiles {
    AwsFiles {
        credentials: Some(AwsFile {
            path: "/etc/aws/credentials".to_string(),
            text: CREDENTIALS.to_string(),
            explicit,
        }),
        config: Some(AwsFile {
            path: "/etc/aws/config".to_string(),
            text: CONFIG.to_string(),
            explicit,
        }),
    }
}

fn env_keys() -> AwsEnv {
    AwsEnv {
        access_key_id: Some("AKIDENVEXAMPLE".to_string()),
        secret_access_key: Some(SECRET.to_string()),
        ..AwsEnv::default()
    }
}

fn config(text: &str) -> Config {
    Config::parse(text).expect("config parses")
}

/// (label, region, region_from) of every account.
fn summary(a: &Accounts) -> Vec<(String, Option<String>, String)> {
    a.accounts
        .iter()
        .map(|x| (x.label.clone(), x.region.clone(), x.region_from.clone()))
        .collect()
}

fn row(label: &str, region: Option<&str>, from: &str) -> (String, Option<String>, String) {
    (
        label.to_string(),
        region.map(str::to_string),
        from.to_string(),
    )
}

fn cache_label(a: &Accounts, id: CacheId) -> String {
    a.credentials.cache(id).expect("cache").label().to_string()
}

#[test]
fn every_profile_of_an_explicit_credentials_file_is_an_account() {
    let a = build(&Config::default(), &AwsEnv::default(), &files(true), 1).expect("builds");
    assert_eq!(
        summary(&a),
        [
            row("profile default", Some("us-east-1"), "profile default"),
            row("profile collector", Some("eu-west-1"), "profile collector"),
            row("profile crossacct", Some("us-west-2"), "profile crossacct"),
        ]
    );
    // crossacct assumes its role with collector's keys.
    let cross = a.accounts[2].cache;
    let collector = a.accounts[1].cache;
    assert_eq!(a.credentials.base_of(cross), Some(collector));
    let role = a.credentials.cache(cross).expect("cache");
    assert!(role.is_role());
    assert_eq!(role.account_id(), Some("210987654321"));
    assert_eq!(a.credentials.len(), 3, "no hidden signer needed");
}

#[test]
fn environment_keys_win_over_ambient_files() {
    let a = build(&Config::default(), &env_keys(), &files(false), 1).expect("builds");
    assert_eq!(
        summary(&a),
        [row("environment", Some("us-east-1"), "profile default")]
    );
    let c = a.credentials.current(a.accounts[0].cache).expect("static");
    assert_eq!(c.access_key_id(), "AKIDENVEXAMPLE");
    // An explicit credentials file adds its profiles to the environment's account.
    let a = build(&Config::default(), &env_keys(), &files(true), 1).expect("builds");
    assert_eq!(a.accounts.len(), 4);
    assert_eq!(a.accounts[0].label, "environment");
}

#[test]
fn aws_profile_limits_ambient_files_and_aws_region_wins() {
    let env = AwsEnv {
        profile: Some("collector".to_string()),
        region: Some("ap-south-1".to_string()),
        ..AwsEnv::default()
    };
    let a = build(&Config::default(), &env, &files(false), 1).expect("builds");
    assert_eq!(
        summary(&a),
        [row("profile collector", Some("ap-south-1"), "AWS_REGION")]
    );
    let env = AwsEnv {
        profile: Some("nobody".to_string()),
        ..AwsEnv::default()
    };
    let e = build(&Config::default(), &env, &files(false), 1).expect_err("missing");
    assert_eq!(
        e.to_string(),
        "profile nobody (named by AWS_PROFILE) is in neither the credentials nor the config file"
    );
}

#[test]
fn configured_roles_are_signed_with_the_environment_or_the_default_profile() {
    let cfg = config(
        "[aws]\nrole = arn:aws:iam::999999999999:role/Role1\nrole = arn:aws:iam::999999999997:role/Role2, externalID-2\n",
    );
    let a = build(&cfg, &env_keys(), &AwsFiles::default(), 1).expect("builds");
    assert_eq!(
        summary(&a),
        [
            row("environment", None, ""),
            row("role arn:aws:iam::999999999999:role/Role1", None, ""),
            row(
                "role arn:aws:iam::999999999997:role/Role2 (with external id)",
                None,
                ""
            ),
        ]
    );
    let env_cache = a.accounts[0].cache;
    for r in &a.accounts[1..] {
        assert_eq!(a.credentials.base_of(r.cache), Some(env_cache));
    }
    assert_eq!(
        a.credentials
            .cache(a.accounts[2].cache)
            .and_then(|c| c.account_id()),
        Some("999999999997")
    );
    // Without environment keys: the default profile signs, and the role takes its region.
    let a = build(&cfg, &AwsEnv::default(), &files(true), 1).expect("builds");
    let default = a.accounts[0].cache;
    assert_eq!(cache_label(&a, default), "profile default");
    let role1 = &a.accounts[3];
    assert_eq!(a.credentials.base_of(role1.cache), Some(default));
    assert_eq!(role1.region.as_deref(), Some("us-east-1"));
    assert_eq!(role1.region_from, "profile default");
    // A credentials file without a default profile: its first profile signs.
    let one = AwsFiles {
        credentials: Some(AwsFile {
            path: "c".to_string(),
            text: format!(
                "[moto]\naws_access_key_id = AKID\naws_secret_access_key = {SECRET}\nregion = eu-north-1\n"
            ),
            explicit: true,
        }),
        config: None,
    };
    let a = build(&cfg, &AwsEnv::default(), &one, 1).expect("builds");
    assert_eq!(a.accounts.len(), 3);
    assert_eq!(
        a.credentials.base_of(a.accounts[1].cache),
        Some(a.accounts[0].cache)
    );
    assert_eq!(a.accounts[2].region.as_deref(), Some("eu-north-1"));
    assert_eq!(a.accounts[2].region_from, "profile moto");
}

#[test]
fn the_instance_role_is_the_account_without_keys_and_signs_roles() {
    let cfg = config("[aws]\nrole = arn:aws:iam::999999999999:role/Role1\n");
    let env = AwsEnv {
        imds_endpoint: Some("http://127.0.0.1:8111".to_string()),
        ..AwsEnv::default()
    };
    let a = build(&cfg, &env, &AwsFiles::default(), 1).expect("builds");
    assert_eq!(
        summary(&a),
        [
            row("instance role", None, ""),
            row("role arn:aws:iam::999999999999:role/Role1", None, ""),
        ]
    );
    assert_eq!(cache_label(&a, a.accounts[0].cache), "instance role");
    assert_eq!(
        a.credentials.base_of(a.accounts[1].cache),
        Some(a.accounts[0].cache)
    );
    // Disabled IMDS and nothing else: no credentials at all.
    let env = AwsEnv {
        imds_disabled: true,
        ..AwsEnv::default()
    };
    let e = build(&Config::default(), &env, &AwsFiles::default(), 1).expect_err("none");
    assert!(matches!(e, AccountsError::NoCredentials), "{e}");
    let env = AwsEnv {
        imds_endpoint: Some("https://x".to_string()),
        ..AwsEnv::default()
    };
    let e = build(&Config::default(), &env, &AwsFiles::default(), 1).expect_err("bad url");
    assert!(
        e.to_string()
            .starts_with("AWS_EC2_METADATA_SERVICE_ENDPOINT: "),
        "{e}"
    );
}

#[test]
fn broken_inputs_are_one_line_errors() {
    let half = AwsEnv {
        access_key_id: Some("AKID".to_string()),
        ..AwsEnv::default()
    };
    let e = build(&Config::default(), &half, &AwsFiles::default(), 1).expect_err("half");
    assert_eq!(
        e.to_string(),
        "credentials from environment are incomplete: AWS_SECRET_ACCESS_KEY is missing"
    );
    let looped = AwsFiles {
        credentials: None,
        config: Some(AwsFile {
            path: "c".to_string(),
            text: "[profile a]\nrole_arn = arn:aws:iam::111111111111:role/A\nsource_profile = b\n\
                   [profile b]\nrole_arn = arn:aws:iam::111111111111:role/B\nsource_profile = a\n"
                .to_string(),
            explicit: true,
        }),
    };
    let e = build(&Config::default(), &AwsEnv::default(), &looped, 1).expect_err("loop");
    assert!(matches!(e, AccountsError::SourceLoop { .. }), "{e}");
    let unparsable = AwsFiles {
        credentials: Some(AwsFile {
            path: "/x/credentials".to_string(),
            text: "[default\n".to_string(),
            explicit: true,
        }),
        config: None,
    };
    let e = build(&Config::default(), &AwsEnv::default(), &unparsable, 1).expect_err("parse");
    assert!(e.to_string().starts_with("/x/credentials:1: "), "{e}");
    let bad_source = AwsFiles {
        credentials: None,
        config: Some(AwsFile {
            path: "c".to_string(),
            text: "[profile a]\nrole_arn = arn:aws:iam::111111111111:role/A\ncredential_source = EcsContainer\n"
                .to_string(),
            explicit: true,
        }),
    };
    let e = build(&Config::default(), &AwsEnv::default(), &bad_source, 1).expect_err("source");
    assert!(
        e.to_string().contains("\"EcsContainer\" is not supported"),
        "{e}"
    );
}

#[test]
fn load_reads_the_configured_file_and_warns_about_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("vpcflow-accounts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join("credentials");
    std::fs::write(&path, CREDENTIALS).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let path_s = path.to_string_lossy().into_owned();
    let cfg = config(&format!("[aws]\ncredentials_file = {path_s}\n"));
    let a = load(&cfg, &AwsEnv::default(), 1).expect("loads");
    assert_eq!(a.accounts.len(), 2);
    assert_eq!(a.warnings.len(), 1);
    assert!(a.warnings[0].contains("mode is 0644"), "{:?}", a.warnings);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let a = load(&cfg, &AwsEnv::default(), 1).expect("loads");
    assert!(a.warnings.is_empty());
    // A configured file that is missing is an error; an ambient one is not.
    let cfg = config(&format!("[aws]\ncredentials_file = {path_s}.missing\n"));
    let e = load(&cfg, &AwsEnv::default(), 1).expect_err("missing");
    assert!(e.to_string().starts_with("cannot read "), "{e}");
    let env = AwsEnv {
        shared_credentials_file: Some(format!("{path_s}.missing")),
        imds_disabled: true,
        ..env_keys()
    };
    assert!(load(&Config::default(), &env, 1).is_ok());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
