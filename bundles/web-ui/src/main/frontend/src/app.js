// Septum's web UI: the endpoint map (Cytoscape.js, fcose layout, one compound node per namespace), edges for
// observed connections coloured by their outcome, the live flow table, the policies with their hits, and why a flow got its
// verdict. Everything comes from the agent's /api (same services and filters as the REST API and `septum observe`).
import cytoscape from 'cytoscape';
import fcose from 'cytoscape-fcose';
import { createWorkbench } from './workbench.js';

cytoscape.use(fcose);

const COLORS = { FORWARDED: '#2ca02c', DROPPED: '#d62728', AUDIT: '#ff7f0e', REDIRECTED: '#1f77b4' };
const MAX_ROWS = 1000;
const OUTSIDE = '(outside)';

const state = {
  flows: [],          // every flow shown, oldest first; its index is its row's data-index
  edges: new Map(),   // edge id -> { conns: Set of connection keys }
  conns: new Map(),   // connection key -> { src, dst, verdict, edge, flows: [index...] }
  stream: null,
  selected: null,
  layoutTimer: null,
  laidOut: 0,
  nodes: new Map(),   // node name -> its last report in a cluster stream, while it is not 'connected'
};

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k.startsWith('data-')) e.setAttribute(k, v); else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
  return e;
};

/**
 * Fills a table body (7 columns) with the rows `toRows` makes of what `load` answers: one `hint` row saying `empty`
 * when there are none, the error across the table when loading fails.
 */
const fillTable = async (tbody, load, toRows, empty) => {
  const across = (cls, text) => el('tr', {}, el('td', { colSpan: 7, class: cls }, text));
  let items;
  try {
    items = await load();
  } catch (e) {
    tbody.replaceChildren(across('error', e.message));
    return;
  }
  const rows = toRows(items);
  if (!rows.length) rows.push(across('hint', empty));
  tbody.replaceChildren(...rows);
};

const cy = cytoscape({
  container: $('#graph'),
  wheelSensitivity: 0.3,
  maxZoom: 1.6, // a map of three endpoints should not fill the pane with giant labels
  style: [
    { selector: 'node', style: {
      'label': 'data(label)', 'font-size': 11, 'text-valign': 'bottom', 'text-margin-y': 4,
      'background-color': '#546e7a', 'width': 22, 'height': 22 } },
    { selector: 'node.outside', style: { 'background-color': '#90a4ae', 'shape': 'round-rectangle' } },
    { selector: ':parent', style: {
      'label': 'data(label)', 'text-valign': 'top', 'text-halign': 'center', 'font-size': 12, 'font-weight': 'bold',
      'background-color': '#eceff1', 'background-opacity': 0.6, 'border-color': '#b0bec5', 'border-width': 1,
      'shape': 'round-rectangle', 'padding': 14 } },
    { selector: 'edge', style: {
      'width': 2, 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', 'label': 'data(count)',
      'font-size': 9, 'text-background-color': '#fff', 'text-background-opacity': 0.8,
      'line-color': '#9e9e9e', 'target-arrow-color': '#9e9e9e' } },
    ...Object.entries(COLORS).map(([v, c]) => ({
      selector: `edge[verdict = "${v}"]`, style: { 'line-color': c, 'target-arrow-color': c } })),
    { selector: 'edge[verdict = "DROPPED"]', style: { 'line-style': 'dashed' } },
    { selector: ':selected', style: { 'border-width': 3, 'border-color': '#0d47a1', 'width': 4 } },
  ],
});

// ---- the map -------------------------------------------------------------------------------------------------

function nsNode(ns) {
  const id = `ns:${ns}`;
  if (cy.getElementById(id).empty()) {
    cy.add({ group: 'nodes', data: { id, label: ns, kind: 'namespace' }, classes: ns === OUTSIDE ? 'outside-ns' : '' });
  }
  return id;
}

// Endpoints are keyed by namespace/name, not by id: ids are each node's own, and a cluster stream brings flows
// whose endpoints live on other nodes; the same endpoint seen from two nodes is one node of the map.
function endpointNode(e) {
  const id = `ep:${e.namespace || 'default'}/${e.name}`;
  const label = e.name;
  const parent = nsNode(e.namespace || 'default');
  const n = cy.getElementById(id);
  if (n.empty()) {
    cy.add({ group: 'nodes', data: { id, label, parent, name: `${e.namespace}/${e.name}`, kind: 'endpoint' } });
    scheduleLayout();
  } else if (n.data('label') !== label) {
    n.data('label', label);
  }
  return id;
}

