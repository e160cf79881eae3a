// Sends the chosen CSV file as the raw request body (with the page's CSRF token in a header),
// then opens the import job page, which shows progress and the report.
(function () {
  var form = document.getElementById('import-form');
  if (!form) return;
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var file = form.elements.file.files[0];
    var status = document.getElementById('import-status');
    if (!file) return;
    var q = new URLSearchParams({
      dry_run: form.elements.dry_run.checked ? 'true' : 'false',
      skip_bad_rows: form.elements.skip_bad_rows.checked ? 'true' : 'false'
    });
    status.textContent = '…';
    fetch(form.action + '?' + q.toString(), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'text/csv', 'x-csrf-token': form.dataset.csrf },
      body: file
    }).then(function (r) {
      return r.json().then(function (j) {
        if (r.ok && j.location) { window.location = j.location; }
        else { status.textContent = (j.error && j.error.message) || ('HTTP ' + r.status); }
      });
    }).catch(function (err) { status.textContent = String(err); });
  });
})();

// The job page: while the import runs, polls its progress (the API's own view of the job, behind
// the page's session) every second and moves the bar; once it ends, reloads to show the report.
(function () {
  var box = document.getElementById('import-job');
  if (!box || box.dataset.running !== 'true' || !window.fetch) return;
  var url = box.dataset.poll;
  function tick() {
    fetch(url, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (j) {
        if (j.status === 'succeeded' || j.status === 'failed') { window.location.reload(); return; }
        var total = j.total_rows || 0, done = j.processed_rows || 0;
        var label = box.dataset[j.status === 'queued' ? 'lQueued' : 'lRunning'];
        if (label) document.getElementById('job-status').textContent = label;
        document.getElementById('job-processed').textContent = done;
        document.getElementById('job-total').textContent = total;
        document.getElementById('job-progress').value = total > 0 ? Math.floor(done * 100 / total) : 0;
        setTimeout(tick, 1000);
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 1000);
})();
