// The public demo page (/demo): a visitor's browser call to JARVIS over WebRTC, like the kiosk's
// (kiosk.js) but without a badge or device token: the SDP offer goes to
// POST /api/v1/demo/voice/sessions, which runs the call as the demo gym's visitor. Every text
// comes from the page (data-* attributes rendered from the fr/en catalogue); refusals are shown
// by their error code.
(function () {
  'use strict';
  var root = document.getElementById('demo');
  if (!root) return;
  var d = root.dataset;
  function $(id) { return document.getElementById(id); }
  var call = null;

  function status(text) { $('demo-status').textContent = text || ''; }
  function error(text) { $('demo-error').textContent = text || ''; }
  function errorFor(code) {
    if (code === 'rate_limited') return d.errRate;
    if (code === 'demo_budget_exhausted' || code === 'budget_exhausted') return d.errBudget;
    if (code === 'capacity_reached') return d.errBusy;
    if (code === 'microphone') return d.errMic;
    return d.errOther;
  }
  function line(who, text) {
    var p = document.createElement('p');
    p.className = who;
    p.textContent = text;
    $('demo-transcript').appendChild(p);
  }
  function finish(code) {
    if (!call || call.done) return;
    call.done = true;
    clearTimeout(call.timer);
    if (call.dc) try { call.dc.close(); } catch (e) { /* already closed */ }
    if (call.pc) call.pc.close();
    if (call.stream) call.stream.getTracks().forEach(function (tr) { tr.stop(); });
    $('demo-talk').hidden = false;
    $('demo-end').hidden = true;
    status(code ? '' : d.ended);
    if (code) error(errorFor(code));
  }
  function onEvent(ev) {
    if (ev.type === 'response.output_audio_transcript.done' || ev.type === 'response.audio_transcript.done') {
      line('assistant', ev.transcript || '');
    } else if (ev.type === 'conversation.item.input_audio_transcription.completed') {
      line('member', ev.transcript || '');
    }
  }
  function start() {
    error('');
    $('demo-transcript').textContent = '';
    var c = call = { done: false };
    $('demo-talk').hidden = true;
    $('demo-end').hidden = false;
    status(d.connecting);
    if (!navigator.mediaDevices || !window.RTCPeerConnection) { finish('microphone'); return; }
    navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } })
      .catch(function () { throw { code: 'microphone' }; })
      .then(function (stream) {
        if (c.done) { stream.getTracks().forEach(function (tr) { tr.stop(); }); throw { code: null }; }
        c.stream = stream;
        var pc = c.pc = new RTCPeerConnection();
        stream.getTracks().forEach(function (tr) { pc.addTrack(tr, stream); });
        pc.ontrack = function (e) { $('demo-audio').srcObject = e.streams[0]; };
        var dc = c.dc = pc.createDataChannel('oai-events');
        dc.onmessage = function (e) { try { onEvent(JSON.parse(e.data)); } catch (x) { /* not JSON */ } };
        dc.onopen = function () { status(d.listening); };
        dc.onclose = function () { finish(null); };
        pc.onconnectionstatechange = function () {
          if (pc.connectionState === 'failed') finish('network');
        };
        return pc.createOffer().then(function (offer) { return pc.setLocalDescription(offer); });
      })
      .then(function () {
        return fetch('/api/v1/demo/voice/sessions', {
          method: 'POST',
          credentials: 'omit',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ sdp: c.pc.localDescription.sdp, lang: d.lang })
        });
      })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (!r.ok) throw { code: (j.error && j.error.code) || 'error' };
          return j;
        });
      })
      .then(function (started) {
        if (c.done) return;
        c.timer = setTimeout(function () { finish(null); }, (started.max_duration_secs + 5) * 1000);
        return c.pc.setRemoteDescription({ type: 'answer', sdp: started.sdp });
      })
      .catch(function (err) {
        if (err && err.code === null) return;
        finish((err && err.code) || 'error');
      });
  }
  $('demo-talk').addEventListener('click', start);
  $('demo-end').addEventListener('click', function () { finish(null); });
  window.addEventListener('pagehide', function () { finish(null); });
})();
