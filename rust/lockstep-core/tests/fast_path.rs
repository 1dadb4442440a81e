//! The fast entry point (`Core::step_json`, `lineparse::parse_line`) against
//! the generic one (`serde_json` + `Core::step`).
//!
//! The fast parser may only ever accept: whenever it returns an item, the
//! generic parser must return the very same item for that line. These tests
//! feed it every golden input line and many damaged variants of them (bytes
//! flipped, dropped and inserted, tokens swapped, keys duplicated, spacing
//! changed) and check that rule, then check that stepping raw lines gives
//! byte-identical traces and identical errors.

mod common;

use common::case_dirs;
use std::fs;

use lockstep_core::cases::load_setup;
use lockstep_core::items::parse_input;
use lockstep_core::lineparse::parse_line;
use lockstep_core::Core;
use serde_json::Value;

fn golden_lines() -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    for dir in case_dirs() {
        let text = fs::read(dir.join("input.jsonl")).unwrap();
        lines.extend(
            text.split(|b| *b == b'\n')
                .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                .map(<[u8]>::to_vec),
        );
    }
    assert!(lines.len() > 50, "expected the golden inputs");
    lines
}

/// What the generic path makes of a line: the parsed item or nothing.
fn generic(line: &[u8]) -> Option<lockstep_core::items::Parsed> {
    let value: Value = serde_json::from_slice(line).ok()?;
    parse_input(&value).ok()
}

fn check(line: &[u8]) -> bool {
    match parse_line(line) {
        None => false,
        Some(fast) => {
            assert_eq!(
                Some(fast),
                generic(line),
                "fast path accepted {:?} differently",
                String::from_utf8_lossy(line)
            );
            true
        }
    }
}

/// Deterministic pseudo-random numbers (no dependency needed for a test).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "00",
    "1.0",
    "1e2",
    "1E2",
    "-",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "170141183460469231731687303715884105728",
    "null",
    "true",
    "false",
    "\"\"",
    "\"x\"",
    "\"a b\"",
    "\"o1\\n\"",
    "\"\\u0041\"",
    "\"é\"",
    "{}",
    "[]",
    "[1]",
    "{\"a\":1}",
    "\"bar\"",
    "\"event\"",
    "\"market_data\"",
    " ",
    "\t",
    ",",
    ":",
    "\"",
    "\\",
];

fn mutate(rng: &mut Rng, line: &[u8]) -> Vec<u8> {
    let mut out = line.to_vec();
    for _ in 0..1 + rng.below(3) {
        if out.is_empty() {
            break;
        }
        let at = rng.below(out.len());
        match rng.below(8) {
            0 => {
                out.remove(at);
            }
            1 => out[at] = b"0123456789\",:{}[]-.eE \\nta"[rng.below(26)],
            2 => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                out.splice(at..at, token.iter().copied());
            }
            3 => {
                // Replace a whole value: from after a ':' up to the next ',' or '}'.
                if let Some(colon) = out[at..].iter().position(|b| *b == b':').map(|p| p + at + 1) {
                    let end = out[colon..]
                        .iter()
                        .position(|b| *b == b',' || *b == b'}')
                        .map_or(out.len(), |p| p + colon);
                    let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                    out.splice(colon..end, token.iter().copied());
                }
            }
            4 => {
                // Duplicate the first member of an object.
                if let Some(open) = out[at..].iter().position(|b| *b == b'{').map(|p| p + at) {
                    if let Some(comma) = out[open..].iter().position(|b| *b == b',').map(|p| p + open) {
                        let member: Vec<u8> = out[open + 1..=comma].to_vec();
                        out.splice(open + 1..open + 1, member);
                    }
                }
            }
            5 => out.truncate(at),
            6 => {
                let spaces = b"  \t\r";
                out.insert(at, spaces[rng.below(spaces.len())]);
            }
            _ => {
                // Swap two bytes.
                let other = rng.below(out.len());
                out.swap(at, other);
            }
        }
    }
    out
}

#[test]
fn every_golden_line_takes_the_fast_path_and_agrees() {
    let lines = golden_lines();
    let fast = lines.iter().filter(|line| check(line)).count();
    // Nearly all golden lines are plain; the few others use escapes or floats on purpose.
    assert!(
        fast * 10 >= lines.len() * 8,
        "only {fast} of {} lines were fast",
        lines.len()
    );
}

#[test]
fn damaged_lines_are_refused_or_read_like_the_generic_path() {
    let lines = golden_lines();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut accepted, mut total) = (0, 0);
    for round in 0..60 {
        for line in &lines {
            let damaged = mutate(&mut rng, line);
            total += 1;
            accepted += usize::from(check(&damaged));
            if round == 0 {
                // Re-spelled but equal: pretty-printed, keys sorted.
                let value: Value = serde_json::from_slice(line).unwrap();
                check(serde_json::to_string_pretty(&value).unwrap().as_bytes());
            }
        }
    }
    // Some damage leaves a valid line (a changed digit, added spacing): the
    // fast path must still have read some of those.
    assert!(accepted > 0 && accepted < total, "{accepted} of {total}");
}

/// Run `lines` through one core per path; both transcripts must be equal.
fn transcript(setup: &Value, lines: &[Vec<u8>], fast: bool) -> Vec<String> {
    let mut core = Core::new(setup).unwrap();
    let mut out = Vec::new();
    for line in lines {
        let result = if fast {
            core.step_json(line)
        } else {
            match serde_json::from_slice::<Value>(line) {
                Ok(value) => core.step(&value),
                Err(_) => {
                    out.push("ERROR InputError $".to_string());
                    continue;
                }
            }
        };
        match result {
            Ok(records) => out.extend(
                records
                    .iter()
                    .map(|r| String::from_utf8(r.canonical_bytes()).unwrap()),
            ),
            Err(err) => out.push(format!("ERROR {} {}", err.kind(), err.path().unwrap_or("-"))),
        }
    }
    out.push(core.state_hash());
    out
}

#[test]
fn stepping_raw_lines_equals_stepping_parsed_values() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for dir in case_dirs() {
        let setup = load_setup(&dir).unwrap();
        let text = fs::read(dir.join("input.jsonl")).unwrap();
        let lines: Vec<Vec<u8>> = text
            .split(|b| *b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .map(<[u8]>::to_vec)
            .collect();
        assert_eq!(
            transcript(&setup, &lines, true),
            transcript(&setup, &lines, false),
            "{}",
            dir.display()
        );
        // The same with some lines damaged (refusals must not change the core).
        let damaged: Vec<Vec<u8>> = lines
            .iter()
            .map(|l| {
                if rng.below(4) == 0 {
                    mutate(&mut rng, l)
                } else {
                    l.clone()
                }
            })
            .collect();
        assert_eq!(
            transcript(&setup, &damaged, true),
            transcript(&setup, &damaged, false),
            "{} (damaged)",
            dir.display()
        );
    }
}
