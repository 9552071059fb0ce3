// What the console scenarios share: Chromium launched as the repository's browser tests launch
// it, sign-in through Phigate's own page, a record of every URL the browser requested (checked
// for values that must never be in one), TOTP codes, and screenshots.
//
// Secrets and identifiers come from the environment, never from the command line, and are never
// printed: a failure names what went wrong, not the value.

import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Stops the scenario with a message (never a secret or an identifier). */
export function fail(message) {
  console.error(`FAIL ${message}`);
  process.exit(1);
}

/** A required environment variable. */
export function env(name) {
  const value = process.env[name];
  if (!value) fail(`${name} is not set`);
  return value;
}

/**
 * Starts Chromium with a fresh profile. Every request's URL is kept; `forbidden` values (the
 * patient's identifiers) must appear in none of them, raw or percent-encoded. Content Security
 * Policy violations reported by the page fail the scenario.
 */
export async function start(base, forbidden = []) {
  const profile = mkdtempSync(join(tmpdir(), 'phigate-console-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  });
  const urls = [];
  const violations = [];
  // The tokens the page was last given and how often it refreshed them, to check from outside
  // the page that refresh happens before expiry and sign-out revokes.
  const session = { refreshes: 0, latest: null };
  context.on('request', (request) => {
    urls.push(request.url());
    if (request.url().endsWith('/oauth/token') && /grant_type=refresh_token/.test(request.postData() || '')) {
      session.refreshes += 1;
    }
  });
  context.on('response', async (response) => {
    if (response.url().endsWith('/oauth/token') && response.ok()) {
      session.latest = await response.json().catch(() => session.latest);
    }
  });
  const page = context.pages()[0] || await context.newPage();
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) violations.push(message.text());
  });
  page.on('pageerror', (error) => violations.push(`script error: ${error.message}`));
  page.setDefaultTimeout(20000);
  await page.goto(`${base}/console/`);
  const finish = async () => {
    const lowered = urls.map((u) => {
      let decoded = u;
      try { decoded = decodeURIComponent(u); } catch { /* keep it raw */ }
      return `${u} ${decoded}`.toLowerCase();
    });
    forbidden.forEach((value, index) => {
      if (lowered.some((u) => u.includes(value.toLowerCase()))) {
        fail(`forbidden value #${index} appeared in a requested URL`);
      }
    });
    if (violations.length) fail(`the page reported ${violations.length} policy or script errors: ${violations[0].slice(0, 200)}`);
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    console.log(`URLS ${urls.length} requested, none carrying a forbidden value`);
  };
  return { context, page, urls, session, finish };
}

/** The current TOTP code of an `otpauth://` enrolment URI (RFC 6238, SHA-1, 30 s, 6 digits). */
export function totp(uri, at = Date.now()) {
  const secret = new URL(uri).searchParams.get('secret');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secret.replace(/=+$/, '').toUpperCase()) {
    const value = alphabet.indexOf(ch);
    if (value < 0) fail('the TOTP secret is not base32');
    bits += value.toString(2).padStart(5, '0');
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, '0');
}

/** Signs in from the console's signed-out page, with the mouse-free form fill Playwright does. */
export async function signIn(page, username, password, totpUri) {
  await page.getByRole('button', { name: 'Sign in with Phigate' }).click();
  await page.waitForURL(/\/oauth\/authorize/);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  if (totpUri) await page.fill('input[name=totp]', totp(totpUri));
  await page.click('button[type=submit]');
  await page.waitForURL(/\/console\/$/);
  await page.getByText(/^Signed in as /).waitFor();
}

/** Signs out and checks the console says the session was revoked. */
export async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('Signed out. Your session was revoked.').waitFor();
}

/** Checks that the session's last tokens no longer work: the refresh token is refused by the
 * token endpoint, and the access token by the gateway. */
export async function assertRevoked(context, base, session) {
  if (!session.latest) fail('no token response was seen');
  const refreshed = await context.request.post(`${base}/oauth/token`, {
    form: { grant_type: 'refresh_token', refresh_token: session.latest.refresh_token, client_id: 'phigate-console' },
  });
  if (refreshed.status() !== 400) fail(`a signed-out refresh token got ${refreshed.status()}`);
  const used = await context.request.get(`${base}/v1/drafts`, {
    headers: { authorization: `Bearer ${session.latest.access_token}` },
  });
  if (used.status() !== 401) fail(`a signed-out access token got ${used.status()}`);
  console.log('REVOKED refresh and access tokens refused after sign-out');
}

/** Saves a full-page screenshot under `dir`. */
export async function shot(page, dir, name) {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`SCREENSHOT ${path}`);
}
