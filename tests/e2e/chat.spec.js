// The chat page (web/chat/) against the real server of web/server/main.js:
// two people in separate browser profiles chat while backends are killed and
// revived; every message reaches both pages exactly once and in the store's
// order, received text never becomes markup, and server errors show inline.
import { test, expect } from '@playwright/test';
import { startServer } from '../../web/server/main.js';

/** A fresh profile with the chat page open; records page errors, CSP violations and dialogs. */
async function openChat(browser, server) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) problems.push(`csp: ${m.text()}`);
  });
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  await page.goto(server.chatPageUrl);
  return { context, page, problems };
}

async function join(page, name) {
  await expect(page.locator('#name-dialog')).toBeVisible();
  await page.fill('#name-input', name);
  await page.click('#name-save');
  await expect(page.locator('#name-dialog')).toBeHidden();
  await expect(page.locator('#my-name')).toHaveText(name);
  await expect(page.locator('#conn')).toHaveAttribute('data-state', 'open');
}

/** Types a message, sends it with Enter and waits for the 201 (the box empties). */
async function send(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
  await expect(page.locator('#text')).toHaveValue('', { timeout: 15_000 });
  await expect(page.locator('#send-error')).toHaveText('');
}

async function streamingIndex(page) {
  await expect(page.locator('#conn')).toHaveAttribute('data-state', 'open', { timeout: 20_000 });
  return Number(await page.locator('#conn').getAttribute('data-index'));
}

/** What the page shows: [{ id, user, text, own }] in DOM order. */
function rendered(page) {
  return page.$$eval('#messages > li', (items) =>
    items.map((li) => ({
      id: Number(li.dataset.id),
      user: li.dataset.user,
      text: li.querySelector('.text').textContent,
      own: li.classList.contains('msg--own'),
      other: li.classList.contains('msg--other'),
      via: li.querySelector('.via').textContent,
    })),
  );
}

async function storedMessages(server) {
  const entries = await server.store.since('chat', 0);
  return entries.map((e) => {
    const { user, text } = JSON.parse(e.data);
    return { id: e.id, user, text };
  });
}

