//! Where the CPU went during a run: each process's user+system time (`/proc/<pid>/stat`) and how
//! busy the whole machine was (`/proc/stat`), sampled before and after. On a box where the
//! server, Redis, the Mongo-wire server and the tool share the cores, CPU time per message by
//! process says what limits the rate better than the rate alone, and the machine's busy share
//! (with the time stolen by the hypervisor) says whether the run was CPU-bound at all.

use std::fmt;
use std::time::{Duration, Instant};

/// A process whose CPU time a run reports, by role ("server", "redis", …).
#[derive(Debug, Clone)]
pub struct Watched {
    pub role: &'static str,
    pub pid: u32,
}

/// CPU counters at one instant.
#[derive(Debug, Clone)]
pub struct Sample {
    at: Instant,
    /// Clock ticks of user+system time per watched process (`None`: unreadable, e.g. gone).
    ticks: Vec<(&'static str, Option<u64>)>,
    machine: Option<MachineTicks>,
}

/// The first line of `/proc/stat`, summed over all CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MachineTicks {
    /// CPUs listed (`cpuN` lines): what the shares are shares of.
    cpus: usize,
    total: u64,
    /// Neither idle nor waiting for I/O nor stolen.
    busy: u64,
    steal: u64,
}

impl Sample {
    pub fn take(watched: &[Watched]) -> Sample {
        Sample {
            at: Instant::now(),
            ticks: watched
                .iter()
                .map(|w| (w.role, process_ticks(w.pid)))
                .collect(),
            machine: machine_ticks(),
        }
    }

    /// What was used between `self` and `later`.
    pub fn until(&self, later: &Sample) -> CpuUse {
        let tick = ticks_per_second();
        let processes = self
            .ticks
            .iter()
            .zip(&later.ticks)
            .filter_map(|((role, a), (_, b))| {
                let used = b.as_ref()?.checked_sub(*a.as_ref()?)?;
                Some((*role, Duration::from_secs_f64(used as f64 / tick)))
            })
            .collect();
        let machine = match (self.machine, later.machine) {
            (Some(a), Some(b)) if b.total > a.total => {
                let total = (b.total - a.total) as f64;
                Some(MachineUse {
                    busy: b.busy.saturating_sub(a.busy) as f64 / total,
                    steal: b.steal.saturating_sub(a.steal) as f64 / total,
                })
            }
            _ => None,
        };
        CpuUse {
            wall: later.at.saturating_duration_since(self.at),
            processes,
            machine,
            cpus: later.machine.map_or_else(
                || std::thread::available_parallelism().map_or(1, usize::from),
                |m| m.cpus,
            ),
        }
    }
}

/// CPU used over a run.
#[derive(Debug, Clone)]
pub struct CpuUse {
    pub wall: Duration,
    /// User+system time per watched process, in the order they were watched.
    pub processes: Vec<(&'static str, Duration)>,
    /// Shares of the machine's CPU time (all CPUs) over the run.
    pub machine: Option<MachineUse>,
    pub cpus: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct MachineUse {
    pub busy: f64,
    pub steal: f64,
}

impl CpuUse {
    /// All watched processes together.
    pub fn total(&self) -> Duration {
        self.processes.iter().map(|(_, used)| *used).sum()
    }

    /// "server 61 µs, redis 28 µs, … (sum 203 µs) per message; machine (2 CPUs) 93% busy (91%
    /// by these processes), 0% stolen, over 33.3 s".
    pub fn per_message(&self, messages: u64) -> String {
        let n = messages.max(1) as f64;
        let each: Vec<String> = self
            .processes
            .iter()
            .map(|(role, used)| format!("{role} {:.0} µs", used.as_secs_f64() * 1e6 / n))
            .collect();
        format!(
            "{} (sum {:.0} µs) per message; {self}",
            each.join(", "),
            self.total().as_secs_f64() * 1e6 / n
        )
    }
}

impl fmt::Display for CpuUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wall = self.wall.as_secs_f64();
        match self.machine {
            Some(m) if wall > 0.0 => {
                // What the watched processes used, as a share of the machine: the rest of
                // "busy" is someone else (a build, another service) disturbing the run.
                let watched = self.total().as_secs_f64() / (wall * self.cpus as f64);
                write!(
                    f,
                    "machine ({} CPUs) {:.0}% busy ({:.0}% by these processes), {:.0}% stolen, over {wall:.1} s",
                    self.cpus,
                    m.busy * 100.0,
                    watched * 100.0,
                    m.steal * 100.0,
                )
            }
            _ => write!(f, "over {wall:.1} s"),
        }
    }
}

