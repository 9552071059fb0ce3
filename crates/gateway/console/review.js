// The clinician's review queue: drafts awaiting review of the tasks this person may read, each
// opened beside its sources, to edit, approve (sign) or reject with a reason.

import { api, has } from './session.js';
import { el, field, facts, focusHeading, form, say, table, when } from './ui.js';

export async function show(container) {
  const { data } = await api('GET', '/v1/drafts?status=awaiting_review');
  const rows = data.map((draft) => [
    draft.task,
    when(draft.created_at),
    draft.created_by,
    el('button', {
      type: 'button', class: 'primary', 'data-draft': draft.id,
      'aria-label': `Open ${draft.task} draft from ${when(draft.created_at)}`,
      onclick: () => openDraft(container, draft.id),
    }, 'Open'),
  ]);
  container.replaceChildren(
    focusHeading('h2', 'Review queue'),
    data.length === 0
      ? el('p', {}, 'No drafts are awaiting review.')
      : table(`${data.length} drafts awaiting review`, ['Task', 'Created', 'Requested by', ''], rows),
  );
}

function contentText(content) {
  return typeof content === 'string' ? content : JSON.stringify(content, null, 2);
}

function sources(draft) {
  const { input, record } = draft.sources || {};
  return el('section', { 'aria-labelledby': 'sources-title' },
    el('h3', { id: 'sources-title' }, 'Sources'),
    el('h4', {}, 'Input the task received'),
    input ? el('pre', { tabindex: '0', 'aria-label': 'Input the task received' }, input)
      : el('p', {}, 'This draft does not keep its input.'),
    el('h4', {}, 'Record (the minimum necessary this task reads)'),
    record ? el('pre', { tabindex: '0', 'aria-label': 'Record' }, JSON.stringify(record, null, 2))
      : el('p', {}, 'The patient\'s record is not available (forgotten or never imported).'));
}

async function openDraft(container, id) {
  say('');
  const draft = await api('GET', `/v1/drafts/${encodeURIComponent(id)}`).catch((error) => {
    say(error.message, 'error');
    return null;
  });
  if (!draft) return;
  const canSign = has('draft/sign') && draft.status === 'awaiting_review';
  const editor = el('textarea', { class: 'draft', name: 'content', readonly: !canSign },
    contentText(draft.body.content));
  const reason = el('textarea', { name: 'reason', maxlength: '2000' });
  const decided = (result, message) => {
    say(message);
    show(container).catch((error) => say(error.message, 'error'));
    return result;
  };
  const edited = () => {
    if (typeof draft.body.content === 'string') return editor.value;
    return JSON.parse(editor.value);
  };
  const actions = canSign ? [
    el('div', { class: 'actions' },
      el('button', {
        type: 'button',
        onclick: async () => {
          try {
            await api('PATCH', `/v1/drafts/${encodeURIComponent(id)}`, { content: edited() });
            say('Edits saved. The draft still awaits your signature.');
          } catch (error) { say(error.message, 'error'); }
        },
      }, 'Save edits'),
      el('button', {
        type: 'button', class: 'primary', id: 'approve',
        onclick: async () => {
          try {
            if (editor.value !== contentText(draft.body.content)) {
              await api('PATCH', `/v1/drafts/${encodeURIComponent(id)}`, { content: edited() });
            }
            const signed = await api('POST', `/v1/drafts/${encodeURIComponent(id)}/approve`);
            decided(signed, `Draft approved and signed by ${signed.reviewed_by}.`);
          } catch (error) { say(error.message, 'error'); }
        },
      }, 'Approve and sign')),
    form({ 'aria-labelledby': 'reject-title' }, async () => {
      if (!reason.value.trim()) {
        say('Give a reason for the rejection.', 'error');
        reason.focus();
        return;
      }
      try {
        await api('POST', `/v1/drafts/${encodeURIComponent(id)}/reject`, { reason: reason.value });
        decided(null, 'Draft rejected; the reason is kept with it.');
      } catch (error) { say(error.message, 'error'); }
    },
    el('h4', { id: 'reject-title' }, 'Reject'),
    field('Reason for rejecting', reason),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'danger' }, 'Reject draft'))),
  ] : [el('p', {}, 'You may read this draft; signing it needs a signer of its task.')];

  container.replaceChildren(
    focusHeading('h2', `Draft for review: ${draft.task}`),
    el('div', { class: 'actions' }, el('button', {
      type: 'button', onclick: () => show(container).catch((e) => say(e.message, 'error')),
    }, 'Back to the queue')),
    facts([
      ['Status', draft.status.replace('_', ' ')],
      ['Created', when(draft.created_at)],
      ['Requested by', draft.created_by],
      ['Draft id', draft.id],
    ]),
    el('div', { class: 'split' },
      sources(draft),
      el('section', { 'aria-labelledby': 'draft-title' },
        el('h3', { id: 'draft-title' }, 'Draft'),
        el('p', { class: 'label-ai' }, draft.body.label || ''),
        field('Draft text', editor),
        ...actions)));
}
