// The session view's page script: scrolls to and highlights an event, keeps the
// scroll position across reloads, and passes button clicks to the extension.
// Loaded with the page's nonce under a strict Content-Security-Policy.
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();

  /** The block showing event `seq`; an event no block shows lands on the block before it. */
  function blockOf(seq) {
    const blocks = Array.from(document.querySelectorAll('article.block'));
    let best;
    for (const el of blocks) {
      const seqs = (el.dataset.seqs || '').split(' ').map(Number);
      if (seqs.includes(seq)) return el;
      if (Math.min(...seqs) <= seq) best = el;
    }
    return best;
  }

  function reveal(seq) {
    const el = blockOf(seq);
    if (!el) return;
    for (const old of document.querySelectorAll('article.block.highlight')) old.classList.remove('highlight');
    el.classList.add('highlight');
    el.scrollIntoView({ block: 'center' });
    document.body.dataset.revealed = String(seq);
  }

  window.addEventListener('message', (event) => {
    const msg = event.data || {};
    if (msg.type === 'reveal' && typeof msg.seq === 'number') reveal(msg.seq);
    if (msg.type === 'update' && typeof msg.html === 'string') {
      const y = window.scrollY;
      const highlighted = document.querySelector('article.block.highlight');
      const seq = highlighted ? Number(highlighted.id.replace('event-', '')) : undefined;
      document.body.innerHTML = msg.html;
      document.body.dataset.ready = 'true';
      if (seq !== undefined) document.getElementById(`event-${seq}`)?.classList.add('highlight');
      window.scrollTo(0, y);
    }
  });

  document.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target.closest('[data-action]') : null;
    if (!target) return;
    event.preventDefault();
    const data = target.dataset;
    vscode.postMessage({
      type: data.action,
      seq: data.seq ? Number(data.seq) : undefined,
      checkpoint: data.checkpoint,
      session: data.session,
    });
  });

  window.addEventListener('scroll', () => vscode.setState({ scrollY: window.scrollY }), { passive: true });

  const initial = document.body.dataset.reveal;
  if (initial) {
    reveal(Number(initial));
  } else {
    const state = vscode.getState();
    if (state && typeof state.scrollY === 'number') window.scrollTo(0, state.scrollY);
  }
  document.body.dataset.ready = 'true';
  vscode.postMessage({ type: 'ready' });
})();
