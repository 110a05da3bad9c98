//! vpcflow-ipfix: AWS VPC Flow Logs to IPFIX.
//!
//! The crate is a sans-IO core driven by one thread's poll loop (design.md): `driver/` owns
//! sockets, files, signals and the clock; everything else is handed bytes and time.
#![deny(unsafe_code)]

pub mod agent;
pub mod cli;
pub mod config {
    #[allow(clippy::module_inception)] // design.md names it config/config.rs
    pub mod config;
    pub mod ini;
}
pub mod crc32;
pub mod export;
pub mod flowlog;
pub mod gzip;
pub mod http;
pub mod ipfix;
pub mod pipeline;
pub mod source;
pub mod driver {
    pub mod agent_loop;
    pub mod aws_loop;
    pub mod call;
    pub mod clock;
    pub mod conn;
    pub mod export_io;
    pub mod logger;
    #[cfg(test)]
    mod loopback_test;
    pub mod pool;
    pub mod resolve;
    pub mod signals;
    pub mod store;
    pub mod tcp;
    #[cfg(test)]
    mod test_server;
    pub mod tls;
    pub mod udp;
    pub mod udp_segments;
}
pub mod inventory {
    pub mod cron;
    pub mod discover;
    pub mod enrich;
    pub mod ip_ranges;
    pub mod model;
    pub mod refresh;
    pub mod report;
}
pub mod aws {
    pub mod api {
        pub mod base64;
        pub mod dynamodb;
        pub mod ec2;
        pub mod imds;
        pub mod json;
        pub mod kinesis;
        pub mod logs;
        pub mod monitoring;
        pub mod query;
        pub mod s3;
        pub mod s3_event;
        pub mod sqs;
        pub mod sts;
        pub mod xml;
    }
    pub mod client;
    pub mod clock_skew;
    pub mod credentials;
    pub mod endpoint;
    pub mod error;
    pub mod permissions;
    pub mod request;
    pub mod retry;
    pub mod sign;
    pub mod xml;
}
