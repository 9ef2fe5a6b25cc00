// Riffle's dashboard: draws the plan once (/plan.json), then polls the live figures (/state.json)
// twice a second and changes only the text and classes that moved. Every value from the pipeline is
// set as text, never as markup: an IRI or a log line cannot inject anything into the page.

const POLL_MS = 500;
/** Past this many channels the arrows carry no labels (the table has the figures). */
const LABELLED_CHANNELS = 300;
const LOG_KEPT = 1000;
const SVG = "http://www.w3.org/2000/svg";

const byId = (id) => document.getElementById(id);
const number = (n) => (n === null || n === undefined ? "" : Math.round(n).toLocaleString("en-US"));

function element(tag, attributes = {}, text) {
  const e = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) e.setAttribute(name, value);
  if (text !== undefined) e.textContent = text;
  return e;
}

function svg(tag, attributes = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) e.setAttribute(name, String(value));
  if (text !== undefined) e.textContent = text;
  return e;
}

function bytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

function duration(ms) {
  if (ms === null || ms === undefined || ms < 0) return "";
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const shorten = (text, max) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Ranks processors left to right: a reader one column after its rightmost writer (cycles are cut). */
function ranks(plan) {
  const rank = new Map(plan.processors.map((p) => [p.id, 0]));
  for (let round = 0; round < plan.processors.length; round++) {
    let moved = false;
    for (const c of plan.channels) {
      for (const w of c.writers) {
        for (const r of c.readers) {
          if (w !== r && rank.has(w) && rank.has(r) && rank.get(r) < rank.get(w) + 1) {
            rank.set(r, rank.get(w) + 1);
            moved = true;
          }
        }
      }
    }
    if (!moved) break;
  }
  return rank;
}

const NODE_W = 170;
const NODE_H = 42;
const COLUMN = 240;
const ROW = 58;
const LANE_HEAD = 22;
const PAD = 16;
/** Past this many processors each is a small square (name and state on hover and in the tables), packed
 * CELLS_PER_ROW to a row per runner and rank, so a 1,000-processor pipeline fits a screen or two. */
const COMPACT_PAST = 120;
const CELL = 22;
const SQUARE = 16;
const CELLS_PER_ROW = 20;

const byName = new Intl.Collator("en", { numeric: true }).compare;

/** Where each processor's box goes: runners as bands top to bottom, ranks as columns left to right. */
function layout(plan, rank, compact) {
  const columns = Math.max(1, ...[...rank.values()].map((r) => r + 1));
  const box = compact ? { w: SQUARE, h: SQUARE } : { w: NODE_W, h: NODE_H };
  const column = compact ? CELLS_PER_ROW * CELL + 60 : COLUMN;
  const names = new Map(plan.processors.map((p) => [p.id, p.name]));
  const place = new Map();
  const lanes = [];
  let y = 0;
  for (const runner of plan.runners) {
    const ids = [...runner.processors].sort(
      (a, b) => (rank.get(a) ?? 0) - (rank.get(b) ?? 0) || byName(names.get(a) ?? a, names.get(b) ?? b),
    );
    const used = new Map();
    let tallest = 1;
    for (const id of ids) {
      const r = rank.get(id) ?? 0;
      const n = used.get(r) ?? 0;
      used.set(r, n + 1);
      const [row, slot] = compact ? [Math.floor(n / CELLS_PER_ROW), n % CELLS_PER_ROW] : [n, 0];
      tallest = Math.max(tallest, row + 1);
      const x = PAD + r * column + slot * CELL;
      place.set(id, { x, y: y + LANE_HEAD + PAD + row * (compact ? CELL : ROW) });
    }
    const height = LANE_HEAD + PAD * 2 + (compact ? tallest * CELL : tallest * ROW - (ROW - NODE_H));
    lanes.push({ runner, y, height });
    y += height + 8;
  }
  const widest = compact ? CELLS_PER_ROW * CELL : NODE_W;
  return { place, lanes, box, width: PAD * 2 + (columns - 1) * column + widest, height: y };
}

/** Draws runners as bands, processors as boxes in columns by rank, channels as arrows. */
function drawGraph(plan, view) {
  const compact = plan.processors.length > COMPACT_PAST;
  const { place, lanes, box, width, height: y } = layout(plan, ranks(plan), compact);
  const root = svg("svg", { width, height: y, viewBox: `0 0 ${width} ${y}`, role: "img", "aria-label": "pipeline graph" });
  if (compact) {
    root.setAttribute("class", "compact");
    byId("graph-legend").textContent =
      "Runners are bands, processors are squares coloured by state (hover for the name, click for its row), channels are lines.";
  }
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#9aa3b5" }));
  defs.append(marker);
  root.append(defs);
  for (const lane of lanes) {
    const g = svg("g", { class: "lane", "data-runner": lane.runner.id });
    g.append(svg("rect", { x: 2, y: lane.y + 2, width: width - 4, height: lane.height - 4, rx: 6 }));
    const language = lane.runner.label ? `${lane.runner.label}, ${lane.runner.runner}` : lane.runner.runner;
    g.append(svg("text", { x: 10, y: lane.y + 17 }, `runner ${lane.runner.id}: ${language}`));
    root.append(g);
  }
  const names = new Map(plan.processors.map((p) => [p.id, p.name]));
  const labelled = plan.channels.length <= LABELLED_CHANNELS;
  for (const c of plan.channels) {
    let first = true;
    for (const w of c.writers) {
      for (const r of c.readers) {
        const a = place.get(w);
        const b = place.get(r);
        if (!a || !b) continue;
        const x1 = a.x + box.w;
        const y1 = a.y + box.h / 2;
        const x2 = b.x;
        const y2 = b.y + box.h / 2;
        const bend = Math.max(40, Math.abs(x2 - x1) / 2);
        const g = svg("g", { class: "edge", "data-channel": c.id });
        g.append(svg("path", { d: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`, ...(compact ? {} : { "marker-end": "url(#arrow)" }) }));
        g.append(svg("title", {}, `${c.name}: ${names.get(w)} → ${names.get(r)} (${c.transport})`));
        if (labelled && first) {
          const label = svg("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 5, "text-anchor": "middle" }, c.name);
          view.edgeLabels.set(c.id, { label, name: shorten(c.name, 28) });
          g.append(label);
        }
        first = false;
        root.append(g);
      }
    }
  }
  for (const p of plan.processors) {
    const at = place.get(p.id);
    if (!at) continue;
    const g = svg("g", { class: "node", "data-id": p.id, transform: `translate(${at.x} ${at.y})` });
    g.append(svg("rect", { width: box.w, height: box.h }));
    g.append(svg("title", {}, `${p.name}\n${p.class}\nrunner ${p.runner}`));
    let state = null;
    if (compact) {
      // A square has no room for its name: a click shows its row in the processors' table.
      g.addEventListener("click", () => showProcessor(p.name));
    } else {
      g.append(svg("text", { x: 8, y: 17 }, shorten(p.name, 24)));
      state = svg("text", { x: 8, y: 33, class: "state-text" }, "not started");
      g.append(state);
    }
    view.nodes.set(p.id, { g, state });
    root.append(g);
  }
  byId("graph").replaceChildren(root);
}

function showProcessor(name) {
  const input = byId("processor-filter");
  input.value = name;
  input.dispatchEvent(new Event("input"));
  input.scrollIntoView({ block: "start" });
}

function row(cells, attributes) {
  const tr = element("tr", attributes);
  const out = {};
  for (const [key, text, cls] of cells) {
    const td = element("td", cls ? { class: cls } : {}, text);
    tr.append(td);
    out[key] = td;
  }
  return { tr, cells: out };
}

function buildTables(plan, view) {
  const names = new Map(plan.processors.map((p) => [p.id, p.name]));
  const list = (ids) => ids.map((id) => names.get(id) ?? id).join(", ") || "–";
  const channels = byId("channels").tBodies[0];
  for (const c of plan.channels) {
    const r = row(
      [
        ["name", c.name],
        ["transport", c.transport],
        ["ends", `${list(c.writers)} → ${list(c.readers)}`],
        ["messages", "0", "n messages"],
        ["perSecond", "0", "n per-second"],
        ["queued", "0", "n queued"],
        ["blocked", "", "n blocked"],
        ["bytes", "0 B", "n bytes"],
      ],
      { "data-id": c.id },
    );
    r.search = `${c.name} ${c.id} ${list(c.writers)} ${list(c.readers)}`.toLowerCase();
    view.channels.set(c.id, r);
    channels.append(r.tr);
  }
  const processors = byId("processors").tBodies[0];
  for (const p of plan.processors) {
    const r = row(
      [
        ["name", p.name],
        ["class", p.class],
        ["runner", p.runner],
        ["state", "not started", "state"],
        ["time", "", "n time"],
      ],
      { "data-id": p.id },
    );
    r.search = `${p.name} ${p.id} ${p.class} ${p.runner}`.toLowerCase();
    view.processors.set(p.id, r);
    processors.append(r.tr);
  }
  const runners = byId("runners").tBodies[0];
  for (const runner of plan.runners) {
    const r = row(
      [
        ["id", runner.id],
        ["runner", runner.label ? `${runner.label}, ${runner.runner}` : runner.runner],
        ["pid", "", "n pid"],
        ["memory", "", "n memory"],
        ["cpu", "", "n cpu"],
        ["endpoint", ""],
        ["processors", String(runner.processors.length), "n"],
      ],
      { "data-id": runner.id },
    );
    view.runners.set(runner.id, r);
    runners.append(r.tr);
  }
  const filter = (input, rows) =>
    input.addEventListener("input", () => {
      const wanted = input.value.trim().toLowerCase();
      for (const r of rows.values()) r.tr.hidden = wanted !== "" && !r.search.includes(wanted);
    });
  filter(byId("channel-filter"), view.channels);
  filter(byId("processor-filter"), view.processors);
  const select = byId("log-filter");
  for (const p of plan.processors) select.append(element("option", { value: p.id }, p.name));
  select.append(element("option", { value: "\u0000runners" }, "the runners' own lines"));
  select.addEventListener("change", () => redrawLog(view));
}

function set(cell, text) {
  if (cell.textContent !== text) cell.textContent = text;
}

function setClass(node, base, state) {
  const wanted = `${base} ${state.replace(/ /g, "-")}`.trim();
  if (node.getAttribute("class") !== wanted) node.setAttribute("class", wanted);
}

function update(plan, view, state) {
  const run = state.run;
  const badge = byId("run-state");
  set(badge, run.state);
  setClass(badge, "badge", run.state);
  set(byId("elapsed"), duration((run.endedAt ?? run.now) - run.startedAt));
  set(byId("updated"), `updated ${new Date(run.now).toLocaleTimeString("en-GB")}`);
  for (const [id, r] of view.channels) {
    const f = state.channels[id];
    if (!f) continue;
    set(r.cells.messages, number(f.messages));
    set(r.cells.perSecond, number(f.perSecond));
    set(r.cells.queued, number(f.queued));
    set(r.cells.blocked, f.blockedSeconds === null ? "" : `${f.blockedSeconds.toFixed(3)} s`);
    set(r.cells.bytes, bytes(f.bytes));
    const edge = view.edgeLabels.get(id);
    if (edge) set(edge.label, `${edge.name} ${number(f.messages)} · ${number(f.perSecond)}/s`);
  }
  const failures = [];
  for (const p of plan.processors) {
    const s = state.processors[p.id];
    const r = view.processors.get(p.id);
    const node = view.nodes.get(p.id);
    const name = s ? s.state : "not started";
    const time = s && s.startedAt ? duration((s.endedAt ?? run.now) - s.startedAt) : "";
    set(r.cells.state, name);
    setClass(r.cells.state, "state", name);
    set(r.cells.time, time);
    if (node) {
      setClass(node.g, "node", name);
      if (node.state) set(node.state, time ? `${name} · ${time}` : name);
    }
    if (s && s.error) failures.push({ p, s });
  }
  for (const [id, r] of view.runners) {
    const f = state.runners[id];
    if (!f) continue;
    set(r.cells.pid, f.pid === null ? "external" : String(f.pid));
    set(r.cells.memory, f.residentBytes === null ? "" : bytes(f.residentBytes));
    set(r.cells.cpu, f.cpuSeconds === null ? "" : `${f.cpuSeconds.toFixed(2)} s`);
    set(r.cells.endpoint, f.endpoint ?? "");
  }
  showFailures(failures, run, view);
  for (const line of state.log.lines) view.log.push(line);
  if (view.log.length > LOG_KEPT) view.log.splice(0, view.log.length - LOG_KEPT);
  view.logNext = state.log.next;
  appendLog(view, state.log.lines);
}

function showFailures(failures, run, view) {
  const key = failures.map((f) => f.p.id).join(" ") + (run.error ?? "");
  if (key === view.failuresKey) return;
  view.failuresKey = key;
  const box = byId("failures");
  box.replaceChildren();
  for (const { p, s } of failures) {
    const div = element("div", { class: "failure", "data-id": p.id });
    div.append(element("div", { class: "who" }, `${p.name} (runner ${p.runner})`));
    div.append(element("div", { class: "message" }, s.error));
    if (s.stack) div.append(element("pre", { class: "stack" }, s.stack));
    box.append(div);
  }
  if (run.error && failures.length === 0) {
    const div = element("div", { class: "failure run" });
    div.append(element("div", { class: "message" }, run.error));
    box.append(div);
  }
  byId("failures-section").hidden = box.childElementCount === 0;
}

function shows(view, line) {
  const wanted = byId("log-filter").value;
  if (wanted === "") return true;
  if (wanted === "\u0000runners") return line.processor === null;
  return line.processor === wanted;
}

function logLine(view, line) {
  const who = line.processor === null ? `[runner ${line.runner}]` : `[${view.names.get(line.processor) ?? line.processor}]`;
  const div = element("div", { class: line.level, "data-processor": line.processor ?? "" });
  div.append(element("span", { class: "who" }, `${new Date(line.at).toLocaleTimeString("en-GB")} ${who} `));
  div.append(document.createTextNode(line.message));
  return div;
}

function appendLog(view, lines) {
  const box = byId("log");
  const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
  for (const line of lines) if (shows(view, line)) box.append(logLine(view, line));
  while (box.childElementCount > LOG_KEPT) box.firstChild.remove();
  if (atBottom) box.scrollTop = box.scrollHeight;
}

function redrawLog(view) {
  byId("log").replaceChildren();
  appendLog(view, view.log);
}

/** Runs the query box's text against /sparql and shows the answer as a table (or text). */
async function runQuery(event) {
  event.preventDefault();
  const out = byId("query-result");
  out.replaceChildren(element("p", { class: "legend" }, "running…"));
  try {
    const response = await fetch("/sparql", {
      method: "POST",
      headers: { Accept: "application/sparql-results+json, text/turtle;q=0.9" },
      body: new URLSearchParams({ query: byId("query-text").value }),
    });
    const text = await response.text();
    if (!response.ok) {
      out.replaceChildren(element("pre", { class: "error" }, `${response.status}: ${text}`));
      return;
    }
    if (!(response.headers.get("content-type") ?? "").includes("json")) {
      out.replaceChildren(element("pre", { class: "graph" }, text));
      return;
    }
    const results = JSON.parse(text);
    if (typeof results.boolean === "boolean") {
      out.replaceChildren(element("p", { class: "boolean" }, String(results.boolean)));
      return;
    }
    const variables = results.head.vars;
    const table = element("table", { class: "results" });
    const head = element("tr");
    for (const v of variables) head.append(element("th", {}, v));
    const thead = element("thead");
    thead.append(head);
    table.append(thead);
    const body = element("tbody");
    for (const binding of results.results.bindings) {
      const tr = element("tr");
      for (const v of variables) tr.append(element("td", {}, binding[v] ? binding[v].value : ""));
      body.append(tr);
    }
    table.append(body);
    const count = results.results.bindings.length;
    out.replaceChildren(element("p", { class: "legend" }, `${count} ${count === 1 ? "row" : "rows"}`), table);
  } catch (e) {
    out.replaceChildren(element("pre", { class: "error" }, `the query could not be sent: ${e.message}`));
  }
}

async function poll(plan, view) {
  try {
    const response = await fetch(`/state.json?log=${view.logNext}`, { cache: "no-store" });
    if (!response.ok) throw new Error(`${response.status}`);
    update(plan, view, await response.json());
  } catch {
    set(byId("run-state"), "disconnected");
    setClass(byId("run-state"), "badge", "disconnected");
  }
  setTimeout(() => poll(plan, view), POLL_MS);
}

async function main() {
  const plan = await (await fetch("/plan.json")).json();
  if (plan.pipeline) byId("pipeline").textContent = plan.pipeline;
  const view = {
    nodes: new Map(),
    edgeLabels: new Map(),
    channels: new Map(),
    processors: new Map(),
    runners: new Map(),
    names: new Map(plan.processors.map((p) => [p.id, p.name])),
    log: [],
    logNext: 0,
    failuresKey: null,
  };
  drawGraph(plan, view);
  buildTables(plan, view);
  byId("query").addEventListener("submit", runQuery);
  poll(plan, view);
}

main();
