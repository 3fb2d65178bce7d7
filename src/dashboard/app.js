// app.js: the olsync dashboard. Reads /api/summary, /api/mailboxes, /api/messages and
// /api/dead every REFRESH_MS and draws them with DOM calls only (textContent, never markup
// built from data); Retry posts /api/dead/retry. With admin_token, open the page as
// http://HOST:PORT/#token=THE_TOKEN: the token is read from the fragment (which the browser
// never sends to a server), dropped from the address bar, and sent as a bearer header.
'use strict';

const REFRESH_MS = 3000;
const MESSAGES = 50;
// Salesforce key prefixes of the records olsync writes or points at.
const OBJECTS = { '00T': 'Task', '02s': 'EmailMessage', '00Q': 'Lead', '003': 'Contact',
  '006': 'Opportunity', '001': 'Account', '00U': 'Event' };
const ID_LABELS = [['task_id', 'Task'], ['email_message_id', 'EmailMessage'],
  ['lead_id', 'Lead'], ['who_id', 'Who'], ['what_id', 'What']];

let token = null;
let instance = '';

function readToken() {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (m) {
    token = decodeURIComponent(m[1]);
    history.replaceState(null, '', location.pathname + location.search);
  }
}

function headers(extra) {
  const h = Object.assign({ Accept: 'application/json' }, extra || {});
  if (token) h.Authorization = 'Bearer ' + token;
  return h;
}

async function api(path, options) {
  const res = await fetch(path, Object.assign({ cache: 'no-store' }, options || {},
    { headers: headers(options && options.headers) }));
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const why = res.status === 401 ? 'unauthorized: open the page as /#token=...'
      : (body.error || res.statusText);
    throw new Error(`${path}: ${res.status} ${why}`);
  }
  return body;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function setText(id, v) {
  document.getElementById(id).textContent = v === undefined || v === null ? '–' : String(v);
}

function when(sec) {
  if (!sec) return '–';
  return new Date(sec * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function duration(sec) {
  if (sec === undefined || sec === null) return '–';
  const s = Math.abs(sec), sign = sec < 0 ? '-' : '';
  if (s < 120) return `${sign}${s} s`;
  if (s < 7200) return `${sign}${Math.round(s / 60)} min`;
  if (s < 172800) return `${sign}${Math.round(s / 3600)} h`;
  return `${sign}${Math.round(s / 86400)} d`;
}

// A link to the record in Lightning when the instance and the object are known, else the id.
function record(id, label) {
  const obj = OBJECTS[id.slice(0, 3)];
  if (!obj || !/^https?:\/\//.test(instance) || !/^[A-Za-z0-9]{15,18}$/.test(id)) {
    return el('span', `${label} ${id}`, 'mono');
  }
  const a = el('a', `${label} ${id}`);
  a.href = `${instance}/lightning/r/${obj}/${id}/view`;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  a.dataset.record = id;
  return a;
}

function fill(tbodyParent, rows) {
  const tbody = document.querySelector(`#${tbodyParent} tbody`);
  tbody.replaceChildren(...rows);
}

function drawSummary(s) {
  instance = s.instance_url || '';
  for (const k of ['pending', 'failed', 'logged', 'skipped', 'dead']) setText(`count-${k}`, s.emails[k]);
  setText('queue', s.queue);
  setText('oldest', s.queue > 0 ? duration(s.oldest_pending_age) : '–');
  setText('meetings-done', s.meetings.done);
  const b = s.budget;
  setText('budget-used', b.used);
  setText('budget-limit', b.limit);
  setText('budget-left', b.left);
  setText('budget-org', b.org_max ? `${b.org_used} / ${b.org_max}` : null);
  setText('budget-state', b.state);
  setText('calls-sf', s.sf_api_calls);
  const ready = document.getElementById('ready');
  ready.textContent = s.ready ? 'ready' : `not ready: ${s.not_ready}`;
  ready.className = 'badge ' + (s.ready ? 'ok' : 'bad');
}

function drawMailboxes(m) {
  fill('mailboxes', m.mailboxes.map((mb) => {
    const tr = el('tr');
    tr.dataset.mailbox = mb.mailbox;
    const subs = mb.subscriptions;
    const next = subs.length ? Math.min(...subs.map((x) => x.expires_at)) : 0;
    tr.append(el('td', mb.mailbox),
      el('td', subs.length ? subs.map((x) => x.kind + (x.action ? ` (${x.action})` : '')).join(', ') : 'none'),
      el('td', next ? duration(next - m.now) : '–'),
      el('td', when(mb.last_sync)),
      el('td', mb.marked));
    tr.children[1].dataset.subscriptions = String(subs.length);
    return tr;
  }));
}

function drawMessages(m) {
  fill('messages', m.messages.map((msg) => {
    const tr = el('tr');
    tr.dataset.extId = msg.ext_id;
    tr.dataset.state = msg.state;
    const links = el('td');
    for (const [key, label] of ID_LABELS) if (msg[key]) links.append(record(msg[key], label));
    tr.append(el('td', when(msg.at)), el('td', msg.ext_id, 'mono'), el('td', msg.mailbox),
      el('td', msg.state, `state-${msg.state}`), links, el('td', msg.reason || ''));
    return tr;
  }));
}

function drawDead(d) {
  fill('dead', d.dead.map((x) => {
    const tr = el('tr');
    tr.dataset.extId = x.ext_id;
    const button = el('button', 'Retry');
    button.dataset.retry = x.ext_id;
    button.addEventListener('click', () => retry(x.ext_id, button));
    const cell = el('td');
    cell.append(button);
    tr.append(el('td', when(x.at)), el('td', x.ext_id, 'mono'), el('td', x.mailbox || ''),
      el('td', x.attempts), el('td', x.reason || x.last_error || ''), cell);
    return tr;
  }));
}

function showError(e) {
  const p = document.getElementById('error');
  p.hidden = !e;
  p.textContent = e ? e.message : '';
}

async function retry(key, button) {
  button.disabled = true;
  try {
    // The custom header is the same-origin proof the server asks of a POST.
    await api('/api/dead/retry', { method: 'POST', body: JSON.stringify({ key }),
      headers: { 'Content-Type': 'application/json', 'X-Olsync-Request': '1' } });
    showError(null);
  } catch (e) {
    showError(e);
  }
  refresh();
}

let busy = false;
async function refresh() {
  if (busy) return;
  busy = true;
  try {
    const [s, m, msgs, d] = await Promise.all([api('/api/summary'), api('/api/mailboxes'),
      api(`/api/messages?limit=${MESSAGES}`), api('/api/dead')]);
    drawSummary(s);
    drawMailboxes(m);
    drawMessages(msgs);
    drawDead(d);
    setText('updated', `updated ${new Date().toLocaleTimeString()}`);
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
    showError(null);
  } catch (e) {
    showError(e);
  } finally {
    busy = false;
  }
}

readToken();
refresh();
setInterval(refresh, REFRESH_MS);
