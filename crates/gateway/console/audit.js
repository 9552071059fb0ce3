// The auditor's view: chain status, the latest checkpoint, search, the accounting of
// disclosures for a patient, and incidents. Patient identifiers travel in request bodies only;
// the gateway turns them into keyed references and keeps neither.

import { api, ApiError } from './session.js';
import { el, facts, field, focusHeading, form, say, select, table, when } from './ui.js';

const ACTIONS = [
  '', 'sign_in', 'token_issued', 'read', 'disclosure', 'response', 'tool_call', 'draft_stored',
  'draft_reviewed', 'draft_signed', 'export', 'key_rotation', 'patient_forget', 'break_glass',
  'config_change', 'denial', 'import', 'audit_access', 'retention', 'legal_hold', 'backup',
  'restore', 'incident', 'safety_alert', 'containment',
];

export async function show(container) {
  const status = el('div', {}, el('p', {}, 'Verifying the log…'));
  const checkpoint = el('div');
  const results = el('div', { id: 'search-results' });
  const disclosures = el('div', { id: 'disclosure-results' });
  const incidents = el('div');
  container.replaceChildren(
    focusHeading('h2', 'Audit'),
    el('h3', {}, 'Chain status'), status,
    el('h3', {}, 'Latest checkpoint'), checkpoint,
    el('h3', { id: 'search-title' }, 'Search the log'), searchForm(results), results,
    el('h3', { id: 'disclosures-title' }, 'Accounting of disclosures'),
    disclosuresForm(disclosures), disclosures,
    el('h3', {}, 'Incidents'), incidents,
  );
  await Promise.all([
    showStatus(status), showCheckpoint(checkpoint), showIncidents(incidents),
  ]);
}

async function showStatus(box) {
  try {
    const s = await api('GET', '/v1/audit/status');
    box.replaceChildren(facts([
      ['Verified', el('span', { class: s.verified ? 'ok' : 'bad' }, s.verified ? 'yes' : 'NO')],
      ['Entries', String(s.size)],
      ['Checkpoints checked', String(s.checkpoints_checked)],
      ['Merkle root', s.root],
      ...(s.verified ? [] : [
        ['First bad entry', String(s.first_bad_seq ?? 'unknown')],
        ['Reason', `${s.failure || ''} ${s.reason || ''}`.trim()],
      ]),
    ]));
  } catch (error) {
    box.replaceChildren(el('p', { class: 'bad' }, error.message));
  }
}

async function showCheckpoint(box) {
  try {
    const c = await api('GET', '/v1/audit/checkpoint');
    box.replaceChildren(
      facts([['Tree size', String(c.size)], ['Root', c.root], ['Log public key', c.public_key]]),
      el('pre', { tabindex: '0', 'aria-label': 'Signed checkpoint note' }, c.note));
  } catch (error) {
    box.replaceChildren(el('p', {}, error.message));
  }
}

function searchForm(results) {
  const user = el('input', { name: 'user', autocomplete: 'off' });
  const patient = el('input', { name: 'patient', autocomplete: 'off', spellcheck: 'false' });
  const action = select('action', ACTIONS.map((a) => [a, a || 'any action']));
  const since = el('input', { name: 'since', type: 'date' });
  const until = el('input', { name: 'until', type: 'date' });
  return form({ 'aria-labelledby': 'search-title', id: 'search-form' }, async () => {
    const filter = { limit: 200 };
    if (user.value.trim()) filter.user = user.value.trim();
    if (patient.value.trim()) filter.patient = patient.value.trim();
    if (action.value) filter.action = action.value;
    if (since.value) filter.since = since.value;
    if (until.value) filter.until = until.value;
    try {
      const found = await api('POST', '/v1/audit/search', filter);
      renderEntries(results, found.entries);
      say(`${found.entries.length} ${found.entries.length === 1 ? "entry" : "entries"} found.`);
    } catch (error) { say(error.message, 'error'); }
  },
  field('User id', user),
  field('Patient identifier', patient, 'Sent in the request body and turned into a keyed reference; never kept.'),
  field('Action', action),
  field('Since', since),
  field('Until', until),
  el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary' }, 'Search')));
}

function renderEntries(box, entries) {
  const rows = entries.map(({ seq, event }) => {
    const e = event || {};
    const actor = e.actor || {};
    return [String(seq), when(e.time), actor.user_id || '', actor.role || '', e.action || '(pruned)',
      e.outcome || '', e.task || '', e.detail || ''];
  });
  box.replaceChildren(rows.length === 0 ? el('p', {}, 'No entries match.')
    : table(`${rows.length} matching entries`,
      ['Seq', 'Time', 'User', 'Role', 'Action', 'Outcome', 'Task', 'Detail'], rows));
}

function disclosuresForm(results) {
  const patient = el('input', { name: 'patient', autocomplete: 'off', spellcheck: 'false' });
  return form({ 'aria-labelledby': 'disclosures-title' }, async () => {
    if (!patient.value.trim()) {
      say('Give the patient identifier.', 'error');
      patient.focus();
      return;
    }
    try {
      const report = await api('POST', '/v1/audit/disclosures', { patient: patient.value.trim() });
      const rows = report.disclosures.map((d) => [when(d.date), d.recipient, d.purpose,
        d.description, d.disclosed_by, String(d.seq)]);
      results.replaceChildren(rows.length === 0 ? el('p', {}, 'No disclosures of this patient are recorded.')
        : table(`${rows.length} disclosures`,
          ['Date', 'Recipient', 'Purpose', 'What', 'Disclosed by', 'Seq'], rows));
    } catch (error) { say(error.message, 'error'); }
  },
  field('Patient identifier', patient),
  el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Report disclosures')));
}

async function showIncidents(box) {
  let list;
  try {
    list = await api('GET', '/v1/incidents');
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      box.replaceChildren(el('p', {}, 'Incidents: not available on this gateway.'));
    } else {
      box.replaceChildren(el('p', { class: 'bad' }, error.message));
    }
    return;
  }
  const incidents = list.incidents || [];
  const rows = incidents.map((i) => [i.severity, i.rule, i.status, when(i.opened_at),
    when(i.last_seen_at), String(i.count), String(i.patients ?? ''), i.summary,
    i.status === 'open' ? el('button', {
      type: 'button',
      'aria-label': `Acknowledge incident ${i.id}`,
      onclick: async () => {
        try {
          await api('POST', `/v1/incidents/${encodeURIComponent(i.id)}/ack`);
          say('Incident acknowledged.');
          await showIncidents(box);
        } catch (error) { say(error.message, 'error'); }
      },
    }, 'Acknowledge') : '']);
  box.replaceChildren(rows.length === 0 ? el('p', {}, 'No incidents.')
    : table(`${rows.length} incidents`, ['Severity', 'Rule', 'Status', 'Opened', 'Last seen',
      'Count', 'Patients', 'Summary', ''], rows));
}
