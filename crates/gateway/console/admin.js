// The administrator's view: accounts (list, create, disable, enable, reset the second factor),
// OAuth clients (list, register, revoke) and keys (status, rotate). One-time passwords, TOTP
// enrolment URIs and client secrets are shown once, here, and kept nowhere by the console.

import { api, CLIENT_ID } from './session.js';
import { el, facts, field, focusHeading, form, say, select, table } from './ui.js';

const PEOPLE = ['clinician', 'nurse', 'coder', 'scheduler', 'billing', 'auditor', 'admin'];
const METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'];

export async function show(container) {
  const users = el('div');
  const created = el('div', { 'aria-live': 'polite' });
  const clients = el('div');
  const registered = el('div', { 'aria-live': 'polite' });
  const keys = el('div');
  container.replaceChildren(
    focusHeading('h2', 'Administration'),
    el('h3', {}, 'Users'), users,
    el('h3', { id: 'new-user-title' }, 'Create a user'), userForm(users, created), created,
    el('h3', {}, 'OAuth clients'), clients,
    el('h3', { id: 'new-client-title' }, 'Register a client'), clientForm(clients, registered), registered,
    el('h3', {}, 'Keys'), keys,
  );
  await Promise.all([listUsers(users), listClients(clients), showKeys(keys)]);
}

function secretBox(title, pairs) {
  return el('div', { class: 'secret', role: 'region', 'aria-label': title },
    el('p', {}, el('strong', {}, title)),
    facts(pairs.filter(([, v]) => v).map(([k, v]) => [k, el('code', {}, v)])));
}

async function listUsers(box) {
  const { users } = await api('GET', '/v1/admin/users');
  const act = (label, path, user, after) => el('button', {
    type: 'button', 'aria-label': `${label} ${user.username}`,
    onclick: async () => {
      try {
        const result = await api('POST', `/v1/admin/users/${encodeURIComponent(user.username)}/${path}`);
        await listUsers(box);
        after(result);
      } catch (error) { say(error.message, 'error'); }
    },
  }, label);
  const rows = users.map((u) => [u.username, u.role, u.state, u.mfa ? 'yes' : 'no', String(u.failures),
    el('div', { class: 'actions' },
      u.state === 'active'
        ? act('Disable', 'disable', u, () => say(`${u.username} disabled.`))
        : act('Enable', 'enable', u, () => say(`${u.username} enabled.`)),
      act('Reset MFA', 'reset-mfa', u, (r) => {
        say(`New second factor for ${u.username}; the old one no longer works.`);
        box.append(secretBox(`New TOTP enrolment for ${u.username} (shown once)`,
          [['Enrolment URI', r.totp_uri]]));
      }))]);
  box.replaceChildren(table(`${users.length} users`,
    ['Username', 'Role', 'State', 'MFA', 'Failed sign-ins', ''], rows));
}

