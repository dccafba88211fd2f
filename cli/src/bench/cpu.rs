//! CPU time of finished child processes, from the kernel's account of this process.
//!
//! `/proc/self/stat` holds the user and system time of every child this process has waited
//! for (`cutime`, `cstime`), in clock ticks of 1/100 s (`USER_HZ`, fixed for the `/proc`
//! interface). The difference across one child's run is that child's CPU time, to 10 ms.
//! Elsewhere than Linux there is no figure.

/// Seconds of CPU used by the children waited for so far, if the platform says.
pub(crate) fn children() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    children_of(&stat)
}

/// `cutime + cstime` from a `/proc/PID/stat` line, in seconds.
fn children_of(stat: &str) -> Option<f64> {
    // The command name (field 2) may hold spaces and parentheses: fields count from the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 (the state) is fields[0]; cutime and cstime are fields 16 and 17.
    let user: u64 = fields.get(13)?.parse().ok()?;
    let system: u64 = fields.get(14)?.parse().ok()?;
    Some((user + system) as f64 / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_children_fields_whatever_the_name() {
        let line = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                    250 30 120 45 20 0 1 0 100 1000000 300 18446744073709551615";
        // cutime 120 + cstime 45 ticks.
        assert_eq!(children_of(line), Some(1.65));
        assert_eq!(children_of("garbage"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_waited_child_adds_its_time() {
        let before = children().unwrap();
        // A child that burns a little CPU, waited for.
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"])
            .status()
            .unwrap();
        assert!(status.success());
        let after = children().unwrap();
        assert!(after > before, "{before} -> {after}");
    }
}
