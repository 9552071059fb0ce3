// Keyboard only: Tab and Enter (and typing into fields) through sign-in, opening a draft and
// approving it, with a visible focus indicator on every control used. Usage:
// node console-keyboard.mjs BASE_URL SCREENSHOT_DIR with CONSOLE_USER and CONSOLE_PASSWORD in
// the environment.

import { env, fail, shot, start } from './console-common.mjs';

const [base, shots] = process.argv.slice(2);
const { page, finish } = await start(base);

/** What has focus: its tag, name attribute and text. */
const focused = () => page.evaluate(() => {
  const e = document.activeElement;
  const style = getComputedStyle(e);
  return {
    tag: e.tagName.toLowerCase(), name: e.getAttribute('name') || '',
    text: (e.textContent || '').trim(), outline: style.outlineStyle !== 'none' && style.outlineWidth !== '0px',
  };
});

/** Presses Tab until `wanted` has focus; fails after 80 presses. */
async function tabTo(description, wanted) {
  for (let i = 0; i < 80; i += 1) {
    await page.keyboard.press('Tab');
    const now = await focused();
    if (wanted(now)) {
      if (!now.outline) fail(`${description} has no visible focus indicator`);
      return;
    }
  }
  fail(`Tab never reached ${description}`);
}

await tabTo('the sign-in button', (f) => f.tag === 'button' && f.text === 'Sign in with Phigate');
await page.keyboard.press('Enter');
await page.waitForURL(/\/oauth\/authorize/);
await tabTo('the username field', (f) => f.name === 'username');
await page.keyboard.type(env('CONSOLE_USER'));
await page.keyboard.press('Tab');
await page.keyboard.type(env('CONSOLE_PASSWORD'));
await tabTo('the sign-in page\'s submit button', (f) => f.tag === 'button' && f.text === 'Sign in');
await shot(page, shots, 'keyboard-1-sign-in');
await page.keyboard.press('Enter');
await page.waitForURL(/\/console\/$/);
await page.getByRole('heading', { name: 'Review queue' }).waitFor();

await tabTo('a draft\'s Open button', (f) => f.tag === 'button' && f.text === 'Open');
await page.keyboard.press('Enter');
await page.getByRole('heading', { name: /^Draft for review/ }).waitFor();
await tabTo('the approve button', (f) => f.tag === 'button' && f.text === 'Approve and sign');
await shot(page, shots, 'keyboard-2-approve-focused');
await page.keyboard.press('Enter');
await page.getByText(/^Draft approved and signed by /).waitFor();
await shot(page, shots, 'keyboard-3-approved');
await finish();
console.log('KEYBOARD approved a draft with Tab and Enter only');