function userForm(users, created) {
  const username = el('input', { name: 'username', autocomplete: 'off', required: true });
  const role = select('role', PEOPLE);
  const totp = el('input', { type: 'checkbox', name: 'totp' });
  return form({ 'aria-labelledby': 'new-user-title', id: 'new-user' }, async () => {
    try {
      const r = await api('POST', '/v1/admin/users', {
        username: username.value.trim(), role: role.value, totp: totp.checked,
      });
      created.replaceChildren(secretBox(`Created ${r.username} (${r.role}); give these to them once`, [
        ['One-time password', r.password], ['TOTP enrolment URI', r.totp_uri],
      ]));
      say(`User ${r.username} created.`);
      username.value = '';
      await listUsers(users);
    } catch (error) { say(error.message, 'error'); }
  },
  field('Username', username),
  field('Role', role),
  el('label', { class: 'inline' }, totp, 'Enrol a TOTP second factor (always done for admins and auditors)'),
  el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary' }, 'Create user')));
}

async function listClients(box) {
  const { clients } = await api('GET', '/v1/admin/clients');
  const rows = clients.map((c) => [c.name, c.client_id, c.role, c.method, c.state,
    c.state === 'active' && c.client_id !== CLIENT_ID ? el('button', {
      type: 'button', class: 'danger', 'aria-label': `Revoke ${c.name}`,
      onclick: async () => {
        try {
          await api('POST', `/v1/admin/clients/${encodeURIComponent(c.client_id)}/revoke`);
          say(`${c.name} revoked, with every session issued through it.`);
          await listClients(box);
        } catch (error) { say(error.message, 'error'); }
      },
    }, 'Revoke') : '']);
  box.replaceChildren(table(`${clients.length} clients`,
    ['Name', 'Client id', 'Role', 'Method', 'State', ''], rows),
  el('p', {}, 'The console\'s own client is revoked from the command line only '
    + '(phigate clients revoke phigate-console), which turns the console off.'));
}

function clientForm(clients, registered) {
  const name = el('input', { name: 'name', autocomplete: 'off' });
  const role = select('role', ['service', ...PEOPLE]);
  const method = select('method', METHODS);
  const uris = el('textarea', { name: 'redirect_uris' });
  const scopes = el('input', { name: 'scopes', autocomplete: 'off' });
  const jwks = el('textarea', { name: 'jwks' });
  return form({ 'aria-labelledby': 'new-client-title' }, async () => {
    const body = {
      name: name.value.trim(), role: role.value, method: method.value,
      redirect_uris: uris.value.split(/\s+/).filter(Boolean),
      scopes: scopes.value.split(/\s+/).filter(Boolean),
    };
    if (jwks.value.trim()) {
      try { body.jwks = JSON.parse(jwks.value); } catch {
        say('The JWKS is not JSON.', 'error');
        return;
      }
    }
    try {
      const r = await api('POST', '/v1/admin/clients', body);
      registered.replaceChildren(secretBox(`Registered ${body.name}`, [
        ['Client id', r.client_id], ['Client secret (shown once)', r.client_secret],
        ['Scopes', r.scopes.join(' ')],
      ]));
      say(`Client ${body.name} registered.`);
      await listClients(clients);
    } catch (error) { say(error.message, 'error'); }
  },
  field('Name', name),
  field('Role its own tokens act in', role),
  field('Authentication method', method),
  field('Redirect URIs, one per line', uris),
  field('Scopes, space-separated', scopes, 'Empty means everything the role grants.'),
  field('Public keys (JWKS), for private_key_jwt', jwks),
  el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Register client')));
}

async function showKeys(box) {
  const k = await api('GET', '/v1/admin/keys');
  const tenantOnly = el('input', { type: 'checkbox', name: 'tenant_only' });
  box.replaceChildren(
    facts([['Root key', k.root], ['Sealed values', String(k.sealed_values)],
      ['Unreadable headers', String(k.unreadable)]]),
    table('Tenant key versions', ['Version', 'State', 'Wraps patient keys', 'Seals'],
      k.tenant.map((t) => [`v${t.version}`, t.state, String(t.wraps_patient_keys), String(t.seals)])),
    table('Patient key versions', ['Version', 'Patients', 'Seals'],
      k.patient.map((p) => [`v${p.version}`,
        Object.entries(p.patients).map(([s, n]) => `${n} ${s}`).join(', '), String(p.seals)])),
    el('label', { class: 'inline' }, tenantOnly, 'Rotate the tenant key only'),
    el('div', { class: 'actions' }, el('button', {
      type: 'button', class: 'danger',
      onclick: async () => {
        try {
          const r = await api('POST', '/v1/admin/keys/rotate', { tenant_only: tenantOnly.checked });
          say(`Tenant key v${r.tenant_version} now seals new values; ${r.patient_keys_rotated} patient keys rotated.`);
          await showKeys(box);
        } catch (error) { say(error.message, 'error'); }
      },
    }, 'Rotate keys')));
}
