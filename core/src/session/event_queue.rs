//! The queue behind `poll_event`: first in, first out. Shared by every machine.

use alloc::collections::VecDeque;

/// Events waiting for [`poll_event`](crate::session::StateMachine::poll_event).
#[derive(Clone, Debug)]
pub struct EventQueue<E> {
    queue: VecDeque<E>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub const fn new() -> Self {
        EventQueue {
            queue: VecDeque::new(),
        }
    }

    /// Queues an event.
    pub fn push(&mut self, event: E) {
        self.queue.push_back(event);
    }

    /// The oldest event, if any.
    pub fn pop(&mut self) -> Option<E> {
        self.queue.pop_front()
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no event waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod examples {
    #[test]
    fn events_come_out_in_order() {
        use crate::session::EventQueue;
        let mut events = EventQueue::new();
        events.push(1);
        events.push(2);
        assert_eq!(events.pop(), Some(1));
        assert_eq!(events.len(), 1);
    }
}