test('two people chat across backend kills: every message once, in order, never as markup', async ({ browser }, testInfo) => {
  test.setTimeout(120_000);
  const server = await startServer({ portBase: 0, logRate: 0 });
  const ann = await openChat(browser, server);
  const bob = await openChat(browser, server);
  try {
    await join(ann.page, 'Ann');
    await join(bob.page, 'Bob');

    const XSS = '<img src=x onerror=alert(1)>';
    const texts = Array.from({ length: 30 }, (_, i) => `message ${i + 1} from ${i % 2 === 0 ? 'Ann' : 'Bob'}`);
    texts[4] = XSS;
    texts[9] = 'two\nlines';
    texts[13] = '  <b>bold?</b> & "quotes"  ';

    let killedA = -1;
    let killedB = -1;
    for (let i = 0; i < texts.length; i++) {
      if (i === 8) {
        // Kill the backend Ann is streaming from, and keep talking.
        killedA = await streamingIndex(ann.page);
        await server.cluster.kill(killedA);
      }
      if (i === 15) await server.cluster.revive(killedA);
      if (i === 20) {
        // Kill another one: Bob's, or any other if Bob streams from the same.
        const b = await streamingIndex(bob.page);
        killedB = b !== killedA ? b : (killedA + 1) % server.backends.length;
        await server.cluster.kill(killedB);
      }
      if (i === 26) await server.cluster.revive(killedB);
      await send(i % 2 === 0 ? ann.page : bob.page, texts[i]);
    }

    const expected = await storedMessages(server);
    expect(expected).toHaveLength(30);
    // The store holds the texts as sent (trimmed by the server), in sending order.
    expect(expected.map((m) => m.text)).toEqual(texts.map((t) => t.trim()));

    for (const [who, { page }] of [['Ann', ann], ['Bob', bob]]) {
      await expect.poll(async () => (await rendered(page)).length, { timeout: 20_000 }).toBe(30);
      const shown = await rendered(page);
      // Exactly once, in the store's order, with the right author and text.
      expect(shown.map(({ id, user, text }) => ({ id, user, text }))).toEqual(expected);
      // Own messages right (msg--own), others left (msg--other) and nothing else.
      for (const m of shown) {
        expect(m.own, `message ${m.id} by ${m.user} on ${who}'s page`).toBe(m.user === who);
        expect(m.other).toBe(m.user !== who);
        expect(m.via).toMatch(/^#[0-2]$/);
      }
      // The failover really happened on the page that lost its backend.
    }
    await expect(ann.page.locator('.failover-log li').first()).toBeVisible();

    // Received text is text: no <img>/<b> element, the literal markup is shown.
    for (const { page } of [ann, bob]) {
      await expect(page.locator('#messages img')).toHaveCount(0);
      await expect(page.locator('#messages b')).toHaveCount(0);
      await expect(page.locator('#messages .text', { hasText: XSS })).toHaveCount(1);
    }

    // Auto-scroll: Bob scrolls up, so a new message does not move his view
    // and a "new messages" button appears; Ann (at the bottom) follows.
    await bob.page.locator('#scroller').evaluate((s) => {
      s.scrollTop = 0;
      s.dispatchEvent(new Event('scroll'));
    });
    await send(ann.page, 'are you still there?');
    await expect(bob.page.locator('#new-below')).toBeVisible();
    await expect(bob.page.locator('#new-below')).toContainText('1 new message');
    expect(await bob.page.locator('#scroller').evaluate((s) => s.scrollTop)).toBe(0);
    const annScroll = await ann.page.locator('#scroller').evaluate((s) => s.scrollHeight - s.scrollTop - s.clientHeight);
    expect(annScroll).toBeLessThan(48);
    await bob.page.click('#new-below');
    await expect(bob.page.locator('#new-below')).toBeHidden();
    expect(await bob.page.locator('#scroller').evaluate((s) => s.scrollHeight - s.scrollTop - s.clientHeight)).toBeLessThan(48);

    // Every backend down: the reconnect banner says so, with the reason; it
    // goes away once they are back, and the chat carries on.
    await expect(ann.page.locator('#reconnect')).toBeHidden();
    for (let i = 0; i < server.backends.length; i++) await server.cluster.kill(i);
    for (const { page } of [ann, bob]) {
      await expect(page.locator('#reconnect')).toBeVisible();
      await expect(page.locator('#reconnect')).toContainText(/last error: (closed|network)/);
      await expect(page.locator('#conn')).not.toHaveAttribute('data-state', 'open');
    }
    await ann.page.screenshot({ path: testInfo.outputPath('chat-all-down.png') });
    for (let i = 0; i < server.backends.length; i++) await server.cluster.revive(i);
    for (const { page } of [ann, bob]) {
      await expect(page.locator('#reconnect')).toBeHidden({ timeout: 45_000 });
      await expect(page.locator('#conn')).toHaveAttribute('data-state', 'open');
    }
    await send(bob.page, 'back online');
    const final = await storedMessages(server);
    expect(final).toHaveLength(32);
    for (const { page } of [ann, bob]) {
      await expect.poll(async () => (await rendered(page)).length, { timeout: 20_000 }).toBe(32);
      expect((await rendered(page)).map(({ id, user, text }) => ({ id, user, text }))).toEqual(final);
      expect(await page.evaluate(() => window.chatApp.duplicatesDropped())).toBe(0);
    }

    // A late joiner gets the history once, in order, none of it as own.
    const cy = await openChat(browser, server);
    try {
      await join(cy.page, 'Cy');
      await expect.poll(async () => (await rendered(cy.page)).length, { timeout: 20_000 }).toBe(32);
      const shown = await rendered(cy.page);
      expect(shown.map(({ id, user, text }) => ({ id, user, text }))).toEqual(final);
      expect(shown.every((m) => m.other && !m.own)).toBe(true);
      expect(cy.problems).toEqual([]);
    } finally {
      await cy.context.close();
    }

    for (const [name, { page }] of [['ann', ann], ['bob', bob]]) {
      const path = testInfo.outputPath(`chat-${name}.png`);
      await page.screenshot({ path });
      await testInfo.attach(`chat-${name}`, { path, contentType: 'image/png' });
    }
    await testInfo.attach('chat-all-down', { path: testInfo.outputPath('chat-all-down.png'), contentType: 'image/png' });
    expect(ann.problems).toEqual([]);
    expect(bob.problems).toEqual([]);
  } finally {
    await ann.context.close();
    await bob.context.close();
    await server.stop();
  }
});

test('name prompt validates and persists; server errors (422, 429) show inline and keep the draft', async ({ browser }, testInfo) => {
  test.setTimeout(60_000);
  // 2 messages at once, then one every 4 s, per user; no per-IP limit.
  const server = await startServer({ portBase: 0, logRate: 0, chat: { rateLimit: { ratePerSec: 0.25, burst: 2 }, ipRateLimit: false } });
  const eve = await openChat(browser, server);
  const { page } = eve;
  try {
    await expect(page.locator('#name-dialog')).toBeVisible();
    await page.click('#name-save');
    await expect(page.locator('#name-error')).toHaveText('Please enter a name.');
    await page.fill('#name-input', 'x'.repeat(33));
    await page.click('#name-save');
    await expect(page.locator('#name-error')).toContainText('At most 32 characters');
    await expect(page.locator('#name-dialog')).toBeVisible();
    await page.fill('#name-input', '  Eve  ');
    await page.press('#name-input', 'Enter');
    await expect(page.locator('#name-dialog')).toBeHidden();
    await expect(page.locator('#my-name')).toHaveText('Eve');

    // The name is remembered by this profile.
    await page.reload();
    await expect(page.locator('#conn')).toHaveAttribute('data-state', 'open');
    await expect(page.locator('#name-dialog')).toBeHidden();
    await expect(page.locator('#my-name')).toHaveText('Eve');

    // 422: a control character in the text; the server names the field.
    await page.fill('#text', 'ding\u0007');
    await page.press('#text', 'Enter');
    await expect(page.locator('#send-error')).toContainText('Not sent');
    await expect(page.locator('#send-error')).toContainText('control characters');
    await expect(page.locator('#text')).toHaveValue('ding\u0007');
    expect(await server.store.since('chat', 0)).toHaveLength(0);

    // Shift+Enter is a new line, not a send.
    await page.fill('#text', 'first');
    await page.press('#text', 'Shift+Enter');
    await page.keyboard.type('second line');
    await expect(page.locator('#text')).toHaveValue('first\nsecond line');
    await page.press('#text', 'Enter');
    await expect(page.locator('#text')).toHaveValue('');
    await send(page, 'two');

    // 429: the third message within the burst is refused; the page says when to retry.
    await page.fill('#text', 'three');
    await page.press('#text', 'Enter');
    await expect(page.locator('#send-error')).toContainText(/too fast\. Try again in \d+ s/);
    await expect(page.locator('#send')).toBeDisabled();
    await expect(page.locator('#text')).toHaveValue('three');
    expect(await server.store.since('chat', 0)).toHaveLength(2);
    await page.screenshot({ path: testInfo.outputPath('chat-rate-limited.png') });
    await testInfo.attach('chat-rate-limited', { path: testInfo.outputPath('chat-rate-limited.png'), contentType: 'image/png' });

    // Once the wait is over the same draft goes through.
    await expect(page.locator('#send')).toBeEnabled({ timeout: 15_000 });
    await expect(page.locator('#send-error')).toHaveText('');
    await page.press('#text', 'Enter');
    await expect(page.locator('#text')).toHaveValue('');
    const stored = (await server.store.since('chat', 0)).map((e) => JSON.parse(e.data).text);
    expect(stored).toEqual(['first\nsecond line', 'two', 'three']);
    await expect(page.locator('#messages > li')).toHaveCount(3);
    await expect(page.locator('#messages > li.msg--own')).toHaveCount(3);
    expect(eve.problems).toEqual([]);
  } finally {
    await eve.context.close();
    await server.stop();
  }
});

test('own messages are this tab\'s posts, not every message under its name', async ({ browser }) => {
  test.setTimeout(60_000);
  const server = await startServer({ portBase: 0, logRate: 0 });
  const tab1 = await openChat(browser, server);
  try {
    await join(tab1.page, 'Dana');
    // A second tab of the same profile: the same name (from localStorage), another tab.
    const page2 = await tab1.context.newPage();
    await page2.goto(server.chatPageUrl);
    await expect(page2.locator('#my-name')).toHaveText('Dana');
    await expect(page2.locator('#conn')).toHaveAttribute('data-state', 'open');

    await send(tab1.page, 'from tab 1');
    await send(page2, 'from tab 2');
    // Someone else posting under the same name, straight to the API.
    const res = await fetch(server.backends[1].messagesUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'Dana', text: 'impostor' }),
    });
    expect(res.status).toBe(201);

    const expectView = async (page, ownText) => {
      await expect(page.locator('#messages > li')).toHaveCount(3);
      const shown = await rendered(page);
      expect(shown.map((m) => m.user)).toEqual(['Dana', 'Dana', 'Dana']);
      for (const m of shown) {
        expect(m.own, `"${m.text}" shown as own`).toBe(m.text === ownText);
        expect(m.other).toBe(m.text !== ownText);
      }
      const authors = await page.$$eval('#messages > li .author', (nodes) => nodes.map((n) => n.textContent));
      expect(authors.filter((a) => a === 'You')).toHaveLength(1);
    };
    await expectView(tab1.page, 'from tab 1');
    await expectView(page2, 'from tab 2');
    expect(tab1.problems).toEqual([]);
  } finally {
    await tab1.context.close();
    await server.stop();
  }
});

