//! OpenIM platform ids and their classes (protocol.md §2.5), which drive the multi-login policy.

/// A terminal platform as numbered by OpenIM (`platformID` 1..=11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    Ios = 1,
    Android = 2,
    Windows = 3,
    Osx = 4,
    Web = 5,
    MiniWeb = 6,
    Linux = 7,
    APad = 8,
    IPad = 9,
    Admin = 10,
    HarmonyOs = 11,
}

/// The class a platform belongs to; policy 4 kicks within a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlatformClass {
    Mobile,
    Pc,
    Web,
    MiniWeb,
    Pad,
    Admin,
    HarmonyOs,
}

impl Platform {
    pub fn from_id(id: i32) -> Option<Self> {
        use Platform::*;
        Some(match id {
            1 => Ios,
            2 => Android,
            3 => Windows,
            4 => Osx,
            5 => Web,
            6 => MiniWeb,
            7 => Linux,
            8 => APad,
            9 => IPad,
            10 => Admin,
            11 => HarmonyOs,
            _ => return None,
        })
    }

    pub fn id(self) -> i32 {
        self as i32
    }

    /// The name OpenIM uses in Redis keys (`UID_PID_TOKEN_STATUS:{userID}:{PlatformName}`).
    pub fn name(self) -> &'static str {
        use Platform::*;
        match self {
            Ios => "IOS",
            Android => "Android",
            Windows => "Windows",
            Osx => "OSX",
            Web => "Web",
            MiniWeb => "MiniWeb",
            Linux => "Linux",
            APad => "APad",
            IPad => "IPad",
            Admin => "Admin",
            HarmonyOs => "HarmonyOS",
        }
    }

    pub fn class(self) -> PlatformClass {
        use Platform::*;
        match self {
            Ios | Android => PlatformClass::Mobile,
            Windows | Osx | Linux => PlatformClass::Pc,
            Web => PlatformClass::Web,
            MiniWeb => PlatformClass::MiniWeb,
            APad | IPad => PlatformClass::Pad,
            Admin => PlatformClass::Admin,
            HarmonyOs => PlatformClass::HarmonyOs,
        }
    }

    /// iOS and Android connections count as "pushed online" for offline push decisions.
    pub fn is_mobile(self) -> bool {
        self.class() == PlatformClass::Mobile
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for id in 1..=11 {
            assert_eq!(Platform::from_id(id).map(Platform::id), Some(id));
        }
        assert_eq!(Platform::from_id(0), None);
        assert_eq!(Platform::from_id(12), None);
        assert_eq!(Platform::Web.class(), PlatformClass::Web);
    }
}
