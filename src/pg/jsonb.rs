//! Building `jsonb` values from Rust without writing JSON text and parsing it back: a document is
//! described as a [`Json`] tree and handed to PostgreSQL's own encoder (`JsonbValueToJsonb`,
//! utils/jsonb.h) in one call. Numbers become `numeric`, timestamps the ISO 8601 strings `to_jsonb`
//! gives them, strings are taken as they are (no escaping: jsonb stores them raw).
//!
//! **Why a tree, not `pushJsonbValue` per token.** An erasure's receipt built token by token spent
//! more on the calls (each one a guarded crossing into PostgreSQL) and on sorting each object's
//! keys when it closed than on its insert (docs/BENCHMARKS.md). Here keys are sorted in Rust, as
//! jsonb orders them (shorter first, then bytewise), and the encoder is called once. A tree that
//! nests a `jsonb` datum ([`Json::Jsonb`]) is built token by token instead: only the token builder
//! unpacks a stored document.

use pgrx::pg_sys;

/// A JSON value to encode as `jsonb`.
pub enum Json<'a> {
    Null,
    /// A string, as bytes in the database encoding.
    Str(&'a [u8]),
    Int(i64),
    /// A `timestamptz`, as `to_jsonb` writes it (ISO 8601 in the session's time zone).
    Timestamptz(pg_sys::TimestampTz),
    Array(Vec<Json<'a>>),
    /// Of equal keys the last one wins, as in jsonb.
    Object(Vec<(&'a str, Json<'a>)>),
    /// A `jsonb` datum, nested as it is.
    Jsonb(pg_sys::Datum),
}

impl<'a> Json<'a> {
    pub fn str(s: &'a str) -> Json<'a> {
        Json::Str(s.as_bytes())
    }

    /// The string a `text` datum holds (NULL: JSON null).
    ///
    /// # Safety
    /// `datum` is a text datum (or ignored when `is_null`) that outlives the tree.
    pub unsafe fn text(datum: Option<pg_sys::Datum>) -> Json<'a> {
        let Some(datum) = datum else { return Json::Null };
        // SAFETY: see the function's contract; pg_detoast_datum_packed returns the datum or a
        // palloc'd untoasted copy living in the current memory context.
        unsafe {
            let text = pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
            Json::Str(std::slice::from_raw_parts(pgrx::varlena::vardata_any(text).cast::<u8>(), pgrx::varlena::varsize_any_exhdr(text)))
        }
    }

    fn nests_jsonb(&self) -> bool {
        match self {
            Json::Jsonb(_) => true,
            Json::Array(items) => items.iter().any(Json::nests_jsonb),
            Json::Object(pairs) => pairs.iter().any(|(_, v)| v.nests_jsonb()),
            _ => false,
        }
    }

    /// The document as a `jsonb` datum, palloc'd in the current memory context. The top level must
    /// be an array or an object. Raises PostgreSQL errors (out of memory): call it from guarded
    /// code.
    pub fn to_jsonb(&self) -> pg_sys::Datum {
        assert!(matches!(self, Json::Array(_) | Json::Object(_)), "a jsonb document is an array or an object");
        if self.nests_jsonb() {
            let mut state: *mut pg_sys::JsonbParseState = std::ptr::null_mut();
            let top = push(&mut state, self, pg_sys::JsonbIteratorToken::WJB_ELEM);
            // SAFETY: the value pushJsonbValue returned when the outermost container closed.
            return pg_sys::Datum::from(unsafe { pg_sys::JsonbValueToJsonb(top) });
        }
        let mut keep = Keep::default();
        let mut value = encode(self, &mut keep);
        // SAFETY: an array or object whose elements and pairs (sorted, unique keys) live in
        // `keep` and the current memory context until the call returns; the encoder copies them.
        pg_sys::Datum::from(unsafe { pg_sys::JsonbValueToJsonb(&mut value) })
    }
}

/// What the tree's values point into, kept until the encoder has copied them.
#[derive(Default)]
struct Keep {
    elements: Vec<Vec<pg_sys::JsonbValue>>,
    pairs: Vec<Vec<pg_sys::JsonbPair>>,
    /// (each buffer's own allocation: it stays put as the list grows)
    dates: Vec<Vec<u8>>,
}

/// Room for a timestamp as JsonEncodeDateTime writes it (MAXDATELEN + 1 in datatype/datetime.h).
const DATE_BUFFER: usize = 129;

fn string_value(bytes: &[u8]) -> pg_sys::JsonbValue {
    pg_sys::JsonbValue {
        type_: pg_sys::jbvType::jbvString,
        val: pg_sys::JsonbValue__bindgen_ty_1 {
            string: pg_sys::JsonbValue__bindgen_ty_1__bindgen_ty_1 { len: bytes.len() as i32, val: bytes.as_ptr().cast_mut().cast() },
        },
    }
}

/// A scalar's value (`Array`, `Object` and `Jsonb` are not scalars).
fn scalar(json: &Json<'_>, keep: &mut Keep) -> pg_sys::JsonbValue {
    match json {
        Json::Str(bytes) => string_value(bytes),
        Json::Int(n) => pg_sys::JsonbValue {
            type_: pg_sys::jbvType::jbvNumeric,
            // SAFETY: int64_to_numeric returns a palloc'd numeric.
            val: pg_sys::JsonbValue__bindgen_ty_1 { numeric: unsafe { pg_sys::int64_to_numeric(*n) } },
        },
        Json::Timestamptz(ts) => {
            let mut buffer = vec![0u8; DATE_BUFFER];
            // SAFETY: JsonEncodeDateTime writes at most MAXDATELEN bytes and a NUL into the buffer.
            unsafe { pg_sys::JsonEncodeDateTime(buffer.as_mut_ptr().cast(), pg_sys::Datum::from(*ts), pg_sys::TIMESTAMPTZOID, std::ptr::null()) };
            let len = buffer.iter().position(|&b| b == 0).unwrap_or(0);
            let value = string_value(&buffer[..len]);
            keep.dates.push(buffer); // its heap buffer does not move
            value
        }
        _ => pg_sys::JsonbValue { type_: pg_sys::jbvType::jbvNull, val: pg_sys::JsonbValue__bindgen_ty_1 { boolean: false } },
    }
}

/// jsonb's order of object keys: shorter first, then bytewise.
fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

/// The tree as the encoder's in-memory form (no `Jsonb` nodes).
fn encode(json: &Json<'_>, keep: &mut Keep) -> pg_sys::JsonbValue {
    match json {
        Json::Array(items) => {
            let mut elements: Vec<pg_sys::JsonbValue> = items.iter().map(|item| encode(item, keep)).collect();
            let value = pg_sys::JsonbValue {
                type_: pg_sys::jbvType::jbvArray,
                val: pg_sys::JsonbValue__bindgen_ty_1 {
                    array: pg_sys::JsonbValue__bindgen_ty_1__bindgen_ty_2 { nElems: elements.len() as i32, elems: elements.as_mut_ptr(), rawScalar: false },
                },
            };
            keep.elements.push(elements);
            value
        }
        Json::Object(entries) => {
            let mut sorted: Vec<&(&str, Json<'_>)> = entries.iter().collect();
            sorted.sort_by(|a, b| key_order(a.0, b.0));
            // equal keys: the last one given wins, as in jsonb (the sort is stable)
            let mut unique: Vec<&(&str, Json<'_>)> = Vec::with_capacity(sorted.len());
            for entry in sorted {
                match unique.last_mut() {
                    Some(last) if last.0 == entry.0 => *last = entry,
                    _ => unique.push(entry),
                }
            }
            let mut pairs: Vec<pg_sys::JsonbPair> = unique
                .iter()
                .enumerate()
                .map(|(order, (key, value))| pg_sys::JsonbPair { key: string_value(key.as_bytes()), value: encode(value, keep), order: order as u32 })
                .collect();
            let value = pg_sys::JsonbValue {
                type_: pg_sys::jbvType::jbvObject,
                val: pg_sys::JsonbValue__bindgen_ty_1 { object: pg_sys::JsonbValue__bindgen_ty_1__bindgen_ty_3 { nPairs: pairs.len() as i32, pairs: pairs.as_mut_ptr() } },
            };
            keep.pairs.push(pairs);
            value
        }
        scalar_json => scalar(scalar_json, keep),
    }
}

/// Pushes the tree token by token (`pushJsonbValue`, which unpacks a nested `jsonb` and sorts each
/// object's keys when it closes); `token` is how a scalar enters its container. Returns what the
/// last push returned (the whole document once the outermost container closes).
fn push(state: &mut *mut pg_sys::JsonbParseState, json: &Json<'_>, token: pg_sys::JsonbIteratorToken::Type) -> *mut pg_sys::JsonbValue {
    use pg_sys::JsonbIteratorToken::{WJB_BEGIN_ARRAY, WJB_BEGIN_OBJECT, WJB_ELEM, WJB_END_ARRAY, WJB_END_OBJECT, WJB_KEY, WJB_VALUE};
    // SAFETY: the builder's own parse state; strings point into the tree or the current memory
    // context (palloc'd copies are not needed: pushJsonbValue only keeps pointers until the
    // encoder copies them, and the tree outlives to_jsonb).
    unsafe {
        match json {
            Json::Array(items) => {
                pg_sys::pushJsonbValue(state, WJB_BEGIN_ARRAY, std::ptr::null_mut());
                for item in items {
                    push(state, item, WJB_ELEM);
                }
                pg_sys::pushJsonbValue(state, WJB_END_ARRAY, std::ptr::null_mut())
            }
            Json::Object(entries) => {
                pg_sys::pushJsonbValue(state, WJB_BEGIN_OBJECT, std::ptr::null_mut());
                for (key, value) in entries {
                    let mut key = string_value(key.as_bytes());
                    pg_sys::pushJsonbValue(state, WJB_KEY, &mut key);
                    push(state, value, WJB_VALUE);
                }
                pg_sys::pushJsonbValue(state, WJB_END_OBJECT, std::ptr::null_mut())
            }
            Json::Jsonb(datum) => {
                // a stored document: pushJsonbValue walks its root container
                let jb = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()).cast::<pg_sys::Jsonb>();
                let len = pgrx::varlena::varsize(jb.cast()) - pg_sys::VARHDRSZ;
                let mut value = pg_sys::JsonbValue {
                    type_: pg_sys::jbvType::jbvBinary,
                    val: pg_sys::JsonbValue__bindgen_ty_1 {
                        binary: pg_sys::JsonbValue__bindgen_ty_1__bindgen_ty_4 { len: len as i32, data: &mut (*jb).root },
                    },
                };
                pg_sys::pushJsonbValue(state, token, &mut value)
            }
            scalar_json => {
                let mut keep = Keep::default();
                let mut value = scalar(scalar_json, &mut keep);
                if let Json::Timestamptz(_) = scalar_json {
                    // the date's buffer dies with `keep`: give pushJsonbValue a palloc'd copy
                    value.val.string.val = pg_sys::pnstrdup(value.val.string.val, value.val.string.len as usize);
                }
                pg_sys::pushJsonbValue(state, token, &mut value)
            }
        }
    }
}
