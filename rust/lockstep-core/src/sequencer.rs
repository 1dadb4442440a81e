//! The single authority for `seq_id` and for ordering events that arrive together.

use crate::coresetup::Source;
use crate::errors::CoreError;
use crate::fixedpoint::I64_MAX;
use crate::items::Event;

#[derive(Debug, Clone)]
pub struct Sequencer {
    rank: [usize; 4],
    pub last_seq_id: i64,
}

impl Sequencer {
    pub fn new(source_priority: &[Source; 4]) -> Self {
        let mut rank = [0; 4];
        for (n, source) in source_priority.iter().enumerate() {
            rank[*source as usize] = n;
        }
        Sequencer { rank, last_seq_id: 0 }
    }

    /// Tie-break key: time, source priority, venue, instrument (`""` for none), producer index.
    pub fn sort_key<'a>(&self, event: &'a Event) -> (i64, usize, &'a str, &'a str, i64) {
        (
            event.event_time,
            self.rank[event.source as usize],
            &event.venue,
            event.instrument.as_deref().unwrap_or(""),
            event.producer_index,
        )
    }

    /// Events that arrived together, in commit order; the sort is stable, so
    /// equal keys keep arrival order. `str` comparison is by UTF-8 bytes, which
    /// is Python's code point order.
    pub fn order(&self, events: Vec<Event>) -> Vec<Event> {
        let positions = self.order_positions(&events);
        let mut slots: Vec<Option<Event>> = events.into_iter().map(Some).collect();
        positions
            .into_iter()
            .map(|n| slots[n].take().expect("each position once"))
            .collect()
    }

    /// The commit order of `events` as positions in the slice (a stable sort).
    pub fn order_positions(&self, events: &[Event]) -> Vec<usize> {
        let mut positions: Vec<usize> = (0..events.len()).collect();
        positions.sort_by(|&a, &b| self.sort_key(&events[a]).cmp(&self.sort_key(&events[b])));
        positions
    }

    /// Next seq_id; a replayed id is kept if it moves the counter forward.
    pub fn assign(&mut self, requested: Option<i64>) -> Result<i64, CoreError> {
        let requested: i128 = match requested {
            None => self.last_seq_id as i128 + 1,
            Some(r) if r <= self.last_seq_id => {
                return Err(CoreError::sequence(
                    "$.seq_id",
                    format!("seq_id {r} does not follow {}", self.last_seq_id),
                ))
            }
            Some(r) => r as i128,
        };
        if requested > I64_MAX as i128 {
            return Err(CoreError::sequence("$.seq_id", "seq_id space exhausted"));
        }
        self.last_seq_id = requested as i64;
        Ok(self.last_seq_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::Payload;

    fn ev(t: i64, source: Source, venue: &str, instrument: Option<&str>, producer: i64, tag: &str) -> Event {
        Event {
            seq_id: None,
            event_time: t,
            ingest_time: t,
            source,
            venue: venue.into(),
            instrument: instrument.map(Into::into),
            payload: Payload::Halt { reason: tag.into() },
            idempotency_key: None,
            producer_index: producer,
        }
    }

    fn tags(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| match &e.payload {
                Payload::Halt { reason } => reason.clone(),
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn orders_by_time_priority_venue_instrument_producer_then_arrival() {
        let seq = Sequencer::new(&Source::ALL);
        let events = vec![
            ev(2, Source::Control, "a", None, 0, "late"),
            ev(1, Source::Timer, "a", None, 0, "timer"),
            ev(1, Source::MarketData, "b", Some("X"), 0, "md-b"),
            ev(1, Source::MarketData, "a", Some("Y"), 0, "md-a-Y"),
            ev(1, Source::MarketData, "a", Some("X"), 1, "md-a-X-1"),
            ev(1, Source::MarketData, "a", Some("X"), 0, "md-a-X-0"),
            ev(1, Source::Control, "z", None, 0, "control"),
            ev(1, Source::MarketData, "a", Some("X"), 0, "md-a-X-0-second"),
            ev(1, Source::Control, "z", Some(""), 0, "control-empty"),
        ];
        assert_eq!(
            tags(&seq.order(events)),
            [
                "control",
                "control-empty",
                "md-a-X-0",
                "md-a-X-0-second",
                "md-a-X-1",
                "md-a-Y",
                "md-b",
                "timer",
                "late"
            ]
        );
    }

    #[test]
    fn priority_is_configurable() {
        let seq = Sequencer::new(&[
            Source::Timer,
            Source::MarketData,
            Source::BrokerReport,
            Source::Control,
        ]);
        let events = vec![
            ev(1, Source::Control, "a", None, 0, "control"),
            ev(1, Source::Timer, "a", None, 0, "timer"),
        ];
        assert_eq!(tags(&seq.order(events)), ["timer", "control"]);
    }

    #[test]
    fn assigns_increasing_ids_and_refuses_replays_that_go_back() {
        let mut seq = Sequencer::new(&Source::ALL);
        assert_eq!(seq.assign(None), Ok(1));
        assert_eq!(seq.assign(Some(5)), Ok(5));
        assert_eq!(seq.assign(None), Ok(6));
        assert_eq!(seq.assign(Some(6)).unwrap_err().path(), Some("$.seq_id"));
        assert_eq!(seq.assign(Some(I64_MAX)), Ok(I64_MAX));
        assert!(matches!(seq.assign(None), Err(CoreError::Sequence { .. })));
    }
}
