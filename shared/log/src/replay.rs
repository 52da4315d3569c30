//! Moving a group's position (`rill replay`): XGROUP SETID on partition logs. The normal
//! workers then re-project from there; there is no second implementation of any projection.

use crate::retention::StreamId;
use crate::{Log, LogError};

/// Where a group should resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// From the oldest entry still in the log.
    Start,
    /// From this entry id (inclusive): it and everything after it is delivered again.
    From(String),
    /// From this time (ms since the epoch, inclusive).
    FromTime(u64),
    /// Skip everything appended so far.
    End,
}

impl Position {
    /// Parses the CLI's `--from`: `start`/`0`, `end`/`$`, an entry id `<ms>-<n>`, or a bare
    /// number of milliseconds since the epoch.
    pub fn parse(s: &str) -> Result<Self, LogError> {
        match s {
            "start" | "0" | "0-0" | "-" => Ok(Self::Start),
            "end" | "$" => Ok(Self::End),
            _ if s.contains('-') => StreamId::parse(s).map(|_| Self::From(s.to_string())),
            _ => s.parse().map(Self::FromTime).map_err(|_| {
                LogError::Config(format!(
                    "--from: {s:?} is not start, end, an entry id or ms"
                ))
            }),
        }
    }

    /// The id to give XGROUP SETID: the group's last-delivered id, i.e. just before the first
    /// entry to deliver.
    fn setid_arg(&self) -> Result<String, LogError> {
        let first = match self {
            Self::Start => return Ok("0".into()),
            Self::End => return Ok("$".into()),
            Self::From(id) => StreamId::parse(id)?,
            Self::FromTime(ms) => StreamId(*ms, 0),
        };
        Ok(match first {
            StreamId(0, 0) => "0".into(),
            StreamId(ms, 0) => StreamId(ms - 1, u64::MAX).to_string(),
            StreamId(ms, n) => StreamId(ms, n - 1).to_string(),
        })
    }
}

/// Moves `group` on `partitions` (empty = all) to `from`. Entries already pending stay
/// pending (they are redelivered by the normal reclaim). Returns the partitions moved.
pub async fn set_group_position(
    log: &Log,
    group: &str,
    partitions: &[u32],
    from: &Position,
) -> Result<Vec<u32>, LogError> {
    let all: Vec<u32> = (0..log.topology().partitions).collect();
    let partitions = if partitions.is_empty() {
        &all[..]
    } else {
        partitions
    };
    if let Some(bad) = partitions.iter().find(|&&p| p >= log.topology().partitions) {
        return Err(LogError::Config(format!("partition {bad} does not exist")));
    }
    let id = from.setid_arg()?;
    let mut pipe = redis::pipe();
    for &p in partitions {
        pipe.cmd("XGROUP")
            .arg("SETID")
            .arg(log.partition_log(p))
            .arg(group)
            .arg(&id)
            .ignore();
    }
    let mut conn = log.conn();
    let () = pipe.query_async(&mut conn).await?;
    tracing::info!(
        group,
        ?from,
        partitions = partitions.len(),
        "group position moved"
    );
    Ok(partitions.to_vec())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Position;

    #[test]
    fn parse_and_predecessor() {
        let arg = |s: &str| Position::parse(s).unwrap().setid_arg().unwrap();
        assert_eq!(arg("start"), "0");
        assert_eq!(arg("$"), "$");
        assert_eq!(arg("1700000000000-3"), "1700000000000-2");
        assert_eq!(
            arg("1700000000000-0"),
            format!("1699999999999-{}", u64::MAX)
        );
        assert_eq!(arg("1700000000000"), format!("1699999999999-{}", u64::MAX));
        assert!(Position::parse("yesterday").is_err());
        assert!(Position::parse("a-b").is_err());
    }
}
