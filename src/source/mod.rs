//! The three inputs and what they share.
//!
//! - `cwl_payload`: CloudWatch Logs subscription payloads as they arrive in Kinesis records.
//! - `s3_key`: what a flow-log S3 object key says (account, region, flow log, format).

pub mod cwl_payload;
pub mod s3_key;
