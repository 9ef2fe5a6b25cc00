//! Riffle installed as a user installs it: `scripts/dist` writes the distribution into a temporary
//! folder outside the checkout, its `.tar.gz` is unpacked somewhere else and the first tree deleted, and
//! the installed `bin/riffle` runs copies of the example pipelines with RIFFLE_HOME unset, the working
//! directory outside the checkout, PATH reduced to system folders and the interpreters' own (never the
//! checkout's `target/`), and, where `unshare` can make a mount namespace, the checkout itself hidden
//! under an empty tmpfs, so that not even the source path compiled into riffle leads anywhere.
//!
//! Then `scripts/npm-pack` makes the npm packages from the installed tree, the tree is deleted, and they are
//! installed from their tarballs into a fresh folder (`npm install --offline --save-dev`) and started with
//! `npx riffle run`.
//!
//! And the Kubernetes manifests (deploy/kubernetes), rendered offline by `kubectl kustomize` (skipped,
//! saying so, without kubectl), against the plan of the pipeline they run and the protocol's variables.
//!
//! Needs node and java (skipped, saying so, when either is absent), the Java runner's jar and the Python
//! runner's environment (`./scripts/build` or `./scripts/test` make them; skipped, saying so, without).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().canonicalize().unwrap()
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}

/// The folder of the interpreter `program` really is (a pyenv shim asks Python itself).
fn interpreter_dir(program: &str) -> Option<PathBuf> {
    let found = on_path(program)?;
    let real = if program == "python3" {
        let output = Command::new(&found).args(["-c", "import sys; print(sys.executable)"]).output().ok()?;
        PathBuf::from(String::from_utf8(output.stdout).ok()?.trim())
    } else {
        found.canonicalize().ok()?
    };
    real.parent().map(Path::to_path_buf)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_distribution_runs_every_runner_from_anywhere_without_the_checkout() {
    for program in ["node", "java", "python3"] {
        if on_path(program).is_none() {
            println!("skipping the install test: `{program}` is not on PATH");
            return;
        }
    }
    let root = repo_root();
    for built in ["runners/java/target/riffle-runner-java.jar", "runners/python/.venv/bin/python"] {
        if !root.join(built).exists() {
            println!("skipping the install test: {built} is missing (./scripts/build makes it)");
            return;
        }
    }
    let riffle = PathBuf::from(env!("CARGO_BIN_EXE_riffle"));
    let bin = riffle.parent().unwrap();
    assert!(bin.join("riffle-runner-rust").is_file(), "build riffle-runner-rust first (cargo build --release --bins)");

    let temp = std::env::temp_dir().join(format!("riffle-install-{}", std::process::id())).canonicalize_or_self();
    assert!(!temp.starts_with(&root), "the temporary folder {} is inside the checkout", temp.display());
    let _ = std::fs::remove_dir_all(&temp);
    std::fs::create_dir_all(&temp).unwrap();

    // Build the distribution, then install it from its .tar.gz somewhere else and delete the first tree.
    let built = temp.join("built/riffle");
    let output = Command::new(root.join("scripts/dist"))
        .arg(&built)
        .env("RIFFLE_DIST_PREBUILT", "1")
        .env("RIFFLE_DIST_BIN", bin)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "scripts/dist: {}", text(&output.stderr));
    assert_eq!(text(&output.stdout), format!("{}\n{}.tar.gz\n", built.display(), built.display()));
    let installed = temp.join("opt");
    std::fs::create_dir_all(&installed).unwrap();
    let tar = Command::new("tar")
        .arg("-xzf")
        .arg(temp.join("built/riffle.tar.gz"))
        .arg("-C")
        .arg(&installed)
        .status()
        .unwrap();
    assert!(tar.success());
    std::fs::remove_dir_all(temp.join("built")).unwrap();
    let home = installed.join("riffle");
    let installed_riffle = home.join("bin/riffle");

    // The Java archive names the jar's absolute path: refused once moved, until train-archive has run.
    assert!(archive_refused(&home), "the moved archive was accepted");
    let trained = Command::new(home.join("runners/java/train-archive")).output().unwrap();
    assert_eq!(trained.status.code(), Some(0), "train-archive: {}", text(&trained.stderr));
    assert!(!archive_refused(&home), "the retrained archive was refused");

    // The pipelines, copied out with the folders they import.
    let pipelines = temp.join("pipelines");
    for example in ["polyglot", "python-mix", "rdfc-echo"] {
        copy_dir(&root.join("pipelines").join(example), &pipelines.join(example));
    }

    // PATH: system folders and the interpreters' own, none of them in the checkout.
    let mut path: Vec<PathBuf> = ["/usr/bin", "/bin"].iter().map(PathBuf::from).collect();
    for program in ["node", "java", "python3"] {
        let dir = interpreter_dir(program).unwrap();
        assert!(!dir.starts_with(&root), "{program} is in the checkout: {}", dir.display());
        if !path.contains(&dir) {
            path.insert(0, dir);
        }
    }
    let path = std::env::join_paths(&path).unwrap();
    let hide = hiding();
    if hide.is_none() {
        println!("note: unshare cannot make a mount namespace here, so the checkout is kept out of reach by PATH and the working directory only");
    }
    let run = |args: &[&str], dir: &Path| -> Output {
        out_of_reach(hide, &root, installed_riffle.as_os_str())
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", &path)
            .env("HOME", &temp)
            .env("RIFFLE_HOME", "")
            .output()
            .unwrap()
    };

    // Every runner is ready, and its files are the installed ones.
    let output = run(&["runners"], &pipelines);
    let listing = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        listing.starts_with(&format!("runner files: {} (the distribution riffle runs from)\n", home.display())),
        "{listing}"
    );
    assert_eq!(listing.matches("  ready:    yes\n").count(), 4, "{listing}");
    assert!(!listing.contains(root.to_str().unwrap()), "{listing}");

    let polyglot = pipelines.join("polyglot");
    let output = run(&["plan", "pipeline.ttl"], &polyglot);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let argv: Vec<&serde_json::Value> = plan["runners"].as_array().unwrap().iter().map(|r| &r["argv"]).collect();
    let js = home.join("runners/js/bin/riffle-runner-js.mjs").display().to_string();
    assert!(argv.contains(&&serde_json::json!(["node", js])), "{argv:?}");
    let rust =
        plan["runners"].as_array().unwrap().iter().find(|r| r["argv"] == serde_json::json!(["riffle-runner-rust"]));
    let rust_program = home.join("bin/riffle-runner-rust").display().to_string();
    assert_eq!(rust.unwrap()["program"], serde_json::json!(rust_program));
    assert!(!text(&output.stdout).contains(root.to_str().unwrap()));

    let output = run(&["run", "pipeline.ttl", "--progress", "never"], &polyglot);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "[<log>] shouted: HELLO\n[<log>] shouted: POLYGLOT\n[<log>] shouted: WORLD\n");

    // JavaScript, Python (its websockets from the distribution's lib/), Java and Rust.
    let output = run(&["run", "pipeline.ttl", "--progress", "never"], &pipelines.join("python-mix"));
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    support::assert_python_mix_output(&stdout);

    // The npm packages (scripts/npm-pack, from the installed tree), installed from `npm pack`'s tarballs in
    // a fresh folder, offline, and started through `npx riffle`.
    if on_path("npm").is_none() || on_path("npx").is_none() {
        println!("skipping the npm part of the install test: `npm` or `npx` is not on PATH");
        std::fs::remove_dir_all(&temp).unwrap();
        return;
    }
    let packed = temp.join("npm");
    let output = Command::new(root.join("scripts/npm-pack")).arg(&packed).env("RIFFLE_DIST", &home).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "scripts/npm-pack: {}", text(&output.stderr));
    let tarballs: Vec<String> = text(&output.stdout).lines().map(str::to_string).collect();
    let platform = format!("{}-{}", std::env::consts::OS, if cfg!(target_arch = "x86_64") { "x64" } else { "arm64" });
    assert_eq!(
        tarballs,
        [
            packed.join(format!("riffle-cli-{platform}-0.1.0.tgz")).display().to_string(),
            packed.join("riffle-cli-0.1.0.tgz").display().to_string()
        ]
    );
    std::fs::remove_dir_all(&home).unwrap();
    let project = temp.join("project");
    for example in ["polyglot", "rdfc-echo"] {
        copy_dir(&root.join("pipelines").join(example), &project.join(example));
    }
    let npm = |program: &str, args: &[&str]| -> Output {
        out_of_reach(hide, &root, program.as_ref())
            .args(args)
            .current_dir(project.join("polyglot"))
            .env_clear()
            .env("PATH", &path)
            .env("HOME", &temp)
            .env("npm_config_cache", temp.join("npm-cache"))
            .env("npm_config_update_notifier", "false")
            .output()
            .unwrap()
    };
    let mut install = vec!["install", "--offline", "--save-dev", "--no-audit", "--no-fund"];
    install.extend(tarballs.iter().map(String::as_str));
    let output = npm("npm", &install);
    assert_eq!(output.status.code(), Some(0), "npm install: {}", text(&output.stderr));
    let output = npm("npx", &["--offline", "riffle", "runners"]);
    let listing = text(&output.stdout);
    let installed = project.join(format!("polyglot/node_modules/@riffle/cli-{platform}"));
    assert!(
        listing.starts_with(&format!("runner files: {} (the distribution riffle runs from)\n", installed.display())),
        "{listing}"
    );
    assert_eq!(listing.matches("  ready:    yes\n").count(), 4, "{listing}");
    assert!(!archive_refused(&installed), "the postinstall did not retrain the Java archive where npm put it");
    let output = npm("npx", &["--offline", "riffle", "run", "pipeline.ttl", "--progress", "never"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "[<log>] shouted: HELLO\n[<log>] shouted: POLYGLOT\n[<log>] shouted: WORLD\n");

    std::fs::remove_dir_all(&temp).unwrap();
}

