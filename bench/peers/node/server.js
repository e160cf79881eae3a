// The original's runtime, for bench/run: Node.js + fastify + pg serving the two kiosk endpoints
// with the same SQL, the same transactions and the same token check as JARVIS on PostgreSQL
// (SHA-256 of the bearer token looked up, kiosk paired, gym active; tenant context set per
// transaction for row-level security). Heartbeats are written per request, as the original did.
'use strict';
const crypto = require('node:crypto');
const fastify = require('fastify')({ logger: false });
const { Pool } = require('pg');

const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.POOL_SIZE || 10),
});

const KIOSK_COLS = 'id, gym_id, franchise_id, name, status, last_seen_at, app_version, created_at, uptime_secs, mic_status, network_quality, paired_at, pairing_expires_at';
const GYM_COLS = 'id, franchise_id, name, address, timezone, locale, status, settings, created_at, updated_at, status_reason';
const MEMBER_COLS = 'id, gym_id, franchise_id, badge_id, first_name, last_name, email, phone, birth_date, preferred_language, membership_type, membership_status, membership_end_date, goals, limitations, consent_voice, consent_transcripts, visit_count, last_visit_at, created_at, updated_at';

async function tx(scope, franchise, gym, fn) {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query({ name: 'role', text: "SELECT set_config('role', $1, true)", values: ['jarvis_app'] });
    await c.query({
      name: 'ctx',
      text: "SELECT set_config('jarvis.scope', $1, true), set_config('jarvis.franchise_id', $2, true), set_config('jarvis.gym_id', $3, true), set_config('jarvis.user_id', $4, true)",
      values: [scope, franchise, gym, ''],
    });
    const r = await fn(c);
    await c.query('COMMIT');
    return r;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}

function fail(reply, status, code) {
  return reply.code(status).send({ error: { code } });
}

// The token check: bearer token → SHA-256 → paired kiosk of an active gym.
async function device(req, reply) {
  const h = req.headers.authorization || '';
  const token = h.startsWith('Bearer ') ? h.slice(7).trim() : '';
  if (!token.startsWith('jk_')) return fail(reply, 401, 'kiosk_token_required');
  const hash = crypto.createHash('sha256').update(token).digest('hex');
  const id = await tx('platform', '', '', async (c) => {
    const k = await c.query({ name: 'kiosk', text: `SELECT ${KIOSK_COLS} FROM kiosks WHERE device_token_hash = $1`, values: [hash] });
    if (k.rowCount !== 1) return null;
    const g = await c.query({ name: 'gym', text: `SELECT ${GYM_COLS} FROM gyms WHERE id = $1`, values: [k.rows[0].gym_id] });
    if (g.rowCount !== 1) return null;
    return { kiosk: k.rows[0], gym: g.rows[0] };
  });
  if (!id || id.kiosk.status !== 'paired') return fail(reply, 401, 'invalid_kiosk_token');
  if (id.gym.status !== 'active') return fail(reply, 403, 'gym_inactive');
  req.device = id;
}

const heartbeatSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['app_version', 'uptime_secs', 'mic_status', 'network_quality'],
    properties: {
      app_version: { type: 'string', maxLength: 40 },
      uptime_secs: { type: 'integer', minimum: 0 },
      mic_status: { type: 'string', enum: ['ok', 'denied', 'missing', 'error'] },
      network_quality: { type: 'string', enum: ['good', 'fair', 'poor', 'offline'] },
    },
  },
};

fastify.post('/api/v1/kiosk/heartbeat', { schema: heartbeatSchema, preHandler: device }, async (req) => {
  const { kiosk } = req.device;
  const b = req.body;
  await tx('gym', kiosk.franchise_id, kiosk.gym_id, async (c) => {
    const u = await c.query({
      name: 'hb',
      text: 'UPDATE kiosks SET last_seen_at = $1, app_version = $2, uptime_secs = $3, mic_status = $4, network_quality = $5 WHERE id = $6 AND status = $7 AND franchise_id = $8 AND gym_id = $9',
      values: [new Date(), b.app_version.trim(), b.uptime_secs, b.mic_status, b.network_quality, kiosk.id, 'paired', kiosk.franchise_id, kiosk.gym_id],
    });
    if (u.rowCount !== 1) throw new Error('kiosk not found');
    await c.query({
      name: 'hb_fetch',
      text: `SELECT ${KIOSK_COLS} FROM kiosks WHERE gym_id = $1 AND id = $2 AND franchise_id = $3 AND gym_id = $4`,
      values: [kiosk.gym_id, kiosk.id, kiosk.franchise_id, kiosk.gym_id],
    });
  });
  return { status: 'ok', server_time: new Date().toISOString(), next_in_secs: 30 };
});

fastify.get('/api/v1/kiosk/members/by-badge/:badge', { preHandler: device }, async (req, reply) => {
  const { kiosk } = req.device;
  const badge = req.params.badge.trim();
  if (!badge || badge.length > 64) return fail(reply, 404, 'not_found');
  const f = kiosk.franchise_id;
  const g = kiosk.gym_id;
  const m = await tx('gym', f, g, async (c) => {
    const r = await c.query({
      name: 'member',
      text: `SELECT ${MEMBER_COLS} FROM members WHERE gym_id = $1 AND badge_id = $2 AND franchise_id = $3 AND gym_id = $4`,
      values: [g, badge, f, g],
    });
    return r.rows[0];
  });
  if (!m) return fail(reply, 404, 'not_found');
  const today = new Date().toISOString().slice(0, 10);
  const ended = m.membership_end_date && m.membership_end_date.toISOString().slice(0, 10) < today;
  if (m.membership_status !== 'active' || ended) return fail(reply, 403, 'membership_inactive');
  await tx('gym', f, g, async (c) => {
    await c.query({
      name: 'member_by_id',
      text: `SELECT ${MEMBER_COLS} FROM members WHERE gym_id = $1 AND id = $2 AND franchise_id = $3 AND gym_id = $4`,
      values: [g, m.id, f, g],
    });
    const now = new Date();
    const u = await c.query({
      name: 'visit',
      text: 'UPDATE members SET visit_count = visit_count + 1, last_visit_at = $1 WHERE gym_id = $2 AND id = $3 AND (last_visit_at IS NULL OR last_visit_at <= $4) AND franchise_id = $5 AND gym_id = $6',
      values: [now, g, m.id, new Date(now.getTime() - 600000), f, g],
    });
    if (u.rowCount === 1) {
      await c.query({
        name: 'visit_row',
        text: 'INSERT INTO member_visits (id, gym_id, franchise_id, member_id, kiosk_id, at) VALUES ($1, $2, $3, $4, $5, $6)',
        values: [crypto.randomUUID(), g, f, m.id, kiosk.id, now],
      });
    }
  });
  if (!m.consent_voice) return fail(reply, 403, 'consent_missing');
  return { first_name: m.first_name, preferred_language: m.preferred_language };
});

fastify.listen({ host: '127.0.0.1', port: Number(process.env.PORT || 3101) }).catch((e) => {
  console.error(e);
  process.exit(1);
});
