// Shared by the browser tests that run a whole `jarvis serve --demo` (demo.test.js, demo-page.test.js,
// voice.test.js, pages.test.js, access.test.js): where the binary and Chromium are, the flags
// for a call with a fake microphone, starting the server (resolving once it listens and its demo
// fake is known), the JSON API with a bearer token, sleep, and for the dashboard tests: the
// Chromium/binary preconditions, a loopback SMTP server, a super admin made with the CLI, TOTP codes, form sign-in and
// the main pages of a demo gym. Not a test file itself (`node --test` only runs `*.test.js`).
'use strict';
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const BIN = process.env.JARVIS_BIN || path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug', 'jarvis');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--allow-loopback-in-peer-connection',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

// Starts `jarvis serve --demo`; resolves with its origin and the demo fake's base URL (logged).
// `extraEnv` adds settings (e.g. the SMTP server of startSmtp).
function startJarvis(dataDir, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, JARVIS_DATA_DIR: dataDir, JARVIS_LOG_FORMAT: 'json', JARVIS_LOG_LEVEL: 'info' };
    for (const k of Object.keys(env)) {
      if (k.startsWith('JARVIS_') && !['JARVIS_DATA_DIR', 'JARVIS_LOG_FORMAT', 'JARVIS_LOG_LEVEL'].includes(k)) delete env[k];
    }
    Object.assign(env, extraEnv);
    const child = spawn(BIN, ['serve', '--demo', '--listen', '127.0.0.1:0'], { env, cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let fake = null;
    const timer = setTimeout(() => { child.kill(); reject(new Error(`jarvis did not start:\n${buf}`)); }, 60000);
    const onData = (d) => {
      buf += d.toString();
      for (const line of buf.split('\n')) {
        try {
          const j = JSON.parse(line);
          const f = j.fields || j;
          if (f.openai && String(f.message || '').includes('DEMO MODE')) fake = f.openai.replace(/\/v1$/, '');
          if (String(f.message || '').includes('listening') && f.addr && fake) {
            clearTimeout(timer);
            resolve({ child, origin: `http://${f.addr}`, fake, logs: () => buf });
            return;
          }
        } catch (_) { /* not JSON yet */ }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`jarvis exited with ${code}:\n${buf}`)); });
  });
}

// A JSON API call (with a bearer token unless `token` is null); asserts success.
async function api(origin, token, method, p, body) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(origin + p, {
    method,
    headers,
    body: body ? JSON.stringify(body) : undefined,
  });
  const j = await r.json();
  assert.ok(r.ok, `${method} ${p}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const SHOTS = path.join(ROOT, 'target', 'screenshots');
const DEMO_PASSWORD = 'jarvis-demo-password';

// False (after a loud SKIPPED line) when Chromium is missing; fails instead when CI is set.
// Builds the jarvis binary when it is missing.
function browserReady(t) {
  if (!fs.existsSync(CHROMIUM)) {
    const msg = `chromium not found at ${CHROMIUM} (apt-get install -y chromium)`;
    if (process.env.CI) assert.fail(`CI is set and ${msg}`);
    console.log(`\n!!!!!!!! SKIPPED: ${msg} !!!!!!!!\n`);
    t.skip(msg);
    return false;
  }
  if (!fs.existsSync(BIN)) {
    const r = spawnSync('cargo', ['build', '-p', 'jarvis', '--bin', 'jarvis'], { cwd: ROOT, stdio: 'inherit' });
    assert.equal(r.status, 0, 'building jarvis failed');
  }
  return true;
}

// A minimal SMTP server on loopback (no TLS, no auth: the `smtp://host:port` local-relay case)
// keeping every message's decoded text. Resolves with { port, env, messages, waitFor, close }:
// `env` points jarvis at it, `waitFor(pred)` resolves with the first message matching.
function startSmtp() {
  const net = require('node:net');
  const messages = [];
  const waiters = [];
  // Quoted-printable soft breaks and escapes, so links read whole.
  const unqp = (t) => t.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
  const server = net.createServer((sock) => {
    let buf = '';
    let data = false;
    let msg = '';
    sock.write('220 e2e ESMTP\r\n');
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (data) {
          if (line === '.') {
            data = false;
            const text = Buffer.from(unqp(msg), 'latin1').toString('utf8');
            messages.push(text);
            for (const w of waiters.splice(0)) if (!w(text)) waiters.push(w);
            sock.write('250 queued\r\n');
            msg = '';
          } else msg += `${line.startsWith('..') ? line.slice(1) : line}\r\n`;
          continue;
        }
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO') sock.write('250-e2e\r\n250 8BITMIME\r\n');
        else if (cmd === 'DATA') { data = true; sock.write('354 go ahead\r\n'); }
        else if (cmd === 'QUIT') { sock.end('221 bye\r\n'); }
        else sock.write('250 ok\r\n');
      }
    });
    sock.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    const waitFor = (pred, ms = 20000) => new Promise((res, rej) => {
      const hit = messages.find(pred);
      if (hit) { res(hit); return; }
      const timer = setTimeout(() => rej(new Error(`no matching e-mail in ${ms} ms (${messages.length} received)`)), ms);
      waiters.push((text) => { if (!pred(text)) return false; clearTimeout(timer); res(text); return true; });
    });
    resolve({
      port,
      messages,
      waitFor,
      close: () => server.close(),
      env: { JARVIS_EMAIL_TRANSPORT: 'smtp', JARVIS_SMTP_URL: `smtp://127.0.0.1:${port}`, JARVIS_EMAIL_FROM: 'JARVIS <jarvis@e2e.jarvis.local>' },
    });
  }));
}