/// How this machine lets the test hide the checkout from riffle: `unshare` flags that make a private mount
/// namespace (root: `-m`; otherwise an unprivileged user namespace: `-r -m`), or None.
fn hiding() -> Option<&'static [&'static str]> {
    let ways: [&'static [&'static str]; 2] = [&["-m"], &["-r", "-m"]];
    ways.into_iter().find(|flags| {
        Command::new("unshare").args(*flags).arg("true").output().map(|o| o.status.success()).unwrap_or(false)
    })
}

/// A command that runs `program` with the checkout hidden under an empty tmpfs (in a mount namespace of
/// its own, so nothing outside sees it), when `hide` says how; else plainly.
fn out_of_reach(hide: Option<&[&str]>, root: &Path, program: &std::ffi::OsStr) -> Command {
    let Some(flags) = hide else { return Command::new(program) };
    let mut command = Command::new("unshare");
    command
        .args(flags)
        .args(["sh", "-c", "mount -t tmpfs riffle-checkout-hidden \"$0\" && [ -z \"$(ls -A \"$0\")\" ] && exec \"$@\""])
        .arg(root)
        .arg(program);
    command
}

/// Whether the JVM, made to use the Java runner's archive (`-Xshare:on`), refuses it (made for another path).
fn archive_refused(home: &Path) -> bool {
    let target = home.join("runners/java/target");
    let output = Command::new("java")
        .arg("-Xshare:on")
        .arg(format!("-XX:SharedArchiveFile={}", target.join("riffle-runner-java.jsa").display()))
        .args(["-Xlog:cds=off,cds+dynamic=off", "-Xms16m", "-XX:GCTimeRatio=1", "-jar"])
        .arg(target.join("riffle-runner-java.jar"))
        .env_remove("RIFFLE_CONTROL_URL")
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    // Accepted, the runner itself starts and says it was not started by riffle.
    let refused = stderr.contains("shared archive");
    assert!(refused || stderr.contains("RIFFLE_CONTROL_URL is not set"), "{stderr}");
    refused
}

