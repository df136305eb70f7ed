//! The generated secret tables (`crates/kms/src/audit_model.rs`, `crates/audit/src/audit_model.rs`)
//! are what the installed botocore models give: `scripts/gen-sensitive --check` regenerates them
//! in memory and compares. Skipped, with a message, where Python or botocore is absent.

use std::process::Command;

#[test]
fn generated_tables_match_the_installed_botocore_model() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = match Command::new("python3").arg(root.join("scripts/gen-sensitive")).arg("--check").output() {
        Ok(out) => out,
        Err(e) => {
            eprintln!("skipped: python3 cannot run ({e}), so the tables cannot be compared with botocore's models");
            return;
        }
    };
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.code() == Some(3) {
        eprintln!("skipped: {said}");
        return;
    }
    assert!(out.status.success(), "scripts/gen-sensitive --check: {said}");
}

/// Every operation of the enum has its model entry, so none is recorded by the fallback.
#[test]
fn every_operation_is_in_the_table() {
    let names: Vec<&str> = keytrail_kms::audit_model::MODEL.operations.iter().map(|o| o.name).collect();
    assert_eq!(names.len(), 54);
    for name in &names {
        assert!(keytrail_kms::Operation::from_name(name).is_some(), "{name}");
    }
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted, for the binary search");
}
