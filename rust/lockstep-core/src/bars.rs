//! Bar blocks: market bars as packed int64 columns, stepped without JSON.
//!
//! The counterpart of `lockstep.core.bars.BarBlock` (ADR 0016, decision 5):
//! `rows` bars as seven little-endian int64 columns, one after the other
//! ([`COLUMNS`]), and the `(venue, instrument)` of each producer index.
//! Consecutive rows with the same `event_time` are one input item, an event
//! group when there are several (in row order), exactly as the envelopes
//! `BarBlock.items()` builds; every row's envelope is implied: source
//! `market_data`, event type `bar`, `ingest_time` = `event_time`, no `seq_id`
//! and no idempotency key.
//!
//! [`Core::step_bar_block`] runs such a block through the same block loop as
//! [`Core::step_block`] runs JSON lines, with the same result for the
//! equivalent lines: records, wake-ups, checkpoint hashes, and the same
//! refusal at the same item. A row whose values are plainly valid becomes its
//! typed [`Event`] directly (a recogniser: ranges and bar consistency
//! compared, the sources' identifiers checked once per block); an item with
//! any other row is built as the JSON envelope it stands for and handed to
//! [`parse_input`], so every refusal keeps its one home (ADR 0016, decision 2).
//! The one check of its own is that a row's `producer_index` names a source.

use serde_json::{json, Value};

use crate::batch::{BlockOptions, BlockOutput, ItemSource};
use crate::coresetup::Source;
use crate::errors::CoreError;
use crate::fixedpoint::{PRICE_MAX, PRICE_MIN, QTY_MAX, TIME_MAX};
use crate::items::{parse_input, Event, Item, Parsed, Payload};
use crate::validate::{field, is_identifier};
use crate::Core;

/// The packed columns, in the order a block holds them (`lockstep.core.bars.COLUMNS`).
pub const COLUMNS: [&str; 7] = [
    "event_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "producer_index",
];

/// The `event_time` column: rows with equal values in it are one item.
const EVENT_TIME: usize = 0;

/// Bytes of one row: one int64 per column.
const ROW_BYTES: usize = 8 * COLUMNS.len();

/// A block of bars as packed columns, checked for size (not for values:
/// every value gets an envelope's checks when its item is stepped).
#[derive(Debug, Clone, Copy)]
pub struct BarColumns<'a> {
    data: &'a [u8],
    rows: usize,
    sources: &'a [(String, String)],
}

impl<'a> BarColumns<'a> {
    /// `rows` bars in `data` (column `k` starts at byte `8 * k * rows`);
    /// `sources[i]` is the `(venue, instrument)` of the rows whose
    /// `producer_index` is `i`. Refused when `data` is not `rows` rows long.
    pub fn new(data: &'a [u8], rows: usize, sources: &'a [(String, String)]) -> Result<Self, String> {
        if rows.checked_mul(ROW_BYTES) != Some(data.len()) {
            return Err(format!(
                "a bar block of {rows} rows holds {} bytes, not {}",
                rows as u128 * ROW_BYTES as u128,
                data.len()
            ));
        }
        Ok(BarColumns { data, rows, sources })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn sources(&self) -> &'a [(String, String)] {
        self.sources
    }

    /// The value of column `column` (an index into [`COLUMNS`]) in row `row`.
    pub fn value(&self, column: usize, row: usize) -> i64 {
        let at = 8 * (column * self.rows + row);
        i64::from_le_bytes(self.data[at..at + 8].try_into().expect("eight bytes"))
    }

    fn row(&self, row: usize) -> Row {
        let v = |column| self.value(column, row);
        Row {
            event_time: v(EVENT_TIME),
            open: v(1),
            high: v(2),
            low: v(3),
            close: v(4),
            volume: v(5),
            producer_index: v(6),
        }
    }
}

/// One row's values.
#[derive(Debug, Clone, Copy)]
struct Row {
    event_time: i64,
    open: i64,
    high: i64,
    low: i64,
    close: i64,
    volume: i64,
    producer_index: i64,
}

