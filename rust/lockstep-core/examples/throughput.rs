//! `cargo run --release --example throughput -- [N] [--groups] [--path json|value|parse|step] [--emit DIR]`
//!
//! A reproducible throughput number for the core without a benchmark harness:
//! generates `N` input lines (default 1,000,000) deterministically in-process,
//! then replays them through one core and prints input lines per second.
//!
//! The stream is what a bar backtest produces: three instruments on one
//! simulated venue, one-minute bars round-robin, an hourly timer, and every
//! 20th line an intent batch that places market and limit orders (GTC, DAY,
//! IOC), cancels or replaces earlier ones (some of them already filled, so
//! some intents are rejected). Every record is written as its canonical trace
//! line, as a replay or a block call must do, so the number covers parsing,
//! stepping, hashing and output.
//!
//! `--path json` (default) feeds each line to [`Core::step_json`]; `--path value`
//! parses it to a `serde_json::Value` first and calls [`Core::step`] (the
//! generic path); `--path parse` only parses (the fast path) and `--path step`
//! only steps lines parsed beforehand, to see where the time goes. `--groups`
//! sends the bars of one minute as one event group. `--emit DIR` writes `DIR/setup.json` and `DIR/input.jsonl`
//! (a golden-case-shaped directory) instead, so the Python core can be timed
//! on the very same stream.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use lockstep_core::Core;
use serde_json::{json, Value};

const T0: i64 = 1_767_627_000_000_000_000; // 2026-01-05 15:30 UTC
const MINUTE: i64 = 60_000_000_000;
const INSTRUMENTS: [&str; 3] = ["AAPL", "MSFT", "SPY"];

/// splitmix64: tiny, deterministic, good enough to shuffle a synthetic stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

pub fn setup() -> Value {
    let instruments: Vec<Value> = INSTRUMENTS
        .iter()
        .map(|id| {
            json!({"id": id, "venue": "SIM", "quote_currency": "USD", "price_precision": 2,
                   "size_precision": 0, "tick_size": 1, "lot_size": 1})
        })
        .collect();
    json!({
        "currencies": [{"code": "USD", "money_precision": 6}],
        "venues": [{"name": "SIM", "simulated": true,
                    "order_types": ["market", "limit", "stop", "stop_limit"],
                    "time_in_force": ["GTC", "IOC", "FOK", "DAY"], "supports_replace": true,
                    "fee_ppm": 50, "participation_bps": 2500}],
        "instruments": instruments,
        "starting_cash": {"USD": 1_000_000_000_000_000i64},
        "risk": {"max_position": {"AAPL": 1_000_000, "MSFT": 1_000_000, "SPY": 1_000_000},
                 "max_order_notional": {"USD": 10_000_000_000_000i64}},
        "timers": [{"timer_id": "hourly", "start_ns": T0, "interval_ns": 60 * MINUTE}],
    })
}

