//! Identifiers and tokens the emulator hands out.
//!
//! Tokens only have to be unguessable enough that a client cannot reach a session whose URL it
//! was not given by accident; keyed SipHash over a counter, with keys the standard library draws
//! from the operating system, is plenty for a loopback test service.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) struct IdSource {
    keys: RandomState,
    counter: AtomicU64,
    /// Session ordinals count sessions only, so a session's fault scope does not depend on how
    /// many tokens or item ids were handed out before it.
    ordinals: AtomicU64,
}

impl IdSource {
    pub(crate) fn new() -> Self {
        IdSource {
            keys: RandomState::new(),
            counter: AtomicU64::new(1),
            ordinals: AtomicU64::new(1),
        }
    }

    /// A fresh ordinal (1, 2, ...), shared by every kind of session so fault scopes never clash.
    pub(crate) fn ordinal(&self) -> u64 {
        self.ordinals.fetch_add(1, Ordering::Relaxed)
    }

    /// 32 random lowercase hex digits.
    pub(crate) fn token(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let a = self.keys.hash_one((n, 0xA5u8));
        let b = self.keys.hash_one((n, 0x5Au8));
        format!("{a:016x}{b:016x}")
    }

    /// An item id in the OneDrive style (`01` and 32 upper-case characters).
    pub(crate) fn item_id(&self) -> String {
        format!("01{}", self.token().to_uppercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ_and_have_the_documented_shape() {
        let ids = IdSource::new();
        let a = ids.token();
        let b = ids.token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert!(ids.item_id().starts_with("01"));
        assert_eq!((ids.ordinal(), ids.ordinal()), (1, 2));
    }
}
