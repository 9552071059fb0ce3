// The patient's chat page, end to end, in Chromium on a phone-sized screen and with the keyboard
// only: sign in through the OAuth authorization-code flow with PKCE, ask for an appointment, and
// see the booked appointment in the page's list. The gateway's upstream is the scripted mock, so
// what the "model" does (find free slots, book one) is fixed by the Rust test that runs this.
//
// Usage: node browser/patient-booking.mjs BASE_URL USERNAME PASSWORD SCREENSHOT_DIR
// Prints one line per step; exits non-zero with the failing step on stderr. Prints no patient data.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [base, username, password, shots] = process.argv.slice(2);
if (!base || !username || !password || !shots) {
  console.error("usage: patient-booking.mjs BASE_URL USERNAME PASSWORD SCREENSHOT_DIR");
  process.exit(2);
}

const profile = mkdtempSync(join(tmpdir(), "phigate-chromium-"));
// A fresh profile directory for this run (Playwright's persistent context passes it to Chromium
// as --user-data-dir).
const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  viewport: { width: 375, height: 740 },
  isMobile: true,
  hasTouch: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

const step = (name) => console.log(`step: ${name}`);
const problems = [];

try {
  const page = context.pages()[0] || (await context.newPage());
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error on ${new URL(page.url()).pathname}: ${message.text().slice(0, 160)}`);
  });
  page.on("pageerror", () => problems.push("page error"));
  // Nothing may be fetched from anywhere but the gateway itself.
  page.on("request", (request) => {
    if (!request.url().startsWith(base)) problems.push("request off the gateway");
  });

  await page.goto(`${base}/patient/`);
  step("page loaded");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  if (width > 375) throw new Error(`the page is wider than the phone screen (${width}px)`);

  // Keyboard only: Tab to the sign-in button and press Enter.
  let focused = "";
  for (let i = 0; i < 12 && focused !== "sign-in"; i++) {
    await page.keyboard.press("Tab");
    focused = await page.evaluate(() => document.activeElement?.id || "");
  }
  if (focused !== "sign-in") throw new Error("the sign-in button cannot be reached with Tab");
  await Promise.all([page.waitForURL(/\/oauth\/authorize/), page.keyboard.press("Enter")]);
  step("sign-in page shown");

  await page.getByLabel(/user ?name/i).fill(username);
  await page.getByLabel(/password/i).fill(password);
  await page.screenshot({ path: join(shots, "patient-1-sign-in.png"), fullPage: true });
  await Promise.all([page.waitForURL(/\/patient\//), page.keyboard.press("Enter")]);
  await page.locator("#signed-in").waitFor({ state: "visible" });
  if (new URL(page.url()).search !== "") throw new Error("the code stayed in the address bar");
  step("signed in");

  const box = page.getByLabel("Your message");
  const focusedBox = await box.evaluate((el) => el === document.activeElement);
  if (!focusedBox) throw new Error("the message box is not focused after sign-in");
  await box.fill("Can I see a doctor in the next few days?");
  await page.keyboard.press("Enter");
  const reply = page.locator("#log li.assistant").first();
  await reply.waitFor({ timeout: 30000 });
  const text = await reply.innerText();
  if (!/booked/i.test(text)) throw new Error("the reply does not confirm a booking");
  if (!/not a clinician/.test(text)) throw new Error("the reply lacks the disclaimer");
  step("assistant replied");

  const booked = page.locator("#appointments li.appointment");
  await booked.first().waitFor({ timeout: 10000 });
  const count = await booked.count();
  if (count !== 1) throw new Error(`expected one booked appointment in the list, found ${count}`);
  await page.screenshot({ path: join(shots, "patient-2-booked.png"), fullPage: true });
  step("appointment listed");

  const stored = await page.evaluate(() => ({
    local: Object.keys(localStorage).length,
    session: Object.keys(sessionStorage).length,
  }));
  if (stored.local !== 0 || stored.session !== 0) throw new Error("something was left in storage");
  if (problems.length > 0) throw new Error(problems.join(", "));
  console.log("ok: booked through the chat page");
} catch (error) {
  console.error(`failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
