//! The public surface: errors, restore checks and the edges Python pins in its own tests.

use lockstep_core::{Core, CoreError};
use serde_json::{json, Value};

fn setup() -> Value {
    json!({
        "currencies": [{"code": "USD", "money_precision": 4}],
        "venues": [{"name": "SIM", "simulated": true, "order_types": ["market", "limit"],
                    "time_in_force": ["GTC"], "supports_replace": true, "fee_ppm": 1000,
                    "participation_bps": null}],
        "instruments": [{"id": "AAA", "venue": "SIM", "quote_currency": "USD", "price_precision": 2,
                         "size_precision": 0, "tick_size": 1, "lot_size": 1}],
        "starting_cash": {"USD": 1_000_000_000},
        "timers": [{"timer_id": "hb", "start_ns": 100, "interval_ns": 0}],
    })
}

fn bar(t: i64, seq_id: Value) -> Value {
    json!({"kind": "event", "seq_id": seq_id, "event_time": t, "ingest_time": t, "source": "market_data",
           "venue": "SIM", "instrument": "AAA", "event_type": "bar",
           "payload": {"open": 100, "high": 101, "low": 99, "close": 100, "volume": 10},
           "idempotency_key": null, "producer_index": 0})
}

fn batch(ts: i64, intents: Value) -> Value {
    json!({"kind": "intent_batch", "seq_id": null, "batch_id": "b", "strategy_id": "s", "ts": ts,
           "intents": intents})
}

#[test]
fn a_market_order_fills_on_the_next_bar() {
    let mut core = Core::new(&setup()).unwrap();
    let place = json!([{"type": "place_order", "client_order_id": "o1", "venue": "SIM", "instrument": "AAA",
        "side": "buy", "order_type": "market", "time_in_force": "GTC", "qty": 3, "price": null,
        "stop_price": null}]);
    let records = core.step(&batch(10, place)).unwrap();
    assert_eq!(records.len(), 2); // the batch and the simulated acceptance
    let records = core.step(&bar(200, Value::Null)).unwrap();
    // the one-shot timer at 100 fires first, then the bar, then its fill
    let origins: Vec<&str> = records.iter().map(|r| r.origin.as_str()).collect();
    assert_eq!(origins, ["generated", "input", "generated"]);
    assert_eq!(records[2].fills[0].notional, 30_000);
    assert_eq!(records[2].fills[0].fee, 30);
    assert_eq!(records[2].prev_hash, records[1].hash);
    assert_eq!(
        core.snapshot()["business"]["cash"]["USD"],
        json!(1_000_000_000 - 30_030)
    );
}

#[test]
fn input_errors_name_the_field_and_change_nothing() {
    let mut core = Core::new(&setup()).unwrap();
    let before = core.snapshot();
    let mut item = bar(5, Value::Null);
    item["payload"]["volume"] = json!(1.5);
    let err = core.step(&item).unwrap_err();
    assert_eq!(
        err,
        CoreError::Input {
            path: "$.payload.volume".into(),
            reason: err_reason(&err)
        }
    );
    assert_eq!(core.snapshot(), before);
    let group = json!({"kind": "event_group", "events": [bar(5, Value::Null), bar(5, json!(9))]});
    assert_eq!(core.step(&group).unwrap_err().path(), Some("$.events[1].seq_id"));
    assert_eq!(
        core.apply(&json!({"kind": "event_group", "events": [bar(5, Value::Null)]}))
            .unwrap_err()
            .path(),
        Some("$.kind")
    );
    core.step(&bar(50, Value::Null)).unwrap();
    let err = core.step(&bar(40, Value::Null)).unwrap_err();
    assert!(matches!(err, CoreError::Sequence { ref path, .. } if path == "$.event_time"));
}

fn err_reason(err: &CoreError) -> String {
    match err {
        CoreError::Input { reason, .. } | CoreError::Sequence { reason, .. } => reason.clone(),
        _ => String::new(),
    }
}

