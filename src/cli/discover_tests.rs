use super::*;
use crate::aws::credentials::{CredentialCache, CredentialSet, Credentials};
use crate::aws::endpoint::EndpointOverrides;
use crate::inventory::discover::tests::moto_inventory;
use crate::inventory::model::CallError;

#[test]
fn output_is_the_tables_then_sections_that_parse_or_the_json() {
    let inv = moto_inventory();
    let cfg = Config::default();
    let text = render(&inv, &cfg, None, false).unwrap();
    let at = text
        .find("; ---- vpcflow-ipfix discover ")
        .expect("sections follow the tables");
    assert!(text[..at].contains("prod"), "the tables name the VPCs");
    let sections = &text[at..];
    let parsed = Config::parse(sections).unwrap_or_else(|e| panic!("{e:?}\n{sections}"));
    // Every VPC of the capture gets an exporter (the capture has 3 + 1 + 1 default/named VPCs).
    assert_eq!(parsed.exporters.len(), inv.vpcs().count());
    let json = render(&inv, &cfg, None, true).unwrap();
    assert_eq!(Inventory::from_json(json.as_bytes()).unwrap(), inv);
}

#[test]
fn an_account_refused_by_sts_alone_does_not_fail_the_command() {
    let mut inv = moto_inventory();
    assert_eq!(unusable(&inv), None);
    // The second account's STS refused: the first still makes the run useful.
    inv.accounts[1].caller_arn = None;
    assert_eq!(unusable(&inv), None);
    for a in &mut inv.accounts {
        a.caller_arn = None;
        a.errors.push(CallError {
            operation: "GetCallerIdentity".into(),
            resource: None,
            code: "InvalidClientTokenId".into(),
            message: "The security token included in the request is invalid.".into(),
            action: None,
        });
    }
    let why = unusable(&inv).expect("no account confirmed");
    assert!(
        why.starts_with("no account could be used (profile default: "),
        "{why}"
    );
    assert!(why.contains("InvalidClientTokenId"), "{why}");
}

#[test]
fn summary_counts_vpcs_and_refused_calls() {
    let inv = moto_inventory();
    let s = summary(&inv);
    // The capture's role may not DescribeSubscriptionFilters: one refused call.
    assert!(s.starts_with("2 accounts, 4 account-regions, "), "{s}");
    assert!(
        s.contains(" calls failed (1 access denied, listed above)"),
        "{s}"
    );
}

#[test]
fn account_specs_carry_the_cache_label_and_home_region() {
    let mut set = CredentialSet::new();
    let creds = Credentials::new("AKIDEXAMPLE", "secret", None, None);
    let a = set.add(
        CredentialCache::fixed("profile a", creds, "eu-west-1", 1),
        None,
    );
    let client = AwsClient::new(set, EndpointOverrides::default(), 1);
    let accounts = vec![
        Account {
            cache: a,
            label: "profile a".into(),
            region: Some("eu-west-1".into()),
            region_from: "profile a".into(),
        },
        Account {
            cache: a,
            label: "profile b".into(),
            region: None,
            region_from: String::new(),
        },
    ];
    let specs = account_specs(&accounts, &client);
    assert_eq!(specs[0].account, a);
    assert_eq!(specs[0].label, "profile a");
    assert_eq!(specs[0].home_region, "eu-west-1");
    assert_eq!(specs[1].home_region, accounts::FALLBACK_REGION);
    assert_eq!(specs[0].account_id, None, "not known before a call");
}
