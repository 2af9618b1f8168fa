//! Read-only accessors for the parts of TFLite's `schema.fbs` that mlgate uses, written by
//! hand on top of the `flatbuffers` crate (no generated code is vendored).
//!
//! Each table lists its fields once, in [`fb_table!`]; that one list produces both the
//! `Verifiable` impl and the accessors, so an accessor can only read a field with exactly the
//! type the verifier checked. That is what makes the `unsafe` reads below sound: the root is
//! only ever obtained through [`verified_root`].
//!
//! Strings are read as byte vectors rather than `&str`: LiteRT does not require valid UTF-8 in
//! names, so rejecting such a model here would refuse files the runtime accepts. Callers decode
//! them lossily.

use flatbuffers::{
    Follow, ForwardsUOffset, InvalidFlatbuffer, Table, Vector, Verifiable, Verifier,
    VerifierOptions,
};

/// A flatbuffers string read as raw bytes.
pub(super) type Bytes<'a> = ForwardsUOffset<Vector<'a, u8>>;
/// A vector of scalars.
pub(super) type Scalars<'a, T> = ForwardsUOffset<Vector<'a, T>>;
/// A vector of tables.
pub(super) type Tables<'a, T> = ForwardsUOffset<Vector<'a, ForwardsUOffset<T>>>;

/// Field id → vtable offset (the first two vtable slots hold the vtable and table sizes).
const fn voffset(id: u16) -> u16 {
    4 + 2 * id
}

macro_rules! fb_table {
    (
        $(#[$meta:meta])*
        $name:ident<$lt:lifetime> {
            $( $kind:ident $field:ident ($id:literal) : $ty:ty $(= $default:expr)? ; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy)]
        pub(super) struct $name<$lt>(Table<$lt>);

        impl<$lt> Follow<$lt> for $name<$lt> {
            type Inner = $name<$lt>;
            unsafe fn follow(buf: &$lt [u8], loc: usize) -> Self::Inner {
                // SAFETY: forwarded to the caller, who guarantees a verified table at `loc`.
                $name(unsafe { Table::new(buf, loc) })
            }
        }

        impl<$lt> Verifiable for $name<$lt> {
            fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
                v.visit_table(pos)?
                    $( .visit_field::<$ty>(stringify!($field), voffset($id), false)? )*
                    .finish();
                Ok(())
            }
        }

        #[allow(dead_code)]
        impl<$lt> $name<$lt> {
            $( fb_table!(@get $lt $kind $field $id $ty $(= $default)?); )*

            /// Whether the field with this id is set, without reading (or verifying) it.
            pub(super) fn has_field(&self, id: u16) -> bool {
                self.0.vtable().get(voffset(id)) != 0
            }
        }
    };
    (@get $lt:lifetime scalar $field:ident $id:literal $ty:ty = $default:expr) => {
        pub(super) fn $field(&self) -> $ty {
            // SAFETY: the Verifiable impl above checked this field as `$ty`.
            unsafe { self.0.get::<$ty>(voffset($id), Some($default)) }.unwrap_or($default)
        }
    };
    (@get $lt:lifetime offset $field:ident $id:literal $ty:ty) => {
        pub(super) fn $field(&self) -> Option<<$ty as Follow<$lt>>::Inner> {
            // SAFETY: the Verifiable impl above checked this field as `$ty`.
            unsafe { self.0.get::<$ty>(voffset($id), None) }
        }
    };
}

fb_table! {
    Model<'a> {
        scalar version(0): u32 = 0;
        offset operator_codes(1): Tables<'a, OperatorCode<'a>>;
        offset subgraphs(2): Tables<'a, SubGraph<'a>>;
        offset description(3): Bytes<'a>;
        offset buffers(4): Tables<'a, Buffer<'a>>;
        offset metadata(6): Tables<'a, Metadata<'a>>;
        offset signature_defs(7): Tables<'a, SignatureDef<'a>>;
    }
}

fb_table! {
    OperatorCode<'a> {
        scalar deprecated_builtin_code(0): i8 = 0;
        offset custom_code(1): Bytes<'a>;
        scalar version(2): i32 = 1;
        scalar builtin_code(3): i32 = 0;
    }
}

fb_table! {
    SubGraph<'a> {
        offset tensors(0): Tables<'a, Tensor<'a>>;
        offset inputs(1): Scalars<'a, i32>;
        offset outputs(2): Scalars<'a, i32>;
        offset operators(3): Tables<'a, Operator<'a>>;
        offset name(4): Bytes<'a>;
    }
}

