//! pg_privacy's settings (GUCs). Every `privacy.*` name is reserved, so a misspelt or invented
//! setting is an error instead of a silently accepted placeholder.

use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};

/// `privacy.masked_by_default`: every unlabelled non-superuser role is masked. Superuser-only
/// (PGC_SUSET), so no masked role can switch it off for itself.
pub static MASKED_BY_DEFAULT: GucSetting<bool> = GucSetting::<bool>::new(false);

pub fn init() {
    GucRegistry::define_bool_guc(
        c"privacy.masked_by_default",
        c"Masks every role that has no privacy label (superusers excepted).",
        c"When on, roles without a MASKED or UNMASKED label are masked. Only superusers can change it.",
        &MASKED_BY_DEFAULT,
        GucContext::Suset,
        GucFlags::default(),
    );
    // SAFETY: called from _PG_init after the GUCs are defined, with a NUL-terminated prefix.
    unsafe { pgrx::pg_sys::MarkGUCPrefixReserved(c"privacy".as_ptr()) };
}