#[test]
fn raw_intents_are_echoed_like_python_and_judged_one_by_one() {
    let mut core = Core::new(&setup()).unwrap();
    let intents: Value = serde_json::from_str(
        r#"[{"type": "noop", "x": -0, "big": 123456789012345678901234567890123456789012, "s": "é\u0001"},
            {"type": "noop"}, {"type": "teleport", "client_order_id": "o1\n"}, {"type": "cancel_order", "client_order_id": "o1"}]"#,
    )
    .unwrap();
    let records = core.step(&batch(1, intents)).unwrap();
    let line = String::from_utf8(records[0].canonical_bytes()).unwrap();
    assert!(line
        .contains(r#"{"big":123456789012345678901234567890123456789012,"s":"é\u0001","type":"noop","x":0}"#));
    let outcomes: Vec<_> = records[0]
        .intent_outcomes
        .iter()
        .map(|o| (o.kind.as_str(), o.order_id.as_deref(), o.reason_code))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("noop", None, Some("SCHEMA_INVALID")),
            ("noop", None, None),
            // "o1\n" is not an identifier (the whole string must match).
            ("teleport", None, Some("SCHEMA_INVALID")),
            ("cancel_order", Some("o1"), Some("UNKNOWN_ORDER")),
        ]
    );
}

