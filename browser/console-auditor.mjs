// An auditor signs in with password and TOTP, sees the chain verified and the latest
// checkpoint, finds the approval of draft DRAFT_ID in the log, searches by patient identifier
// and reports the patient's disclosures (the identifier travels in request bodies only).
// Usage: node console-auditor.mjs BASE_URL SCREENSHOT_DIR DRAFT_ID with CONSOLE_USER,
// CONSOLE_PASSWORD, CONSOLE_TOTP_URI, CONSOLE_PATIENT and CONSOLE_FORBIDDEN in the environment.

import { env, fail, shot, signIn, signOut, start } from './console-common.mjs';

const [base, shots, draft] = process.argv.slice(2);
const patient = env('CONSOLE_PATIENT');
const forbidden = [...JSON.parse(env('CONSOLE_FORBIDDEN')), patient];
const { page, finish } = await start(base, forbidden);

await signIn(page, env('CONSOLE_USER'), env('CONSOLE_PASSWORD'), env('CONSOLE_TOTP_URI'));
await page.getByRole('heading', { name: 'Audit', exact: true }).waitFor();
await page.locator('dd .ok', { hasText: 'yes' }).waitFor();
await page.getByLabel('Signed checkpoint note').waitFor();
const incidents = await page.getByText(/^(Incidents: not available on this gateway\.|No incidents\.)$|incidents$/).first().textContent();
console.log(`INCIDENTS ${incidents.includes('not available') ? 'not available' : 'listed'}`);
await shot(page, shots, 'auditor-1-status');

const search = page.locator('#search-form');
await search.getByLabel('Action').selectOption('draft_signed');
await search.getByRole('button', { name: 'Search' }).click();
const row = page.locator('#search-results tr', { hasText: `draft ${draft} signed` });
await row.waitFor();
await shot(page, shots, 'auditor-2-approval-found');
console.log(`FOUND approval of ${draft}`);

await search.getByLabel('Action').selectOption('');
await search.getByLabel('Patient identifier').fill(patient);
await search.getByRole('button', { name: 'Search' }).click();
await page.getByText(/^\d+ (entry|entries) found\.$/).waitFor();
const entries = await page.locator('#search-results tbody tr').count();
if (entries === 0) fail('no entries for the patient');
console.log(`PATIENT entries ${entries}`);

await page.locator('form[aria-labelledby=disclosures-title]').getByLabel('Patient identifier').fill(patient);
await page.getByRole('button', { name: 'Report disclosures' }).click();
await page.locator('#disclosure-results table, #disclosure-results p').first().waitFor();
const disclosures = await page.locator('#disclosure-results tbody tr').count();
console.log(`DISCLOSURES ${disclosures}`);
await shot(page, shots, 'auditor-3-disclosures');
await signOut(page);
await finish();