trait CanonicalizeOrSelf {
    fn canonicalize_or_self(self) -> PathBuf;
}

impl CanonicalizeOrSelf for PathBuf {
    /// The temporary folder's real path (it may be a symbolic link), once it exists.
    fn canonicalize_or_self(self) -> PathBuf {
        let _ = std::fs::create_dir_all(&self);
        self.canonicalize().unwrap_or(self)
    }
}

/// Host-side paths in a runner's argv as they are in the image (deploy/kubernetes/Dockerfile): the
/// distribution at /opt/riffle, its binaries in bin/.
fn as_in_the_image(word: &str, root: &Path) -> String {
    match word {
        "riffle-runner-rust" => "/opt/riffle/bin/riffle-runner-rust".to_string(),
        _ => word.replace(&root.display().to_string(), "/opt/riffle"),
    }
}

/// The block list under the first line after `after` that reads `key` (as kustomize renders it: the
/// items one level deeper, each `- item`).
fn list_under(doc: &str, after: &str, key: &str) -> Vec<String> {
    let mut lines = doc.lines().skip_while(|l| l.trim() != after).skip_while(|l| l.trim() != key);
    let head = lines.next().unwrap_or_else(|| panic!("no {key} after {after} in {doc}"));
    let indent = " ".repeat(head.len() - head.trim_start().len() + 2);
    lines
        .map_while(|l| l.strip_prefix(&indent).and_then(|item| item.strip_prefix("- ")))
        .map(|item| item.trim_matches(['\'', '"']).to_string())
        .collect()
}

