//! The tenants the dispatcher serves, as configured: each one's limit on tasks in
//! flight, and its priority and weight for the routing core's queue order. A tenant not
//! configured (the anonymous one, or one a restored task names that the configuration
//! no longer has) has no limit, priority 0 and weight 1. Plain data.

use std::collections::HashMap;

use crate::routing::Share;

/// One tenant's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TenantPolicy {
    /// Tasks queued plus running at most; `None`: no limit.
    pub max_in_flight: Option<usize>,
    pub priority: i32,
    pub weight: f64,
}

#[derive(Debug, Default)]
pub struct Tenants {
    by_name: HashMap<String, (TenantPolicy, Share)>,
}

impl Tenants {
    /// Dense fair-share ids from 1; 0 is every tenant not configured.
    pub fn new(tenants: impl IntoIterator<Item = (String, TenantPolicy)>) -> Self {
        let by_name = tenants
            .into_iter()
            .enumerate()
            .map(|(i, (name, policy))| {
                let share = Share {
                    tenant: i as u32 + 1,
                    priority: policy.priority,
                    weight: policy.weight,
                };
                (name, (policy, share))
            })
            .collect();
        Self { by_name }
    }

    /// The tenant's place in the routing core's queue order.
    pub fn share(&self, tenant: &str) -> Share {
        self.by_name
            .get(tenant)
            .map_or_else(Share::default, |(_, share)| *share)
    }

    /// The tenant's bound on tasks in flight.
    pub fn limit(&self, tenant: &str) -> Option<usize> {
        self.by_name
            .get(tenant)
            .and_then(|(policy, _)| policy.max_in_flight)
    }
}