test('a message grouped under the previous one of its author still shows the backend it came through', async ({ browser }) => {
  const server = await startServer({ portBase: 0, logRate: 0 });
  const ann = await openChat(browser, server);
  try {
    await join(ann.page, 'Ann');
    await send(ann.page, 'before the failover');
    const first = await streamingIndex(ann.page);
    await expect(ann.page.locator('#messages > li')).toHaveCount(1);
    await server.cluster.kill(first);
    await expect
      .poll(async () => (await ann.page.locator('#conn').getAttribute('data-state')) === 'open' && (await streamingIndex(ann.page)) !== first, {
        timeout: 20_000,
      })
      .toBe(true);
    const second = await streamingIndex(ann.page);
    await send(ann.page, 'after the failover');
    const items = ann.page.locator('#messages > li');
    await expect(items).toHaveCount(2);
    // Grouped: same author, moments apart; the author and time are not repeated...
    await expect(items.nth(1)).toHaveClass(/msg--cont/);
    await expect(items.nth(1).locator('.author')).toBeHidden();
    // ...but each message says which backend delivered it.
    await expect(items.nth(0).locator('.via')).toHaveText(`#${first}`);
    await expect(items.nth(1).locator('.via')).toBeVisible();
    await expect(items.nth(1).locator('.via')).toHaveText(`#${second}`);
    expect(ann.problems).toEqual([]);
  } finally {
    await ann.context.close();
    await server.stop();
  }
});

