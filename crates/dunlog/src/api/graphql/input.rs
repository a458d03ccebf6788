//! Checks every argument of an operation against its declared type before anything runs, so a
//! bad value is refused with `VALIDATION` naming its path and the value — `input.terms.netDays =
//! -5`, `input.issuedOn = "2026-13-01"` — and what would be right. async-graphql's coercion says
//! only which type failed (`Failed to parse "Int" … (occurred while parsing "TermsInput")`); this
//! walk knows the path because it follows the registry's declared types itself.

use std::collections::HashSet;

use async_graphql::parser::types::{
    ExecutableDocument, OperationDefinition, OperationType, Selection, SelectionSet,
};
use async_graphql::registry::{MetaType, Registry};
use async_graphql::{Name, Positioned, ServerResult, Value, Variables};
use domain::ErrorKind;

use super::error::request_error;
use super::scalars;

/// Checks the arguments of every field `operation` selects, through fragments.
pub fn check_arguments(
    registry: &Registry,
    document: &ExecutableDocument,
    operation: &OperationDefinition,
    variables: &Variables,
) -> ServerResult<()> {
    let root = match operation.ty {
        OperationType::Query => Some(registry.query_type.as_str()),
        OperationType::Mutation => registry.mutation_type.as_deref(),
        OperationType::Subscription => registry.subscription_type.as_deref(),
    };
    let Some(root) = root else { return Ok(()) };
    // Variables the request leaves out take their declared defaults.
    let mut values = variables.clone();
    for definition in &operation.variable_definitions {
        let name = &definition.node.name.node;
        if !values.contains_key(name) {
            if let Some(default) = &definition.node.default_value {
                values.insert(name.clone(), default.node.clone());
            }
        }
    }
    let mut checker = Checker {
        registry,
        document,
        variables: &values,
        seen_fragments: HashSet::new(),
    };
    checker.selection_set(root, &operation.selection_set)
}

struct Checker<'a> {
    registry: &'a Registry,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    seen_fragments: HashSet<&'a str>,
}

impl<'a> Checker<'a> {
    fn selection_set(
        &mut self,
        parent: &str,
        set: &'a Positioned<SelectionSet>,
    ) -> ServerResult<()> {
        for item in &set.node.items {
            match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    if name.starts_with("__") {
                        continue;
                    }
                    // Unknown fields are refused by validation, which names them.
                    let Some(meta) = self
                        .registry
                        .types
                        .get(parent)
                        .and_then(|t| t.field_by_name(name))
                    else {
                        continue;
                    };
                    for (arg_name, arg_value) in &field.node.arguments {
                        let Some(arg) = meta.args.get(arg_name.node.as_str()) else {
                            continue;
                        };
                        // A variable the request did not send is async-graphql's to report.
                        let Ok(value) = arg_value
                            .node
                            .clone()
                            .into_const_with(|v: Name| self.variables.get(&v).cloned().ok_or(()))
                        else {
                            continue;
                        };
                        if let Err(message) = self.value(&value, &arg.ty, arg_name.node.as_str()) {
                            return Err(request_error(
                                ErrorKind::Validation,
                                message,
                                Some(arg_value.pos),
                            ));
                        }
                    }
                    let child = named_type(&meta.ty).to_owned();
                    self.selection_set(&child, &field.node.selection_set)?;
                }
                Selection::InlineFragment(inline) => {
                    let on = inline
                        .node
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.to_string())
                        .unwrap_or_else(|| parent.to_owned());
                    self.selection_set(&on, &inline.node.selection_set)?;
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if !self.seen_fragments.insert(name) {
                        continue;
                    }
                    if let Some(fragment) =
                        self.document.fragments.get(&spread.node.fragment_name.node)
                    {
                        let on = fragment.node.type_condition.node.on.node.to_string();
                        self.selection_set(&on, &fragment.node.selection_set)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// `Ok` if `value` is a `ty`; otherwise the message naming `path` and the value.
    fn value(&self, value: &Value, ty: &str, path: &str) -> Result<(), String> {
        if let Some(inner) = ty.strip_suffix('!') {
            if matches!(value, Value::Null) {
                return Err(format!("{path}: required ({inner})"));
            }
            return self.value(value, inner, path);
        }
        if matches!(value, Value::Null) {
            return Ok(());
        }
        if let Some(item) = ty.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            return match value {
                Value::List(items) => items
                    .iter()
                    .enumerate()
                    .try_for_each(|(i, v)| self.value(v, item, &format!("{path}[{i}]"))),
                // A single value where a list is declared is a list of one (GraphQL's coercion).
                single => self.value(single, item, path),
            };
        }
        match self.registry.types.get(ty) {
            Some(MetaType::Scalar { .. }) => {
                scalar(ty, value).map_err(|why| format!("{path} = {value}: {why}"))
            }
            Some(MetaType::Enum { enum_values, .. }) => {
                let given = match value {
                    Value::Enum(n) => Some(n.as_str()),
                    Value::String(s) => Some(s.as_str()),
                    _ => None,
                };
                if given.is_some_and(|g| enum_values.contains_key(g)) {
                    Ok(())
                } else {
                    let names: Vec<&str> = enum_values.keys().map(String::as_str).collect();
                    Err(format!(
                        "{path} = {value}: expected one of {}",
                        names.join(", ")
                    ))
                }
            }
            Some(MetaType::InputObject { input_fields, .. }) => {
                let Value::Object(map) = value else {
                    return Err(format!("{path} = {value}: expected an object ({ty})"));
                };
                let known: Vec<&str> = input_fields.keys().map(String::as_str).collect();
                if let Some(unknown) = map.keys().find(|k| !input_fields.contains_key(k.as_str())) {
                    return Err(format!(
                        "{path}.{unknown}: no such field in {ty}; its fields are {}",
                        known.join(", ")
                    ));
                }
                for (name, field) in input_fields {
                    let given = map.get(name.as_str()).unwrap_or(&Value::Null);
                    self.value(given, &field.ty, &format!("{path}.{name}"))?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// `[Foo!]!` → `Foo`.
fn named_type(ty: &str) -> &str {
    ty.trim_matches(|c| c == '[' || c == ']' || c == '!')
}

/// Whether `value` is a `ty` (a built-in or one of ours); why not, if it is not.
fn scalar(ty: &str, value: &Value) -> Result<(), String> {
    match ty {
        "Int" => match value {
            Value::Number(n) if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) => Ok(()),
            _ => Err(format!(
                "expected a whole number from {} to {}",
                i32::MIN,
                i32::MAX
            )),
        },
        "Float" => match value {
            Value::Number(_) => Ok(()),
            _ => Err("expected a number".to_owned()),
        },
        "String" => match value {
            Value::String(_) => Ok(()),
            _ => Err("expected a string".to_owned()),
        },
        "Boolean" => match value {
            Value::Boolean(_) => Ok(()),
            _ => Err("expected true or false".to_owned()),
        },
        "ID" => match value {
            Value::String(_) => Ok(()),
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(()),
            _ => Err("expected an id as a string".to_owned()),
        },
        "Date" => scalars::parse_date(value).map(drop),
        "Decimal" => scalars::parse_decimal(value).map(drop),
        "DateTime" => scalars::parse_instant(value).map(drop),
        "Position" => scalars::parse_position(value).map(drop),
        // `JSON` and anything else take any value.
        _ => Ok(()),
    }
}
