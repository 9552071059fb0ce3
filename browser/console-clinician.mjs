// A clinician signs in with a password, opens the oldest draft awaiting review beside its
// sources, and approves (signs) it. Usage: node console-clinician.mjs BASE_URL SCREENSHOT_DIR
// with CONSOLE_USER, CONSOLE_PASSWORD and CONSOLE_FORBIDDEN (a JSON array of the patient's
// identifiers, which must show on the page but never in a URL) in the environment.

import { assertRevoked, env, fail, shot, signIn, signOut, start } from './console-common.mjs';

const [base, shots] = process.argv.slice(2);
const forbidden = JSON.parse(env('CONSOLE_FORBIDDEN'));
const { context, page, session, finish } = await start(base, forbidden);

await shot(page, shots, 'clinician-1-signed-out');
await signIn(page, env('CONSOLE_USER'), env('CONSOLE_PASSWORD'));
await page.getByRole('heading', { name: 'Review queue' }).waitFor();
await shot(page, shots, 'clinician-2-queue');

const open = page.locator('button[data-draft]').first();
const id = await open.getAttribute('data-draft');
if (!id) fail('no draft is awaiting review');
await open.click();
await page.getByRole('heading', { name: /^Draft for review/ }).waitFor();
const input = await page.getByLabel('Input the task received').textContent();
if (!input || input.trim().length < 20) fail('the draft shows no input beside it');
const record = await page.getByLabel('Record').textContent();
if (!record || !record.includes('"patient"')) fail('the draft shows no record beside it');
const shown = await page.textContent('main');
if (!forbidden.some((value) => shown.includes(value))) {
  fail('the reviewer does not see the patient named: identifiers were not restored');
}
await shot(page, shots, 'clinician-3-draft');
await page.setViewportSize({ width: 390, height: 844 });
await shot(page, shots, 'clinician-4-draft-phone');
await page.setViewportSize({ width: 1280, height: 900 });

await page.getByRole('button', { name: 'Approve and sign' }).click();
await page.getByText(/^Draft approved and signed by /).waitFor();
await page.getByRole('heading', { name: 'Review queue' }).waitFor();
if (await page.locator(`button[data-draft="${id}"]`).count() !== 0) {
  fail('the approved draft is still in the queue');
}
await shot(page, shots, 'clinician-5-approved');

// The access token is refreshed before it expires, and the console goes on working with the
// new one (the test gives access tokens 75 seconds, so the refresh comes 15 seconds in). The wait
// is measured on the monotonic clock: a wall clock that jumps (a virtual machine resumed from a
// snapshot) once ended it before the page's own timer could fire.
const deadline = performance.now() + 40000;
while (session.refreshes === 0 && performance.now() < deadline) await page.waitForTimeout(500);
if (session.refreshes === 0) fail('the access token was not refreshed before it expired');
await page.getByRole('button', { name: 'Review queue' }).click();
await page.getByRole('heading', { name: 'Review queue' }).waitFor();
console.log(`REFRESHED ${session.refreshes} time(s) before expiry`);

await signOut(page);
await assertRevoked(context, base, session);
await finish();
console.log(`APPROVED ${id}`);