/// `- name: N` / `value: V` pairs of a container's env.
fn env_values(doc: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = doc.lines().map(str::trim).collect();
    lines
        .windows(2)
        .filter_map(|pair| Some((pair[0].strip_prefix("- name: ")?, pair[1].strip_prefix("value: ")?)))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_kubernetes_manifests_render_and_agree_with_the_plan_and_the_protocol() {
    if on_path("kubectl").is_none() {
        println!("skipping the_kubernetes_manifests_render_and_agree_with_the_plan_and_the_protocol: `kubectl` is not on PATH");
        return;
    }
    use riffle_protocol::env;
    let root = repo_root();
    let rendered =
        Command::new("kubectl").args(["kustomize", "deploy/kubernetes"]).current_dir(&root).output().unwrap();
    assert!(rendered.status.success(), "{}", String::from_utf8_lossy(&rendered.stderr));
    let rendered = String::from_utf8(rendered.stdout).unwrap();
    let docs: Vec<&str> = rendered.split("\n---\n").collect();
    let heads: Vec<(String, String)> = docs
        .iter()
        .map(|d| {
            let field =
                |p: &str| d.lines().find_map(|l| l.strip_prefix(p)).unwrap_or_else(|| panic!("{d}")).to_string();
            (field("kind: "), field("  name: "))
        })
        .collect();
    let plan = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args(["plan", "pipelines/polyglot/pipeline.ttl"])
        .current_dir(&root)
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("riffle plan prints the plan");
    let runners: Vec<(String, Vec<String>)> = plan["runners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let argv =
                r["argv"].as_array().unwrap().iter().map(|w| as_in_the_image(w.as_str().unwrap(), &root)).collect();
            (r["id"].as_str().unwrap().to_string(), argv)
        })
        .collect();
    let mut expected =
        vec![("Service".to_string(), "riffle-orchestrator".to_string()), ("Job".into(), "riffle-orchestrator".into())];
    expected.extend(runners.iter().map(|(id, _)| ("Job".to_string(), format!("riffle-runner-{id}"))));
    assert_eq!(heads, expected, "one Job per runner instance of the plan, and riffle's");
    // riffle: every instance external, the secret from the Secret's file, which only its owner may read.
    let orchestrator = docs[1];
    let args = list_under(orchestrator, "containers:", "- args:");
    let externals: Vec<&str> = args.windows(2).filter(|w| w[0] == "--external").map(|w| w[1].as_str()).collect();
    assert_eq!(externals, runners.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), "{args:?}");
    let secret_file = args.windows(2).find(|w| w[0] == "--secret-file").map(|w| w[1].clone()).expect("--secret-file");
    let advertised = args.windows(2).find(|w| w[0] == "--advertise").map(|w| w[1].clone()).expect("--advertise");
    assert_eq!(advertised, heads[0].1, "riffle advertises its Service's name");
    for (doc, (id, argv)) in docs[2..].iter().zip(&runners) {
        // The command riffle would print for the instance, as the image lays it out.
        assert_eq!(&list_under(doc, "containers:", "- args:"), argv, "{id}");
        let values = env_values(doc);
        let value = |name: &str| values.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(value(env::CONTROL_URL), Some(format!("wss://{advertised}:7000").as_str()), "{id}");
        assert_eq!(value(env::SECRET_FILE), Some(secret_file.as_str()), "{id}");
        assert_eq!(value(env::RUNNER_ID), Some(id.as_str()));
        assert_eq!(value(env::DATA_ADVERTISE), Some("$(POD_IP)"), "{id}");
        assert!(
            doc.contains(
                "- name: POD_IP\n          valueFrom:\n            fieldRef:\n              fieldPath: status.podIP"
            ),
            "{id}: {doc}"
        );
    }
    for doc in &docs[1..] {
        assert!(doc.contains("\n  backoffLimit: 0\n"), "a run cannot restart: {doc}");
        assert!(doc.contains("- mountPath: /run/riffle\n"), "{doc}");
        assert!(doc.contains("defaultMode: 256\n          secretName: riffle-run"), "0400: {doc}");
    }
    assert_eq!(secret_file, "/run/riffle/secret");
}
