// Browser test: the dashboard as the demo gym manager (Paris) drives it, against one
// `jarvis serve --demo` with a fresh data dir:
// - keyboard-only sign-in: Tab to the e-mail and password fields, Enter submits; the focused
//   field shows a visible outline;
// - tenant isolation: the Paris manager opening the London gym's pages by URL gets 404;
// - a member added through the form, with errors next to the field first, then found by search;
// - a CSV import (not a dry run, bad rows skipped) whose report lists the bad rows;
// - kiosk pairing: the dashboard shows a code, a kiosk page in another browser pairs with it;
// - invitation accept: the manager invites a staff member (API; the dashboard has no invite
//   form), the e-mail reaches a loopback SMTP server (support.js) and its link is opened; a weak
//   password is refused on the page, a strong one accepted, and the new staff member signs in.
// Run from the repo root: `node --test e2e/dashboard.test.js` (after `npm install` in e2e/).
'use strict';

const { test } = require('node:test');
const {
  assert, fs, os, path, SHOTS, CHROMIUM, DEMO_PASSWORD, startJarvis, startSmtp, api, browserReady, signIn,
} = require('./support');

const MANAGER = 'manager.paris@demo.jarvis.local';

// The focused element's name and computed outline.
const focused = (page) => page.evaluate(() => {
  const e = document.activeElement;
  const s = getComputedStyle(e);
  return { name: e.getAttribute('name'), tag: e.tagName, outline: s.outlineStyle, width: s.outlineWidth };
});

// Presses Tab until the element named `name` has focus (at most 30 presses).
async function tabTo(page, name) {
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    if (f.name === name) return f;
  }
  assert.fail(`Tab never reached [name=${name}]`);
}

