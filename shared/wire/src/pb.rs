//! Generated protobuf types, one module per OpenIM package (`openim.sdkws` → `pb::sdkws`).
//! The modules are siblings because prost refers across packages with `super::<package>`.
//!
//! Rust field names are prost's snake_case of the proto names (`sendID` → `send_id`,
//! `userIDs` → `user_i_ds`); the JSON keys stay the proto names.

#![allow(clippy::all, missing_docs, rust_2018_idioms)]

macro_rules! package {
    ($name:ident, $file:literal) => {
        pub mod $name {
            include!(concat!(env!("OUT_DIR"), "/", $file));
        }
    };
}

package!(protobuf, "openim.protobuf.rs");
package!(sdkws, "openim.sdkws.rs");
package!(msg, "openim.msg.rs");
package!(conversation, "openim.conversation.rs");
package!(push, "openim.push.rs");
package!(auth, "openim.auth.rs");
package!(user, "openim.user.rs");
package!(relation, "openim.relation.rs");
package!(group, "openim.group.rs");
package!(jssdk, "openim.jssdk.rs");
package!(msggateway, "openim.msggateway.rs");
