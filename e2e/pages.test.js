// Browser test: the main dashboard pages as a super admin sees them, in English and French.
// `jarvis serve --demo` with a fresh data dir; a super admin is made with `jarvis admin create`
// and signs in through the forms, enrolling TOTP (first sign-in) and then signing in again with
// a TOTP code. On each main page (sign-in, gym overview, members, a member, kiosks, voice,
// knowledge, team, admin, audit, usage) axe-core must find no `serious` or `critical`
// violation, and a full-page 1280 px screenshot goes to target/screenshots/<page>-<lang>.png.
// The language is switched to French from the header's link; every main page then says
// lang="fr" and shows none of the English navigation words.
// Run from the repo root: `node --test e2e/pages.test.js` (after `npm install` in e2e/).
'use strict';

const { test } = require('node:test');
const {
  assert, fs, os, path, SHOTS, startJarvis, browserReady, createSuperAdmin, totp, signIn, signInEnrolling,
  demoGyms, mainPages, CHROMIUM,
} = require('./support');

// axe-core's browser bundle, from e2e/node_modules (npm, lockfile).
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// English words of the navigation and page chrome that a French page must not show (whole
// words, case-sensitive; "Conversations" and "Administration" are the same in both languages).
const ENGLISH = ['Overview', 'Members', 'Kiosks', 'Knowledge', 'Settings', 'Team', 'Reports', 'Tools', 'Classes',
  'Sign out', 'Log out', 'Search', 'Next', 'Previous', 'Home', 'Usage', 'Audit log', 'Skip to content', 'Demo mode',
  'Welcome', 'Sign in', 'Password'];

// Runs axe on the loaded page; returns its serious and critical violations, readable.
async function axeSerious(page) {
  // The CSP (`script-src 'self'`) blocks an inline <script> (page.addScriptTag({content})), so
  // the bundle is evaluated through the DevTools protocol, which CSP does not govern; the page's
  // own policy stays on, as users get it.
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(AXE);
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.slice(0, 5).map((n) => `    ${n.target.join(' ')} ${n.failureSummary.replace(/\s+/g, ' ')}`).join('\n')}`);
}

// Opens a page (must be 200), checks lang, runs axe and takes the screenshot; returns problems.
async function visit(page, origin, name, p, lang) {
  const res = await page.goto(origin + p);
  const problems = [];
  if (res.status() !== 200) problems.push(`${name} (${p}): HTTP ${res.status()}`);
  const htmlLang = await page.getAttribute('html', 'lang');
  if (htmlLang !== lang) problems.push(`${name}: <html lang="${htmlLang}">, expected ${lang}`);
  for (const v of await axeSerious(page)) problems.push(`${name}-${lang} (${p}): ${v}`);
  if (lang === 'fr') {
    const text = await page.locator('body').innerText();
    const english = ENGLISH.filter((w) => new RegExp(`\\b${w}\\b`).test(text));
    if (english.length) problems.push(`${name}-fr (${p}): English words ${english.join(', ')}`);
  }
  await page.screenshot({ path: path.join(SHOTS, `${name}-${lang}.png`), fullPage: true });
  return problems;
}

test('main pages: TOTP sign-in, axe (no serious violations), screenshots, switch to French', { timeout: 240000 }, async (t) => {
  if (!browserReady(t)) return;
  const { chromium } = require('playwright-core');
  fs.mkdirSync(SHOTS, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarvis-e2e-pages-'));
  const { child, origin } = await startJarvis(dataDir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const viewport = { width: 1280, height: 900 };
  try {
    const problems = [];
    // The sign-in page, signed out, in both languages.
    const anon = await browser.newPage({ viewport });
    problems.push(...await visit(anon, origin, 'signin', '/app/login?lang=en', 'en'));
    problems.push(...await visit(anon, origin, 'signin', '/app/login?lang=fr', 'fr'));
    // The kiosk's pairing screen (unpaired; the page itself is French, the member's language
    // comes with the badge).
    problems.push(...await visit(anon, origin, 'kiosk', '/kiosk', 'fr'));
    await anon.close();

    // A super admin's first sign-in enrols TOTP; a second sign-in asks for a code.
    const who = createSuperAdmin(dataDir);
    const first = await browser.newContext({ viewport });
    const secret = await signInEnrolling(await first.newPage(), origin, who);
    await first.close();
    const ctx = await browser.newContext({ viewport });
    const page = await ctx.newPage();
    const at = await signIn(page, origin, who.email, who.password);
    assert.match(at, /\/app\/mfa\?/, `an enrolled super admin is asked for a code, got ${at}`);
    const wrong = totp(secret, 10);
    await page.fill('input[name=code]', wrong);
    await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
    assert.ok(await page.locator('.error[role=alert]').isVisible(), 'a wrong code is refused with an error');
    // The next step's code: enrolment used this step, and a step is accepted only once.
    await page.goto(`${origin}/app/mfa?next=/app`);
    await page.fill('input[name=code]', totp(secret, 1));
    await Promise.all([page.waitForURL(`${origin}/app`), page.click('form button[type=submit]')]);

    const { gyms, member } = await demoGyms(page, origin);
    const pages = mainPages(gyms[0], member);
    await page.goto(`${origin}/app/language?lang=en&next=/app`);
    for (const [name, p] of pages) problems.push(...await visit(page, origin, name, p, 'en'));

    // Switch to French from the header of the gym overview, as a user would.
    const overview = gyms[0];
    await page.goto(origin + overview);
    await Promise.all([page.waitForNavigation(), page.click('header nav.langs a[hreflang=fr]')]);
    assert.equal(new URL(page.url()).pathname, overview, 'the switch comes back to the same page');
    for (const [name, p] of pages) {
      problems.push(...await visit(page, origin, name, p, 'fr'));
    }
    assert.deepEqual(problems, [], `\n${problems.join('\n')}`);
  } finally {
    await browser.close();
    child.kill();
  }
});