test('8 chat tabs of one profile share one stream; every tab shows every message once, in order', async ({ browser }) => {
  test.setTimeout(120_000);
  const server = await startServer({ portBase: 0, logRate: 0 });
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  try {
    await context.addInitScript(() => localStorage.setItem('sse-balancer.chat.name', 'Ann'));
    const pages = [];
    for (let i = 0; i < 8; i++) {
      const page = await context.newPage();
      await page.goto(server.chatPageUrl);
      await expect(page.locator('#conn')).toHaveAttribute('data-state', 'open', { timeout: 20_000 });
      pages.push(page);
      // Some messages before the later tabs open: they come from the leader's backlog.
      if (i === 2) for (let k = 0; k < 3; k++) await send(page, `early ${k}`);
    }
    for (let k = 0; k < 6; k++) await send(pages[k % pages.length], `message ${k}`);
    const expected = await storedMessages(server);
    expect(expected).toHaveLength(9);
    // HTTP/1.1: about six connections per host; one stream serves all eight tabs.
    expect(server.cluster.totalOpenStreams()).toBe(1);
    const roles = [];
    for (const page of pages) {
      await expect.poll(async () => (await rendered(page)).length, { timeout: 20_000 }).toBe(9);
      expect((await rendered(page)).map(({ id, user, text }) => ({ id, user, text }))).toEqual(expected);
      roles.push(await page.evaluate(() => window.chatApp.source.stats().role));
    }
    expect(roles.filter((r) => r === 'leader')).toHaveLength(1);
    expect(roles.filter((r) => r === 'follower')).toHaveLength(7);
    await expect(pages[0].locator('.panel-summary')).toContainText('8 tabs');
  } finally {
    await context.close();
    await server.stop();
  }
});
