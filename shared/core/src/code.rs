//! OpenIM's error codes (protocol.md §1.2). Every layer maps its errors to one of these exactly
//! once, at the edge; the numeric values and `errMsg` names are part of the wire contract.

/// An OpenIM error code with its wire name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrCode {
    ServerInternal = 500,
    Args = 1001,
    NoPermission = 1002,
    DuplicateKey = 1003,
    RecordNotFound = 1004,
    UserIdNotFound = 1101,
    RegisteredAlready = 1102,
    GroupIdNotFound = 1201,
    GroupIdExisted = 1202,
    NotInGroupYet = 1203,
    DismissedAlready = 1204,
    GroupTypeNotSupport = 1205,
    GroupRequestHandled = 1206,
    CanNotAddYourself = 1301,
    BlockedByPeer = 1302,
    NotPeersFriend = 1303,
    RelationshipAlready = 1304,
    FriendRequestHandled = 1305,
    MessageHasReadDisable = 1401,
    MutedInGroup = 1402,
    MutedGroup = 1403,
    MsgAlreadyRevoke = 1404,
    TokenExpired = 1501,
    TokenInvalid = 1502,
    TokenMalformed = 1503,
    TokenNotValidYet = 1504,
    TokenUnknown = 1505,
    TokenKicked = 1506,
    TokenNotExist = 1507,
    ConnOverMaxNumLimit = 1601,
    ConnArgs = 1602,
    Database = 90002,
    Network = 90004,
    Data = 90007,
}

impl ErrCode {
    /// The numeric code as sent in `errCode`.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The short name OpenIM sends in `errMsg`.
    pub fn name(self) -> &'static str {
        use ErrCode::*;
        match self {
            ServerInternal => "ServerInternalError",
            Args => "ArgsError",
            NoPermission => "NoPermissionError",
            DuplicateKey => "DuplicateKeyError",
            RecordNotFound => "RecordNotFoundError",
            UserIdNotFound => "UserIDNotFoundError",
            RegisteredAlready => "RegisteredAlreadyError",
            GroupIdNotFound => "GroupIDNotFoundError",
            GroupIdExisted => "GroupIDExisted",
            NotInGroupYet => "NotInGroupYetError",
            DismissedAlready => "DismissedAlreadyError",
            GroupTypeNotSupport => "GroupTypeNotSupport",
            GroupRequestHandled => "GroupRequestHandled",
            CanNotAddYourself => "CanNotAddYourselfError",
            BlockedByPeer => "BlockedByPeer",
            NotPeersFriend => "NotPeersFriend",
            RelationshipAlready => "RelationshipAlreadyError",
            FriendRequestHandled => "FriendRequestHandled",
            MessageHasReadDisable => "MessageHasReadDisable",
            MutedInGroup => "MutedInGroup",
            MutedGroup => "MutedGroup",
            MsgAlreadyRevoke => "MsgAlreadyRevoke",
            TokenExpired => "TokenExpiredError",
            TokenInvalid => "TokenInvalidError",
            TokenMalformed => "TokenMalformedError",
            TokenNotValidYet => "TokenNotValidYetError",
            TokenUnknown => "TokenUnknownError",
            TokenKicked => "TokenKickedError",
            TokenNotExist => "TokenNotExistError",
            ConnOverMaxNumLimit => "ConnOverMaxNumLimit",
            ConnArgs => "args err, need token, sendID, platformID",
            Database => "DatabaseError",
            Network => "NetworkError",
            Data => "DataError",
        }
    }

    /// True for the token errors on which the Go SDK stops reconnecting.
    pub fn is_token_error(self) -> bool {
        (1501..=1507).contains(&self.code())
    }
}

impl std::fmt::Display for ErrCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code(), self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_match_openim() {
        assert_eq!(ErrCode::Args.code(), 1001);
        assert_eq!(ErrCode::Args.name(), "ArgsError");
        assert_eq!(ErrCode::TokenKicked.code(), 1506);
        assert!(ErrCode::TokenNotExist.is_token_error());
        assert!(!ErrCode::ConnArgs.is_token_error());
    }
}
