// The policy workbench: draft a policy from an endpoint's observed flows, edit it with validation as you type,
// preview its impact on recorded traffic, apply it in audit mode or enforcing, promote or stage policies, and roll
// one back from its history. Reading and previewing need nothing; changes need a session from `septum ui login`
// and carry its CSRF token. The agent checks everything again: these buttons only save a round trip.
//
// The login link carries its one-time token after '#', so it never reaches a server in a URL; this page trades it
// for the session cookie and the CSRF token, which it keeps in this origin's localStorage (other ports of
// 127.0.0.1 cannot read it, though browsers send them the cookie).

const VALIDATE_DELAY_MS = 400;
const CSRF_KEY = 'septum.csrf';

export function createWorkbench({ $, el, fillTable }) {
  const wb = { session: null, validateTimer: null };

  async function call(path, init = {}) {
    const headers = { ...(init.headers || {}) };
    const csrf = localStorage.getItem(CSRF_KEY);
    if (init.method && init.method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
    const r = await fetch(path, { ...init, headers, credentials: 'same-origin' });
    const body = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
    if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
    return body;
  }

  function result(text, ok) {
    const r = $('#wb-result');
    r.textContent = text;
    r.className = ok ? 'ok' : 'error';
  }

  /** A login link opened this page: trade its token for the session, then take it out of the address. */
  async function redeemLink() {
    const m = location.hash.match(/^#login=([A-Za-z0-9_-]+)$/);
    if (!m) return;
    history.replaceState(null, '', location.pathname + location.search);
    try {
      const s = await call('/api/session/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: m[1] }) });
      localStorage.setItem(CSRF_KEY, s.csrf);
    } catch (e) {
      result(`login: ${e.message}`, false);
    }
  }

  async function refreshSession() {
    await redeemLink();
    try {
      wb.session = await call('/api/session');
      if (!localStorage.getItem(CSRF_KEY)) throw new Error('no CSRF token in this browser');
      $('#session').textContent = `signed in as ${wb.session.user} `;
      $('#session').append(el('button', { type: 'button', id: 'sign-out' }, 'sign out'));
      $('#sign-out').addEventListener('click', signOut);
      document.body.dataset.session = 'yes';
    } catch (e) {
      wb.session = null;
      $('#session').textContent = 'view only: run `septum ui login` on this host and open its link to change policy';
      document.body.dataset.session = 'no';
    }
    for (const b of document.querySelectorAll('button.write')) b.disabled = !wb.session;
  }

  async function signOut() {
    try {
      await call('/api/session/logout', { method: 'POST' });
    } catch (e) {
      // signed out either way below
    }
    localStorage.removeItem(CSRF_KEY);
    await refreshSession();
    await Promise.all([refreshHistory(), onChange()]);
  }

  function draftText() {
    return $('#wb-yaml').value;
  }

  // ---- draft and validation --------------------------------------------------------------------------------

  /** Chooses the endpoint a draft is made for (from the map, the flow table or the list). */
  function selectEndpoint(name) {
    if (!name) return;
    const sel = $('#wb-endpoint');
    if (![...sel.options].some((o) => o.value === name)) sel.append(el('option', { value: name }, name));
    sel.value = name;
  }

  function setEndpoints(endpoints) {
    const names = endpoints.map((e) => `${e.namespace || 'default'}/${e.name}`).sort();
    for (const id of ['#wb-endpoint', '#wb-probe-from', '#wb-probe-to']) {
      const sel = $(id);
      const current = sel.value;
      sel.replaceChildren(...names.map((n) => el('option', { value: n }, n)));
      if (current && names.includes(current)) sel.value = current;
    }
  }

  // ---- probe ---------------------------------------------------------------------------------------------------

  /**
   * One real attempt from inside the source endpoint (a TCP connection, an HTTP request or a ping), and the
   * verdicts the agent recorded for it.
   */
  async function probe() {
    const from = $('#wb-probe-from').value;
    const to = $('#wb-probe-to').value;
    const protocol = $('#wb-probe-proto').value;
    const port = protocol === 'ICMP' ? 0 : Number($('#wb-probe-port').value);
    const method = $('#wb-probe-method').value.trim().toUpperCase();
    const path = $('#wb-probe-path').value.trim();
    const out = $('#wb-probe');
    out.replaceChildren(el('p', { class: 'hint' }, protocol === 'ICMP' ? `pinging ${to} from inside ${from}…`
      : `probing ${to}:${port} from inside ${from}…`));
    try {
      const r = await call('/api/probe', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(protocol === 'HTTP' ? { from, to, port, protocol, method, path } : { from, to, port, protocol }) });
      const rows = r.flows.map((f) => el('tr', {},
        el('td', {}, f.traffic_direction || ''), el('td', {}, f.event_type || ''),
        el('td', { class: `verdict ${f.verdict}` }, f.verdict), el('td', { class: 'rule' }, f.rule || '')));
      out.replaceChildren(
        el('p', { class: `probe-result ${r.passed ? 'ok' : 'error'}`, 'data-result': r.result },
          `${r.from} → ${r.to} (${r.address}) ${r.protocol === 'ICMP' ? 'ping' : `${r.port}/${r.protocol}`}: ${r.result}${r.detail ? ` (${r.detail})` : ''}`),
        rows.length
          ? el('table', { id: 'wb-probe-flows' }, el('thead', {}, el('tr', {}, ...['direction', 'type', 'verdict', 'rule'].map((h) => el('th', {}, h)))),
            el('tbody', {}, ...rows))
          : el('p', { class: 'hint' }, 'no verdict recorded for it (the observer may be off)'));
    } catch (e) {
      out.replaceChildren(el('p', { class: 'error' }, `probe: ${e.message}`));
    }
  }

  async function draft() {
    const ep = $('#wb-endpoint').value;
    if (!ep) return result('choose an endpoint first', false);
    result(`drafting a policy for ${ep} from its flows of the last ${$('#wb-since').value}…`, true);
    try {
      const d = await call(`/api/policy/suggest?endpoint=${encodeURIComponent(ep)}&since=${encodeURIComponent($('#wb-since').value)}`);
      $('#wb-yaml').value = d.yaml;
      result(`drafted from the flows of ${d.endpoint}: edit it, then preview`, true);
      await validate();
    } catch (e) {
      result(`draft: ${e.message}`, false);
    }
  }

  async function validate() {
    clearTimeout(wb.validateTimer);
    const text = draftText();
    const out = $('#wb-validation');
    if (!text.trim()) {
      out.replaceChildren();
      return;
    }
    try {
      const v = await call('/api/policy/validate', { method: 'POST', headers: { 'Content-Type': 'application/yaml' }, body: text });
      if (text !== draftText()) return; // typed on meanwhile: the next check answers
      out.dataset.valid = String(v.valid);
      out.replaceChildren(v.valid
        ? el('span', { class: 'ok' }, `valid: ${v.policies.join(', ')}`)
        : el('ul', { class: 'error' }, ...v.errors.map((m) => el('li', {}, m))));
    } catch (e) {
      out.replaceChildren(el('span', { class: 'error' }, e.message));
    }
  }

  // ---- impact ------------------------------------------------------------------------------------------------

  async function preview() {
    const since = $('#wb-since').value;
    const out = $('#wb-impact');
    out.replaceChildren(el('p', { class: 'hint' }, `judging the draft against the flows of the last ${since}…`));
    try {
      const body = draftText();
      const [impact, diff] = await Promise.all([
        call(`/api/policy/impact?since=${encodeURIComponent(since)}`, { method: 'POST', headers: { 'Content-Type': 'application/yaml' }, body }),
        call('/api/policy/diff', { method: 'POST', headers: { 'Content-Type': 'application/yaml' }, body }),
      ]);
      out.replaceChildren(...impactView(impact, diff));
    } catch (e) {
      out.replaceChildren(el('p', { class: 'error' }, e.message));
    }
  }

  function impactView(impact, diff) {
    const counts = el('p', { class: 'impact-counts' },
      el('span', { class: 'count newly-dropped', 'data-count': impact.newly_dropped }, `${impact.newly_dropped} newly dropped`), ' · ',
      el('span', { class: 'count newly-allowed', 'data-count': impact.newly_allowed }, `${impact.newly_allowed} newly allowed`), ' · ',
      el('span', { class: 'count unchanged', 'data-count': impact.unchanged }, `${impact.unchanged} unchanged`),
      ` (distinct flows of ${impact.flows_read} read since ${impact.since || 'the start'}${impact.limit_reached ? ', limit reached' : ''})`);
    const rows = impact.flows.map((f) => el('tr', { class: `change ${f.change}`, 'data-change': f.change },
      el('td', {}, f.source), el('td', {}, f.destination), el('td', {}, `${f.port}/${f.protocol}`),
      el('td', {}, f.method ? `${f.method} ${f.path || ''}` : ''), el('td', {}, String(f.count)),
      el('td', { class: `verdict ${f.before}` }, f.before), el('td', { class: `verdict ${f.after}` }, f.after),
      el('td', { class: 'rule' }, f.after_rule || ''), el('td', {}, f.change)));
    const table = el('table', { id: 'wb-impact-flows' },
      el('thead', {}, el('tr', {}, ...['source', 'destination', 'port', 'HTTP', 'flows', 'before', 'after', 'deciding rule (after)', 'change']
        .map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows));
    const selected = (impact.endpoints || []).length
      ? el('p', {}, `selects ${impact.endpoints.length} live endpoint(s): ${impact.endpoints.join(', ')}`)
      : el('p', { class: 'hint' }, 'selects no live endpoint');
    const changed = diff && diff.endpoints && diff.endpoints.length
      ? el('p', {}, `resolved policy changes for: ${diff.endpoints.map((e) => e.endpoint || e.name || JSON.stringify(e)).join(', ')}`)
      : el('p', { class: 'hint' }, 'no endpoint\'s resolved policy changes');
    return [counts, selected, changed, table];
  }

  // ---- changes -----------------------------------------------------------------------------------------------

  async function apply(mode) {
    const cluster = $('#wb-cluster').checked;
    try {
      const r = await call(`/api/policy/apply?mode=${mode}${cluster ? '&scope=cluster' : ''}`, { method: 'POST', headers: { 'Content-Type': 'application/yaml' }, body: draftText() });
      const how = r.mode === 'audit' ? 'in audit mode (would-be drops show as AUDIT flows)' : 'enforcing';
      result(cluster ? `stored ${r.policies.join(', ')} in the cluster's store ${how}; every node imports it`
        : `applied ${r.policies.join(', ')} ${how}; revision ${r.revision}`, true);
      await afterChange();
    } catch (e) {
      result(`apply: ${e.message}`, false);
    }
  }

  async function setMode(policy, mode) {
    const [namespace, name] = split(policy);
    try {
      const r = await call('/api/policy/mode', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ namespace, name, mode }) });
      result(`${mode === 'audit' ? 'staged' : 'promoted'} ${policy}; revision ${r.revision}`, true);
      await afterChange();
    } catch (e) {
      result(`${mode === 'audit' ? 'stage' : 'promote'} ${policy}: ${e.message}`, false);
    }
  }

  async function rollback(policy, revision) {
    const [namespace, name] = split(policy);
    try {
      const r = await call('/api/policy/rollback', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ namespace, name, revision }) });
      result(`rolled ${policy} back to revision ${revision}; new revision ${r.revision}`, true);
      await afterChange();
    } catch (e) {
      result(`rollback ${policy}: ${e.message}`, false);
    }
  }

  function split(policy) {
    const i = policy.indexOf('/');
    return i < 0 ? ['', policy] : [policy.slice(0, i), policy.slice(i + 1)];
  }

  let onChange = async () => {};

  async function afterChange() {
    await Promise.all([refreshHistory(), onChange()]);
  }

  /** In cluster mode, drafts may go to the cluster's store: the choice shows only where that answers. */
  async function refreshClusterScope() {
    try {
      await call('/api/policy/cluster');
      $('#wb-cluster-scope').hidden = false;
    } catch (e) {
      $('#wb-cluster-scope').hidden = true;
      $('#wb-cluster').checked = false;
    }
  }

  function refreshHistory() {
    return fillTable($('#wb-history tbody'), () => call('/api/policy/history'), (revisions) => revisions.slice(0, 50).map((h) => {
      const back = el('button', { type: 'button', class: 'write', disabled: !wb.session, title: `put ${h.policy} back as it was after revision ${h.revision}` },
        'roll back to this');
      back.addEventListener('click', () => rollback(h.policy, h.revision));
      return el('tr', { 'data-policy': h.policy, 'data-revision': h.revision },
        el('td', {}, String(h.revision)), el('td', {}, h.time), el('td', {}, h.author), el('td', {}, h.action),
        el('td', {}, h.policy), el('td', {}, h.change), el('td', {}, back));
    }), 'no changes recorded');
  }

  /** The stage/promote button of a policy row in the policy table. */
  function modeButton(policy, mode) {
    const to = mode === 'audit' ? 'enforce' : 'audit';
    const b = el('button', { type: 'button', class: 'write', disabled: !wb.session, 'data-action': to === 'audit' ? 'stage' : 'promote' },
      to === 'audit' ? 'stage (audit)' : 'promote (enforce)');
    b.addEventListener('click', () => setMode(policy, to));
    return b;
  }

  // a login link opened in a tab already showing the UI changes only the fragment: no reload, so listen
  window.addEventListener('hashchange', () => {
    if (location.hash.startsWith('#login=')) refreshSession().then(refreshHistory);
  });
  $('#wb-draft').addEventListener('click', draft);
  $('#wb-probe-run').addEventListener('click', probe);
  const probeFields = () => {
    const p = $('#wb-probe-proto').value;
    $('#wb-probe-port').disabled = p === 'ICMP';
    for (const l of document.querySelectorAll('.wb-http')) l.hidden = p !== 'HTTP';
  };
  $('#wb-probe-proto').addEventListener('change', probeFields);
  probeFields();
  $('#wb-preview').addEventListener('click', preview);
  $('#wb-apply-audit').addEventListener('click', () => apply('audit'));
  $('#wb-apply-enforce').addEventListener('click', () => apply('enforce'));
  refreshClusterScope();
  $('#wb-yaml').addEventListener('input', () => {
    clearTimeout(wb.validateTimer);
    wb.validateTimer = setTimeout(validate, VALIDATE_DELAY_MS);
  });

  return {
    refreshSession, refreshHistory, selectEndpoint, setEndpoints, modeButton, validate,
    set onChange(f) { onChange = f; },
    get session() { return wb.session; },
  };
}
