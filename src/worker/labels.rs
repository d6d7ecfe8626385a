//! The labels a worker holds: at most K, each loaded once even when several tasks need
//! it at the same time, the least recently used one dropped to make room.

use std::cell::RefCell;
use std::rc::Rc;

use tokio::sync::OnceCell;

type Slot = Rc<OnceCell<Result<(), String>>>;

struct Entry {
    label: String,
    slot: Slot,
    in_use: u32,
}

/// Shared by the tasks of one worker thread.
pub struct Labels {
    max: usize,
    /// Least recently used first.
    entries: RefCell<Vec<Entry>>,
}

/// What making a label ready did.
pub struct Ready {
    /// This call loaded it (a label miss).
    pub loaded_now: bool,
}

impl Labels {
    pub fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            entries: RefCell::new(Vec::new()),
        }
    }

    /// Labels fully loaded now.
    pub fn held(&self) -> Vec<String> {
        self.entries
            .borrow()
            .iter()
            .filter(|e| matches!(e.slot.get(), Some(Ok(()))))
            .map(|e| e.label.clone())
            .collect()
    }

    /// Makes `label` ready (loading it with `load` unless held or loading), marks it in
    /// use until [`Labels::release`]. On failure the label is forgotten.
    pub async fn acquire<F, Fut>(
        &self,
        label: &str,
        evict: impl Fn(&str),
        load: F,
    ) -> (Result<(), String>, Ready)
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        let slot = {
            let mut entries = self.entries.borrow_mut();
            if let Some(pos) = entries.iter().position(|e| e.label == label) {
                let mut entry = entries.remove(pos);
                entry.in_use += 1;
                let slot = entry.slot.clone();
                entries.push(entry);
                slot
            } else {
                while entries.len() >= self.max {
                    let Some(pos) = entries
                        .iter()
                        .position(|e| e.in_use == 0 && e.slot.initialized())
                    else {
                        break; // everything is busy: hold one extra until something frees
                    };
                    let old = entries.remove(pos);
                    evict(&old.label);
                }
                let slot: Slot = Rc::new(OnceCell::new());
                entries.push(Entry {
                    label: label.to_owned(),
                    slot: slot.clone(),
                    in_use: 1,
                });
                slot
            }
        };
        let mut loaded_now = false;
        let result = slot
            .get_or_init(|| {
                loaded_now = true;
                load()
            })
            .await
            .clone();
        if result.is_err() {
            self.entries
                .borrow_mut()
                .retain(|e| !Rc::ptr_eq(&e.slot, &slot));
        }
        (result, Ready { loaded_now })
    }

    pub fn release(&self, label: &str) {
        if let Some(entry) = self
            .entries
            .borrow_mut()
            .iter_mut()
            .find(|e| e.label == label)
        {
            entry.in_use = entry.in_use.saturating_sub(1);
        }
    }

    /// Drops `label` if it is held and not in use; returns whether it was dropped.
    pub fn evict(&self, label: &str) -> bool {
        let mut entries = self.entries.borrow_mut();
        let before = entries.len();
        entries.retain(|e| e.label != label || e.in_use > 0);
        entries.len() < before
    }
}
