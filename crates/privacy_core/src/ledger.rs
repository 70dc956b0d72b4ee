//! The consent ledger's hash chains: how an event is encoded for hashing, how each event is
//! chained to the one before it, and the anchors that summarise the whole ledger.
//!
//! **One chain per subject.** Each event's hash covers the event and the hash of the previous
//! event of the same subject (the subject named by its keyed pseudonym, never by its id). Grants
//! for different subjects therefore never wait on each other; only events of one subject are
//! ordered, which they must be anyway (a later event wins).
//!
//! **Anchors.** An anchor is a digest over the last hash of every chain at a moment (events up to
//! a watermark event id), chained to the previous anchor. Changing, removing or inserting any event
//! before a watermark changes the chain hashes after it and so the anchor recomputed from the
//! ledger; rewriting all of them consistently is possible for whoever can write the tables, which
//! is why an anchor is worth keeping *outside* the database (a log, a ticket, a message to the
//! DPO): the ledger can then be checked against it.
//!
//! Hashes are plain SHA-256, not keyed: an auditor can recompute them from an export of the ledger
//! without the database's secret. Every field is length-prefixed, so fields cannot run together.

use sha2::{Digest, Sha256};

/// Length of a hash and of a subject key.
pub const HASH_LEN: usize = 32;

const EVENT_DOMAIN: &[u8] = b"pg_privacy/ledger/v1/event\0";
const ANCHOR_DOMAIN: &[u8] = b"pg_privacy/ledger/v1/anchor\0";

/// What an event's hash covers: everything recorded about it, with the subject as its key.
/// Timestamps are PostgreSQL's `timestamptz` in microseconds since 2000-01-01 UTC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEvent<'a> {
    pub event_id: i64,
    pub subject_key: &'a [u8],
    pub purpose: &'a str,
    pub state: &'a str,
    pub valid_until: Option<i64>,
    pub recorded_at: i64,
    pub recorded_by: &'a str,
    pub source: Option<&'a str>,
}

fn put(hasher: &mut Sha256, field: &[u8]) {
    hasher.update((field.len() as u64).to_be_bytes());
    hasher.update(field);
}

fn put_optional(hasher: &mut Sha256, field: Option<&[u8]>) {
    match field {
        None => hasher.update([0u8]),
        Some(f) => {
            hasher.update([1u8]);
            put(hasher, f);
        }
    }
}

/// The hash of `event` chained to `previous` (the hash of the subject's previous event, or None
/// for its first).
pub fn event_hash(previous: Option<&[u8]>, event: &LedgerEvent<'_>) -> [u8; HASH_LEN] {
    let mut h = Sha256::new();
    h.update(EVENT_DOMAIN);
    put_optional(&mut h, previous);
    h.update(event.event_id.to_be_bytes());
    put(&mut h, event.subject_key);
    put(&mut h, event.purpose.as_bytes());
    put(&mut h, event.state.as_bytes());
    put_optional(&mut h, event.valid_until.map(i64::to_be_bytes).as_ref().map(|b| b.as_slice()));
    h.update(event.recorded_at.to_be_bytes());
    put(&mut h, event.recorded_by.as_bytes());
    put_optional(&mut h, event.source.map(str::as_bytes));
    h.finalize().into()
}

/// The head of one chain at an anchor: the subject's key, its last event id and hash.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChainHead {
    pub subject_key: Vec<u8>,
    pub event_id: i64,
    pub hash: Vec<u8>,
}

/// An anchor being computed: chain heads are added in ascending subject-key order (the order a
/// scan of the ledger by subject key gives, so the whole ledger never has to be held in memory).
pub struct AnchorBuilder {
    hasher: Sha256,
    heads: u64,
    last_key: Option<Vec<u8>>,
    in_order: bool,
}

impl AnchorBuilder {
    /// Starts the anchor over events up to `watermark`, chained to the `previous` anchor.
    pub fn new(previous: Option<&[u8]>, watermark: i64) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(ANCHOR_DOMAIN);
        put_optional(&mut hasher, previous);
        hasher.update(watermark.to_be_bytes());
        AnchorBuilder { hasher, heads: 0, last_key: None, in_order: true }
    }

    /// Adds one chain's head; keys must come in strictly ascending order.
    pub fn add(&mut self, head: &ChainHead) {
        if self.last_key.as_deref().is_some_and(|k| k >= head.subject_key.as_slice()) {
            self.in_order = false;
        }
        self.last_key = Some(head.subject_key.clone());
        put(&mut self.hasher, &head.subject_key);
        self.hasher.update(head.event_id.to_be_bytes());
        put(&mut self.hasher, &head.hash);
        self.heads += 1;
    }

    /// The digest, or None if heads were not added in ascending key order.
    pub fn finish(mut self) -> Option<[u8; HASH_LEN]> {
        self.hasher.update(self.heads.to_be_bytes());
        self.in_order.then(|| self.hasher.finalize().into())
    }
}

