//! Compiles proto/openim/*.proto with protox (no protoc) and prost-build, and derives serde on
//! every message so that its JSON is what Go's encoding/json makes of OpenIM's generated structs:
//! keys are the proto field names verbatim, bytes are base64, wrapper messages are plain scalars,
//! empty maps are omitted, and `null` reads as the zero value.
//!
//! The serde attributes are computed per field from the descriptor set, so adding a message to a
//! .proto file needs no change here.

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FieldDescriptorProto};
use std::path::PathBuf;

const PROTO_DIR: &str = "proto";
const WRAPPER_PACKAGE: &str = ".openim.protobuf.";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(PROTO_DIR).join("openim");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "proto"))
        .collect();
    files.sort();
    println!("cargo:rerun-if-changed={PROTO_DIR}");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }

    let fds = protox::compile(&files, [PROTO_DIR])?;

    let mut config = prost_build::Config::new();
    // Go's encoding/json writes map keys sorted; a BTreeMap gives the same order for free.
    config.btree_map(["."]);

    for file in &fds.file {
        let package = file.package();
        for msg in &file.message_type {
            let fq = format!(".{package}.{}", msg.name());
            // prost-build applies a type attribute to nested types too (prefix match), so the
            // derive is registered for top-level messages only.
            config.type_attribute(
                &fq,
                "#[derive(::serde::Serialize, ::serde::Deserialize)]\n#[serde(default)]",
            );
            annotate_fields(&mut config, &fq, msg)?;
        }
    }

    config.compile_fds(fds)?;
    Ok(())
}

/// Registers the serde attribute of every field of `msg` and of its nested messages.
fn annotate_fields(
    config: &mut prost_build::Config,
    fq: &str,
    msg: &DescriptorProto,
) -> Result<(), String> {
    if is_map_entry(msg) {
        return Ok(());
    }
    for f in &msg.field {
        let attr = field_attribute(fq, msg, f)?;
        config.field_attribute(format!("{fq}.{}", f.name()), attr);
    }
    for nested in &msg.nested_type {
        annotate_fields(config, &format!("{fq}.{}", nested.name()), nested)?;
    }
    Ok(())
}

fn is_map_entry(msg: &DescriptorProto) -> bool {
    msg.options.as_ref().is_some_and(|o| o.map_entry())
}

/// The `#[serde(...)]` attribute of one field.
fn field_attribute(
    fq: &str,
    msg: &DescriptorProto,
    f: &FieldDescriptorProto,
) -> Result<String, String> {
    let name = f.name();
    let mut parts = vec![format!("rename = \"{name}\"")];
    // Go matches keys case-insensitively; accept the all-lowercase spelling too when it is
    // unambiguous within the message.
    let lower = name.to_lowercase();
    let same_lower = msg
        .field
        .iter()
        .filter(|o| o.name().to_lowercase() == lower)
        .count();
    if lower != name && same_lower == 1 {
        parts.push(format!("alias = \"{lower}\""));
    }

    let repeated = f.label() == Label::Repeated;
    let map_entry = if f.r#type() == Type::Message && repeated {
        msg.nested_type
            .iter()
            .find(|n| is_map_entry(n) && format!("{fq}.{}", n.name()) == f.type_name())
    } else {
        None
    };
    let err = |what: &str| format!("{fq}.{name}: {what} is not supported by build.rs");

    if let Some(entry) = map_entry {
        let value = entry
            .field
            .iter()
            .find(|v| v.name() == "value")
            .ok_or_else(|| err("a map entry without value"))?;
        // Go keeps `omitempty` on map fields only: an empty map is left out of the JSON.
        parts.push("skip_serializing_if = \"::std::collections::BTreeMap::is_empty\"".into());
        match value.r#type() {
            Type::Bytes => return Err(err("map of bytes")),
            t if is_integer(t) => parts.push("deserialize_with = \"crate::json::int_map\"".into()),
            _ => parts.push("deserialize_with = \"crate::json::null_default\"".into()),
        }
    } else if f.proto3_optional() {
        // `optional` scalars are Option<T>: null and absence already mean "not set".
    } else {
        match (f.r#type(), repeated) {
            (Type::Bytes, false) => parts.push("with = \"crate::json::base64\"".into()),
            (Type::Bytes, true) => return Err(err("repeated bytes")),
            (Type::Message, false) if f.type_name().starts_with(WRAPPER_PACKAGE) => {
                parts.push("with = \"crate::json::wrapper\"".into());
            }
            (Type::Message, false) => {} // Option<T>: null reads as None already.
            (Type::Message, true) if f.type_name().starts_with(WRAPPER_PACKAGE) => {
                return Err(err("repeated wrapper"));
            }
            (Type::Message, true) => {
                parts.push("deserialize_with = \"crate::json::null_default\"".into());
            }
            (t, false) if is_integer(t) => {
                parts.push("deserialize_with = \"crate::json::int\"".into());
            }
            (t, true) if is_integer(t) => {
                parts.push("deserialize_with = \"crate::json::int_vec\"".into());
            }
            (Type::String | Type::Bool | Type::Float | Type::Double, _) => {
                parts.push("deserialize_with = \"crate::json::null_default\"".into());
            }
            (t, _) => return Err(err(&format!("field type {t:?}"))),
        }
    }
    Ok(format!("#[serde({})]", parts.join(", ")))
}

fn is_integer(t: Type) -> bool {
    matches!(
        t,
        Type::Int64
            | Type::Uint64
            | Type::Int32
            | Type::Uint32
            | Type::Fixed64
            | Type::Fixed32
            | Type::Sfixed64
            | Type::Sfixed32
            | Type::Sint64
            | Type::Sint32
            | Type::Enum
    )
}
