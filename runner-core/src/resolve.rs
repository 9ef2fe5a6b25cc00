//! From loaded graphs to a [`Plan`]: find the pipeline, its processors and their runners, extract
//! arguments by shape, connect channels, and collect every problem on the way.

use crate::arguments::{Extraction, Extractor};
use crate::channels::{ChannelResolver, ChannelTable};
use crate::classes::{types_of, Classes};
use crate::graph_walk::{as_subject, term_id};
use crate::loader::{self, Loaded};
use crate::plan::{self, Plan, Transport};
use crate::problem::{Problem, ProblemKind, Severity};
use crate::queries;
use crate::runners::{check, find_program, Readiness, RunnerInfo, Runners};
use crate::shapes::{order_key, OrderKey, Shapes};
use crate::vocab::iri;
use oxigraph::model::{GraphName, NamedNode, Term};
use oxigraph::store::Store;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// What resolution produced: the store (for `riffle query`), the plan as far as it could be
/// resolved, and every problem found. The plan is only fit to run when `problems` is empty.
pub struct Resolution {
    pub loaded: Loaded,
    pub plan: Plan,
    pub problems: Vec<Problem>,
    /// Warnings and notes: what Riffle does differently from what the pipeline may expect, which
    /// does not stop it ([`crate::problem::Severity`]).
    pub notices: Vec<Problem>,
}

pub struct Options<'e> {
    /// Looks up environment variables for `rdfl:EnvVariable` arguments.
    pub env: &'e dyn Fn(&str) -> Option<String>,
    /// Finds a runner's program (argv[0]) from the pipeline's folder.
    pub find_program: &'e dyn Fn(&str, &Path) -> Option<std::path::PathBuf>,
    /// Checks the rest of a runner whose program was found: its files and its interpreter's version
    /// ([`crate::runners::check`]), from the pipeline's folder.
    pub check_runner: &'e (dyn Fn(&RunnerInfo, &Path) -> Readiness + Sync),
}

pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

impl Default for Options<'static> {
    fn default() -> Self {
        Options { env: &process_env, find_program: &find_program, check_runner: &check }
    }
}

pub fn resolve(path: &Path, options: &Options<'_>) -> Resolution {
    let mut loaded = loader::load(path);
    crate::blank_names::name_blank_processors(&mut loaded);
    let working_dir = loaded.path.parent().map(|p| p.display().to_string()).unwrap_or_default();
    let mut plan = Plan {
        pipeline: None,
        source: loaded.path.display().to_string(),
        working_dir,
        runners: Vec::new(),
        processors: Vec::new(),
        channels: Vec::new(),
    };
    if !loaded.problems.is_empty() {
        // Statements after a syntax error are missing; anything reported beyond it would mislead.
        let problems = loaded.problems.clone();
        let notices = loaded.notices.clone();
        return Resolution { loaded, plan, problems, notices };
    }
    let mut problems = Vec::new();
    Resolver { loaded: &loaded, options, problems: &mut problems }.run(&mut plan);
    crate::plan_graph::write(&loaded.store, &plan);
    let (problems, mut notices): (Vec<_>, Vec<_>) =
        problems.into_iter().partition(|p| p.kind.severity() == Severity::Error);
    notices.splice(0..0, loaded.notices.iter().cloned());
    Resolution { loaded, plan, problems, notices }
}

struct Resolver<'r, 'e> {
    loaded: &'r Loaded,
    options: &'r Options<'e>,
    problems: &'r mut Vec<Problem>,
}

/// A processor found in the graphs, before its arguments are extracted.
struct Found {
    node: Term,
    class: NamedNode,
    /// The `rdfc:consistsOf` part that lists it, and that part's runner.
    part: Option<(Term, NamedNode)>,
    /// False when its explicit runner choice was refused; it then runs nowhere.
    runnable: bool,
}

impl Resolver<'_, '_> {
    fn store(&self) -> &Store {
        &self.loaded.store
    }

