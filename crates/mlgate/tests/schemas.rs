//! `docs/schemas/` holds the JSON Schema of every `--json` output, generated from the report
//! types by `cargo xtask schemas`. This fails while the committed files differ from what the
//! types generate, so a changed report type cannot land with a stale schema.

use std::path::Path;

use mlgate::report::SCHEMAS;

#[test]
fn committed_schemas_match_the_report_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas");
    let mut problems = Vec::new();
    for entry in SCHEMAS {
        let name = entry.file_name();
        match std::fs::read_to_string(dir.join(&name)) {
            Ok(text) if text == entry.file_text() => {}
            Ok(_) => problems.push(format!("{name} differs from {}", entry.id)),
            Err(_) => problems.push(format!("{name} is missing ({})", entry.id)),
        }
    }
    let expected: Vec<String> = SCHEMAS.iter().map(|e| e.file_name()).collect();
    if let Ok(listing) = std::fs::read_dir(&dir) {
        for file in listing.flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") && !expected.contains(&name) {
                problems.push(format!("{name} belongs to no schema id"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "docs/schemas is out of date: {}.\nRun `cargo xtask schemas` and commit docs/schemas.",
        problems.join("; ")
    );
}

/// The line shapes of JSON Lines files (`docs/schemas/lines/`), kept the same way.
#[test]
fn committed_line_schemas_match_their_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas/lines");
    for entry in mlgate::report::LINE_SCHEMAS {
        let name = entry.file_name();
        let text = std::fs::read_to_string(dir.join(&name)).unwrap_or_default();
        assert!(
            text == entry.file_text(),
            "docs/schemas/lines/{name} differs from {} or is missing.\n\
             Run `cargo xtask schemas` and commit docs/schemas.",
            entry.id
        );
    }
}
