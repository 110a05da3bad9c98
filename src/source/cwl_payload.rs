//! One Kinesis record of a CloudWatch Logs subscription → its log events, borrowed.
//!
//! A subscription filter with a Kinesis Data Streams destination puts one record per delivery
//! whose data (after the JSON blob's base64, which the Kinesis parser removes) is gzip of one
//! UTF-8 JSON document (spec.md §B):
//!
//! ```text
//! {"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/vpc/flow-logs",
//!  "logStream":"eni-0123456789abcdef0-all","subscriptionFilters":["…"],
//!  "logEvents":[{"id":"3941…","timestamp":1768478340000,"message":"2 123456789012 eni-… OK"}, …],
//!  "policyLevel":"ACCOUNT_LEVEL_POLICY"}          ← account-level subscription policies only
//! ```
//!
//! `CONTROL_MESSAGE` documents are reachability probes: they are decoded (so they can be
//! counted) but [`Payload::data_messages`] skips them. Unknown keys are ignored (filters with
//! `emitSystemFields` add some). Defensively, as spec.md §B advises for Firehose-mediated data,
//! the record may be several gzip members back to back, and the inflated text several JSON
//! documents back to back (optionally separated by whitespace): all of them are decoded.
//!
//! Memory: [`CwlDecoder`] owns the inflater, a fixed inflate chunk and the text buffer, and
//! reuses them for every record; the text buffer grows to the largest payload seen and never
//! past the configured cap ([`DEFAULT_MAX_INFLATED`]) — deflate can expand 1 000-fold, so an
//! uncapped buffer would let one record take the process down. Strings are not copied: every
//! owner, group, stream, filter name, event id and message borrows the text buffer (a string
//! the JSON escapes is unescaped into one side buffer, also reused). What is left per record is
//! the spans of the events, in a `Vec` that is reused too.
//!
//! Errors name what failed; the record's sequence number is the caller's to add.

use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::gzip::{GzipDecoder, GzipError};

/// Kinesis Data Streams: a record's data blob is at most 1 MiB by default (Kinesis Data Streams
/// quotas; spec.md §D.5).
pub const KINESIS_MAX_RECORD: usize = 1 << 20;
/// … and at most 10 MiB on streams whose `MaxRecordSizeInKiB` was raised (1024–10240 KiB,
/// DescribeStreamSummary; spec.md §D.5, §H.4). Larger input is refused before inflating.
pub const KINESIS_MAX_RECORD_RAISED: usize = 10 << 20;
/// CloudWatch Logs: an event is at most 256 KiB (PutLogEvents, CloudWatch Logs API reference);
/// a flow-log line is far smaller.
pub const CWL_MAX_EVENT: usize = 256 << 10;
/// CloudWatch Logs: a PutLogEvents batch is at most 1 048 576 bytes of messages plus 26 bytes
/// per event (same reference).
pub const CWL_MAX_BATCH: usize = 1_048_576;
/// How many times its compressed size a payload may inflate to. The 2000 records of
/// `fixtures/gzip/custom-v5-2000-lines.log.gz` as one subscription document inflate 17× (665 KB
/// from 39 KB; synthetic, more repetitive than real traffic); 32× leaves room and still bounds
/// a deflate bomb, which can reach 1032×.
pub const MAX_INFLATE_RATIO: usize = 32;
/// Default cap on one record's inflated text: a default-size Kinesis record at
/// [`MAX_INFLATE_RATIO`]. Use [`CwlDecoder::for_record_limit`] for streams with larger records.
pub const DEFAULT_MAX_INFLATED: usize = KINESIS_MAX_RECORD * MAX_INFLATE_RATIO;
/// Inflate step: the inflater writes this much at a time before it is appended to the text.
const CHUNK: usize = 32 * 1024;
/// Text buffer allocated up front (it grows on demand up to the cap).
const INITIAL_TEXT: usize = 64 * 1024;
/// Longest untrusted value quoted in an error.
const MAX_QUOTED: usize = 64;

