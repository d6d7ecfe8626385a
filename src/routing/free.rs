//! The workers with at least one free slot: a vector for random probing plus a position
//! index, so a worker joins or leaves the set in O(1) whatever the pool size.

use super::fxhash::FxHashMap;
use super::types::WorkerKey;

#[derive(Debug, Default)]
pub struct FreeList {
    list: Vec<WorkerKey>,
    pos: FxHashMap<WorkerKey, usize>,
}

impl FreeList {
    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn get(&self, index: usize) -> WorkerKey {
        self.list[index]
    }

    pub fn as_slice(&self) -> &[WorkerKey] {
        &self.list
    }

    /// Adds `key` unless it is there already.
    pub fn insert(&mut self, key: WorkerKey) {
        if !self.pos.contains_key(&key) {
            self.pos.insert(key, self.list.len());
            self.list.push(key);
        }
    }

    /// Removes `key` if it is there (the last worker takes its place).
    pub fn remove(&mut self, key: WorkerKey) {
        let Some(index) = self.pos.remove(&key) else {
            return;
        };
        self.list.swap_remove(index);
        if let Some(moved) = self.list.get(index) {
            self.pos.insert(*moved, index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_and_removes_keep_the_index_in_step() {
        let mut free = FreeList::default();
        for k in 0..5 {
            free.insert(WorkerKey(k));
        }
        free.insert(WorkerKey(2));
        assert_eq!(free.len(), 5);
        free.remove(WorkerKey(1));
        free.remove(WorkerKey(1));
        free.remove(WorkerKey(4));
        let mut left: Vec<u32> = free.as_slice().iter().map(|w| w.0).collect();
        left.sort_unstable();
        assert_eq!(left, [0, 2, 3]);
        for (i, w) in free.as_slice().iter().enumerate() {
            assert_eq!(free.pos[w], i);
        }
    }
}