impl Row {
    /// Whether the values pass every check `parse_event` gives them: times in
    /// `0..=TIME_MAX`, prices as `price()`, the volume as `size()`, and
    /// `low <= open, close <= high`. The one-sided rule of a recogniser: when
    /// this says yes, `parse_input` accepts the envelope (given valid
    /// identifiers); when it says no, the envelope goes to `parse_input`.
    fn plain(&self) -> bool {
        let price = |p: i64| (PRICE_MIN..=PRICE_MAX).contains(&p);
        (0..=TIME_MAX).contains(&self.event_time)
            && price(self.open)
            && price(self.high)
            && price(self.low)
            && price(self.close)
            && (0..=QTY_MAX).contains(&self.volume)
            && self.low <= self.open
            && self.open <= self.high
            && self.low <= self.close
            && self.close <= self.high
    }
}

/// The items of a bar block, from a row on; positions are rows.
struct BarItems<'a> {
    block: BarColumns<'a>,
    /// Whether each source's venue and instrument are identifiers (checked once).
    plain_sources: Vec<bool>,
    /// The row after the last item given.
    next: usize,
    /// The canonical line of each item given and not refused, when asked for.
    lines: Option<Vec<u8>>,
    /// Length of `lines` before the item last given.
    mark: usize,
}

impl<'a> BarItems<'a> {
    fn new(block: BarColumns<'a>, start_row: usize, item_lines: bool) -> Self {
        BarItems {
            block,
            plain_sources: block
                .sources
                .iter()
                .map(|(venue, instrument)| is_identifier(venue) && is_identifier(instrument))
                .collect(),
            next: start_row.min(block.rows),
            lines: item_lines.then(Vec::new),
            mark: 0,
        }
    }

    /// The item of rows `start..stop` (one `event_time`), as `parse_input`
    /// gives it for the envelope or group those rows stand for.
    fn parse(&self, start: usize, stop: usize) -> Result<Parsed, CoreError> {
        let grouped = stop - start > 1;
        let mut plain = true;
        for (n, at) in (start..stop).enumerate() {
            let row = self.block.row(at);
            let Some(source) = self.source(&row) else {
                let path = if grouped {
                    format!("$.events[{n}]")
                } else {
                    "$".to_string()
                };
                return Err(CoreError::Input {
                    path: field(&path, "producer_index"),
                    reason: format!(
                        "expected the index of one of the bar block's {} sources, got {}",
                        self.block.sources.len(),
                        row.producer_index
                    ),
                });
            };
            plain = plain && self.plain_sources[source] && row.plain();
        }
        if !plain {
            return Ok(parse_input(&self.envelopes(start, stop))?);
        }
        let mut events = (start..stop).map(|at| self.event(&self.block.row(at)));
        Ok(if grouped {
            Parsed::Group(events.collect())
        } else {
            Parsed::Item(Item::Event(events.next().expect("an item has a row")))
        })
    }

    /// The index of the row's source, if its `producer_index` names one.
    fn source(&self, row: &Row) -> Option<usize> {
        usize::try_from(row.producer_index)
            .ok()
            .filter(|&n| n < self.block.sources.len())
    }

    /// A plainly valid row's event, as `parse_event` builds it from its envelope.
    fn event(&self, row: &Row) -> Event {
        let (venue, instrument) = &self.block.sources[row.producer_index as usize];
        Event {
            seq_id: None,
            event_time: row.event_time,
            ingest_time: row.event_time,
            source: Source::MarketData,
            venue: venue.clone(),
            instrument: Some(instrument.clone()),
            payload: Payload::Bar {
                open: row.open,
                high: row.high,
                low: row.low,
                close: row.close,
                volume: row.volume,
            },
            idempotency_key: None,
            producer_index: row.producer_index,
        }
    }

    /// The input item rows `start..stop` stand for, as `BarBlock.items()`
    /// builds it (every row has a source).
    fn envelopes(&self, start: usize, stop: usize) -> Value {
        let mut events: Vec<Value> = (start..stop)
            .map(|at| {
                let row = self.block.row(at);
                let (venue, instrument) = &self.block.sources[row.producer_index as usize];
                json!({
                    "kind": "event",
                    "seq_id": null,
                    "event_time": row.event_time,
                    "ingest_time": row.event_time,
                    "source": "market_data",
                    "venue": venue,
                    "instrument": instrument,
                    "event_type": "bar",
                    "payload": {
                        "open": row.open,
                        "high": row.high,
                        "low": row.low,
                        "close": row.close,
                        "volume": row.volume,
                    },
                    "idempotency_key": null,
                    "producer_index": row.producer_index,
                })
            })
            .collect();
        if events.len() == 1 {
            return events.pop().expect("one envelope");
        }
        json!({"kind": "event_group", "events": events})
    }
}