/** The node for one side of a flow: a local endpoint, or an identity/address outside the host's endpoints. */
function sideNode(side, ip) {
  if (side && side.ID > 0 && side.pod_name) {
    return endpointNode({ id: side.ID, name: side.pod_name, namespace: side.namespace || 'default' });
  }
  const reserved = (side && side.labels || []).find((l) => l.startsWith('reserved:'));
  const what = reserved ? reserved.slice('reserved:'.length) : (side && side.identity ? `identity ${side.identity}` : 'unknown');
  const id = `peer:${what}:${ip || ''}`;
  if (cy.getElementById(id).empty()) {
    cy.add({ group: 'nodes', data: { id, label: ip ? `${what} ${ip}` : what, parent: nsNode(OUTSIDE), kind: 'peer' },
      classes: 'outside' });
    scheduleLayout();
  }
  return id;
}

// An edge counts connections, each with its outcome: the worst verdict any of its flows got, from the source's
// egress to the destination's ingress. A connection the source let out (policy-verdict FORWARDED) but the
// destination dropped is one dropped connection, not one forwarded and one dropped.
const RANK = { FORWARDED: 1, REDIRECTED: 2, AUDIT: 3, DROPPED: 4 };

// The L3/L4 flows of one connection share its 5-tuple (a reply's, reversed); an L7 flow is its own entry.
function connectionKey(flow, index) {
  const ip = flow.IP || {};
  const l4 = flow.l4 || {};
  if (flow.Type === 'L7' || !ip.source || !ip.destination || !l4.protocol) return `flow:${index}`;
  const a = `${ip.source}:${l4.source_port}`;
  const b = `${ip.destination}:${l4.destination_port}`;
  return `${l4.protocol}:${flow.is_reply ? `${b}>${a}` : `${a}>${b}`}`;
}

function addEdge(flow, index) {
  const key = connectionKey(flow, index);
  let conn = state.conns.get(key);
  if (!conn) {
    const reply = flow.is_reply && !key.startsWith('flow:');
    const ip = flow.IP || {};
    conn = {
      src: reply ? sideNode(flow.destination, ip.destination) : sideNode(flow.source, ip.source),
      dst: reply ? sideNode(flow.source, ip.source) : sideNode(flow.destination, ip.destination),
      verdict: null, edge: null, flows: [],
    };
    state.conns.set(key, conn);
  }
  conn.flows.push(index);
  const verdict = flow.verdict || 'UNKNOWN';
  if (conn.verdict !== null && (RANK[verdict] || 0) <= (RANK[conn.verdict] || 0)) return;
  if (conn.edge) leaveEdge(conn.edge, key);
  conn.verdict = verdict;
  conn.edge = `edge:${conn.src}->${conn.dst}:${verdict}`;
  let entry = state.edges.get(conn.edge);
  if (!entry) {
    entry = { conns: new Set() };
    state.edges.set(conn.edge, entry);
    cy.add({ group: 'edges', data: { id: conn.edge, source: conn.src, target: conn.dst, verdict, count: 0 } });
    scheduleLayout();
  }
  entry.conns.add(key);
  cy.getElementById(conn.edge).data('count', entry.conns.size);
}

function leaveEdge(id, key) {
  const entry = state.edges.get(id);
  if (!entry) return;
  entry.conns.delete(key);
  if (entry.conns.size === 0) {
    state.edges.delete(id);
    cy.getElementById(id).remove();
  } else {
    cy.getElementById(id).data('count', entry.conns.size);
  }
}

function scheduleLayout() {
  clearTimeout(state.layoutTimer);
  state.layoutTimer = setTimeout(() => {
    const first = state.laidOut === 0;
    cy.layout({ name: 'fcose', animate: false, randomize: first, nodeRepulsion: 6000, idealEdgeLength: 90,
      nestingFactor: 0.3, padding: 20 }).run();
    state.laidOut++;
  }, 150);
}

// Tapping an edge selects the newest flow of its connections (the flow table shows both directions' rows).
cy.on('tap', 'edge', (evt) => {
  const entry = state.edges.get(evt.target.id());
  if (!entry) return;
  let newest = -1;
  for (const key of entry.conns) newest = Math.max(newest, ...state.conns.get(key).flows);
  if (newest >= 0) select(newest);
});

// Tapping an endpoint makes it the workbench's draft subject.
cy.on('tap', 'node[kind = "endpoint"]', (evt) => workbench.selectEndpoint(evt.target.data('name')));

// ---- endpoints and policies ---------------------------------------------------------------------------------

async function api(path, init) {
  const r = await fetch(path, init);
  const body = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
  if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
  return body;
}

async function refreshEndpoints() {
  try {
    const eps = await api('/api/endpoints');
    for (const e of eps) endpointNode(e);
    workbench.setEndpoints(eps);
  } catch (e) {
    setStatus(`endpoints: ${e.message}`, false);
  }
}

