// Browser test: the offline demo as a newcomer sees it. `jarvis serve --demo` (no key: the
// built-in fake OpenAI answers), a member badges in at the demo kiosk, and Chromium's fake
// microphone (a beep every 500 ms) is all the "speech" there is: nobody calls the fake's
// /__fake/.../say. The fake hears the beeps (PCMU + energy VAD), so the scripted bilingual
// conversation runs by itself: the member's lines and the assistant's answers appear on
// screen, the assistant is audible (inbound audio energy > 0), the kiosk's indicator follows
// the assistant's voice, the tool call notes a goal, and the assistant ends the call politely.
// Run from the repo root: `node --test e2e/` (after `npm install` in e2e/).
'use strict';

const { test } = require('node:test');
const { assert, spawnSync, fs, os, path, ROOT, BIN, CHROMIUM, FLAGS, startJarvis, api, sleep } = require('./support');

// Test-only instrumentation, injected before the kiosk's script: keeps the page's peer
// connections (for getStats) and the history of the speaking indicator.
function instrument() {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
    }
  };
  window.__states = [];
  document.addEventListener('DOMContentLoaded', () => {
    const el = document.getElementById('call-indicator');
    if (!el) return;
    new MutationObserver(() => window.__states.push(el.dataset.state))
      .observe(el, { attributes: true, attributeFilter: ['data-state'] });
  });
}

// Inbound audio of the call as Chromium measured it.
async function inboundAudio(page) {
  return page.evaluate(async () => {
    const pc = window.__pcs[window.__pcs.length - 1];
    if (!pc) return null;
    const stats = await pc.getStats();
    let out = null;
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        out = { packets: s.packetsReceived, energy: s.totalAudioEnergy || 0, level: s.audioLevel || 0 };
      }
    });
    return out;
  });
}