/// `messageType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageType {
    /// `DATA_MESSAGE`: log events to process.
    Data,
    /// `CONTROL_MESSAGE`: CloudWatch Logs checking the destination; skip.
    Control,
}

/// Why a record could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CwlError {
    /// The record data is larger than any Kinesis record.
    InputTooLarge { len: usize },
    /// Not a valid gzip stream (or truncated).
    Gzip(GzipError),
    /// Inflates to more than `limit` bytes.
    TooLarge { limit: usize },
    /// The inflated text is not UTF-8 (JSON must be, RFC 8259 §8.1).
    NotUtf8 { offset: usize },
    /// Nothing but whitespace inside the gzip.
    Empty,
    /// JSON document `document` (1-based) is invalid or not a subscription message.
    Json { document: usize, reason: String },
}

impl fmt::Display for CwlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CloudWatch Logs subscription payload: ")?;
        match self {
            CwlError::InputTooLarge { len } => write!(
                f,
                "record of {len} bytes is larger than the Kinesis maximum of {KINESIS_MAX_RECORD_RAISED}"
            ),
            CwlError::Gzip(e) => write!(f, "{e}"),
            CwlError::TooLarge { limit } => write!(f, "inflates to more than {limit} bytes"),
            CwlError::NotUtf8 { offset } => {
                write!(f, "inflated text is not UTF-8 at byte {offset}")
            }
            CwlError::Empty => f.write_str("gzip holds no JSON document"),
            CwlError::Json { document, reason } => {
                write!(f, "JSON document {document}: {reason}")
            }
        }
    }
}

impl std::error::Error for CwlError {}

impl From<GzipError> for CwlError {
    fn from(e: GzipError) -> Self {
        CwlError::Gzip(e)
    }
}

/// Where a string is: in the text buffer, or (if the JSON escaped it) in the side buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
    unescaped: bool,
}

#[derive(Clone, Copy, Debug)]
struct EventMeta {
    id: Span,
    timestamp: i64,
    message: Span,
}

#[derive(Clone, Debug)]
struct DocMeta {
    message_type: MessageType,
    owner: Span,
    log_group: Span,
    log_stream: Span,
    policy_level: Option<Span>,
    filters: Range<usize>,
    events: Range<usize>,
}

/// Decodes records one at a time, reusing its buffers. See the module doc.
pub struct CwlDecoder {
    gzip: GzipDecoder,
    chunk: Box<[u8]>,
    text: String,
    unescaped: String,
    docs: Vec<DocMeta>,
    events: Vec<EventMeta>,
    filters: Vec<Span>,
    max_inflated: usize,
}

impl fmt::Debug for CwlDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CwlDecoder")
            .field("text_capacity", &self.text.capacity())
            .field("max_inflated", &self.max_inflated)
            .finish_non_exhaustive()
    }
}

impl Default for CwlDecoder {
    fn default() -> Self {
        CwlDecoder::new(DEFAULT_MAX_INFLATED)
    }
}

impl CwlDecoder {
    /// A decoder whose records may inflate to at most `max_inflated` bytes.
    pub fn new(max_inflated: usize) -> CwlDecoder {
        CwlDecoder {
            gzip: GzipDecoder::new(),
            chunk: vec![0; CHUNK].into_boxed_slice(),
            text: String::with_capacity(INITIAL_TEXT.min(max_inflated)),
            unescaped: String::new(),
            docs: Vec::new(),
            events: Vec::new(),
            filters: Vec::new(),
            max_inflated,
        }
    }

    /// A decoder sized for a stream whose records are at most `record_limit` bytes
    /// (`MaxRecordSizeInKiB` × 1024).
    pub fn for_record_limit(record_limit: usize) -> CwlDecoder {
        CwlDecoder::new(record_limit.saturating_mul(MAX_INFLATE_RATIO))
    }

