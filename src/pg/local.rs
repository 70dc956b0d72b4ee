//! Per-backend state without thread-local storage.
//!
//! A PostgreSQL backend is one process running pg_privacy on one thread, so its caches and flags
//! are plain process globals. Declaring them with `thread_local!` works but costs a call to
//! `__tls_get_addr` on every access from a shared library (the general-dynamic TLS model), and
//! the hooks read a dozen of them per statement: measured, those calls were the largest single
//! cost of an ungoverned statement's planning (docs/BENCHMARKS.md). [`backend_local!`] declares
//! them as statics with the same `NAME.with(|v| ...)` interface.

/// A value owned by the backend's one thread. See the module comment.
pub struct BackendLocal<T>(T);

// SAFETY: pg_privacy's code runs only on the backend's main thread: PostgreSQL calls extensions
// from that thread alone, pgrx refuses calls into PostgreSQL from any other
// (pgrx_pg_sys::submodules::thread_check), and pg_privacy starts no threads. The interior
// mutability inside (Cell, RefCell) is therefore never reached from two threads.
unsafe impl<T> Sync for BackendLocal<T> {}

impl<T> BackendLocal<T> {
    pub const fn new(value: T) -> Self {
        BackendLocal(value)
    }

    /// Runs `f` with the value (the interface of `std::thread::LocalKey::with`).
    #[inline(always)]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.0)
    }
}

/// Declares per-backend statics: `backend_local! { static NAME: Type = init; ... }`, with or
/// without `const { }` around the initializer, as `thread_local!` accepts them.
macro_rules! backend_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr }; $($rest:tt)*) => {
        $(#[$attr])* $vis static $name: $crate::pg::local::BackendLocal<$t> = $crate::pg::local::BackendLocal::new($init);
        backend_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr; $($rest:tt)*) => {
        $(#[$attr])* $vis static $name: $crate::pg::local::BackendLocal<$t> = $crate::pg::local::BackendLocal::new($init);
        backend_local!($($rest)*);
    };
}