    fn show(&self, term: &Term) -> String {
        self.loaded.names.term(term)
    }

    fn show_iri(&self, iri: &NamedNode) -> String {
        self.loaded.names.iri(iri.as_str())
    }

    /// The file a node is described in: the first user file with a statement about it.
    fn file_of(&self, node: &Term) -> Option<String> {
        let subject = as_subject(node)?;
        let mut graphs: Vec<String> = self
            .store()
            .quads_for_pattern(Some(subject), None, None, None)
            .filter_map(Result::ok)
            .filter_map(|q| match q.graph_name {
                GraphName::NamedNode(g) => Some(g.as_str().to_string()),
                _ => None,
            })
            .collect();
        graphs
            .sort_by_key(|g| (g.starts_with(crate::bundled::GRAPH_PREFIX), g != self.loaded.graph.as_str(), g.clone()));
        graphs.first().map(|g| self.loaded.names.file(g))
    }

    fn report(&mut self, kind: ProblemKind, subject: Option<&Term>, predicate: Option<&str>) {
        let mut problem = Problem::new(kind);
        if let Some(subject) = subject {
            problem = problem.in_file(self.file_of(subject)).subject(self.show(subject));
        }
        if let Some(predicate) = predicate {
            problem = problem.predicate(self.loaded.names.iri(predicate));
        }
        self.problems.push(problem);
    }

