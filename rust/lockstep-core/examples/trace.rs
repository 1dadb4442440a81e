//! `cargo run --example trace -- CASE_DIR...`: the Rust side of differential checks.
//!
//! For each case directory, steps every line of `input.jsonl` (as raw bytes,
//! through [`Core::step_json`]) and prints, per line, either the canonical
//! records it produced or `ERROR <kind> <path>`;
//! then the canonical snapshot and the state hash. Errors do not stop the run
//! (a refused item leaves the core as Python's would), so the outputs of both
//! cores can be compared line by line. With `--trace` it prints exactly what
//! `python -m lockstep.core trace CASE` prints instead.

use std::fs;
use std::io::Write;
use std::path::Path;

use lockstep_core::cases::{load_setup, run_case};
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
        // Raw lines go through `Core::step_json` (the fast path and its fallback),
        // split on "\n" only, as JSON-lines readers must.
        let text = fs::read(dir.join("input.jsonl")).unwrap();
        step_lines(&mut core, &text, 0, &mut out);
        out.write_all(&canonical_json(&core.snapshot()).unwrap()).unwrap();
        writeln!(out).unwrap();
        writeln!(out, "{}", core.state_hash()).unwrap();
        // Optional checkpoint to load into a fresh core (written by the differential
        // script), and the number of input lines it was taken after: the restored
        // core then steps the remaining lines, which must give the same records.
        if let Ok(checkpoint) = fs::read_to_string(dir.join("restore.json")) {
            let mut fresh = Core::new(&load_setup(dir).unwrap()).unwrap();
            match fresh.restore(&serde_json::from_str(&checkpoint).unwrap()) {
                Ok(()) => {
                    writeln!(out, "RESTORE OK {}", fresh.state_hash()).unwrap();
                    out.write_all(&canonical_json(&fresh.snapshot()).unwrap())
                        .unwrap();
                    writeln!(out).unwrap();
                    if let Ok(at) = fs::read_to_string(dir.join("restore_at")) {
                        step_lines(&mut fresh, &text, at.trim().parse().unwrap(), &mut out);
                        writeln!(out, "{}", fresh.state_hash()).unwrap();
                    }
                }
                Err(err) => {
                    writeln!(out, "RESTORE ERR {} {}", err.kind(), err.path().unwrap_or("-")).unwrap()
                }
            }
        }
    }
}

/// Step every non-blank line of `text` after the first `skip` of them and
/// print what each produced: its records, or `ERROR line N <kind> <path>`.
///
/// Raw lines go through `Core::step_json` (the fast path and its fallback),
/// split on "\n" only, as JSON-lines readers must.
fn step_lines(core: &mut Core, text: &[u8], skip: usize, out: &mut impl Write) {
    let lines = text.split(|b| *b == b'\n').enumerate();
    let items = lines.filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace));
    for (line, item) in items.skip(skip) {
        match core.step_json(item) {
            Ok(records) => {
                for record in records {
                    out.write_all(&record.canonical_bytes()).unwrap();
                    out.write_all(b"\n").unwrap();
                }
            }
            Err(err) => writeln!(
                out,
                "ERROR line {} {} {}",
                line + 1,
                err.kind(),
                err.path().unwrap_or("-")
            )
            .unwrap(),
        }
    }
}
