//! A pull reader over AWS XML responses (EC2 and S3), built on quick-xml events.
//!
//! Each output struct is read by a small recursive-descent function: loop over the element's
//! children with [`XmlReader::next_child`], `match` on the name, read leaves with
//! [`XmlReader::text`] and let everything else fall through. That gives what AWS XML needs:
//! element order does not matter, unknown elements are skipped (a child that is not read is
//! skipped by the next `next_child` call), and the nested `<item>` lists of EC2 (`tagSet` inside
//! `instancesSet` inside `reservationSet`) are each handled at their own level.
//!
//! Text borrows from the input: [`XmlReader::text`] returns `Cow::Borrowed` unless the text
//! holds entity or character references (`&amp;`, `&#233;`) or is split by CDATA, and
//! [`XmlReader::text_str`] refuses such text for members that are identifiers.
//!
//! A document that ends before its root element is closed is an error, so a truncated body is
//! never mistaken for a short page.

use std::borrow::Cow;
use std::fmt;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Why an XML body could not be read.
#[derive(Debug)]
pub enum XmlError {
    TooLarge {
        len: usize,
        max: usize,
    },
    NotUtf8,
    /// quick-xml refused the syntax (unclosed tag, bad reference, ...).
    Syntax(quick_xml::Error),
    /// The input ended inside the document.
    Truncated,
    /// The input holds no root element.
    NoRoot,
    /// The root element is not the one the operation answers with.
    UnexpectedRoot {
        expected: &'static str,
        found: String,
    },
    /// An identifier-like member used escapes, which AWS never does for those.
    EscapedText {
        element: String,
    },
    /// An entity other than the five XML ones.
    UnknownEntity(String),
    /// A number or boolean member that does not parse.
    BadValue {
        element: String,
        value: String,
    },
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XmlError::TooLarge { len, max } => {
                write!(f, "body of {len} bytes exceeds the {max}-byte limit")
            }
            XmlError::NotUtf8 => write!(f, "body is not UTF-8"),
            XmlError::Syntax(e) => write!(f, "malformed XML: {e}"),
            XmlError::Truncated => write!(f, "XML body ends before its root element is closed"),
            XmlError::NoRoot => write!(f, "XML body has no root element"),
            XmlError::UnexpectedRoot { expected, found } => {
                write!(f, "XML root element is <{found}>, expected <{expected}>")
            }
            XmlError::EscapedText { element } => write!(
                f,
                "<{element}> holds escaped text where an identifier was expected"
            ),
            XmlError::UnknownEntity(e) => write!(f, "XML uses the undefined entity &{e};"),
            XmlError::BadValue { element, value } => {
                write!(f, "<{element}> holds {value:?}, which does not parse")
            }
        }
    }
}

impl std::error::Error for XmlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            XmlError::Syntax(e) => Some(e),
            _ => None,
        }
    }
}

impl From<quick_xml::Error> for XmlError {
    fn from(e: quick_xml::Error) -> Self {
        XmlError::Syntax(e)
    }
}

/// An element whose start tag has been read.
pub(crate) struct Element<'a> {
    start: BytesStart<'a>,
    /// `<x/>`: no children, empty text.
    empty: bool,
    /// Number of open elements once this one is open (its own level).
    depth: usize,
}

impl<'a> Element<'a> {
    /// The local name (namespace prefix removed).
    pub(crate) fn name(&self) -> &str {
        self.start.local_name().into_inner()
    }
}

pub(crate) struct XmlReader<'a> {
    reader: Reader<&'a [u8]>,
    /// Number of currently open elements.
    depth: usize,
}

impl<'a> XmlReader<'a> {
    /// Checks size and encoding; nothing is parsed yet.
    pub(crate) fn new(body: &'a [u8], max: usize) -> Result<Self, XmlError> {
        if body.len() > max {
            return Err(XmlError::TooLarge {
                len: body.len(),
                max,
            });
        }
        let text = std::str::from_utf8(body).map_err(|_| XmlError::NotUtf8)?;
        let mut reader = Reader::from_str(text);
        // Names are compared by us; a mismatched end tag is still a syntax error.
        reader.config_mut().check_end_names = true;
        Ok(XmlReader { reader, depth: 0 })
    }

