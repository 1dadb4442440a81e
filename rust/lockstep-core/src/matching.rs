//! The simulated venue: deterministic matching of resting orders against market data.
//!
//! Matching is a state transition, not I/O, so it lives in the core. It only
//! *proposes* broker reports; those go through the sequencer and the state
//! machine like reports from a real venue, which keeps backtests and live runs
//! on one path.

use crate::coresetup::{Instrument, OrderType, TimeInForce, Venue};
use crate::fixedpoint::{self as fp, BPS};
use crate::items::Payload;
use crate::orders::{Order, OrderBook, Side};

/// Quantity still available to fill from one market event.
///
/// `None` means no participation cap. Bars and trades have one volume both
/// sides draw from (`shared`); quotes have a size per side.
struct Book {
    buy: Option<i64>,
    sell: Option<i64>,
    shared: bool,
}

impl Book {
    fn fillable(&self, side: Side, wanted: i64, lot: i64) -> i64 {
        let available = if side == Side::Buy { self.buy } else { self.sell };
        let qty = available.map_or(wanted, |a| wanted.min(a));
        qty - qty % lot
    }

    fn consume(&mut self, side: Side, qty: i64) {
        if let Some(buy) = self.buy.as_mut() {
            if side == Side::Buy || self.shared {
                *buy -= qty;
            }
        }
        if let Some(sell) = self.sell.as_mut() {
            if side == Side::Sell || self.shared {
                *sell -= qty;
            }
        }
    }
}

/// Match the working orders at positions `ids` (in creation order) against one market event.
///
/// May set `triggered` on stop orders, even when no fill follows.
pub fn match_event(
    payload: &Payload,
    market_seq: i64,
    day: i64,
    venue: &Venue,
    inst: &Instrument,
    orders: &mut OrderBook,
    ids: &[usize],
) -> Vec<Payload> {
    let mut book = available(payload, venue.participation_bps);
    let mut proposals: Vec<Payload> = Vec::new();
    for &id in ids {
        let order = orders.at_mut(id);
        if !order.status.is_working() {
            continue;
        }
        if order.time_in_force == TimeInForce::Day && day > order.submit_day {
            proposals.push(Payload::OrderExpired {
                order_id: order.order_id.clone(),
            });
            continue;
        }
        let price = fill_price(order, payload);
        let wanted = order.remaining();
        let qty = match price {
            None => 0,
            Some(_) => book.fillable(order.side, wanted, inst.lot_size),
        };
        if order.time_in_force == TimeInForce::Fok && qty < wanted {
            proposals.push(cancel(order, "FOK order could not be filled in full"));
            continue;
        }
        if let Some(price) = price.filter(|_| qty > 0) {
            let charge =
                fp::notional(price, qty, inst.scale_shift).and_then(|value| fp::fee(value, venue.fee_ppm));
            let Ok(charge) = charge else {
                proposals.push(cancel(order, "fill value is outside the money range"));
                continue;
            };
            book.consume(order.side, qty);
            proposals.push(Payload::OrderFilled {
                order_id: order.order_id.clone(),
                fill_id: sim_fill_id(market_seq, proposals.len()),
                qty,
                price,
                fee: charge,
            });
        }
        if order.time_in_force == TimeInForce::Ioc && qty < wanted {
            proposals.push(cancel(order, "IOC remainder cancelled"));
        }
    }
    proposals
}

/// `sim-<seq_id of the market event>-<n>`.
fn sim_fill_id(market_seq: i64, n: usize) -> String {
    let mut id = String::with_capacity(32);
    id.push_str("sim-");
    id.push_str(itoa::Buffer::new().format(market_seq));
    id.push('-');
    id.push_str(itoa::Buffer::new().format(n));
    id
}

fn cancel(order: &Order, reason: &str) -> Payload {
    Payload::OrderCancelled {
        order_id: order.order_id.clone(),
        reason: reason.to_string(),
    }
}

