//! When each message of a paced publisher is due: at a constant `--rate`,
//! or, with `--rate A..B --ramp D`, at a rate that climbs linearly from A to
//! B over the measured window (after a warm-up at A). A message is due when
//! the messages due so far, the integral of the rate, reach its sequence
//! number, whether or not the publisher or server kept up (wrk2's model).
//! A ramp's window is cut into steps, and the report gives latency per
//! step: where it turns upward is the server's knee.

use std::time::Duration;

/// A publisher's schedule, in its own messages per second.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// Messages per nanosecond at the start (and through the warm-up).
    from: f64,
    /// At the end of the ramp (the same as `from` without one).
    to: f64,
    warmup_ns: f64,
    /// The ramp's length (0: no ramp).
    ramp_ns: f64,
}

impl Schedule {
    /// `None` when unpaced (`rate` 0 and no ramp). Rates are the whole
    /// run's, split over `pubs` publishers.
    pub fn new(rate: f64, ramp: Option<&Ramp>, pubs: usize, warmup: Duration) -> Option<Schedule> {
        let per = |r: f64| r / pubs as f64 / 1e9;
        let (to, ramp_ns) = match ramp {
            Some(r) => (r.to, r.over.as_nanos() as f64),
            None => (rate, 0.0),
        };
        (rate > 0.0 || to > 0.0).then_some(Schedule {
            from: per(rate),
            to: per(to),
            warmup_ns: warmup.as_nanos() as f64,
            ramp_ns,
        })
    }

    /// When message `seq` is due, in ns after publishing began; None when
    /// the ramp ends before it.
    pub fn due_ns(&self, seq: u64) -> Option<u64> {
        let n = seq as f64;
        let in_warmup = self.from * self.warmup_ns;
        if self.ramp_ns == 0.0 || n < in_warmup {
            return Some((n / self.from) as u64);
        }
        // Past the warm-up: solve from·u + slope·u²/2 = j for u, in the
        // form that stays exact as slope (or from) goes to 0.
        let j = n - in_warmup;
        let slope = (self.to - self.from) / self.ramp_ns;
        let disc = self.from * self.from + 2.0 * slope * j;
        if disc < 0.0 {
            return None;
        }
        let u = if j == 0.0 {
            0.0
        } else {
            2.0 * j / (self.from + disc.sqrt())
        };
        (u.is_finite() && u < self.ramp_ns).then_some((self.warmup_ns + u) as u64)
    }
}

/// `--rate A..B --ramp D`: the rate climbs from A to B over D (the
/// measured window), reported in `steps` steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ramp {
    /// Messages per second at the end, over all publishers.
    pub to: f64,
    pub over: Duration,
    pub steps: usize,
}

impl Ramp {
    /// The step a message due `due_ns` after publishing began falls in (a
    /// warm-up message is in none).
    pub fn step(&self, due_ns: u64, warmup_ns: u64) -> Option<usize> {
        let into = due_ns.checked_sub(warmup_ns)? as u128;
        let step = into * self.steps as u128 / self.over.as_nanos().max(1);
        Some((step as usize).min(self.steps - 1))
    }

    /// The rate asked for in the middle of step `i`, over all publishers.
    pub fn rate_of(&self, from: f64, i: usize) -> f64 {
        from + (self.to - from) * (i as f64 + 0.5) / self.steps as f64
    }

    /// How long a step lasts.
    pub fn step_secs(&self) -> f64 {
        self.over.as_secs_f64() / self.steps as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_rate_is_one_message_every_interval() {
        let s = Schedule::new(1000.0, None, 2, Duration::from_secs(1)).unwrap();
        assert_eq!(s.due_ns(0), Some(0));
        assert_eq!(s.due_ns(5), Some(10_000_000));
        assert!(Schedule::new(0.0, None, 1, Duration::ZERO).is_none());
    }

    /// The messages due by t are the integral of the rate up to t.
    #[test]
    fn a_ramp_sends_the_integral_of_its_rate() {
        let ramp = Ramp {
            to: 3000.0,
            over: Duration::from_secs(2),
            steps: 4,
        };
        let s = Schedule::new(1000.0, Some(&ramp), 1, Duration::from_secs(1)).unwrap();
        // Warm-up: 1,000 at 1,000/s.
        assert_eq!(s.due_ns(999), Some(999_000_000));
        // Then 1,000 -> 3,000 over 2 s: 4,000 messages in all.
        let sent = (0..).take_while(|&i| s.due_ns(i).is_some()).count();
        assert_eq!(sent, 1000 + 4000);
        // Half-way through the ramp (rate 2,000/s), 1,500 have gone.
        let half = s.due_ns(1000 + 1500).unwrap();
        assert!(half.abs_diff(2_000_000_000) < 1_000, "{half}");
        // Due times never go backwards.
        let dues: Vec<u64> = (0..5000).map(|i| s.due_ns(i).unwrap()).collect();
        assert!(dues.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(ramp.step(1_000_000_000, 1_000_000_000), Some(0));
        assert_eq!(ramp.step(2_600_000_000, 1_000_000_000), Some(3));
        assert_eq!(ramp.step(5, 1_000_000_000), None);
        assert_eq!(ramp.rate_of(1000.0, 0), 1250.0);
    }

    #[test]
    fn a_ramp_may_start_from_nothing_or_go_down() {
        let up = Ramp {
            to: 1000.0,
            over: Duration::from_secs(1),
            steps: 10,
        };
        let s = Schedule::new(0.0, Some(&up), 1, Duration::from_secs(1)).unwrap();
        let sent = (0..).take_while(|&i| s.due_ns(i).is_some()).count();
        assert_eq!(sent, 500);
        let down = Ramp { to: 0.0, ..up };
        let s = Schedule::new(1000.0, Some(&down), 1, Duration::ZERO).unwrap();
        let sent = (0..).take_while(|&i| s.due_ns(i).is_some()).count();
        assert!((499..=501).contains(&sent), "{sent}");
    }
}
