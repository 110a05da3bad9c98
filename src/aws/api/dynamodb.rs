//! DynamoDB (JSON 1.0, target `DynamoDB_20120810.<Op>`): enough for a small lease/checkpoint
//! table — create and describe it, read, conditionally write, update and delete items, scan.
//!
//! Attribute values are typed JSON objects (`{"S": "…"}`, `{"N": "123"}`); numbers travel as
//! strings. Builders take string (`S`), number (`N`), boolean and null values; parsers return
//! those and mark every other type as [`AttributeValue::Other`].
//!
//! Paging: `Scan` returns `LastEvaluatedKey` while more items remain; pass it back as
//! `ExclusiveStartKey`. A failed `ConditionExpression` is the error response
//! `ConditionalCheckFailedException` (HTTP 400), read by the shared error parser.

use std::borrow::Cow;
use std::fmt;

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::aws::api::json::{
    BodyError, CowStr, JsonWriter, de_opt_cow, de_opt_epoch_ms, json_request, parse_body,
};
use crate::aws::request::{ApiRequest, Service};

const TARGET_PREFIX: &str = "DynamoDB_20120810";

/// "The maximum item size in DynamoDB is 400 KB" (DynamoDB Developer Guide, Service quotas).
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// "A single Scan operation reads up to the maximum number of items set (if using the Limit
/// parameter) or a maximum of 1 MB of data" (API Reference, Scan).
pub const MAX_SCAN_PAGE_BYTES: usize = 1 << 20;
/// Cap on a `Scan` body: 1 MB of data plus the JSON type wrappers around every value.
pub const MAX_SCAN_RESPONSE_BYTES: usize = 4 << 20;
/// Cap on the single-item and table responses (one 400 KB item plus wrappers).
pub const MAX_ITEM_RESPONSE_BYTES: usize = 2 << 20;

/// Why a DynamoDB response could not be read.
#[derive(Debug)]
pub enum DynamoDbError {
    Body {
        operation: &'static str,
        source: BodyError,
    },
}

impl fmt::Display for DynamoDbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DynamoDbError::Body { operation, source } => {
                write!(f, "dynamodb {operation} response: {source}")
            }
        }
    }
}

impl std::error::Error for DynamoDbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DynamoDbError::Body { source, .. } => Some(source),
        }
    }
}

fn request(operation: &'static str, w: JsonWriter) -> ApiRequest {
    json_request(
        Service::DynamoDb,
        TARGET_PREFIX,
        operation,
        "1.0",
        false,
        w.finish(),
    )
}

fn parse<'a, T: Deserialize<'a>>(
    operation: &'static str,
    body: &'a [u8],
    max: usize,
) -> Result<T, DynamoDbError> {
    parse_body(body, max).map_err(|source| DynamoDbError::Body { operation, source })
}

// ---------------------------------------------------------------- attribute values

