//! Three "hosts" on one machine: Linux network namespaces joined by veth pairs to a bridge on a private
//! subnet, created for one test and removed when it ends. Needs root and iproute2's `ip`.

use std::process::Command;

/// The subnet every set of hosts uses: namespaces are isolated from each other and from the machine,
/// so two tests at once may both use it.
const SUBNET: &str = "10.213.7";

pub struct Hosts {
    /// Namespace names; the first is the orchestrator's host, the others the runners'.
    names: Vec<String>,
}

impl Hosts {
    /// `count` hosts, host `i` at `10.213.7.(i+1)` on a bridge in host 0; or why they cannot be made.
    pub fn create(count: usize) -> Result<Hosts, String> {
        if unsafe { libc::geteuid() } != 0 {
            return Err("network namespaces need root".into());
        }
        if !super::on_path("ip") {
            return Err("iproute2's `ip` is not on PATH".into());
        }
        let tag = super::unique_tag();
        let hosts = Hosts { names: (0..count).map(|i| format!("{tag}-h{i}")).collect() };
        for name in &hosts.names {
            ip(&["netns", "add", name])?;
            ip(&["-n", name, "link", "set", "lo", "up"])?;
        }
        let hub = &hosts.names[0];
        ip(&["-n", hub, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", hub, "addr", "add", &format!("{SUBNET}.1/24"), "dev", "br0"])?;
        ip(&["-n", hub, "link", "set", "br0", "up"])?;
        for (i, name) in hosts.names.iter().enumerate().skip(1) {
            let port = format!("port{i}");
            ip(&["link", "add", "eth0", "netns", name, "type", "veth", "peer", "name", &port, "netns", hub])?;
            ip(&["-n", hub, "link", "set", &port, "master", "br0", "up"])?;
            ip(&["-n", name, "addr", "add", &format!("{}/24", hosts.address(i)), "dev", "eth0"])?;
            ip(&["-n", name, "link", "set", "eth0", "up"])?;
        }
        Ok(hosts)
    }

    /// Host `i`'s address on the subnet.
    pub fn address(&self, i: usize) -> String {
        format!("{SUBNET}.{}", i + 1)
    }

    /// `program args` to run inside host `i`.
    pub fn command(&self, i: usize, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.names[i], program]);
        command
    }

    /// Takes host `i`'s link down (`i` > 0): from then on nothing it sends or is sent arrives, as when a
    /// cable is pulled; no connection is reset.
    pub fn cut(&self, i: usize) {
        ip(&["-n", &self.names[i], "link", "set", "eth0", "down"]).expect("the link goes down");
    }

    /// Cuts the link between hosts `a` and `b` only (both > 0): each drops what it would send the other
    /// (a blackhole route), while both still reach host 0 and everything else.
    pub fn cut_between(&self, a: usize, b: usize) {
        for (from, to) in [(a, b), (b, a)] {
            let to = format!("{}/32", self.address(to));
            ip(&["-n", &self.names[from], "route", "add", "blackhole", &to]).expect("the blackhole route");
        }
    }
}

/// tcpdump writing every packet host `i` sees, on every interface (loopback, veth ends, bridge), to a
/// file; [`Capture::finish`] stops it and returns the file's bytes.
pub struct Capture {
    tcpdump: std::process::Child,
    file: std::path::PathBuf,
}

impl Hosts {
    /// Starts capturing in host `i`; returns once tcpdump says it is listening, or why it cannot.
    pub fn capture(&self, i: usize, file: &std::path::Path) -> Result<Capture, String> {
        if !super::on_path("tcpdump") {
            return Err("tcpdump is not on PATH (scripts/test installs Debian's package when run as root)".into());
        }
        // -U writes each packet as it comes, so nothing is left in a buffer when tcpdump is stopped; -Z
        // root keeps it from dropping to a user that may not write the test's folder.
        let mut tcpdump = self
            .command(i, "tcpdump")
            .args(["-i", "any", "-U", "-Z", "root", "-s", "0", "-w"])
            .arg(file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("tcpdump: {e}"))?;
        let lines = super::pieces(tcpdump.stderr.take().expect("piped"));
        loop {
            match lines.recv_timeout(super::SAFETY) {
                Ok(line) if line.contains("listening on") => break,
                Ok(_) => {}
                Err(_) => {
                    let _ = tcpdump.kill();
                    let _ = tcpdump.wait();
                    return Err("tcpdump did not start listening".into());
                }
            }
        }
        Ok(Capture { tcpdump, file: file.to_path_buf() })
    }
}

impl Capture {
    /// Stops tcpdump (SIGTERM: it closes the file cleanly) and returns what it captured.
    pub fn finish(mut self) -> Vec<u8> {
        unsafe { libc::kill(self.tcpdump.id() as i32, libc::SIGTERM) };
        let _ = self.tcpdump.wait();
        std::fs::read(&self.file).expect("the capture file")
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.tcpdump.kill();
        let _ = self.tcpdump.wait();
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        // Deleting a namespace removes its veth ends and, in host 0, the bridge.
        for name in &self.names {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip").args(args).output().map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim()))
    }
}