    fn run(&mut self, plan: &mut Plan) {
        let store = self.store().clone();
        let names = self.loaded.names.clone();
        let classes = Classes::load(&store);
        let shapes = Shapes::load(&store, &names, self.problems);
        let runners = Runners::load(&store);

        let pipelines: Vec<Term> = {
            let mut p: Vec<Term> =
                queries::PIPELINES.select(&store, &[]).iter().filter_map(|r| r.get("pipeline").cloned()).collect();
            p.sort_by_key(|t| order_key(Some(t)));
            p
        };
        if pipelines.len() > 1 {
            let list = pipelines.iter().map(|p| self.show(p)).collect::<Vec<_>>().join(", ");
            self.report(ProblemKind::SeveralPipelines { count: pipelines.len(), pipelines: list }, None, None);
        }
        let pipeline = pipelines.first().cloned();
        plan.pipeline = pipeline.as_ref().map(term_id);

        let found = self.find_processors(&store, &classes, &runners, pipeline.as_ref());
        if found.is_empty() && self.problems.is_empty() {
            self.report(ProblemKind::NoProcessors, None, None);
        }

        // Runner instances: explicit parts first, in a stable order, then one per runner for the
        // processors Riffle assigned itself.
        let mut instances: Vec<(String, NamedNode, Vec<usize>)> = Vec::new();
        let mut explicit: BTreeMap<OrderKey, (NamedNode, Vec<usize>)> = BTreeMap::new();
        let mut auto: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (index, processor) in found.iter().enumerate() {
            match &processor.part {
                Some((part, runner)) => {
                    explicit.entry(order_key(Some(part))).or_insert_with(|| (runner.clone(), Vec::new())).1.push(index)
                }
                None if processor.runnable => {
                    if let Some(info) = self.auto_runner(&store, &classes, &runners, processor) {
                        auto.entry(info.iri.as_str().to_string()).or_default().push(index);
                    }
                }
                None => {}
            }
        }
        for (_, (runner, members)) in explicit {
            instances.push((String::new(), runner, members));
        }
        for (runner, members) in auto {
            match instances.iter_mut().find(|(_, r, _)| r.as_str() == runner) {
                Some(instance) => instance.2.extend(members),
                None => instances.push((String::new(), NamedNode::new_unchecked(runner), members)),
            }
        }
        let mut used_names: HashMap<String, usize> = HashMap::new();
        for instance in &mut instances {
            let base = runners.get(&instance.1).map(RunnerInfo::short_name).unwrap_or_else(|| "runner".into());
            let n = used_names.entry(base.clone()).or_default();
            *n += 1;
            instance.0 = if *n == 1 { base } else { format!("{base}-{n}") };
        }

        let (mut table, channel_problems) = ChannelTable::load(&store, &names);
        for (kind, node) in channel_problems {
            self.report(kind, Some(&node), None);
        }
        let extractor = Extractor {
            store: &store,
            names: &names,
            shapes: &shapes,
            classes: &classes,
            env: self.options.env,
            order: &self.loaded.order,
        };
        let mut runner_of: HashMap<usize, String> = HashMap::new();
        for (id, _, members) in &instances {
            for &m in members {
                runner_of.insert(m, id.clone());
            }
        }
        for (index, processor) in found.iter().enumerate() {
            let file = self.file_of(&processor.node);

            let mut channels = ChannelResolver { table: &mut table, names: &names };
            let mut extraction = Extraction {
                extractor: &extractor,
                channels: &mut channels,
                root: processor.node.clone(),
                file: file.clone(),
                problems: Vec::new(),
                enclosing: Vec::new(),
            };
            let class_name = self.show_iri(&processor.class);
            let mut argument_shapes = Vec::new();
            for ancestor in classes.with_superclasses(&processor.class) {
                for shape in shapes.for_class(ancestor) {
                    if !argument_shapes.contains(shape) {
                        argument_shapes.push(shape.clone());
                    }
                }
            }
            let properties = shapes.merged(argument_shapes.iter(), &class_name, &mut extraction.problems, &names);
            let arguments = extraction.object(&processor.node, &properties, "", 0);

            // A processor without a runner still had its arguments read, so that its channel ends
            // count and the only problem reported is the runner's.
            let runner = runner_of.get(&index).and_then(|instance| {
                let runner_iri = &instances.iter().find(|(id, _, _)| id == instance)?.1;
                Some((instance, runners.get(runner_iri)?))
            });
            let Some((instance, runner)) = runner else {
                self.problems.append(&mut extraction.problems);
                continue;
            };

            let class_node = Term::NamedNode(processor.class.clone());
            let implementation_shapes = self.implementation_shapes(&store, &classes, &shapes, runner, &processor.class);
            let properties = shapes.merged(implementation_shapes.iter(), &class_name, &mut extraction.problems, &names);
            extraction.root = class_node.clone();
            extraction.file = self.file_of(&class_node);
            let mut implementation = extraction.object(&class_node, &properties, "", 0);
            self.problems.append(&mut extraction.problems);
            self.check_implementation_files(&class_node, &mut implementation);

            plan.processors.push(plan::Processor {
                id: term_id(&processor.node),
                name: matches!(processor.node, Term::BlankNode(_)).then(|| self.show(&processor.node)),
                class: processor.class.as_str().to_string(),
                runner: instance.clone(),
                implementation,
                arguments,
            });
        }

        // Every runner the pipeline uses is checked once, all at the same time: asking an interpreter
        // its version takes tens of milliseconds.
        let working_dir = Path::new(&plan.working_dir);
        let mut to_check: Vec<&RunnerInfo> = Vec::new();
        for (_, runner_iri, _) in &instances {
            let Some(runner) = runners.get(runner_iri) else { continue };
            let found = runner.argv.first().and_then(|p| (self.options.find_program)(p, working_dir));
            if found.is_some() && !to_check.iter().any(|r| r.iri == runner.iri) {
                to_check.push(runner);
            }
        }
        let check_runner = self.options.check_runner;
        let readiness: Vec<(NamedNode, Readiness)> = std::thread::scope(|scope| {
            let checks: Vec<_> = to_check
                .iter()
                .map(|runner| (runner.iri.clone(), scope.spawn(move || check_runner(runner, working_dir))))
                .collect();
            checks.into_iter().map(|(iri, check)| (iri, check.join().unwrap_or_default())).collect()
        });
        for (iri, readiness) in &readiness {
            let Some(runner) = runners.get(iri) else { continue };
            for missing in &readiness.missing {
                let kind = missing.kind(runner, self.show_iri(&runner.iri));
                let problem = Problem::new(kind)
                    .in_file(runner.source.as_ref().map(|g| names.file(g.as_str())))
                    .subject(self.show_iri(&runner.iri));
                self.problems.push(problem);
            }
        }

        for (id, runner_iri, members) in &instances {
            let Some(runner) = runners.get(runner_iri) else { continue };
            let runner_term = Term::NamedNode(runner.iri.clone());
            let program = match runner.argv.first() {
                None => {
                    let kind = ProblemKind::RunnerWithoutCommand { runner: self.show_iri(&runner.iri) };
                    self.report(kind, Some(&runner_term), None);
                    None
                }
                Some(program) => {
                    let found = (self.options.find_program)(program, Path::new(&plan.working_dir));
                    if found.is_none() {
                        let kind = ProblemKind::ProgramNotFound {
                            runner: self.show_iri(&runner.iri),
                            program: program.clone(),
                            hint: runner.install_hint.clone(),
                        };
                        let problem = Problem::new(kind)
                            .in_file(runner.source.as_ref().map(|g| names.file(g.as_str())))
                            .subject(self.show_iri(&runner.iri));
                        self.problems.push(problem);
                    }
                    found.map(|p| p.display().to_string())
                }
            };
            plan.runners.push(plan::RunnerInstance {
                id: id.clone(),
                runner: runner.iri.as_str().to_string(),
                label: runner.label.clone(),
                argv: runner.argv.clone(),
                program,
                processors: members.iter().map(|&m| term_id(&found[m].node)).collect(),
            });
        }

        self.plan_channels(plan, &table, &runners);
        for cycle in crate::cycles::processor_cycles(plan) {
            let shown: Vec<String> = cycle.iter().map(|id| self.loaded.names.id(id)).collect();
            let kind = ProblemKind::ChannelCycle { cycle: format!("{} -> {}", shown.join(" -> "), shown[0]) };
            self.problems.push(Problem::new(kind).subject(shown[0].clone()));
        }
    }

