//! Positions, cash, average-cost realized P&L and fees.
//!
//! A fill's effects are computed first, every bound checked exactly where the
//! Python reference checks it, and committed only if all of them fit, so an
//! overflowing fill leaves the portfolio untouched and can be quarantined.

use std::collections::BTreeMap;

use crate::fixedpoint::{self as fp, Checked};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FillEffects {
    pub position: i64,
    pub cost: i128,
    pub cash: i128,
    pub realized: i128,
    pub fees: i128,
    pub cash_delta: i128,
    pub position_delta: i64,
}

/// Maps are sorted, which is also the order they are written in (canonical JSON sorts keys).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Portfolio {
    pub positions: BTreeMap<String, i64>,
    pub cost_basis: BTreeMap<String, i128>,
    pub cash: BTreeMap<String, i128>,
    pub realized_pnl: BTreeMap<String, i128>,
    pub fees: BTreeMap<String, i128>,
}

impl Portfolio {
    /// Compute a fill's effects; `Err(OutOfRange)` if any checked value overflows.
    ///
    /// `notional` and `fee` are non-negative (prices and quantities are >= 1 and
    /// fees >= 0); the operation order below keeps every unchecked Python
    /// intermediate representable, so only the checked ones can fail.
    pub fn plan_fill(
        &self,
        instrument: &str,
        currency: &str,
        signed_qty: i64,
        notional: i128,
        fee: i128,
    ) -> Checked<FillEffects> {
        let pos = self.positions.get(instrument).copied().unwrap_or(0);
        let cost = self.cost_basis.get(instrument).copied().unwrap_or(0);
        let mut realized = self.realized_pnl.get(currency).copied().unwrap_or(0);
        let sign: i128 = if signed_qty > 0 { 1 } else { -1 };
        let new_pos;
        let mut new_cost;
        if pos == 0 || (pos > 0) == (signed_qty > 0) {
            new_pos = fp::position(pos as i128 + signed_qty as i128)?;
            new_cost = fp::add(cost, sign * notional)?;
        } else {
            let size = (signed_qty as i128).abs();
            let abs_pos = (pos as i128).abs();
            let closed = size.min(abs_pos);
            let removed = fp::trunc_div(fp::mul(cost, closed)?, abs_pos)?;
            let closed_notional = fp::trunc_div(fp::mul(notional, closed)?, size)?;
            // closed_notional - |removed| always fits (closed_notional >= 0 and
            // |removed| <= 2^127), but |removed| itself may not: subtract or add
            // `removed` by its sign instead of taking its absolute value.
            let diff = if removed < 0 {
                closed_notional + removed
            } else {
                closed_notional - removed
            };
            realized = if pos > 0 {
                fp::add(realized, diff)?
            } else {
                fp::sub(realized, diff)?
            };
            new_pos = fp::position(pos as i128 + signed_qty as i128)?;
            new_cost = fp::sub(cost, removed)?;
            if size > closed {
                new_cost = sign * (notional - closed_notional);
            }
        }
        let cash_delta = if signed_qty > 0 {
            // -(notional + fee): the sum may be exactly 2^127, whose negation fits.
            fp::sub(-notional, fee)?
        } else {
            notional - fee
        };
        Ok(FillEffects {
            position: new_pos,
            cost: new_cost,
            cash: fp::add(self.cash.get(currency).copied().unwrap_or(0), cash_delta)?,
            realized,
            fees: fp::add(self.fees.get(currency).copied().unwrap_or(0), fee)?,
            cash_delta,
            position_delta: signed_qty,
        })
    }

    /// Apply planned effects of a fill in `instrument`, paid in `currency`.
    pub fn commit(&mut self, instrument: &str, currency: &str, effects: &FillEffects) {
        set(&mut self.positions, instrument, effects.position);
        set(&mut self.cost_basis, instrument, effects.cost);
        set(&mut self.cash, currency, effects.cash);
        set(&mut self.realized_pnl, currency, effects.realized);
        set(&mut self.fees, currency, effects.fees);
    }
}

/// `map[key] = value`, allocating the key only the first time.
fn set<V>(map: &mut BTreeMap<String, V>, key: &str, value: V) {
    match map.get_mut(key) {
        Some(slot) => *slot = value,
        None => {
            map.insert(key.to_string(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixedpoint::{OutOfRange, MONEY_MAX, MONEY_MIN};

    fn book(pos: i64, cost: i128, cash: i128) -> Portfolio {
        let mut p = Portfolio::default();
        p.positions.insert("X".into(), pos);
        p.cost_basis.insert("X".into(), cost);
        p.cash.insert("USD".into(), cash);
        p
    }

    #[test]
    fn open_add_reduce_and_flip() {
        let p = book(0, 0, 1000);
        let e = p.plan_fill("X", "USD", 10, 100, 1).unwrap();
        assert_eq!((e.position, e.cost, e.cash, e.cash_delta), (10, 100, 899, -101));
        // Reduce a long of 10 (cost 100) by selling 4 for 60: removed 40, realized 20.
        let p = book(10, 100, 0);
        let e = p.plan_fill("X", "USD", -4, 60, 0).unwrap();
        assert_eq!((e.position, e.cost, e.realized), (6, 60, 20));
        // Flip: sell 15 for 150 → close 10 (notional 100, removed 100, pnl 0), open -5 at 50.
        let e = p.plan_fill("X", "USD", -15, 150, 0).unwrap();
        assert_eq!((e.position, e.cost, e.realized), (-5, -50, 0));
        // Short covered at a loss truncates toward zero: cost -100 for -3, buy 1 at 40.
        let p = book(-3, -100, 0);
        let e = p.plan_fill("X", "USD", 1, 40, 0).unwrap();
        // removed = trunc(-100 * 1 / 3) = -33, realized = -(40 - 33) = -7
        assert_eq!((e.position, e.cost, e.realized), (-2, -67, -7));
    }

    #[test]
    fn overflow_matches_python_checks() {
        // Buying with notional + fee == 2^127: the cash delta is exactly MONEY_MIN.
        let p = book(0, 0, 0);
        let e = p.plan_fill("X", "USD", 1, MONEY_MAX, 1).unwrap();
        assert_eq!(e.cash_delta, MONEY_MIN);
        assert_eq!(p.plan_fill("X", "USD", 1, MONEY_MAX, 2), Err(OutOfRange));
        // Cash overflow on a sell.
        let p = book(0, 0, MONEY_MAX);
        assert_eq!(p.plan_fill("X", "USD", -1, 10, 0), Err(OutOfRange));
        // Position bound is symmetric (-(2^63-1)).
        let p = book(-(i64::MAX), 0, 0);
        assert_eq!(p.plan_fill("X", "USD", -1, 10, 0), Err(OutOfRange));
        // |removed| == 2^127 on a short with cost MONEY_MIN: realized stays computable.
        let mut p = book(-1, MONEY_MIN, 0);
        p.realized_pnl.insert("USD".into(), -1);
        let e = p
            .plan_fill("X", "USD", 1, 0, 0)
            .unwrap_or_else(|_| unreachable!());
        // realized = -1 + -(0 - 2^127) = 2^127 - 1
        assert_eq!(e.realized, MONEY_MAX);
    }
}
