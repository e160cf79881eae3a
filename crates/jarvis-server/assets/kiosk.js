// The kiosk page: exchanges a pairing code for the device token (kept in localStorage, never
// shown), sends a heartbeat every 30 s, reads the kiosk configuration and greets scanned badges.
// A revoked or unknown token sends the kiosk back to the pairing screen.
(function () {
  var KEY = 'jarvis_device_token';
  var started = Date.now();
  var lang = 'fr';
  // What the kiosk says when a scan is refused (the server sends only a code, never the name).
  var REFUSALS = {
    membership_inactive: { fr: 'Abonnement inactif : merci de passer à l\'accueil.', en: 'Membership not active: please see the front desk.' },
    consent_missing: { fr: 'Les conversations vocales ne sont pas activées pour ce badge : l\'accueil peut les activer.', en: 'Voice conversations are not enabled for this badge: the front desk can enable them.' },
    not_found: { fr: 'Badge inconnu.', en: 'Unknown badge.' },
    rate_limited: { fr: 'Trop de passages, patientez un instant.', en: 'Too many scans, please wait a moment.' }
  };
  function $(id) { return document.getElementById(id); }
  function token() { return localStorage.getItem(KEY); }
  function api(method, path, body) {
    var h = { 'authorization': 'Bearer ' + token() };
    if (body) h['content-type'] = 'application/json';
    return fetch(path, { method: method, headers: h, body: body ? JSON.stringify(body) : undefined })
      .then(function (r) {
        if (r.status === 401) { localStorage.removeItem(KEY); show(); throw new Error('unpaired'); }
        return r.json().then(function (j) {
          if (!r.ok) { var e = new Error((j.error && j.error.message) || r.status); e.code = j.error && j.error.code; throw e; }
          return j;
        });
      });
  }
  function mic() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return Promise.resolve('missing');
    return navigator.mediaDevices.enumerateDevices().then(function (d) {
      return d.some(function (x) { return x.kind === 'audioinput'; }) ? 'ok' : 'missing';
    }).catch(function () { return 'error'; });
  }
  function heartbeat() {
    if (!token()) return;
    mic().then(function (m) {
      return api('POST', '/api/v1/kiosk/heartbeat', {
        app_version: 'web-1', uptime_secs: Math.floor((Date.now() - started) / 1000),
        mic_status: m, network_quality: navigator.onLine ? 'good' : 'offline'
      });
    }).catch(function (e) { $('kiosk-error').textContent = String(e.message || e); });
  }
  function show() {
    var paired = !!token();
    $('pair-view').hidden = paired;
    $('ready-view').hidden = !paired;
    if (paired) {
      api('GET', '/api/v1/kiosk/config').then(function (c) {
        $('gym-name').textContent = c.gym_name;
        $('kiosk-name').textContent = c.kiosk_name + ' — ' + c.persona.name;
        document.documentElement.lang = c.locale;
        lang = c.locale === 'en' ? 'en' : 'fr';
      }).catch(function () {});
      heartbeat();
    }
  }
  $('pair-form').addEventListener('submit', function (e) {
    e.preventDefault();
    fetch('/api/v1/kiosk/pair', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: e.target.elements.code.value }) })
      .then(function (r) { return r.json().then(function (j) { return [r, j]; }); })
      .then(function (rj) {
        if (!rj[0].ok) { $('pair-error').textContent = rj[1].error.message; return; }
        localStorage.setItem(KEY, rj[1].device_token);
        e.target.reset();
        show();
      });
  });
  $('badge-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var b = e.target.elements.badge.value.trim();
    e.target.reset();
    api('GET', '/api/v1/kiosk/members/by-badge/' + encodeURIComponent(b)).then(function (m) {
      $('greeting').textContent = (m.preferred_language === 'fr' ? 'Bonjour ' : 'Hello ') + m.first_name + ' !';
      $('kiosk-error').textContent = '';
    }).catch(function (err) {
      $('greeting').textContent = '';
      var known = err.code && REFUSALS[err.code];
      $('kiosk-error').textContent = known ? known[lang] : String(err.message || err);
    });
  });
  setInterval(heartbeat, 30000);
  show();
})();
