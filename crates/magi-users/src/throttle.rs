//! Brute-force protection, decided by pure functions: failed logins are counted per account name and per
//! client address; from `backoff_after` failures in a row each wrong answer is slower (250 ms, doubling, at
//! most 8 s), and at `lockout_after` the name or address is locked out until `lockout` has passed. Names are
//! counted whether or not an account has them, so a lockout reveals nothing about which accounts exist.

use std::time::Duration;

use magi_core::config::UsersConfig;

use crate::store::Failures;

/// The thresholds, from `[users]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub backoff_after: u32,
    pub lockout_after: u32,
    pub lockout: Duration,
}

impl From<&UsersConfig> for Policy {
    fn from(c: &UsersConfig) -> Policy {
        Policy {
            backoff_after: c.backoff_after,
            lockout_after: c.lockout_after,
            lockout: c.lockout,
        }
    }
}

/// What one more failure does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The record to store.
    pub record: Failures,
    /// How long to hold the answer.
    pub delay: Duration,
    /// Whether this failure started a lockout.
    pub locked: bool,
}

/// The longest account name there can be (`store::check_name`); a longer one is no account's.
const LONGEST_NAME: usize = 64;

/// The throttle key of the account name a login gave: `user:` and the name folded to lower case, or, for a
/// name longer than any account can have, its SHA-256: the attacker picks the name, not the row's size.
pub fn account_key(name: &str) -> String {
    let folded = name.to_lowercase();
    if folded.len() <= LONGEST_NAME {
        return format!("user:{folded}");
    }
    let digest = <sha2::Sha256 as sha2::Digest>::digest(folded.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("user:#{hex}")
}

/// The end of the lockout in force at `now`, if any.
pub fn locked_until(record: &Failures, now: i64) -> Option<i64> {
    record.locked_until.filter(|&until| until > now)
}

/// What one more failed login at `now` does to `record`. A run of failures is forgotten once `lockout`
/// has passed since the last one, and after a lockout has expired.
pub fn fail(policy: &Policy, record: &Failures, now: i64) -> Verdict {
    let window = policy.lockout.as_secs() as i64;
    let stale = now - record.last >= window || record.locked_until.is_some_and(|u| u <= now);
    let count = if stale { 1 } else { record.count + 1 };
    let locked = count >= policy.lockout_after;
    let delay = if policy.backoff_after > 0 && count >= policy.backoff_after {
        let steps = (count - policy.backoff_after).min(5);
        Duration::from_millis(250 << steps)
    } else {
        Duration::ZERO
    };
    Verdict {
        record: Failures {
            count,
            last: now,
            locked_until: locked.then(|| now + window),
        },
        delay,
        locked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        backoff_after: 3,
        lockout_after: 5,
        lockout: Duration::from_secs(60),
    };

    #[test]
    fn failures_back_off_then_lock_out_until_the_lockout_expires() {
        let mut record = Failures::default();
        let mut delays = Vec::new();
        for i in 0..5 {
            let v = fail(&POLICY, &record, 1000 + i);
            delays.push(v.delay.as_millis());
            assert_eq!(v.locked, i == 4);
            record = v.record;
        }
        assert_eq!(delays, [0, 0, 250, 500, 1000]);
        assert_eq!(locked_until(&record, 1010), Some(1064));
        assert_eq!(locked_until(&record, 1064), None);
        let after = fail(&POLICY, &record, 1065);
        assert_eq!(
            (after.record.count, after.locked),
            (1, false),
            "a fresh start"
        );
    }

    #[test]
    fn an_old_run_of_failures_is_forgotten() {
        let record = Failures {
            count: 4,
            last: 0,
            locked_until: None,
        };
        assert_eq!(fail(&POLICY, &record, 30).record.count, 5);
        assert_eq!(fail(&POLICY, &record, 60).record.count, 1);
    }

    #[test]
    fn account_keys_are_folded_and_bounded() {
        assert_eq!(account_key("Ada"), "user:ada");
        let long = account_key(&"A".repeat(1 << 20));
        assert!(long.len() < 80, "{long}");
        assert_eq!(long, account_key(&"a".repeat(1 << 20)));
        assert_ne!(long, account_key(&"b".repeat(1 << 20)));
    }

    #[test]
    fn the_delay_is_capped() {
        let record = Failures {
            count: 40,
            last: 0,
            locked_until: None,
        };
        let policy = Policy {
            lockout_after: 100,
            ..POLICY
        };
        assert_eq!(fail(&policy, &record, 1).delay, Duration::from_secs(8));
    }
}
