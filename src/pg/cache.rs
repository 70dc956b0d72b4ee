//! The one owner of cache invalidation, and the cache types every per-backend cache uses.
//!
//! PostgreSQL tells each backend what changed through invalidation callbacks (relcache, syscache).
//! This module registers those callbacks once and turns each message into a bump of a
//! *generation counter* for one [`Class`] of cached data. A cache ([`Cached`], [`CachedMap`])
//! remembers the generation its value was loaded under and reloads when the counter moved.
//!
//! The rule that makes this safe: a value is stored only if no invalidation of its class arrived
//! while it was being loaded. Loading reads catalogs, and reading catalogs processes pending
//! invalidation messages; a value read half before and half after a change would otherwise be
//! kept until the next change (a missed withdrawal, a missed rule). Such a value is returned to
//! its caller, which asked before the change, and the next caller loads afresh.
//!
//! Which messages bump which class:
//! - relcache for a *watched* relation, or a relcache reset (InvalidOid): the classes the relation
//!   was watched for ([`watch_relation`]). Masking rules, the consent registry and the key watch
//!   the relations their values came from; label and registry changes send a relcache reset
//!   (`CacheInvalidateRelcacheAll`), which reaches every backend of the database.
//! - pg_authid, pg_auth_members (any database, the catalogs are shared): [`Class::Roles`], and
//!   cached plans are dropped, since a role's masked status can flip without its OID changing.
//! - pg_class (any row): [`Class::Owners`] (who owns which relations; a relation created in
//!   another session sends no relcache message, only this catalog one).
//! - pg_proc: [`Class::Functions`] (owners, TRUSTED labels: the label hook sends a pg_proc
//!   invalidation for the labelled function).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::rc::Rc;

use pgrx::pg_sys;

/// What a cached value depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Masking rules, protected relations, the consent registry, trusted schemas.
    Relations = 0,
    /// Role labels, memberships, purposes allowed to roles.
    Roles = 1,
    /// Function owners and TRUSTED function labels.
    Functions = 2,
    /// The database's secret key.
    Key = 3,
    /// Which roles own relations: any change of a `pg_class` row (a new relation, an owner
    /// change; also statistics updates, which only cost a cheap reload).
    Owners = 4,
}

const CLASSES: usize = 5;

/// The hasher of the per-backend maps: keys are OIDs and short tuples looked up on every statement,
/// never chosen by a remote party, so the SipHash default's resistance to crafted collisions buys
/// nothing here and costs a measurable share of an ungoverned statement (docs/BENCHMARKS.md).
#[derive(Default, Clone, Copy)]
pub struct OidHasher(u64);

impl Hasher for OidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        // The multiply-rotate step of rustc's FxHasher.
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A map keyed by OIDs (or small tuples of them) with [`OidHasher`].
pub type OidMap<K, V> = HashMap<K, V, BuildHasherDefault<OidHasher>>;

backend_local! {
    static GENERATIONS: [Cell<u64>; CLASSES] = const { [const { Cell::new(1) }; CLASSES] };
    /// Bumped with every class: one number that changes whenever any cached value may be stale.
    static ANY_GENERATION: Cell<u64> = const { Cell::new(1) };
    /// Relations some cache loaded a value from, and the classes to bump when they change.
    static WATCHED: RefCell<OidMap<pg_sys::Oid, u8>> = RefCell::new(OidMap::with_hasher(BuildHasherDefault::new()));
}

/// The current generation of `class`.
pub fn generation(class: Class) -> u64 {
    GENERATIONS.with(|g| g[class as usize].get())
}

/// A number that changes whenever any class is bumped (for answers that depend on all of them;
/// cannot raise).
#[inline]
pub fn any_generation() -> u64 {
    ANY_GENERATION.with(|g| g.get())
}

/// Marks every value of `class` stale (invalidation callbacks, and local changes that must show
/// at this backend's next statement).
pub fn bump(class: Class) {
    GENERATIONS.with(|g| {
        let c = &g[class as usize];
        c.set(c.get().wrapping_add(1));
    });
    ANY_GENERATION.with(|g| g.set(g.get().wrapping_add(1)));
}

