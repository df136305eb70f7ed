//! The query protocol's request: `Action=…&Version=…&Name=value` pairs, from a
//! `application/x-www-form-urlencoded` body (`POST /`) or the query string (`GET /?Action=…`),
//! with lists as `Name.member.N` (from 1) and structures in a list as `Name.member.N.Field`.

use std::collections::HashMap;

/// The decoded parameters of one query-protocol request.
#[derive(Clone, Debug, Default)]
pub struct QueryRequest {
    params: HashMap<String, String>,
}

/// Entries a list may have before parsing stops looking (STS's lists hold at most 50).
const MAX_LIST_ENTRIES: usize = 1000;

impl QueryRequest {
    /// The parameters of `query` (the URL's query string) and `body` (the form body) together;
    /// a name given in both takes the body's value.
    pub fn parse(query: Option<&str>, body: &[u8]) -> Self {
        let mut params = HashMap::new();
        if let Some(q) = query {
            params.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        params.extend(form_urlencoded::parse(body).into_owned());
        QueryRequest { params }
    }

    /// Whether `body` (or `query`) looks like a query-protocol request: it has an `Action`.
    pub fn names_an_action(query: Option<&str>, body: &[u8]) -> bool {
        let has = |bytes: &[u8]| form_urlencoded::parse(bytes).any(|(k, _)| k == "Action");
        query.is_some_and(|q| has(q.as_bytes())) || has(body)
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// `Action`.
    pub fn action(&self) -> Option<&str> {
        self.get("Action")
    }

    /// `Version`.
    pub fn version(&self) -> Option<&str> {
        self.get("Version")
    }

    /// The members of list `name`: `name.member.1`, `name.member.2`, … up to the first gap.
    /// `Some(empty)` for a list sent empty (`name=`), `None` when absent.
    pub fn list(&self, name: &str) -> Option<Vec<&str>> {
        let mut out = Vec::new();
        for i in 1..=MAX_LIST_ENTRIES {
            match self.get(&format!("{name}.member.{i}")) {
                Some(v) => out.push(v),
                None => break,
            }
        }
        if out.is_empty() && !self.params.contains_key(name) {
            return None;
        }
        Some(out)
    }

    /// The structures of list `name` with fields `fields`: each `name.member.N.field`; an entry
    /// lacking a field has `None` there.
    pub fn structure_list(&self, name: &str, fields: &[&str]) -> Option<Vec<Vec<Option<&str>>>> {
        let mut out = Vec::new();
        for i in 1..=MAX_LIST_ENTRIES {
            let entry: Vec<Option<&str>> = fields.iter().map(|f| self.get(&format!("{name}.member.{i}.{f}"))).collect();
            if entry.iter().all(Option::is_none) {
                break;
            }
            out.push(entry);
        }
        if out.is_empty() && !self.params.contains_key(name) {
            return None;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pairs_lists_and_structures() {
        let body = b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp\
            &Tags.member.1.Key=Project&Tags.member.1.Value=blue+sky&Tags.member.2.Key=Team&Tags.member.2.Value=\
            &TransitiveTagKeys.member.1=Project&TransitiveTagKeys.member.3=Skipped";
        let q = QueryRequest::parse(None, body);
        assert_eq!(q.action(), Some("AssumeRole"));
        assert_eq!(q.get("RoleArn"), Some("arn:aws:iam::111122223333:role/app"));
        let tags = q.structure_list("Tags", &["Key", "Value"]).unwrap();
        assert_eq!(tags, vec![vec![Some("Project"), Some("blue sky")], vec![Some("Team"), Some("")]]);
        assert_eq!(q.list("TransitiveTagKeys").unwrap(), vec!["Project"], "stops at the first gap");
        assert!(q.list("PolicyArns").is_none());
        assert_eq!(QueryRequest::parse(None, b"Tags=").structure_list("Tags", &["Key"]), Some(vec![]));
    }

    #[test]
    fn the_body_wins_over_the_query_string() {
        let q = QueryRequest::parse(Some("Action=GetCallerIdentity&Version=2011-06-15"), b"Version=2011-06-16");
        assert_eq!((q.action(), q.version()), (Some("GetCallerIdentity"), Some("2011-06-16")));
        assert!(QueryRequest::names_an_action(Some("Action=X"), b""));
        assert!(!QueryRequest::names_an_action(None, br#"{"KeyId":"x"}"#));
    }
}
