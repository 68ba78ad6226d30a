// Phoenix GitOps: the estate page's filters and dependency lines. Hides the boxes that do not match the
// kind, node and state chosen and the words typed in the search box, then draws a line from each shown
// box to each shown box it needs (an SVG over #map, hidden from assistive technology: every box lists
// what it needs as links). Focusing or pointing at a box highlights its lines. Runs again when live.js
// swapped the graph, and when the window is resized.
(() => {
  const form = document.getElementById('filters');
  if (!form) return;
  const shown = document.getElementById('shown');
  const map = document.getElementById('map');
  const SVG = 'http://www.w3.org/2000/svg';
  let edges = null, frame = 0, pointed = null;

  function svg(name, attributes) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    return element;
  }

  function canvas() {
    if (!edges || !edges.isConnected) {
      edges = svg('svg', {id: 'edges', 'aria-hidden': 'true', focusable: 'false'});
      const marker = svg('marker', {id: 'needs', viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '7',
        markerHeight: '7', orient: 'auto-start-reverse'});
      marker.appendChild(svg('path', {d: 'M0,0 L10,5 L0,10 z'}));
      const defs = svg('defs', {});
      defs.appendChild(marker);
      edges.appendChild(defs);
      map.appendChild(edges);
    }
    return edges;
  }

  // A curve from the left edge of the box that needs to the left edge of the box needed, bowed into the
  // gutter left of the boxes (so two boxes of one column are joined beside them, not through them).
  function draw() {
    frame = 0;
    if (!map) return;
    const started = performance.now();
    const layer = canvas();
    for (const old of layer.querySelectorAll('path.edge')) old.remove();
    const on = document.getElementById('show-edges');
    layer.toggleAttribute('hidden', Boolean(on && !on.checked));  // an SVG element has no `hidden` property
    if (layer.hasAttribute('hidden')) return;
    const origin = map.getBoundingClientRect();
    layer.setAttribute('width', String(map.scrollWidth));
    layer.setAttribute('height', String(map.scrollHeight));
    const where = new Map();
    for (const box of map.querySelectorAll('li.box')) {
      if (box.getClientRects().length) where.set(box.dataset.target, box.getBoundingClientRect());
    }
    const gutter = Math.max(4, parseFloat(getComputedStyle(map).paddingLeft) - 2);
    const lines = document.createDocumentFragment();
    let count = 0;
    for (const box of map.querySelectorAll('li.box')) {
      const from = where.get(box.dataset.target);
      if (!from) continue;
      for (const need of (box.dataset.needs || '').split(' ').filter(Boolean)) {
        const to = where.get(need);
        if (!to) continue;
        const x1 = from.left - origin.left, y1 = from.top + from.height / 2 - origin.top;
        const x2 = to.left - origin.left, y2 = to.top + to.height / 2 - origin.top;
        const bow = Math.min(x1, x2) - Math.min(gutter, 6 + Math.abs(y2 - y1) / 6);
        lines.appendChild(svg('path', {class: 'edge', 'data-from': box.dataset.target, 'data-to': need,
          d: `M${x1},${y1} C${bow},${y1} ${bow},${y2} ${x2},${y2}`, 'marker-end': 'url(#needs)'}));
        count += 1;
      }
    }
    layer.appendChild(lines);
    mark(current());  // a redraw (a live event, a filter) keeps the lines of the box in focus or pointed at
    layer.dataset.count = String(count);
    layer.dataset.ms = (performance.now() - started).toFixed(1);
  }

  function redraw() { if (!frame) frame = requestAnimationFrame(draw); }

  function boxOf(element) {
    const box = element && map.contains(element) && element.closest && element.closest('li.box');
    return box ? box.dataset.target : null;
  }

  // The box whose lines stand out: the one holding the focus, else the one under the pointer.
  function current() { return boxOf(document.activeElement) || pointed; }

  function mark(target) {
    for (const path of canvas().querySelectorAll('path.edge')) {
      path.classList.toggle('on', target !== null && (path.dataset.from === target || path.dataset.to === target));
    }
  }

  function highlight(event) {
    if (event.type === 'mouseover') pointed = boxOf(event.target);
    mark(boxOf(event.target) || current());
  }

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
    redraw();
  }
  form.addEventListener('input', apply);
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  document.addEventListener('phoenix:refreshed', apply);
  window.addEventListener('resize', redraw);
  if (map) {
    map.addEventListener('focusin', highlight);
    map.addEventListener('mouseover', highlight);
    map.addEventListener('focusout', (event) => mark(boxOf(event.relatedTarget) || pointed));
    map.addEventListener('mouseleave', () => { pointed = null; mark(boxOf(document.activeElement)); });
  }
  const query = new URLSearchParams(window.location.search);
  for (const name of ['kind', 'node', 'state']) {
    const value = query.get(name);
    if (value) document.getElementById('filter-' + name).value = value;
  }
  if (query.get('q')) document.getElementById('search').value = query.get('q');
  apply();
})();
