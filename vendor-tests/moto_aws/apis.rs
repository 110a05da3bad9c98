//! The API clients against moto: EC2 Describe*, CloudWatch Logs, Kinesis, SQS, S3, DynamoDB and
//! CloudWatch metrics, each through `AwsClient` and the real poll loop, compared with what
//! `moto_seed.py` created with boto3.

use std::time::UNIX_EPOCH;

use super::support::{Aws, MOTO_ACCOUNT, Moto, call, pattern, s, streamed};
use vpcflow_ipfix::aws::api::ec2::{self, DescribeInput, Filter};
use vpcflow_ipfix::aws::api::{base64, dynamodb, kinesis, logs, monitoring, s3, sqs};
use vpcflow_ipfix::aws::client::AwsCallError;
use vpcflow_ipfix::driver::clock::Now;

pub fn ec2_describe_calls(moto: &Moto) {
    let ids = moto.seed(&["ec2"]);
    let (vpc, subnet) = (s(&ids, "vpc_id"), s(&ids, "subnet_id"));
    let by_vpc = [Filter {
        name: "vpc-id",
        values: &[vpc],
    }];
    let in_vpc = DescribeInput {
        filters: &by_vpc,
        ..DescribeInput::default()
    };
    let by_subnet = [Filter {
        name: "subnet-id",
        values: &[subnet],
    }];
    let by_resource = [Filter {
        name: "resource-id",
        values: &[vpc],
    }];
    let static_routes = [Filter {
        name: "type",
        values: &["static"],
    }];
    let mut aws = Aws::bootstrap(moto);
    let out = aws.run(vec![
        call(ec2::describe_regions(&ec2::DescribeRegionsInput::default())),
        call(ec2::describe_vpcs(&DescribeInput {
            ids: &[vpc],
            ..DescribeInput::default()
        })),
        call(ec2::describe_subnets(&in_vpc)),
        call(ec2::describe_instances(&in_vpc)),
        call(ec2::describe_network_interfaces(&DescribeInput {
            filters: &by_subnet,
            ..DescribeInput::default()
        })),
        call(ec2::describe_flow_logs(&DescribeInput {
            filters: &by_resource,
            ..DescribeInput::default()
        })),
        call(ec2::describe_nat_gateways(&in_vpc)),
        call(ec2::describe_vpc_endpoints(&in_vpc)),
        call(ec2::describe_route_tables(&in_vpc)),
        call(ec2::describe_vpc_peering_connections(&DescribeInput {
            ids: &[s(&ids, "peering_id")],
            ..DescribeInput::default()
        })),
        call(ec2::describe_transit_gateway_attachments(&DescribeInput {
            filters: &by_resource,
            ..DescribeInput::default()
        })),
        call(ec2::search_transit_gateway_routes(
            &ec2::SearchTransitGatewayRoutesInput {
                transit_gateway_route_table_id: s(&ids, "tgw_route_table_id"),
                filters: &static_routes,
                // moto answers HTTP 500 to SearchTransitGatewayRoutes with MaxResults.
                max_results: None,
                next_token: None,
            },
        )),
    ]);
    let regions = ec2::parse_describe_regions(out[0].ok()).expect("regions");
    assert!(regions.regions.iter().any(|r| r.region_name == "eu-west-1"));
    let vpcs = ec2::parse_describe_vpcs(out[1].ok()).expect("vpcs");
    assert_eq!(vpcs.vpcs.len(), 1);
    assert_eq!(vpcs.vpcs[0].cidr_block, Some("10.10.0.0/16"));
    assert_eq!(vpcs.vpcs[0].tags.name(), Some("flow-vpc"));
    let subnets = ec2::parse_describe_subnets(out[2].ok()).expect("subnets");
    assert_eq!(subnets.subnets.len(), 1);
    assert_eq!(subnets.subnets[0].subnet_id, subnet);
    assert_eq!(subnets.subnets[0].availability_zone, Some("us-east-1a"));
    let instances = ec2::parse_describe_instances(out[3].ok()).expect("instances");
    let inst = &instances.reservations[0].instances[0];
    assert_eq!(inst.instance_id, s(&ids, "instance_id"));
    assert_eq!(inst.private_ip_address, Some(s(&ids, "instance_ip")));
    assert_eq!(inst.tags.name(), Some("web-1"));
    let enis = ec2::parse_describe_network_interfaces(out[4].ok()).expect("enis");
    let eni = enis
        .network_interfaces
        .iter()
        .find(|e| e.network_interface_id == s(&ids, "eni_id"))
        .expect("the seeded ENI");
    assert_eq!(eni.description.as_deref(), Some("collector eni"));
    assert_eq!(eni.vpc_id, Some(vpc));
    let flow_logs = ec2::parse_describe_flow_logs(out[5].ok()).expect("flow logs");
    assert_eq!(flow_logs.flow_logs[0].flow_log_id, s(&ids, "flow_log_id"));
    assert_eq!(flow_logs.flow_logs[0].log_destination_type, Some("s3"));
    assert_eq!(
        flow_logs.flow_logs[0].log_destination.as_deref(),
        Some("arn:aws:s3:::flow-logs-bucket")
    );
    let nats = ec2::parse_describe_nat_gateways(out[6].ok()).expect("nat gateways");
    assert_eq!(
        nats.nat_gateways[0].nat_gateway_id,
        s(&ids, "nat_gateway_id")
    );
    assert_eq!(nats.nat_gateways[0].subnet_id, Some(subnet));
    let endpoints = ec2::parse_describe_vpc_endpoints(out[7].ok()).expect("endpoints");
    let ep = &endpoints.vpc_endpoints[0];
    assert_eq!(ep.vpc_endpoint_id, s(&ids, "vpc_endpoint_id"));
    assert_eq!(ep.service_name, Some("com.amazonaws.us-east-1.s3"));
    let tables = ec2::parse_describe_route_tables(out[8].ok()).expect("route tables");
    let rtb = tables
        .route_tables
        .iter()
        .find(|t| t.route_table_id == s(&ids, "route_table_id"))
        .expect("the seeded route table");
    assert!(
        rtb.routes
            .iter()
            .any(|r| r.nat_gateway_id == Some(s(&ids, "nat_gateway_id"))),
        "{rtb:?}"
    );
    let peerings = ec2::parse_describe_vpc_peering_connections(out[9].ok()).expect("peerings");
    let pcx = &peerings.vpc_peering_connections[0];
    assert_eq!(pcx.requester.vpc_id, Some(vpc));
    assert_eq!(pcx.accepter.vpc_id, Some(s(&ids, "vpc2_id")));
    let attachments =
        ec2::parse_describe_transit_gateway_attachments(out[10].ok()).expect("attachments");
    let att = &attachments.transit_gateway_attachments[0];
    assert_eq!(
        att.transit_gateway_attachment_id,
        s(&ids, "tgw_attachment_id")
    );
    assert_eq!(att.transit_gateway_id, Some(s(&ids, "tgw_id")));
    assert_eq!(att.resource_type, Some("vpc"));
    let routes = ec2::parse_search_transit_gateway_routes(out[11].ok()).expect("tgw routes");
    assert_eq!(
        routes.routes[0].destination_cidr_block,
        Some("10.10.0.0/16")
    );
}

