//! AWS's published address ranges (`ip-ranges.json`) as a lookup: address → (service, region).
//!
//! Every range is listed under `AMAZON` and often again under a specific service (`S3`, `EC2`,
//! …), and ranges nest (spec §D.12). The answer for an address is the LONGEST matching prefix,
//! and among equal prefixes a specific service beats `AMAZON`. Nested prefixes are flattened
//! once, at load, into sorted disjoint intervals, so a per-record lookup is one binary search
//! with no allocation.

use std::net::IpAddr;

use serde::Deserialize;

/// What AWS says about an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AwsRange<'a> {
    pub service: &'a str,
    pub region: &'a str,
}

#[derive(Debug)]
pub struct IpRangesError(pub String);

impl std::fmt::Display for IpRangesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ip-ranges.json: {}", self.0)
    }
}

impl std::error::Error for IpRangesError {}

#[derive(Default, Debug)]
pub struct IpRanges {
    /// Interned (service, region) pairs; segments point into it.
    labels: Vec<(String, String)>,
    v4: Vec<Segment>,
    v6: Vec<Segment>,
    pub sync_token: String,
    pub create_date: String,
}

/// A run of addresses `start..=end` (IPv4 in the low 32 bits) that share one answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    start: u128,
    end: u128,
    label: u32,
}

#[derive(Deserialize)]
struct File<'a> {
    #[serde(rename = "syncToken", default)]
    sync_token: String,
    #[serde(rename = "createDate", default)]
    create_date: String,
    #[serde(default, borrow)]
    prefixes: Vec<Prefix4<'a>>,
    #[serde(default, borrow)]
    ipv6_prefixes: Vec<Prefix6<'a>>,
}

#[derive(Deserialize)]
struct Prefix4<'a> {
    ip_prefix: &'a str,
    region: &'a str,
    service: &'a str,
}

#[derive(Deserialize)]
struct Prefix6<'a> {
    ipv6_prefix: &'a str,
    region: &'a str,
    service: &'a str,
}

/// One parsed CIDR with its answer, before flattening.
struct Cidr {
    start: u128,
    len: u8,
    bits: u8,
    label: u32,
    specific: bool,
}

impl Cidr {
    fn end(&self) -> u128 {
        let host_bits = u32::from(self.bits - self.len);
        if host_bits == 128 {
            u128::MAX
        } else {
            self.start | ((1u128 << host_bits) - 1)
        }
    }
}

impl IpRanges {
    pub fn parse(json: &[u8]) -> Result<IpRanges, IpRangesError> {
        let file: File<'_> =
            serde_json::from_slice(json).map_err(|e| IpRangesError(e.to_string()))?;
        let mut out = IpRanges {
            sync_token: file.sync_token,
            create_date: file.create_date,
            ..IpRanges::default()
        };
        let mut v4 = Vec::with_capacity(file.prefixes.len());
        for p in &file.prefixes {
            let label = out.intern(p.service, p.region);
            v4.push(parse_cidr(p.ip_prefix, 32, label, p.service != "AMAZON")?);
        }
        let mut v6 = Vec::with_capacity(file.ipv6_prefixes.len());
        for p in &file.ipv6_prefixes {
            let label = out.intern(p.service, p.region);
            v6.push(parse_cidr(
                p.ipv6_prefix,
                128,
                label,
                p.service != "AMAZON",
            )?);
        }
        out.v4 = flatten(v4);
        out.v6 = flatten(v6);
        Ok(out)
    }

    /// The service and region of the longest AWS prefix holding `addr`.
    pub fn lookup(&self, addr: IpAddr) -> Option<AwsRange<'_>> {
        let (segments, key) = match addr {
            IpAddr::V4(a) => (&self.v4, u128::from(u32::from(a))),
            IpAddr::V6(a) => (&self.v6, u128::from(a)),
        };
        let i = segments
            .partition_point(|s| s.start <= key)
            .checked_sub(1)?;
        let s = segments[i];
        if key > s.end {
            return None;
        }
        let (service, region) = &self.labels[s.label as usize];
        Some(AwsRange { service, region })
    }

    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn intern(&mut self, service: &str, region: &str) -> u32 {
        if let Some(i) = self
            .labels
            .iter()
            .position(|(s, r)| s == service && r == region)
        {
            return i as u32;
        }
        self.labels.push((service.to_string(), region.to_string()));
        (self.labels.len() - 1) as u32
    }
}

fn parse_cidr(text: &str, bits: u8, label: u32, specific: bool) -> Result<Cidr, IpRangesError> {
    let bad = || IpRangesError(format!("bad prefix {text:?}"));
    let (addr, len) = text.split_once('/').ok_or_else(bad)?;
    let len: u8 = len.parse().map_err(|_| bad())?;
    let value = match (addr.parse::<IpAddr>().map_err(|_| bad())?, bits) {
        (IpAddr::V4(a), 32) => u128::from(u32::from(a)),
        (IpAddr::V6(a), 128) => u128::from(a),
        _ => return Err(bad()),
    };
    if len > bits {
        return Err(bad());
    }
    let host_bits = u32::from(bits - len);
    let mask = if host_bits == 128 {
        0
    } else {
        !((1u128 << host_bits) - 1)
    };
    Ok(Cidr {
        start: value & mask,
        len,
        bits,
        label,
        specific,
    })
}

