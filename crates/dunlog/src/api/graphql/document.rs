//! Checks every GraphQL document before it runs: parses it, applies the limits of
//! `crate::api::limits` (nesting, directives, depth, complexity) and checks each argument's value
//! against its declared type, so a refusal carries its kind (`LIMIT`, `VALIDATION`, `FORBIDDEN`)
//! and names the argument's path (`input.terms.netDays`) and the value. async-graphql's own
//! checks run afterwards on the same parsed document and, with the same bounds, never fire.
//!
//! Depth is counted apart for introspection: the standard schema fetches of graphql-js,
//! graphql-core and GraphiQL nest `ofType` up to nine times, which is not a hostile query
//! (SPEC §8), so fields under `__schema`/`__type` get [`INTROSPECTION_DEPTH_MAX`] while every
//! other field keeps [`QUERY_DEPTH_MAX`]. Complexity still counts introspection fields.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextValidation,
};
use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::registry::Registry;
use async_graphql::{
    Name, Pos, Positioned, Request, ServerError, ServerResult, ValidationResult, Variables,
};
use domain::ErrorKind;

use super::error::{parse_error, request_error};
use crate::api::limits::{
    INTROSPECTION_DEPTH_MAX, QUERY_COMPLEXITY_MAX, QUERY_DEPTH_MAX, QUERY_DIRECTIVES_MAX,
    QUERY_RECURSIVE_DEPTH_MAX,
};

/// The extension: one per schema.
pub struct DocumentChecks {
    /// Production: introspection is refused with an error (not answered with `null`).
    pub production: bool,
}

impl ExtensionFactory for DocumentChecks {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Checks {
            production: self.production,
        })
    }
}

struct Checks {
    production: bool,
}

#[async_graphql::async_trait::async_trait]
impl Extension for Checks {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let document =
            async_graphql::parser::parse_query(&request.query).map_err(|e| parse_error(&e))?;
        check_document(
            &ctx.schema_env.registry,
            &document,
            request.operation_name.as_deref(),
            &request.variables,
            self.production,
        )?;
        // async-graphql runs on the document checked here rather than parsing it again.
        request.set_parsed_query(document);
        next.run(ctx, request).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if result.complexity > QUERY_COMPLEXITY_MAX {
            return Err(vec![request_error(
                ErrorKind::Limit,
                format!(
                    "query: complexity {} is over the limit of {QUERY_COMPLEXITY_MAX} \
                     (each field counts 1, a knownAt field more); ask for fewer fields",
                    result.complexity
                ),
                None,
            )]);
        }
        Ok(result)
    }
}

/// Every check of a parsed document, in the order a client would want to hear of them.
fn check_document(
    registry: &Registry,
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    production: bool,
) -> ServerResult<()> {
    let mut walk = Walk {
        document,
        nesting: HashMap::new(),
        depth: HashMap::new(),
        in_progress: Vec::new(),
    };
    for (_, operation) in document.operations.iter() {
        let nesting = walk.nesting(&operation.node.selection_set)?;
        if nesting > QUERY_RECURSIVE_DEPTH_MAX {
            return Err(request_error(
                ErrorKind::Limit,
                format!(
                    "query: selections nested {nesting} deep; at most {QUERY_RECURSIVE_DEPTH_MAX}"
                ),
                Some(operation.pos),
            ));
        }
    }
    for fragment in document.fragments.values() {
        walk.directives(&fragment.node.selection_set)?;
    }
    for (_, operation) in document.operations.iter() {
        walk.directives(&operation.node.selection_set)?;
        let mut roots = Vec::new();
        walk.root_fields(&operation.node.selection_set, &mut roots)?;
        for (name, selection_set, pos) in roots {
            let introspection = name == "__schema" || name == "__type";
            if introspection && production {
                return Err(request_error(
                    ErrorKind::Forbidden,
                    format!(
                        "{name}: introspection is turned off on this server (--production); \
                         the schema is published as docs/schema.graphql"
                    ),
                    Some(pos),
                ));
            }
            let depth = 1 + walk.depth(selection_set)?;
            let max = if introspection {
                INTROSPECTION_DEPTH_MAX
            } else {
                QUERY_DEPTH_MAX
            };
            if depth > max {
                return Err(request_error(
                    ErrorKind::Limit,
                    format!("{name}: selections nested {depth} fields deep; at most {max}"),
                    Some(pos),
                ));
            }
        }
    }
    let operation = match (operation_name, &document.operations) {
        (Some(name), ops) => ops
            .iter()
            .find(|(n, _)| n.map(|n| n.as_str()) == Some(name))
            .map(|(_, op)| op),
        (None, ops) => {
            let mut all = ops.iter();
            match (all.next(), all.next()) {
                (Some((_, op)), None) => Some(op),
                _ => None,
            }
        }
    };
    // An unknown or ambiguous operation is async-graphql's to refuse.
    if let Some(operation) = operation {
        super::input::check_arguments(registry, document, &operation.node, variables)?;
    }
    Ok(())
}