/// The kernel's clock tick (`USER_HZ`, 100 on Linux), the unit of `/proc` CPU times.
fn ticks_per_second() -> f64 {
    match rustix::param::clock_ticks_per_second() {
        0 => 100.0,
        t => t as f64,
    }
}

/// utime + stime of `/proc/<pid>/stat`.
fn process_ticks(pid: u32) -> Option<u64> {
    parse_process_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The command name (field 2) is in parentheses and may hold spaces and parentheses itself, so
/// fields are counted from the last `)`: state is field 3, utime 14, stime 15.
fn parse_process_stat(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn machine_ticks() -> Option<MachineTicks> {
    parse_machine_stat(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// `cpu  user nice system idle iowait irq softirq steal guest guest_nice` (guest time is
/// already inside user and nice, so it is not added again).
fn parse_machine_stat(stat: &str) -> Option<MachineTicks> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [user, nice, system, idle, iowait, irq, softirq, steal] = v[..] else {
        return None;
    };
    let total = user + nice + system + idle + iowait + irq + softirq + steal;
    let cpus = stat
        .lines()
        .filter(|l| {
            l.strip_prefix("cpu")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count();
    Some(MachineTicks {
        cpus: cpus.max(1),
        total,
        busy: user + nice + system + irq + softirq,
        steal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_stat_fields_count_from_the_last_parenthesis() {
        let stat = "4242 (rill (serve) x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 731 204 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_process_stat(stat), Some(935));
        assert_eq!(parse_process_stat("4242 (rill) S 1 2"), None);
        assert_eq!(parse_process_stat("garbage"), None);
    }

    #[test]
    fn machine_stat_splits_busy_idle_and_stolen() {
        let stat = "cpu  100 5 50 800 20 3 2 20 7 0\ncpu0 50 2 25 400 10 1 1 10 3 0\ncpu1 50 3 25 400 10 2 1 10 4 0\nintr 1 2\n";
        let m = parse_machine_stat(stat).unwrap();
        assert_eq!(
            m,
            MachineTicks {
                cpus: 2,
                total: 1000,
                busy: 160,
                steal: 20
            }
        );
        assert_eq!(parse_machine_stat("cpu0 1 2 3\n"), None);
    }

    #[test]
    fn this_process_is_seen_using_the_cpu_it_burns() {
        let me = [Watched {
            role: "tool",
            pid: std::process::id(),
        }];
        let before = Sample::take(&me);
        // Burn CPU until at least three ticks show (a tick is 10 ms); bounded by 10 s.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut x = 0u64;
        while process_ticks(std::process::id()) < before.ticks[0].1.map(|t| t + 3)
            && Instant::now() < deadline
        {
            for i in 0..100_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
        }
        std::hint::black_box(x);
        let used = before.until(&Sample::take(&me));
        assert_eq!(used.processes.len(), 1);
        let (role, cpu) = used.processes[0];
        assert_eq!(role, "tool");
        assert!(cpu >= Duration::from_millis(30), "{cpu:?}");
        // Ticks, not milliseconds: at most every CPU busy for the whole wall time.
        assert!(
            cpu <= used.wall * used.cpus as u32 + Duration::from_millis(50),
            "{used:?}"
        );
        let machine = used.machine.expect("/proc/stat readable");
        assert!(machine.busy > 0.0 && machine.busy <= 1.0, "{machine:?}");
        let line = used.per_message(1000);
        assert!(line.starts_with("tool "), "{line}");
        assert!(line.contains("per message; machine ("), "{line}");
    }
}
