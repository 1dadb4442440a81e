//! The Rust side of the parity fixes pinned in `tests/core/test_regressions.py`:
//! identifiers match as a whole, group errors name events as given, and the
//! creation order of one batch's orders survives a restore.

use lockstep_core::{Core, CoreError};
use serde_json::{json, Value};

fn setup() -> Value {
    json!({
        "currencies": [{"code": "USD", "money_precision": 4}],
        "venues": [{"name": "SIM", "simulated": true, "order_types": ["market", "limit"],
                    "time_in_force": ["GTC"], "supports_replace": true, "fee_ppm": 0,
                    "participation_bps": 5000},
                   {"name": "EXT", "simulated": false, "order_types": ["market"],
                    "time_in_force": ["GTC"], "supports_replace": false, "fee_ppm": 0,
                    "participation_bps": null}],
        "instruments": [{"id": "AAA", "venue": "SIM", "quote_currency": "USD", "price_precision": 2,
                         "size_precision": 0, "tick_size": 1, "lot_size": 1}],
        "starting_cash": {"USD": 1_000_000_000},
    })
}

fn bar(t: i64, volume: i64) -> Value {
    json!({"kind": "event", "seq_id": null, "event_time": t, "ingest_time": t, "source": "market_data",
           "venue": "SIM", "instrument": "AAA", "event_type": "bar",
           "payload": {"open": 100, "high": 101, "low": 99, "close": 100, "volume": volume},
           "idempotency_key": null, "producer_index": 0})
}

fn place(id: &str, qty: i64) -> Value {
    json!({"type": "place_order", "client_order_id": id, "venue": "SIM", "instrument": "AAA",
           "side": "buy", "order_type": "market", "time_in_force": "GTC", "qty": qty, "price": null,
           "stop_price": null})
}

fn batch(ts: i64, intents: Value) -> Value {
    json!({"kind": "intent_batch", "seq_id": null, "batch_id": "b", "strategy_id": "s", "ts": ts,
           "intents": intents})
}

fn path(err: CoreError) -> String {
    err.path().unwrap_or("-").to_string()
}

#[test]
fn ids_with_a_trailing_newline_are_refused() {
    let mut core = Core::new(&setup()).unwrap();
    let mut item = bar(5, 10);
    item["venue"] = json!("SIM\n");
    assert_eq!(path(core.step(&item).unwrap_err()), "$.venue");
    let mut bad = setup();
    bad["currencies"][0]["code"] = json!("USD\n");
    assert_eq!(Core::new(&bad).unwrap_err().path, "$.currencies[0].code");
}

#[test]
fn group_errors_name_the_event_as_given() {
    let mut core = Core::new(&setup()).unwrap();
    core.step(&bar(100, 10)).unwrap();
    let before = core.snapshot();
    let halt = json!({"kind": "event", "seq_id": null, "event_time": 200, "ingest_time": 200,
        "source": "control", "venue": "ops", "instrument": null, "event_type": "halt",
        "payload": {"reason": "x"}, "idempotency_key": null, "producer_index": 0});
    // As given: [late, halt, early]; in commit order the early bar comes first.
    let group = json!({"kind": "event_group", "events": [bar(200, 10), halt, bar(50, 10)]});
    let err = core.step(&group).unwrap_err();
    assert!(matches!(err, CoreError::Sequence { .. }));
    assert_eq!(path(err), "$.events[2].event_time");
    let mut unlisted = bar(300, 10);
    unlisted["venue"] = json!("EXT");
    let group = json!({"kind": "event_group", "events": [bar(200, 10), bar(200, 10), unlisted]});
    assert_eq!(path(core.step(&group).unwrap_err()), "$.events[2].instrument");
    // A group of one is still a group.
    let group = json!({"kind": "event_group", "events": [bar(50, 10)]});
    assert_eq!(path(core.step(&group).unwrap_err()), "$.events[0].event_time");
    let mut sequenced = bar(200, 10);
    sequenced["seq_id"] = json!(50);
    let group = json!({"kind": "event_group", "events": [sequenced]});
    assert_eq!(path(core.step(&group).unwrap_err()), "$.events[0].seq_id");
    assert_eq!(core.snapshot(), before);
}

#[test]
fn one_batch_matches_in_id_order_before_and_after_a_restore() {
    let mut core = Core::new(&setup()).unwrap();
    core.step(&bar(10, 40)).unwrap();
    core.step(&batch(11, json!([place("o7", 20), place("o3", 20)])))
        .unwrap();
    // A checkpoint as read back from a file: keys sorted, the batch's order lost.
    let text = lockstep_core::canonical_json(&core.snapshot()).unwrap();
    let mut restored = Core::new(&setup()).unwrap();
    restored.restore(&serde_json::from_slice(&text).unwrap()).unwrap();
    // The cap (50% of 40) leaves room for one order: which one fills shows the order.
    let live = core.step(&bar(12, 40)).unwrap();
    let resumed = restored.step(&bar(12, 40)).unwrap();
    assert_eq!(live, resumed);
    let fills: Vec<&str> = live
        .iter()
        .flat_map(|r| r.fills.iter().map(|f| f.order_id.as_str()))
        .collect();
    assert_eq!(fills, ["o3"]);
}

#[test]
fn a_checkpoint_whose_order_key_differs_from_its_id_is_refused() {
    let mut core = Core::new(&setup()).unwrap();
    core.step(&batch(1, json!([place("o1", 5)]))).unwrap();
    let mut snapshot = core.snapshot();
    let order = snapshot["business"]["orders"]
        .as_object_mut()
        .unwrap()
        .remove("o1")
        .unwrap();
    snapshot["business"]["orders"]["o2"] = order;
    let mut fresh = Core::new(&setup()).unwrap();
    let before = fresh.snapshot();
    assert_eq!(path(fresh.restore(&snapshot).unwrap_err()), "$.business.orders");
    assert_eq!(fresh.snapshot(), before);
}
