//! The order waiting tasks are served in when tenants share the pool: by priority, then
//! by fair share among the tenants of one priority, then by arrival. Fair share is
//! start-time fair queueing (Goyal et al., 1996): each task is stamped, as it arrives,
//! with the virtual time at which its tenant's turn comes, its tenant's last stamp plus
//! that task's expected work over the tenant's weight, but never before the band's
//! virtual time (the stamp of the last task started), so an idle tenant banks no
//! credit. With one tenant the stamps grow with arrival, and the order is arrival's.

use std::cmp::Reverse;

use super::fxhash::FxHashMap;

/// A task's tenant, as the core sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Share {
    /// Tasks with the same `tenant` share one fair-share account (a dense id).
    pub tenant: u32,
    /// A higher one is served first.
    pub priority: i32,
    /// The tenant's share among those of its priority; above 0.
    pub weight: f64,
}

impl Default for Share {
    fn default() -> Self {
        Self {
            tenant: 0,
            priority: 0,
            weight: 1.0,
        }
    }
}

/// Where a waiting task stands: lower is served first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rank {
    pub band: Reverse<i32>,
    /// Its fair-share stamp, in microseconds of expected work per unit of weight.
    pub stamp: u64,
    /// Arrival order.
    pub seq: u64,
}

/// The virtual clocks of fair share: one per priority band, one stamp per tenant.
#[derive(Debug, Default)]
pub struct FairShare {
    band_clock: FxHashMap<i32, u64>,
    last_stamp: FxHashMap<(i32, u32), u64>,
    /// When a task of each priority last started (priorities that ever waited).
    band_started: FxHashMap<i32, f64>,
}

impl FairShare {
    /// Stamps a task arriving now, expected to take `work_s` seconds.
    pub fn arrive(&mut self, share: Share, work_s: f64, seq: u64) -> Rank {
        let clock = self.band_clock.get(&share.priority).copied().unwrap_or(0);
        let account = (share.priority, share.tenant);
        let stamp = clock.max(self.last_stamp.get(&account).copied().unwrap_or(0));
        let weight = if share.weight > 0.0 {
            share.weight
        } else {
            1.0
        };
        let cost = (work_s.max(0.0) / weight * 1e6).min(1e15) as u64;
        self.last_stamp
            .insert(account, stamp.saturating_add(cost.max(1)));
        Rank {
            band: Reverse(share.priority),
            stamp,
            seq,
        }
    }

    /// A task left the queue to run at `now`: its band's virtual time is at least its
    /// stamp.
    pub fn started(&mut self, rank: Rank, now: f64) {
        let clock = self.band_clock.entry(rank.band.0).or_insert(0);
        *clock = (*clock).max(rank.stamp);
        self.band_started.insert(rank.band.0, now);
    }

    /// When a task of this priority last started (never: minus infinity).
    pub fn band_started(&self, band: Reverse<i32>) -> f64 {
        self.band_started
            .get(&band.0)
            .copied()
            .unwrap_or(f64::NEG_INFINITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(tenant: u32, priority: i32, weight: f64) -> Share {
        Share {
            tenant,
            priority,
            weight,
        }
    }

    #[test]
    fn one_tenant_is_served_in_arrival_order() {
        let mut fair = FairShare::default();
        let ranks: Vec<Rank> = (0..5)
            .map(|seq| {
                fair.arrive(
                    Share::default(),
                    [1.0, 0.0, 3.0, 0.5, 2.0][seq as usize],
                    seq,
                )
            })
            .collect();
        let mut sorted = ranks.clone();
        sorted.sort();
        assert_eq!(sorted, ranks);
    }

    #[test]
    fn a_higher_priority_goes_first_and_weights_share_a_band() {
        let mut fair = FairShare::default();
        let mut ranks = Vec::new();
        for seq in 0..40 {
            let share = if seq % 2 == 0 {
                tenant(1, 0, 3.0)
            } else {
                tenant(2, 0, 1.0)
            };
            ranks.push((fair.arrive(share, 1.0, seq), share.tenant));
        }
        ranks.push((fair.arrive(tenant(3, 5, 1.0), 1.0, 40), 3));
        ranks.sort();
        assert_eq!(
            ranks[0].1, 3,
            "the high-priority task arrived last and goes first"
        );
        // Of the next 16 served, tenant 1 (weight 3) gets three times tenant 2's turns.
        let first: Vec<u32> = ranks[1..17].iter().map(|(_, t)| *t).collect();
        let ones = first.iter().filter(|t| **t == 1).count();
        assert_eq!((ones, 16 - ones), (12, 4), "{first:?}");
    }

    #[test]
    fn an_idle_tenant_banks_no_credit() {
        let mut fair = FairShare::default();
        // Tenant 1 alone runs 10 tasks.
        for seq in 0..10 {
            let rank = fair.arrive(tenant(1, 0, 1.0), 1.0, seq);
            fair.started(rank, 0.0);
        }
        let busy = fair.arrive(tenant(1, 0, 1.0), 1.0, 10);
        let newcomer = fair.arrive(tenant(2, 0, 1.0), 1.0, 11);
        // The newcomer starts at the band's clock (the last start, 9 s of work): next,
        // but with no claim to the 9 s tenant 1 used while it was away.
        assert_eq!(newcomer.stamp, 9_000_000);
        assert_eq!(busy.stamp, 10_000_000);
        assert!(newcomer < busy);
    }
}
