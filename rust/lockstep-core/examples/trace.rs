//! `cargo run --example trace -- CASE_DIR...`: the Rust side of differential checks.
//!
//! For each case directory, steps every line of `input.jsonl` and prints, per
//! line, either the canonical records it produced or `ERROR <kind> <path>`;
//! then the canonical snapshot and the state hash. Errors do not stop the run
//! (a refused item leaves the core as Python's would), so the outputs of both
//! cores can be compared line by line. With `--trace` it prints exactly what
//! `python -m lockstep.core trace CASE` prints instead.

use std::fs;
use std::io::Write;
use std::path::Path;

use lockstep_core::cases::{load_setup, read_items, run_case};
use lockstep_core::{canonical_json, Core};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.first().map(String::as_str) == Some("--trace") {
        for dir in &args[1..] {
            let run = run_case(Path::new(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
            out.write_all(&run.trace_bytes()).unwrap();
            writeln!(out, "{}", run.state_hash).unwrap();
        }
        return;
    }
    for dir in &args {
        let dir = Path::new(dir);
        writeln!(out, "CASE {}", dir.display()).unwrap();
        let mut core = match Core::new(&load_setup(dir).unwrap()) {
            Ok(core) => core,
            Err(err) => {
                writeln!(out, "SETUP_ERROR {}", err.path).unwrap();
                continue;
            }
        };
        let text = fs::read_to_string(dir.join("input.jsonl")).unwrap();
        for (line, item) in read_items(&text).unwrap() {
            match core.step(&item) {
                Ok(records) => {
                    for record in records {
                        out.write_all(&record.canonical_bytes()).unwrap();
                        out.write_all(b"\n").unwrap();
                    }
                }
                Err(err) => writeln!(
                    out,
                    "ERROR line {line} {} {}",
                    err.kind(),
                    err.path().unwrap_or("-")
                )
                .unwrap(),
            }
        }
        out.write_all(&canonical_json(&core.snapshot()).unwrap()).unwrap();
        writeln!(out).unwrap();
        writeln!(out, "{}", core.state_hash()).unwrap();
        // Optional checkpoint to load into a fresh core (written by the differential script).
        if let Ok(text) = fs::read_to_string(dir.join("restore.json")) {
            let mut fresh = Core::new(&load_setup(dir).unwrap()).unwrap();
            match fresh.restore(&serde_json::from_str(&text).unwrap()) {
                Ok(()) => {
                    writeln!(out, "RESTORE OK {}", fresh.state_hash()).unwrap();
                    out.write_all(&canonical_json(&fresh.snapshot()).unwrap())
                        .unwrap();
                    writeln!(out).unwrap();
                }
                Err(err) => {
                    writeln!(out, "RESTORE ERR {} {}", err.kind(), err.path().unwrap_or("-")).unwrap()
                }
            }
        }
    }
}
