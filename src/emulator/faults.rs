//! Injected faults: the failures a real network and a real server produce.
//!
//! An SDK's retry, replay and offline-queue logic is only as good as the
//! failures it has been tested against. Through `POST /__emulator/faults` a
//! test queues rules such as "the next `/eod` answers 503 with `Retry-After:
//! 2`", "drop the connection before processing" (the request never happened)
//! or "process and commit, then drop the connection" (it happened but the
//! client cannot know) — the case idempotency keys exist for — or "process
//! and commit, then answer with half of the body" (a 200 the client cannot
//! read). Rules are kept in
//! order; each request takes one use from the first rule matching its route.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// What a rule does to the requests it catches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FaultMode {
    /// Answer `status` (and `Retry-After`) without touching any state.
    Status,
    /// Close the connection before processing; no response bytes.
    DropBefore,
    /// Process and commit normally, then close without answering.
    DropAfter,
    /// Process and commit normally, then answer with only the first half
    /// of the body (status and headers intact): a proxy or a broken
    /// connection cut it, so the client cannot read what was stored.
    TruncateAfter,
    /// Sleep `delay_ms`, then process normally.
    Delay,
}

/// A rule as posted to the control API (and listed back by it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultRule {
    /// Route path (`/eod`, `/handoffs/latest`, …) or `*` for any API route.
    pub(crate) route: String,
    /// What happens.
    pub(crate) mode: FaultMode,
    /// Status answered in `status` mode (default 503).
    #[serde(default)]
    pub(crate) status: Option<u16>,
    /// `Retry-After` seconds sent in `status` mode.
    #[serde(default)]
    pub(crate) retry_after: Option<u64>,
    /// Sleep in `delay` mode, milliseconds.
    #[serde(default)]
    pub(crate) delay_ms: Option<u64>,
    /// How many requests the rule catches (default 1).
    #[serde(default)]
    pub(crate) count: Option<u32>,
}

/// The effect of a rule on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultAction {
    /// Answer this status (with optional `Retry-After`) and do nothing else.
    Status {
        /// The status to answer.
        status: StatusCode,
        /// `Retry-After` seconds.
        retry_after: Option<u64>,
    },
    /// Drop the connection without processing.
    DropBefore,
    /// Process, then drop the connection without answering.
    DropAfter,
    /// Process, then answer with half of the body.
    TruncateAfter,
    /// Wait, then process.
    Delay(Duration),
}

impl FaultRule {
    /// Checks a posted rule and fills in defaults; the error is for a 400.
    pub(crate) fn validated(mut self) -> Result<Self, String> {
        if self.route != "*" && !self.route.starts_with('/') {
            return Err("route must be a path such as \"/eod\" or \"*\"".into());
        }
        if self.route.starts_with("/__emulator") {
            return Err("control routes cannot be faulted".into());
        }
        let count = self.count.unwrap_or(1);
        if count == 0 {
            return Err("count must be at least 1".into());
        }
        self.count = Some(count);
        if self.mode == FaultMode::Status {
            let status = self.status.unwrap_or(503);
            if !(400..=599).contains(&status) {
                return Err("status must be between 400 and 599".into());
            }
            self.status = Some(status);
        }
        Ok(self)
    }

    fn matches(&self, path: &str) -> bool {
        self.route == "*" || self.route == path
    }

    fn action(&self) -> FaultAction {
        match self.mode {
            FaultMode::Status => FaultAction::Status {
                status: self
                    .status
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                retry_after: self.retry_after,
            },
            FaultMode::DropBefore => FaultAction::DropBefore,
            FaultMode::DropAfter => FaultAction::DropAfter,
            FaultMode::TruncateAfter => FaultAction::TruncateAfter,
            FaultMode::Delay => {
                FaultAction::Delay(Duration::from_millis(self.delay_ms.unwrap_or(0)))
            }
        }
    }
}

/// The queue of pending rules.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Mutex<VecDeque<FaultRule>>,
}

impl Faults {
    /// Appends a validated rule.
    pub(crate) fn push(&self, rule: FaultRule) {
        self.lock().push_back(rule);
    }

    /// Removes every pending rule.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    /// The pending rules, in order, with their remaining counts.
    pub(crate) fn pending(&self) -> Vec<FaultRule> {
        self.lock().iter().cloned().collect()
    }

    /// Takes one use of the first rule matching `path`, if any.
    pub(crate) fn take(&self, path: &str) -> Option<FaultAction> {
        let mut rules = self.lock();
        let index = rules.iter().position(|r| r.matches(path))?;
        let rule = rules.get_mut(index)?;
        let action = rule.action();
        let left = rule.count.unwrap_or(1).saturating_sub(1);
        rule.count = Some(left);
        if left == 0 {
            rules.remove(index);
        }
        Some(action)
    }

    /// The queue, even if a panicking thread poisoned the lock (the queue is
    /// always left consistent, so its contents remain usable).
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<FaultRule>> {
        self.rules
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(route: &str, mode: FaultMode, count: u32) -> FaultRule {
        FaultRule {
            route: route.into(),
            mode,
            status: None,
            retry_after: None,
            delay_ms: None,
            count: Some(count),
        }
        .validated()
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn rules_apply_in_order_and_run_out() {
        let faults = Faults::default();
        faults.push(rule("/eod", FaultMode::Status, 2));
        faults.push(rule("*", FaultMode::DropBefore, 1));
        assert!(
            matches!(faults.take("/eod"), Some(FaultAction::Status { status, .. }) if status == StatusCode::SERVICE_UNAVAILABLE)
        );
        assert_eq!(faults.take("/sod"), Some(FaultAction::DropBefore));
        assert!(matches!(
            faults.take("/eod"),
            Some(FaultAction::Status { .. })
        ));
        assert_eq!(faults.take("/eod"), None);
        assert!(faults.pending().is_empty());
    }

    #[test]
    fn rejects_bad_rules() {
        let bad = |route: &str, status: Option<u16>, count: Option<u32>| {
            FaultRule {
                route: route.into(),
                mode: FaultMode::Status,
                status,
                retry_after: None,
                delay_ms: None,
                count,
            }
            .validated()
            .is_err()
        };
        assert!(bad("eod", None, None));
        assert!(bad("/__emulator/state", None, None));
        assert!(bad("/eod", Some(200), None));
        assert!(bad("/eod", None, Some(0)));
        assert!(!bad("/eod", Some(429), Some(3)));
    }
}
