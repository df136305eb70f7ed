//! STS's XML: the query protocol's responses (`<{Action}Response>` with a `<{Action}Result>` and
//! `<ResponseMetadata>`) and its `<ErrorResponse>`.
//!
//! Only writing is needed, of a handful of fixed elements whose text is escaped here: the five
//! characters XML reserves are the whole of it, so no XML crate is pulled in for it.

use crate::error::StsError;

/// STS's XML namespace (botocore's model, `metadata.xmlNamespace`).
pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The content type STS answers with.
pub const CONTENT_TYPE: &str = "text/xml";

/// Escapes `text` for an XML element's content or an attribute value.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['<', '>', '&', '"', '\'']) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Builds the elements of one `<…Result>`.
#[derive(Default)]
pub struct Elements(String);

impl Elements {
    /// `<name>text</name>`.
    pub fn text(mut self, name: &str, text: &str) -> Self {
        self.0.push_str(&format!("<{name}>{}</{name}>", escape(text)));
        self
    }

    /// `<name>…children…</name>`.
    pub fn nested(mut self, name: &str, children: Elements) -> Self {
        self.0.push_str(&format!("<{name}>{}</{name}>", children.0));
        self
    }
}

/// The whole response document of `action` whose result holds `result`.
pub fn response_document(action: &str, result: Elements, request_id: &str) -> String {
    format!(
        "<{action}Response xmlns=\"{NAMESPACE}\"><{action}Result>{}</{action}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        result.0,
        escape(request_id)
    )
}

/// STS's error document: `Sender` for 4xx, `Receiver` for 5xx.
pub fn error_document(error: &StsError, request_id: &str) -> String {
    let kind = if error.status >= 500 { "Receiver" } else { "Sender" };
    format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        escape(error.code),
        escape(&error.message),
        escape(request_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_xml_reserves() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        let doc = error_document(&StsError::validation("Value '<x>' at 'roleArn'"), "r-1");
        assert!(doc.contains("<Code>ValidationError</Code><Message>Value &apos;&lt;x&gt;&apos; at &apos;roleArn&apos;</Message>"), "{doc}");
        assert!(doc.contains("<Type>Sender</Type>") && doc.ends_with("<RequestId>r-1</RequestId></ErrorResponse>"));
    }

    #[test]
    fn a_response_wraps_its_result() {
        let doc = response_document("GetCallerIdentity", Elements::default().text("Account", "111122223333"), "r-2");
        assert_eq!(
            doc,
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Account>111122223333</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
        );
    }
}