/// The input stream as JSON lines (without newlines), the way a log stores them.
///
/// With `groups`, the three bars of a minute arrive as one `event_group` line
/// (producer index = instrument), as `lockstep.adapters.merge` emits ties.
pub fn generate(n: usize, groups: bool) -> Vec<String> {
    let mut rng = Rng(0x5eed);
    let mut price = [18_000i64, 41_000, 47_500];
    let mut t = T0;
    let mut lines = Vec::with_capacity(n);
    let mut next_order = 0u64;
    let mut recent: Vec<(u64, usize)> = Vec::new(); // (order number, instrument)
    let mut bar_no = 0usize;
    let mut since_batch = 0usize;
    let mut group: Vec<String> = Vec::new();
    while lines.len() < n {
        if since_batch == 19 && group.is_empty() {
            since_batch = 0;
            let count = 1 + rng.below(3);
            let mut intents = String::new();
            for k in 0..count {
                if k > 0 {
                    intents.push(',');
                }
                let inst = rng.below(3) as usize;
                let roll = rng.below(10);
                if roll < 2 && !recent.is_empty() {
                    let (id, _) = recent[rng.below(recent.len() as u64) as usize];
                    write!(intents, r#"{{"type":"cancel_order","client_order_id":"o{id}"}}"#).unwrap();
                    continue;
                }
                if roll == 2 && !recent.is_empty() {
                    let (id, inst) = recent[rng.below(recent.len() as u64) as usize];
                    let px = price[inst] - 5 - rng.below(20);
                    write!(
                        intents,
                        r#"{{"type":"replace_order","client_order_id":"o{id}","qty":{},"price":{px},"stop_price":null}}"#,
                        20 + rng.below(80)
                    )
                    .unwrap();
                    continue;
                }
                let id = next_order;
                next_order += 1;
                let side = if rng.below(2) == 0 { "buy" } else { "sell" };
                let qty = 1 + rng.below(50);
                let (kind, tif, px) = match roll {
                    3..=5 => ("market", "GTC", None),
                    6 => ("market", "IOC", None),
                    _ => {
                        let off = rng.below(30);
                        let px = if side == "buy" {
                            price[inst] - off
                        } else {
                            price[inst] + off
                        };
                        let tif = if roll == 9 { "DAY" } else { "GTC" };
                        recent.push((id, inst));
                        if recent.len() > 16 {
                            recent.remove(0);
                        }
                        ("limit", tif, Some(px.max(1)))
                    }
                };
                write!(
                    intents,
                    r#"{{"type":"place_order","client_order_id":"o{id}","venue":"SIM","instrument":"{}","side":"{side}","order_type":"{kind}","time_in_force":"{tif}","qty":{qty},"price":{},"stop_price":null}}"#,
                    INSTRUMENTS[inst],
                    px.map_or("null".to_string(), |p| p.to_string()),
                )
                .unwrap();
            }
            lines.push(format!(
                r#"{{"kind":"intent_batch","seq_id":null,"batch_id":"b{}","strategy_id":"demo","ts":{t},"intents":[{intents}]}}"#,
                lines.len()
            ));
            continue;
        }
        let inst = bar_no % 3;
        if inst == 0 {
            t += MINUTE;
        }
        bar_no += 1;
        let open = price[inst];
        let close = (open + rng.below(41) - 20).max(100);
        let high = open.max(close) + rng.below(15);
        let low = (open.min(close) - rng.below(15)).max(1);
        price[inst] = close;
        let bar = format!(
            r#"{{"kind":"event","seq_id":null,"event_time":{t},"ingest_time":{t},"source":"market_data","venue":"SIM","instrument":"{}","event_type":"bar","payload":{{"open":{open},"high":{high},"low":{low},"close":{close},"volume":{}}},"idempotency_key":null,"producer_index":{}}}"#,
            INSTRUMENTS[inst],
            100 + rng.below(10_000),
            if groups { inst } else { 0 },
        );
        if !groups {
            lines.push(bar);
            since_batch += 1;
            continue;
        }
        group.push(bar);
        if group.len() == INSTRUMENTS.len() {
            lines.push(format!(
                r#"{{"kind":"event_group","events":[{}]}}"#,
                group.join(",")
            ));
            group.clear();
            since_batch += 1;
        }
    }
    lines
}

fn main() {
    let mut n = 1_000_000usize;
    let mut path = "json".to_string();
    let mut emit: Option<PathBuf> = None;
    let mut groups = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--path" => path = args.next().expect("--path json|value"),
            "--emit" => emit = Some(PathBuf::from(args.next().expect("--emit DIR"))),
            "--groups" => groups = true,
            other => n = other.parse().expect("N is a number of input lines"),
        }
    }
    let started = Instant::now();
    let lines = generate(n, groups);
    eprintln!("generated {n} lines in {:.2?}", started.elapsed());
    if let Some(dir) = emit {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("setup.json"),
            serde_json::to_string_pretty(&setup()).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.join("input.jsonl"), lines.join("\n") + "\n").unwrap();
        eprintln!("wrote {}", dir.display());
        return;
    }
    if path == "parse" {
        // Parsing alone (the fast path), to see where a step's time goes.
        let started = Instant::now();
        let parsed = lines
            .iter()
            .filter(|line| lockstep_core::lineparse::parse_line(line.as_bytes()).is_some())
            .count();
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "path=parse lines={n} fast={parsed} seconds={elapsed:.3} lines_per_s={:.0}",
            n as f64 / elapsed
        );
        return;
    }
    let mut core = Core::new(&setup()).unwrap();
    if path == "step" {
        // Stepping alone: lines parsed beforehand, records not written out.
        let parsed: Vec<_> = lines
            .iter()
            .map(|line| lockstep_core::lineparse::parse_line(line.as_bytes()).expect("plain lines"))
            .collect();
        let started = Instant::now();
        let records: usize = parsed
            .into_iter()
            .map(|item| core.step_parsed(item).expect("valid stream").len())
            .sum();
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "path=step lines={n} records={records} seconds={elapsed:.3} lines_per_s={:.0}",
            n as f64 / elapsed
        );
        return;
    }
    let mut out: Vec<u8> = Vec::with_capacity(64 << 20);
    let mut records = 0usize;
    let mut trace_bytes = 0usize;
    let started = Instant::now();
    for line in &lines {
        let produced = match path.as_str() {
            "value" => core.step(&serde_json::from_str::<Value>(line).unwrap()),
            _ => core.step_json(line.as_bytes()),
        }
        .unwrap_or_else(|err| panic!("{err}: {line}"));
        records += produced.len();
        for record in &produced {
            record.write_canonical(&mut out, true);
            out.push(b'\n');
        }
        if out.len() > 32 << 20 {
            trace_bytes += out.len();
            out.clear();
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    trace_bytes += out.len();
    // Items the core commits as input: a group line holds one event per instrument.
    let items: usize = lines
        .iter()
        .map(|l| {
            if l.starts_with(r#"{"kind":"event_group""#) {
                INSTRUMENTS.len()
            } else {
                1
            }
        })
        .sum();
    println!(
        "path={path} lines={n} items={items} records={records} trace_bytes={trace_bytes} \
         seconds={elapsed:.3} lines_per_s={:.0} items_per_s={:.0} records_per_s={:.0}",
        n as f64 / elapsed,
        items as f64 / elapsed,
        records as f64 / elapsed
    );
    println!("last_hash={} state_hash={}", core.last_hash(), core.state_hash());
}