/// Asks for `class` to be bumped when `relid` changes (DDL, label or registry change).
pub fn watch_relation(relid: pg_sys::Oid, class: Class) {
    WATCHED.with(|w| *w.borrow_mut().entry(relid).or_insert(0) |= 1 << class as u8);
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_relcache(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    if relid == pg_sys::InvalidOid {
        // A reset: everything loaded from relations is stale.
        WATCHED.with(|w| w.borrow_mut().clear());
        bump(Class::Relations);
        bump(Class::Key);
        bump(Class::Owners);
        return;
    }
    let mask = WATCHED.with(|w| w.borrow().get(&relid).copied().unwrap_or(0));
    for class in [Class::Relations, Class::Roles, Class::Functions, Class::Key] {
        if mask & (1 << class as u8) != 0 {
            bump(class);
        }
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_roles(_arg: pg_sys::Datum, _cacheid: i32, _hash: u32) {
    bump(Class::Roles);
    // Plans depend on whether their role is masked or filtered, which a label or membership change
    // can flip without changing the role's OID; PostgreSQL's plan cache does not watch pg_authid.
    // SAFETY: ResetPlanCache only marks cached plans invalid; it is safe in a callback.
    unsafe { pg_sys::ResetPlanCache() };
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_functions(_arg: pg_sys::Datum, _cacheid: i32, _hash: u32) {
    bump(Class::Functions);
}

/// Unguarded: it only bumps a counter, and every `pg_class` change of the database calls it.
unsafe extern "C-unwind" fn on_classes(_arg: pg_sys::Datum, _cacheid: i32, _hash: u32) {
    bump(Class::Owners);
}

/// Registers the invalidation callbacks. Called once from `_PG_init`.
pub fn init() {
    // SAFETY: registering callbacks during library load with valid cache ids; the functions have
    // the signatures PostgreSQL expects and live as long as the library.
    unsafe {
        pg_sys::CacheRegisterRelcacheCallback(Some(on_relcache), pg_sys::Datum::from(0));
        for cache in [pg_sys::SysCacheIdentifier::AUTHOID, pg_sys::SysCacheIdentifier::AUTHMEMROLEMEM] {
            pg_sys::CacheRegisterSyscacheCallback(cache as i32, Some(on_roles), pg_sys::Datum::from(0));
        }
        pg_sys::CacheRegisterSyscacheCallback(pg_sys::SysCacheIdentifier::PROCOID as i32, Some(on_functions), pg_sys::Datum::from(0));
        pg_sys::CacheRegisterSyscacheCallback(pg_sys::SysCacheIdentifier::RELOID as i32, Some(on_classes), pg_sys::Datum::from(0));
    }
}

/// A set of classes a cached value depends on.
#[derive(Clone, Copy)]
pub struct Deps(u8);

impl Deps {
    pub const fn of(classes: &[Class]) -> Deps {
        let mut mask = 0u8;
        let mut i = 0;
        while i < classes.len() {
            mask |= 1 << classes[i] as u8;
            i += 1;
        }
        Deps(mask)
    }

    /// A number that changes whenever any of the classes is bumped (each counter only grows).
    pub fn generation(self) -> u64 {
        GENERATIONS.with(|g| {
            let mut sum = 0u64;
            for (i, c) in g.iter().enumerate() {
                if self.0 & (1 << i) != 0 {
                    sum = sum.wrapping_add(c.get());
                }
            }
            sum
        })
    }
}

/// One per-backend value, loaded on first use and after each invalidation of what it depends on.
pub struct Cached<T> {
    deps: Deps,
    slot: RefCell<Option<(u64, Rc<T>)>>,
}

impl<T> Cached<T> {
    pub const fn new(class: Class) -> Self {
        Cached { deps: Deps::of(&[class]), slot: RefCell::new(None) }
    }

    pub const fn depending_on(deps: Deps) -> Self {
        Cached { deps, slot: RefCell::new(None) }
    }

    /// The cached value if it is current, without loading anything (cannot raise).
    pub fn peek(&self) -> Option<Rc<T>> {
        let now = self.deps.generation();
        self.slot.borrow().as_ref().filter(|(g, _)| *g == now).map(|(_, v)| v.clone())
    }

    /// The cached value, or `load()`'s (stored only if no invalidation arrived meanwhile).
    ///
    /// No borrow is held while `load` runs: it may read catalogs, which may run invalidation
    /// callbacks, which may touch this cache.
    pub fn get(&self, load: impl FnOnce() -> T) -> Rc<T> {
        let before = self.deps.generation();
        if let Some((g, value)) = &*self.slot.borrow() {
            if *g == before {
                return value.clone();
            }
        }
        let value = Rc::new(load());
        if self.deps.generation() == before {
            *self.slot.borrow_mut() = Some((before, value.clone()));
        }
        value
    }
}

/// Per-key values (per relation, per role, per function).
pub struct CachedMap<K, V> {
    deps: Deps,
    map: RefCell<(u64, OidMap<K, V>)>,
}

impl<K: Eq + Hash + Clone, V: Clone> CachedMap<K, V> {
    pub const fn new(class: Class) -> Self {
        CachedMap { deps: Deps::of(&[class]), map: RefCell::new((0, OidMap::with_hasher(BuildHasherDefault::new()))) }
    }

    pub const fn depending_on(deps: Deps) -> Self {
        CachedMap { deps, map: RefCell::new((0, OidMap::with_hasher(BuildHasherDefault::new()))) }
    }

    /// The value for `key`, or `load(key)`'s (stored only if no invalidation arrived meanwhile).
    pub fn get(&self, key: K, load: impl FnOnce(K) -> V) -> V {
        self.get_if_final(key, |k| (load(k), true))
    }

    /// Like [`CachedMap::get`] for values that may change without an invalidation this backend
    /// would see: `load` says whether its answer is final; an answer that is not is recomputed on
    /// every call.
    pub fn get_if_final(&self, key: K, load: impl FnOnce(K) -> (V, bool)) -> V {
        let before = self.deps.generation();
        {
            let mut map = self.map.borrow_mut();
            if map.0 != before {
                map.1.clear();
                map.0 = before;
            } else if let Some(v) = map.1.get(&key) {
                return v.clone();
            }
        }
        let (value, is_final) = load(key.clone());
        let mut map = self.map.borrow_mut();
        if is_final && self.deps.generation() == before && map.0 == before {
            map.1.insert(key, value.clone());
        }
        value
    }
}
