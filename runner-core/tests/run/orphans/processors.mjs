// See processors.ttl. The file's path is the shell's $1, never part of the script text.
import { spawn } from "node:child_process";

const SCRIPT = `echo $$ >> "$1"; sleep 1000 & echo $! >> "$1"; setsid sleep 1000 & echo $! >> "$1"; echo ready; wait`;

export class Spawner {
  constructor(args) {
    this.pids = args.pids;
    this.fail = args.fail;
  }
  async init() {}
  async transform() {
    const child = spawn("sh", ["-c", SCRIPT, "sh", this.pids], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise((resolve) => child.stdout.once("data", resolve));
    console.log("spawned 3 processes");
    if (this.fail) throw new Error("failing on purpose, with 3 processes started");
    for await (const _ of this.reader.strings());
  }
  async produce() {}
}
