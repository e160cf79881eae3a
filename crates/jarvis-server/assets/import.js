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