    /// Every local file an implementation names (`rdfc:file`, `rdfc:jar`, `js:file`...) must exist, so
    /// that a typo is reported before any runner starts. A path into a virtual environment's
    /// `lib/python3.X/` is taken to mean whichever Python that environment has.
    fn check_implementation_files(
        &mut self,
        class: &Term,
        implementation: &mut serde_json::Map<String, serde_json::Value>,
    ) {
        for value in implementation.values_mut() {
            let Some(url) = value.as_str() else { continue };
            let Some(path) = crate::fileurl::to_path(url) else { continue };
            if path.exists() {
                continue;
            }
            if let Some(found) = crate::venv::other_python(&path) {
                *value = serde_json::Value::String(crate::fileurl::from_path(&found));
                continue;
            }
            let kind =
                ProblemKind::MissingImplementationFile { class: self.show(class), path: self.loaded.names.file(url) };
            self.report(kind, Some(class), None);
        }
    }

    /// Processor instances with their class and, where the pipeline says so, their runner.
    /// A processor whose runner choice is wrong is still returned, with `runnable` false.
    fn find_processors(
        &mut self,
        store: &Store,
        classes: &Classes,
        runners: &Runners,
        pipeline: Option<&Term>,
    ) -> Vec<Found> {
        let mut by_node: BTreeMap<OrderKey, (Term, Vec<NamedNode>)> = BTreeMap::new();
        for row in queries::PROCESSORS.select(store, &[]) {
            let (Some(node), Some(Term::NamedNode(class))) = (row.get("processor"), row.get("class")) else { continue };
            let entry = by_node.entry(order_key(Some(node))).or_insert_with(|| (node.clone(), Vec::new()));
            if !entry.1.contains(class) {
                entry.1.push(class.clone());
            }
        }

        // Explicit runner choice: rdfc:consistsOf [ rdfc:instantiates R; rdfc:processor p ].
        let bindings: Vec<(&str, Term)> = pipeline.map(|p| vec![("pipeline", p.clone())]).unwrap_or_default();
        let mut assigned: BTreeMap<OrderKey, Vec<(Term, NamedNode)>> = BTreeMap::new();
        let mut parts_seen = Vec::new();
        for row in queries::PIPELINE_PARTS.select(store, &bindings) {
            let Some(part) = row.get("part") else { continue };
            let runner = match row.get("runner") {
                Some(Term::NamedNode(r)) => r.clone(),
                _ => {
                    if !parts_seen.contains(part) {
                        parts_seen.push(part.clone());
                        self.report(
                            ProblemKind::PartWithoutRunner,
                            pipeline,
                            Some(&format!("{}consistsOf", crate::vocab::RDFC)),
                        );
                    }
                    continue;
                }
            };
            if runners.get(&runner).is_none() {
                if !parts_seen.contains(part) {
                    parts_seen.push(part.clone());
                    let kind = ProblemKind::UnknownRunner { runner: self.show_iri(&runner) };
                    self.report(kind, pipeline, Some(&format!("{}instantiates", crate::vocab::RDFC)));
                }
                continue;
            }
            let Some(processor) = row.get("processor") else { continue };
            let canonical = runners.get(&runner).map(|r| r.iri.clone()).unwrap_or(runner);
            let list = assigned.entry(order_key(Some(processor))).or_default();
            if !list.iter().any(|(p, _)| p == part) {
                list.push((part.clone(), canonical));
            }
            if !by_node.contains_key(&order_key(Some(processor))) {
                let types = types_of(store, processor);
                let kind = match types.first() {
                    None => ProblemKind::UntypedProcessor { processor: self.show(processor) },
                    Some(_) => ProblemKind::UnknownProcessorClass {
                        processor: self.show(processor),
                        class: types.iter().map(|t| self.show_iri(t)).collect::<Vec<_>>().join(", "),
                    },
                };
                // Reported once per processor even if it is listed in several parts.
                if !self.problems.iter().any(|p| p.kind == kind) {
                    self.report(kind, Some(processor), Some(iri::RDFC_PROCESSOR));
                }
            }
        }

        // RDF-Connect runs what the pipeline's parts list and nothing else: imported files (a
        // package's examples) may describe processors of their own.
        let listed_only = !assigned.is_empty();
        let mut found = Vec::new();
        for (key, (node, mut node_classes)) in by_node {
            if listed_only && !assigned.contains_key(&key) {
                let kind = ProblemKind::IgnoredProcessor {
                    processor: self.show(&node),
                    pipeline: pipeline.map(|p| self.show(p)).unwrap_or_default(),
                };
                self.report(kind, Some(&node), None);
                continue;
            }
            // A class and its superclass may both be processor classes: keep the most specific.
            let all = node_classes.clone();
            node_classes.retain(|c| !all.iter().any(|other| other != c && classes.is_a(other, c.as_str())));
            if node_classes.len() > 1 {
                let kind = ProblemKind::SeveralProcessorClasses {
                    processor: self.show(&node),
                    count: node_classes.len(),
                    classes: node_classes.iter().map(|c| self.show_iri(c)).collect::<Vec<_>>().join(", "),
                };
                self.report(kind, Some(&node), None);
                continue;
            }
            let class = node_classes.remove(0);
            let part = match assigned.get(&key) {
                Some(list) if list.len() > 1 => {
                    let kind =
                        ProblemKind::ProcessorInSeveralRunners { processor: self.show(&node), count: list.len() };
                    self.report(kind, Some(&node), None);
                    found.push(Found { node, class, part: None, runnable: false });
                    continue;
                }
                Some(list) => {
                    let (part, runner) = list[0].clone();
                    let info = runners.get(&runner).expect("assigned runners are known");
                    if !info.handles(store, classes, &class) {
                        let kind = ProblemKind::RunnerMismatch {
                            runner: self.show_iri(&runner),
                            processor: self.show(&node),
                            class: self.show_iri(&class),
                        };
                        self.report(kind, Some(&node), None);
                        found.push(Found { node, class, part: None, runnable: false });
                        continue;
                    }
                    Some((part, runner))
                }
                None => None,
            };
            found.push(Found { node, class, part, runnable: true });
        }
        found
    }