    /// Bytes the text buffer holds now (it never exceeds the cap).
    pub fn capacity(&self) -> usize {
        self.text.capacity()
    }

    /// Decodes one record's data (base64 already removed). The result borrows the decoder
    /// until the next call.
    pub fn decode(&mut self, data: &[u8]) -> Result<Payload<'_>, CwlError> {
        self.docs.clear();
        self.events.clear();
        self.filters.clear();
        self.unescaped.clear();
        let mut bytes = std::mem::take(&mut self.text).into_bytes();
        bytes.clear();
        if data.len() > KINESIS_MAX_RECORD_RAISED {
            self.text = String::from_utf8(bytes).unwrap_or_default();
            return Err(CwlError::InputTooLarge { len: data.len() });
        }
        self.gzip.reset();
        if let Err(e) = inflate(
            &mut self.gzip,
            &mut self.chunk,
            data,
            &mut bytes,
            self.max_inflated,
        ) {
            bytes.clear();
            self.text = String::from_utf8(bytes).unwrap_or_default();
            return Err(e);
        }
        self.text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let offset = e.utf8_error().valid_up_to();
                let mut bytes = e.into_bytes();
                bytes.clear();
                self.text = String::from_utf8(bytes).unwrap_or_default();
                return Err(CwlError::NotUtf8 { offset });
            }
        };
        if self.text.bytes().all(|b| b.is_ascii_whitespace()) {
            return Err(CwlError::Empty);
        }
        let mut ctx = Ctx {
            base: self.text.as_ptr() as usize,
            len: self.text.len(),
            unescaped: &mut self.unescaped,
            events: &mut self.events,
            filters: &mut self.filters,
        };
        let mut de = serde_json::Deserializer::from_str(&self.text);
        loop {
            let document = self.docs.len() + 1;
            let doc = DocSeed { ctx: &mut ctx }
                .deserialize(&mut de)
                .map_err(|e| CwlError::Json {
                    document,
                    reason: e.to_string(),
                })?;
            self.docs.push(doc);
            // `end` only looks past whitespace: Ok at the end of the text, else another
            // document follows.
            if de.end().is_ok() {
                break;
            }
        }
        Ok(Payload { dec: self })
    }

    fn str_of(&self, span: Span) -> &str {
        let source = if span.unescaped {
            &self.unescaped
        } else {
            &self.text
        };
        source.get(span.start..span.end).unwrap_or("")
    }
}

/// Inflates every gzip member of `data` into `out`, up to `max` bytes.
fn inflate(
    gzip: &mut GzipDecoder,
    chunk: &mut [u8],
    data: &[u8],
    out: &mut Vec<u8>,
    max: usize,
) -> Result<(), CwlError> {
    let mut input = data;
    loop {
        let (used, written) = gzip.decode(input, chunk)?;
        input = input.get(used..).unwrap_or_default();
        if written > 0 {
            if out.len() + written > max {
                return Err(CwlError::TooLarge { limit: max });
            }
            if out.capacity() - out.len() < written {
                // Double, but never past the cap.
                let want = (out.capacity() * 2).max(out.len() + written).min(max);
                out.reserve_exact(want - out.len());
            }
            out.extend_from_slice(chunk.get(..written).unwrap_or_default());
        }
        // Done when the input is used up and the inflater has nothing left to write; the
        // second condition also stops a decoder that (against its contract) makes no progress.
        if written == 0 && (input.is_empty() || used == 0) {
            break;
        }
    }
    gzip.finish()?;
    Ok(())
}

/// The decoded documents of one record.
#[derive(Clone, Copy, Debug)]
pub struct Payload<'a> {
    dec: &'a CwlDecoder,
}

impl<'a> Payload<'a> {
    /// Every document, control messages included, in order.
    pub fn documents(&self) -> impl ExactSizeIterator<Item = Document<'a>> + 'a {
        let dec = self.dec;
        dec.docs.iter().map(move |meta| Document::new(dec, meta))
    }