function refreshPolicies() {
  return fillTable($('#policies tbody'), () => api('/api/policies'), (policies) => {
    const rows = [];
    for (const p of policies) {
      const name = p.namespace ? `${p.namespace}/${p.name}` : p.name;
      const rules = p.rules.length ? p.rules : [null];
      rules.forEach((r, i) => {
        const hits = r && r.hits != null ? String(r.hits) : '-';
        rows.push(el('tr', { 'data-policy': name, 'data-rule-id': r ? r.id : '' },
          el('td', {}, i === 0 ? name : ''), el('td', {}, i === 0 ? p.kind : ''), el('td', {}, i === 0 ? p.revision : ''),
          el('td', { class: 'mode' }, ...(i === 0 ? [`${p.mode} `, workbench.modeButton(name, p.mode)] : [])),
          el('td', {}, r ? r.rule : '(no rules)'), el('td', {}, r ? r.id : ''),
          el('td', { class: hits === '-' ? 'hits none' : 'hits' }, hits)));
      });
    }
    return rows;
  }, 'no policies');
}

// ---- flows --------------------------------------------------------------------------------------------------

function sideName(side, ip, port) {
  const n = side && side.pod_name ? `${side.namespace ? side.namespace + '/' : ''}${side.pod_name}` : (ip || '?');
  return port ? `${n}:${port}` : n;
}

function time(flow) {
  const t = new Date(Math.floor(flow.time_nanos / 1e6));
  return t.toLocaleTimeString([], { hour12: false }) + '.' + String(t.getMilliseconds()).padStart(3, '0');
}

function addFlow(flow) {
  const index = state.flows.length;
  state.flows.push(flow);
  addEdge(flow, index);
  const l4 = flow.l4 || {};
  const tr = el('tr', { 'data-index': index, 'data-verdict': flow.verdict },
    el('td', {}, time(flow)),
    el('td', { class: 'src' }, sideName(flow.source, flow.IP && flow.IP.source, l4.source_port)),
    el('td', { class: 'dst' }, sideName(flow.destination, flow.IP && flow.IP.destination, l4.destination_port)),
    el('td', {}, l4.protocol ? `${l4.destination_port || ''}/${l4.protocol}` : ''),
    el('td', {}, flow.event_type + (flow.policy_match_type && flow.event_type === 'policy-verdict' ? `:${flow.policy_match_type}` : '')),
    el('td', {}, flow.traffic_direction || ''),
    el('td', { class: `verdict ${flow.verdict}` }, flow.verdict),
    el('td', {}, flow.rule || ''),
    el('td', { class: 'node' }, flow.node_name || ''));
  tr.addEventListener('click', () => select(index));
  const body = $('#flows tbody');
  body.prepend(tr);
  while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
  $('#flow-count').textContent = `(${state.flows.length})`;
}

function resetFlows() {
  state.flows = [];
  state.edges.clear();
  state.conns.clear();
  state.selected = null;
  cy.edges().remove();
  cy.nodes('[kind = "peer"]').remove();
  $('#flows tbody').replaceChildren();
  $('#flow-count').textContent = '';
  state.nodes.clear();
  showNodes();
}

/** A cluster stream's report on a node: unreachable (and why), flows lost, or connected again. */
function nodeStatus(s) {
  if (s.state === 'connected') state.nodes.delete(s.node_name); else state.nodes.set(s.node_name, s);
  showNodes();
}

function showNodes() {
  $('#node-status').textContent = [...state.nodes.values()]
    .map((s) => `${s.node_name}: ${s.state}${s.message ? ` (${s.message})` : ''}`).join('; ');
}

function filterParams() {
  const p = new URLSearchParams();
  for (const [k, v] of new FormData($('#filters'))) if (String(v).trim()) p.append(k, String(v).trim());
  return p;
}

function setStatus(text, live) {
  const s = $('#status');
  s.textContent = text;
  s.className = `status ${live ? 'live' : 'down'}`;
}

/** (Re)opens the stream: the last N flows matching the filters, then each new one. */
async function openStream() {
  if (state.stream) state.stream.close();
  const params = filterParams();
  $('#filter-error').textContent = '';
  // a bad filter is a 400 with the reason: ask once with fetch, since EventSource hides the answer
  try {
    const check = new URLSearchParams(params);
    check.set('last', '1');
    check.delete('cluster'); // the same filters everywhere: checking them here needs no other node
    await api(`/api/flows?${check}`);
  } catch (e) {
    $('#filter-error').textContent = e.message;
    setStatus('filter refused', false);
    return;
  }
  history.replaceState(null, '', params.toString() ? `?${params}` : location.pathname);
  const es = new EventSource(`/api/stream?${params}`);
  state.stream = es;
  // every (re)connection replays the backlog: start from a clean table so nothing is shown twice
  es.onopen = () => { resetFlows(); setStatus('live', true); };
  es.onmessage = (m) => addFlow(JSON.parse(m.data));
  es.addEventListener('backlog-done', () => { document.body.dataset.backlog = 'done'; });
  es.addEventListener('node-status', (m) => nodeStatus(JSON.parse(m.data)));
  es.onerror = () => setStatus('stream interrupted, reconnecting…', false);
}

