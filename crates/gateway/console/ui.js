// Small DOM helpers. Text always goes in as text (textContent), never as markup, so nothing the
// gateway returns can become script.

/** An element with attributes (`on*` become listeners) and children (strings become text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'class') node.className = value;
    else if (value === true) node.setAttribute(name, '');
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

let nextId = 0;

/** A labelled control: `<label for>` plus the control, which gets an id if it has none. */
export function field(label, control, hint) {
  if (!control.id) control.id = `f${++nextId}`;
  const parts = [el('label', { for: control.id }, label), control];
  if (hint) {
    const hintId = `${control.id}-hint`;
    control.setAttribute('aria-describedby', hintId);
    parts.push(el('small', { id: hintId }, hint));
  }
  return el('div', {}, parts);
}

/** A select of `options` (strings, or [value, text] pairs). */
export function select(name, options, attrs = {}) {
  return el('select', { name, ...attrs }, options.map((o) => {
    const [value, text] = Array.isArray(o) ? o : [o, o];
    return el('option', { value }, text);
  }));
}

/** Shows a message in the live region. */
export function say(message, kind = 'info') {
  const status = document.getElementById('status');
  status.className = kind === 'error' ? 'error' : '';
  status.textContent = message;
}

/** A table of `rows`, each an array of cells (text or nodes), under `columns`. */
export function table(caption, columns, rows) {
  return el('div', { class: 'table-wrap' }, el('table', {},
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, columns.map((c) => el('th', { scope: 'col' }, c)))),
    el('tbody', {}, rows.map((row) => el('tr', {}, row.map((cell) => el('td', {}, cell)))))));
}

/** A definition list of [term, value] pairs. */
export function facts(pairs) {
  return el('dl', {}, pairs.flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
}

/** Unix seconds or RFC 3339 text as local date and time. */
export function when(value) {
  if (value === null || value === undefined) return '';
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

/** A heading that takes focus, so keyboard and screen-reader users land on the new content. */
export function focusHeading(level, text) {
  const heading = el(level, { tabindex: '-1' }, text);
  queueMicrotask(() => heading.focus());
  return heading;
}

/** A form whose submit runs `handler` (Enter in a field submits, as everywhere). It posts to
 * nowhere useful if script ever fails, so nothing typed can end up in a URL. */
export function form(attrs, handler, ...children) {
  return el('form', {
    method: 'post', action: '/console/', novalidate: true, ...attrs,
    onsubmit: (event) => { event.preventDefault(); handler(event.currentTarget); },
  }, ...children);
}