    /// The `DATA_MESSAGE` documents.
    pub fn data_messages(&self) -> impl Iterator<Item = Document<'a>> + 'a {
        self.documents()
            .filter(|d| d.message_type == MessageType::Data)
    }

    /// Number of `CONTROL_MESSAGE` documents (to count; they carry no flows).
    pub fn control_messages(&self) -> usize {
        self.dec
            .docs
            .iter()
            .filter(|d| d.message_type == MessageType::Control)
            .count()
    }

    /// Log events of all data messages.
    pub fn event_count(&self) -> usize {
        self.data_messages().map(|d| d.events().len()).sum()
    }

    /// Size of the inflated text.
    pub fn inflated_len(&self) -> usize {
        self.dec.text.len()
    }
}

/// One JSON document of a record.
#[derive(Clone, Copy, Debug)]
pub struct Document<'a> {
    pub message_type: MessageType,
    /// Account id of the log data (`CloudwatchLogs` in control messages).
    pub owner: &'a str,
    pub log_group: &'a str,
    /// One stream per ENI for flow logs: `eni-…-all` (spec.md §A.7).
    pub log_stream: &'a str,
    /// `ACCOUNT_LEVEL_POLICY` for account-level subscription policies.
    pub policy_level: Option<&'a str>,
    dec: &'a CwlDecoder,
    meta: &'a DocMeta,
}

impl<'a> Document<'a> {
    fn new(dec: &'a CwlDecoder, meta: &'a DocMeta) -> Document<'a> {
        Document {
            message_type: meta.message_type,
            owner: dec.str_of(meta.owner),
            log_group: dec.str_of(meta.log_group),
            log_stream: dec.str_of(meta.log_stream),
            policy_level: meta.policy_level.map(|s| dec.str_of(s)),
            dec,
            meta,
        }
    }

    /// Names of the subscription filters that matched.
    pub fn subscription_filters(&self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        let dec = self.dec;
        dec.filters
            .get(self.meta.filters.clone())
            .unwrap_or_default()
            .iter()
            .map(move |s| dec.str_of(*s))
    }

    /// The log events, in order.
    pub fn events(&self) -> impl ExactSizeIterator<Item = LogEvent<'a>> + 'a {
        let dec = self.dec;
        dec.events
            .get(self.meta.events.clone())
            .unwrap_or_default()
            .iter()
            .map(move |e| LogEvent {
                id: dec.str_of(e.id),
                timestamp: e.timestamp,
                message: dec.str_of(e.message),
            })
    }

    /// The ENI id the log stream is named after (`^eni-[0-9a-f]+`, spec.md §A.7).
    pub fn eni_id(&self) -> Option<&'a str> {
        let hex = self.log_stream.strip_prefix("eni-")?;
        let n = hex
            .bytes()
            .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            .count();
        if n == 0 {
            return None;
        }
        self.log_stream.get(..4 + n)
    }
}

/// One log event: for flow logs, `message` is exactly one record line, no header (§A.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogEvent<'a> {
    /// 56-digit decimal event id (`""` in control messages).
    pub id: &'a str,
    /// Milliseconds since the epoch (= the record's `start` × 1000 for flow logs).
    pub timestamp: i64,
    pub message: &'a str,
}

// ---- JSON: serde visitors that write spans into the decoder's reused vectors ----

struct Ctx<'x> {
    /// Address and length of the text being parsed: borrowed strings are located by address.
    base: usize,
    len: usize,
    unescaped: &'x mut String,
    events: &'x mut Vec<EventMeta>,
    filters: &'x mut Vec<Span>,
}

