//! Nesting bounds on client input, checked by a linear scan before any recursive parser runs.
//!
//! The JSON and GraphQL parsers recurse once per level of `[`/`{`; a few kilobytes of brackets
//! would overflow the stack and abort the process. A scan that only counts brackets costs one pass
//! over bytes the service already holds, so every door calls it first.

/// The deepest nesting of brackets any request may carry (JSON bodies, variables, documents).
pub const MAX_NESTING: usize = 64;

/// Whether the JSON text `bytes` nests `[`/`{` deeper than `max` (brackets inside strings do not count).
pub fn json_too_deep(bytes: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &byte in bytes {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Whether the GraphQL document `text` nests `{`, `[` or `(` deeper than `max`. Strings, block
/// strings and comments are skipped, so brackets inside them do not count.
pub fn document_too_deep(text: &str, max: usize) -> bool {
    let bytes = text.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // `\"""` is an escaped delimiter inside a block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_nesting_counts_brackets_outside_strings_only() {
        assert!(!json_too_deep(br#"{"a":[1,{"b":"[[[[[[[[[["}]}"#, 3));
        assert!(json_too_deep(br#"{"a":[{"b":[]}]}"#, 3));
        assert!(!json_too_deep(br#"{"a":"\"[[[[["}"#, 1));
        assert!(json_too_deep("[".repeat(20_000).as_bytes(), MAX_NESTING));
    }

    #[test]
    fn document_nesting_skips_strings_block_strings_and_comments() {
        let query = r#"query Q($a: [[Int]] = [[1]]) { me { id } } # {{{{{{{{{{"#;
        assert!(!document_too_deep(query, 3), "( [ [ is three deep");
        assert!(document_too_deep(query, 2));
        assert!(!document_too_deep(r#"{ f(a: "{{{{\"{{{{") }"#, 2));
        assert!(!document_too_deep(r#"{ f(a: """ {{{{ \""" {{{{ """) }"#, 2));
        let values = format!("{{ f(a: {}1{}) }}", "[".repeat(1_600), "]".repeat(1_600));
        assert!(document_too_deep(&values, MAX_NESTING));
    }
}
