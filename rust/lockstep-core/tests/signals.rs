//! Parity with the Python reference core on the golden signal cases in `contracts/`.
//!
//! Each case directory holds `setup.json`, `spec.json` (the declaration),
//! `input.jsonl` and `expected.jsonl`: after each input item, the firings
//! taken and every in-scope instrument's values, as canonical JSON, which
//! this core must reproduce byte for byte, item by item and through blocks
//! (with and without a signals wake filter). `refusals/` lists declarations
//! the contract refuses, each with the path and reason both cores give.

use std::fs;
use std::path::{Path, PathBuf};

use lockstep_core::cases::{load_setup, read_items};
use lockstep_core::signals::{firings_json, write_values};
use lockstep_core::{canonical_json, BlockOptions, Core, WakeFilter};
use serde_json::Value;

/// The signal cases bundled with `lockstep-contracts`, beside the golden trace cases.
fn signals_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/src/lockstep/contracts/data/signals")
}

/// Every case directory (one holding a `spec.json`), sorted by name.
fn case_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(signals_root())
        .expect("the signals golden directory exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("spec.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A case's core with its declaration taken.
fn declared(dir: &Path) -> Core {
    let mut core = Core::new(&load_setup(dir).unwrap()).unwrap();
    core.declare_signals(&read_json(&dir.join("spec.json")))
        .unwrap_or_else(|e| panic!("{}: the case's declaration is refused: {e}", dir.display()));
    core
}

/// What `expected.jsonl` holds for one item: the firings taken after it and
/// each in-scope instrument's values, as canonical JSON.
fn observed(core: &mut Core) -> Vec<u8> {
    let firings = core.take_signals();
    let mut instruments: Vec<String> = core.signals().unwrap().declaration().instruments().to_vec();
    instruments.sort();
    let mut out = b"{\"firings\":".to_vec();
    out.extend(firings_json(&firings));
    out.extend(b",\"values\":{");
    for (n, instrument) in instruments.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.extend(canonical_json(&Value::String(instrument.clone())).unwrap());
        out.push(b':');
        write_values(&mut out, &core.signal_values(instrument).unwrap());
    }
    out.extend(b"}}");
    out
}

fn expected_lines(dir: &Path) -> Vec<Vec<u8>> {
    fs::read_to_string(dir.join("expected.jsonl"))
        .unwrap_or_else(|e| panic!("{}: expected.jsonl: {e}", dir.display()))
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| canonical_json(&serde_json::from_str(line).unwrap()).unwrap())
        .collect()
}

