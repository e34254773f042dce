//! A tiny, strict XML reader for tests: enough of XML 1.0 to check that a JUnit report (from
//! `expect::write_junit`) is well-formed, and to read its attributes and text back decoded.
//! Shared by the expect module's unit tests and the `check` integration tests; each uses part
//! of it.
#![allow(dead_code)]

/// An element, as the reader below returns it.
#[derive(Debug)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

pub struct XmlReader<'a> {
    s: &'a str,
    pos: usize,
}

impl XmlReader<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn skip_ws(&mut self) {
        while self.rest().starts_with([' ', '\t', '\n', '\r']) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, token: &str) -> Result<(), String> {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            Ok(())
        } else {
            Err(format!("expected {token:?} at byte {}: {:?}", self.pos, &self.rest()[..self.rest().len().min(40)]))
        }
    }

    fn name(&mut self) -> Result<String, String> {
        let len = self.rest().find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))).unwrap_or(0);
        if len == 0 {
            return Err(format!("expected a name at byte {}", self.pos));
        }
        let name = self.rest()[..len].to_string();
        self.pos += len;
        Ok(name)
    }

    /// Decodes text up to `end`; rejects what XML forbids there.
    fn decode(raw: &str, in_attribute: bool) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = raw;
        while let Some(c) = rest.chars().next() {
            let legal = matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}');
            if !legal {
                return Err(format!("illegal character U+{:04X}", c as u32));
            }
            if c == '<' {
                return Err("raw `<`".into());
            }
            if !in_attribute && rest.starts_with("]]>") {
                return Err("raw `]]>` in text".into());
            }
            if c == '&' {
                let end = rest.find(';').ok_or("unterminated entity")?;
                let entity = &rest[1..end];
                let decoded = match entity {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "quot" => '"',
                    "apos" => '\'',
                    _ => {
                        let code = if let Some(hex) = entity.strip_prefix("#x") {
                            u32::from_str_radix(hex, 16)
                        } else if let Some(dec) = entity.strip_prefix('#') {
                            dec.parse()
                        } else {
                            return Err(format!("unknown entity &{entity};"));
                        };
                        code.ok().and_then(char::from_u32).ok_or(format!("bad character reference &{entity};"))?
                    }
                };
                out.push(decoded);
                rest = &rest[end + 1..];
                continue;
            }
            // What a parser does: line ends normalise to LF, and in attributes whitespace to space.
            match c {
                '\r' => out.push('\n'),
                '\n' | '\t' if in_attribute => out.push(' '),
                c => out.push(c),
            }
            rest = &rest[c.len_utf8()..];
        }
        Ok(out)
    }

    fn element(&mut self) -> Result<Element, String> {
        self.expect("<")?;
        let name = self.name()?;
        let mut attributes = Vec::new();
        loop {
            self.skip_ws();
            if self.rest().starts_with("/>") {
                self.pos += 2;
                return Ok(Element { name, attributes, children: vec![], text: String::new() });
            }
            if self.rest().starts_with('>') {
                self.pos += 1;
                break;
            }
            let attribute = self.name()?;
            if attributes.iter().any(|(n, _)| *n == attribute) {
                return Err(format!("duplicate attribute {attribute}"));
            }
            self.skip_ws();
            self.expect("=")?;
            self.skip_ws();
            let quote = self.rest().chars().next().filter(|c| matches!(c, '"' | '\'')).ok_or("unquoted attribute")?;
            self.pos += 1;
            let len = self.rest().find(quote).ok_or("unterminated attribute")?;
            let value = Self::decode(&self.rest()[..len], true)?;
            self.pos += len + 1;
            attributes.push((attribute, value));
        }
        let mut children = Vec::new();
        let mut text = String::new();
        loop {
            let len = self.rest().find('<').ok_or(format!("unclosed <{name}>"))?;
            text.push_str(&Self::decode(&self.rest()[..len], false)?);
            self.pos += len;
            if self.rest().starts_with("</") {
                self.pos += 2;
                let closing = self.name()?;
                if closing != name {
                    return Err(format!("<{name}> closed by </{closing}>"));
                }
                self.skip_ws();
                self.expect(">")?;
                return Ok(Element { name, attributes, children, text });
            }
            if self.rest().starts_with("<!") || self.rest().starts_with("<?") {
                return Err("comments, CDATA and processing instructions are not expected".into());
            }
            children.push(self.element()?);
        }
    }

    /// Parses a whole document: the XML declaration `write_junit` writes, then one element.
    pub fn document(s: &str) -> Result<Element, String> {
        let mut r = XmlReader { s, pos: 0 };
        r.expect(r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        r.skip_ws();
        let root = r.element()?;
        r.skip_ws();
        if r.pos != s.len() {
            return Err(format!("content after the root element at byte {}", r.pos));
        }
        Ok(root)
    }
}
