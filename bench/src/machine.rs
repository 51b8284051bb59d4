//! Where and with what the figures were made: the machine (from /proc) and the
//! crate versions (from Cargo.lock).

/// Crate versions, read from the workspace's Cargo.lock at build time.
pub struct Versions {
    lock: &'static str,
}

impl Versions {
    /// Versions from the Cargo.lock this binary was built with.
    pub fn from_lock() -> Versions {
        Versions {
            lock: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")),
        }
    }

    /// Every locked version of `name`, joined with `/` (`?` if none).
    pub fn get(&self, name: &str) -> String {
        let wanted = format!("name = \"{name}\"");
        let found: Vec<&str> = self
            .lock
            .split("[[package]]")
            .filter(|block| block.lines().any(|l| l.trim() == wanted))
            .filter_map(|block| {
                block.lines().find_map(|l| {
                    l.trim()
                        .strip_prefix("version = \"")
                        .and_then(|v| v.strip_suffix('"'))
                })
            })
            .collect();
        if found.is_empty() {
            "?".into()
        } else {
            found.join("/")
        }
    }
}

/// The machine the figures come from.
pub struct Machine {
    /// CPU model from /proc/cpuinfo.
    pub cpu: String,
    /// Logical CPUs in /proc/cpuinfo.
    pub cpus: usize,
    /// Threads rayon uses for the multi-core columns.
    pub threads: usize,
    /// Memory from /proc/meminfo, in GiB.
    pub memory_gib: Option<u64>,
    /// Kernel release.
    pub kernel: String,
}

impl Machine {
    /// Reads the machine description (Linux; "unknown" elsewhere).
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown CPU".into(), |(_, m)| m.trim().to_owned());
        let cpus = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count();
        let memory_gib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|l| l.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map(|kib| (kib + (1 << 19)) >> 20);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".into(), |k| k.trim().to_owned());
        Machine {
            cpu,
            cpus,
            threads: rayon::current_num_threads(),
            memory_gib,
            kernel,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_the_lock_file() {
        let v = Versions::from_lock();
        assert_ne!(v.get("ed25519-dalek"), "?");
        assert_eq!(v.get("no-such-crate"), "?");
    }
}
