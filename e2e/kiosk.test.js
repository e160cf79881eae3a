// Browser test: the kiosk page in headless Chromium against a real `jarvis serve --demo`.
// A manager asks for a pairing code over the API; the page exchanges it, keeps the device token
// in localStorage, heartbeats (the dashboard then shows the kiosk online), greets a scanned
// badge by first name, and falls back to the pairing screen once the kiosk is revoked.
// Run from the repo root: `node --test e2e/` (after `npm install` in e2e/).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const BIN = process.env.JARVIS_BIN || path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug', 'jarvis');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'];

function startJarvis(dataDir) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, JARVIS_DATA_DIR: dataDir, JARVIS_LOG_FORMAT: 'json', JARVIS_LOG_LEVEL: 'info' };
    for (const k of Object.keys(env)) {
      if (k.startsWith('JARVIS_') && !['JARVIS_DATA_DIR', 'JARVIS_LOG_FORMAT', 'JARVIS_LOG_LEVEL'].includes(k)) delete env[k];
    }
    const child = spawn(BIN, ['serve', '--demo', '--listen', '127.0.0.1:0'], { env, cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    const timer = setTimeout(() => { child.kill(); reject(new Error(`jarvis did not start:\n${buf}`)); }, 60000);
    const onData = (d) => {
      buf += d.toString();
      for (const line of buf.split('\n')) {
        if (!line.includes('listening')) continue;
        try {
          const j = JSON.parse(line);
          const addr = (j.fields && j.fields.addr) || j.addr;
          if (addr) { clearTimeout(timer); resolve({ child, origin: `http://${addr}` }); return; }
        } catch (_) { /* not JSON yet */ }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`jarvis exited with ${code}:\n${buf}`)); });
  });
}

