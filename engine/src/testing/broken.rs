//! Deliberately broken behaviours, so simulation campaigns can show that
//! they catch real bugs (`keel-sim --broken KIND`, `ci/sim.sh --broken
//! KIND`; see docs/SIMULATION.md, "Does it find bugs?").
//!
//! Two gates keep them out of anything real:
//!
//! * **Compile time.** The bugs exist only in a simulator build
//!   (`--cfg madsim`) of this crate with the `broken-builds` feature, which
//!   keel-sim turns on in its madsim builds only. Anywhere else
//!   [`COMPILED_IN`] is `false` and [`is_on`] is the constant `false`, so
//!   the buggy branches are dead code: a release of `keel` cannot contain
//!   them.
//! * **Run time.** Where they are compiled in, every bug is off until
//!   [`switch_on`] names it; keel-sim calls it only for `--broken KIND`,
//!   once, before its seed starts, and reports [`active`] with every
//!   verdict so a campaign that did not ask for a bug fails if one is on.

use std::fmt;
use std::str::FromStr;

/// One deliberately broken behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bug {
    /// Linearizable reads are answered from the member's local state
    /// without ReadIndex (stale on a partitioned or lagging member).
    StaleReads,
    /// A watch resumed after a reconnect starts one revision late (one
    /// event dropped). In the client library (`keel-server`).
    WatchResume,
    /// Lease keep-alives are acknowledged by whichever member receives
    /// them, from its own clock, without raft (the leader never hears of
    /// them and expires the lease).
    LocalKeepalive,
}

impl Bug {
    /// Every bug, in the order the docs list them.
    pub const ALL: [Bug; 3] = [Bug::StaleReads, Bug::WatchResume, Bug::LocalKeepalive];

    /// The name `--broken` takes: `stale-reads`, `watch-resume`,
    /// `local-keepalive`.
    pub fn name(self) -> &'static str {
        match self {
            Bug::StaleReads => "stale-reads",
            Bug::WatchResume => "watch-resume",
            Bug::LocalKeepalive => "local-keepalive",
        }
    }

    /// Whether the code should misbehave this way: [`is_on`].
    #[inline]
    pub fn is_on(self) -> bool {
        is_on(self)
    }

    /// The switch's value for this bug (0 is "none").
    #[cfg_attr(not(all(madsim, feature = "broken-builds")), allow(dead_code))]
    fn code(self) -> u8 {
        match self {
            Bug::StaleReads => 1,
            Bug::WatchResume => 2,
            Bug::LocalKeepalive => 3,
        }
    }
}

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a [`Bug`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown broken behaviour {0:?} (stale-reads, watch-resume, local-keepalive)")]
pub struct UnknownBug(pub String);

impl FromStr for Bug {
    type Err = UnknownBug;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Bug::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| UnknownBug(s.to_string()))
    }
}

/// Whether this build contains the bugs at all: a simulator build
/// (`--cfg madsim`) with the `broken-builds` feature.
pub const COMPILED_IN: bool = cfg!(all(madsim, feature = "broken-builds"));

/// [`switch_on`] in a build without the bugs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "this build has no deliberately broken behaviours: they need a simulator \
     build (--cfg madsim) with keel-engine's broken-builds feature (keel-sim's madsim builds)"
)]
pub struct NotCompiledIn;

/// The process-wide switch: 0, or the [`Bug::code`] of the one bug on.
#[cfg(all(madsim, feature = "broken-builds"))]
static ACTIVE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Turns `bug` on for the rest of this process (replacing any other).
/// Only keel-sim calls it, for `--broken KIND`.
pub fn switch_on(bug: Bug) -> Result<(), NotCompiledIn> {
    #[cfg(all(madsim, feature = "broken-builds"))]
    {
        ACTIVE.store(bug.code(), std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
    #[cfg(not(all(madsim, feature = "broken-builds")))]
    {
        let _ = bug;
        Err(NotCompiledIn)
    }
}

/// The bug switched on in this process, if any (always `None` without
/// [`COMPILED_IN`]).
pub fn active() -> Option<Bug> {
    #[cfg(all(madsim, feature = "broken-builds"))]
    {
        let code = ACTIVE.load(std::sync::atomic::Ordering::Relaxed);
        Bug::ALL.into_iter().find(|b| b.code() == code)
    }
    #[cfg(not(all(madsim, feature = "broken-builds")))]
    {
        None
    }
}

/// Whether the code should misbehave as `bug` does: the constant `false`
/// unless [`COMPILED_IN`], then whether [`switch_on`] named it.
/// [`Bug::is_on`] says the same.
#[inline]
pub fn is_on(bug: Bug) -> bool {
    #[cfg(all(madsim, feature = "broken-builds"))]
    {
        ACTIVE.load(std::sync::atomic::Ordering::Relaxed) == bug.code()
    }
    #[cfg(not(all(madsim, feature = "broken-builds")))]
    {
        let _ = bug;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for bug in Bug::ALL {
            assert_eq!(bug.name().parse::<Bug>(), Ok(bug));
        }
        assert!("stale".parse::<Bug>().is_err());
    }

    #[test]
    fn off_unless_switched_on() {
        // Tests never switch a bug on, and this process is shared by every
        // test of the crate: every bug must read as off.
        assert_eq!(active(), None);
        for bug in Bug::ALL {
            assert!(!is_on(bug));
        }
    }

    #[cfg(not(all(madsim, feature = "broken-builds")))]
    #[test]
    fn not_compiled_in_outside_the_simulator() {
        const { assert!(!COMPILED_IN) };
        assert_eq!(switch_on(Bug::StaleReads), Err(NotCompiledIn));
        assert!(!is_on(Bug::StaleReads));
    }
}
