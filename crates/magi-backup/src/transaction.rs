//! The restore transaction: the order of a restore's steps and what undoes each, written once and tested
//! on its own. Until the swap nothing under the MAGI home has changed, so a failure there only discards the
//! staging area: the data are as they were. From the swap on, a failed step or a stack that does not come
//! back ready rolls back to the safety copy and waits for the stack again; a rollback that fails leaves the
//! replaced files in the safety copy for the next `magi-restore` to put back. The steps themselves (what
//! staging, swapping or waiting means) are [`Steps`]; [`crate::restore::Live`] carries them out on a real
//! stack.

use std::time::{Duration, Instant};

use crate::error::BackupError;

/// What a restore does, step by step.
pub trait Steps {
    /// Checks what can be checked before anything is touched (Qdrant's version, for one).
    fn preflight(&mut self) -> Result<(), BackupError>;
    /// Takes the safety directory and stages the archive's entries into it, verified.
    fn stage(&mut self) -> Result<(), BackupError>;
    /// Saves into the safety directory what the swap cannot put back by rename (Qdrant's collections).
    fn save(&mut self) -> Result<(), BackupError>;
    /// Removes the staging area of a restore that never swapped.
    fn discard(&mut self) -> Result<(), BackupError>;
    /// Stops the affected containers and swaps the staged paths in.
    fn swap(&mut self) -> Result<(), BackupError>;
    /// Starts the containers again.
    fn start(&mut self) -> Result<(), BackupError>;
    /// Loads what is restored through a service's API (Qdrant's collections).
    fn load(&mut self) -> Result<(), BackupError>;
    /// Waits for the stack to be ready: how long that took, or what it is still waiting for.
    fn wait(&mut self) -> Result<Duration, String>;
    /// Removes the safety copy of a restore that worked.
    fn confirm(&mut self) -> Result<(), BackupError>;
    /// Puts back what the swap replaced, from the safety copy.
    fn roll_back(&mut self) -> Result<(), BackupError>;
}

/// How a restore ended.
#[derive(Debug)]
pub enum Outcome {
    /// Restored, and the stack was ready after `waited`. `leftover` says why the safety copy could not be
    /// removed, if it could not.
    Restored {
        waited: Duration,
        leftover: Option<BackupError>,
    },
    /// A step before the swap failed: nothing under the home changed.
    Unchanged {
        error: BackupError,
        leftover: Option<BackupError>,
    },
    /// The restore failed after the swap (`why`) and what it replaced is back; `ready` says whether the
    /// stack came back on it.
    RolledBack {
        why: String,
        ready: Result<Duration, String>,
        leftover: Option<BackupError>,
    },
    /// The restore failed after the swap (`why`) and the rollback failed too (`error`): the replaced files
    /// are in the safety copy.
    Stranded { why: String, error: BackupError },
}

