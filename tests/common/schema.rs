//! The published JSON Schema (`schema/spfcheck.schema.json`) as a test oracle: every JSON
//! document the binary prints in a test is validated against it (`run_spfcheck` calls
//! [`validate_output`]), so the schema and the code cannot drift apart.

use std::sync::OnceLock;

use serde_json::Value;

/// The schema file, relative to the crate root.
pub const SCHEMA_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/spfcheck.schema.json");

/// The schema document.
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let text = std::fs::read_to_string(SCHEMA_PATH)
            .unwrap_or_else(|e| panic!("read {SCHEMA_PATH}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{SCHEMA_PATH}: not JSON: {e}"))
    })
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::validator_for(schema())
            .unwrap_or_else(|e| panic!("{SCHEMA_PATH}: not a valid JSON Schema: {e}"))
    })
}

/// The reasons `doc` does not validate (empty when it does).
pub fn schema_errors(doc: &Value) -> Vec<String> {
    validator()
        .iter_errors(doc)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect()
}

/// Parses a JSON output and checks it against the schema; panics with every violation.
#[track_caller]
pub fn validate_output(stdout: &[u8], what: &str) -> Value {
    let doc: Value = serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: stdout is not JSON ({e}):\n{}",
            String::from_utf8_lossy(stdout)
        )
    });
    let errors = schema_errors(&doc);
    assert!(
        errors.is_empty(),
        "{what}: the JSON output does not match {SCHEMA_PATH}:\n{}\n--- document ---\n{doc:#}",
        errors.join("\n")
    );
    doc
}

/// The values of the closed enum at `pointer` in the schema (e.g. `/$defs/outcome/enum`),
/// nulls left out.
pub fn schema_enum(pointer: &str) -> Vec<String> {
    schema()
        .pointer(pointer)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{SCHEMA_PATH}: no enum at {pointer}"))
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}