    /// Reads up to the root element and checks its name.
    pub(crate) fn root(&mut self, expected: &'static str) -> Result<Element<'a>, XmlError> {
        loop {
            match self.reader.read_event()? {
                Event::Start(start) => {
                    self.depth = 1;
                    let el = Element {
                        start,
                        empty: false,
                        depth: 1,
                    };
                    return check_root(el, expected);
                }
                Event::Empty(start) => {
                    let el = Element {
                        start,
                        empty: true,
                        depth: 1,
                    };
                    return check_root(el, expected);
                }
                Event::Eof => return Err(XmlError::NoRoot),
                // Declaration, comments, processing instructions, whitespace.
                _ => {}
            }
        }
    }

    /// The next child element of `parent`, or `None` once `parent` is closed. Children of
    /// `parent` that were returned earlier but not read are skipped first.
    pub(crate) fn next_child(
        &mut self,
        parent: &Element<'a>,
    ) -> Result<Option<Element<'a>>, XmlError> {
        if parent.empty || self.depth < parent.depth {
            return Ok(None);
        }
        while self.depth > parent.depth {
            self.skip_current()?;
        }
        loop {
            match self.reader.read_event()? {
                Event::Start(start) => {
                    self.depth += 1;
                    return Ok(Some(Element {
                        start,
                        empty: false,
                        depth: self.depth,
                    }));
                }
                Event::Empty(start) => {
                    return Ok(Some(Element {
                        start,
                        empty: true,
                        depth: self.depth + 1,
                    }));
                }
                Event::End(_) => {
                    self.depth -= 1;
                    return Ok(None);
                }
                Event::Eof => return Err(XmlError::Truncated),
                // Whitespace between children, comments, stray references in containers.
                _ => {}
            }
        }
    }

    /// Reads the rest of the innermost open element (whatever it holds) up to its end tag.
    fn skip_current(&mut self) -> Result<(), XmlError> {
        let target = self.depth - 1;
        while self.depth > target {
            match self.reader.read_event()? {
                Event::Start(_) => self.depth += 1,
                Event::End(_) => self.depth -= 1,
                Event::Eof => return Err(XmlError::Truncated),
                _ => {}
            }
        }
        Ok(())
    }

    /// The text content of `el`, which must be the element just returned. Child elements inside
    /// it are skipped; references are resolved (then the text is owned).
    pub(crate) fn text(&mut self, el: &Element<'a>) -> Result<Cow<'a, str>, XmlError> {
        if el.empty || self.depth != el.depth {
            return Ok(Cow::Borrowed(""));
        }
        let mut text: Cow<'a, str> = Cow::Borrowed("");
        loop {
            match self.reader.read_event()? {
                Event::Text(t) => append(&mut text, t.xml10_content()),
                Event::CData(c) => append(&mut text, c.into_inner()),
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref()? {
                        Some(c) => c,
                        None => match &*r {
                            "amp" => '&',
                            "lt" => '<',
                            "gt" => '>',
                            "quot" => '"',
                            "apos" => '\'',
                            other => return Err(XmlError::UnknownEntity(other.to_string())),
                        },
                    };
                    let mut buf = [0u8; 4];
                    append(
                        &mut text,
                        Cow::Owned(resolved.encode_utf8(&mut buf).to_string()),
                    );
                }
                Event::Start(_) => {
                    self.depth += 1;
                    self.skip_current()?;
                }
                Event::End(_) => {
                    self.depth -= 1;
                    return Ok(text);
                }
                Event::Eof => return Err(XmlError::Truncated),
                _ => {}
            }
        }
    }

