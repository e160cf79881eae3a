// Browser test: every dashboard page as a super admin sees it, in English and French.
// `jarvis serve --demo` with a fresh data dir; a super admin is made with `jarvis admin create`
// and signs in through the forms, enrolling TOTP (first sign-in) and then signing in again with
// a TOTP code. On each page — sign-in, the kiosk's pairing screen, the public /demo page, the
// not-found page, the main pages (home, gym overview, members, a member, kiosks, voice,
// knowledge, team, admin, audit, usage) and the rest (gyms, classes and a class, tools, reports,
// leads, new knowledge entry, churn, CSV import, conversations and one conversation,
// simulations and one run, analysis fields, costs, jobs, errors, Web Vitals, security, model
// prices), and last week's report of the French gym (its own page, French text) — axe-core must find no `serious` or `critical` violation, and a full-page 1280 px
// screenshot goes to target/screenshots/<page>-<lang>.png. The language is switched to French
// from the header's link; every page then says lang="fr" and shows none of the English
// navigation words. In the English pass each page's cumulative layout shift after load (CLS,
// from `layout-shift` entries) must stay below 0.1; a shift made on purpose shows the
// measurement sees one.
// Run from the repo root: `node --test e2e/pages.test.js` (after `npm install` in e2e/).
'use strict';

const { test } = require('node:test');
const {
  assert, fs, os, path, SHOTS, startJarvis, browserReady, createSuperAdmin, totp, signIn, signInEnrolling,
  demoGyms, mainPages, morePages, axeSerious, layoutShift, managerToken, apiConversation, sleep, CHROMIUM,
} = require('./support');

// English words of the navigation and page chrome that a French page must not show (whole
// words, case-sensitive; "Conversations" and "Administration" are the same in both languages).
const ENGLISH = ['Overview', 'Members', 'Kiosks', 'Knowledge', 'Settings', 'Team', 'Reports', 'Tools', 'Classes',
  'Sign out', 'Log out', 'Search', 'Next', 'Previous', 'Home', 'Usage', 'Audit log', 'Skip to content', 'Demo mode',
  'Welcome', 'Sign in', 'Password', 'Status', 'Name', 'Save', 'Delete', 'Cancel', 'Open', 'Cost', 'Back',
  'Filter', 'Jobs', 'Errors', 'Security', 'Leads', 'Hang up', 'Talk to JARVIS', 'self-hosted', 'AI voice companion'];

// Web Vitals' "good" CLS threshold.
const CLS_MAX = 0.1;

