// Hatchway console: the topology from /api/topology (every 5 s), per-route rates, latency and
// errors from /metrics (every 2 s, as differences between two reads), explain via
// /api/explain. Text is always set with textContent: nothing from the server becomes markup.
"use strict";

const TOPOLOGY_EVERY_MS = 5000;
const METRICS_EVERY_MS = 2000;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return node;
}

function badges(conditions) {
  const span = el("span", { class: "badges" });
  for (const c of conditions) {
    const b = el("span", { class: "badge " + (c.ok ? "ok" : "bad") }, `${c.type}: ${c.reason}`);
    b.title = c.message || "";
    span.appendChild(b);
  }
  return span;
}

function reasons(conditions) {
  return conditions
    .filter((c) => !c.ok)
    .map((c) => el("div", { class: "reason" }, `${c.type}=${c.status} ${c.reason}: ${c.message}`));
}

function routeKey(gw, listener, route) {
  return [gw.namespace, gw.name, listener.name, route.namespace, route.name].join("/");
}

function renderTopology(data) {
  document.getElementById("generation").textContent = `generation ${data.generation}`;
  const root = document.getElementById("topology");
  root.replaceChildren();
  if (!data.gateways.length) root.appendChild(el("p", { class: "muted" }, "No Gateway is served."));
  for (const gw of data.gateways) {
    const card = el("div", { class: "card gateway", "data-gateway": `${gw.namespace}/${gw.name}` });
    card.appendChild(el("h3", {}, `Gateway ${gw.namespace}/${gw.name}`,
      el("span", { class: "muted" }, ` class ${gw.gatewayClassName}` +
        (gw.addresses.length ? ` · ${gw.addresses.join(", ")}` : ""))));
    card.appendChild(badges(gw.conditions));
    for (const r of reasons(gw.conditions)) card.appendChild(r);
    for (const ls of gw.listeners) card.appendChild(renderListener(gw, ls));
    root.appendChild(card);
  }
  renderWarnings(data.warnings || []);
  renderPolicies(data.policies || []);
  paintStats();
}

function renderListener(gw, ls) {
  const healthy = ls.conditions.every((c) => c.ok);
  const box = el("div", { class: "listener " + (healthy ? "ok" : "bad"), "data-listener": ls.name });
  box.appendChild(el("div", {},
    el("strong", {}, `listener ${ls.name}`),
    ` ${ls.protocol}:${ls.port}` + (ls.hostname ? ` ${ls.hostname}` : "") +
      ` · ${ls.attachedRoutes} attached `,
    badges(ls.conditions)));
  for (const r of reasons(ls.conditions)) box.appendChild(r);
  if (!ls.routes.length) return box;
  const table = el("table", {},
    el("tr", {}, el("th", {}, "route"), el("th", {}, "conditions"), el("th", {}, "backends"),
      el("th", {}, "req/s"), el("th", {}, "p50"), el("th", {}, "p99"), el("th", {}, "errors")));
  for (const route of ls.routes) {
    const ok = route.conditions.every((c) => c.ok);
    const key = routeKey(gw, ls, route);
    const backends = el("td", {});
    for (const rule of route.rules) {
      for (const b of rule.backends) {
        const good = b.served && b.endpoints > 0;
        backends.appendChild(el("span", { class: "backend " + (good ? "ok" : "bad") },
          `${b.name} (${b.served ? b.endpoints + " endpoints" : "not served"})`));
      }
    }
    const cond = el("td", {}, badges(route.conditions), ...reasons(route.conditions));
    table.appendChild(el("tr", {
      class: "route " + (ok ? "healthy" : "broken"),
      "data-route": `${route.namespace}/${route.name}`, "data-key": key,
    },
      el("td", { class: "name" }, `${route.kind} ${route.namespace}/${route.name}`),
      cond, backends,
      el("td", { class: "num rate" }, "–"), el("td", { class: "num p50" }, "–"),
      el("td", { class: "num p99" }, "–"), el("td", { class: "num errors" }, "–")));
  }
  box.appendChild(table);
  return box;
}

function renderWarnings(warnings) {
  const ul = document.getElementById("warnings");
  ul.replaceChildren();
  if (!warnings.length) ul.appendChild(el("li", { class: "muted" }, "none"));
  for (const w of warnings) {
    ul.appendChild(el("li", { class: w.severity },
      `${w.severity}: ${w.object}: ${w.message} [${w.code}]`));
  }
}

function renderPolicies(policies) {
  const root = document.getElementById("policies");
  root.replaceChildren();
  if (!policies.length) root.appendChild(el("p", { class: "muted" }, "none"));
  for (const p of policies) {
    const card = el("div", { class: "card policy" }, el("h3", {}, `${p.kind} ${p.namespace}/${p.name}`));
    for (const a of p.ancestors) {
      const conds = a.conditions.map((c) => ({ ...c, ok: c.status === "True" }));
      card.appendChild(el("div", {}, `Gateway ${a.ancestorRef.namespace || p.namespace}/${a.ancestorRef.name} `,
        badges(conds), ...reasons(conds)));
    }
    root.appendChild(card);
  }
}

// --- metrics -----------------------------------------------------------------------------