impl Ctx<'_> {
    /// A string that points into the text (no escapes).
    fn borrowed(&mut self, s: &str) -> Span {
        let start = (s.as_ptr() as usize).wrapping_sub(self.base);
        if start <= self.len && s.len() <= self.len - start {
            Span {
                start,
                end: start + s.len(),
                unescaped: false,
            }
        } else {
            // Not from our text (cannot happen with `from_str`): keep a copy.
            self.copied(s)
        }
    }

    /// A string the JSON escaped, unescaped by the parser into a transient buffer.
    fn copied(&mut self, s: &str) -> Span {
        let start = self.unescaped.len();
        self.unescaped.push_str(s);
        Span {
            start,
            end: self.unescaped.len(),
            unescaped: true,
        }
    }
}

fn quoted(s: &str) -> String {
    match s.char_indices().nth(MAX_QUOTED) {
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
        None => format!("{s:?}"),
    }
}

/// Object keys, matched without allocating; anything else is `Other` and its value skipped.
macro_rules! keys {
    ($name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        enum $name { $($variant,)+ Other }

        impl<'de> de::Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a key")
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok(match v { $($text => $name::$variant,)+ _ => $name::Other })
                    }
                }
                d.deserialize_identifier(V)
            }
        }
    };
}

keys!(DocKey {
    MessageType = "messageType",
    Owner = "owner",
    LogGroup = "logGroup",
    LogStream = "logStream",
    SubscriptionFilters = "subscriptionFilters",
    LogEvents = "logEvents",
    PolicyLevel = "policyLevel",
});

keys!(EventKey {
    Id = "id",
    Timestamp = "timestamp",
    Message = "message",
});

impl<'de> de::Deserialize<'de> for MessageType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = MessageType;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("DATA_MESSAGE or CONTROL_MESSAGE")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MessageType, E> {
                match v {
                    "DATA_MESSAGE" => Ok(MessageType::Data),
                    "CONTROL_MESSAGE" => Ok(MessageType::Control),
                    _ => Err(E::custom(format_args!(
                        "unknown messageType {}, expected DATA_MESSAGE or CONTROL_MESSAGE",
                        quoted(v)
                    ))),
                }
            }
        }
        d.deserialize_str(V)
    }
}

/// A string (or `null` → `None`).
struct StrSeed<'c, 'x> {
    ctx: &'c mut Ctx<'x>,
}

