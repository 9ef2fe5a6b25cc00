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