/// An attribute value to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrValue<'a> {
    S(&'a str),
    /// A number in its decimal text form (`"49612…"` keeps full precision).
    N(&'a str),
    Bool(bool),
    Null,
}

fn write_value(w: &mut JsonWriter, value: &AttrValue<'_>) {
    match value {
        AttrValue::S(s) => w.str_field("S", s),
        AttrValue::N(n) => w.str_field("N", n),
        AttrValue::Bool(b) => w.bool_field("BOOL", *b),
        AttrValue::Null => w.bool_field("NULL", true),
    }
}

/// `key: {"name": {"S": "…"}, …}`, skipped when empty.
fn write_attr_map(w: &mut JsonWriter, key: &str, attrs: &[(&str, AttrValue<'_>)]) {
    if attrs.is_empty() {
        return;
    }
    w.begin_object_field(key);
    for (name, value) in attrs {
        w.begin_object_field(name);
        write_value(w, value);
        w.end_object();
    }
    w.end_object();
}

/// `key: {"#n": "name", …}`, skipped when empty.
fn write_str_map(w: &mut JsonWriter, key: &str, pairs: &[(&str, &str)]) {
    if pairs.is_empty() {
        return;
    }
    w.begin_object_field(key);
    for (k, v) in pairs {
        w.str_field(k, v);
    }
    w.end_object();
}

/// An attribute value received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttributeValue<'a> {
    S(Cow<'a, str>),
    N(Cow<'a, str>),
    Bool(bool),
    Null,
    /// `B`, `SS`, `NS`, `BS`, `M`, `L`: not used by the agent's tables.
    Other,
}

impl<'a> AttributeValue<'a> {
    pub fn as_s(&self) -> Option<&str> {
        match self {
            AttributeValue::S(s) => Some(s),
            _ => None,
        }
    }

    /// The number, when it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AttributeValue::N(n) => n.parse().ok(),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for AttributeValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AttributeValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a DynamoDB attribute value object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut value = None;
                while let Some(CowStr(key)) = map.next_key::<CowStr<'de>>()? {
                    let v = match &*key {
                        "S" => AttributeValue::S(map.next_value::<CowStr<'de>>()?.0),
                        "N" => AttributeValue::N(map.next_value::<CowStr<'de>>()?.0),
                        "BOOL" => AttributeValue::Bool(map.next_value()?),
                        "NULL" => {
                            map.next_value::<IgnoredAny>()?;
                            AttributeValue::Null
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            AttributeValue::Other
                        }
                    };
                    value.get_or_insert(v);
                }
                value.ok_or_else(|| serde::de::Error::custom("empty attribute value"))
            }
        }
        d.deserialize_map(V)
    }
}

/// An item (or key): attribute names and values in the order received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Item<'a>(pub Vec<(Cow<'a, str>, AttributeValue<'a>)>);

impl<'a> Item<'a> {
    pub fn get(&self, name: &str) -> Option<&AttributeValue<'a>> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The string attribute `name`.
    pub fn get_s(&self, name: &str) -> Option<&str> {
        self.get(name)?.as_s()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Item<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Item<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a DynamoDB item")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut attrs = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some((CowStr(k), v)) =
                    map.next_entry::<CowStr<'de>, AttributeValue<'de>>()?
                {
                    attrs.push((k, v));
                }
                Ok(Item(attrs))
            }
        }
        d.deserialize_map(V)
    }
}

/// `ReturnValues` of the write calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnValues {
    None,
    AllOld,
    UpdatedOld,
    AllNew,
    UpdatedNew,
}

impl ReturnValues {
    fn as_str(self) -> &'static str {
        match self {
            ReturnValues::None => "NONE",
            ReturnValues::AllOld => "ALL_OLD",
            ReturnValues::UpdatedOld => "UPDATED_OLD",
            ReturnValues::AllNew => "ALL_NEW",
            ReturnValues::UpdatedNew => "UPDATED_NEW",
        }
    }
}

/// The condition of a write, with the `#name` / `:value` placeholders it uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Condition<'a> {
    pub expression: Option<&'a str>,
    pub names: &'a [(&'a str, &'a str)],
    pub values: &'a [(&'a str, AttrValue<'a>)],
}

fn write_condition(w: &mut JsonWriter, expression_key: &str, c: &Condition<'_>) {
    w.opt_str_field(expression_key, c.expression);
    write_str_map(w, "ExpressionAttributeNames", c.names);
    write_attr_map(w, "ExpressionAttributeValues", c.values);
}

// ---------------------------------------------------------------- tables

