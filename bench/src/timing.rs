//! Same-duration timing loops, interleaved so that a noisy moment on a shared
//! machine hits every measurement alike.
//!
//! Every measurement is a closure that does one chunk of work and returns how
//! many operations it did. Each closure is warmed up once, then the plan's
//! repetitions run round-robin over all closures (repetition 1 of every cell,
//! then repetition 2, ...), each for the same wall-clock duration; a cell's rate
//! is the median of its repetitions.
//!
//! One-core cells count their operations against the CPU time of the measuring
//! thread (`CLOCK_THREAD_CPUTIME_ID`), so that time the scheduler gives to other
//! work on a shared machine is not charged to them; all-cores cells count
//! against wall-clock time, since how well they use every core is the point.

use std::time::{Duration, Instant};

use crate::BoxError;

/// How long to measure.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Warm-up per cell, run once before the first repetition.
    pub warm_up: Duration,
    /// Length of one repetition of one cell.
    pub repetition: Duration,
    /// Repetitions per cell; the median is reported.
    pub repetitions: usize,
}

impl Plan {
    /// The full run: about 1.6 s per cell. Many short repetitions rather than
    /// a few long ones, so that the median shrugs off bursts of other work.
    pub const FULL: Plan = Plan {
        warm_up: Duration::from_millis(200),
        repetition: Duration::from_millis(180),
        repetitions: 8,
    };
    /// `--quick`: a smoke run, figures only roughly right.
    pub const QUICK: Plan = Plan {
        warm_up: Duration::from_millis(40),
        repetition: Duration::from_millis(60),
        repetitions: 3,
    };
}

/// One chunk of work; returns the number of operations done, or the error that
/// makes the measurement meaningless (a token that stopped verifying, say).
pub type Work<'a> = Box<dyn FnMut() -> Result<u64, BoxError> + 'a>;

/// The time a cell's operations are counted against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Wall-clock time.
    Wall,
    /// CPU time of the calling thread.
    ThreadCpu,
}

impl Clock {
    fn now(self) -> Result<Duration, BoxError> {
        match self {
            Clock::Wall => Ok(EPOCH.elapsed()),
            Clock::ThreadCpu => {
                Ok(nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)?.into())
            }
        }
    }
}

static EPOCH: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);

/// A measurement waiting to be run: its key and its work.
pub struct Cell<'a, K> {
    /// What the measurement is (row and column of the report).
    pub key: K,
    clock: Clock,
    work: Work<'a>,
    samples: Vec<f64>,
}

impl<'a, K> Cell<'a, K> {
    /// A cell measuring `work`, its rate per second of `clock`.
    pub fn new(key: K, clock: Clock, work: Work<'a>) -> Cell<'a, K> {
        Cell {
            key,
            clock,
            work,
            samples: Vec::new(),
        }
    }

    /// Runs the work for at least `duration` of wall-clock time; returns
    /// operations per second of the cell's clock.
    fn run_for(&mut self, duration: Duration) -> Result<f64, BoxError> {
        let started = Instant::now();
        let clock_started = self.clock.now()?;
        let mut ops = 0u64;
        loop {
            ops += (self.work)()?;
            if started.elapsed() >= duration {
                let elapsed = self.clock.now()?.saturating_sub(clock_started);
                if ops == 0 || elapsed.is_zero() {
                    return Err("a measurement did no work".into());
                }
                return Ok(ops as f64 / elapsed.as_secs_f64());
            }
        }
    }

    /// The median of the recorded repetitions.
    fn median(&self) -> Option<f64> {
        let mut s = self.samples.clone();
        s.sort_by(f64::total_cmp);
        s.get(s.len() / 2).copied()
    }
}

/// Runs every cell under `plan` and returns each key with its median rate
/// (operations per second), in the order given. `progress` is called after
/// each repetition round with (round, rounds).
pub fn run<K>(
    mut cells: Vec<Cell<'_, K>>,
    plan: Plan,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<(K, f64)>, BoxError> {
    for cell in &mut cells {
        cell.run_for(plan.warm_up)?;
    }
    for round in 0..plan.repetitions {
        for cell in &mut cells {
            let rate = cell.run_for(plan.repetition)?;
            cell.samples.push(rate);
        }
        progress(round + 1, plan.repetitions);
    }
    cells
        .into_iter()
        .map(|cell| {
            let median = cell.median().ok_or("no repetitions were run")?;
            Ok((cell.key, median))
        })
        .collect()
}

/// Cycles through `items` in chunks of `n` (a divisor of `items.len()`).
pub struct Cycle<'a, T> {
    items: &'a [T],
    n: usize,
    pos: usize,
}

impl<'a, T> Cycle<'a, T> {
    /// Chunks of `n` items of `items`; `n` must divide `items.len()`.
    pub fn new(items: &'a [T], n: usize) -> Result<Cycle<'a, T>, BoxError> {
        if n == 0 || items.is_empty() || !items.len().is_multiple_of(n) {
            return Err(format!("chunk {n} does not divide {} items", items.len()).into());
        }
        Ok(Cycle { items, n, pos: 0 })
    }

    /// The next chunk.
    pub fn next_chunk(&mut self) -> &'a [T] {
        let start = self.pos;
        self.pos = (self.pos + self.n) % self.items.len();
        self.items.get(start..start + self.n).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_cycle() -> Result<(), BoxError> {
        let mut cell = Cell::new((), Clock::Wall, Box::new(|| Ok(1u64)));
        cell.samples = vec![3.0, 1.0, 2.0];
        assert_eq!(cell.median(), Some(2.0));
        let items = [1, 2, 3, 4];
        let mut cycle = Cycle::new(&items, 2)?;
        assert_eq!(cycle.next_chunk(), &[1, 2]);
        assert_eq!(cycle.next_chunk(), &[3, 4]);
        assert_eq!(cycle.next_chunk(), &[1, 2]);
        assert!(Cycle::new(&items, 3).is_err());
        Ok(())
    }

    #[test]
    fn thread_cpu_time_advances_with_work() -> Result<(), BoxError> {
        let mut x = 0u64;
        let mut cell = Cell::new(
            (),
            Clock::ThreadCpu,
            Box::new(move || {
                for i in 0..10_000u64 {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
                }
                Ok(1)
            }),
        );
        assert!(cell.run_for(Duration::from_millis(20))? > 0.0);
        Ok(())
    }

    #[test]
    fn work_that_does_nothing_is_an_error() {
        let cells = vec![Cell::new(
            (),
            Clock::Wall,
            Box::new(|| Ok(0u64)) as Work<'_>,
        )];
        let plan = Plan {
            warm_up: Duration::from_millis(1),
            repetition: Duration::from_millis(1),
            repetitions: 1,
        };
        assert!(run(cells, plan, |_, _| ()).is_err());
    }
}