/// The document's fragments walked once each (memoised), so a fragment spread many times costs
/// no more than once, and a fragment that spreads itself is refused instead of followed.
struct Walk<'a> {
    document: &'a ExecutableDocument,
    /// Selection-set nesting inside each fragment.
    nesting: HashMap<&'a str, usize>,
    /// Field depth inside each fragment.
    depth: HashMap<&'a str, usize>,
    /// Fragments being walked (a spread of one of these is a cycle).
    in_progress: Vec<&'a str>,
}

impl<'a> Walk<'a> {
    fn fragment(&self, name: &'a Name, pos: Pos) -> ServerResult<&'a FragmentDefinition> {
        if self.in_progress.contains(&name.as_str()) {
            return Err(request_error(
                ErrorKind::Validation,
                format!(
                    "fragment {name}: spreads itself (through {:?})",
                    self.in_progress
                ),
                Some(pos),
            ));
        }
        // An unknown fragment is refused by validation; here it adds nothing.
        self.document
            .fragments
            .get(name)
            .map(|f| &f.node)
            .ok_or_else(|| {
                request_error(
                    ErrorKind::Validation,
                    format!("fragment {name}: not defined in this document"),
                    Some(pos),
                )
            })
    }

    /// How deep selection sets nest (fields, fragment spreads and inline fragments each open
    /// one), as async-graphql's recursion check counts them.
    fn nesting(&mut self, set: &'a Positioned<SelectionSet>) -> ServerResult<usize> {
        let mut deepest = 0;
        for item in &set.node.items {
            let inner = match &item.node {
                Selection::Field(field) if field.node.selection_set.node.items.is_empty() => 0,
                Selection::Field(field) => 1 + self.nesting(&field.node.selection_set)?,
                Selection::InlineFragment(inline) => {
                    1 + self.nesting(&inline.node.selection_set)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    1 + match self.nesting.get(name.as_str()) {
                        Some(n) => *n,
                        None => {
                            let fragment = self.fragment(name, spread.pos)?;
                            self.in_progress.push(name.as_str());
                            let n = self.nesting(&fragment.selection_set);
                            self.in_progress.pop();
                            let n = n?;
                            self.nesting.insert(name.as_str(), n);
                            n
                        }
                    }
                }
            };
            deepest = deepest.max(inner);
        }
        Ok(deepest)
    }

    /// How many fields deep the selection set goes (fragments expanded, not counted).
    fn depth(&mut self, set: &'a Positioned<SelectionSet>) -> ServerResult<usize> {
        let mut deepest = 0;
        for item in &set.node.items {
            let inner = match &item.node {
                Selection::Field(field) => 1 + self.depth(&field.node.selection_set)?,
                Selection::InlineFragment(inline) => self.depth(&inline.node.selection_set)?,
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    match self.depth.get(name.as_str()) {
                        Some(n) => *n,
                        None => {
                            let fragment = self.fragment(name, spread.pos)?;
                            self.in_progress.push(name.as_str());
                            let n = self.depth(&fragment.selection_set);
                            self.in_progress.pop();
                            let n = n?;
                            self.depth.insert(name.as_str(), n);
                            n
                        }
                    }
                }
            };
            deepest = deepest.max(inner);
        }
        Ok(deepest)
    }

    /// The fields at the root of an operation, through fragments. A fragment spread again adds
    /// the same fields, so each is walked once (a document of fragments each spreading the
    /// next twice would otherwise cost 2^n).
    fn root_fields(
        &mut self,
        set: &'a Positioned<SelectionSet>,
        out: &mut Vec<(&'a str, &'a Positioned<SelectionSet>, Pos)>,
    ) -> ServerResult<()> {
        let mut seen = HashSet::new();
        self.root_fields_once(set, out, &mut seen)
    }

