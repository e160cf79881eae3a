// Browser test: a complete kiosk conversation over real WebRTC against `jarvis serve --demo`
// (the in-process fake OpenAI answers; Chromium's fake microphone fed with silence, so the demo
// fake, which listens, hears nothing and only /say drives the turns; e2e/demo.test.js covers
// the heard conversation). The kiosk pairs, a member
// badges in, the page starts the call through our API (the browser never sees a key), the
// member "talks" (the fake's /__fake/.../say stands in for speech recognition), the transcript
// shows on screen, the scripted tool call (log_member_goal) changes the member's goals, the end
// button hangs up at the provider and the kiosk goes back to idle. Then the gym's manager opens
// the session on the dashboard: the tool call, the cost and the end reason are there.
// Run from the repo root: `node --test e2e/` (after `npm install` in e2e/).
'use strict';

const { test } = require('node:test');
const { assert, spawnSync, fs, os, path, ROOT, BIN, CHROMIUM, FLAGS, startJarvis, api, sleep } = require('./support');

// One second of digital silence (WAV, 16-bit mono 48 kHz) for Chromium's fake microphone.
function silentWav(file) {
  const rate = 48000;
  const data = rate * 2;
  const b = Buffer.alloc(44 + data);
  b.write('RIFF', 0); b.writeUInt32LE(36 + data, 4); b.write('WAVE', 8);
  b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate * 2, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
  b.write('data', 36); b.writeUInt32LE(data, 40);
  fs.writeFileSync(file, b);
  return file;
}

