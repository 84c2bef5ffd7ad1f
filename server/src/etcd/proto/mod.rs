//! etcd 3.4's protobuf messages, declared here by hand with etcd's package
//! names, field names and field numbers (`etcdserverpb`, `mvccpb`,
//! `authpb`), so that Go clients built from etcd's `.proto` files read
//! what Keel writes and the other way round. Each message is declared once,
//! with [`message!`], which gives it both its protobuf encoding (prost) and
//! etcd's gateway JSON ([`json::ProtoJson`]).
//!
//! The fields carry no doc comments of their own: each is the field of the
//! same name in etcd's `rpc.proto`, `kv.proto` or `auth.proto`, whose
//! comments are the documentation.

pub mod go_decode;
pub mod json;

/// Declares a protobuf message: the prost struct and its gateway JSON.
///
/// Each field is `TAG => name: kind`, optionally `as "protoName"` when the
/// proto name is not the Rust name. Kinds: `bytes`, `string`, `int64`,
/// `uint64`, `int32`, `uint32`, `bool`, `enumeration<E>` (an `i32` holding
/// `E`), `message<M>`, `repeated_message<M>`, `repeated_string`,
/// `repeated_bytes`, `repeated_enumeration<E>`, and `oneof<O>("path::O")`
/// whose TAG is the list of its members' tags (`"4, 5, 6"`).
macro_rules! message {
    (
        $(#[$meta:meta])*
        pub struct $name:ident = $full:literal { $($body:tt)* }
    ) => {
        $crate::etcd::proto::message!(@munch [$(#[$meta])* $name $full] [] [] $($body)*);
    };
    (@munch $head:tt [$($out:tt)*] [$($json:tt)*]
        $tag:tt => $field:ident : bytes $(as $proto:literal)?, $($rest:tt)*) => {
        $crate::etcd::proto::message!(@munch $head
            [$($out)* #[prost(bytes = "bytes", tag = $tag)] pub $field: ::bytes::Bytes,]
            [$($json)* [$field bytes [] $($proto)?]] $($rest)*);
    };
    (@munch $head:tt [$($out:tt)*] [$($json:tt)*]
        $tag:tt => $field:ident : string $(as $proto:literal)?, $($rest:tt)*) => {
        $crate::etcd::proto::message!(@munch $head
            [$($out)* #[prost(string, tag = $tag)] pub $field: ::std::string::String,]
            [$($json)* [$field string [] $($proto)?]] $($rest)*);
    };
    (@munch $head:tt [$($out:tt)*] [$($json:tt)*]
        $tag:tt => $field:ident : int64 $(as $proto:literal)?, $($rest:tt)*) => {
        $crate::etcd::proto::message!(@munch $head
            [$($out)* #[prost(int64, tag = $tag)] pub $field: i64,]
            [$($json)* [$field int64 [] $($proto)?]] $($rest)*);
    };
    (@munch $head:tt [$($out:tt)*] [$($json:tt)*]
        $tag:tt => $field:ident : uint64 $(as $proto:literal)?, $($rest:tt)*) => {
        $crate::etcd::proto::message!(@munch $head
            [$($out)* #[prost(uint64, tag = $tag)] pub $field: u64,]
            [$($json)* [$field uint64 [] $($proto)?]] $($rest)*);
    };
    (@munch $head:tt [$($out:tt)*] [$($json:tt)*]
        $tag:tt => $field:ident : uint32 $(as $proto:literal)?, $($rest:tt)*) => {
        $crate::etcd::proto::message!(@munch $head
            [$($out)* #[prost(uint32, tag = $tag)] pub $field: u32,]
            [$($json)* [$field uint32 [] $($proto)?]] $($rest)*);
    };
    (@munch $head:tt [$($out:tt)*] [$($json:tt)*]
        $tag:tt => $field:ident : bool $(as $proto:literal)?, $($rest:tt)*) => {
        $crate::etcd::proto::message!(@munch $head
            [$($out)* #[prost(bool, tag = $tag)] pub $field: bool,]
            [$($json)* [$field bool [] $($proto)?]] $($rest)*);
    };
    (@munch $head:tt [$($out:tt)*] [$($json:tt)*]
        $tag:tt => $field:ident : enumeration<$enum:ty> $(as $proto:literal)?, $($rest:tt)*) => {
        $crate::etcd::proto::message!(@munch $head
            [$($out)* #[prost(int32, tag = $tag)] pub $field: i32,]
            [$($json)* [$field enumeration [$enum] $($proto)?]] $($rest)*);
    };
    (@munch $head:tt [$($out:tt)*] [$($json:tt)*]
        $tag:tt => $field:ident : message<$msg:ty> $(as $proto:literal)?, $($rest:tt)*) => {
        $crate::etcd::proto::message!(@munch $head
            [$($out)* #[prost(message, optional, tag = $tag)] pub $field: ::std::option::Option<$msg>,]
            [$($json)* [$field message [] $($proto)?]] $($rest)*);
    };
    (@munch $head:tt [$($out:tt)*] [$($json:tt)*]
        $tag:tt => $field:ident : repeated_message<$msg:ty> $(as $proto:literal)?, $($rest:tt)*) => {
        $crate::etcd::proto::message!(@munch $head
            [$($out)* #[prost(message, repeated, tag = $tag)] pub $field: ::std::vec::Vec<$msg>,]
            [$($json)* [$field repeated_message [] $($proto)?]] $($rest)*);
    };
    (@munch $head:tt [$($out:tt)*] [$($json:tt)*]
        $tag:tt => $field:ident : repeated_string $(as $proto:literal)?, $($rest:tt)*) => {
        $crate::etcd::proto::message!(@munch $head
            [$($out)* #[prost(string, repeated, tag = $tag)] pub $field: ::std::vec::Vec<::std::string::String>,]
            [$($json)* [$field repeated_string [] $($proto)?]] $($rest)*);
    };
    (@munch $head:tt [$($out:tt)*] [$($json:tt)*]
        $tag:tt => $field:ident : repeated_bytes $(as $proto:literal)?, $($rest:tt)*) => {
        $crate::etcd::proto::message!(@munch $head
            [$($out)* #[prost(bytes = "bytes", repeated, tag = $tag)] pub $field: ::std::vec::Vec<::bytes::Bytes>,]
            [$($json)* [$field repeated_bytes [] $($proto)?]] $($rest)*);
    };
    (@munch $head:tt [$($out:tt)*] [$($json:tt)*]
        $tag:tt => $field:ident : repeated_enumeration<$enum:ty> $(as $proto:literal)?, $($rest:tt)*) => {
        $crate::etcd::proto::message!(@munch $head
            [$($out)* #[prost(int32, repeated, tag = $tag)] pub $field: ::std::vec::Vec<i32>,]
            [$($json)* [$field repeated_enumeration [$enum] $($proto)?]] $($rest)*);
    };
    (@munch $head:tt [$($out:tt)*] [$($json:tt)*]
        $tags:tt => $field:ident : oneof<$oneof:ty>($path:tt), $($rest:tt)*) => {
        $crate::etcd::proto::message!(@munch $head
            [$($out)* #[prost(oneof = $path, tags = $tags)] pub $field: ::std::option::Option<$oneof>,]
            [$($json)* [$field oneof []]] $($rest)*);
    };
    (@munch [$(#[$meta:meta])* $name:ident $full:literal] [$($out:tt)*]
        [$([$field:ident $kind:ident [$($arg:ty)?] $($proto:literal)?])*]) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, ::prost::Message)]
        #[allow(missing_docs)]
        pub struct $name { $($out)* }

        impl $crate::etcd::proto::json::ProtoJson for $name {
            const NAME: &'static str = $full;

            #[allow(unused_variables)]
            fn write_fields(&self, w: &mut $crate::etcd::proto::json::ObjectWriter<'_>) {
                $(
                    $crate::etcd::proto::json::$kind::write $(::<$arg>)? (
                        w,
                        $crate::etcd::proto::proto_name!($field $($proto)?),
                        &self.$field,
                    );
                )*
            }

            #[allow(unused_variables)]
            fn read_fields(
                &mut self,
                fields: &mut $crate::etcd::proto::json::Fields<'_>,
                depth: usize,
            ) -> ::std::result::Result<(), $crate::etcd::proto::json::JsonError> {
                // jsonpb's order: the struct's fields as declared (a oneof
                // by its own name), then the oneofs' members.
                $(
                    $crate::etcd::proto::message!(@read self fields depth
                        $field $kind [$($arg)?] $($proto)?);
                )*
                $(
                    $crate::etcd::proto::message!(@members self fields depth $field $kind);
                )*
                Ok(())
            }
        }
    };
    (@read $self:ident $fields:ident $depth:ident $field:ident oneof []) => {
        if let Some(raw) = $fields.take_exact(stringify!($field)) {
            $crate::etcd::proto::json::oneof_itself(
                <Self as $crate::etcd::proto::json::ProtoJson>::NAME,
                stringify!($field),
                raw,
            )?;
        }
    };
    (@read $self:ident $fields:ident $depth:ident
        $field:ident $kind:ident [$($arg:ty)?] $($proto:literal)?) => {
        if let Some(raw) = $fields.take($crate::etcd::proto::proto_name!($field $($proto)?)) {
            $self.$field = $crate::etcd::proto::json::$kind::read $(::<$arg>)? (raw, $depth)?;
        }
    };
    (@members $self:ident $fields:ident $depth:ident $field:ident oneof) => {
        if let Some(member) =
            $crate::etcd::proto::json::ProtoOneof::read_members($fields, $depth)?
        {
            $self.$field = member;
        }
    };
    (@members $self:ident $fields:ident $depth:ident $field:ident $kind:ident) => {};
}

/// A field's proto name: the one given with `as`, else the Rust name.
macro_rules! proto_name {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident $proto:literal) => {
        $proto
    };
}

/// Declares a protobuf enum with its value names.
macro_rules! proto_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident = $full:literal {
            $($variant:ident = $value:literal => $text:literal),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(i32)]
        #[allow(missing_docs)]
        pub enum $name {
            $($variant = $value),*
        }

        impl $name {
            /// The variant with this number, if any.
            pub fn from_i32(value: i32) -> Option<Self> {
                match value {
                    $($value => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl $crate::etcd::proto::json::ProtoEnum for $name {
            const NAME: &'static str = $full;

            fn value_name(value: i32) -> Option<&'static str> {
                match value {
                    $($value => Some($text),)*
                    _ => None,
                }
            }

            fn value_of(name: &str) -> Option<i32> {
                match name {
                    $($text => Some($value),)*
                    _ => None,
                }
            }
        }
    };
}

/// Declares a oneof: each member `TAG => Variant(kind) as "proto_name"`,
/// kinds `int64`, `bytes` or `message<M>`.
macro_rules! oneof {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($body:tt)* }
    ) => {
        $crate::etcd::proto::oneof!(@munch [$(#[$meta])* $name] [] [] $($body)*);
    };
    (@munch $head:tt [$($out:tt)*] [$($json:tt)*]
        $tag:tt => $variant:ident(int64) as $proto:literal, $($rest:tt)*) => {
        $crate::etcd::proto::oneof!(@munch $head
            [$($out)* #[prost(int64, tag = $tag)] $variant(i64),]
            [$($json)* [$variant int64 $proto]] $($rest)*);
    };
    (@munch $head:tt [$($out:tt)*] [$($json:tt)*]
        $tag:tt => $variant:ident(bytes) as $proto:literal, $($rest:tt)*) => {
        $crate::etcd::proto::oneof!(@munch $head
            [$($out)* #[prost(bytes = "bytes", tag = $tag)] $variant(::bytes::Bytes),]
            [$($json)* [$variant bytes $proto]] $($rest)*);
    };
    (@munch $head:tt [$($out:tt)*] [$($json:tt)*]
        $tag:tt => $variant:ident(message<$msg:ty>) as $proto:literal, $($rest:tt)*) => {
        $crate::etcd::proto::oneof!(@munch $head
            [$($out)* #[prost(message, tag = $tag)] $variant($msg),]
            [$($json)* [$variant message $proto]] $($rest)*);
    };
    (@munch [$(#[$meta:meta])* $name:ident] [$($out:tt)*]
        [$([$variant:ident $kind:ident $proto:literal])*]) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, ::prost::Oneof)]
        #[allow(missing_docs)]
        pub enum $name { $($out)* }

        impl $crate::etcd::proto::json::ProtoOneof for $name {
            fn write_field(&self, w: &mut $crate::etcd::proto::json::ObjectWriter<'_>) {
                match self {
                    $($name::$variant(value) => {
                        $crate::etcd::proto::oneof!(@encode w $proto $kind value);
                    })*
                }
            }

            #[allow(unused_variables)]
            fn read_members(
                fields: &mut $crate::etcd::proto::json::Fields<'_>,
                depth: usize,
            ) -> ::std::result::Result<
                ::std::option::Option<::std::option::Option<Self>>,
                $crate::etcd::proto::json::JsonError,
            > {
                let mut found = None;
                $(
                    if let Some(raw) = fields.take($proto) {
                        found = Some($crate::etcd::proto::oneof!(@decode raw depth $kind)
                            .map($name::$variant));
                    }
                )*
                Ok(found)
            }
        }
    };
    (@encode $w:ident $proto:literal int64 $value:ident) => {
        $crate::etcd::proto::json::int64::encode($w.key($proto), $value)
    };
    (@encode $w:ident $proto:literal bytes $value:ident) => {
        $crate::etcd::proto::json::bytes::encode($w.key($proto), $value)
    };
    (@encode $w:ident $proto:literal message $value:ident) => {
        $crate::etcd::proto::json::write_message($w.key($proto), $value)
    };
    (@decode $raw:ident $depth:ident int64) => {
        Some($crate::etcd::proto::json::int64::read($raw, $depth)?)
    };
    // etcd's Go code does not send a bytes or message member given as
    // null: the oneof stays unset.
    (@decode $raw:ident $depth:ident bytes) => {
        if $crate::etcd::proto::go_decode::Kind::of($raw)
            == $crate::etcd::proto::go_decode::Kind::Null
        {
            None
        } else {
            Some($crate::etcd::proto::json::bytes::read($raw, $depth)?)
        }
    };
    (@decode $raw:ident $depth:ident message) => {
        $crate::etcd::proto::json::message::read($raw, $depth)?
    };
}

pub(crate) use {message, oneof, proto_name};

pub mod authpb;
pub mod etcdserverpb;
pub mod health;
pub mod mvccpb;

#[cfg(test)]
mod tests;
