//! Parity with the Python reference core on every golden case in `contracts/`.
//!
//! For each case directory: the trace bytes equal `expected_trace.jsonl` byte
//! for byte, the snapshot equals `expected_state.json` (as JSON values, with
//! exact integers), and the state hash equals the hash Python prints, computed
//! here from `expected_state.json`'s business part so nothing extra is stored.

mod common;

use common::case_dirs;
use std::fs;

use lockstep_core::cases::run_case;
use lockstep_core::{canonical_json, sha256_hex, BlockOptions, BlockOutput, Core, Expected};
use serde_json::Value;

#[test]
fn every_golden_case_is_reproduced_byte_for_byte() {
    let dirs = case_dirs();
    assert!(
        dirs.len() >= 20,
        "expected the bundled golden cases, found {}",
        dirs.len()
    );
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let run = match run_case(dir) {
            Ok(run) => run,
            Err(err) => {
                failures.push(format!("{name}: {err}"));
                continue;
            }
        };
        let expected_trace = fs::read(dir.join("expected_trace.jsonl")).unwrap();
        let actual = run.trace_bytes();
        if actual != expected_trace {
            let exp = String::from_utf8_lossy(&expected_trace).to_string();
            let act = String::from_utf8_lossy(&actual).to_string();
            let line = exp.lines().zip(act.lines()).position(|(a, b)| a != b);
            failures.push(format!(
                "{name}: trace differs (first differing line {line:?})\n  expected: {}\n  actual:   {}",
                line.and_then(|l| exp.lines().nth(l)).unwrap_or("<length>"),
                line.and_then(|l| act.lines().nth(l)).unwrap_or("<length>"),
            ));
            continue;
        }
        let expected_state: Value =
            serde_json::from_str(&fs::read_to_string(dir.join("expected_state.json")).unwrap()).unwrap();
        if run.snapshot != expected_state {
            failures.push(format!(
                "{name}: snapshot differs\n  expected: {expected_state}\n  actual:   {}",
                run.snapshot
            ));
            continue;
        }
        let python_hash = sha256_hex(&canonical_json(&expected_state["business"]).unwrap());
        if run.state_hash != python_hash {
            failures.push(format!("{name}: state hash {} != {python_hash}", run.state_hash));
        }
        let mut core = Core::new(&lockstep_core::cases::load_setup(dir).unwrap()).unwrap();
        core.step_block(
            &fs::read(dir.join("input.jsonl")).unwrap(),
            BlockOptions::default(),
        );
        let (text, state_hash) = core.checkpoint();
        if text != canonical_json(&expected_state).unwrap()
            || text != core.snapshot_canonical()
            || state_hash != python_hash
        {
            failures.push(format!(
                "{name}: checkpoint text or hash differs from the snapshot's"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}

#[test]
fn snapshot_restore_round_trips_every_golden_case() {
    for dir in case_dirs() {
        let setup: Value =
            serde_json::from_str(&fs::read_to_string(dir.join("setup.json")).unwrap()).unwrap();
        let items =
            lockstep_core::cases::read_items(&fs::read_to_string(dir.join("input.jsonl")).unwrap()).unwrap();
        // Run half, snapshot, restore into a fresh core, run the rest: same trace tail and state.
        let mut whole = lockstep_core::Core::new(&setup).unwrap();
        let mut first = lockstep_core::Core::new(&setup).unwrap();
        let half = items.len() / 2;
        let mut whole_tail = Vec::new();
        for (n, (_, item)) in items.iter().enumerate() {
            let records = whole.step(item).unwrap();
            if n < half {
                first.step(item).unwrap();
            } else {
                whole_tail.extend(records);
            }
        }
        let mut second = lockstep_core::Core::new(&setup).unwrap();
        second.restore(&first.snapshot()).unwrap();
        assert_eq!(second.state_hash(), first.state_hash());
        let mut tail = Vec::new();
        for (_, item) in &items[half..] {
            tail.extend(second.step(item).unwrap());
        }
        assert_eq!(tail, whole_tail, "{}", dir.display());
        assert_eq!(second.snapshot(), whole.snapshot(), "{}", dir.display());
    }
}

/// The stored-trace check (replay verification) on every golden case: the
/// case's own trace verifies whole, and a trace with one record altered
/// diverges exactly there.
#[test]
fn every_golden_trace_verifies_against_itself_and_a_forgery_is_pinpointed() {
    for dir in case_dirs() {
        let setup: Value = serde_json::from_slice(&fs::read(dir.join("setup.json")).unwrap()).unwrap();
        let input = fs::read(dir.join("input.jsonl")).unwrap();
        let trace = fs::read(dir.join("expected_trace.jsonl")).unwrap();
        let keys = key_lines(&trace);
        let (_, out) = replay_against(&setup, &input, &trace, &keys);
        let records = trace.iter().filter(|b| **b == b'\n').count();
        assert_eq!(out.verified, records, "{}", dir.display());
        assert!(!out.diverged && out.records.is_empty());
        assert_eq!(out.expect_end, (trace.len(), keys.len()));

        let forged = String::from_utf8(trace.clone())
            .unwrap()
            .replacen("\"fills\":[", "\"fills\": [", 1);
        let forged_at = forged.lines().position(|l| l.contains("\"fills\": ["));
        let (_, out) = replay_against(&setup, &input, forged.as_bytes(), &keys);
        if let Some(line) = forged_at {
            assert!(out.diverged, "{}", dir.display());
            assert_eq!(out.verified, line);
            let first = out.records.split(|b| *b == b'\n').next().unwrap();
            assert_eq!(first, trace.split(|b| *b == b'\n').nth(line).unwrap());
        }
    }
}

/// A stored line whose `hash` (in the line and in its key line alike) is
/// not the hash of its content: replay seals records with the stored hash
/// and has it checked on another thread, so this is the case that must not
/// slip through. The block diverges exactly there, and every record it
/// returns (that one and the rest of its item) carries its true hash.
#[test]
fn a_stored_hash_that_does_not_hash_its_line_is_a_divergence() {
    let forged_hash = sha256_hex(b"not this record");
    for dir in case_dirs() {
        let setup: Value = serde_json::from_slice(&fs::read(dir.join("setup.json")).unwrap()).unwrap();
        let input = fs::read(dir.join("input.jsonl")).unwrap();
        let trace = String::from_utf8(fs::read(dir.join("expected_trace.jsonl")).unwrap()).unwrap();
        let lines: Vec<&str> = trace.lines().collect();
        let at = lines.len() / 2;
        let true_hash = serde_json::from_str::<Value>(lines[at]).unwrap()["hash"]
            .as_str()
            .unwrap()
            .to_string();
        let mut forged_lines = lines.clone();
        let forged_line = lines[at].replace(&true_hash, &forged_hash);
        forged_lines[at] = &forged_line;
        let forged: String = forged_lines.iter().map(|l| format!("{l}\n")).collect();
        let keys = key_lines(forged.as_bytes());
        let (core, out) = replay_against(&setup, &input, forged.as_bytes(), &keys);
        assert!(out.diverged, "{}", dir.display());
        assert_eq!(out.verified, at, "{}", dir.display());
        let returned: Vec<&[u8]> = out
            .records
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        for (n, line) in returned.iter().enumerate() {
            assert_eq!(
                *line,
                lines[at + n].as_bytes(),
                "{} line {}",
                dir.display(),
                at + n
            );
        }
        let last: Value = serde_json::from_slice(returned.last().unwrap()).unwrap();
        assert_eq!(core.last_hash(), last["hash"].as_str().unwrap());
    }
}

/// Checkpoint hashes taken inside a block (on the block's hashing thread)
/// are the hashes a core stepped one item at a time reports after each item,
/// in the same order, at every time step of every golden case.
#[test]
fn block_checkpoint_hashes_equal_item_by_item_state_hashes() {
    let mut compared = 0;
    for dir in case_dirs() {
        let setup: Value = serde_json::from_slice(&fs::read(dir.join("setup.json")).unwrap()).unwrap();
        let input = fs::read(dir.join("input.jsonl")).unwrap();
        let mut stepped = Core::new(&setup).unwrap();
        let mut wanted = Vec::new();
        for (_, item) in lockstep_core::cases::read_items(&String::from_utf8_lossy(&input)).unwrap() {
            if stepped.step(&item).is_ok()
                && wanted.last().is_none_or(|(seq, _)| *seq != stepped.last_seq_id())
            {
                wanted.push((stepped.last_seq_id(), stepped.state_hash()));
            }
        }
        let hash_at: Vec<i64> = wanted.iter().map(|(seq, _)| *seq).collect();
        let mut block = Core::new(&setup).unwrap();
        let mut got = Vec::new();
        let mut rest: &[u8] = &input;
        loop {
            let out = block.step_block(
                rest,
                BlockOptions {
                    hash_at: &hash_at,
                    ..BlockOptions::default()
                },
            );
            got.extend(out.state_hashes);
            if out.error.is_none() {
                break;
            }
            let skip = rest[out.end..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(rest.len(), |n| out.end + n + 1);
            rest = &rest[skip..];
        }
        assert_eq!(got, wanted, "{}", dir.display());
        compared += got.len();
    }
    assert!(compared > 100, "only {compared} time steps compared");
}

/// A fresh core stepping `input` in one block against the stored `lines` and `keys`.
fn replay_against(setup: &Value, input: &[u8], lines: &[u8], keys: &[u8]) -> (Core, BlockOutput) {
    let mut core = Core::new(setup).unwrap();
    let out = core.step_block(
        input,
        BlockOptions {
            expect: Some(Expected { lines, keys }),
            ..BlockOptions::default()
        },
    );
    (core, out)
}

/// `seq_id origin hash prev_hash` per trace line, as a run store's columns give them.
fn key_lines(trace: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in trace.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let record: Value = serde_json::from_slice(line).unwrap();
        let field = |k: &str| record[k].as_str().unwrap().to_string();
        out.extend_from_slice(
            format!(
                "{} {} {} {}\n",
                record["seq_id"],
                field("origin"),
                field("hash"),
                field("prev_hash")
            )
            .as_bytes(),
        );
    }
    out
}