/// Field id of `Tensor.sparsity`, whose content mlgate does not read.
pub(super) const TENSOR_SPARSITY: u16 = 6;

fb_table! {
    Tensor<'a> {
        offset shape(0): Scalars<'a, i32>;
        scalar tensor_type(1): i8 = 0;
        scalar buffer(2): u32 = 0;
        offset name(3): Bytes<'a>;
        offset quantization(4): ForwardsUOffset<QuantizationParameters<'a>>;
        scalar is_variable(5): bool = false;
        offset shape_signature(7): Scalars<'a, i32>;
        scalar has_rank(8): bool = false;
    }
}

fb_table! {
    QuantizationParameters<'a> {
        offset min(0): Scalars<'a, f32>;
        offset max(1): Scalars<'a, f32>;
        offset scale(2): Scalars<'a, f32>;
        offset zero_point(3): Scalars<'a, i64>;
        // The union's discriminant only; its value (id 5) is never read.
        scalar details_type(4): u8 = 0;
        scalar quantized_dimension(6): i32 = 0;
    }
}

fb_table! {
    Operator<'a> {
        scalar opcode_index(0): u32 = 0;
        offset inputs(1): Scalars<'a, i32>;
        offset outputs(2): Scalars<'a, i32>;
        offset intermediates(8): Scalars<'a, i32>;
    }
}

fb_table! {
    Buffer<'a> {
        offset data(0): Scalars<'a, u8>;
        scalar offset(1): u64 = 0;
        scalar size(2): u64 = 0;
    }
}

fb_table! {
    Metadata<'a> {
        offset name(0): Bytes<'a>;
        scalar buffer(1): u32 = 0;
    }
}

fb_table! {
    TensorMap<'a> {
        offset name(0): Bytes<'a>;
        scalar tensor_index(1): u32 = 0;
    }
}

fb_table! {
    SignatureDef<'a> {
        offset inputs(0): Tables<'a, TensorMap<'a>>;
        offset outputs(1): Tables<'a, TensorMap<'a>>;
        offset signature_key(2): Bytes<'a>;
        scalar subgraph_index(4): u32 = 0;
    }
}

/// The largest flatbuffer the format allows (32-bit signed offsets); the converter moves
/// weights out of the flatbuffer (`Buffer.offset`/`size`) for anything bigger.
pub(super) const MAX_FLATBUFFER_SIZE: usize = i32::MAX as usize;

/// Limits sized for real models yet bounding the work a hostile file can cause.
///
/// A flatbuffer may point many offsets at one table or vector, so verification (and the
/// structs built afterwards) could otherwise grow much larger than the file. Writers never
/// share tables, and every table costs at least 8 bytes (its soffset and the slot pointing at
/// it), so `len / 8` tables and an apparent size of a few times the file leave ample margin
/// for genuine models while keeping a crafted one linear in its size.
fn verifier_options(len: usize) -> VerifierOptions {
    VerifierOptions {
        // The schema nests at most ~6 tables deep along the fields read here.
        max_depth: 64,
        max_tables: len / 8 + 4096,
        max_apparent_size: len.saturating_mul(4).saturating_add(1 << 20),
        ignore_missing_null_terminator: true,
    }
}

/// Verifies `data` as a TFLite `Model` and returns its root table.
pub(super) fn verified_root(data: &[u8]) -> Result<Model<'_>, InvalidFlatbuffer> {
    let opts = verifier_options(data.len());
    flatbuffers::root_with_opts::<Model<'_>>(&opts, data)
}

/// Bytes of a verified string field, empty when absent.
pub(super) fn bytes<'a>(v: Option<Vector<'a, u8>>) -> &'a [u8] {
    v.map(|v| v.bytes()).unwrap_or_default()
}

/// A verified string field decoded lossily, empty when absent.
pub(super) fn string(v: Option<Vector<'_, u8>>) -> String {
    String::from_utf8_lossy(bytes(v)).into_owned()
}

/// A verified scalar vector copied out, empty when absent.
pub(super) fn to_vec<'a, T>(v: Option<Vector<'a, T>>) -> Vec<T::Inner>
where
    T: Follow<'a> + 'a,
{
    v.map(|v| v.iter().collect()).unwrap_or_default()
}
