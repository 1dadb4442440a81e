//! What the integration tests share: where the golden cases live.

use std::fs;
use std::path::{Path, PathBuf};

/// The golden cases bundled with `lockstep-contracts`.
pub fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/src/lockstep/contracts/data/golden")
}

/// Every golden case directory (one holding a `setup.json`), sorted by name.
pub fn case_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(golden_root())
        .expect("golden directory exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("setup.json").is_file())
        .collect();
    dirs.sort();
    dirs
}
