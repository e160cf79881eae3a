// The kiosk page: exchanges a pairing code for the device token (kept in localStorage, never
// shown), sends a heartbeat every 30 s, reads the kiosk configuration and greets scanned badges.
// A revoked or unknown token sends the kiosk back to the pairing screen.
// After a greeted badge it starts a voice call: microphone (echo cancellation, noise suppression,
// auto gain), WebRTC offer posted to our API (the server relays it with its key), the answer
// applied, the assistant's audio played, the live transcript read from the `oai-events` data
// channel. The heard latency (end of the member's speech -> first assistant audio, measured on
// the audio that reaches the speaker) goes out with the next heartbeat.
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
  // What the kiosk says when a call cannot start or stops (the server sends a code).
  var CALL_TEXT = {
    capacity_reached: { fr: 'Toutes les lignes sont occupées. Réessayez dans un instant.', en: 'All lines are busy. Please try again in a moment.' },
    budget_exhausted: { fr: 'L\'assistant vocal est indisponible ce mois-ci. L\'accueil peut vous aider.', en: 'The voice assistant is unavailable this month. The front desk can help.' },
    member_not_found: { fr: 'Badge inconnu.', en: 'Unknown badge.' },
    membership_inactive: { fr: 'Abonnement inactif : merci de passer à l\'accueil.', en: 'Membership not active: please see the front desk.' },
    consent_missing: { fr: 'Les conversations vocales ne sont pas activées pour ce badge : l\'accueil peut les activer.', en: 'Voice conversations are not enabled for this badge: the front desk can enable them.' },
    voice_disabled: { fr: 'L\'assistant vocal n\'est pas activé dans cette salle.', en: 'The voice assistant is not enabled in this gym.' },
    gym_inactive: { fr: 'Cette borne est en pause. L\'accueil peut vous aider.', en: 'This kiosk is paused. The front desk can help.' },
    gym_misconfigured: { fr: 'L\'assistant vocal est en maintenance. L\'accueil peut vous aider.', en: 'The voice assistant is under maintenance. The front desk can help.' },
    provider_unavailable: { fr: 'L\'assistant vocal ne répond pas. Réessayez dans un instant.', en: 'The voice assistant is not answering. Please try again in a moment.' },
    rate_limited: { fr: 'Trop d\'appels, patientez une minute.', en: 'Too many calls, please wait a minute.' },
    microphone: { fr: 'Micro indisponible. Vérifiez qu\'il est branché et autorisé.', en: 'Microphone unavailable. Check that it is plugged in and allowed.' },
    network: { fr: 'Connexion perdue. L\'appel est terminé.', en: 'Connection lost. The call has ended.' },
    failed: { fr: 'L\'appel n\'a pas pu démarrer. Réessayez.', en: 'The call could not start. Please try again.' },
    ended: { fr: 'Au revoir et bonne séance !', en: 'Goodbye, have a great workout!' },
    connecting: { fr: 'Connexion…', en: 'Connecting…' },
    listening: { fr: 'Je vous écoute…', en: 'I\'m listening…' },
    thinking: { fr: 'Je réfléchis…', en: 'Thinking…' },
    speaking: { fr: 'Je parle… (vous pouvez m\'interrompre)', en: 'Speaking… (you can interrupt me)' },
    end: { fr: 'Terminer', en: 'End' }
  };
  function t(key) { var x = CALL_TEXT[key]; return x ? x[lang] : key; }
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
        mic_status: m, network_quality: navigator.onLine ? 'good' : 'offline',
        voice_latency_ms: takeLatency()
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
      startCall(b);
    }).catch(function (err) {
      $('greeting').textContent = '';
      var known = err.code && REFUSALS[err.code];
      $('kiosk-error').textContent = known ? known[lang] : String(err.message || err);
    });
  });

  // ---- The voice call ----
  var call = null;
  var latencies = [];
  // Median of the latencies heard since the last heartbeat (null when none), then forgets them.
  function takeLatency() {
    if (!latencies.length) return null;
    var s = latencies.slice().sort(function (a, b) { return a - b; });
    latencies = [];
    return Math.min(60000, Math.round(s[Math.floor(s.length / 2)]));
  }
  function indicator(state) {
    var el = $('call-indicator');
    el.dataset.state = state;
    el.textContent = t(state);
  }
  function line(who, text, id) {
    var p = id ? document.getElementById(id) : null;
    if (!p) {
      p = document.createElement('p');
      p.className = who;
      if (id) p.id = id;
      $('transcript').appendChild(p);
    }
    // textContent: transcripts are shown as text, never as markup.
    p.textContent = text;
    $('transcript').scrollTop = $('transcript').scrollHeight;
  }
  function finish(messageKey, deleteIt) {
    var c = call;
    if (!c || c.done) return;
    c.done = true;
    clearTimeout(c.maxTimer);
    clearInterval(c.meter);
    if (deleteIt && c.sessionId) {
      api('DELETE', '/api/v1/kiosk/voice/sessions/' + encodeURIComponent(c.sessionId)).catch(function () {});
    }
    if (c.stream) c.stream.getTracks().forEach(function (tr) { tr.stop(); });
    if (c.pc) c.pc.close();
    if (c.audioCtx) c.audioCtx.close();
    $('call-status').textContent = t(messageKey);
    $('end-call').hidden = true;
    indicator('ended');
    $('call-indicator').textContent = '';
    // Back to the idle screen after a moment.
    setTimeout(function () {
      if (call !== c) return;
      call = null;
      $('call-view').hidden = true;
      $('badge-form').hidden = false;
      $('greeting').textContent = '';
    }, messageKey === 'ended' ? 4000 : 8000);
  }
  // Watches the assistant's audio as it reaches the speaker: the first loud frame after the
  // member stopped speaking ends one latency sample, and the speaking indicator follows what
  // is actually heard (the transcript arrives ahead of the audio).
  function meterAudio(c, stream) {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    c.audioCtx = new Ctx();
    var an = c.audioCtx.createAnalyser();
    an.fftSize = 512;
    c.audioCtx.createMediaStreamSource(stream).connect(an);
    var buf = new Float32Array(an.fftSize);
    c.meter = setInterval(function () {
      an.getFloatTimeDomainData(buf);
      var sum = 0;
      for (var i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
      var now = performance.now();
      if (Math.sqrt(sum / buf.length) > 0.01) {
        c.heardAt = now;
        if (!c.audible) { c.audible = true; indicator('speaking'); }
        if (c.speechStoppedAt !== null) {
          latencies.push(now - c.speechStoppedAt);
          if (window.jarvisCall) window.jarvisCall.lastLatencyMs = latencies[latencies.length - 1];
          c.speechStoppedAt = null;
        }
      } else if (c.audible && now - c.heardAt > 400) {
        // Quiet for a moment: the assistant finished speaking.
        c.audible = false;
        if ($('call-indicator').dataset.state === 'speaking') indicator('listening');
      }
    }, 10);
  }
  function onEvent(c, ev) {
    switch (ev.type) {
      case 'input_audio_buffer.speech_started':
        // Barge-in: the provider cuts its own audio; the kiosk just shows it listens.
        indicator('listening');
        break;
      case 'input_audio_buffer.speech_stopped':
        c.speechStoppedAt = performance.now();
        indicator('thinking');
        break;
      case 'conversation.item.input_audio_transcription.completed':
        line('member', ev.transcript || '', 'u-' + ev.item_id);
        break;
      case 'response.output_audio_transcript.delta':
        c.partial[ev.item_id] = (c.partial[ev.item_id] || '') + (ev.delta || '');
        line('assistant', c.partial[ev.item_id], 'a-' + ev.item_id);
        indicator('speaking');
        break;
      case 'response.output_audio_transcript.done':
        line('assistant', ev.transcript || c.partial[ev.item_id] || '', 'a-' + ev.item_id);
        break;
      case 'output_audio_buffer.started':
        indicator('speaking');
        break;
      case 'output_audio_buffer.stopped':
      case 'response.done':
        // While the assistant is still audible, the audio meter ends the speaking state.
        if (!c.audible && $('call-indicator').dataset.state !== 'listening') indicator('listening');
        break;
    }
  }
  function startCall(badge) {
    if (call && !call.done) return;
    var c = { badge: badge, partial: {}, speechStoppedAt: null, done: false, audible: false, heardAt: 0 };
    call = c;
    $('transcript').textContent = '';
    $('call-status').textContent = '';
    $('end-call').textContent = t('end');
    $('end-call').hidden = false;
    $('call-view').hidden = false;
    $('badge-form').hidden = true;
    indicator('connecting');
    if (!navigator.mediaDevices || !window.RTCPeerConnection) { finish('microphone', false); return; }
    navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true }
    }).then(function (stream) {
      if (c.done) { stream.getTracks().forEach(function (tr) { tr.stop(); }); throw new Error('stopped'); }
      c.stream = stream;
      var pc = new RTCPeerConnection();
      c.pc = pc;
      stream.getTracks().forEach(function (tr) { pc.addTrack(tr, stream); });
      pc.ontrack = function (e) {
        $('remote-audio').srcObject = e.streams[0];
        meterAudio(c, e.streams[0]);
      };
      var dc = pc.createDataChannel('oai-events');
      dc.onmessage = function (e) {
        try { onEvent(c, JSON.parse(e.data)); } catch (_) { /* not an event */ }
      };
      dc.onopen = function () { indicator('listening'); };
      // The server hangs up (end tool, idle, max duration, dashboard): the channel closes.
      dc.onclose = function () { finish('ended', false); };
      pc.onconnectionstatechange = function () {
        if (pc.connectionState === 'failed' || pc.connectionState === 'disconnected') finish('network', true);
      };
      return pc.createOffer().then(function (offer) {
        return pc.setLocalDescription(offer);
      }).then(function () {
        return api('POST', '/api/v1/kiosk/voice/sessions', { badge_id: badge, sdp: pc.localDescription.sdp });
      }).then(function (started) {
        c.sessionId = started.session_id;
        window.jarvisCall = { sessionId: started.session_id };
        c.maxTimer = setTimeout(function () { finish('ended', true); }, (started.max_duration_secs + 5) * 1000);
        if (c.done) { finish('ended', true); return; }
        return pc.setRemoteDescription({ type: 'answer', sdp: started.sdp });
      });
    }).catch(function (err) {
      if (c.done) return;
      var key = err && err.code ? err.code : (err && (err.name === 'NotAllowedError' || err.name === 'NotFoundError' || err.name === 'NotReadableError') ? 'microphone' : (err instanceof TypeError ? 'network' : 'failed'));
      finish(CALL_TEXT[key] ? key : 'failed', !!c.sessionId);
    });
  }
  $('end-call').addEventListener('click', function () { finish('ended', true); });
  window.addEventListener('offline', function () { if (call && !call.done) finish('network', true); });
  window.addEventListener('pagehide', function () { if (call && !call.done) finish('ended', true); });

  setInterval(heartbeat, 30000);
  show();
})();