// ---- why ----------------------------------------------------------------------------------------------------

async function select(index) {
  const flow = state.flows[index];
  if (!flow) return;
  state.selected = index;
  // the workbench drafts for the side whose policy decided: the destination at ingress, the source at egress
  const subject = flow.traffic_direction === 'EGRESS' ? flow.source : flow.destination;
  if (subject && subject.pod_name) workbench.selectEndpoint(`${subject.namespace || 'default'}/${subject.pod_name}`);
  for (const tr of document.querySelectorAll('#flows tbody tr.selected')) tr.classList.remove('selected');
  const row = document.querySelector(`#flows tbody tr[data-index="${index}"]`);
  if (row) row.classList.add('selected');
  const why = $('#why');
  why.replaceChildren(el('p', { class: 'hint' }, 'asking the agent…'));
  try {
    const w = await api('/api/why', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(flow) });
    if (state.selected !== index) return;
    const l4 = flow.l4 || {};
    const parts = [
      el('p', { class: 'summary', 'data-verdict': w.verdict }, w.summary),
      el('table', {},
        el('tr', {}, el('th', {}, 'flow'), el('td', {}, `${sideName(flow.source, flow.IP && flow.IP.source, l4.source_port)} → ${sideName(flow.destination, flow.IP && flow.IP.destination, l4.destination_port)} ${l4.protocol || ''}`)),
        el('tr', {}, el('th', {}, 'verdict'), el('td', { class: `verdict ${w.verdict}` }, w.verdict)),
        el('tr', {}, el('th', {}, 'direction'), el('td', {}, `${w.direction} (policy of ${w.subject})`)),
        el('tr', {}, el('th', {}, 'decided by'), el('td', { class: 'rule' }, w.ruleId ? `${w.rule} (rule id ${w.ruleId})` : (w.rule || '-'))),
        el('tr', {}, el('th', {}, 'policy'), el('td', {}, w.policy || '-'))),
    ];
    if (flow.drop_reason_desc) parts.push(el('p', {}, `Drop reason: ${flow.drop_reason} ${flow.drop_reason_desc}`));
    if (w.trace) {
      parts.push(el('h3', {}, `policy trace of the whole path (egress at the source, then ingress at the destination) with the current policy, revision ${w.revision}: ${w.trace.allowed ? 'ALLOWED' : 'DENIED'}`));
      parts.push(el('pre', { class: 'trace' }, w.trace.explanation.join('\n')));
    } else if (w.traceError) {
      parts.push(el('p', { class: 'error' }, `trace: ${w.traceError}`));
    }
    why.replaceChildren(...parts);
  } catch (e) {
    why.replaceChildren(el('p', { class: 'error' }, e.message));
  }
}

// ---- start --------------------------------------------------------------------------------------------------

function loadFiltersFromUrl() {
  const q = new URLSearchParams(location.search);
  for (const input of $('#filters').elements) {
    if (!input.name || !q.has(input.name)) continue;
    if (input.type === 'checkbox') input.checked = q.get(input.name) === 'true'; else input.value = q.get(input.name);
  }
}

$('#filters').addEventListener('submit', (e) => { e.preventDefault(); openStream(); });
$('#clear').addEventListener('click', () => {
  for (const input of $('#filters').elements) {
    if (input.type === 'checkbox') input.checked = false;
    else if (input.name) input.value = input.name === 'last' ? '500' : '';
  }
  openStream();
});

loadFiltersFromUrl();
const workbench = createWorkbench({ $, el, fillTable });
workbench.onChange = refreshPolicies;
refreshEndpoints().then(openStream);
workbench.refreshSession().then(() => Promise.all([refreshPolicies(), workbench.refreshHistory()]));
setInterval(refreshEndpoints, 5000);
setInterval(refreshPolicies, 5000);

// What tests (and curious users in the console) can read: the graph's elements with their rendered colours.
window.septumUi = {
  cy,
  snapshot() {
    return {
      nodes: cy.nodes().map((n) => ({ id: n.id(), label: n.data('label'), parent: n.data('parent') || null, kind: n.data('kind') })),
      edges: cy.edges().map((e) => ({
        source: cy.getElementById(e.data('source')).data('label'), target: cy.getElementById(e.data('target')).data('label'),
        verdict: e.data('verdict'), count: e.data('count'), color: e.style('line-color') })),
      flows: state.flows.length,
    };
  },
};
