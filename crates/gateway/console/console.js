// The console's entry point: sign-in, the views a person's scopes allow, and sign-out.

import { completeSignIn, startSignIn, signOut, claims, has, whenExpired } from './session.js';
import { el, say } from './ui.js';
import * as review from './review.js';
import * as audit from './audit.js';
import * as admin from './admin.js';

const VIEWS = [
  { id: 'review', title: 'Review queue', scope: 'draft/read', module: review },
  { id: 'audit', title: 'Audit', scope: 'audit/read', module: audit },
  { id: 'admin', title: 'Administration', scope: 'admin/users', module: admin },
];

const $ = (id) => document.getElementById(id);

function showSignedOut(message, kind) {
  $('signed-out').hidden = false;
  for (const id of ['view', 'nav', 'who', 'sign-out']) $(id).hidden = true;
  $('view').replaceChildren();
  $('nav').replaceChildren();
  if (message) say(message, kind);
}

async function open(view) {
  for (const button of $('nav').querySelectorAll('button')) {
    if (button.dataset.view === view.id) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
  say('');
  const container = $('view');
  container.replaceChildren();
  try {
    await view.module.show(container);
  } catch (error) {
    say(error.message, 'error');
  }
}

function showSignedIn() {
  const who = claims();
  const views = VIEWS.filter((v) => has(v.scope));
  $('signed-out').hidden = true;
  $('who').hidden = false;
  $('who').textContent = `Signed in as ${who.sub} (${(who.roles || []).join(', ')})`;
  $('sign-out').hidden = false;
  $('view').hidden = false;
  const nav = $('nav');
  nav.replaceChildren(...views.map((view) => el('button', {
    type: 'button', 'data-view': view.id, onclick: () => open(view),
  }, view.title)));
  nav.hidden = views.length === 0;
  if (views.length === 0) {
    say('Your role has nothing to do in the console.', 'error');
    return;
  }
  open(views[0]);
}

async function main() {
  whenExpired(() => showSignedOut('Your session has ended. Sign in again.', 'error'));
  $('sign-in').addEventListener('click', () => {
    startSignIn().catch((error) => say(error.message, 'error'));
  });
  $('sign-out').addEventListener('click', async () => {
    await signOut();
    showSignedOut('Signed out. Your session was revoked.');
    $('sign-in').focus();
  });
  try {
    if (await completeSignIn()) {
      showSignedIn();
      return;
    }
  } catch (error) {
    showSignedOut(error.message, 'error');
    return;
  }
  showSignedOut();
}

main();