/// `ScalarAttributeType` of a key attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    S,
    N,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyAttribute<'a> {
    pub name: &'a str,
    pub attr_type: KeyType,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Billing {
    PayPerRequest,
    Provisioned {
        read_capacity_units: u64,
        write_capacity_units: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreateTableInput<'a> {
    pub table_name: &'a str,
    pub partition_key: KeyAttribute<'a>,
    pub sort_key: Option<KeyAttribute<'a>>,
    pub billing: Billing,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySchemaElement<'a> {
    #[serde(borrow)]
    pub attribute_name: Cow<'a, str>,
    /// `HASH` or `RANGE`.
    #[serde(borrow)]
    pub key_type: Cow<'a, str>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDescription<'a> {
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub table_name: Option<Cow<'a, str>>,
    /// `CREATING`, `ACTIVE`, …: use the table once `ACTIVE`.
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub table_status: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub table_arn: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub key_schema: Vec<KeySchemaElement<'a>>,
    #[serde(default)]
    pub item_count: Option<u64>,
    #[serde(default)]
    pub table_size_bytes: Option<u64>,
    /// Epoch ms.
    #[serde(default, deserialize_with = "de_opt_epoch_ms")]
    pub creation_date_time: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTableOutput<'a> {
    #[serde(borrow, default)]
    pub table_description: Option<TableDescription<'a>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTableOutput<'a> {
    #[serde(borrow, default)]
    pub table: Option<TableDescription<'a>>,
}

pub fn create_table(input: &CreateTableInput<'_>) -> ApiRequest {
    let keys: Vec<(KeyAttribute<'_>, &str)> = std::iter::once((input.partition_key, "HASH"))
        .chain(input.sort_key.map(|k| (k, "RANGE")))
        .collect();
    let mut w = JsonWriter::new();
    w.str_field("TableName", input.table_name);
    w.begin_array_field("AttributeDefinitions");
    for (k, _) in &keys {
        w.begin_object_elem();
        w.str_field("AttributeName", k.name);
        w.str_field(
            "AttributeType",
            if k.attr_type == KeyType::S { "S" } else { "N" },
        );
        w.end_object();
    }
    w.end_array();
    w.begin_array_field("KeySchema");
    for (k, role) in &keys {
        w.begin_object_elem();
        w.str_field("AttributeName", k.name);
        w.str_field("KeyType", role);
        w.end_object();
    }
    w.end_array();
    match input.billing {
        Billing::PayPerRequest => w.str_field("BillingMode", "PAY_PER_REQUEST"),
        Billing::Provisioned {
            read_capacity_units,
            write_capacity_units,
        } => {
            w.str_field("BillingMode", "PROVISIONED");
            w.begin_object_field("ProvisionedThroughput");
            w.u64_field("ReadCapacityUnits", read_capacity_units);
            w.u64_field("WriteCapacityUnits", write_capacity_units);
            w.end_object();
        }
    }
    request("CreateTable", w)
}

pub fn parse_create_table(body: &[u8]) -> Result<CreateTableOutput<'_>, DynamoDbError> {
    parse("CreateTable", body, MAX_ITEM_RESPONSE_BYTES)
}

pub fn describe_table(table_name: &str) -> ApiRequest {
    let mut w = JsonWriter::new();
    w.str_field("TableName", table_name);
    request("DescribeTable", w)
}

pub fn parse_describe_table(body: &[u8]) -> Result<DescribeTableOutput<'_>, DynamoDbError> {
    parse("DescribeTable", body, MAX_ITEM_RESPONSE_BYTES)
}

// ---------------------------------------------------------------- items

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GetItemInput<'a> {
    pub table_name: &'a str,
    pub key: &'a [(&'a str, AttrValue<'a>)],
    /// `Some(true)` for a strongly consistent read (leases need it).
    pub consistent_read: Option<bool>,
    pub projection_expression: Option<&'a str>,
    pub expression_attribute_names: &'a [(&'a str, &'a str)],
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetItemOutput<'a> {
    /// `None`: no item with that key.
    #[serde(borrow, default)]
    pub item: Option<Item<'a>>,
}

pub fn get_item(input: &GetItemInput<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    w.str_field("TableName", input.table_name);
    write_attr_map(&mut w, "Key", input.key);
    w.opt_bool_field("ConsistentRead", input.consistent_read);
    w.opt_str_field("ProjectionExpression", input.projection_expression);
    write_str_map(
        &mut w,
        "ExpressionAttributeNames",
        input.expression_attribute_names,
    );
    request("GetItem", w)
}

pub fn parse_get_item(body: &[u8]) -> Result<GetItemOutput<'_>, DynamoDbError> {
    parse("GetItem", body, MAX_ITEM_RESPONSE_BYTES)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PutItemInput<'a> {
    pub table_name: &'a str,
    pub item: &'a [(&'a str, AttrValue<'a>)],
    pub condition: Condition<'a>,
    pub return_values: Option<ReturnValues>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpdateItemInput<'a> {
    pub table_name: &'a str,
    pub key: &'a [(&'a str, AttrValue<'a>)],
    /// `SET #o = :me, #c = #c + :one`
    pub update_expression: &'a str,
    /// Placeholders of both the update and the condition expression.
    pub condition: Condition<'a>,
    pub return_values: Option<ReturnValues>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeleteItemInput<'a> {
    pub table_name: &'a str,
    pub key: &'a [(&'a str, AttrValue<'a>)],
    pub condition: Condition<'a>,
    pub return_values: Option<ReturnValues>,
}