fn available(payload: &Payload, bps: Option<i64>) -> Book {
    let Some(bps) = bps else {
        return Book {
            buy: None,
            sell: None,
            shared: false,
        };
    };
    // volume * bps fits i128; the result is at most the volume again.
    let cap = |base: i64| (base as i128 * bps as i128 / BPS as i128) as i64;
    match payload {
        Payload::Quote {
            bid_size, ask_size, ..
        } => Book {
            buy: Some(cap(*ask_size)),
            sell: Some(cap(*bid_size)),
            shared: false,
        },
        Payload::Bar { volume, .. } => Book {
            buy: Some(cap(*volume)),
            sell: Some(cap(*volume)),
            shared: true,
        },
        Payload::Trade { size, .. } => Book {
            buy: Some(cap(*size)),
            sell: Some(cap(*size)),
            shared: true,
        },
        _ => unreachable!("only market data is matched"),
    }
}

/// The price this event fills `order` at, or `None`. Sets `triggered` on stops.
fn fill_price(order: &mut Order, payload: &Payload) -> Option<i64> {
    let buy = order.side == Side::Buy;
    match *payload {
        Payload::Bar {
            open: o,
            high: h,
            low: lo,
            ..
        } => match order.order_type {
            OrderType::Market => Some(o),
            OrderType::Limit => bar_limit(buy, order.price, o, h, lo),
            OrderType::Stop => {
                if order.triggered {
                    return Some(o);
                }
                let stop = order.stop_price.expect("stop orders carry a stop price");
                let price = if buy {
                    if o >= stop {
                        Some(o)
                    } else if h >= stop {
                        Some(stop)
                    } else {
                        None
                    }
                } else if o <= stop {
                    Some(o)
                } else if lo <= stop {
                    Some(stop)
                } else {
                    None
                };
                order.triggered = price.is_some();
                price
            }
            OrderType::StopLimit => {
                // Once triggered, a stop-limit is a limit order.
                if order.triggered {
                    return bar_limit(buy, order.price, o, h, lo);
                }
                let stop = order.stop_price.expect("stop-limit orders carry a stop price");
                if (buy && o >= stop) || (!buy && o <= stop) {
                    order.triggered = true;
                    return bar_limit(buy, order.price, o, h, lo);
                }
                if (buy && h >= stop) || (!buy && lo <= stop) {
                    order.triggered = true;
                    return bar_limit(buy, order.price, stop, h, lo);
                }
                None
            }
        },
        Payload::Trade { price, .. } => tick_price(order, price, true),
        Payload::Quote { bid, ask, .. } => tick_price(order, if buy { ask } else { bid }, false),
        _ => unreachable!("only market data is matched"),
    }
}

fn bar_limit(buy: bool, limit: Option<i64>, o: i64, h: i64, lo: i64) -> Option<i64> {
    let limit = limit.expect("limit orders carry a price");
    if buy {
        if o <= limit {
            Some(o)
        } else if lo <= limit {
            Some(limit)
        } else {
            None
        }
    } else if o >= limit {
        Some(o)
    } else if h >= limit {
        Some(limit)
    } else {
        None
    }
}

/// Match against one price: a trade print (`passive`) or the quote touch.
///
/// A resting limit filled by a trade print fills at its own limit; against a
/// quote it takes the touch. Stops trigger on the price and then fill at it.
fn tick_price(order: &mut Order, px: i64, passive: bool) -> Option<i64> {
    let buy = order.side == Side::Buy;
    let kind = order.order_type;
    if kind == OrderType::Market {
        return Some(px);
    }
    if matches!(kind, OrderType::Stop | OrderType::StopLimit) && !order.triggered {
        let stop = order.stop_price.expect("stop orders carry a stop price");
        if !((buy && px >= stop) || (!buy && px <= stop)) {
            return None;
        }
        order.triggered = true;
    }
    if kind == OrderType::Stop {
        return Some(px);
    }
    let limit = order.price.expect("limit orders carry a price");
    let crosses = if buy { px <= limit } else { px >= limit };
    if !crosses {
        return None;
    }
    Some(if passive { limit } else { px })
}