pub fn cloudwatch_logs_calls(moto: &Moto) {
    let seeded = moto.seed(&["logs", "flows", "eni-0a1b2c3d-all"]);
    let messages: Vec<&str> = seeded["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    let group = logs::LogGroupRef::Name("flows");
    let mut aws = Aws::bootstrap(moto);
    let out = aws.run(vec![
        call(logs::describe_log_groups(&logs::DescribeLogGroupsInput {
            log_group_name_prefix: Some("flows"),
            log_group_name_pattern: None,
            limit: Some(5),
            next_token: None,
        })),
        call(logs::describe_log_streams(&logs::DescribeLogStreamsInput {
            log_group: group,
            log_stream_name_prefix: Some("eni-"),
            order_by: None,
            descending: None,
            limit: Some(5),
            next_token: None,
        })),
        call(logs::get_log_events(&logs::GetLogEventsInput {
            log_group: group,
            log_stream_name: "eni-0a1b2c3d-all",
            start_time: None,
            end_time: None,
            start_from_head: Some(true),
            limit: Some(100),
            next_token: None,
        })),
        call(logs::describe_subscription_filters(
            &logs::DescribeSubscriptionFiltersInput {
                log_group_name: "flows",
                filter_name_prefix: None,
                limit: Some(5),
                next_token: None,
            },
        )),
        call(logs::get_log_events(&logs::GetLogEventsInput {
            log_group: logs::LogGroupRef::Name("no-such-group"),
            log_stream_name: "x",
            start_time: None,
            end_time: None,
            start_from_head: Some(true),
            limit: Some(1),
            next_token: None,
        })),
    ]);
    let groups = logs::parse_describe_log_groups(out[0].ok()).expect("groups");
    assert_eq!(groups.log_groups.len(), 1);
    assert_eq!(groups.log_groups[0].log_group_name, "flows");
    let streams = logs::parse_describe_log_streams(out[1].ok()).expect("streams");
    assert_eq!(streams.log_streams[0].log_stream_name, "eni-0a1b2c3d-all");
    let events = logs::parse_get_log_events(out[2].ok()).expect("events");
    let got: Vec<&str> = events.events.iter().map(|e| &*e.message).collect();
    assert_eq!(got, messages);
    let stamps: Vec<i64> = events.events.iter().map(|e| e.timestamp).collect();
    let seeded_stamps: Vec<i64> = seeded["timestamps"]
        .as_array()
        .expect("timestamps")
        .iter()
        .filter_map(|t| t.as_i64())
        .collect();
    assert_eq!(stamps, seeded_stamps);
    // The forward token resumes after the last event: nothing new.
    let token = events.next_forward_token.as_deref().expect("forward token");
    let again = aws.one(call(logs::get_log_events(&logs::GetLogEventsInput {
        log_group: group,
        log_stream_name: "eni-0a1b2c3d-all",
        start_time: None,
        end_time: None,
        start_from_head: Some(true),
        limit: Some(100),
        next_token: Some(token),
    })));
    assert!(
        logs::parse_get_log_events(again.ok())
            .expect("parses")
            .events
            .is_empty()
    );
    let filters = logs::parse_describe_subscription_filters(out[3].ok()).expect("filters");
    let f = &filters.subscription_filters[0];
    assert_eq!(f.filter_name.as_deref(), Some(s(&seeded, "filter_name")));
    assert_eq!(
        f.destination_arn.as_deref(),
        Some(s(&seeded, "destination_arn"))
    );
    let missing = out[4].err();
    assert!(
        matches!(missing, AwsCallError::Rejected { .. }),
        "{missing}"
    );
    assert!(
        missing
            .aws_error()
            .is_some_and(|e| e.is_code("ResourceNotFoundException"))
    );
}

pub fn kinesis_calls(moto: &Moto) {
    let seeded = moto.seed(&["kinesis", "flow-stream"]);
    let arn = s(&seeded, "stream_arn");
    let stream = kinesis::StreamRef::Name("flow-stream");
    let mut aws = Aws::bootstrap(moto);
    let out = aws.run(vec![
        call(kinesis::list_shards(&kinesis::ListShardsInput {
            stream,
            next_token: None,
            stream_with_next_token: false,
            exclusive_start_shard_id: None,
            shard_filter: None,
            max_results: Some(100),
        })),
        call(kinesis::describe_stream_summary(stream)),
        call(kinesis::get_shard_iterator(
            &kinesis::GetShardIteratorInput {
                stream,
                shard_id: s(&seeded, "shard_id"),
                position: kinesis::ShardPosition::TrimHorizon,
            },
        )),
        call(kinesis::register_stream_consumer(arn, "vpcflow-ipfix")),
    ]);
    let shards = kinesis::parse_list_shards(out[0].ok()).expect("shards");
    assert_eq!(shards.shards.len(), 1);
    assert_eq!(shards.shards[0].shard_id, s(&seeded, "shard_id"));
    let summary = kinesis::parse_describe_stream_summary(out[1].ok()).expect("summary");
    let summary = summary.stream_description_summary;
    assert_eq!(summary.stream_arn, arn);
    assert_eq!(summary.stream_status, "ACTIVE");
    assert_eq!(summary.open_shard_count, Some(1));
    let iterator = kinesis::parse_get_shard_iterator(out[2].ok()).expect("iterator");
    let iterator = iterator.shard_iterator.expect("an iterator");
    let consumer = kinesis::parse_register_stream_consumer(out[3].ok()).expect("consumer");
    let consumer_arn = consumer.consumer.consumer_arn.into_owned();
    let out = aws.run(vec![
        call(kinesis::get_records(&kinesis::GetRecordsInput {
            shard_iterator: &iterator,
            limit: Some(100),
            stream_arn: Some(arn),
        })),
        call(kinesis::describe_stream_consumer(
            kinesis::ConsumerRef::Arn(&consumer_arn),
        )),
        call(kinesis::list_stream_consumers(
            &kinesis::ListStreamConsumersInput {
                stream_arn: arn,
                next_token: None,
                max_results: Some(10),
            },
        )),
    ]);
    let records = kinesis::parse_get_records(out[0].ok()).expect("records");
    let data: Vec<Vec<u8>> = records
        .records
        .iter()
        .map(|r| {
            let mut d = Vec::new();
            base64::decode_into(r.data.as_bytes(), &mut d).expect("base64");
            d
        })
        .collect();
    assert_eq!(data, [b"first record".to_vec(), b"second record".to_vec()]);
    let seqs: Vec<&str> = records
        .records
        .iter()
        .map(|r| &*r.sequence_number)
        .collect();
    let expected: Vec<&str> = seeded["sequence_numbers"]
        .as_array()
        .expect("seqs")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(seqs, expected);
    assert!(records.next_shard_iterator.is_some());
    let described = kinesis::parse_describe_stream_consumer(out[1].ok()).expect("consumer");
    assert_eq!(
        described.consumer_description.consumer_name,
        "vpcflow-ipfix"
    );
    let listed = kinesis::parse_list_stream_consumers(out[2].ok()).expect("consumers");
    assert_eq!(listed.consumers.len(), 1);
}

pub fn sqs_calls(moto: &Moto) {
    let seeded = moto.seed(&["sqs", "flow-events"]);
    let url = s(&seeded, "queue_url");
    let mut aws = Aws::bootstrap(moto);
    let out = aws.run(vec![
        call(sqs::get_queue_url("flow-events", Some(MOTO_ACCOUNT))),
        call(sqs::get_queue_attributes(
            url,
            &["QueueArn", "VisibilityTimeout"],
        )),
        call(sqs::receive_message(&sqs::ReceiveMessageInput {
            queue_url: url,
            max_number_of_messages: Some(10),
            wait_time_seconds: Some(0),
            visibility_timeout: Some(30),
            message_system_attribute_names: &["ApproximateReceiveCount", "SentTimestamp"],
            message_attribute_names: &[],
            receive_request_attempt_id: None,
        })),
        call(sqs::get_queue_url("no-such-queue", None)),
    ]);
    let got_url = sqs::parse_get_queue_url(out[0].ok()).expect("url");
    assert_eq!(got_url.queue_url, url);
    let attrs = sqs::parse_get_queue_attributes(out[1].ok()).expect("attributes");
    assert_eq!(
        attrs.attributes.get("QueueArn").map(|v| &**v),
        Some(s(&seeded, "queue_arn"))
    );
    let received = sqs::parse_receive_message(out[2].ok()).expect("messages");
    let mut bodies: Vec<&str> = received.messages.iter().map(|m| &*m.body).collect();
    bodies.sort_unstable();
    assert_eq!(bodies, ["message 0", "message 1", "message 2"]);
    assert_eq!(
        received.messages[0]
            .attributes
            .approximate_receive_count
            .as_deref(),
        Some("1")
    );
    let missing = out[3].err();
    assert!(
        missing
            .aws_error()
            .is_some_and(|e| e.is_code("QueueDoesNotExist")
                || e.is_code("AWS.SimpleQueueService.NonExistentQueue")),
        "{missing}"
    );
    let handles: Vec<&str> = received
        .messages
        .iter()
        .map(|m| &*m.receipt_handle)
        .collect();
    let visibility = [
        sqs::VisibilityEntry {
            id: "b",
            receipt_handle: handles[1],
            visibility_timeout: 60,
        },
        sqs::VisibilityEntry {
            id: "c",
            receipt_handle: handles[2],
            visibility_timeout: 60,
        },
    ];
    let deletes = [
        sqs::DeleteEntry {
            id: "b",
            receipt_handle: handles[1],
        },
        sqs::DeleteEntry {
            id: "c",
            receipt_handle: handles[2],
        },
    ];
    let out = aws.run(vec![
        call(sqs::change_message_visibility(url, handles[0], 0)),
        call(sqs::change_message_visibility_batch(url, &visibility).expect("batch")),
    ]);
    sqs::parse_empty("ChangeMessageVisibility", out[0].ok()).expect("empty");
    let batch = sqs::parse_change_message_visibility_batch(out[1].ok()).expect("batch result");
    assert_eq!((batch.successful.len(), batch.failed.len()), (2, 0));
    let out = aws.run(vec![
        call(sqs::delete_message(url, handles[0])),
        call(sqs::delete_message_batch(url, &deletes).expect("batch")),
    ]);
    sqs::parse_empty("DeleteMessage", out[0].ok()).expect("empty");
    let batch = sqs::parse_delete_message_batch(out[1].ok()).expect("batch result");
    let mut ids: Vec<&str> = batch.successful.iter().map(|b| &*b.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["b", "c"]);
    let after = aws.one(call(sqs::get_queue_attributes(
        url,
        &[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
        ],
    )));
    let attrs = sqs::parse_get_queue_attributes(after.ok()).expect("attributes");
    assert_eq!(
        attrs
            .attributes
            .get("ApproximateNumberOfMessages")
            .map(|v| &**v),
        Some("0")
    );
    assert_eq!(
        attrs
            .attributes
            .get("ApproximateNumberOfMessagesNotVisible")
            .map(|v| &**v),
        Some("0")
    );
}

pub fn s3_calls(moto: &Moto) {
    const SIZE: u64 = 300_000;
    let key = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/26/x.log.gz";
    let seeded = moto.seed(&["s3", "flow-bucket", key, &SIZE.to_string(), "flow-events"]);
    let get = |range: Option<s3::ByteRange>, key: &str| {
        s3::get_object(&s3::GetObjectInput {
            bucket: "flow-bucket",
            key,
            range,
            if_match: None,
        })
    };
    let mut aws = Aws::bootstrap(moto);
    let out = aws.run(vec![
        call(s3::list_buckets(&s3::ListBucketsInput::default())),
        call(s3::head_bucket("flow-bucket")),
        call(s3::get_bucket_location("flow-bucket")),
        call(s3::get_bucket_notification_configuration("flow-bucket")),
        streamed(get(
            Some(s3::ByteRange {
                first: 1000,
                last: Some(1999),
            }),
            key,
        )),
        streamed(get(None, key)),
        streamed(get(None, "AWSLogs/missing.log.gz")),
        call(s3::head_bucket("no-such-bucket")),
    ]);
    let buckets = s3::parse_list_buckets(out[0].ok()).expect("buckets");
    assert!(buckets.buckets.iter().any(|b| b.name == "flow-bucket"));
    let head = s3::parse_head_bucket_headers(&out[1].response().headers).expect("head");
    assert_eq!(head.bucket_region, Some("us-east-1"));
    let location = s3::parse_get_bucket_location(out[2].ok()).expect("location");
    assert_eq!(
        location.location_constraint, None,
        "us-east-1 is the empty constraint"
    );
    let notif = s3::parse_get_bucket_notification_configuration(out[3].ok()).expect("notification");
    let q = &notif.queue_configurations[0];
    assert_eq!(q.arn, s(&seeded, "queue_arn"));
    assert_eq!(q.events, ["s3:ObjectCreated:*"]);
    assert_eq!(q.filter_rules[0].value, ".log.gz");
    // The range: 206, Content-Range, the right 1000 bytes.
    let ranged = out[4].response();
    assert_eq!(ranged.status, 206);
    let h = s3::parse_get_object_headers(&ranged.headers).expect("object headers");
    let cr = h.content_range.expect("content-range");
    assert_eq!(
        (cr.first, cr.last, cr.complete_length),
        (1000, 1999, Some(SIZE))
    );
    assert_eq!(h.etag, Some(s(&seeded, "etag")));
    let body = out[4].ok();
    assert_eq!(body.len(), 1000);
    assert!(body.iter().zip(1000u64..).all(|(b, i)| *b == pattern(i)));
    let whole = out[5].ok();
    assert_eq!(whole.len() as u64, SIZE);
    assert!(whole.iter().zip(0u64..).all(|(b, i)| *b == pattern(i)));
    let missing = out[6].err();
    assert!(
        missing.aws_error().is_some_and(|e| e.is_code("NoSuchKey")),
        "{missing}"
    );
    assert!(matches!(out[7].err(), AwsCallError::Rejected { .. }));
}

pub fn dynamodb_calls(moto: &Moto) {
    use dynamodb::{AttrValue, Condition};
    const TABLE: &str = "vpcflow-checkpoints";
    let key = [("id", AttrValue::S("shard-0001"))];
    let mut aws = Aws::bootstrap(moto);
    let created = aws.one(call(dynamodb::create_table(&dynamodb::CreateTableInput {
        table_name: TABLE,
        partition_key: dynamodb::KeyAttribute {
            name: "id",
            attr_type: dynamodb::KeyType::S,
        },
        sort_key: None,
        billing: dynamodb::Billing::PayPerRequest,
    })));
    let created = dynamodb::parse_create_table(created.ok()).expect("created");
    assert_eq!(
        created
            .table_description
            .and_then(|t| t.table_name)
            .as_deref(),
        Some(TABLE)
    );
    let new_item = [
        ("id", AttrValue::S("shard-0001")),
        ("seq", AttrValue::N("1")),
    ];
    let only_new = Condition {
        expression: Some("attribute_not_exists(id)"),
        ..Condition::default()
    };
    let put = || {
        call(dynamodb::put_item(&dynamodb::PutItemInput {
            table_name: TABLE,
            item: &new_item,
            condition: only_new,
            return_values: None,
        }))
    };
    let out = aws.run(vec![call(dynamodb::describe_table(TABLE)), put()]);
    let table = dynamodb::parse_describe_table(out[0].ok()).expect("table");
    assert_eq!(
        table.table.and_then(|t| t.table_status).as_deref(),
        Some("ACTIVE")
    );
    dynamodb::parse_put_item(out[1].ok()).expect("put");
    // The same conditional put again: refused, not retried.
    let again = aws.one(put());
    assert!(
        again
            .err()
            .aws_error()
            .is_some_and(|e| e.is_code("ConditionalCheckFailedException")),
        "{}",
        again.err()
    );
    let update = |old: &'static str| {
        call(dynamodb::update_item(&dynamodb::UpdateItemInput {
            table_name: TABLE,
            key: &key,
            update_expression: "SET seq = :new",
            condition: Condition {
                expression: Some("seq = :old"),
                names: &[],
                values: &[(":new", AttrValue::N("2")), (":old", AttrValue::N(old))],
            },
            return_values: Some(dynamodb::ReturnValues::AllNew),
        }))
    };
    let updated = aws.one(update("1"));
    let updated = dynamodb::parse_update_item(updated.ok()).expect("updated");
    let attrs = updated.attributes.expect("ALL_NEW");
    assert_eq!(attrs.get("seq").and_then(|v| v.as_i64()), Some(2));
    let stale = aws.one(update("1"));
    assert!(
        stale
            .err()
            .aws_error()
            .is_some_and(|e| e.is_code("ConditionalCheckFailedException"))
    );
    let out = aws.run(vec![
        call(dynamodb::get_item(&dynamodb::GetItemInput {
            table_name: TABLE,
            key: &key,
            consistent_read: Some(true),
            projection_expression: None,
            expression_attribute_names: &[],
        })),
        call(dynamodb::scan(&dynamodb::ScanInput {
            table_name: TABLE,
            limit: Some(10),
            consistent_read: None,
            exclusive_start_key: &[],
            filter: Condition::default(),
        })),
    ]);
    let item = dynamodb::parse_get_item(out[0].ok())
        .expect("item")
        .item
        .expect("present");
    assert_eq!(item.get_s("id"), Some("shard-0001"));
    assert_eq!(item.get("seq").and_then(|v| v.as_i64()), Some(2));
    let scan = dynamodb::parse_scan(out[1].ok()).expect("scan");
    assert_eq!((scan.count, scan.items.len()), (1, 1));
    let deleted = aws.one(call(dynamodb::delete_item(&dynamodb::DeleteItemInput {
        table_name: TABLE,
        key: &key,
        condition: Condition::default(),
        return_values: Some(dynamodb::ReturnValues::AllOld),
    })));
    let old = dynamodb::parse_delete_item(deleted.ok()).expect("deleted");
    assert_eq!(
        old.attributes
            .and_then(|a| a.get("seq").and_then(|v| v.as_i64())),
        Some(2)
    );
}