#[test]
fn a_float_anywhere_in_an_intent_refuses_the_whole_batch() {
    let mut core = Core::new(&setup()).unwrap();
    let before = core.snapshot();
    for (text, path) in [
        (r#"[{"type": "noop", "x": 1e400}]"#, "$.intents[0].x"),
        (
            r#"[{"type": "noop"}, {"type": "noop", "b": {"z": 1, "a": [1, 2.5]}}]"#,
            "$.intents[1].b.a[1]",
        ),
        (r#"[{"type": "noop", "a": 1.0, "b": 1E5}]"#, "$.intents[0].a"),
        (r#"[{"type": "place_order", "qty": 10.0}]"#, "$.intents[0].qty"),
    ] {
        let intents: Value = serde_json::from_str(text).unwrap();
        let err = core.step(&batch(1, intents)).unwrap_err();
        assert!(matches!(err, CoreError::Input { .. }), "{text}");
        assert_eq!(err.path(), Some(path), "{text}");
    }
    assert_eq!(core.snapshot(), before);
    assert_eq!(core.last_seq_id(), 0);
}

#[test]
fn python_json_constants_are_floats_too() {
    // `json.loads` reads NaN and Infinity; the raw-line entry point does the
    // same, so such a batch is refused at the same path as in Python.
    let mut core = Core::new(&setup()).unwrap();
    for (token, path) in [
        ("NaN", "$.intents[0].x"),
        ("-Infinity", "$.intents[0].x"),
        ("Infinity", "$.ts"),
    ] {
        let line = if path == "$.ts" {
            format!(
                r#"{{"kind":"intent_batch","seq_id":null,"batch_id":"b","strategy_id":"s","ts":{token},"intents":[]}}"#
            )
        } else {
            format!(
                r#"{{"kind":"intent_batch","seq_id":null,"batch_id":"b","strategy_id":"s","ts":1,"intents":[{{"type":"noop","x":{token}}}]}}"#
            )
        };
        assert_eq!(
            core.step_json(line.as_bytes()).unwrap_err().path(),
            Some(path),
            "{line}"
        );
    }
    // Inside strings they are just text, and elsewhere invalid JSON stays invalid.
    let line = r#"{"kind":"intent_batch","seq_id":null,"batch_id":"b","strategy_id":"s","ts":1,"intents":[{"type":"NaN Infinity"}]}"#;
    assert_eq!(core.step_json(line.as_bytes()).unwrap().len(), 1);
    assert_eq!(core.step_json(b"{\"kind\": nan}").unwrap_err().path(), Some("$"));
    assert_eq!(core.step_json(b"[Infinityx]").unwrap_err().path(), Some("$"));
}

#[test]
fn restore_refuses_corrupt_and_foreign_checkpoints_and_keeps_state() {
    let mut core = Core::new(&setup()).unwrap();
    core.step(&bar(50, Value::Null)).unwrap();
    let good = core.snapshot();
    let mut fresh = Core::new(&setup()).unwrap();
    let empty_hash = fresh.state_hash();
    let mut corrupt = good.clone();
    corrupt["business"]["cash"]["USD"] = json!("1");
    assert_eq!(
        fresh.restore(&corrupt).unwrap_err().path(),
        Some("$.business.cash.USD")
    );
    let mut foreign = good.clone();
    foreign["business"]["positions"]["ZZZ"] = json!(0);
    assert_eq!(
        fresh.restore(&foreign).unwrap_err().path(),
        Some("$.business.positions")
    );
    let mut extra = good.clone();
    extra["engine"]["zz"] = json!(1);
    assert_eq!(fresh.restore(&extra).unwrap_err().path(), Some("$.engine.zz"));
    assert_eq!(fresh.state_hash(), empty_hash);
    fresh.restore(&good).unwrap();
    assert_eq!(fresh.snapshot(), good);
    assert_eq!(fresh.last_seq_id(), core.last_seq_id());
}

#[test]
fn setup_errors_name_the_path() {
    let mut bad = setup();
    bad["instruments"][0]["price_precision"] = json!(3);
    bad["instruments"][0]["size_precision"] = json!(2);
    assert_eq!(Core::new(&bad).unwrap_err().path, "$.instruments[0]");
    let mut bad = setup();
    bad["source_priority"] = json!([1, "control"]);
    assert_eq!(Core::new(&bad).unwrap_err().path, "$.source_priority");
    let mut bad = setup();
    bad["venues"][0]["order_types"] = json!(["market", "market"]);
    assert_eq!(Core::new(&bad).unwrap_err().path, "$.venues[0].order_types");
}

/// `state_hash` hashes the state as it writes it, in chunks; with a state far
/// larger than one chunk it must still be the digest of the whole document.
#[test]
fn the_streamed_state_hash_is_the_hash_of_the_whole_business_state() {
    let mut core = Core::new(&setup()).unwrap();
    let intents: Vec<Value> = (0..1500)
        .map(|n| {
            json!({"type": "place_order", "client_order_id": format!("o{n:05}"), "venue": "SIM",
                   "instrument": "AAA", "side": "buy", "order_type": "limit", "time_in_force": "GTC",
                   "qty": 1, "price": 50 + (n % 7), "stop_price": null})
        })
        .collect();
    core.step(&batch(10, Value::Array(intents))).unwrap();
    let business = lockstep_core::canonical_json(&core.snapshot()["business"]).unwrap();
    assert!(business.len() > 4 * 65_536, "state of {} bytes", business.len());
    assert_eq!(core.state_hash(), lockstep_core::sha256_hex(&business));
}

/// Terminal orders are written once and reused by later state hashes; orders
/// changed after that (fills, cancels, new ones) must still show.
#[test]
fn state_hashes_stay_exact_as_orders_go_terminal_and_change() {
    let mut core = Core::new(&setup()).unwrap();
    let expected = |core: &Core| {
        let business = lockstep_core::canonical_json(&core.snapshot()["business"]).unwrap();
        lockstep_core::sha256_hex(&business)
    };
    let limit = |id: String, price: i64| {
        json!({"type": "place_order", "client_order_id": id, "venue": "SIM", "instrument": "AAA",
               "side": "buy", "order_type": "limit", "time_in_force": "GTC", "qty": 2,
               "price": price, "stop_price": null})
    };
    let places: Vec<Value> = (0..400).map(|n| limit(format!("p{n:03}"), 90 + n % 20)).collect();
    core.step(&batch(10, Value::Array(places))).unwrap();
    assert_eq!(core.state_hash(), expected(&core));
    let cancels: Vec<Value> = (0..400)
        .step_by(2)
        .map(|n| json!({"type": "cancel_order", "client_order_id": format!("p{n:03}")}))
        .collect();
    core.step(&batch(20, Value::Array(cancels))).unwrap();
    assert_eq!(core.state_hash(), expected(&core)); // cancelled ones are now cached
    core.step(&bar(300, Value::Null)).unwrap(); // fills the resting orders priced at 99 and up
    assert_eq!(core.state_hash(), expected(&core));
    core.step(&batch(400, Value::Array(vec![limit("late".into(), 95)])))
        .unwrap();
    assert_eq!(core.state_hash(), expected(&core));
    // New ids sorting before, between and after the known ones (merged, not appended).
    let mixed = ["a0", "p1000", "zz"].map(|id| limit(id.into(), 91));
    core.step(&batch(500, Value::Array(mixed.to_vec()))).unwrap();
    assert_eq!(core.state_hash(), expected(&core));
    let restored = {
        let mut fresh = Core::new(&setup()).unwrap();
        fresh.restore(&core.snapshot()).unwrap();
        fresh
    };
    assert_eq!(restored.state_hash(), core.state_hash());
}
