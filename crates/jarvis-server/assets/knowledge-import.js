// Loads a chosen file into the knowledge import form's text area (no inline script under the CSP).
document.addEventListener("DOMContentLoaded", () => {
  const f = document.getElementById("knowledge-file");
  const t = document.getElementById("knowledge-content");
  const fmt = document.getElementById("knowledge-format");
  if (!f || !t) return;
  f.addEventListener("change", () => {
    const file = f.files && f.files[0];
    if (!file) return;
    if (fmt && /\.(md|markdown)$/i.test(file.name)) fmt.value = "markdown";
    if (fmt && /\.csv$/i.test(file.name)) fmt.value = "csv";
    file.text().then((s) => { t.value = s; });
  });
});
