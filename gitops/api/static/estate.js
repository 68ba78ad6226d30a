// Phoenix GitOps: the estate page's filters. Hides the boxes that do not match the kind, node and state
// chosen and the words typed in the search box; runs again when live.js swapped the graph.
(() => {
  const form = document.getElementById('filters');
  if (!form) return;
  const shown = document.getElementById('shown');
  function apply() {
    const words = document.getElementById('search').value.toLowerCase().split(/\s+/).filter(Boolean);
    const want = {};
    for (const name of ['kind', 'node', 'state']) want[name] = document.getElementById('filter-' + name).value;
    let count = 0;
    for (const box of document.querySelectorAll('#graph li.box')) {
      const d = box.dataset;
      const text = (d.text || '').toLowerCase() + ' ' + d.state + ' ' + d.node;
      const ok = (!want.kind || d.kind === want.kind) && (!want.node || d.node === want.node) &&
        (!want.state || d.state === want.state) && words.every((w) => text.includes(w));
      box.hidden = !ok;
      if (ok) count += 1;
    }
    for (const section of document.querySelectorAll('#graph section.node')) {
      section.hidden = !section.querySelector('li.box:not([hidden])');
    }
    shown.textContent = count + ' shown';
  }
  form.addEventListener('input', apply);
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  document.addEventListener('phoenix:refreshed', apply);
  const query = new URLSearchParams(window.location.search);
  for (const name of ['kind', 'node', 'state']) {
    const value = query.get(name);
    if (value) document.getElementById('filter-' + name).value = value;
  }
  if (query.get('q')) document.getElementById('search').value = query.get('q');
  apply();
})();
