//! Friends and blacklists: OpenIM 3.8's relation service (`internal/rpc/relation`), with its
//! argument checks (the protocol's `Check()` methods first, then the service's own), codes and
//! quirks.
//!
//! Every change is an entity event committed under the pair's single-chat conversation id
//! (`App::commit`), carrying the resulting rows; the version logs it records answer the SDK's
//! incremental sync ([`sync`]). The send path checks blacklists and friendships through a Redis
//! cache ([`cache`]) that every applied change invalidates.

mod blacks;
mod cache;
mod convert;
mod notices;
mod queries;
mod relations;
mod requests;
mod sync;

use crate::{App, AppError, Caller};
use rill_core::ErrCode;
use rill_core::entity::{Change, EntityEvent, Rev};
use std::collections::HashSet;

/// OpenIM's `constant.ParamMaxLength`: most id lists a request may carry.
const PARAM_MAX_LENGTH: usize = 1000;

/// OpenIM's addSource values.
const ADD_SOURCE_IMPORT: i32 = 1;
const ADD_SOURCE_APPLY: i32 = 2;

fn require(value: &str, what: &str) -> Result<(), AppError> {
    if value.is_empty() {
        Err(AppError::args(format!("{what} is empty")))
    } else {
        Ok(())
    }
}

/// OpenIM's "O" rule for a request naming `user_id` (non-empty).
fn owner(caller: &Caller, user_id: &str, what: &str) -> Result<(), AppError> {
    require(user_id, what)?;
    caller.check_self_or_admin(user_id)
}

fn has_duplicates(ids: &[String]) -> bool {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter().any(|id| !seen.insert(id.as_str()))
}

fn not_found(what: impl Into<String>) -> AppError {
    AppError::coded(ErrCode::RecordNotFound, what)
}

impl App {
    /// OpenIM's `userClient.CheckUser`: every (distinct) id must be registered, else 1004.
    async fn check_users(&self, ids: &[String]) -> Result<(), AppError> {
        let mut distinct: Vec<String> = ids.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let found = self.user_briefs(&distinct).await?;
        match distinct.iter().find(|id| !found.contains_key(*id)) {
            Some(missing) => Err(not_found(format!("user not found: {missing}"))),
            None => Ok(()),
        }
    }

    /// The stored profiles of `ids` (missing users are absent).
    async fn users_by_id(&self, ids: &[String]) -> Result<convert::Users, AppError> {
        let mut distinct: Vec<String> = ids.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let docs = rill_store::users::find(self.store().database(), &distinct).await?;
        Ok(docs.into_iter().map(|d| (d.user_id.clone(), d)).collect())
    }

    /// Commits the changes of the pair (`a`, `b`) as one entity event under their single-chat
    /// conversation id.
    async fn commit_pair(
        &self,
        caller: &Caller,
        a: &str,
        b: &str,
        changes: Vec<Change>,
    ) -> Result<Rev, AppError> {
        self.commit(
            &rill_core::conversation::single(a, b),
            EntityEvent {
                operator_user_id: caller.user_id.clone(),
                changes,
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_found() {
        assert!(has_duplicates(&["a".into(), "b".into(), "a".into()]));
        assert!(!has_duplicates(&["a".into(), "b".into()]));
    }
}