    /// Like [`text`](Self::text) for identifier-like members (ids, addresses, enums, tokens):
    /// those never need escapes, so the text is a plain borrow of the input.
    pub(crate) fn text_str(&mut self, el: &Element<'a>) -> Result<&'a str, XmlError> {
        match self.text(el)? {
            Cow::Borrowed(s) => Ok(s),
            Cow::Owned(_) => Err(XmlError::EscapedText {
                element: el.name().to_string(),
            }),
        }
    }

    /// An optional identifier: `None` when the element is empty (`<dnsName/>`).
    pub(crate) fn opt_str(&mut self, el: &Element<'a>) -> Result<Option<&'a str>, XmlError> {
        let s = self.text_str(el)?;
        Ok((!s.is_empty()).then_some(s))
    }

    /// An optional free-text member: `None` when the element is empty.
    pub(crate) fn opt_text(&mut self, el: &Element<'a>) -> Result<Option<Cow<'a, str>>, XmlError> {
        let s = self.text(el)?;
        Ok((!s.is_empty()).then_some(s))
    }

    /// A `true`/`false` member.
    pub(crate) fn bool(&mut self, el: &Element<'a>) -> Result<bool, XmlError> {
        match self.text_str(el)? {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(XmlError::BadValue {
                element: el.name().to_string(),
                value: other.to_string(),
            }),
        }
    }

    /// An unsigned integer member.
    pub(crate) fn u64(&mut self, el: &Element<'a>) -> Result<u64, XmlError> {
        let s = self.text_str(el)?;
        s.parse().map_err(|_| XmlError::BadValue {
            element: el.name().to_string(),
            value: s.to_string(),
        })
    }

    /// Reads a list element (`<xxxSet>`) calling `item` for each `<item>` child.
    pub(crate) fn items<T>(
        &mut self,
        list: &Element<'a>,
        mut item: impl FnMut(&mut Self, &Element<'a>) -> Result<T, XmlError>,
    ) -> Result<Vec<T>, XmlError> {
        let mut out = Vec::new();
        while let Some(child) = self.next_child(list)? {
            if child.name() == "item" {
                out.push(item(self, &child)?);
            }
        }
        Ok(out)
    }

    /// A list of plain strings: `<xxxSet><item>v</item>…</xxxSet>`.
    pub(crate) fn str_items(&mut self, list: &Element<'a>) -> Result<Vec<&'a str>, XmlError> {
        self.items(list, |r, item| r.text_str(item))
    }

    /// A list of one-member structs: `<xxxSet><item><member>v</member></item>…</xxxSet>`
    /// (`cidrBlockSet/item/cidrBlock`, `ipv6AddressesSet/item/ipv6Address`).
    pub(crate) fn member_items(
        &mut self,
        list: &Element<'a>,
        member: &str,
    ) -> Result<Vec<&'a str>, XmlError> {
        let mut out = Vec::new();
        while let Some(item) = self.next_child(list)? {
            if item.name() != "item" {
                continue;
            }
            while let Some(child) = self.next_child(&item)? {
                if child.name() == member {
                    out.push(self.text_str(&child)?);
                }
            }
        }
        Ok(out)
    }

    /// Reads to the end of the input after the root element was fully read.
    pub(crate) fn finish(&mut self) -> Result<(), XmlError> {
        if self.depth != 0 {
            return Err(XmlError::Truncated);
        }
        loop {
            if let Event::Eof = self.reader.read_event()? {
                return Ok(());
            }
        }
    }
}

fn check_root<'a>(el: Element<'a>, expected: &'static str) -> Result<Element<'a>, XmlError> {
    if el.name() == expected {
        Ok(el)
    } else {
        Err(XmlError::UnexpectedRoot {
            expected,
            found: el.name().to_string(),
        })
    }
}

fn append<'a>(text: &mut Cow<'a, str>, more: Cow<'a, str>) {
    if more.is_empty() {
        return;
    }
    if text.is_empty() {
        *text = more;
    } else {
        text.to_mut().push_str(&more);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `<r><a>..</a><b><a>..</a></b></r>`-style documents into (name, text) pairs of the
    /// root's direct children.
    fn children(doc: &str) -> Result<Vec<(String, String)>, XmlError> {
        let mut r = XmlReader::new(doc.as_bytes(), 1 << 20)?;
        let root = r.root("r")?;
        let mut out = Vec::new();
        while let Some(c) = r.next_child(&root)? {
            let name = c.name().to_string();
            if name == "skip" {
                continue;
            }
            out.push((name, r.text(&c)?.into_owned()));
        }
        r.finish()?;
        Ok(out)
    }

    #[test]
    fn entities_and_cdata_are_resolved_and_owned() {
        let doc = "<r><a>x &amp; y &#233;&#x41;</a><b><![CDATA[<raw>]]></b></r>";
        let got = children(doc).unwrap();
        assert_eq!(
            got,
            vec![
                ("a".into(), "x & y éA".into()),
                ("b".into(), "<raw>".into())
            ]
        );
        let mut r = XmlReader::new(b"<r><id>a&amp;b</id></r>", 100).unwrap();
        let root = r.root("r").unwrap();
        let id = r.next_child(&root).unwrap().unwrap();
        assert!(matches!(r.text_str(&id), Err(XmlError::EscapedText { .. })));
    }

    #[test]
    fn unread_children_are_skipped_and_empty_elements_have_no_text() {
        let doc = "<r><skip><a>1</a><b><c/></b></skip><e/><a>2</a></r>";
        assert_eq!(
            children(doc).unwrap(),
            vec![("e".into(), "".into()), ("a".into(), "2".into())]
        );
    }

    #[test]
    fn plain_text_borrows_the_input() {
        let body = b"<r><a>vpc-1</a></r>";
        let mut r = XmlReader::new(body, 100).unwrap();
        let root = r.root("r").unwrap();
        let a = r.next_child(&root).unwrap().unwrap();
        assert!(matches!(r.text(&a).unwrap(), Cow::Borrowed("vpc-1")));
    }

    #[test]
    fn truncation_wrong_root_and_bad_entities_are_errors() {
        assert!(matches!(children("<r><a>1</a>"), Err(XmlError::Truncated)));
        assert!(matches!(children("<r><a>1"), Err(XmlError::Truncated)));
        assert!(children("<r><a>1</a></r").is_err());
        assert!(matches!(children(""), Err(XmlError::NoRoot)));
        assert!(matches!(
            children("<x/>"),
            Err(XmlError::UnexpectedRoot { .. })
        ));
        assert!(matches!(
            children("<r><a>&nope;</a></r>"),
            Err(XmlError::UnknownEntity(_))
        ));
        assert!(children("<r><a>1</b></r>").is_err());
        assert!(matches!(
            XmlReader::new(b"<r>\xff</r>", 100),
            Err(XmlError::NotUtf8)
        ));
        assert!(matches!(
            XmlReader::new(b"<r/>", 3),
            Err(XmlError::TooLarge { len: 4, max: 3 })
        ));
    }
}
