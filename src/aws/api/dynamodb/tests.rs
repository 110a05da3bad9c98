//! DynamoDB builders against botocore's captured requests (sample and moto), parsers against
//! botocore's parse of the same responses.

use super::*;
use crate::aws::api::json::test_support::{
    assert_prefixes_fail, assert_same_request, botocore, botocore_datetime_ms, split_http,
};
use serde_json::Value;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/aws/", $name))
    };
}

fn body(raw: &[u8]) -> &[u8] {
    split_http(raw).2
}

/// Compares a parsed item with botocore's `{"name": {"S": "v"}, …}`.
fn check_item(got: &Item<'_>, want: &Value) {
    let want = want.as_object().unwrap();
    assert_eq!(got.0.len(), want.len());
    for (k, v) in &got.0 {
        let wv = &want[&**k];
        match v {
            AttributeValue::S(s) => assert_eq!(Some(&**s), wv["S"].as_str()),
            AttributeValue::N(n) => assert_eq!(Some(&**n), wv["N"].as_str()),
            other => panic!("unexpected value {other:?}"),
        }
    }
}

const SHARD0: [(&str, AttrValue<'static>); 1] = [("shard", AttrValue::S("shardId-000000000000"))];

#[test]
fn requests_match_botocore() {
    assert_same_request(
        &get_item(&GetItemInput {
            table_name: "agent-checkpoints",
            key: &SHARD0,
            consistent_read: Some(true),
            ..Default::default()
        }),
        fixture!("requests/dynamodb_GetItem.request.txt"),
    );
    assert_same_request(
        &get_item(&GetItemInput {
            table_name: "agent-leases",
            key: &SHARD0,
            consistent_read: Some(true),
            ..Default::default()
        }),
        fixture!("requests/moto_dynamodb_GetItem.request.txt"),
    );
    assert_same_request(
        &create_table(&CreateTableInput {
            table_name: "agent-leases",
            partition_key: KeyAttribute {
                name: "shard",
                attr_type: KeyType::S,
            },
            sort_key: None,
            billing: Billing::PayPerRequest,
        }),
        fixture!("requests/moto_dynamodb_CreateTable.request.txt"),
    );
    assert_same_request(
        &describe_table("agent-leases"),
        fixture!("requests/moto_dynamodb_DescribeTable.request.txt"),
    );
    let not_exists = Condition {
        expression: Some("attribute_not_exists(#s)"),
        names: &[("#s", "shard")],
        values: &[],
    };
    assert_same_request(
        &put_item(&PutItemInput {
            table_name: "agent-leases",
            item: &[
                ("shard", AttrValue::S("shardId-000000000000")),
                ("owner", AttrValue::S("agent-a")),
                ("counter", AttrValue::N("1")),
            ],
            condition: not_exists,
            return_values: None,
        }),
        fixture!("requests/moto_dynamodb_PutItem.request.txt"),
    );
    assert_same_request(
        &put_item(&PutItemInput {
            table_name: "agent-leases",
            item: &[
                ("shard", AttrValue::S("shardId-000000000001")),
                ("owner", AttrValue::S("agent-a")),
                (
                    "checkpoint",
                    AttrValue::S("49612345678901234567890123456789012345678901234567892"),
                ),
            ],
            condition: Condition::default(),
            return_values: None,
        }),
        fixture!("requests/moto_dynamodb_PutItem_second.request.txt"),
    );
    assert_same_request(
        &update_item(&UpdateItemInput {
            table_name: "agent-leases",
            key: &SHARD0,
            update_expression: "SET #c = #c + :one, #o = :new",
            condition: Condition {
                expression: Some("#o = :old"),
                names: &[("#c", "counter"), ("#o", "owner")],
                values: &[
                    (":one", AttrValue::N("1")),
                    (":new", AttrValue::S("agent-b")),
                    (":old", AttrValue::S("agent-a")),
                ],
            },
            return_values: Some(ReturnValues::AllNew),
        }),
        fixture!("requests/moto_dynamodb_UpdateItem.request.txt"),
    );
    assert_same_request(
        &delete_item(&DeleteItemInput {
            table_name: "agent-leases",
            key: &[("shard", AttrValue::S("shardId-000000000001"))],
            condition: Condition {
                expression: Some("#o = :me"),
                names: &[("#o", "owner")],
                values: &[(":me", AttrValue::S("agent-a"))],
            },
            return_values: Some(ReturnValues::AllOld),
        }),
        fixture!("requests/moto_dynamodb_DeleteItem.request.txt"),
    );
    assert_same_request(
        &scan(&ScanInput {
            table_name: "agent-leases",
            limit: Some(10),
            consistent_read: Some(true),
            ..Default::default()
        }),
        fixture!("requests/moto_dynamodb_Scan.request.txt"),
    );
}

#[test]
fn other_value_types_serialize_like_botocore() {
    let req = put_item(&PutItemInput {
        table_name: "t",
        item: &[("a", AttrValue::Bool(false)), ("b", AttrValue::Null)],
        ..Default::default()
    });
    assert_eq!(
        std::str::from_utf8(&req.body).unwrap(),
        r#"{"TableName": "t", "Item": {"a": {"BOOL": false}, "b": {"NULL": true}}}"#
    );
}

#[test]
fn get_item_matches_botocore() {
    for (raw, parsed) in [
        (
            &fixture!("responses/dynamodb_GetItem.response.txt")[..],
            &fixture!("responses/dynamodb_GetItem.parsed-by-botocore.json")[..],
        ),
        (
            fixture!("responses/moto_dynamodb_GetItem.response.txt"),
            fixture!("responses/moto_dynamodb_GetItem.parsed-by-botocore.json"),
        ),
    ] {
        let out = parse_get_item(body(raw)).unwrap();
        check_item(out.item.as_ref().unwrap(), &botocore(parsed)["Item"]);
        assert_prefixes_fail(body(raw), |b| parse_get_item(b).is_ok());
    }
    let out = parse_get_item(body(fixture!(
        "responses/moto_dynamodb_GetItem.response.txt"
    )))
    .unwrap();
    let item = out.item.unwrap();
    assert_eq!(item.get_s("owner"), Some("agent-b"));
    assert_eq!(
        item.get("counter").and_then(AttributeValue::as_i64),
        Some(2)
    );
    assert!(parse_get_item(b"{}").unwrap().item.is_none());
}

#[test]
fn writes_match_botocore() {
    let out = parse_put_item(body(fixture!(
        "responses/moto_dynamodb_PutItem.response.txt"
    )))
    .unwrap();
    assert!(out.attributes.is_none());
    for (raw, parsed) in [
        (
            &fixture!("responses/moto_dynamodb_UpdateItem.response.txt")[..],
            &fixture!("responses/moto_dynamodb_UpdateItem.parsed-by-botocore.json")[..],
        ),
        (
            fixture!("responses/moto_dynamodb_DeleteItem.response.txt"),
            fixture!("responses/moto_dynamodb_DeleteItem.parsed-by-botocore.json"),
        ),
    ] {
        let out = parse_update_item(body(raw)).unwrap();
        check_item(
            out.attributes.as_ref().unwrap(),
            &botocore(parsed)["Attributes"],
        );
        assert_prefixes_fail(body(raw), |b| parse_delete_item(b).is_ok());
    }
}

#[test]
fn scan_matches_botocore() {
    let raw = fixture!("responses/moto_dynamodb_Scan.response.txt");
    let out = parse_scan(body(raw)).unwrap();
    let want = botocore(fixture!(
        "responses/moto_dynamodb_Scan.parsed-by-botocore.json"
    ));
    let items = want["Items"].as_array().unwrap();
    assert_eq!(out.items.len(), items.len());
    for (g, w) in out.items.iter().zip(items) {
        check_item(g, w);
    }
    assert_eq!(Some(out.count), want["Count"].as_u64());
    assert_eq!(Some(out.scanned_count), want["ScannedCount"].as_u64());
    assert_eq!(
        out.last_evaluated_key.is_some(),
        !want["LastEvaluatedKey"].is_null()
    );
    assert_prefixes_fail(body(raw), |b| parse_scan(b).is_ok());
}

#[test]
fn tables_match_botocore() {
    let raw = fixture!("responses/moto_dynamodb_DescribeTable.response.txt");
    let got = parse_describe_table(body(raw)).unwrap().table.unwrap();
    let want = botocore(fixture!(
        "responses/moto_dynamodb_DescribeTable.parsed-by-botocore.json"
    ));
    let w = &want["Table"];
    assert_eq!(got.table_name.as_deref(), w["TableName"].as_str());
    assert_eq!(got.table_status.as_deref(), w["TableStatus"].as_str());
    assert_eq!(got.table_arn.as_deref(), w["TableArn"].as_str());
    assert_eq!(got.item_count, w["ItemCount"].as_u64());
    assert_eq!(
        got.creation_date_time,
        Some(botocore_datetime_ms(
            w["CreationDateTime"].as_str().unwrap()
        ))
    );
    let keys = w["KeySchema"].as_array().unwrap();
    assert_eq!(got.key_schema.len(), keys.len());
    for (g, wk) in got.key_schema.iter().zip(keys) {
        assert_eq!(g.attribute_name, wk["AttributeName"].as_str().unwrap());
        assert_eq!(g.key_type, wk["KeyType"].as_str().unwrap());
    }
    assert_prefixes_fail(body(raw), |b| parse_describe_table(b).is_ok());
    let raw = fixture!("responses/moto_dynamodb_CreateTable.response.txt");
    let created = parse_create_table(body(raw))
        .unwrap()
        .table_description
        .unwrap();
    assert_eq!(created.table_status.as_deref(), Some("ACTIVE"));
}

#[test]
fn unsupported_value_types_are_marked_not_rejected() {
    let out = parse_get_item(br#"{"Item": {"k": {"S": "a"}, "m": {"M": {"x": {"N": "1"}}}, "l": {"L": []}, "b": {"BOOL": true}, "n": {"NULL": true}}}"#).unwrap();
    let item = out.item.unwrap();
    assert_eq!(item.get("m"), Some(&AttributeValue::Other));
    assert_eq!(item.get("l"), Some(&AttributeValue::Other));
    assert_eq!(item.get("b"), Some(&AttributeValue::Bool(true)));
    assert_eq!(item.get("n"), Some(&AttributeValue::Null));
    assert!(parse_get_item(br#"{"Item": {"k": {}}}"#).is_err());
}
