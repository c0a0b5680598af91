//! Whether any string in a value is unsafe to draw, found by walking the
//! value with serde without writing anything: a serializer that looks only
//! at strings and stops at the first unsafe one.

use serde::Serialize;
use serde::ser::{
    SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant,
};

use super::super::sanitize;

/// Every string in `value` (map keys and chars too) is clean. A value that
/// cannot be walked counts as unclean.
pub(super) fn all_clean<T: Serialize + ?Sized>(value: &T) -> bool {
    value.serialize(Finder).is_ok()
}

/// Stops the walk: an unsafe string, or a value serde could not walk.
#[derive(Debug)]
pub(super) struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unsafe text")
    }
}

impl std::error::Error for Stop {}

impl serde::ser::Error for Stop {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Stop
    }
}

#[derive(Clone, Copy)]
struct Finder;

type Done = Result<(), Stop>;

fn text(s: &str) -> Done {
    if sanitize::is_clean(s) {
        Ok(())
    } else {
        Err(Stop)
    }
}

impl serde::Serializer for Finder {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = Finder;
    type SerializeTuple = Finder;
    type SerializeTupleStruct = Finder;
    type SerializeTupleVariant = Finder;
    type SerializeMap = Finder;
    type SerializeStruct = Finder;
    type SerializeStructVariant = Finder;

    fn serialize_bool(self, _: bool) -> Done {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> Done {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> Done {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> Done {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> Done {
        Ok(())
    }
    fn serialize_i128(self, _: i128) -> Done {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> Done {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> Done {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> Done {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> Done {
        Ok(())
    }
    fn serialize_u128(self, _: u128) -> Done {
        Ok(())
    }
    fn serialize_f32(self, _: f32) -> Done {
        Ok(())
    }
    fn serialize_f64(self, _: f64) -> Done {
        Ok(())
    }
    fn serialize_char(self, c: char) -> Done {
        text(c.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, s: &str) -> Done {
        text(s)
    }
    fn serialize_bytes(self, _: &[u8]) -> Done {
        Ok(())
    }
    fn serialize_none(self) -> Done {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Done {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Done {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Done {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Done {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Done {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        v: &T,
    ) -> Done {
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Finder, Stop> {
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Finder, Stop> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Finder, Stop> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Finder, Stop> {
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Finder, Stop> {
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Finder, Stop> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Finder, Stop> {
        Ok(self)
    }
}

impl SerializeSeq for Finder {
    type Ok = ();
    type Error = Stop;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Done {
        v.serialize(Finder)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

impl SerializeTuple for Finder {
    type Ok = ();
    type Error = Stop;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Done {
        v.serialize(Finder)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

impl SerializeTupleStruct for Finder {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Done {
        v.serialize(Finder)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

impl SerializeTupleVariant for Finder {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Done {
        v.serialize(Finder)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

impl SerializeMap for Finder {
    type Ok = ();
    type Error = Stop;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Done {
        k.serialize(Finder)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Done {
        v.serialize(Finder)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

impl SerializeStruct for Finder {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, _: &'static str, v: &T) -> Done {
        v.serialize(Finder)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

impl SerializeStructVariant for Finder {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, _: &'static str, v: &T) -> Done {
        v.serialize(Finder)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn strings_anywhere_in_a_value_are_looked_at() {
        let evil = "Eve\u{1b}[2J".to_string();
        assert!(all_clean(&("a", 1u64, Some("b"), vec!['c'])));
        assert!(!all_clean(&Some(vec![evil.clone()])));
        assert!(!all_clean(&BTreeMap::from([(evil.clone(), 1)])));
        assert!(!all_clean(&BTreeMap::from([(1, evil.clone())])));
        assert!(!all_clean(&'\u{202E}'));
        assert!(!all_clean(&std::sync::Arc::new((0, evil))));
    }
}