// The JSON API token of a demo user (no second factor for gym roles).
async function token(origin, email) {
  const r = await fetch(`${origin}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: DEMO_PASSWORD }),
  });
  const j = await r.json();
  assert.equal(r.status, 200, JSON.stringify(j));
  return j.access_token;
}

async function getJson(origin, tok, p) {
  const r = await fetch(origin + p, { headers: { authorization: `Bearer ${tok}` } });
  assert.equal(r.status, 200, `GET ${p}`);
  return r.json();
}

test('dashboard: keyboard sign-in, tenant isolation, member form and search, CSV import, kiosk pairing, invitation', { timeout: 240000 }, async (t) => {
  if (!browserReady(t)) return;
  const { chromium } = require('playwright-core');
  fs.mkdirSync(SHOTS, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarvis-e2e-dashboard-'));
  const smtp = await startSmtp();
  const { child, origin } = await startJarvis(dataDir, smtp.env);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const viewport = { width: 1280, height: 900 };
  try {
    const paris = (await getJson(origin, await token(origin, MANAGER), '/api/v1/gyms')).items;
    assert.equal(paris.length, 1, 'the Paris manager sees one gym');
    const gym = `/app/gyms/${paris[0].id}`;

    await t.test('keyboard-only sign-in with visible focus', async () => {
      const page = await browser.newPage({ viewport });
      await page.goto(`${origin}/app/login?next=/app`);
      const email = await tabTo(page, 'email');
      assert.notEqual(email.outline, 'none', `focused e-mail field has an outline (${JSON.stringify(email)})`);
      await page.keyboard.type(MANAGER);
      await page.keyboard.press('Tab');
      const pw = await focused(page);
      assert.equal(pw.name, 'password', 'Tab goes from e-mail to password');
      assert.notEqual(pw.outline, 'none', `focused password field has an outline (${JSON.stringify(pw)})`);
      await page.keyboard.type(DEMO_PASSWORD);
      await Promise.all([page.waitForURL(`${origin}/app`), page.keyboard.press('Enter')]);
      await page.close();
    });

    const ctx = await browser.newContext({ viewport });
    const page = await ctx.newPage();
    await signIn(page, origin, MANAGER, DEMO_PASSWORD);
    assert.equal(new URL(page.url()).pathname, '/app', 'the manager is signed in');

    await t.test('tenant isolation: the Paris manager gets 404 on the London gym', async () => {
      const staff = await token(origin, 'staff.london@demo.jarvis.local');
      const london = (await getJson(origin, staff, '/api/v1/gyms')).items[0];
      assert.notEqual(london.id, paris[0].id);
      const lm = (await getJson(origin, staff, `/api/v1/gyms/${london.id}/members?limit=1`)).items[0];
      const other = `/app/gyms/${london.id}`;
      const statuses = [];
      for (const p of [other, `${other}/members`, `${other}/members/${lm.id}`, `${other}/kiosks`, `${other}/voice`,
        `${other}/voice/sessions`, `${other}/knowledge`, `${other}/classes`, `${other}/tools`, `${other}/reports`,
        `${other}/churn`, `${other}/import`]) {
        statuses.push(`${p} ${(await page.goto(origin + p)).status()}`);
      }
      assert.deepEqual(statuses.filter((s) => !s.endsWith(' 404')), [], 'every London page is 404 for the Paris manager');
      // The same pages of the manager's own gym open, so the 404s above are about the tenant.
      assert.equal((await page.goto(`${origin}${gym}/members`)).status(), 200);
      assert.equal(await page.locator('html').getAttribute('lang'), 'fr');
    });

    await t.test('member form: errors next to the field, then created and found by search', async () => {
      await page.goto(`${origin}${gym}/members`);
      const form = page.locator(`form[action="${gym}/members"][method=post]`);
      await form.locator('input[name=badge_id]').fill('E2E-KEY-1');
      await form.locator('input[name=first_name]').fill('Zéphyrine');
      await form.locator('input[name=last_name]').fill('Testeuse');
      await form.locator('input[name=email]').fill('not-an-email');
      await Promise.all([page.waitForNavigation(), form.locator('button').click()]);
      const bad = page.locator('input[name=email][aria-invalid=true]');
      assert.equal(await bad.count(), 1, 'the e-mail field is marked invalid');
      const msg = await page.locator('label:has(input[name=email]) .error').textContent();
      assert.ok(msg && msg.trim().length > 0, 'an error message next to the e-mail field');
      await page.screenshot({ path: path.join(SHOTS, 'member-form-error-fr.png'), fullPage: true });
      // The form kept what was typed; fix the e-mail and submit again.
      assert.equal(await page.inputValue('input[name=first_name]'), 'Zéphyrine');
      await page.fill('input[name=email]', 'zephyrine@example.org');
      await Promise.all([page.waitForNavigation(), page.locator(`form[action="${gym}/members"][method=post] button`).click()]);
      await page.goto(`${origin}${gym}/members`);
      await page.fill('input[type=search][name=q]', 'Zéphyrine');
      await Promise.all([page.waitForNavigation(), page.locator('form[method=get] button').click()]);
      const rows = page.locator('table.list tbody tr');
      assert.equal(await rows.count(), 1, 'search finds the new member alone');
      assert.match(await rows.first().innerText(), /Testeuse/);
    });

    await t.test('CSV import: bad rows listed in the report', async () => {
      const csv = path.join(dataDir, 'members.csv');
      fs.writeFileSync(csv, 'badge_id,first_name,last_name,email\nE2E-CSV-1,Anne,Une,anne@example.org\nE2E-CSV-2,,Deux,deux@example.org\nE2E-CSV-3,Chloé,Trois,pas-une-adresse\n');
      await page.goto(`${origin}${gym}/import`);
      await page.setInputFiles('#import-form input[type=file]', csv);
      await page.uncheck('#import-form input[name=dry_run]');
      await page.check('#import-form input[name=skip_bad_rows]');
      await Promise.all([page.waitForURL(/\/imports\//), page.click('#import-form button')]);
      // The job page polls and reloads once the import ends.
      await page.locator('#import-job table.list').waitFor({ timeout: 30000 });
      const errors = await page.locator('#import-job table.list tbody tr').allInnerTexts();
      assert.equal(errors.length, 2, `two bad rows reported: ${errors.join(' | ')}`);
      assert.ok(errors.some((e) => /first_name/.test(e)), 'the missing first name is reported');
      assert.ok(errors.some((e) => /email/.test(e)), 'the bad e-mail is reported');
      await page.screenshot({ path: path.join(SHOTS, 'import-report-fr.png'), fullPage: true });
      await page.goto(`${origin}${gym}/members?q=E2E-CSV`);
      assert.equal(await page.locator('table.list tbody tr').count(), 1, 'the good row was imported, the bad ones skipped');
    });

    await t.test('kiosk pairing: a code on the dashboard pairs a kiosk page', async () => {
      await page.goto(`${origin}${gym}/kiosks`);
      await Promise.all([page.waitForNavigation(), page.locator(`form[action$="/pair"] button`).first().click()]);
      const code = (await page.locator('.banner code.code').textContent()).trim();
      assert.match(code, /^[A-Z0-9-]{4,12}$/, `a pairing code is shown: ${code}`);
      const kctx = await browser.newContext({ viewport });
      const kiosk = await kctx.newPage();
      await kiosk.goto(`${origin}/kiosk`);
      await kiosk.locator('#pair-view').waitFor();
      await kiosk.fill('#pair-form input[name=code]', code);
      await kiosk.press('#pair-form input[name=code]', 'Enter');
      await kiosk.locator('#ready-view').waitFor({ timeout: 15000 });
      assert.equal(await kiosk.locator('#pair-error').textContent(), '');
      await kctx.close();
    });
    await t.test('invitation accept: weak password refused, then the new staff member signs in', async () => {
      const email = 'nouvelle.recrue@example.org';
      await api(origin, await token(origin, MANAGER), 'POST', '/api/v1/invitations', {
        email, display_name: 'Nouvelle Recrue', role: 'gym_staff', franchise_id: paris[0].franchise_id, gym_id: paris[0].id,
      });
      const mail = await smtp.waitFor((m) => m.includes(email) && m.includes('/app/invitations/accept?token='));
      const link = /\/app\/invitations\/accept\?token=([A-Za-z0-9_.~%-]+)/.exec(mail);
      assert.ok(link, `an invitation e-mail with a link: ${mail}`);
      const inv = await browser.newPage({ viewport });
      await inv.goto(`${origin}/app/invitations/accept?token=${link[1]}&lang=fr`);
      assert.ok((await inv.locator('section.auth').innerText()).includes(email), 'the page names the invited e-mail');
      await inv.fill('input[name=password]', 'court');
      await Promise.all([inv.waitForNavigation(), inv.click('form button[type=submit]')]);
      assert.ok(await inv.locator('.error[role=alert]').isVisible(), 'a weak password is refused with a message');
      const password = 'une-phrase-de-passe-assez-longue-2026';
      await inv.fill('input[name=password]', password);
      await Promise.all([inv.waitForNavigation(), inv.click('form button[type=submit]')]);
      assert.equal(await inv.locator('.error').count(), 0, 'the invitation is accepted');
      await Promise.all([inv.waitForNavigation(), inv.click('ul.links a[href="/app/login"]')]);
      await inv.fill('input[name=email]', email);
      await inv.fill('input[name=password]', password);
      await Promise.all([inv.waitForURL(`${origin}/app`), inv.click('form button[type=submit]')]);
      assert.equal((await inv.goto(`${origin}${gym}/members`)).status(), 200, 'the new staff member opens the gym');
      await inv.close();
    });
    await ctx.close();
  } finally {
    await browser.close();
    child.kill();
    smtp.close();
  }
});
