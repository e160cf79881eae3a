// Shared by the browser tests that run a whole `jarvis serve --demo` (demo.test.js,
// voice.test.js): where the binary and Chromium are, the flags for a call with a fake
// microphone, starting the server (resolving once it listens and its demo fake is known), the
// JSON API with a bearer token, and sleep. Not a test file itself (`node --test` only runs
// `*.test.js`).
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
function startJarvis(dataDir) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, JARVIS_DATA_DIR: dataDir, JARVIS_LOG_FORMAT: 'json', JARVIS_LOG_LEVEL: 'info' };
    for (const k of Object.keys(env)) {
      if (k.startsWith('JARVIS_') && !['JARVIS_DATA_DIR', 'JARVIS_LOG_FORMAT', 'JARVIS_LOG_LEVEL'].includes(k)) delete env[k];
    }
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

module.exports = { assert, spawnSync, fs, os, path, ROOT, BIN, CHROMIUM, FLAGS, startJarvis, api, sleep };
