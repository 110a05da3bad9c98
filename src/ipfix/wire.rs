//! Zero-copy views of the fixed IPFIX wire structures (RFC 7011 §3), in smoltcp's style.
//!
//! Each structure is a `View<T: AsRef<[u8]>>` over a byte buffer with its field offsets in
//! `mod field`; `new_checked` is for untrusted input (it checks the buffer is long enough, so
//! the accessors never read past it), `new_unchecked` for emitting into a buffer we sized.
//! A `…Repr` is the parsed, owned form with `parse`, `emit` and `buffer_len`. Semantic checks
//! (version, lengths that fit the message) are in `Repr::parse`.
//!
//! ```text
//!  Message header (16)        Set header (4)       Template record header (4)
//!  0      2      4      8      12     16  0     2     4   0           2          4
//!  |version|length|export|seq |domain|    |set id|len |   |template id|field count|
//!                                                        Options template record header (6):
//!  Field specifier (4, or 8 with E=1)                     |template id|field count|scope count|
//!  |E| element id (15) | field length | [enterprise number (32)] |
//! ```

use core::fmt;
use core::ops::Range;

type Field = Range<usize>;

/// RFC 7011 §3.1: the Version field of every IPFIX message.
pub const VERSION: u16 = 10;
/// RFC 7011 §3.1: the message header is 16 octets.
pub const MESSAGE_HEADER_LEN: usize = 16;
/// RFC 7011 §3.3.2: the set header is 4 octets.
pub const SET_HEADER_LEN: usize = 4;
/// RFC 7011 §3.4.1 / §3.4.2.2.
pub const TEMPLATE_HEADER_LEN: usize = 4;
pub const OPTIONS_TEMPLATE_HEADER_LEN: usize = 6;
/// RFC 7011 §3.3.2: Set ID 2 = Template Set, 3 = Options Template Set, ≥ 256 = Data Set.
pub const TEMPLATE_SET_ID: u16 = 2;
pub const OPTIONS_TEMPLATE_SET_ID: u16 = 3;
pub const MIN_DATA_SET_ID: u16 = 256;
/// RFC 7011 §3.2: the enterprise bit of a field specifier's element id.
pub const ENTERPRISE_BIT: u16 = 0x8000;

/// A wire structure that does not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// Fewer octets than the structure needs.
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    /// Version other than 10.
    Version(u16),
    /// A length field that is too small or runs past its container.
    Length {
        what: &'static str,
        length: usize,
        available: usize,
    },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated { what, need, have } => {
                write!(f, "truncated IPFIX {what}: need {need} octets, have {have}")
            }
            WireError::Version(v) => {
                write!(f, "not an IPFIX message: version {v}, expected {VERSION}")
            }
            WireError::Length {
                what,
                length,
                available,
            } => {
                write!(
                    f,
                    "bad IPFIX {what} length {length} (available {available})"
                )
            }
        }
    }
}

impl std::error::Error for WireError {}

mod field {
    pub mod message {
        use super::super::Field;
        pub const VERSION: Field = 0..2;
        pub const LENGTH: Field = 2..4;
        pub const EXPORT_TIME: Field = 4..8;
        pub const SEQUENCE: Field = 8..12;
        pub const DOMAIN: Field = 12..16;
    }
    pub mod set {
        use super::super::Field;
        pub const ID: Field = 0..2;
        pub const LENGTH: Field = 2..4;
    }
    pub mod template {
        use super::super::Field;
        pub const ID: Field = 0..2;
        pub const FIELD_COUNT: Field = 2..4;
        pub const SCOPE_COUNT: Field = 4..6;
    }
    pub mod spec {
        use super::super::Field;
        pub const ID: Field = 0..2;
        pub const LENGTH: Field = 2..4;
        pub const PEN: Field = 4..8;
    }
}

fn get16(b: &[u8], r: Field) -> u16 {
    b.get(r)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u16::from_be_bytes)
}

fn get32(b: &[u8], r: Field) -> u32 {
    b.get(r)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_be_bytes)
}

fn put(b: &mut [u8], r: Field, v: &[u8]) {
    if let Some(d) = b.get_mut(r) {
        d.copy_from_slice(v);
    }
}