/// The anchor over `heads` (every chain's last event up to `watermark`), chained to the previous
/// anchor, whatever order the heads are given in.
pub fn anchor_digest(previous: Option<&[u8]>, watermark: i64, heads: &[ChainHead]) -> [u8; HASH_LEN] {
    let mut sorted: Vec<&ChainHead> = heads.iter().collect();
    sorted.sort();
    sorted.dedup_by(|a, b| a.subject_key == b.subject_key);
    let mut builder = AnchorBuilder::new(previous, watermark);
    for head in sorted {
        builder.add(head);
    }
    builder.finish().unwrap_or_default()
}

/// One subject's events in chain order (following each event's previous hash from the one with
/// none), or the first problem: several starts, a fork, or events the chain does not reach.
pub fn chain_order<'a>(events: &'a [StoredEvent<'a>]) -> Result<Vec<&'a StoredEvent<'a>>, Break> {
    let mut roots = events.iter().filter(|e| e.previous.is_none());
    let Some(root) = roots.next() else {
        return Err(Break::NoStart { event_id: events.iter().map(|e| e.event.event_id).min().unwrap_or(0) });
    };
    if let Some(second) = roots.next() {
        return Err(Break::Fork { event_id: second.event.event_id });
    }
    let mut followers: std::collections::HashMap<&[u8], Vec<&StoredEvent<'_>>> = std::collections::HashMap::new();
    for e in events {
        if let Some(p) = e.previous {
            followers.entry(p).or_default().push(e);
        }
    }
    let mut order = vec![root];
    let mut current = root;
    while let Some(next) = followers.get(current.hash) {
        if next.len() > 1 || order.len() >= events.len() {
            return Err(Break::Fork { event_id: next[next.len() - 1].event.event_id });
        }
        order.push(next[0]);
        current = next[0];
    }
    if order.len() < events.len() {
        let reached: std::collections::HashSet<i64> = order.iter().map(|e| e.event.event_id).collect();
        let unreached = events.iter().map(|e| e.event.event_id).filter(|id| !reached.contains(id)).min();
        return Err(Break::Unreached { event_id: unreached.unwrap_or(0) });
    }
    Ok(order)
}

/// Where a chain stops holding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Break {
    /// The event's recorded previous hash is not the hash of the subject's event before it.
    WrongPrevious { event_id: i64 },
    /// The event's recorded hash is not the hash of its contents.
    WrongHash { event_id: i64 },
    /// No event of the subject starts its chain (its first event was removed).
    NoStart { event_id: i64 },
    /// A second event follows the same event, or a second chain starts.
    Fork { event_id: i64 },
    /// An event the chain does not reach (its predecessor was removed or changed).
    Unreached { event_id: i64 },
}

impl Break {
    /// The event at which the problem shows.
    pub fn event_id(&self) -> i64 {
        match self {
            Break::WrongPrevious { event_id }
            | Break::WrongHash { event_id }
            | Break::NoStart { event_id }
            | Break::Fork { event_id }
            | Break::Unreached { event_id } => *event_id,
        }
    }

    /// What is wrong, for a DBA.
    pub fn describe(&self) -> &'static str {
        match self {
            Break::WrongPrevious { .. } => "the event does not follow the subject's previous event: an event before it was changed or removed",
            Break::WrongHash { .. } => "the event's contents do not match its hash: it was changed",
            Break::NoStart { .. } => "no event starts the subject's chain: its first event was removed",
            Break::Fork { .. } => "two events follow the same event: an event was inserted or the chain was rebuilt",
            Break::Unreached { .. } => "the subject's chain does not reach this event: an event before it was changed or removed",
        }
    }
}

/// One stored event: its contents, the previous hash and the hash recorded with it.
#[derive(Debug)]
pub struct StoredEvent<'a> {
    pub event: LedgerEvent<'a>,
    pub previous: Option<&'a [u8]>,
    pub hash: &'a [u8],
}