impl ItemSource for BarItems<'_> {
    fn next_item(&mut self) -> Option<Result<Parsed, CoreError>> {
        let start = self.next;
        if start >= self.block.rows {
            return None;
        }
        let time = self.block.value(EVENT_TIME, start);
        let mut stop = start + 1;
        while stop < self.block.rows && self.block.value(EVENT_TIME, stop) == time {
            stop += 1;
        }
        self.next = stop;
        let parsed = self.parse(start, stop);
        if let Some(lines) = self.lines.as_mut() {
            self.mark = lines.len();
            if let Ok(parsed) = &parsed {
                write_item_line(lines, parsed);
            }
        }
        Some(parsed)
    }

    fn resume_at(&self) -> usize {
        self.next
    }

    fn refused(&mut self) {
        if let Some(lines) = self.lines.as_mut() {
            lines.truncate(self.mark);
        }
    }
}

/// The canonical JSON of an item as given (a group's events in the order
/// given, not in commit order), followed by `\n`: the line a run store keeps.
fn write_item_line(out: &mut Vec<u8>, parsed: &Parsed) {
    match parsed {
        Parsed::Item(item) => item.write_canonical(out),
        Parsed::Group(events) => {
            out.extend_from_slice(b"{\"events\":[");
            for (n, event) in events.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                event.write_canonical(out);
            }
            out.extend_from_slice(b"],\"kind\":\"event_group\"}");
        }
    }
    out.push(b'\n');
}

/// What one bar block run did.
#[derive(Debug, Clone, Default)]
pub struct BarBlockOutput {
    /// As [`Core::step_block`] reports it; `end` is the row to resume at (the
    /// row after the last committed item, or the block's end).
    pub block: BlockOutput,
    /// With `item_lines`: the canonical line of every committed item (an
    /// envelope, or `{"events":[...],"kind":"event_group"}` with the events
    /// in row order), each followed by `\n`.
    pub item_lines: Option<Vec<u8>>,
}

