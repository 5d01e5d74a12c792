//! Golden-file comparison for the unit tests: rendered text against a file in `fixtures/`.

use std::path::PathBuf;

/// Compares `actual` with `fixtures/<path>` byte for byte, naming the first differing line;
/// with `UPDATE_GOLDEN=1` it rewrites the fixture instead.
#[track_caller]
pub fn assert_golden(path: &str, actual: &str) {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(path);
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::create_dir_all(file.parent().expect("fixtures have a folder"))
            .expect("fixtures folder");
        std::fs::write(&file, actual).expect("fixture written");
        return;
    }
    let expected = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            file.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .map_or_else(
                || "a missing or extra line".to_string(),
                |i| format!("line {}", i + 1),
            );
        panic!(
            "{} differs from the rendering at {line} (UPDATE_GOLDEN=1 rewrites it)\n--- rendered ---\n{actual}",
            file.display()
        );
    }
}
