//! What a document may cost, computed from the parsed document before validation or execution.
//!
//! async-graphql's validators expand every fragment spread where it stands, so 22 fragments that
//! each spread the next twice cost 2²² visits before its complexity limit says no. Here each
//! fragment's cost is computed once and reused, so the check is linear in the document's size,
//! and a document over the limits is refused before anything expands it.

use std::collections::HashMap;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, OperationDefinition, Selection, SelectionSet,
};

/// The most selections (fields, spreads, inline fragments) one document may hold as written.
pub const MAX_SELECTIONS: usize = 1_000;
/// The most fields all of a document's operations may expand to: bounds the validators' work.
pub const MAX_EXPANDED: u64 = 10_000;
/// The most fields the introspection part of an operation may expand to. graphql-js's and
/// GraphiQL's standard introspection queries expand to a few hundred; introspection cannot nest
/// without bound (depth limits it) and its cost does not grow with the data.
pub const INTROSPECTION_BUDGET: u64 = 2_000;
/// The longest chain of fragments spreading fragments.
const MAX_FRAGMENT_CHAIN: usize = 64;

/// The limits a document is checked against.
#[derive(Debug, Clone, Copy)]
pub struct DocumentLimits {
    /// Fields the executed operation may select, fragments expanded and aliases counted.
    pub max_complexity: usize,
    /// Nesting of selection sets, fragments expanded.
    pub max_depth: usize,
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// More fields than the complexity limit, or than the validators may expand.
    TooComplex,
    /// Selection sets nested deeper than the depth limit.
    TooDeep,
    /// More selections, as written, than any real client sends.
    TooLarge,
    /// A fragment spreads itself, directly or through others.
    FragmentCycle(String),
}

impl Refusal {
    /// `extensions.code` of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::TooComplex => "QUERY_TOO_COMPLEX",
            Refusal::TooDeep => "QUERY_TOO_DEEP",
            Refusal::TooLarge => "QUERY_TOO_LARGE",
            Refusal::FragmentCycle(_) => "GRAPHQL_VALIDATION_FAILED",
        }
    }

    /// The message of the refusal.
    pub fn message(&self) -> String {
        match self {
            Refusal::TooComplex => "Query is too complex.".to_owned(),
            Refusal::TooDeep => "Query is nested too deep.".to_owned(),
            Refusal::TooLarge => format!("Query has more than {MAX_SELECTIONS} selections."),
            Refusal::FragmentCycle(name) => format!("Cannot spread fragment \"{name}\" within itself."),
        }
    }
}

/// What a selection set expands to.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    /// Ordinary fields (`__typename` included).
    fields: u64,
    /// Fields under `__schema` / `__type`.
    introspection: u64,
    /// Nesting of selection sets.
    depth: usize,
}

impl Cost {
    fn total(self) -> u64 {
        self.fields.saturating_add(self.introspection)
    }

    fn add(&mut self, other: Cost) {
        self.fields = self.fields.saturating_add(other.fields);
        self.introspection = self.introspection.saturating_add(other.introspection);
        self.depth = self.depth.max(other.depth);
    }
}

struct Coster<'a> {
    fragments: &'a HashMap<async_graphql::Name, async_graphql::Positioned<FragmentDefinition>>,
    known: HashMap<&'a str, Cost>,
    chain: Vec<&'a str>,
}

impl<'a> Coster<'a> {
    fn set(&mut self, set: &'a SelectionSet) -> Result<Cost, Refusal> {
        let mut cost = Cost::default();
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let inner = self.set(&field.selection_set.node)?;
                    let name = field.name.node.as_str();
                    let meta = name.starts_with("__") && name != "__typename";
                    let this = if meta {
                        Cost { fields: 0, introspection: inner.total().saturating_add(1), depth: 0 }
                    } else {
                        Cost {
                            fields: inner.fields.saturating_add(1),
                            introspection: inner.introspection,
                            depth: 0,
                        }
                    };
                    cost.add(Cost { depth: inner.depth + 1, ..this });
                }
                Selection::InlineFragment(inline) => cost.add(self.set(&inline.node.selection_set.node)?),
                Selection::FragmentSpread(spread) => {
                    cost.add(self.fragment(spread.node.fragment_name.node.as_str())?);
                }
            }
        }
        Ok(cost)
    }

    fn fragment(&mut self, name: &'a str) -> Result<Cost, Refusal> {
        if let Some(cost) = self.known.get(name) {
            return Ok(*cost);
        }
        if self.chain.contains(&name) {
            return Err(Refusal::FragmentCycle(name.to_owned()));
        }
        if self.chain.len() >= MAX_FRAGMENT_CHAIN {
            return Err(Refusal::TooDeep);
        }
        // An unknown fragment costs nothing here; validation names it.
        let Some((key, definition)) = self.fragments.get_key_value(name) else { return Ok(Cost::default()) };
        self.chain.push(key.as_str());
        let cost = self.set(&definition.node.selection_set.node);
        self.chain.pop();
        let cost = cost?;
        self.known.insert(key.as_str(), cost);
        Ok(cost)
    }
}

