// The lineage page, kept live: reads /lineage.json every few seconds and sets
// the figures as text (never as HTML). The server formats every figure, so the
// page shows the same words with or without this script.
(() => {
  const root = document.querySelector('[data-lineage]');
  if (!root) return;
  const intervalMs = Math.max(1, Number(root.dataset.pollSeconds) || 2) * 1000;
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const setText = (scope, field, text) => {
    const node = scope.querySelector(`[data-field="${field}"]`);
    if (node && node.textContent !== String(text)) node.textContent = text;
  };
  const clockTime = (iso) => new Date(iso).toLocaleTimeString();
  for (const node of root.querySelectorAll('time[datetime]')) node.textContent = clockTime(node.dateTime);

  const renderGroups = (details, groups) => {
    for (const old of details.querySelectorAll('.lineage-group')) old.remove();
    for (const group of groups) {
      const box = el('div', 'lineage-group');
      box.dataset.group = group.groupId;
      const line = el('p');
      line.append(el('code', '', group.groupId), ` · ${group.members} · lag ${group.lag}`);
      if (!group.counted) line.append(' · ', el('em', '', 'no members: its lag is not counted'));
      box.append(line);
      if (group.rows.length > 0) {
        const wrap = el('div', 'table-wrap');
        const table = el('table', 'lineage-partitions');
        const head = el('tr');
        for (const title of ['Topic', 'Partition', 'Committed', 'End', 'Lag']) head.append(el('th', '', title));
        table.append(el('thead'), el('tbody'));
        table.tHead.append(head);
        for (const row of group.rows) {
          const tr = el('tr');
          const topic = el('td');
          topic.append(el('code', '', row.topic));
          tr.append(topic, el('td', '', row.partition), el('td', '', row.committed), el('td', '', row.end));
          tr.append(el('td', '', row.lag));
          table.tBodies[0].append(tr);
        }
        wrap.append(table);
        box.append(wrap);
      }
      details.append(box);
    }
  };

  const showService = (card, service) => {
    card.classList.toggle('is-bottleneck', service.bottleneck);
    setText(card, 'instances', service.instances);
    setText(card, 'inFlightText', service.inFlightText);
    setText(card, 'busy', service.busy);
    setText(card, 'lag', service.lag);
    setText(card, 'waiting', service.waiting);
    setText(card, 'consumed', service.consumed);
    setText(card, 'output', service.output);
    const meter = card.querySelector('[data-field="meter"]');
    if (meter) {
      meter.max = service.capacity;
      meter.value = service.inFlight;
    }
    const lagTopics = card.querySelector('[data-field="lagByTopic"]');
    if (lagTopics)
      lagTopics.replaceChildren(...service.lagByTopic.map((t) => el('span', '', `${t.topic}: lag ${t.lag}`)));
    const details = card.querySelector('[data-groups]');
    if (details) renderGroups(details, service.groups);
  };

  const show = (body) => {
    const error = root.querySelector('[data-error]');
    error.hidden = !body.error;
    error.textContent = body.error ?? '';
    const page = body.page;
    if (!page) return;
    const cards = root.querySelectorAll('[data-service]');
    const services = page.steps.filter((step) => step.service).map((step) => step.service);
    // A new service (or the first figures at all): the page's shape changed, so draw it afresh.
    if (cards.length !== services.length) return location.reload();
    root.querySelector('[data-summary]').textContent = page.summary;
    root.querySelector('[data-summary-box]').classList.toggle('is-slow', page.slow);
    root.querySelector('[data-summary-label]').textContent = page.slow ? 'Slowest stage' : 'All clear';
    root.querySelector('[data-notes]').replaceChildren(...page.notes.map((note) => el('li', '', note)));
    const updated = root.querySelector('[data-updated]');
    updated.textContent = ` (read at ${clockTime(page.at)})`;
    for (const service of services) {
      const card = root.querySelector(`[data-service="${service.name}"]`);
      if (card) showService(card, service);
    }
    for (const step of page.steps.filter((candidate) => candidate.topics)) {
      for (const topic of step.topics) {
        const row = root.querySelector(`[data-topic="${CSS.escape(topic.name)}"]`);
        if (!row) continue;
        row.classList.toggle('is-missing', !topic.exists);
        setText(row, 'partitions', topic.partitions);
        setText(row, 'perSecond', topic.perSecond);
        setText(row, 'total', topic.total);
      }
    }
    const loadText = root.querySelector('[data-load-text]');
    if (loadText && body.load) loadText.textContent = body.load.text;
  };

  let timer;
  const tick = async () => {
    try {
      const response = await fetch('/lineage.json', { headers: { accept: 'application/json' }, cache: 'no-store' });
      if (response.status === 401) return location.assign('/login');
      if (response.ok) show(await response.json());
    } catch {
      // The server is restarting or the network blinked: try again on the next tick.
    }
    timer = setTimeout(tick, intervalMs);
  };
  timer = setTimeout(tick, intervalMs);
  document.addEventListener('visibilitychange', () => {
    clearTimeout(timer);
    if (!document.hidden) tick();
  });
})();