impl Core {
    /// Step the items of a bar block from row `start_row` on until the block
    /// ends, an item is refused, the wake filter matches (or an expected
    /// trace ends or differs), exactly as [`Core::step_block`] steps the
    /// equivalent JSON lines. Resume a stopped block at `out.block.end`.
    ///
    /// `start_row` should be the first row of an item (a row where a run
    /// stopped); a row past the end is the end.
    pub fn step_bar_block(
        &mut self,
        block: BarColumns<'_>,
        start_row: usize,
        options: BlockOptions<'_>,
        item_lines: bool,
    ) -> BarBlockOutput {
        let mut items = BarItems::new(block, start_row, item_lines);
        let out = self.step_source(&mut items, options);
        BarBlockOutput {
            block: out,
            item_lines: items.lines,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{Expected, WakeFilter};
    use crate::canonical::canonical_json;
    use crate::fixedpoint::I64_MAX;

    const T0: i64 = 1_767_600_000_000_000_000;

    fn setup() -> Value {
        json!({
            "currencies": [{"code": "USD", "money_precision": 4}],
            "venues": [{
                "name": "SIM", "simulated": true,
                "order_types": ["market", "limit", "stop", "stop_limit"],
                "time_in_force": ["GTC", "IOC", "FOK", "DAY"],
                "supports_replace": true, "fee_ppm": 1000, "participation_bps": 5000,
            }],
            "instruments": [
                {"id": "AAA", "venue": "SIM", "quote_currency": "USD", "price_precision": 2,
                 "size_precision": 0, "tick_size": 1, "lot_size": 1},
                {"id": "BBB", "venue": "SIM", "quote_currency": "USD", "price_precision": 2,
                 "size_precision": 0, "tick_size": 1, "lot_size": 1},
            ],
            "starting_cash": {"USD": 10_000_000_000_i64},
            "timers": [{"timer_id": "beat", "start_ns": T0 + 5, "interval_ns": 7}],
        })
    }

    fn sources() -> Vec<(String, String)> {
        [("SIM", "AAA"), ("SIM", "BBB"), ("SIM", "AAA")]
            .iter()
            .map(|(v, i)| (v.to_string(), i.to_string()))
            .collect()
    }

    /// Rows as `[event_time, open, high, low, close, volume, producer_index]`.
    type Rows = Vec<[i64; 7]>;

    /// A change to one row's values.
    type Bend = fn(&mut [i64; 7]);

    fn pack(rows: &[[i64; 7]]) -> Vec<u8> {
        let mut data = Vec::with_capacity(rows.len() * ROW_BYTES);
        for column in 0..COLUMNS.len() {
            for row in rows {
                data.extend_from_slice(&row[column].to_le_bytes());
            }
        }
        data
    }

    /// The items `BarBlock.items()` makes of `rows`, as JSON values.
    fn items(rows: &[[i64; 7]], sources: &[(String, String)]) -> Vec<Value> {
        let data = pack(rows);
        let block = BarColumns::new(&data, rows.len(), sources).unwrap();
        let reader = BarItems::new(block, 0, false);
        let mut out = Vec::new();
        let mut start = 0;
        while start < rows.len() {
            let stop = (start..rows.len())
                .find(|&n| rows[n][0] != rows[start][0])
                .unwrap_or(rows.len());
            out.push(reader.envelopes(start, stop));
            start = stop;
        }
        out
    }

    /// The items as canonical JSON lines: what `open_block(items, item_lines=True)` hands the core.
    fn json_lines(items: &[Value]) -> Vec<u8> {
        let mut out = Vec::new();
        for item in items {
            out.extend(canonical_json(item).unwrap());
            out.push(b'\n');
        }
        out
    }

    /// A valid bar at `t` for source `p`, its values varied by `n`.
    fn bar(t: i64, n: i64, p: i64) -> [i64; 7] {
        let mid = 10_000 + (n * 37) % 500;
        [
            t,
            mid,
            mid + 20 + n % 7,
            mid - 15,
            mid + 3 - n % 11,
            100 + n % 13,
            p,
        ]
    }

    /// Bars at increasing times, every third time shared by two or three sources.
    fn stream(count: usize) -> Rows {
        let mut rows = Vec::new();
        let mut t = T0;
        let mut n = 0;
        while rows.len() < count {
            t += 1 + n % 3;
            let group = if n % 3 == 0 { 1 + (n / 3) % 3 } else { 1 };
            for k in 0..group {
                rows.push(bar(t, n, (k + n) % 3));
            }
            n += 1;
        }
        rows.truncate(count);
        rows
    }

    /// One run of each path, side by side.
    struct Pair {
        json: Core,
        bars: Core,
    }

    impl Pair {
        fn new() -> Self {
            Pair {
                json: Core::new(&setup()).unwrap(),
                bars: Core::new(&setup()).unwrap(),
            }
        }

        /// Run the whole block on both cores, stopping and resuming wherever
        /// either stops; the outputs must agree at every stop. Returns the
        /// bar runs' item lines and the runs' errors.
        fn run(
            &mut self,
            rows: &[[i64; 7]],
            sources: &[(String, String)],
            wake: Option<&WakeFilter>,
            hash_at: &[i64],
        ) -> (Vec<u8>, Vec<(usize, CoreError)>) {
            let data = pack(rows);
            let block = BarColumns::new(&data, rows.len(), sources).unwrap();
            let items = items(rows, sources);
            let lines = json_lines(&items);
            let (mut at_byte, mut at_row, mut at_item) = (0, 0, 0);
            let mut item_lines = Vec::new();
            let mut errors = Vec::new();
            let options = BlockOptions {
                wake,
                hash_at,
                expect: None,
            };
            while at_item < items.len() {
                let json = self.json.step_block(&lines[at_byte..], options);
                let bars = self.bars.step_bar_block(block, at_row, options, true);
                let got = &bars.block;
                assert_eq!(got.consumed, json.consumed);
                assert_eq!(got.counts, json.counts);
                assert_eq!(
                    String::from_utf8_lossy(&got.records),
                    String::from_utf8_lossy(&json.records)
                );
                assert_eq!(got.state_hashes, json.state_hashes);
                assert_eq!(got.woke, json.woke);
                assert_eq!(got.error, json.error);
                let taken = json_lines(&items[at_item..at_item + json.consumed]);
                let given = bars.item_lines.unwrap();
                assert_eq!(String::from_utf8_lossy(&given), String::from_utf8_lossy(&taken));
                item_lines.extend(given);
                at_item += json.consumed;
                at_byte += json.end;
                let expected_row: usize = items[..at_item].iter().map(item_rows).sum();
                assert_eq!(got.end, expected_row);
                at_row = got.end;
                if let Some(error) = json.error {
                    errors.push((at_item, error.error));
                    at_byte += memchr::memchr(b'\n', &lines[at_byte..]).unwrap() + 1;
                    at_row += item_rows(&items[at_item]);
                    at_item += 1;
                }
            }
            assert_eq!(self.bars.state_hash(), self.json.state_hash());
            assert_eq!(self.bars.last_hash(), self.json.last_hash());
            (item_lines, errors)
        }
    }

    fn item_rows(item: &Value) -> usize {
        item.get("events").and_then(Value::as_array).map_or(1, Vec::len)
    }

    #[test]
    fn a_block_steps_as_its_json_lines() {
        let rows = stream(400);
        let items = items(&rows, &sources());
        assert!(items.iter().any(|item| item_rows(item) == 3));
        assert!(items.iter().any(|item| item_rows(item) == 2));
        let hash_at: Vec<i64> = (0..2000).step_by(7).collect();
        let (lines, errors) = Pair::new().run(&rows, &sources(), None, &hash_at);
        assert!(errors.is_empty());
        assert_eq!(lines, json_lines(&items));
    }

    #[test]
    fn a_group_keeps_its_rows_order_in_its_line_and_commits_in_sequencer_order() {
        let rows = vec![bar(T0, 1, 1), bar(T0, 2, 0), bar(T0 + 1, 3, 2), bar(T0 + 1, 4, 0)];
        let data = pack(&rows);
        let sources = sources();
        let block = BarColumns::new(&data, rows.len(), &sources).unwrap();
        let mut core = Core::new(&setup()).unwrap();
        let out = core.step_bar_block(block, 0, BlockOptions::default(), true);
        assert_eq!(out.block.counts, vec![2, 2]);
        let lines = String::from_utf8(out.item_lines.unwrap()).unwrap();
        let first: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
        let instruments: Vec<&str> = first["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["instrument"].as_str().unwrap())
            .collect();
        assert_eq!(instruments, ["BBB", "AAA"]);
        let records: Vec<Value> = out
            .block
            .records
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(records[0]["input"]["instrument"], "AAA"); // commit order: by instrument
        let (lines, _) = Pair::new().run(&rows, &sources, None, &[]);
        assert_eq!(lines, json_lines(&items(&rows, &sources)));
    }

    /// Every way a row can be refused gives the JSON path's error at the same
    /// item, alone and inside a group, with the items before it committed.
    #[test]
    fn refused_rows_give_the_json_paths_error() {
        let bent: [(&str, Bend); 11] = [
            ("negative price", |r| r[1] = -5),
            ("zero low", |r| r[3] = 0),
            ("high below close", |r| r[2] = r[4] - 1),
            ("low above open", |r| r[3] = r[1] + 1),
            ("negative volume", |r| r[5] = -1),
            ("lowest time", |r| r[0] = i64::MIN),
            ("negative time", |r| r[0] = -3),
            ("time before the clock", |r| r[0] = T0),
            ("unlisted instrument", |r| r[6] = 3),
            ("bad venue identifier", |r| r[6] = 4),
            ("bad instrument identifier", |r| r[6] = 5),
        ];
        let mut sources = sources();
        for (venue, instrument) in [("SIM", "ZZZ"), ("S M", "AAA"), ("SIM", "")] {
            sources.push((venue.to_string(), instrument.to_string()));
        }
        let original = stream(40);
        let grouped: Vec<usize> = (1..40)
            .filter(|&n| original[n][0] == original[n - 1][0])
            .collect();
        let mut paths = Vec::new();
        for (what, bend) in bent {
            // A lone row, the first row of a group and a later row of a group.
            for target in [0, 1, grouped[0] - 1, grouped[0], grouped[2]] {
                let mut rows = original.clone();
                bend(&mut rows[target]);
                if what.ends_with("time") || what.ends_with("clock") {
                    // A group shares its time: move the whole item.
                    let time = rows[target][0];
                    for row in rows.iter_mut().filter(|r| r[0] == original[target][0]) {
                        row[0] = time;
                    }
                }
                let (_, errors) = Pair::new().run(&rows, &sources, None, &[]);
                let refused = what != "time before the clock" || target > 0;
                assert_eq!(errors.len(), usize::from(refused), "{what} at row {target}");
                if let Some((_, error)) = errors.first() {
                    paths.push(error.path().unwrap().to_string());
                }
            }
        }
        assert!(paths.iter().any(|p| p.starts_with("$.events[0]")));
        assert!(paths.iter().any(|p| p.starts_with("$.events[1]")));
        assert!(paths.iter().any(|p| p.starts_with("$.payload")));
        assert!(paths.iter().any(|p| p == "$.event_time"));
        assert!(paths.iter().any(|p| p == "$.venue"));
        assert!(paths.iter().any(|p| p == "$.instrument"));
    }

    #[test]
    fn a_row_without_a_source_is_refused_after_the_items_before_it() {
        let mut rows = stream(10);
        // The first row of the first group.
        let target = (1..10).find(|&n| rows[n][0] == rows[n - 1][0]).unwrap() - 1;
        rows[target][6] = 3;
        let data = pack(&rows);
        let sources = sources();
        let block = BarColumns::new(&data, rows.len(), &sources).unwrap();
        let mut core = Core::new(&setup()).unwrap();
        let out = core.step_bar_block(block, 0, BlockOptions::default(), true);
        let error = out.block.error.unwrap();
        let before = items(&rows[..target], &sources);
        assert_eq!(error.index, before.len());
        assert_eq!(error.error.path(), Some("$.events[0].producer_index"));
        assert_eq!(out.block.end, target);
        assert_eq!(out.item_lines.unwrap(), json_lines(&before));
        // The next run starts at the refused item and meets it again.
        let again = core.step_bar_block(block, target, BlockOptions::default(), true);
        assert_eq!(again.block.error.unwrap().error, error.error);
        assert_eq!((again.block.consumed, again.block.end), (0, target));
        assert_eq!(again.item_lines.unwrap(), b"");
    }

    #[test]
    fn a_refused_producer_index_is_named_inside_its_group() {
        let rows = vec![bar(T0, 1, 0), bar(T0, 2, 9)];
        let data = pack(&rows);
        let sources = sources();
        let block = BarColumns::new(&data, rows.len(), &sources).unwrap();
        let mut core = Core::new(&setup()).unwrap();
        let out = core.step_bar_block(block, 0, BlockOptions::default(), true);
        let error = out.block.error.unwrap();
        assert_eq!(error.index, 0);
        assert_eq!(
            error.error,
            CoreError::Input {
                path: "$.events[1].producer_index".into(),
                reason: "expected the index of one of the bar block's 3 sources, got 9".into(),
            }
        );
        assert_eq!(out.item_lines.unwrap(), b"");
        assert_eq!((out.block.consumed, out.block.end, core.last_seq_id()), (0, 0, 0));
    }

    #[test]
    fn a_wake_stops_the_block_and_the_next_run_resumes_at_its_row() {
        let rows = stream(300);
        let wake = WakeFilter {
            event_types: vec!["bar".into(), "timer".into()],
            instruments: Some(vec!["BBB".into()]),
            timers: Some(vec![]),
            ..WakeFilter::default()
        };
        let hash_at: Vec<i64> = (0..2000).step_by(5).collect();
        let mut pair = Pair::new();
        let (lines, errors) = pair.run(&rows, &sources(), Some(&wake), &hash_at);
        assert!(errors.is_empty());
        assert_eq!(lines, json_lines(&items(&rows, &sources())));
        // Stopped at every item holding a BBB bar.
        let data = pack(&rows);
        let sources = sources();
        let block = BarColumns::new(&data, rows.len(), &sources).unwrap();
        let mut core = Core::new(&setup()).unwrap();
        let (mut row, mut runs) = (0, 0);
        while row < rows.len() {
            let out = core.step_bar_block(
                block,
                row,
                BlockOptions {
                    wake: Some(&wake),
                    ..BlockOptions::default()
                },
                false,
            );
            assert!(out.item_lines.is_none());
            assert!(out.block.woke || out.block.end == rows.len());
            row = out.block.end;
            runs += 1;
        }
        let bbb_items = items(&rows, &sources)
            .iter()
            .filter(|item| item.to_string().contains("\"BBB\""))
            .count();
        assert!(
            runs >= bbb_items && runs <= bbb_items + 1,
            "{runs} runs, {bbb_items} items with BBB"
        );
    }

    /// Bars read from columns move signals exactly as their JSON lines do, and
    /// a signals wake filter stops both at the same items.
    #[test]
    fn signals_see_the_same_bars_through_columns_and_lines() {
        let spec = json!({
            "instruments": ["BBB", "AAA"],
            "indicators": {
                "fast": {"kind": "ema", "field": "close", "period": 3},
                "slow": {"kind": "sma", "field": "close", "period": 8},
                "top": {"kind": "highest", "field": "high", "period": 5},
            },
            "conditions": {
                "up": {"op": "crossover", "left": "fast", "right": "slow"},
                "down": {"op": "crossunder", "left": "fast", "right": "slow"},
                "peak": {"op": "not", "of": {"op": "below", "left": "high", "right": "top"}},
            },
        });
        let rows = stream(400);
        let wake = WakeFilter {
            event_types: vec!["bar".into()],
            signals: true,
            ..WakeFilter::default()
        };
        for wake in [None, Some(&wake)] {
            let mut pair = Pair::new();
            pair.json.declare_signals(&spec).unwrap();
            pair.bars.declare_signals(&spec).unwrap();
            pair.run(&rows, &sources(), wake, &[]);
            let (json, bars) = (pair.json.take_signals(), pair.bars.take_signals());
            assert!(json.len() > 20, "{} firings", json.len());
            assert!(json.iter().any(|f| f.fired.contains(&"up".to_string())));
            assert_eq!(json, bars);
        }
    }

    /// The recogniser and `parse_input` agree on rows around every bound.
    #[test]
    fn the_recogniser_agrees_with_parse_input() {
        let edges = [i64::MIN, -1, 0, 1, 2, 99, 100, 101, I64_MAX - 1, I64_MAX];
        let mut sources = sources();
        sources.push(("bad venue".into(), "AAA".into()));
        let mut checked = 0;
        for (k, &a) in edges.iter().enumerate() {
            for &b in &edges {
                for column in 0..6 {
                    let mut row = [100, 100, 101, 99, 100, 5, (k % 4) as i64];
                    row[column] = a;
                    row[(column + 1) % 6] = b;
                    let rows = [row, [row[0], 100, 100, 100, 100, 0, 1]];
                    for rows in [&rows[..1], &rows[..]] {
                        let data = pack(rows);
                        let block = BarColumns::new(&data, rows.len(), &sources).unwrap();
                        let reader = BarItems::new(block, 0, false);
                        let direct = reader.parse(0, rows.len());
                        let generic = parse_input(&reader.envelopes(0, rows.len())).map_err(CoreError::from);
                        assert_eq!(direct, generic, "{rows:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 1000);
    }

    #[test]
    fn an_expected_trace_is_checked_as_for_json_lines() {
        let rows = stream(60);
        let sources = sources();
        let mut json = Core::new(&setup()).unwrap();
        let trace = json.step_block(&json_lines(&items(&rows, &sources)), BlockOptions::default());
        let mut keys = Vec::new();
        for line in trace.records.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let record: Value = serde_json::from_slice(line).unwrap();
            let text = |k: &str| record[k].as_str().unwrap().to_string();
            keys.extend(
                format!(
                    "{} {} {} {}\n",
                    record["seq_id"],
                    text("origin"),
                    text("hash"),
                    text("prev_hash")
                )
                .bytes(),
            );
        }
        let data = pack(&rows);
        let block = BarColumns::new(&data, rows.len(), &sources).unwrap();
        let mut core = Core::new(&setup()).unwrap();
        let options = BlockOptions {
            expect: Some(Expected {
                lines: &trace.records,
                keys: &keys,
            }),
            ..BlockOptions::default()
        };
        let out = core.step_bar_block(block, 0, options, false).block;
        assert!(!out.diverged);
        assert_eq!(out.verified, trace.counts.iter().sum::<u32>() as usize);
        assert!(out.records.is_empty());
        assert_eq!(out.end, rows.len());
    }

    #[test]
    fn a_block_of_the_wrong_size_is_refused() {
        let sources = sources();
        let data = pack(&stream(3));
        assert!(BarColumns::new(&data, 3, &sources).is_ok());
        let err = BarColumns::new(&data[..data.len() - 1], 3, &sources).unwrap_err();
        assert_eq!(err, "a bar block of 3 rows holds 168 bytes, not 167");
        assert!(BarColumns::new(&[], usize::MAX, &sources).is_err());
        let empty = BarColumns::new(&[], 0, &sources).unwrap();
        let out = Core::new(&setup())
            .unwrap()
            .step_bar_block(empty, 0, BlockOptions::default(), true);
        assert_eq!((out.block.consumed, out.block.end), (0, 0));
        assert_eq!(out.item_lines.unwrap(), b"");
    }
}