#[test]
fn every_golden_signal_case_is_reproduced_item_by_item() {
    let dirs = case_dirs();
    assert!(
        !dirs.is_empty(),
        "no signal cases under {}",
        signals_root().display()
    );
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let items = read_items(&fs::read_to_string(dir.join("input.jsonl")).unwrap()).unwrap();
        let expected = expected_lines(dir);
        assert_eq!(
            items.len(),
            expected.len(),
            "{name}: one expected line per input item"
        );
        let mut core = declared(dir);
        let mut fired = 0;
        for ((line, item), want) in items.iter().zip(&expected) {
            // A refused item commits nothing; its line still says what is taken after it.
            let _ = core.step(item);
            let got = observed(&mut core);
            if &got != want {
                failures.push(format!(
                    "{name}: input line {line}\n  expected: {}\n  actual:   {}",
                    String::from_utf8_lossy(want),
                    String::from_utf8_lossy(&got)
                ));
                break;
            }
            fired += usize::from(!got.starts_with(b"{\"firings\":[]"));
        }
        assert!(fired > 0, "{name}: a case that never fires pins little");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Run `input` as blocks to its end, resuming after each stop and skipping
/// each refused line as a caller would; the items after which a run woke.
fn run_blocks(core: &mut Core, input: &[u8], wake: Option<&WakeFilter>) -> Vec<usize> {
    let (mut at, mut item, mut stops) = (0, 0, Vec::new());
    loop {
        let out = core.step_block(
            &input[at..],
            BlockOptions {
                wake,
                ..BlockOptions::default()
            },
        );
        item += out.consumed;
        at += out.end;
        if out.woke {
            stops.push(item - 1);
        } else if out.error.is_some() {
            at += input[at..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(input.len() - at, |n| n + 1);
            item += 1;
        } else {
            return stops;
        }
    }
}

/// The same cases as blocks: one block holds every firing, and a signals
/// wake filter stops exactly after the items whose bars fired.
#[test]
fn golden_signal_cases_run_as_blocks() {
    let dirs = case_dirs();
    assert!(
        !dirs.is_empty(),
        "no signal cases under {}",
        signals_root().display()
    );
    for dir in &dirs {
        let name = dir.display();
        let input = fs::read(dir.join("input.jsonl")).unwrap();
        let expected = expected_lines(dir);
        let firing_items: Vec<usize> = expected
            .iter()
            .enumerate()
            .filter(|(_, line)| !line.starts_with(b"{\"firings\":[]"))
            .map(|(n, _)| n)
            .collect();
        let all: Vec<Value> = expected
            .iter()
            .flat_map(|line| {
                let value: Value = serde_json::from_slice(line).unwrap();
                value["firings"].as_array().unwrap().clone()
            })
            .collect();

        let mut whole = declared(dir);
        assert!(run_blocks(&mut whole, &input, None).is_empty());
        let taken = firings_json(&whole.take_signals());
        assert_eq!(taken, canonical_json(&Value::Array(all)).unwrap(), "{name}");

        let wake = WakeFilter {
            event_types: vec!["bar".into()],
            signals: true,
            ..WakeFilter::default()
        };
        let mut core = declared(dir);
        let stops = run_blocks(&mut core, &input, Some(&wake));
        assert_eq!(stops, firing_items, "{name}: where a signals wake filter stops");
        // Without signals the same filter stops at every bar.
        let plain = WakeFilter {
            signals: false,
            ..wake.clone()
        };
        let mut core = declared(dir);
        assert!(run_blocks(&mut core, &input, Some(&plain)).len() > firing_items.len());
    }
}

#[test]
fn every_golden_refusal_is_refused_with_its_path_and_reason() {
    let dir = signals_root().join("refusals");
    let setup = read_json(&dir.join("setup.json"));
    let text = fs::read_to_string(dir.join("cases.jsonl")).unwrap();
    let cases = read_items(&text).unwrap();
    assert!(
        cases.len() >= 10,
        "expected the bundled refusal cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for (line, case) in &cases {
        let mut core = Core::new(&setup).unwrap();
        let (path, reason) = (case["path"].as_str().unwrap(), case["reason"].as_str().unwrap());
        match core.declare_signals(&case["spec"]) {
            Ok(()) => failures.push(format!("line {line}: accepted, expected {path}: {reason}")),
            Err(err) if err.path == path && err.reason == reason => {}
            Err(err) => failures.push(format!(
                "line {line}: {}: {} (expected {path}: {reason})",
                err.path, err.reason
            )),
        }
        assert!(
            core.signals().is_none(),
            "a refused declaration leaves no signals"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_second_declaration_is_refused_and_restore_keeps_the_first() {
    for dir in case_dirs() {
        let spec = read_json(&dir.join("spec.json"));
        let mut core = declared(&dir);
        let err = core.declare_signals(&spec).unwrap_err();
        assert_eq!(
            (err.path.as_str(), err.reason.as_str()),
            ("$", "signals are already declared")
        );
        let items = read_items(&fs::read_to_string(dir.join("input.jsonl")).unwrap()).unwrap();
        let snapshot = core.snapshot();
        let state_hash = core.state_hash();
        for (_, item) in &items {
            let _ = core.step(item);
        }
        // Signals are no part of the state: a core without them hashes the same.
        let mut plain = Core::new(&load_setup(&dir).unwrap()).unwrap();
        for (_, item) in &items {
            let _ = plain.step(item);
        }
        assert_eq!(core.state_hash(), plain.state_hash());
        assert_eq!(core.snapshot(), plain.snapshot());
        core.restore(&snapshot).unwrap();
        assert_eq!(core.state_hash(), state_hash);
        assert!(core.take_signals().is_empty(), "restore forgets untaken firings");
        // Replayed from the restored state, the case gives its expected lines again.
        for ((_, item), want) in items.iter().zip(expected_lines(&dir)) {
            let _ = core.step(item);
            assert_eq!(observed(&mut core), want, "{}", dir.display());
        }
    }
}