// A super admin created with `jarvis admin create` on the server's data dir (the password on
// standard input, as an operator would pipe it). Returns { email, password }.
function createSuperAdmin(dataDir) {
  const email = 'root@e2e.jarvis.local';
  const password = 'e2e-super-admin-passphrase-42';
  const env = { ...process.env, JARVIS_DATA_DIR: dataDir };
  for (const k of Object.keys(env)) if (k.startsWith('JARVIS_') && k !== 'JARVIS_DATA_DIR') delete env[k];
  const r = spawnSync(BIN, ['admin', 'create', '--email', email, '--name', 'E2E Root'], { env, cwd: dataDir, input: `${password}\n`, encoding: 'utf8' });
  assert.equal(r.status, 0, `jarvis admin create: ${r.stdout}${r.stderr}`);
  return { email, password };
}

// RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret, `offset` steps from now.
function totp(b32, offset = 0) {
  const crypto = require('node:crypto');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of b32.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    assert.ok(v >= 0, `not base32: ${b32}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const step = Math.floor(Date.now() / 30000) + offset;
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const h = crypto.createHmac('sha1', key).update(msg).digest();
  const o = h[h.length - 1] & 0xf;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

// Signs in through the form; resolves with the URL the server sent the browser to.
async function signIn(page, origin, email, password, next = '/app') {
  await page.goto(`${origin}/app/login?next=${encodeURIComponent(next)}`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
  return page.url();
}

// Signs a fresh super admin in, enrolling TOTP as a first sign-in must (the secret read from the
// enrolment page, the code computed here). Returns the base32 secret.
async function signInEnrolling(page, origin, who) {
  const at = await signIn(page, origin, who.email, who.password);
  assert.match(at, /\/app\/mfa\/enroll/, `a first super admin sign-in goes to TOTP enrolment, got ${at}`);
  const secret = (await page.locator('section.auth p code').textContent()).trim();
  await page.fill('input[name=code]', totp(secret));
  await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
  assert.ok((await page.locator('ul.codes li').count()) >= 5, 'recovery codes shown after enrolment');
  await Promise.all([page.waitForNavigation(), page.click('ul.links a')]);
  assert.equal(new URL(page.url()).pathname, '/app');
  return secret;
}

// The demo gyms' page paths (in the gyms list's order) and a member of the first, read through the pages.
async function demoGyms(page, origin) {
  await page.goto(`${origin}/app/gyms`);
  const hrefs = await page.locator('main a[href^="/app/gyms/"]').evaluateAll(
    (as) => [...new Set(as.map((a) => a.getAttribute('href')).filter((h) => /^\/app\/gyms\/[^/]+$/.test(h)))],
  );
  assert.ok(hrefs.length >= 2, `two demo gyms listed, got ${hrefs}`);
  await page.goto(`${origin}${hrefs[0]}/members`);
  const member = await page.locator(`main a[href^="${hrefs[0]}/members/"]`).first().getAttribute('href');
  return { gyms: hrefs, member };
}

// The main dashboard pages: [name, path]; sign-in first (no session needed).
function mainPages(gym, member) {
  return [
    ['home', '/app'],
    ['overview', gym],
    ['members', `${gym}/members`],
    ['member', member],
    ['kiosks', `${gym}/kiosks`],
    ['voice', `${gym}/voice`],
    ['knowledge', `${gym}/knowledge`],
    ['team', '/app/team'],
    ['admin', '/app/ops'],
    ['audit', '/app/audit'],
    ['usage', '/app/usage'],
  ];
}

// The remaining dashboard pages of a gym (pages.test.js visits them after the main ones).
// `extra` adds pages found at run time ([name, path] pairs: a class, a session, a run).
function morePages(gym, extra = []) {
  return [
    ['gyms', '/app/gyms'],
    ['classes', `${gym}/classes`],
    ['tools', `${gym}/tools`],
    ['reports', `${gym}/reports`],
    ['leads', `${gym}/leads`],
    ['knowledge-new', `${gym}/knowledge/new`],
    ['churn', `${gym}/churn`],
    ['import', `${gym}/import`],
    ['sessions', `${gym}/voice/sessions`],
    ['simulations', `${gym}/voice/simulations`],
    ['analysis', `${gym}/voice/analysis`],
    ['costs', '/app/ops/costs'],
    ['jobs', '/app/ops/jobs'],
    ['errors', '/app/ops/errors'],
    ['vitals', '/app/ops/vitals'],
    ['security', '/app/security'],
    ['prices', '/app/voice/prices'],
    ...extra,
  ];
}

// axe-core's browser bundle, from e2e/node_modules (npm, lockfile); read on first use.
let AXE = null;

// Runs axe on the loaded page; returns its serious and critical violations, readable.
async function axeSerious(page) {
  // The CSP (`script-src 'self'`) blocks an inline <script> (page.addScriptTag({content})), so
  // the bundle is evaluated through the DevTools protocol, which CSP does not govern; the page's
  // own policy stays on, as users get it.
  if (!AXE) AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(AXE);
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.slice(0, 5).map((n) => `    ${n.target.join(' ')} ${n.failureSummary.replace(/\s+/g, ' ')}`).join('\n')}`);
}