fn check(what: &'static str, need: usize, have: usize) -> Result<(), WireError> {
    if have < need {
        Err(WireError::Truncated { what, need, have })
    } else {
        Ok(())
    }
}

macro_rules! view {
    ($(#[$m:meta])* $name:ident, $what:literal, $len:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone)]
        pub struct $name<T: AsRef<[u8]>> {
            buffer: T,
        }

        impl<T: AsRef<[u8]>> $name<T> {
            /// A view without checks, for emitting into a buffer we sized.
            pub fn new_unchecked(buffer: T) -> Self {
                $name { buffer }
            }

            /// A view over untrusted input: the buffer holds the whole structure.
            pub fn new_checked(buffer: T) -> Result<Self, WireError> {
                let v = Self::new_unchecked(buffer);
                v.check_len()?;
                Ok(v)
            }

            pub fn check_len(&self) -> Result<(), WireError> {
                check($what, self.header_len(), self.buffer.as_ref().len())
            }

            pub fn into_inner(self) -> T {
                self.buffer
            }

            #[allow(clippy::redundant_closure_call)]
            fn header_len(&self) -> usize {
                ($len)(self.buffer.as_ref())
            }
        }
    };
}

view!(
    /// RFC 7011 §3.1 Message Header.
    MessageHeader, "message header", |_: &[u8]| MESSAGE_HEADER_LEN
);
view!(
    /// RFC 7011 §3.3.2 Set Header.
    SetHeader, "set header", |_: &[u8]| SET_HEADER_LEN
);
view!(
    /// RFC 7011 §3.4.1 Template Record Header.
    TemplateHeader, "template record header", |_: &[u8]| TEMPLATE_HEADER_LEN
);
view!(
    /// RFC 7011 §3.4.2.2 Options Template Record Header.
    OptionsTemplateHeader, "options template record header", |_: &[u8]| OPTIONS_TEMPLATE_HEADER_LEN
);
view!(
    /// RFC 7011 §3.2 Field Specifier: 4 octets, 8 when the enterprise bit is set.
    FieldSpecifier, "field specifier", |b: &[u8]| if get16(b, field::spec::ID) & ENTERPRISE_BIT != 0 { 8 } else { 4 }
);

impl<T: AsRef<[u8]>> MessageHeader<T> {
    pub fn version(&self) -> u16 {
        get16(self.buffer.as_ref(), field::message::VERSION)
    }
    pub fn length(&self) -> u16 {
        get16(self.buffer.as_ref(), field::message::LENGTH)
    }
    pub fn export_time(&self) -> u32 {
        get32(self.buffer.as_ref(), field::message::EXPORT_TIME)
    }
    pub fn sequence(&self) -> u32 {
        get32(self.buffer.as_ref(), field::message::SEQUENCE)
    }
    pub fn domain_id(&self) -> u32 {
        get32(self.buffer.as_ref(), field::message::DOMAIN)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> MessageHeader<T> {
    pub fn set_version(&mut self, v: u16) {
        put(
            self.buffer.as_mut(),
            field::message::VERSION,
            &v.to_be_bytes(),
        )
    }
    pub fn set_length(&mut self, v: u16) {
        put(
            self.buffer.as_mut(),
            field::message::LENGTH,
            &v.to_be_bytes(),
        )
    }
    pub fn set_export_time(&mut self, v: u32) {
        put(
            self.buffer.as_mut(),
            field::message::EXPORT_TIME,
            &v.to_be_bytes(),
        )
    }
    pub fn set_sequence(&mut self, v: u32) {
        put(
            self.buffer.as_mut(),
            field::message::SEQUENCE,
            &v.to_be_bytes(),
        )
    }
    pub fn set_domain_id(&mut self, v: u32) {
        put(
            self.buffer.as_mut(),
            field::message::DOMAIN,
            &v.to_be_bytes(),
        )
    }
}

impl<T: AsRef<[u8]>> SetHeader<T> {
    pub fn set_id(&self) -> u16 {
        get16(self.buffer.as_ref(), field::set::ID)
    }
    pub fn length(&self) -> u16 {
        get16(self.buffer.as_ref(), field::set::LENGTH)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> SetHeader<T> {
    pub fn set_set_id(&mut self, v: u16) {
        put(self.buffer.as_mut(), field::set::ID, &v.to_be_bytes())
    }
    pub fn set_length(&mut self, v: u16) {
        put(self.buffer.as_mut(), field::set::LENGTH, &v.to_be_bytes())
    }
}

impl<T: AsRef<[u8]>> TemplateHeader<T> {
    pub fn template_id(&self) -> u16 {
        get16(self.buffer.as_ref(), field::template::ID)
    }
    pub fn field_count(&self) -> u16 {
        get16(self.buffer.as_ref(), field::template::FIELD_COUNT)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TemplateHeader<T> {
    pub fn set_template_id(&mut self, v: u16) {
        put(self.buffer.as_mut(), field::template::ID, &v.to_be_bytes())
    }
    pub fn set_field_count(&mut self, v: u16) {
        put(
            self.buffer.as_mut(),
            field::template::FIELD_COUNT,
            &v.to_be_bytes(),
        )
    }
}

impl<T: AsRef<[u8]>> OptionsTemplateHeader<T> {
    pub fn template_id(&self) -> u16 {
        get16(self.buffer.as_ref(), field::template::ID)
    }
    pub fn field_count(&self) -> u16 {
        get16(self.buffer.as_ref(), field::template::FIELD_COUNT)
    }
    pub fn scope_field_count(&self) -> u16 {
        get16(self.buffer.as_ref(), field::template::SCOPE_COUNT)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> OptionsTemplateHeader<T> {
    pub fn set_template_id(&mut self, v: u16) {
        put(self.buffer.as_mut(), field::template::ID, &v.to_be_bytes())
    }
    pub fn set_field_count(&mut self, v: u16) {
        put(
            self.buffer.as_mut(),
            field::template::FIELD_COUNT,
            &v.to_be_bytes(),
        )
    }
    pub fn set_scope_field_count(&mut self, v: u16) {
        put(
            self.buffer.as_mut(),
            field::template::SCOPE_COUNT,
            &v.to_be_bytes(),
        )
    }
}

impl<T: AsRef<[u8]>> FieldSpecifier<T> {
    pub fn is_enterprise(&self) -> bool {
        get16(self.buffer.as_ref(), field::spec::ID) & ENTERPRISE_BIT != 0
    }
    /// The element id without the enterprise bit.
    pub fn element_id(&self) -> u16 {
        get16(self.buffer.as_ref(), field::spec::ID) & !ENTERPRISE_BIT
    }
    pub fn field_length(&self) -> u16 {
        get16(self.buffer.as_ref(), field::spec::LENGTH)
    }
    pub fn enterprise_number(&self) -> Option<u32> {
        self.is_enterprise()
            .then(|| get32(self.buffer.as_ref(), field::spec::PEN))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> FieldSpecifier<T> {
    /// Writes id, enterprise bit and (when `pen` is set) the PEN.
    pub fn set(&mut self, id: u16, length: u16, pen: Option<u32>) {
        let b = self.buffer.as_mut();
        let e = if pen.is_some() { ENTERPRISE_BIT } else { 0 };
        put(
            b,
            field::spec::ID,
            &((id & !ENTERPRISE_BIT) | e).to_be_bytes(),
        );
        put(b, field::spec::LENGTH, &length.to_be_bytes());
        if let Some(p) = pen {
            put(b, field::spec::PEN, &p.to_be_bytes());
        }
    }
}

/// The parsed message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderRepr {
    /// Total message length, header included.
    pub length: u16,
    pub export_time: u32,
    pub sequence: u32,
    pub domain_id: u32,
}

impl HeaderRepr {
    /// Checks the version and that the length field covers the header and fits the buffer.
    pub fn parse<T: AsRef<[u8]>>(h: &MessageHeader<T>) -> Result<HeaderRepr, WireError> {
        h.check_len()?;
        if h.version() != VERSION {
            return Err(WireError::Version(h.version()));
        }
        let available = h.buffer.as_ref().len();
        let length = h.length();
        if usize::from(length) < MESSAGE_HEADER_LEN || usize::from(length) > available {
            return Err(WireError::Length {
                what: "message",
                length: length.into(),
                available,
            });
        }
        Ok(HeaderRepr {
            length,
            export_time: h.export_time(),
            sequence: h.sequence(),
            domain_id: h.domain_id(),
        })
    }

    pub fn buffer_len(&self) -> usize {
        MESSAGE_HEADER_LEN
    }

    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, h: &mut MessageHeader<T>) {
        h.set_version(VERSION);
        h.set_length(self.length);
        h.set_export_time(self.export_time);
        h.set_sequence(self.sequence);
        h.set_domain_id(self.domain_id);
    }
}

/// The parsed set header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetRepr {
    pub set_id: u16,
    /// Set length, header and padding included.
    pub length: u16,
}

impl SetRepr {
    /// Checks that the length covers the header and fits the buffer (the rest of the message).
    pub fn parse<T: AsRef<[u8]>>(s: &SetHeader<T>) -> Result<SetRepr, WireError> {
        s.check_len()?;
        let available = s.buffer.as_ref().len();
        let length = s.length();
        if usize::from(length) < SET_HEADER_LEN || usize::from(length) > available {
            return Err(WireError::Length {
                what: "set",
                length: length.into(),
                available,
            });
        }
        Ok(SetRepr {
            set_id: s.set_id(),
            length,
        })
    }

    pub fn buffer_len(&self) -> usize {
        SET_HEADER_LEN
    }

    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, s: &mut SetHeader<T>) {
        s.set_set_id(self.set_id);
        s.set_length(self.length);
    }
}

/// A (possibly options) template record header. `scope_field_count` is `None` for a Template
/// Record, `Some` for an Options Template Record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplateRepr {
    pub template_id: u16,
    pub field_count: u16,
    pub scope_field_count: Option<u16>,
}

impl TemplateRepr {
    /// Parses a Template Record header (`options == false`) or an Options Template Record
    /// header. A withdrawal (field count 0) has no scope count even in an Options Template Set
    /// (RFC 7011 §8.1: the withdrawal record is 4 octets).
    pub fn parse(buf: &[u8], options: bool) -> Result<TemplateRepr, WireError> {
        let h = TemplateHeader::new_checked(buf)?;
        let (template_id, field_count) = (h.template_id(), h.field_count());
        if !options || field_count == 0 {
            return Ok(TemplateRepr {
                template_id,
                field_count,
                scope_field_count: None,
            });
        }
        let o = OptionsTemplateHeader::new_checked(buf)?;
        Ok(TemplateRepr {
            template_id,
            field_count,
            scope_field_count: Some(o.scope_field_count()),
        })
    }

    pub fn buffer_len(&self) -> usize {
        if self.scope_field_count.is_some() {
            OPTIONS_TEMPLATE_HEADER_LEN
        } else {
            TEMPLATE_HEADER_LEN
        }
    }

    pub fn emit(&self, buf: &mut [u8]) {
        let mut h = TemplateHeader::new_unchecked(&mut *buf);
        h.set_template_id(self.template_id);
        h.set_field_count(self.field_count);
        if let Some(s) = self.scope_field_count {
            OptionsTemplateHeader::new_unchecked(buf).set_scope_field_count(s);
        }
    }
}

/// A parsed field specifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpecRepr {
    pub id: u16,
    pub length: u16,
    /// The enterprise number when the enterprise bit is set.
    pub pen: Option<u32>,
}

impl FieldSpecRepr {
    pub fn parse<T: AsRef<[u8]>>(f: &FieldSpecifier<T>) -> Result<FieldSpecRepr, WireError> {
        f.check_len()?;
        Ok(FieldSpecRepr {
            id: f.element_id(),
            length: f.field_length(),
            pen: f.enterprise_number(),
        })
    }

    pub fn buffer_len(&self) -> usize {
        if self.pen.is_some() { 8 } else { 4 }
    }

    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, f: &mut FieldSpecifier<T>) {
        f.set(self.id, self.length, self.pen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG1: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/ipfix/msg1-template+2records.bin"
    ));

    #[test]
    fn parses_the_fixture_header_set_and_specifiers() {
        let h = HeaderRepr::parse(&MessageHeader::new_checked(MSG1).unwrap()).unwrap();
        assert_eq!(
            h,
            HeaderRepr {
                length: 532,
                export_time: 1_768_478_700,
                sequence: 0,
                domain_id: 1
            }
        );
        let s = SetRepr::parse(&SetHeader::new_checked(&MSG1[16..]).unwrap()).unwrap();
        assert_eq!(
            s,
            SetRepr {
                set_id: TEMPLATE_SET_ID,
                length: 0x90
            }
        );
        let t = TemplateRepr::parse(&MSG1[20..], false).unwrap();
        assert_eq!(
            t,
            TemplateRepr {
                template_id: 256,
                field_count: 25,
                scope_field_count: None
            }
        );
        let first =
            FieldSpecRepr::parse(&FieldSpecifier::new_checked(&MSG1[24..]).unwrap()).unwrap();
        assert_eq!(
            first,
            FieldSpecRepr {
                id: 8,
                length: 4,
                pen: None
            }
        );
        // 16 IANA specifiers (64 octets) then the first enterprise one: 8001ffff00007ed9.
        let ent =
            FieldSpecRepr::parse(&FieldSpecifier::new_checked(&MSG1[24 + 64..]).unwrap()).unwrap();
        assert_eq!(
            ent,
            FieldSpecRepr {
                id: 1,
                length: 0xffff,
                pen: Some(32_473)
            }
        );
        assert_eq!(ent.buffer_len(), 8);
    }

    #[test]
    fn emit_then_parse_round_trips() {
        let mut b = [0u8; 16];
        let h = HeaderRepr {
            length: 16,
            export_time: 7,
            sequence: u32::MAX,
            domain_id: 1001,
        };
        h.emit(&mut MessageHeader::new_unchecked(&mut b[..]));
        assert_eq!(
            HeaderRepr::parse(&MessageHeader::new_checked(&b[..]).unwrap()),
            Ok(h)
        );
        let t = TemplateRepr {
            template_id: 300,
            field_count: 3,
            scope_field_count: Some(1),
        };
        let mut tb = [0u8; 6];
        t.emit(&mut tb);
        assert_eq!(TemplateRepr::parse(&tb, true), Ok(t));
        let f = FieldSpecRepr {
            id: 0x7fff,
            length: 65535,
            pen: Some(1),
        };
        let mut fb = [0u8; 8];
        f.emit(&mut FieldSpecifier::new_unchecked(&mut fb[..]));
        assert_eq!(
            FieldSpecRepr::parse(&FieldSpecifier::new_checked(&fb[..]).unwrap()),
            Ok(f)
        );
    }

    #[test]
    fn rejects_short_bad_version_and_bad_lengths() {
        for cut in 0..16 {
            assert!(matches!(
                MessageHeader::new_checked(&MSG1[..cut]),
                Err(WireError::Truncated { .. })
            ));
        }
        let mut bad = MSG1.to_vec();
        bad[1] = 9;
        assert_eq!(
            HeaderRepr::parse(&MessageHeader::new_checked(&bad[..]).unwrap()),
            Err(WireError::Version(9))
        );
        // Length past the buffer.
        assert!(matches!(
            HeaderRepr::parse(&MessageHeader::new_checked(&MSG1[..100]).unwrap()),
            Err(WireError::Length { .. })
        ));
        // Set length below the header size.
        assert!(SetRepr::parse(&SetHeader::new_checked(&[0u8, 2, 0, 3][..]).unwrap()).is_err());
        // An enterprise specifier needs 8 octets.
        assert!(FieldSpecifier::new_checked(&[0x80u8, 1, 0, 4, 0, 0][..]).is_err());
        // The error reads as one line.
        let e = WireError::Truncated {
            what: "set header",
            need: 4,
            have: 2,
        };
        assert_eq!(
            e.to_string(),
            "truncated IPFIX set header: need 4 octets, have 2"
        );
    }
}