fn selections(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| {
            1 + match &item.node {
                Selection::Field(field) => selections(&field.node.selection_set.node),
                Selection::InlineFragment(inline) => selections(&inline.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            }
        })
        .sum()
}

/// Checks `document` against `limits`; `operation` names the operation to execute, if several.
///
/// Recursion here follows the document as written: its nesting was bounded by
/// [`crate::nesting`] before it was parsed, and fragment chains are bounded above.
pub fn check(
    document: &ExecutableDocument,
    operation: Option<&str>,
    limits: DocumentLimits,
) -> Result<(), Refusal> {
    let operations: Vec<(Option<&str>, &OperationDefinition)> = match &document.operations {
        DocumentOperations::Single(op) => vec![(None, &op.node)],
        DocumentOperations::Multiple(ops) => {
            ops.iter().map(|(name, op)| (Some(name.as_str()), &op.node)).collect()
        }
    };
    let written: usize = operations.iter().map(|(_, op)| selections(&op.selection_set.node)).sum::<usize>()
        + document.fragments.values().map(|f| selections(&f.node.selection_set.node)).sum::<usize>();
    if written > MAX_SELECTIONS {
        return Err(Refusal::TooLarge);
    }
    let mut coster = Coster { fragments: &document.fragments, known: HashMap::new(), chain: Vec::new() };
    let mut everything = 0u64;
    for (name, op) in &operations {
        let cost = coster.set(&op.selection_set.node)?;
        everything = everything.saturating_add(cost.total());
        let executed = operations.len() == 1 || operation.is_none() || *name == operation;
        if executed {
            if cost.depth > limits.max_depth {
                return Err(Refusal::TooDeep);
            }
            if cost.fields > limits.max_complexity as u64 || cost.introspection > INTROSPECTION_BUDGET {
                return Err(Refusal::TooComplex);
            }
        }
    }
    // Every fragment is validated, spread or not.
    for name in document.fragments.keys() {
        everything = everything.saturating_add(coster.fragment(name.as_str())?.total());
    }
    if everything > MAX_EXPANDED { Err(Refusal::TooComplex) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    const LIMITS: DocumentLimits = DocumentLimits { max_complexity: 150, max_depth: 16 };

    fn doubling_fragments(levels: usize) -> String {
        let mut query = String::from("query { ...F0 }\n");
        for level in 0..levels {
            let next = level + 1;
            query.push_str(&format!("fragment F{level} on Query {{ ...F{next} ...F{next} }}\n"));
        }
        query.push_str(&format!("fragment F{levels} on Query {{ __typename }}\n"));
        query
    }

    fn checked(query: &str) -> Result<(), Refusal> {
        let document = parse_query(query).map_err(|e| Refusal::FragmentCycle(e.to_string()))?;
        check(&document, None, LIMITS)
    }

    #[test]
    fn fragments_that_double_at_each_level_are_costed_without_expanding_them() {
        assert_eq!(checked(&doubling_fragments(22)), Err(Refusal::TooComplex));
        assert_eq!(checked(&doubling_fragments(31)), Err(Refusal::TooComplex));
        assert_eq!(checked(&doubling_fragments(200)), Err(Refusal::TooDeep), "the chain is too long");
        assert_eq!(checked(&doubling_fragments(5)), Ok(()), "32 fields");
    }

    #[test]
    fn aliases_count_and_introspection_has_its_own_budget() {
        let aliases: String = (0..151).map(|i| format!("a{i}: __typename ")).collect();
        assert_eq!(checked(&format!("{{ {aliases} }}")), Err(Refusal::TooComplex));
        let types = "{ __schema { types { name kind fields { name args { name } type { name kind ofType { name kind } } } } } }";
        assert_eq!(checked(types), Ok(()));
    }

    #[test]
    fn cycles_and_depth_are_refused() {
        assert_eq!(
            checked("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"),
            Err(Refusal::FragmentCycle("A".to_owned()))
        );
        let deep = format!("{{ {} b {} }}", "a { ".repeat(16), "}".repeat(16));
        assert_eq!(checked(&deep), Err(Refusal::TooDeep), "17 levels");
        let fits = format!("{{ {} b {} }}", "a { ".repeat(15), "}".repeat(15));
        assert_eq!(checked(&fits), Ok(()), "16 levels");
    }

    #[test]
    fn only_the_executed_operation_is_held_to_the_complexity_limit() {
        let big: String = (0..100).map(|i| format!("a{i}: __typename ")).collect();
        let query = format!("query A {{ {big} }} query B {{ {big} }}");
        let document = parse_query(&query).ok();
        let document = document.as_ref().map(|d| check(d, Some("A"), LIMITS));
        assert_eq!(document, Some(Ok(())));
    }
}
