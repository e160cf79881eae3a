// Browser test: the public demo page (/demo) as a visitor sees it. `jarvis serve --demo` (the
// page on, the built-in fake OpenAI answering) with a limit of one demo call per address and
// hour. A visitor whose browser asks for French opens /demo (no account, no badge), presses
// the talk button, and Chromium's fake microphone (a beep every 500 ms) is all the speech there
// is: the demo fake hears it and its scripted conversation runs, the visitor's lines and the
// assistant's answers appear, and the assistant's goodbye ends the call. A second call from
// the same address is refused, and the page says so in French. A super admin then finds the
// call on the admin page counted as a demo conversation, apart from members'.
// Run from the repo root: `node --test e2e/demo-page.test.js` (after `npm install` in e2e/).
'use strict';

const { test } = require('node:test');
const {
  assert, fs, os, path, SHOTS, CHROMIUM, FLAGS, startJarvis, browserReady, createSuperAdmin, signInEnrolling,
  axeSerious,
} = require('./support');

test('demo page: a visitor talks to JARVIS without a badge, then meets the hourly limit in French', { timeout: 240000 }, async (t) => {
  if (!browserReady(t)) return;
  const { chromium } = require('playwright-core');
  fs.mkdirSync(SHOTS, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarvis-e2e-demo-page-'));
  const { child, origin, fake } = await startJarvis(dataDir, { JARVIS_DEMO_SESSIONS_PER_HOUR: '1', JARVIS_DEMO_MAX_SECS: '90' });
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarvis-e2e-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM, headless: true, args: FLAGS, locale: 'fr-FR', viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    page.on('console', (m) => console.log('[page]', m.text()));
    // No ?lang=: the page follows the browser's Accept-Language.
    const res = await page.goto(`${origin}/demo`);
    assert.equal(res.status(), 200);
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
    assert.match(await page.locator('#demo h1').textContent(), /Parlez à JARVIS/);
    assert.match(await page.locator('#demo').textContent(), /1 conversations par heure/, 'the configured limit is stated');

    // The conversation: the visitor's lines (heard from the fake microphone) and the answers.
    await page.click('#demo-talk');
    await page.waitForFunction(() => document.querySelectorAll('#demo-transcript p.member').length >= 1, null, { timeout: 60000 });
    await page.waitForFunction(() => document.querySelectorAll('#demo-transcript p.assistant').length >= 1, null, { timeout: 30000 });
    const calls = (await (await fetch(`${fake}/__fake/calls`)).json()).calls;
    assert.equal(calls.length, 1, 'one call at the provider');
    // The scripted goodbye ends it: the talk button is back with the end message.
    await page.waitForSelector('#demo-talk:not([hidden])', { timeout: 90000 });
    assert.equal((await page.locator('#demo-status').textContent()).trim(), 'Conversation terminée.');
    assert.equal((await page.locator('#demo-error').textContent()).trim(), '', 'a clean end, not an error');
    const transcript = await page.locator('#demo-transcript p').evaluateAll((ps) => ps.map((p) => `${p.className}: ${p.textContent}`));
    console.log(transcript.join('\n'));
    assert.ok(transcript.filter((l) => l.startsWith('member:')).length >= 2, JSON.stringify(transcript));
    assert.ok(transcript.some((l) => /^assistant: .*(bientôt|see you soon)/.test(l)), `a polite goodbye: ${JSON.stringify(transcript)}`);
    const st = (await (await fetch(`${fake}/__fake/calls/${calls[0]}`)).json()).stats;
    assert.ok(st.webrtc_connected && st.utterances_heard >= 2, JSON.stringify(st));
    assert.ok(st.ended, 'the call was hung up at the provider');
    // The page with its transcript passes axe too.
    assert.deepEqual(await axeSerious(page), []);
    await page.screenshot({ path: path.join(SHOTS, 'demo-call-fr.png'), fullPage: true });

    // Over the limit: refused before any call, with the page's French message.
    await page.click('#demo-talk');
    await page.waitForFunction(() => document.getElementById('demo-error').textContent.trim() !== '', null, { timeout: 20000 });
    assert.equal((await page.locator('#demo-error').textContent()).trim(),
      'Vous avez atteint la limite de conversations de démo pour cette heure. Réessayez plus tard.');
    assert.ok(await page.locator('#demo-talk').isVisible(), 'the talk button is back');
    assert.equal((await (await fetch(`${fake}/__fake/calls`)).json()).calls.length, 1, 'no second call at the provider');
    await page.screenshot({ path: path.join(SHOTS, 'demo-limit-fr.png'), fullPage: true });

    // Counted apart: the admin page's demo block counts this month's one demo conversation.
    const admin = await browser(chromium);
    try {
      const apage = await admin.newPage({ viewport: { width: 1280, height: 900 } });
      await signInEnrolling(apage, origin, createSuperAdmin(dataDir));
      await apage.goto(`${origin}/app/language?lang=en&next=/app/ops`);
      assert.equal(await apage.locator('#demo-month [data-calls]').getAttribute('data-calls'), '1', await apage.locator('#demo-calls').innerText());
      assert.match(await apage.locator('#demo-on').innerText(), /on/);
      await apage.locator('#demo-calls').screenshot({ path: path.join(SHOTS, 'admin-demo-en.png') });
    } finally {
      await admin.close();
    }
  } finally {
    if (context) await context.close();
    child.kill('SIGTERM');
    fs.rmSync(userDataDir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

// A second browser without the fake microphone, for the dashboard.
function browser(chromium) {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
}