    fn auto_runner<'a>(
        &mut self,
        store: &Store,
        classes: &Classes,
        runners: &'a Runners,
        processor: &Found,
    ) -> Option<&'a RunnerInfo> {
        let candidates = runners.handling(store, classes, &processor.class);
        match candidates.as_slice() {
            [one] => Some(one),
            [] => {
                let declared_by = queries::PROCESSOR_CLASSES
                    .select(store, &[("class", Term::NamedNode(processor.class.clone()))])
                    .iter()
                    .filter_map(|r| match r.get("declaredBy") {
                        Some(Term::NamedNode(p)) => Some(self.show_iri(p)),
                        _ => None,
                    })
                    .next()
                    .unwrap_or_else(|| "no implementation predicate".into());
                let kind = ProblemKind::NoRunner {
                    processor: self.show(&processor.node),
                    class: self.show_iri(&processor.class),
                    declared_by,
                };
                self.report(kind, Some(&processor.node), None);
                None
            }
            several => {
                let kind = ProblemKind::SeveralRunners {
                    processor: self.show(&processor.node),
                    class: self.show_iri(&processor.class),
                    count: several.len(),
                    runners: several.iter().map(|r| self.show_iri(&r.iri)).collect::<Vec<_>>().join(", "),
                };
                self.report(kind, Some(&processor.node), None);
                None
            }
        }
    }

    /// The runner's implementation shapes that target `class` (by its types or its predicates).
    fn implementation_shapes(
        &self,
        store: &Store,
        classes: &Classes,
        shapes: &Shapes,
        runner: &RunnerInfo,
        class: &NamedNode,
    ) -> Vec<Term> {
        let class_term = Term::NamedNode(class.clone());
        let mut targeting: Vec<&Term> = Vec::new();
        for t in types_of(store, &class_term) {
            for ancestor in classes.with_superclasses(&t) {
                targeting.extend(shapes.for_class(ancestor));
            }
        }
        if let Some(subject) = as_subject(&class_term) {
            let mut predicates: Vec<NamedNode> = store
                .quads_for_pattern(Some(subject), None, None, None)
                .filter_map(Result::ok)
                .map(|q| q.predicate)
                .collect();
            predicates.sort();
            predicates.dedup();
            for p in &predicates {
                targeting.extend(shapes.for_subjects_of(p));
            }
        }
        runner.implementation_shapes.iter().filter(|s| targeting.contains(s)).cloned().collect()
    }

    /// A file or HTTP end is carried by its processor's runner, which must say it can
    /// (`riffle:supportsTransport`).
    fn check_external_end_hosts(
        &mut self,
        plan: &Plan,
        runners: &Runners,
        declared: &crate::channels::DeclaredChannel,
        transport: Transport,
    ) {
        let wanted = if transport == Transport::File { iri::RIFFLE_FILE } else { iri::RIFFLE_HTTP };
        for end in declared.writers.iter().chain(&declared.readers) {
            let Some(processor) = plan.processors.iter().find(|p| p.id == term_id(&end.processor)) else { continue };
            let runner = plan.runners.iter().find(|r| r.id == processor.runner);
            let supported = runner
                .and_then(|r| runners.get(&NamedNode::new_unchecked(&r.runner)))
                .is_some_and(|info| info.transports.iter().any(|t| t.as_str() == wanted));
            if !supported {
                let kind = ProblemKind::UnsupportedEnd {
                    end: declared.shown.clone(),
                    transport: transport.as_str().to_string(),
                    runner: processor.runner.clone(),
                    processor: self.show(&end.processor),
                };
                self.report(kind, Some(&declared.node), None);
            }
        }
    }

    fn plan_channels(&mut self, plan: &mut Plan, table: &ChannelTable, runners: &Runners) {
        let runner_of: HashMap<&str, &str> =
            plan.processors.iter().map(|p| (p.id.as_str(), p.runner.as_str())).collect();
        let ends = |uses: &[crate::channels::EndUse]| -> Vec<plan::End> {
            uses.iter().map(|u| plan::End { processor: term_id(&u.processor), argument: u.argument.clone() }).collect()
        };
        for declared in &table.channels {
            let node = &declared.node;
            let shown = declared.shown.clone();
            if let Some((transport, options)) = &declared.external {
                if declared.writers.is_empty() && declared.readers.is_empty() {
                    self.report(ProblemKind::UnusedChannel { channel: shown }, Some(node), None);
                } else {
                    self.check_external_end_hosts(plan, runners, declared, *transport);
                    plan.channels.push(plan::Channel {
                        id: declared.id.clone(),
                        transport: *transport,
                        crosses_runners: false,
                        writers: ends(&declared.writers),
                        readers: ends(&declared.readers),
                        options: Some(options.clone()),
                        log_level: None,
                    });
                }
                continue;
            }
            match (declared.writers.is_empty(), declared.readers.is_empty()) {
                (true, true) => {
                    self.report(ProblemKind::UnusedChannel { channel: shown }, Some(node), None);
                    continue;
                }
                (true, false) => {
                    self.report(ProblemKind::ChannelWithoutWriter { channel: shown.clone() }, Some(node), None)
                }
                (false, true) => {
                    self.report(ProblemKind::ChannelWithoutReader { channel: shown.clone() }, Some(node), None)
                }
                (false, false) => {}
            }
            let writers = ends(&declared.writers);
            let readers = ends(&declared.readers);
            let mut instances: Vec<&str> =
                writers.iter().chain(&readers).filter_map(|e| runner_of.get(e.processor.as_str()).copied()).collect();
            instances.sort();
            instances.dedup();
            let crosses_runners = instances.len() > 1;
            let transport = match declared.transports.as_slice() {
                [] => None,
                [one] => match one.as_str() {
                    iri::RIFFLE_MEMORY => Some(Transport::Memory),
                    iri::RIFFLE_TCP => Some(Transport::Tcp),
                    iri::RIFFLE_WEBSOCKET => Some(Transport::WebSocket),
                    other => {
                        let kind = ProblemKind::UnknownTransport {
                            channel: shown.clone(),
                            transport: self.loaded.names.iri(other),
                        };
                        self.report(kind, Some(node), Some(&format!("{}transport", crate::vocab::RIFFLE)));
                        None
                    }
                },
                several => {
                    let kind = ProblemKind::SeveralTransports {
                        channel: shown.clone(),
                        count: several.len(),
                        transports: several.iter().map(|t| self.show_iri(t)).collect::<Vec<_>>().join(", "),
                    };
                    self.report(kind, Some(node), Some(&format!("{}transport", crate::vocab::RIFFLE)));
                    None
                }
            };
            let transport = transport.unwrap_or(if crosses_runners { Transport::Tcp } else { Transport::Memory });
            if transport == Transport::Memory && crosses_runners {
                let kind = ProblemKind::MemoryAcrossRunners {
                    channel: shown,
                    count: instances.len(),
                    runners: instances.join(", "),
                };
                self.report(kind, Some(node), None);
            }
            plan.channels.push(plan::Channel {
                id: declared.id.clone(),
                transport,
                crosses_runners,
                writers,
                readers,
                options: None,
                log_level: declared.log_level.clone(),
            });
        }
    }
}