    fn root_fields_once(
        &mut self,
        set: &'a Positioned<SelectionSet>,
        out: &mut Vec<(&'a str, &'a Positioned<SelectionSet>, Pos)>,
        seen: &mut HashSet<&'a str>,
    ) -> ServerResult<()> {
        for item in &set.node.items {
            match &item.node {
                Selection::Field(field) => out.push((
                    field.node.name.node.as_str(),
                    &field.node.selection_set,
                    field.pos,
                )),
                Selection::InlineFragment(inline) => {
                    self.root_fields_once(&inline.node.selection_set, out, seen)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    let fragment = self.fragment(name, spread.pos)?;
                    if !seen.insert(name.as_str()) {
                        continue;
                    }
                    self.in_progress.push(name.as_str());
                    let found = self.root_fields_once(&fragment.selection_set, out, seen);
                    self.in_progress.pop();
                    found?;
                }
            }
        }
        Ok(())
    }

    /// No field carries more than [`QUERY_DIRECTIVES_MAX`] directives (fragments are checked
    /// where they are defined).
    fn directives(&self, set: &'a Positioned<SelectionSet>) -> ServerResult<()> {
        for item in &set.node.items {
            match &item.node {
                Selection::Field(field) => {
                    let count = field.node.directives.len();
                    if count > QUERY_DIRECTIVES_MAX {
                        return Err(request_error(
                            ErrorKind::Limit,
                            format!(
                                "{}: {count} directives; at most {QUERY_DIRECTIVES_MAX} on one field",
                                field.node.name.node
                            ),
                            Some(field.pos),
                        ));
                    }
                    self.directives(&field.node.selection_set)?;
                }
                Selection::InlineFragment(inline) => self.directives(&inline.node.selection_set)?,
                Selection::FragmentSpread(_) => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(document: &ExecutableDocument) -> Walk<'_> {
        Walk {
            document,
            nesting: HashMap::new(),
            depth: HashMap::new(),
            in_progress: Vec::new(),
        }
    }

    /// Fragments each spreading the next twice: walked naively, 2^60 visits. Each fragment is
    /// walked once, so this answers at once.
    #[test]
    fn a_fragment_bomb_is_walked_once_per_fragment() {
        let mut text = String::from("{ ...F0 }\n");
        for i in 0..60 {
            text.push_str(&format!(
                "fragment F{i} on QueryRoot {{ ...F{} ...F{} }}\n",
                i + 1,
                i + 1
            ));
        }
        text.push_str("fragment F60 on QueryRoot { aging { asOf } }\n");
        let document = async_graphql::parser::parse_query(&text).unwrap();
        let mut w = walk(&document);
        let (_, operation) = document.operations.iter().next().unwrap();
        let mut roots = Vec::new();
        w.root_fields(&operation.node.selection_set, &mut roots)
            .unwrap();
        assert_eq!(roots.len(), 1);
        assert_eq!(w.depth(&operation.node.selection_set).unwrap(), 2);
        assert_eq!(w.nesting(&operation.node.selection_set).unwrap(), 62);
    }

    #[test]
    fn a_fragment_that_spreads_itself_is_refused() {
        let text = "{ ...A } fragment A on QueryRoot { ...B } fragment B on QueryRoot { ...A }";
        let document = async_graphql::parser::parse_query(text).unwrap();
        let mut w = walk(&document);
        let (_, operation) = document.operations.iter().next().unwrap();
        let error = w.depth(&operation.node.selection_set).unwrap_err();
        assert!(
            error.message.contains("spreads itself"),
            "{}",
            error.message
        );
    }

    /// Introspection gets its own depth: the standard queries' nine `ofType`s are depth 15.
    #[test]
    fn introspection_depth_is_counted_apart() {
        let of_type = |n: usize| format!("{}name{}", "ofType { ".repeat(n), " }".repeat(n));
        let query = |n: usize| {
            format!(
                "{{ __schema {{ types {{ fields {{ args {{ type {{ {} }} }} }} }} }} }}",
                of_type(n)
            )
        };
        for (n, depth) in [(9, 15), (20, 26)] {
            let document = async_graphql::parser::parse_query(query(n)).unwrap();
            let (_, operation) = document.operations.iter().next().unwrap();
            let mut w = walk(&document);
            assert_eq!(w.depth(&operation.node.selection_set).unwrap(), depth);
        }
        // The allowance lets nine `ofType`s through and stops twenty.
        const { assert!(15 <= INTROSPECTION_DEPTH_MAX && INTROSPECTION_DEPTH_MAX < 26) };
    }
}
