//! `AwsEnv`: the standard AWS environment variables, read once by `main.rs` and handed to the
//! commands that talk to AWS (design.md: main.rs is the only place that reads the environment).
//!
//! | variable | used for |
//! |---|---|
//! | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` | the `environment` account |
//! | `AWS_PROFILE` | the profile roles are signed with; limits an ambient credentials file to it |
//! | `AWS_REGION`, else `AWS_DEFAULT_REGION` | every account's default region (botocore order) |
//! | `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`, `HOME` | where the AWS files are when the config names none |
//! | `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>` | endpoint overrides (emulators; S3 then path style) |
//! | `AWS_EC2_METADATA_SERVICE_ENDPOINT`, `AWS_EC2_METADATA_DISABLED` | IMDS base URL (tests), or no instance role |
//!
//! Empty values count as unset, as in botocore. `Debug` redacts the secret and the token.

use std::fmt;

use crate::aws::endpoint::EndpointOverrides;
use crate::aws::request::Service;

/// Every service with an `AWS_ENDPOINT_URL_<SERVICE>` variable.
const SERVICES: [Service; 8] = [
    Service::Ec2,
    Service::Sts,
    Service::Sqs,
    Service::Logs,
    Service::Kinesis,
    Service::S3,
    Service::DynamoDb,
    Service::Monitoring,
];

/// The AWS-related environment of the process.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AwsEnv {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub profile: Option<String>,
    pub region: Option<String>,
    pub shared_credentials_file: Option<String>,
    pub config_file: Option<String>,
    pub endpoint_url: Option<String>,
    pub service_endpoints: Vec<(Service, String)>,
    pub home: Option<String>,
    pub imds_endpoint: Option<String>,
    pub imds_disabled: bool,
}

impl fmt::Debug for AwsEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |v: &Option<String>| v.as_ref().map(|_| "** redacted **");
        f.debug_struct("AwsEnv")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &redact(&self.secret_access_key))
            .field("session_token", &redact(&self.session_token))
            .field("profile", &self.profile)
            .field("region", &self.region)
            .field("shared_credentials_file", &self.shared_credentials_file)
            .field("config_file", &self.config_file)
            .field("endpoint_url", &self.endpoint_url)
            .field("service_endpoints", &self.service_endpoints)
            .field("home", &self.home)
            .field("imds_endpoint", &self.imds_endpoint)
            .field("imds_disabled", &self.imds_disabled)
            .finish()
    }
}

impl AwsEnv {
    /// From a variable lookup (`main.rs`: `std::env::var(name).ok()`; tests: a table).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> AwsEnv {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let service_endpoints = SERVICES
            .iter()
            .filter_map(|s| {
                get(&format!("AWS_ENDPOINT_URL_{}", s.env_suffix())).map(|url| (*s, url))
            })
            .collect();
        AwsEnv {
            access_key_id: get("AWS_ACCESS_KEY_ID"),
            secret_access_key: get("AWS_SECRET_ACCESS_KEY"),
            session_token: get("AWS_SESSION_TOKEN"),
            profile: get("AWS_PROFILE"),
            region: get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")),
            shared_credentials_file: get("AWS_SHARED_CREDENTIALS_FILE"),
            config_file: get("AWS_CONFIG_FILE"),
            endpoint_url: get("AWS_ENDPOINT_URL"),
            service_endpoints,
            home: get("HOME"),
            imds_endpoint: get("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
            imds_disabled: get("AWS_EC2_METADATA_DISABLED")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
        }
    }

    /// The endpoint overrides the [`AwsClient`](crate::aws::client::AwsClient) uses.
    pub fn endpoint_overrides(&self) -> EndpointOverrides {
        EndpointOverrides {
            global: self.endpoint_url.clone(),
            per_service: self.service_endpoints.clone(),
        }
    }

    /// `~/.aws/<name>` when `HOME` is known.
    pub fn home_aws_file(&self, name: &str) -> Option<String> {
        let home = self.home.as_deref()?.trim_end_matches('/');
        Some(format!("{home}/.aws/{name}"))
    }

    /// Whether the access key pair is set (even half of it: that is an error to report).
    pub fn has_keys(&self) -> bool {
        self.access_key_id.is_some() || self.secret_access_key.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> AwsEnv {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AwsEnv::from_vars(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn reads_the_standard_variables() {
        let e = env(&[
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            (
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            ),
            ("AWS_SESSION_TOKEN", ""),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "http://127.0.0.1:5001"),
            ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:5002"),
            ("HOME", "/home/ops/"),
            ("AWS_EC2_METADATA_DISABLED", "TRUE"),
        ]);
        assert_eq!(e.access_key_id.as_deref(), Some("AKIDEXAMPLE"));
        assert_eq!(e.session_token, None, "empty counts as unset");
        assert_eq!(e.region.as_deref(), Some("eu-west-1"));
        assert!(e.has_keys() && e.imds_disabled);
        assert_eq!(
            e.home_aws_file("credentials").as_deref(),
            Some("/home/ops/.aws/credentials")
        );
        let o = e.endpoint_overrides();
        assert_eq!(o.for_service(Service::Logs), Some("http://127.0.0.1:5001"));
        assert_eq!(o.for_service(Service::S3), Some("http://127.0.0.1:5002"));
        assert_eq!(o.for_service(Service::Ec2), Some("http://127.0.0.1:5000"));
        let shown = format!("{e:?}");
        assert!(!shown.contains("EXAMPLEKEY"), "{shown}");
    }

    #[test]
    fn aws_region_beats_aws_default_region() {
        let e = env(&[
            ("AWS_REGION", "us-west-2"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
        ]);
        assert_eq!(e.region.as_deref(), Some("us-west-2"));
        let e = env(&[]);
        assert_eq!(e, AwsEnv::default());
        assert_eq!(e.home_aws_file("config"), None);
        assert!(!e.has_keys());
    }
}