/// Turns nested CIDRs into disjoint segments where the innermost prefix wins. CIDRs either nest
/// or are disjoint, so a stack sweep over them sorted by (start, shorter first) does it in one pass.
fn flatten(mut cidrs: Vec<Cidr>) -> Vec<Segment> {
    // Same prefix twice (AMAZON + S3): keep one, the specific service.
    cidrs.sort_by_key(|c| (c.start, c.len, !c.specific));
    cidrs.dedup_by(|later, kept| later.start == kept.start && later.len == kept.len);

    let mut out: Vec<Segment> = Vec::with_capacity(cidrs.len() * 2);
    let mut stack: Vec<(u128, u32)> = Vec::new(); // (end, label) of open prefixes
    let mut cursor: u128 = 0; // first address not yet emitted, inside the top of the stack
    let emit = |start: u128, end: u128, label: u32, out: &mut Vec<Segment>| {
        if start <= end {
            out.push(Segment { start, end, label });
        }
    };
    for c in &cidrs {
        // Close the prefixes that end before this one starts.
        while let Some(&(end, label)) = stack.last() {
            if end >= c.start {
                break;
            }
            emit(cursor, end, label, &mut out);
            cursor = end.wrapping_add(1);
            stack.pop();
        }
        if let Some(&(_, label)) = stack.last()
            && cursor < c.start
        {
            emit(cursor, c.start - 1, label, &mut out);
        }
        cursor = c.start;
        stack.push((c.end(), c.label));
    }
    while let Some((end, label)) = stack.pop() {
        emit(cursor, end, label, &mut out);
        cursor = end.wrapping_add(1);
        if end == u128::MAX {
            break;
        }
    }
    out.retain(|s| s.start <= s.end);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/ip-ranges/ip-ranges.sample.json"
    ));

    fn look(r: &IpRanges, a: &str) -> Option<(String, String)> {
        r.lookup(a.parse().unwrap())
            .map(|x| (x.service.to_string(), x.region.to_string()))
    }

    #[test]
    fn specific_service_beats_amazon_on_the_same_prefix() {
        let r = IpRanges::parse(SAMPLE).unwrap();
        assert_eq!(
            look(&r, "52.95.128.179"),
            Some(("S3".into(), "us-east-1".into()))
        );
        assert_eq!(
            look(&r, "3.80.1.2"),
            Some(("EC2".into(), "us-east-1".into()))
        );
        assert_eq!(
            look(&r, "13.33.255.255"),
            Some(("CLOUDFRONT".into(), "GLOBAL".into()))
        );
        assert_eq!(
            look(&r, "15.230.39.7"),
            Some(("AMAZON".into(), "us-west-2".into()))
        );
        assert_eq!(
            look(&r, "2600:1f18::1"),
            Some(("EC2".into(), "us-east-1".into()))
        );
        assert_eq!(look(&r, "10.0.0.1"), None);
        assert_eq!(look(&r, "13.34.0.0"), None);
        assert_eq!(r.sync_token, "1768470000");
    }

    #[test]
    fn the_longest_prefix_wins_and_the_outer_one_resumes_after_it() {
        let json = br#"{"prefixes":[
            {"ip_prefix":"10.0.0.0/8","region":"r1","service":"AMAZON"},
            {"ip_prefix":"10.1.0.0/16","region":"r2","service":"EC2"},
            {"ip_prefix":"10.1.2.0/24","region":"r3","service":"S3"},
            {"ip_prefix":"10.200.0.0/16","region":"r4","service":"AMAZON"},
            {"ip_prefix":"255.255.255.0/24","region":"r5","service":"X"}],
            "ipv6_prefixes":[{"ipv6_prefix":"::/0","region":"all","service":"AMAZON"},
            {"ipv6_prefix":"2001:db8::/32","region":"doc","service":"Y"}]}"#;
        let r = IpRanges::parse(json).unwrap();
        let cases = [
            ("9.255.255.255", None),
            ("10.0.0.0", Some("r1")),
            ("10.1.0.0", Some("r2")),
            ("10.1.2.0", Some("r3")),
            ("10.1.2.255", Some("r3")),
            ("10.1.3.0", Some("r2")),
            ("10.2.0.0", Some("r1")),
            ("10.200.5.5", Some("r4")),
            ("10.201.0.0", Some("r1")),
            ("10.255.255.255", Some("r1")),
            ("11.0.0.0", None),
            ("255.255.255.255", Some("r5")),
            ("2001:db8::1", Some("doc")),
            ("2001:db9::", Some("all")),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some("all")),
        ];
        for (a, want) in cases {
            assert_eq!(look(&r, a).map(|x| x.1), want.map(str::to_string), "{a}");
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(IpRanges::parse(b"{").is_err());
        assert!(
            IpRanges::parse(
                br#"{"prefixes":[{"ip_prefix":"1.2.3.4/33","region":"r","service":"s"}]}"#
            )
            .is_err()
        );
        assert!(
            IpRanges::parse(br#"{"prefixes":[{"ip_prefix":"::/0","region":"r","service":"s"}]}"#)
                .is_err()
        );
        for cut in 0..SAMPLE.len() {
            let _ = IpRanges::parse(&SAMPLE[..cut]);
        }
    }
}