test('a member badges in and talks with the assistant over real WebRTC, then hangs up', { timeout: 240000 }, async (t) => {
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
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarvis-e2e-voice-'));
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
    const code = await api(origin, token, 'POST', `/api/v1/gyms/${gym.id}/kiosks/${kiosk.id}/pairing-code`);

    const silence = silentWav(path.join(dataDir, 'silence.wav'));
    const args = [...FLAGS, `--use-file-for-fake-audio-capture=${silence}`];
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args });
    const page = await context.newPage();
    page.on('console', (m) => console.log('[page]', m.text()));
    await page.goto(`${origin}/kiosk`);
    await page.waitForSelector('#pair-view:not([hidden])');
    await page.fill('#pair-form input[name=code]', code.code);
    await page.click('#pair-form button');
    await page.waitForSelector('#ready-view:not([hidden])');

    // Badge: greeting, then the call starts on its own and the data channel opens.
    await page.fill('#badge-form input[name=badge]', member.badge_id);
    await page.click('#badge-form button');
    await page.waitForFunction((first) => document.getElementById('greeting').textContent.includes(first), member.first_name);
    await page.waitForSelector('#call-view:not([hidden])');
    await page.waitForFunction(() => window.jarvisCall && window.jarvisCall.sessionId, null, { timeout: 20000 });
    await page.waitForFunction(() => ['listening', 'speaking'].includes(document.getElementById('call-indicator').dataset.state), null, { timeout: 20000 });
    const calls = (await (await fetch(`${fake}/__fake/calls`)).json()).calls;
    assert.equal(calls.length, 1, 'one call at the provider');
    const callId = calls[0];
    const stats = async () => (await (await fetch(`${fake}/__fake/calls/${callId}`)).json()).stats;

    // The member talks until the scripted tool call has noted the goal (a few turns).
    const said = "Bonjour, quels cours aujourd'hui ? <b>test</b>";
    let goals = [];
    for (let i = 0; i < 8 && !goals.some((g) => g.includes('10')); i++) {
      const r = await fetch(`${fake}/__fake/calls/${callId}/say`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: i === 0 ? said : 'Je veux courir 10 km.', seconds: 1.0 }),
      });
      assert.equal(r.status, 204);
      await sleep(1500);
      goals = (await api(origin, token, 'GET', `/api/v1/gyms/${gym.id}/members/${member.id}`)).goals || [];
    }
    assert.ok(goals.some((g) => g.includes('10')), `the tool call noted the goal: ${JSON.stringify(goals)}`);

    // Transcript on screen: the member's words as text (markup not interpreted), the assistant's replies.
    await page.waitForFunction((s) => document.getElementById('transcript').textContent.includes(s), said);
    assert.equal(await page.locator('#transcript b').count(), 0, 'transcripts are shown as text');
    const assistant = await page.locator('#transcript p.assistant').allTextContents();
    assert.ok(assistant.length >= 2 && assistant.some((x) => /Bonjour|Hello|noté|goal/.test(x)), JSON.stringify(assistant));
    // The heard latency (end of speech -> first audible assistant audio), sent with the heartbeat.
    const heard = await page.evaluate(() => window.jarvisCall.lastLatencyMs);
    // The demo fake speaks audibly (PCMU tones), so a sample is usually taken (logged only).
    console.log('heard latency (ms):', heard);
    const st = await stats();
    assert.ok(st.webrtc_connected, 'media over real WebRTC');

    // End button: hung up at the provider, goodbye screen, back to idle.
    const sessionId = await page.evaluate(() => window.jarvisCall.sessionId);
    await page.click('#end-call');
    await page.waitForFunction(() => /Au revoir|Goodbye/.test(document.getElementById('call-status').textContent));
    for (let i = 0; i < 50 && !(await stats()).ended; i++) await sleep(100);
    assert.ok((await stats()).ended, 'the server hung the call up at the provider');
    await page.waitForSelector('#badge-form:not([hidden])', { timeout: 10000 });
    await page.waitForSelector('#call-view', { state: 'hidden' });
    assert.ok(!/voice start refused/.test(logs()), 'no refused start in the server log');

    // The dashboard: the manager signs in and opens the session page.
    const dash = await context.newPage();
    await dash.goto(`${origin}/app/login?next=/app`);
    await dash.fill('input[name=email]', 'manager.paris@demo.jarvis.local');
    await dash.fill('input[name=password]', 'jarvis-demo-password');
    await Promise.all([dash.waitForURL(`${origin}/app`), dash.click('form button')]);
    const sessionUrl = `${origin}/app/gyms/${gym.id}/voice/sessions/${sessionId}`;
    // The end is recorded by the call's task right after the hang-up; reload until it shows.
    for (let i = 0; i < 50; i++) {
      await dash.goto(sessionUrl);
      if (await dash.locator('#end-reason [data-reason]').count()) break;
      await sleep(200);
    }
    assert.equal(await dash.locator('#end-reason [data-reason]').getAttribute('data-reason'), 'member_ended');
    // The tool call that noted the goal, with its arguments.
    const tool = dash.locator('tr.tool-call[data-tool=log_member_goal]');
    assert.ok((await tool.count()) >= 1, 'the tool call is listed');
    assert.match(await tool.first().textContent(), /10/);
    // The cost: a positive total, and per-turn costs on the assistant's turns.
    // Amounts are written the page's way: `$0.001234` in English, `0,001234 $` in French.
    const dollars = (text) => {
      const t = text.trim().replace(/[\u00a0\u202f]/g, ' ');
      const m = /^\$(\d[\d,]*)\.(\d{6})$/.exec(t) || /^(\d[\d ]*),(\d{6}) \$$/.exec(t);
      return m ? Number(`${m[1].replace(/[ ,]/g, '')}.${m[2]}`) : NaN;
    };
    const total = (await dash.locator('#total-cost').textContent()).trim();
    assert.ok(dollars(total) > 0, `the conversation was billed: ${total}`);
    const turnCosts = await dash.locator('tr.turn.assistant td:nth-child(5)').allTextContents();
    assert.ok(turnCosts.some((c) => dollars(c) > 0), JSON.stringify(turnCosts));
    // The member's words shown as text, never as markup.
    assert.equal(await dash.locator('#turns b').count(), 0, 'transcripts are escaped on the dashboard');
    // And the history lists it with its end reason.
    await dash.goto(`${origin}/app/gyms/${gym.id}/voice/sessions?reason=member_ended`);
    assert.equal(await dash.locator(`tr[data-session="${sessionId}"]`).count(), 1);
  } finally {
    if (context) await context.close();
    child.kill('SIGTERM');
    fs.rmSync(userDataDir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
