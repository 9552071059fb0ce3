// An administrator signs in with password and TOTP and creates a user, whose one-time password
// the console shows once. Usage: node console-admin.mjs BASE_URL SCREENSHOT_DIR NEW_USERNAME
// with CONSOLE_USER, CONSOLE_PASSWORD and CONSOLE_TOTP_URI in the environment.

import { env, fail, shot, signIn, signOut, start } from './console-common.mjs';

const [base, shots, username] = process.argv.slice(2);
const { page, finish } = await start(base);

await signIn(page, env('CONSOLE_USER'), env('CONSOLE_PASSWORD'), env('CONSOLE_TOTP_URI'));
await page.getByRole('heading', { name: 'Administration' }).waitFor();
await page.getByRole('cell', { name: 'phigate-console' }).waitFor();
await shot(page, shots, 'admin-1-overview');

const form = page.locator('#new-user');
await form.getByLabel('Username').fill(username);
await form.getByLabel('Role').selectOption('nurse');
await form.getByRole('button', { name: 'Create user' }).click();
await page.getByText(`User ${username} created.`).waitFor();
const password = await page.locator('.secret dd code').first().textContent();
if (!password || password.length < 16) fail('no one-time password was shown');
await page.getByRole('cell', { name: username, exact: true }).waitFor();
await shot(page, shots, 'admin-2-user-created');
await signOut(page);
await finish();
console.log(`CREATED ${username}`);