impl<'de> DeserializeSeed<'de> for StrSeed<'_, '_> {
    type Value = Option<Span>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Span>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrSeed<'_, '_> {
    type Value = Option<Span>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Option<Span>, E> {
        Ok(Some(self.ctx.borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<Span>, E> {
        Ok(Some(self.ctx.copied(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<Span>, E> {
        Ok(None)
    }
    // moto's subscription delivery writes event ids as integers (`"id":0`) where AWS writes
    // 56-digit strings: keep the number's decimal text.
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<Span>, E> {
        Ok(Some(self.ctx.copied(&v.to_string())))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<Span>, E> {
        Ok(Some(self.ctx.copied(&v.to_string())))
    }
}

/// `subscriptionFilters`: appends the names to `ctx.filters`.
struct FiltersSeed<'c, 'x> {
    ctx: &'c mut Ctx<'x>,
}

impl<'de> DeserializeSeed<'de> for FiltersSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FiltersSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of filter names")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        while let Some(name) = seq.next_element_seed(StrSeed { ctx: &mut *ctx })? {
            if let Some(span) = name {
                ctx.filters.push(span);
            }
        }
        Ok(())
    }
}

/// `logEvents`: appends the events to `ctx.events`.
struct EventsSeed<'c, 'x> {
    ctx: &'c mut Ctx<'x>,
}

impl<'de> DeserializeSeed<'de> for EventsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EventsSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of log events")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        while let Some(event) = seq.next_element_seed(EventSeed { ctx: &mut *ctx })? {
            ctx.events.push(event);
        }
        Ok(())
    }
}

/// One `{id, timestamp, message}`; `id` may be absent (`""`), the others are required.
struct EventSeed<'c, 'x> {
    ctx: &'c mut Ctx<'x>,
}

impl<'de> DeserializeSeed<'de> for EventSeed<'_, '_> {
    type Value = EventMeta;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<EventMeta, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EventSeed<'_, '_> {
    type Value = EventMeta;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a log event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventMeta, A::Error> {
        let ctx = self.ctx;
        let (mut id, mut timestamp, mut message) = (None, None, None);
        while let Some(key) = map.next_key::<EventKey>()? {
            match key {
                EventKey::Id => id = map.next_value_seed(StrSeed { ctx: &mut *ctx })?,
                EventKey::Timestamp => timestamp = Some(map.next_value::<i64>()?),
                EventKey::Message => {
                    message = map.next_value_seed(StrSeed { ctx: &mut *ctx })?;
                }
                EventKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(EventMeta {
            id: id.unwrap_or_default(),
            timestamp: timestamp.ok_or_else(|| de::Error::missing_field("timestamp"))?,
            message: message.ok_or_else(|| de::Error::missing_field("message"))?,
        })
    }
}

/// One subscription message.
struct DocSeed<'c, 'x> {
    ctx: &'c mut Ctx<'x>,
}

impl<'de> DeserializeSeed<'de> for DocSeed<'_, '_> {
    type Value = DocMeta;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<DocMeta, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_, '_> {
    type Value = DocMeta;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CloudWatch Logs subscription message object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DocMeta, A::Error> {
        let ctx = self.ctx;
        let mut message_type = None;
        let (mut owner, mut log_group, mut log_stream, mut policy_level) = (None, None, None, None);
        let mut filters = None;
        let mut events = None;
        while let Some(key) = map.next_key::<DocKey>()? {
            match key {
                DocKey::MessageType => message_type = Some(map.next_value::<MessageType>()?),
                DocKey::Owner => owner = map.next_value_seed(StrSeed { ctx: &mut *ctx })?,
                DocKey::LogGroup => log_group = map.next_value_seed(StrSeed { ctx: &mut *ctx })?,
                DocKey::LogStream => {
                    log_stream = map.next_value_seed(StrSeed { ctx: &mut *ctx })?;
                }
                DocKey::PolicyLevel => {
                    policy_level = map.next_value_seed(StrSeed { ctx: &mut *ctx })?;
                }
                DocKey::SubscriptionFilters => {
                    if filters.is_some() {
                        return Err(de::Error::duplicate_field("subscriptionFilters"));
                    }
                    let start = ctx.filters.len();
                    map.next_value_seed(FiltersSeed { ctx: &mut *ctx })?;
                    filters = Some(start..ctx.filters.len());
                }
                DocKey::LogEvents => {
                    if events.is_some() {
                        return Err(de::Error::duplicate_field("logEvents"));
                    }
                    let start = ctx.events.len();
                    map.next_value_seed(EventsSeed { ctx: &mut *ctx })?;
                    events = Some(start..ctx.events.len());
                }
                DocKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let message_type = message_type.ok_or_else(|| de::Error::missing_field("messageType"))?;
        if message_type == MessageType::Data {
            // What a data message needs to be attributed and processed.
            owner.ok_or_else(|| de::Error::missing_field("owner"))?;
            log_group.ok_or_else(|| de::Error::missing_field("logGroup"))?;
            log_stream.ok_or_else(|| de::Error::missing_field("logStream"))?;
            events
                .as_ref()
                .ok_or_else(|| de::Error::missing_field("logEvents"))?;
        }
        let end = ctx.events.len();
        Ok(DocMeta {
            message_type,
            owner: owner.unwrap_or_default(),
            log_group: log_group.unwrap_or_default(),
            log_stream: log_stream.unwrap_or_default(),
            policy_level,
            filters: filters.unwrap_or(0..0),
            events: events.unwrap_or(end..end),
        })
    }
}

#[cfg(test)]
#[path = "cwl_payload_tests.rs"]
mod tests;