pub fn cloudwatch_metrics(moto: &Moto) {
    let now_ms = Now::read()
        .wall
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    let dims = [monitoring::Dimension {
        name: "Input",
        value: "kinesis",
    }];
    let data = [monitoring::MetricDatum {
        metric_name: "RecordsExported",
        value: 42.0,
        unit: Some("Count"),
        dimensions: &dims,
        timestamp: Some(now_ms),
        storage_resolution: None,
    }];
    let mut aws = Aws::bootstrap(moto);
    let put = aws.one(call(
        monitoring::put_metric_data("vpcflow-ipfix/test", &data).expect("request"),
    ));
    assert!(put.response().is_success());
    let queries = [monitoring::MetricQuery {
        id: "m1",
        namespace: "vpcflow-ipfix/test",
        metric_name: "RecordsExported",
        dimensions: &dims,
        period_secs: 60,
        stat: "Sum",
        unit: None,
    }];
    let got = aws.one(call(monitoring::get_metric_data(
        &monitoring::GetMetricDataInput {
            queries: &queries,
            start_time: now_ms - 600_000,
            end_time: now_ms + 600_000,
            next_token: None,
            max_datapoints: None,
        },
    )));
    let got = monitoring::parse_get_metric_data(got.ok()).expect("metric data");
    let r = &got.metric_data_results[0];
    assert_eq!(r.id, "m1");
    assert_eq!(r.values, [42.0]);
}