// Opens a page (HTTP `status`, 200 by default), checks lang, runs axe, measures the layout
// shift after load (`cls`), takes the screenshot; returns problems. `shifts` collects
// [name, CLS] when given.
async function visit(page, origin, name, p, lang, { status = 200, shifts = null } = {}) {
  const res = await page.goto(origin + p);
  const problems = [];
  if (res.status() !== status) problems.push(`${name} (${p}): HTTP ${res.status()}, expected ${status}`);
  if (shifts) {
    const cls = await layoutShift(page);
    shifts.push([name, Math.round(cls * 1000) / 1000]);
    if (cls >= CLS_MAX) problems.push(`${name}-${lang} (${p}): layout shift ${cls.toFixed(3)} >= ${CLS_MAX}`);
  }
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

test('every page: TOTP sign-in, axe (no serious violations), no layout shift, screenshots, switch to French', { timeout: 420000 }, async (t) => {
  if (!browserReady(t)) return;
  const { chromium } = require('playwright-core');
  fs.mkdirSync(SHOTS, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarvis-e2e-pages-'));
  const { child, origin, fake } = await startJarvis(dataDir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const viewport = { width: 1280, height: 900 };
  const shifts = [];
  try {
    const problems = [];
    // Signed out: the sign-in page, the public demo page and the not-found page in both
    // languages (the not-found page follows the language the visitor last chose), the kiosk's
    // pairing screen (French; the member's language comes with the badge).
    const anon = await browser.newPage({ viewport });
    problems.push(...await visit(anon, origin, 'signin', '/app/login?lang=en', 'en', { shifts }));
    problems.push(...await visit(anon, origin, 'not-found', '/no/such/page', 'en', { status: 404, shifts }));
    problems.push(...await visit(anon, origin, 'demo', '/demo?lang=en', 'en', { shifts }));
    problems.push(...await visit(anon, origin, 'signin', '/app/login?lang=fr', 'fr'));
    problems.push(...await visit(anon, origin, 'not-found', '/no/such/page', 'fr', { status: 404 }));
    problems.push(...await visit(anon, origin, 'demo', '/demo?lang=fr', 'fr'));
    problems.push(...await visit(anon, origin, 'kiosk', '/kiosk', 'fr'));

    // The CLS measurement sees a real shift: the content pushed down by a block inserted after load.
    await anon.goto(`${origin}/app/login?lang=en`);
    await layoutShift(anon, 0);
    await anon.evaluate(() => new Promise((r) => requestAnimationFrame(() => {
      const d = document.createElement('div');
      d.style.height = '400px';
      document.body.prepend(d);
      r();
    })));
    const made = await layoutShift(anon);
    assert.ok(made >= CLS_MAX, `a 400 px shift measures ${made}, expected >= ${CLS_MAX}`);
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
    // The pages that need data the demo seed lacks: one ended conversation (through the kiosk
    // API), one simulation run (the page's Run button; the job runs it against the fake) and a
    // class of the seeded timetable, all in the Paris gym.
    const token = await managerToken(origin);
    const paris = (await (await fetch(`${origin}/api/v1/gyms`, { headers: { authorization: `Bearer ${token}` } })).json()).items[0];
    const gym = `/app/gyms/${paris.id}`;
    const session = await apiConversation(origin, fake, token, paris.id);
    await page.goto(`${origin}${gym}/voice/simulations`);
    await Promise.all([page.waitForNavigation(), page.click(`form[action$="/voice/simulations/run"] button`)]);
    let run = null;
    for (let i = 0; i < 60 && !run; i++) {
      await page.goto(`${origin}${gym}/voice/simulations`);
      run = await page.locator('#runs tr[data-run]:not([data-status=queued]):not([data-status=running]) a').first().getAttribute('href', { timeout: 1000 }).catch(() => null);
      if (!run) await sleep(500);
    }
    assert.ok(run, 'the simulation run finished');
    // Last week's report: the demo seed dates its gyms back to the start of its history, so the
    // `reports.weekly` job's catch-up run at start (the latest Monday 06:00 UTC slot) builds one
    // for each demo gym. The Paris gym's report is in French, whatever the reader's language.
    let report = null;
    for (let i = 0; i < 60 && !report; i++) {
      await page.goto(`${origin}${gym}/reports`);
      report = await page.locator('#reports tr[data-report] a').first().getAttribute('href', { timeout: 1000 }).catch(() => null);
      if (!report) await sleep(500);
    }
    assert.ok(report, 'the weekly job reported last week on the demo gym');
    assert.equal(paris.locale, 'fr', 'the manager\'s gym is the French one');
    await page.goto(`${origin}${gym}/classes`);
    const klass = await page.locator(`main a[href^="${gym}/classes/"]`).first().getAttribute('href');
    const pages = [...mainPages(gyms[0], member), ...morePages(gym, [
      ['class', klass], ['session', `${gym}/voice/sessions/${session}`], ['simulation-run', run],
    ])];
    await page.goto(`${origin}/app/language?lang=en&next=/app`);
    for (const [name, p] of pages) problems.push(...await visit(page, origin, name, p, 'en', { shifts }));
    console.log(`layout shift after load (CLS) per page: ${shifts.map(([n, v]) => `${n} ${v}`).join(', ')}`);

    // Switch to French from the header of the gym overview, as a user would.
    const overview = gyms[0];
    await page.goto(origin + overview);
    await Promise.all([page.waitForNavigation(), page.click('header nav.langs a[hreflang=fr]')]);
    assert.equal(new URL(page.url()).pathname, overview, 'the switch comes back to the same page');
    for (const [name, p] of pages) {
      problems.push(...await visit(page, origin, name, p, 'fr'));
    }
    // The report's own page: a standalone document in its gym's language (French here).
    problems.push(...await visit(page, origin, 'report', report, 'fr', { shifts }));
    const reportText = await page.locator('body').innerText();
    for (const fr of ['Rapport hebdomadaire', 'Semaine', 'Membres distincts', 'Coûts IA']) {
      if (!reportText.includes(fr)) problems.push(`report-fr (${report}): no "${fr}"`);
    }
    assert.deepEqual(problems, [], `\n${problems.join('\n')}`);
  } finally {
    await browser.close();
    child.kill();
  }
});