/// Checks one subject's chain, given in event order: the first event that does not follow from
/// the one before it, or None.
pub fn check_chain<'a>(events: impl IntoIterator<Item = StoredEvent<'a>>) -> Option<Break> {
    let mut expected_previous: Option<Vec<u8>> = None;
    for stored in events {
        let id = stored.event.event_id;
        if stored.previous.map(<[u8]>::to_vec) != expected_previous {
            return Some(Break::WrongPrevious { event_id: id });
        }
        let hash = event_hash(stored.previous, &stored.event);
        if hash.as_slice() != stored.hash {
            return Some(Break::WrongHash { event_id: id });
        }
        expected_previous = Some(hash.to_vec());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(id: i64, state: &'static str) -> LedgerEvent<'static> {
        LedgerEvent {
            event_id: id,
            subject_key: &[7u8; 32],
            purpose: "marketing",
            state,
            valid_until: None,
            recorded_at: 1_000 + id,
            recorded_by: "app",
            source: Some("form"),
        }
    }

    /// An event with its recorded previous hash and hash.
    type Link = (LedgerEvent<'static>, Option<Vec<u8>>, Vec<u8>);

    fn chain(states: &[&'static str]) -> Vec<Link> {
        let mut out = Vec::new();
        let mut prev: Option<Vec<u8>> = None;
        for (i, s) in states.iter().enumerate() {
            let e = event(i as i64 + 1, s);
            let h = event_hash(prev.as_deref(), &e).to_vec();
            out.push((e, prev.clone(), h.clone()));
            prev = Some(h);
        }
        out
    }

    fn check(c: &[Link]) -> Option<Break> {
        check_chain(c.iter().map(|(e, p, h)| StoredEvent { event: e.clone(), previous: p.as_deref(), hash: h }))
    }

    #[test]
    fn an_intact_chain_checks() {
        assert_eq!(check(&chain(&["granted", "withdrawn", "granted"])), None);
    }

    #[test]
    fn a_changed_event_breaks_its_own_hash() {
        let mut c = chain(&["granted", "withdrawn", "granted"]);
        c[1].0.state = "granted";
        assert_eq!(check(&c), Some(Break::WrongHash { event_id: 2 }));
    }

    #[test]
    fn a_removed_event_breaks_the_next_link() {
        let mut c = chain(&["granted", "withdrawn", "granted"]);
        c.remove(1);
        assert_eq!(check(&c), Some(Break::WrongPrevious { event_id: 3 }));
    }

    #[test]
    fn a_rehashed_event_breaks_the_next_link() {
        let mut c = chain(&["granted", "withdrawn", "granted"]);
        c[1].0.state = "granted";
        c[1].2 = event_hash(c[1].1.as_deref(), &c[1].0).to_vec();
        assert_eq!(check(&c), Some(Break::WrongPrevious { event_id: 3 }));
    }

    #[test]
    fn absent_and_empty_optional_fields_differ() {
        let mut a = event(1, "granted");
        let mut b = event(1, "granted");
        a.source = None;
        b.source = Some("");
        assert_ne!(event_hash(None, &a), event_hash(None, &b));
    }

    #[test]
    fn anchors_ignore_head_order_and_see_every_head() {
        let h = |k: u8, id: i64| ChainHead { subject_key: vec![k; 32], event_id: id, hash: vec![k; 32] };
        let a = anchor_digest(None, 9, &[h(1, 3), h(2, 9)]);
        assert_eq!(a, anchor_digest(None, 9, &[h(2, 9), h(1, 3)]));
        assert_ne!(a, anchor_digest(None, 9, &[h(1, 3)]));
        assert_ne!(a, anchor_digest(Some(&[0u8; 32]), 9, &[h(1, 3), h(2, 9)]));
        assert_ne!(a, anchor_digest(None, 10, &[h(1, 3), h(2, 9)]));
    }

    #[test]
    fn chain_order_follows_links_not_ids() {
        let c = chain(&["granted", "withdrawn", "granted"]);
        let mut stored: Vec<StoredEvent<'_>> =
            c.iter().map(|(e, p, h)| StoredEvent { event: e.clone(), previous: p.as_deref(), hash: h }).collect();
        stored.reverse();
        let order = chain_order(&stored).unwrap();
        assert_eq!(order.iter().map(|e| e.event.event_id).collect::<Vec<_>>(), vec![1, 2, 3]);
        // the first event removed: no start
        let rest: Vec<StoredEvent<'_>> =
            c[1..].iter().map(|(e, p, h)| StoredEvent { event: e.clone(), previous: p.as_deref(), hash: h }).collect();
        assert_eq!(chain_order(&rest).err(), Some(Break::NoStart { event_id: 2 }));
        // the middle event removed: the last is unreached
        let gap: Vec<StoredEvent<'_>> = [&c[0], &c[2]]
            .iter()
            .map(|(e, p, h)| StoredEvent { event: e.clone(), previous: p.as_deref(), hash: h })
            .collect();
        assert_eq!(chain_order(&gap).err(), Some(Break::Unreached { event_id: 3 }));
    }

    #[test]
    fn anchor_builder_needs_ascending_keys() {
        let h = |k: u8| ChainHead { subject_key: vec![k; 32], event_id: 1, hash: vec![k; 32] };
        let mut b = AnchorBuilder::new(None, 1);
        b.add(&h(2));
        b.add(&h(1));
        assert_eq!(b.finish(), None);
        let mut b = AnchorBuilder::new(None, 1);
        b.add(&h(1));
        b.add(&h(2));
        assert_eq!(b.finish(), Some(anchor_digest(None, 1, &[h(2), h(1)])));
    }

    proptest! {
        #[test]
        fn fields_cannot_run_together(p1 in "[a-z]{0,6}", p2 in "[a-z]{0,6}", s1 in "[a-z]{0,6}", s2 in "[a-z]{0,6}") {
            let mut a = event(1, "granted");
            let mut b = event(1, "granted");
            a.purpose = Box::leak(p1.clone().into_boxed_str());
            a.recorded_by = Box::leak(s1.clone().into_boxed_str());
            b.purpose = Box::leak(p2.clone().into_boxed_str());
            b.recorded_by = Box::leak(s2.clone().into_boxed_str());
            prop_assert_eq!(event_hash(None, &a) == event_hash(None, &b), p1 == p2 && s1 == s2);
        }
    }
}
