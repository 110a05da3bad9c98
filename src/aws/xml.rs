//! A small borrowing walk over an XML response: every leaf element's text with its path.
//!
//! AWS's XML bodies (query/EC2/S3 responses and errors) are trees of leaf values; the parsers
//! only need "the text of `Error/Code`", "every `Credentials/*`". quick-xml 0.42 reports text,
//! CDATA and entity references (`&amp;`, `&#38;`) as separate events; this walk joins them, so a
//! leaf's text is borrowed from the body when it is one plain run (the usual case) and owned
//! only when entities had to be resolved. Namespace prefixes are dropped (local names).

use std::borrow::Cow;
use std::fmt;

use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// Why a body is not the XML we expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XmlError {
    /// Byte offset where reading stopped.
    pub offset: u64,
    pub reason: String,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed XML at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for XmlError {}

/// The element names from the root to the current leaf (local names, no prefixes).
pub struct Path<'p> {
    names: &'p str,
    ends: &'p [usize],
}

impl Path<'_> {
    /// Number of elements, the root included.
    pub fn depth(&self) -> usize {
        self.ends.len()
    }

    /// The `i`-th name from the root.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.names.get(start..end)
    }

    /// The leaf's own name.
    pub fn name(&self) -> &str {
        self.depth()
            .checked_sub(1)
            .and_then(|i| self.get(i))
            .unwrap_or("")
    }

    /// Whether the path ends with `suffix` (`["Error", "Code"]`).
    pub fn ends_with(&self, suffix: &[&str]) -> bool {
        let d = self.depth();
        suffix.len() <= d
            && suffix
                .iter()
                .enumerate()
                .all(|(i, s)| self.get(d - suffix.len() + i) == Some(*s))
    }

    /// Whether the path is exactly `full`, root first.
    pub fn is(&self, full: &[&str]) -> bool {
        self.depth() == full.len() && self.ends_with(full)
    }
}

impl fmt::Debug for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries((0..self.depth()).filter_map(|i| self.get(i)))
            .finish()
    }
}

/// Calls `leaf(path, text)` for every element without child elements, in document order.
/// Whitespace around text is trimmed. Any syntax error, non-UTF-8 byte, mismatched end tag or
/// unknown entity is an error; `leaf` may have been called for earlier leaves.
pub fn for_each_leaf<'a>(
    body: &'a [u8],
    mut leaf: impl FnMut(&Path<'_>, Cow<'a, str>),
) -> Result<(), XmlError> {
    let mut reader = Reader::from_reader(body);
    let cfg = reader.config_mut();
    cfg.trim_text(false);
    cfg.check_end_names = true;
    let mut names = String::new();
    let mut ends: Vec<usize> = Vec::new();
    // Text of the innermost open element, and whether it has child elements (then it is no leaf).
    let mut text: Option<Cow<'a, str>> = None;
    let mut has_children = false;
    let err = |reader: &Reader<&[u8]>, reason: String| XmlError {
        offset: reader.buffer_position(),
        reason,
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| err(&reader, e.to_string()))?;
        match event {
            Event::Start(e) => {
                names.push_str(local(&e));
                ends.push(names.len());
                text = None;
                has_children = false;
            }
            Event::Empty(e) => {
                names.push_str(local(&e));
                ends.push(names.len());
                leaf(
                    &Path {
                        names: &names,
                        ends: &ends,
                    },
                    Cow::Borrowed(""),
                );
                pop(&mut names, &mut ends);
                has_children = true;
                text = None;
            }
            Event::End(_) => {
                if !has_children {
                    let t = match text.take() {
                        Some(Cow::Borrowed(s)) => Cow::Borrowed(s.trim()),
                        Some(Cow::Owned(s)) => Cow::Owned(s.trim().to_string()),
                        None => Cow::Borrowed(""),
                    };
                    leaf(
                        &Path {
                            names: &names,
                            ends: &ends,
                        },
                        t,
                    );
                }
                pop(&mut names, &mut ends);
                // The parent now has (had) a child element.
                has_children = true;
                text = None;
            }
            Event::Text(t) => append(&mut text, t.into_inner()),
            Event::CData(c) => append(&mut text, c.into_inner()),
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => Cow::Owned(c.to_string()),
                        _ => {
                            return Err(err(&reader, format!("bad character reference &{};", &*r)));
                        }
                    }
                } else {
                    match quick_xml::escape::resolve_xml_entity(&r) {
                        Some(s) => Cow::Borrowed(s),
                        None => return Err(err(&reader, format!("unknown entity &{};", &*r))),
                    }
                };
                append(&mut text, resolved);
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !ends.is_empty() {
        return Err(err(&reader, "unexpected end of document".to_string()));
    }
    Ok(())
}

fn local<'e>(e: &'e quick_xml::events::BytesStart<'_>) -> &'e str {
    e.local_name().into_inner()
}

fn pop(names: &mut String, ends: &mut Vec<usize>) {
    ends.pop();
    names.truncate(ends.last().copied().unwrap_or(0));
}

fn append<'a>(text: &mut Option<Cow<'a, str>>, piece: Cow<'a, str>) {
    *text = Some(match text.take() {
        None => piece,
        Some(prev) => Cow::Owned(prev.into_owned() + &piece),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(body: &[u8]) -> Result<Vec<(String, String, bool)>, XmlError> {
        let mut out = Vec::new();
        for_each_leaf(body, |p, t| {
            let path: Vec<_> = (0..p.depth()).filter_map(|i| p.get(i)).collect();
            out.push((path.join("/"), t.to_string(), matches!(t, Cow::Borrowed(_))));
        })?;
        Ok(out)
    }

    #[test]
    fn paths_text_entities_and_borrowing() {
        let body = br#"<?xml version="1.0"?><a:R xmlns:a="x"><E><C>Plain</C><M>x &amp; y &#65;<![CDATA[<z>]]></M><N/></E><Id> 7 </Id></a:R>"#;
        let got = leaves(body).expect("parses");
        assert_eq!(
            got,
            [
                ("R/E/C".to_string(), "Plain".to_string(), true),
                ("R/E/M".to_string(), "x & y A<z>".to_string(), false),
                ("R/E/N".to_string(), String::new(), true),
                ("R/Id".to_string(), "7".to_string(), true),
            ]
        );
    }

    #[test]
    fn path_helpers() {
        let mut seen = false;
        for_each_leaf(
            b"<Response><Errors><Error><Code>X</Code></Error></Errors></Response>",
            |p, _| {
                assert!(p.ends_with(&["Error", "Code"]));
                assert!(p.is(&["Response", "Errors", "Error", "Code"]));
                assert!(!p.is(&["Errors", "Error", "Code"]));
                assert!(!p.ends_with(&["A", "Response", "Errors", "Error", "Code"]));
                assert_eq!(p.name(), "Code");
                assert_eq!(
                    format!("{p:?}"),
                    r#"["Response", "Errors", "Error", "Code"]"#
                );
                seen = true;
            },
        )
        .expect("parses");
        assert!(seen);
    }

    #[test]
    fn malformed_input_is_an_error() {
        for bad in [
            &b"<a><b></a>"[..],
            b"<a>",
            b"<a>&bogus;</a>",
            b"<a>\xff</a>",
            b"<a><b>x</b>",
            b"<a>&#xFFFFFFFF;</a>",
        ] {
            assert!(leaves(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