function parseLabels(text) {
  const out = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  let m;
  while ((m = re.exec(text)) !== null) out[m[1]] = m[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
  return out;
}

function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line[0] === "#") continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (m) samples.push({ name: m[1], labels: parseLabels(m[2] || ""), value: Number(m[3]) });
  }
  return samples;
}

// Per route (key): {total, errors, buckets: {le: count}} summed over rules.
function perRoute(samples) {
  const routes = {};
  const get = (l) => {
    const key = [l.gateway_namespace, l.gateway, l.listener, l.namespace, l.route].join("/");
    return (routes[key] = routes[key] || { total: 0, errors: 0, buckets: {} });
  };
  for (const s of samples) {
    if (s.name === "hatchway_route_requests_total") {
      const r = get(s.labels);
      r.total += s.value;
      if (s.labels.code === "5xx") r.errors += s.value;
    } else if (s.name === "hatchway_route_request_duration_seconds_bucket") {
      const r = get(s.labels);
      r.buckets[s.labels.le] = (r.buckets[s.labels.le] || 0) + s.value;
    }
  }
  return routes;
}

function quantile(buckets, q) {
  const les = Object.keys(buckets).map((le) => [le === "+Inf" ? Infinity : Number(le), buckets[le]])
    .sort((a, b) => a[0] - b[0]);
  const total = les.length ? les[les.length - 1][1] : 0;
  if (total <= 0) return null;
  const want = q * total;
  let prevLe = 0, prevCount = 0;
  for (const [le, count] of les) {
    if (count >= want) {
      if (le === Infinity) return prevLe;
      const inBucket = count - prevCount;
      return prevLe + (le - prevLe) * (inBucket > 0 ? (want - prevCount) / inBucket : 0);
    }
    prevLe = le; prevCount = count;
  }
  return prevLe;
}

// Rates and quantiles over a window of about 10 s: Envoy publishes histograms every 5 s, so
// two reads 2 s apart often see no new durations.
const WINDOW_MS = 10000;
const state = { history: [], stats: {} };

async function pollMetrics() {
  try {
    const text = await (await fetch("/metrics", { cache: "no-store" })).text();
    const now = { at: performance.now(), routes: perRoute(parseMetrics(text)) };
    state.history = state.history.filter((h) => now.at - h.at <= WINDOW_MS + METRICS_EVERY_MS);
    const last = state.history.length ? state.history[0] : null;
    if (last) {
      const seconds = (now.at - last.at) / 1000;
      const stats = {};
      for (const [key, r] of Object.entries(now.routes)) {
        const before = last.routes[key] || { total: 0, errors: 0, buckets: {} };
        const delta = {};
        for (const [le, c] of Object.entries(r.buckets)) delta[le] = c - (before.buckets[le] || 0);
        const requests = r.total - before.total;
        stats[key] = {
          rate: requests / seconds,
          errors: requests > 0 ? (r.errors - before.errors) / requests : null,
          p50: quantile(delta, 0.5),
          p99: quantile(delta, 0.99),
        };
      }
      state.stats = stats;
    }
    state.history.push(now);
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    paintStats();
  } catch (e) {
    document.getElementById("updated").textContent = "metrics unavailable: " + e;
  }
}

function ms(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  return seconds * 1000 < 10 ? `${(seconds * 1000).toFixed(1)} ms` : `${Math.round(seconds * 1000)} ms`;
}

function paintStats() {
  for (const row of document.querySelectorAll("tr.route")) {
    const s = state.stats[row.getAttribute("data-key")];
    row.querySelector(".rate").textContent = s ? s.rate.toFixed(1) : "–";
    row.querySelector(".p50").textContent = s ? ms(s.p50) : "–";
    row.querySelector(".p99").textContent = s ? ms(s.p99) : "–";
    row.querySelector(".errors").textContent =
      s && s.errors !== null ? `${(s.errors * 100).toFixed(1)} %` : "–";
  }
}

// --- topology and explain ----------------------------------------------------------------

async function pollTopology() {
  try {
    const r = await fetch("/api/topology", { cache: "no-store" });
    renderTopology(await r.json());
  } catch (e) {
    document.getElementById("generation").textContent = "topology unavailable: " + e;
  }
}

async function explainRequest(event) {
  event.preventDefault();
  const out = document.getElementById("explain-output");
  const params = new URLSearchParams();
  params.set("url", document.getElementById("explain-url").value);
  params.set("method", document.getElementById("explain-method").value);
  for (const line of document.getElementById("explain-headers").value.split("\n")) {
    if (line.trim()) params.append("header", line.trim());
  }
  out.className = "";
  out.textContent = "…";
  const r = await fetch("/api/explain?" + params.toString(), { cache: "no-store" });
  const body = await r.json();
  if (!r.ok) {
    out.className = "err";
    out.textContent = body.error;
    return;
  }
  out.textContent = body.text;
  out.setAttribute("data-outcome", body.trace.outcome);
}

document.getElementById("explain-form").addEventListener("submit", explainRequest);
pollTopology();
pollMetrics();
setInterval(pollTopology, TOPOLOGY_EVERY_MS);
setInterval(pollMetrics, METRICS_EVERY_MS);