// The page's cumulative layout shift so far (the sum of its `layout-shift` entries not caused
// by input, as the Web Vitals CLS counts them for a page that has just loaded), read through a
// PerformanceObserver with `buffered` after `settleMs` more milliseconds, so shifts from late
// scripts or styles count too.
async function layoutShift(page, settleMs = 300) {
  return page.evaluate((ms) => new Promise((resolve) => {
    let cls = 0;
    const add = (entries) => { for (const e of entries) if (!e.hadRecentInput) cls += e.value; };
    const po = new PerformanceObserver((list) => add(list.getEntries()));
    po.observe({ type: 'layout-shift', buffered: true });
    setTimeout(() => { add(po.takeRecords()); po.disconnect(); resolve(cls); }, ms);
  }), settleMs);
}

// The SDP offer of a browser call (audio and the `oai-events` data channel), for calls started
// through the API alone; the demo fake's real answerer accepts it, no media ever flows.
const OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=msid-semantic: WMS\r\n'
  + 'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:demo\r\na=ice-pwd:demodemodemodemodemodemo\r\n'
  + 'a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n'
  + 'a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n'
  + 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:demo\r\na=ice-pwd:demodemodemodemodemodemo\r\n'
  + 'a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n'
  + 'a=setup:actpass\r\na=mid:1\r\na=sctp-port:5000\r\n';

// The demo Paris manager's API token (password sign-in, no second factor for managers).
async function managerToken(origin) {
  const r = await fetch(`${origin}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'manager.paris@demo.jarvis.local', password: DEMO_PASSWORD }),
  });
  const j = await r.json();
  assert.equal(r.status, 200, JSON.stringify(j));
  return j.access_token;
}

// A short ended kiosk conversation through the API alone, so the session pages have one: a
// kiosk of the gym is paired, a member with voice consent starts a call with OFFER, says two
// lines through the fake's /say, and the kiosk hangs up. Returns the session id.
async function apiConversation(origin, fake, token, gymId) {
  const kiosk = (await api(origin, token, 'GET', `/api/v1/gyms/${gymId}/kiosks`)).items[0];
  const active = await api(origin, token, 'GET', `/api/v1/gyms/${gymId}/members?status=active&limit=200`);
  const member = active.items.find((m) => m.consent_voice);
  assert.ok(member, 'an active member with voice consent');
  const code = await api(origin, token, 'POST', `/api/v1/gyms/${gymId}/kiosks/${kiosk.id}/pairing-code`);
  const paired = await api(origin, null, 'POST', '/api/v1/kiosk/pair', { code: code.code });
  const device = paired.device_token;
  const before = new Set((await (await fetch(`${fake}/__fake/calls`)).json()).calls);
  const started = await api(origin, device, 'POST', '/api/v1/kiosk/voice/sessions', { badge_id: member.badge_id, sdp: OFFER });
  const callId = (await (await fetch(`${fake}/__fake/calls`)).json()).calls.find((c) => !before.has(c));
  assert.ok(callId, 'the call reached the fake');
  for (const text of ['Bonjour, quels cours aujourd\'hui ?', 'Je veux courir 10 km.']) {
    const r = await fetch(`${fake}/__fake/calls/${callId}/say`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text, seconds: 1.0 }),
    });
    assert.equal(r.status, 204, `say: ${r.status}`);
    await sleep(1200);
  }
  const r = await fetch(`${origin}/api/v1/kiosk/voice/sessions/${started.session_id}`, {
    method: 'DELETE', headers: { authorization: `Bearer ${device}` },
  });
  assert.ok(r.ok, `hang-up: ${r.status}`);
  return started.session_id;
}

module.exports = {
  assert, spawnSync, fs, os, path, ROOT, BIN, CHROMIUM, FLAGS, SHOTS, DEMO_PASSWORD, startJarvis, api, sleep,
  browserReady, startSmtp, createSuperAdmin, totp, signIn, signInEnrolling, demoGyms, mainPages, morePages,
  axeSerious, layoutShift, OFFER, managerToken, apiConversation,
};
