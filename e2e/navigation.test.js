// Browser test: the dashboard navigation at desktop and tablet widths. `jarvis serve --demo`,
// the demo manager signs in through the form and opens the gym's members page: at 1280 px the
// sidebar shows with the current area marked; at 768 px the sidebar is gone and the "Menu"
// <details> opens from the keyboard (no script) and shows the same links. Screenshots of both
// widths go to target/screenshots/ (navigation-1280.png, navigation-768.png, navigation-768-menu.png).
// Run from the repo root: `node --test e2e/navigation.test.js` (after `npm install` in e2e/).
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
const SHOTS = path.join(ROOT, 'target', 'screenshots');

// Starts `jarvis serve --demo`; resolves with its origin once it listens.
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
        try {
          const f = JSON.parse(line).fields || JSON.parse(line);
          if (String(f.message || '').includes('listening') && f.addr) {
            clearTimeout(timer);
            resolve({ child, origin: `http://${f.addr}` });
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

test('navigation: sidebar at 1280 px, keyboard menu at 768 px', { timeout: 180000 }, async (t) => {
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
  fs.mkdirSync(SHOTS, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jarvis-e2e-nav-'));
  const { child, origin } = await startJarvis(dataDir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${origin}/app/login?next=/app`);
    await page.fill('input[name=email]', 'manager.paris@demo.jarvis.local');
    await page.fill('input[name=password]', 'jarvis-demo-password');
    await Promise.all([page.waitForURL(`${origin}/app`), page.click('form button')]);
    await page.goto(`${origin}/app/gyms`);
    const gymHref = await page.locator('main a[href^="/app/gyms/"]').first().getAttribute('href');
    const members = `${origin}${gymHref}/members`;
    await page.goto(members);

    // Desktop: the sidebar, current area marked; the tablet menu is not shown.
    const sidebar = page.locator('aside.sidebar');
    assert.ok(await sidebar.isVisible(), 'sidebar at 1280 px');
    assert.ok(!(await page.locator('details.navmenu').isVisible()), 'no menu at 1280 px');
    assert.equal(await sidebar.locator('a[aria-current="page"]').getAttribute('href'), `${gymHref}/members`);
    await page.screenshot({ path: path.join(SHOTS, 'navigation-1280.png'), fullPage: true });

    // Tablet: no sidebar, a closed menu that the keyboard opens.
    await page.setViewportSize({ width: 768, height: 1024 });
    assert.ok(!(await sidebar.isVisible()), 'no sidebar at 768 px');
    const menu = page.locator('details.navmenu');
    assert.ok(await menu.isVisible(), 'menu at 768 px');
    assert.ok(!(await menu.locator(`a[href="${gymHref}/kiosks"]`).isVisible()), 'menu starts closed');
    await page.screenshot({ path: path.join(SHOTS, 'navigation-768.png'), fullPage: true });
    await menu.locator('summary').focus();
    await page.keyboard.press('Enter');
    const kiosks = menu.locator(`a[href="${gymHref}/kiosks"]`);
    assert.ok(await kiosks.isVisible(), 'menu opens from the keyboard');
    // Nothing wider than the viewport (no sideways scrolling at 768 px).
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page wider than 768 px by ${overflow}px`);
    await page.screenshot({ path: path.join(SHOTS, 'navigation-768-menu.png'), fullPage: true });
    await kiosks.focus();
    await Promise.all([page.waitForURL(`${origin}${gymHref}/kiosks`), page.keyboard.press('Enter')]);
  } finally {
    await browser.close();
    child.kill();
  }
});
