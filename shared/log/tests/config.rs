//! streams.yaml files on disk: bad ones are refused with an error that names the field.
#![allow(clippy::unwrap_used)]

use rill_log::Topology;
use std::path::PathBuf;

fn shipped() -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../streams.yaml"))
        .unwrap()
}

fn load_error(yaml: &str) -> String {
    let path = std::env::temp_dir().join(format!("{}.yaml", rill_testkit::unique_name("streams")));
    std::fs::write(&path, yaml).unwrap();
    let result = Topology::load(&path);
    std::fs::remove_file(&path).unwrap();
    let e = result.unwrap_err().to_string();
    eprintln!("{e}");
    assert!(e.starts_with("streams.yaml: "), "{e}");
    assert!(
        e.contains(&path.display().to_string()),
        "names the file: {e}"
    );
    e
}

#[test]
fn bad_files_name_the_field() {
    let good = shipped();
    let e = load_error(&good.replace("partitions: 16\n", ""));
    assert!(e.contains("missing field `partitions`"), "{e}");

    let e = load_error(&good.replace("partitions: 16", "partitions: 0"));
    assert!(e.contains("partitions: must be between 1 and"), "{e}");

    let e = load_error(&good.replace("log_retention: 7d", "log_retention: 7 days-ish"));
    assert!(e.contains("log_retention"), "{e}");

    let e = load_error(&good.replacen("claim_idle: 30s", "claim_idle: 30", 1));
    assert!(e.contains("groups.history.claim_idle"), "{e}");

    let e = load_error(&good.replacen("    max_deliveries: 5\n", "", 1));
    assert!(
        e.contains("groups.history") && e.contains("max_deliveries"),
        "{e}"
    );

    let e = load_error(&good.replace("hot_window: 5000", "hot_window: lots"));
    assert!(e.contains("hot_window"), "{e}");

    let e = load_error("partitions: [1\n");
    assert!(!e.is_empty());
}