/// `PutItem` / `UpdateItem` / `DeleteItem` output: the attributes `ReturnValues` asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WriteItemOutput<'a> {
    #[serde(borrow, default)]
    pub attributes: Option<Item<'a>>,
}

pub fn put_item(input: &PutItemInput<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    w.str_field("TableName", input.table_name);
    write_attr_map(&mut w, "Item", input.item);
    write_condition(&mut w, "ConditionExpression", &input.condition);
    w.opt_str_field(
        "ReturnValues",
        input.return_values.map(ReturnValues::as_str),
    );
    request("PutItem", w)
}

pub fn update_item(input: &UpdateItemInput<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    w.str_field("TableName", input.table_name);
    write_attr_map(&mut w, "Key", input.key);
    w.str_field("UpdateExpression", input.update_expression);
    write_condition(&mut w, "ConditionExpression", &input.condition);
    w.opt_str_field(
        "ReturnValues",
        input.return_values.map(ReturnValues::as_str),
    );
    request("UpdateItem", w)
}

pub fn delete_item(input: &DeleteItemInput<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    w.str_field("TableName", input.table_name);
    write_attr_map(&mut w, "Key", input.key);
    write_condition(&mut w, "ConditionExpression", &input.condition);
    w.opt_str_field(
        "ReturnValues",
        input.return_values.map(ReturnValues::as_str),
    );
    request("DeleteItem", w)
}

pub fn parse_put_item(body: &[u8]) -> Result<WriteItemOutput<'_>, DynamoDbError> {
    parse("PutItem", body, MAX_ITEM_RESPONSE_BYTES)
}

pub fn parse_update_item(body: &[u8]) -> Result<WriteItemOutput<'_>, DynamoDbError> {
    parse("UpdateItem", body, MAX_ITEM_RESPONSE_BYTES)
}

pub fn parse_delete_item(body: &[u8]) -> Result<WriteItemOutput<'_>, DynamoDbError> {
    parse("DeleteItem", body, MAX_ITEM_RESPONSE_BYTES)
}

// ---------------------------------------------------------------- Scan

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanInput<'a> {
    pub table_name: &'a str,
    pub limit: Option<u32>,
    pub consistent_read: Option<bool>,
    /// The previous page's `last_evaluated_key`.
    pub exclusive_start_key: &'a [(&'a str, AttrValue<'a>)],
    /// `FilterExpression` with its placeholders.
    pub filter: Condition<'a>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScanOutput<'a> {
    #[serde(borrow, default)]
    pub items: Vec<Item<'a>>,
    #[serde(default)]
    pub count: u64,
    #[serde(default)]
    pub scanned_count: u64,
    /// Present while more items remain.
    #[serde(borrow, default)]
    pub last_evaluated_key: Option<Item<'a>>,
}

pub fn scan(input: &ScanInput<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    w.str_field("TableName", input.table_name);
    w.opt_u64_field("Limit", input.limit.map(u64::from));
    w.opt_bool_field("ConsistentRead", input.consistent_read);
    write_attr_map(&mut w, "ExclusiveStartKey", input.exclusive_start_key);
    write_condition(&mut w, "FilterExpression", &input.filter);
    request("Scan", w)
}

pub fn parse_scan(body: &[u8]) -> Result<ScanOutput<'_>, DynamoDbError> {
    parse("Scan", body, MAX_SCAN_RESPONSE_BYTES)
}

#[cfg(test)]
#[path = "dynamodb/tests.rs"]
mod tests;
