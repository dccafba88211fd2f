//! Requests in flight: request ids and what each request was for.
//!
//! Not specific to Graph: any machine that hands out requests and matches answers to them by
//! [`RequestId`] can keep one (the WOPI and workbook machines included).

use alloc::vec::Vec;

use crate::http::RequestId;

/// A table of requests in flight, each with the caller's note of what it was for. Ids are never
/// reused, so a late answer to a forgotten request is recognised as such.
#[derive(Clone, Debug)]
pub struct InFlight<T> {
    next: u64,
    entries: Vec<(crate::http::RequestId, T)>,
}

impl<T> Default for InFlight<T> {
    fn default() -> Self {
        InFlight::new()
    }
}

impl<T> InFlight<T> {
    /// An empty table.
    pub const fn new() -> Self {
        InFlight {
            next: 1,
            entries: Vec::new(),
        }
    }

    /// Records a new request and returns its id.
    pub fn issue(&mut self, note: T) -> RequestId {
        let id = RequestId(self.next);
        self.next += 1;
        self.entries.push((id, note));
        id
    }

    /// Removes and returns the note of request `id`, if it is in flight.
    pub fn take(&mut self, id: RequestId) -> Option<T> {
        let index = self.entries.iter().position(|(each, _)| *each == id)?;
        Some(self.entries.remove(index).1)
    }

    /// The note of request `id`, if it is in flight.
    pub fn get_mut(&mut self, id: RequestId) -> Option<&mut T> {
        self.entries
            .iter_mut()
            .find(|(each, _)| *each == id)
            .map(|(_, note)| note)
    }

    /// Forgets every request (their answers will be ignored).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Keeps only the requests whose notes satisfy `keep`.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.entries.retain(|(_, note)| keep(note));
    }

    /// Requests in flight.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The notes of the requests in flight, oldest first.
    pub fn notes(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().map(|(_, note)| note)
    }
}

#[cfg(test)]
mod examples {
    #[test]
    fn answered_requests_are_forgotten() {
        use crate::session::InFlight;
        let mut table = InFlight::new();
        let a = table.issue("create");
        let b = table.issue("status");
        assert_ne!(a, b);
        assert_eq!(table.len(), 2);
        assert_eq!(table.take(a), Some("create"));
        assert_eq!(table.take(a), None); // answered already
    }
}