/// How long each step took, in order.
#[derive(Debug, Default, Clone)]
pub struct Phases(pub Vec<(&'static str, Duration)>);

impl Phases {
    /// Runs `f` as the phase `name`.
    pub fn time<T>(&mut self, name: &'static str, f: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = f();
        let took = started.elapsed();
        log::info!("{name}: {:.2}s", took.as_secs_f64());
        self.0.push((name, took));
        out
    }

    /// `stage 1.20s, swap 0.01s, …`
    pub fn describe(&self) -> String {
        self.0
            .iter()
            .map(|(n, d)| format!("{n} {:.2}s", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The phase names, for tests and logs.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|(n, _)| *n).collect()
    }
}

/// Carries out a restore's steps in order, undoing what must be undone when one fails.
pub fn run(steps: &mut impl Steps, phases: &mut Phases) -> Outcome {
    let before_swap = phases
        .time("preflight", || steps.preflight())
        .and_then(|()| phases.time("stage", || steps.stage()))
        .and_then(|()| phases.time("save_collections", || steps.save()));
    if let Err(error) = before_swap {
        return Outcome::Unchanged {
            error,
            leftover: steps.discard().err(),
        };
    }
    let applied = phases
        .time("swap", || steps.swap())
        .and_then(|()| phases.time("start", || steps.start()))
        .and_then(|()| phases.time("load_collections", || steps.load()));
    let ready = match applied {
        Ok(()) => phases.time("wait", || steps.wait()),
        Err(e) => Err(e.to_string()),
    };
    match ready {
        Ok(waited) => Outcome::Restored {
            waited,
            leftover: phases.time("confirm", || steps.confirm()).err(),
        },
        Err(why) => {
            log::error!("the restore did not take ({why}); rolling back to the safety copy");
            if let Err(error) = phases.time("roll_back", || steps.roll_back()) {
                return Outcome::Stranded { why, error };
            }
            let leftover = steps.discard().err();
            let ready = phases.time("wait_again", || steps.wait());
            Outcome::RolledBack {
                why,
                ready,
                leftover,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The transaction against scripted steps: each test makes one step fail and checks which steps ran,
    //! in which order, and how the restore ended.

    use super::*;

    /// Steps that record their calls and fail where told.
    #[derive(Default)]
    struct Script {
        calls: Vec<&'static str>,
        fail: Vec<&'static str>,
        /// `wait` fails this many times before it succeeds.
        not_ready: usize,
    }

    impl Script {
        fn failing(steps: &[&'static str]) -> Script {
            Script {
                fail: steps.to_vec(),
                ..Script::default()
            }
        }

        fn step(&mut self, name: &'static str) -> Result<(), BackupError> {
            self.calls.push(name);
            if self.fail.contains(&name) {
                Err(BackupError::Io {
                    action: name,
                    path: "/home/magi".into(),
                    source: std::io::Error::other("scripted failure"),
                })
            } else {
                Ok(())
            }
        }
    }

    impl Steps for Script {
        fn preflight(&mut self) -> Result<(), BackupError> {
            self.step("preflight")
        }
        fn stage(&mut self) -> Result<(), BackupError> {
            self.step("stage")
        }
        fn save(&mut self) -> Result<(), BackupError> {
            self.step("save")
        }
        fn discard(&mut self) -> Result<(), BackupError> {
            self.step("discard")
        }
        fn swap(&mut self) -> Result<(), BackupError> {
            self.step("swap")
        }
        fn start(&mut self) -> Result<(), BackupError> {
            self.step("start")
        }
        fn load(&mut self) -> Result<(), BackupError> {
            self.step("load")
        }
        fn wait(&mut self) -> Result<Duration, String> {
            self.calls.push("wait");
            if self.not_ready > 0 {
                self.not_ready -= 1;
                Err("open-webui: not answering".into())
            } else {
                Ok(Duration::from_millis(5))
            }
        }
        fn confirm(&mut self) -> Result<(), BackupError> {
            self.step("confirm")
        }
        fn roll_back(&mut self) -> Result<(), BackupError> {
            self.step("roll_back")
        }
    }

    fn run_script(script: &mut Script) -> (Outcome, Phases) {
        let mut phases = Phases::default();
        let outcome = run(script, &mut phases);
        (outcome, phases)
    }

    #[test]
    fn a_restore_that_works_runs_every_step_once_and_confirms() {
        let mut script = Script::default();
        let (outcome, phases) = run_script(&mut script);
        assert_eq!(
            script.calls,
            [
                "preflight",
                "stage",
                "save",
                "swap",
                "start",
                "load",
                "wait",
                "confirm"
            ]
        );
        assert!(matches!(outcome, Outcome::Restored { leftover: None, .. }));
        assert_eq!(
            phases.names(),
            [
                "preflight",
                "stage",
                "save_collections",
                "swap",
                "start",
                "load_collections",
                "wait",
                "confirm"
            ]
        );
    }

    #[test]
    fn a_failure_before_the_swap_discards_the_staging_and_touches_nothing() {
        for failing in ["preflight", "stage", "save"] {
            let mut script = Script::failing(&[failing]);
            let (outcome, _) = run_script(&mut script);
            let ran_up_to = script.calls.iter().position(|c| *c == failing).unwrap();
            assert_eq!(
                &script.calls[ran_up_to..],
                [failing, "discard"],
                "{failing}: {:?}",
                script.calls
            );
            for never in ["swap", "start", "roll_back", "confirm"] {
                assert!(!script.calls.contains(&never), "{failing}: {never} ran");
            }
            match outcome {
                Outcome::Unchanged { error, leftover } => {
                    assert!(error.to_string().contains("scripted failure"), "{error}");
                    assert!(leftover.is_none());
                }
                other => panic!("{failing}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_staging_area_that_cannot_be_removed_is_reported_with_the_failure() {
        let mut script = Script::failing(&["stage", "discard"]);
        let (outcome, _) = run_script(&mut script);
        assert!(matches!(
            outcome,
            Outcome::Unchanged {
                leftover: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn a_failure_from_the_swap_on_rolls_back_and_waits_for_the_old_data() {
        for failing in ["swap", "start", "load"] {
            let mut script = Script::failing(&[failing]);
            let (outcome, _) = run_script(&mut script);
            let at = script.calls.iter().position(|c| *c == failing).unwrap();
            assert_eq!(
                &script.calls[at..],
                [failing, "roll_back", "discard", "wait"],
                "{failing}"
            );
            assert!(!script.calls.contains(&"confirm"), "{failing}");
            match outcome {
                Outcome::RolledBack { why, ready, .. } => {
                    assert!(why.contains("scripted failure"), "{why}");
                    assert!(ready.is_ok());
                }
                other => panic!("{failing}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_stack_that_does_not_come_back_is_rolled_back() {
        let mut script = Script {
            not_ready: 1,
            ..Script::default()
        };
        let (outcome, phases) = run_script(&mut script);
        assert_eq!(
            &script.calls[script.calls.len() - 4..],
            ["wait", "roll_back", "discard", "wait"]
        );
        match outcome {
            Outcome::RolledBack { why, ready, .. } => {
                assert_eq!(why, "open-webui: not answering");
                assert!(ready.is_ok(), "the old data came back ready");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            phases
                .names()
                .ends_with(&["wait", "roll_back", "wait_again"])
        );
    }

    #[test]
    fn a_rollback_onto_a_stack_that_stays_down_says_so() {
        let mut script = Script {
            not_ready: 2,
            ..Script::default()
        };
        let (outcome, _) = run_script(&mut script);
        assert!(matches!(outcome, Outcome::RolledBack { ready: Err(_), .. }));
    }

    #[test]
    fn a_rollback_that_fails_strands_the_safety_copy_and_removes_nothing() {
        let mut script = Script::failing(&["start", "roll_back"]);
        let (outcome, _) = run_script(&mut script);
        assert_eq!(
            &script.calls[script.calls.len() - 2..],
            ["start", "roll_back"],
            "no discard and no wait after a failed rollback"
        );
        assert!(matches!(outcome, Outcome::Stranded { .. }));
    }

    #[test]
    fn a_safety_copy_that_cannot_be_removed_after_success_is_still_a_restore() {
        let mut script = Script::failing(&["confirm"]);
        let (outcome, _) = run_script(&mut script);
        assert!(matches!(
            outcome,
            Outcome::Restored {
                leftover: Some(_),
                ..
            }
        ));
    }
}
