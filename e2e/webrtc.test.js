// Browser test: headless Debian Chromium connects to the fake OpenAI's real WebRTC answerer.
// Run from the repo root: `node --test e2e/` (after `npm install` in e2e/).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const BIN = process.env.JARVIS_FAKE_OPENAI_BIN || path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug', 'jarvis-fake-openai');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--allow-loopback-in-peer-connection',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

function startFake() {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    const timer = setTimeout(() => { child.kill(); reject(new Error('fake did not report its address')); }, 20000);
    child.stdout.on('data', (d) => {
      buf += d.toString();
      const m = buf.match(/JARVIS_FAKE_OPENAI_LISTENING base_url=(\S+)/);
      if (m) { clearTimeout(timer); resolve({ child, baseUrl: m[1] }); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`fake exited with ${code}`)); });
  });
}

test('Chromium connects to the fake over real WebRTC: data channel events and audio both ways', { timeout: 120000 }, async (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    const msg = `chromium not found at ${CHROMIUM} (apt-get install -y chromium)`;
    if (process.env.CI) assert.fail(`CI is set and ${msg}`);
    console.log(`\n!!!!!!!! SKIPPED: ${msg} !!!!!!!!\n`);
    t.skip(msg);
    return;
  }
  if (!fs.existsSync(BIN)) {
    const r = spawnSync('cargo', ['build', '-p', 'jarvis-fake-openai', '--bin', 'jarvis-fake-openai'], { cwd: ROOT, stdio: 'inherit' });
    assert.equal(r.status, 0, 'building jarvis-fake-openai failed');
  }
  const { chromium } = require('playwright-core');
  const { child, baseUrl } = await startFake();
  const origin = baseUrl.replace(/\/v1$/, '');
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarvis-e2e-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: FLAGS });
    const page = await context.newPage();
    page.on('console', (m) => console.log('[page]', m.text()));
    await page.goto(`${origin}/__fake/webrtc-test`);
    const result = await page.evaluate(() => window.runTest());
    console.log('browser result', JSON.stringify(result));

    assert.equal(result.status, 201);
    assert.match(result.location, /^\/v1\/realtime\/calls\/rtc_/);
    assert.equal(result.connectionState, 'connected');
    assert.equal(result.events[0], 'session.created');
    assert.ok(result.events.includes('session.updated'), 'session.update answered over the data channel');
    assert.ok(result.events.includes('response.done'), 'response.create answered over the data channel');
    assert.equal(result.sessionUpdated.instructions, 'browser test');
    assert.ok(result.packetsReceived > 0, `browser received audio packets: ${result.packetsReceived}`);

    const stats = await (await fetch(`${origin}/__fake/calls/${result.callId}`)).json();
    console.log('fake stats', JSON.stringify(stats));
    assert.equal(stats.stats.webrtc_connected, true);
    assert.equal(stats.stats.datachannel_open, true);
    assert.ok(stats.stats.datachannel_messages_in >= 2);
    assert.ok(stats.stats.audio_packets_in > 0, 'fake received mic audio packets');
    assert.ok(stats.audio_seconds_in > 0, 'incoming audio counted in seconds');
    assert.ok(stats.stats.audio_packets_out > 0, 'fake sent audio packets');

    // The incoming audio is billed: the response usage counted audio input tokens.
    const ledger = await (await fetch(`${origin}/__fake/ledger`)).json();
    assert.ok(ledger.entries.some((e) => e.call_id === result.callId && e.total_tokens > 0));
  } finally {
    if (context) await context.close();
    child.kill('SIGTERM');
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
});