async function api(origin, token, method, p, body) {
  const r = await fetch(origin + p, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const j = await r.json();
  assert.ok(r.ok, `${method} ${p}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}

test('the kiosk page pairs, heartbeats, greets a badge and notices revocation', { timeout: 180000 }, async (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    const msg = `chromium not found at ${CHROMIUM} (apt-get install -y chromium)`;
    if (process.env.CI) assert.fail(`CI is set and ${msg}`);
    console.log(`\n!!!!!!!! SKIPPED: ${msg} !!!!!!!!\n`);
    t.skip(msg);
    return;
  }
  if (!fs.existsSync(BIN)) {
    const r = spawnSync('cargo', ['build', '-p', 'jarvis', '--bin', 'jarvis'], { cwd: ROOT, stdio: 'inherit' });
    assert.equal(r.status, 0, 'building jarvis failed');
  }
  const { chromium } = require('playwright-core');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarvis-e2e-kiosk-'));
  const { child, origin } = await startJarvis(dataDir);
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarvis-e2e-chromium-'));
  let context;
  try {
    const login = await fetch(`${origin}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'manager.paris@demo.jarvis.local', password: 'jarvis-demo-password' }),
    });
    const tokens = await login.json();
    assert.equal(login.status, 200, JSON.stringify(tokens));
    const token = tokens.access_token;
    const gyms = await api(origin, token, 'GET', '/api/v1/gyms');
    const gym = gyms.items[0];
    const kiosks = await api(origin, token, 'GET', `/api/v1/gyms/${gym.id}/kiosks`);
    const kiosk = kiosks.items[0];
    // A member the kiosk greets (active, voice consent) and one it must refuse (frozen).
    const active = await api(origin, token, 'GET', `/api/v1/gyms/${gym.id}/members?status=active&limit=200`);
    const member = active.items.find((m) => m.consent_voice);
    assert.ok(member, 'the demo gym has an active member with voice consent');
    const frozen = (await api(origin, token, 'GET', `/api/v1/gyms/${gym.id}/members?status=frozen&limit=1`)).items[0];
    assert.ok(frozen, 'the demo gym has a frozen member');
    const code = await api(origin, token, 'POST', `/api/v1/gyms/${gym.id}/kiosks/${kiosk.id}/pairing-code`);

    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: FLAGS });
    const page = await context.newPage();
    page.on('console', (m) => console.log('[page]', m.text()));
    await page.goto(`${origin}/kiosk`);
    await page.waitForSelector('#pair-view:not([hidden])');
    await page.fill('#pair-form input[name=code]', code.code.toLowerCase());
    await page.click('#pair-form button');
    await page.waitForSelector('#ready-view:not([hidden])');
    await page.waitForFunction((name) => document.getElementById('gym-name').textContent === name, gym.name);
    const stored = await page.evaluate(() => localStorage.getItem('jarvis_device_token'));
    assert.ok(stored && stored.startsWith('jk_'), 'the device token is kept by the browser');

    // The first heartbeat makes the kiosk show online on the dashboard API.
    let view;
    for (let i = 0; i < 50; i++) {
      view = await api(origin, token, 'GET', `/api/v1/gyms/${gym.id}/kiosks/${kiosk.id}`);
      if (view.presence === 'online') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(view.presence, 'online');
    assert.equal(view.app_version, 'web-1');

    await page.fill('#badge-form input[name=badge]', member.badge_id);
    await page.click('#badge-form button');
    await page.waitForFunction((first) => document.getElementById('greeting').textContent.includes(first), member.first_name);

    // A frozen membership is refused with an explanation in the gym's language, and no name.
    await page.fill('#badge-form input[name=badge]', frozen.badge_id);
    await page.click('#badge-form button');
    await page.waitForFunction(() => document.getElementById('kiosk-error').textContent.includes('Abonnement inactif'));
    assert.equal(await page.textContent('#greeting'), '');

    await api(origin, token, 'POST', `/api/v1/gyms/${gym.id}/kiosks/${kiosk.id}/revoke`);
    await page.reload();
    await page.waitForSelector('#pair-view:not([hidden])');
    assert.equal(await page.evaluate(() => localStorage.getItem('jarvis_device_token')), null);
  } finally {
    if (context) await context.close();
    child.kill('SIGTERM');
    fs.rmSync(userDataDir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the import page uploads a CSV and shows the job report', { timeout: 180000 }, async (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    const msg = `chromium not found at ${CHROMIUM} (apt-get install -y chromium)`;
    if (process.env.CI) assert.fail(`CI is set and ${msg}`);
    console.log(`\n!!!!!!!! SKIPPED: ${msg} !!!!!!!!\n`);
    t.skip(msg);
    return;
  }
  const { chromium } = require('playwright-core');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarvis-e2e-import-'));
  const { child, origin } = await startJarvis(dataDir);
  const logRefusals = (d) => { for (const l of String(d).split('\n')) if (l.includes('refused')) console.log('server:', l); };
  child.stdout.on('data', logRefusals);
  child.stderr.on('data', logRefusals);
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarvis-e2e-chromium-'));
  const csv = path.join(dataDir, 'members.csv');
  fs.writeFileSync(csv, '\ufeffPrénom;Nom;Badge;Date de naissance\nAnn;Lee;E2E-1;1990-01-01\nBob;Ray;E2E-2;31/02/1990\n');
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: FLAGS });
    const page = await context.newPage();
    await page.goto(`${origin}/app/gyms`);
    await page.fill('input[name=email]', 'manager.paris@demo.jarvis.local');
    await page.fill('input[name=password]', 'jarvis-demo-password');
    await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
    assert.ok(page.url().endsWith('/app/gyms'), `signed in and sent back: ${page.url()}`);
    await page.click('table.list tbody a');
    // The gym's areas are in the sidebar (the breadcrumbs name only where the page is).
    await page.click('aside.sidebar a[href$="/import"]');
    await page.setInputFiles('#import-form input[name=file]', csv);
    await page.uncheck('#import-form input[name=dry_run]');
    await page.check('#import-form input[name=skip_bad_rows]');
    await Promise.all([page.waitForURL(/\/imports\//), page.click('#import-form button')]);
    // The job page polls its progress and reloads once the job has ended (French: « terminé »).
    await page.waitForFunction(() => !document.querySelector('[data-running]') && document.body.textContent.includes('terminé'), null, { timeout: 30000 });
    const text = await page.textContent('body');
    assert.ok(text.includes('Date de naissance'), text);
    // The demo manager reads French: one row imported, one skipped, the bad date reported on line 3.
    assert.ok(text.includes('1 importées') && text.includes('1 ignorées'), text);
    assert.ok(/3\s*Date de naissance\s*pas une date/.test(text), text);
    assert.ok(!/not a date/.test(text), 'the reason is French on a French page');
  } finally {
    if (context) await context.close();
    child.kill('SIGTERM');
    fs.rmSync(userDataDir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