test('demo: a member badges in and the scripted conversation runs on the fake microphone alone', { timeout: 240000 }, async (t) => {
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
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarvis-e2e-demo-'));
  const { child, origin, fake, logs } = await startJarvis(dataDir);
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
    const gym = (await api(origin, token, 'GET', '/api/v1/gyms')).items[0];
    const kiosk = (await api(origin, token, 'GET', `/api/v1/gyms/${gym.id}/kiosks`)).items[0];
    const active = await api(origin, token, 'GET', `/api/v1/gyms/${gym.id}/members?status=active&limit=200`);
    const member = active.items.find((m) => m.consent_voice);
    assert.ok(member, 'the demo gym has an active member with voice consent');
    const goalsBefore = member.goals || [];
    const code = await api(origin, token, 'POST', `/api/v1/gyms/${gym.id}/kiosks/${kiosk.id}/pairing-code`);

    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: FLAGS });
    await context.addInitScript(instrument);
    const page = await context.newPage();
    page.on('console', (m) => console.log('[page]', m.text()));
    await page.goto(`${origin}/kiosk`);
    await page.waitForSelector('#pair-view:not([hidden])');
    await page.fill('#pair-form input[name=code]', code.code);
    await page.click('#pair-form button');
    await page.waitForSelector('#ready-view:not([hidden])');

    // Badge, and from here on nothing but the fake microphone.
    await page.fill('#badge-form input[name=badge]', member.badge_id);
    await page.click('#badge-form button');
    await page.waitForSelector('#call-view:not([hidden])');
    await page.waitForFunction(() => window.jarvisCall && window.jarvisCall.sessionId, null, { timeout: 20000 });
    const calls = (await (await fetch(`${fake}/__fake/calls`)).json()).calls;
    assert.equal(calls.length, 1, 'one call at the provider');
    const callId = calls[0];

    // The member's first line (heard, transcribed by the script) and the assistant's answer.
    const fr = member.preferred_language === 'fr';
    const firstLine = fr ? 'Bonjour ! Quels cours' : 'Hi! What classes';
    await page.waitForFunction((s) => [...document.querySelectorAll('#transcript p.member')].some((p) => p.textContent.includes(s)),
      firstLine, { timeout: 60000 });
    await page.waitForFunction(() => document.querySelectorAll('#transcript p.assistant').length >= 1, null, { timeout: 30000 });

    // Audible: Chromium measured energy in the assistant's audio (the Opus-silence fake gave 0).
    let audio = null;
    for (let i = 0; i < 100; i++) {
      audio = await inboundAudio(page);
      if (audio && audio.energy > 0) break;
      await sleep(100);
    }
    console.log('inbound audio:', JSON.stringify(audio));
    assert.ok(audio && audio.packets > 0, `audio packets received: ${JSON.stringify(audio)}`);
    assert.ok(audio.energy > 0, `the assistant is audible (totalAudioEnergy > 0): ${JSON.stringify(audio)}`);

    // The scripted tool call (log_member_goal) changes the member's goals.
    let goals = [];
    for (let i = 0; i < 120 && !goals.some((g) => g.includes('10') && !goalsBefore.includes(g)); i++) {
      await sleep(500);
      goals = (await api(origin, token, 'GET', `/api/v1/gyms/${gym.id}/members/${member.id}`)).goals || [];
    }
    assert.ok(goals.some((g) => g.includes('10')), `the tool call noted the goal: ${JSON.stringify(goals)}`);

    // The assistant said goodbye and ended the call; the kiosk goes back to idle by itself.
    await page.waitForSelector('#badge-form:not([hidden])', { timeout: 60000 });
    const status = await page.evaluate(() => document.getElementById('call-status').textContent);
    assert.match(status, /Au revoir|Goodbye/, 'a clean end, not a lost connection');
    const transcript = await page.evaluate(() => [...document.querySelectorAll('#transcript p')].map((p) => `${p.className}: ${p.textContent}`));
    console.log(transcript.join('\n'));
    const members = transcript.filter((l) => l.startsWith('member:'));
    const assistant = transcript.filter((l) => l.startsWith('assistant:'));
    assert.ok(members.length >= 3, `three member lines heard: ${JSON.stringify(transcript)}`);
    // The line built from the class-schedule tool's answer (which classes depends on the weekday).
    assert.ok(assistant.some((l) => /(Aujourd'hui :|Today:) \S/.test(l)), JSON.stringify(assistant));
    assert.ok(assistant.some((l) => /bientôt|see you soon/.test(l)), `a polite goodbye: ${JSON.stringify(assistant)}`);

    const st = (await (await fetch(`${fake}/__fake/calls/${callId}`)).json()).stats;
    assert.ok(st.live_audio && st.utterances_heard >= 3 && st.audio_ms_spoken > 0, JSON.stringify(st));
    assert.ok(st.ended, 'the call was hung up at the provider');
    // Every heard utterance was transcribed and billed, and so was every response.
    const ledger = await (await fetch(`${fake}/__fake/ledger`)).json();
    const mine = ledger.entries.filter((e) => e.call_id === callId);
    assert.ok(mine.filter((e) => e.kind === 'Transcription').length >= 3, JSON.stringify(mine));
    assert.ok(mine.filter((e) => e.kind === 'RealtimeResponse').length >= 5, JSON.stringify(mine));
    assert.ok(ledger.total_pico > 0, 'the conversation has a cost');

    // The kiosk's indicator followed the assistant's voice, and the heard latency was measured.
    const states = await page.evaluate(() => window.__states);
    assert.ok(states.includes('speaking') && states.includes('listening') && states.includes('thinking'), JSON.stringify(states));
    const heard = await page.evaluate(() => window.jarvisCall && window.jarvisCall.lastLatencyMs);
    console.log('heard latency (ms):', heard);
    assert.ok(typeof heard === 'number' && heard > 0, `heard latency measured: ${heard}`);
    assert.ok(!/voice start refused/.test(logs()), 'no refused start in the server log');
  } finally {
    if (context) await context.close();
    child.kill('SIGTERM');
    fs.rmSync(userDataDir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
