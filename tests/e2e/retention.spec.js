// A client that was away longer than the server's log retains is told what
// it missed (a named `gap` event) instead of resuming with a silent hole.
import { test, expect } from '@playwright/test';
import { startServer } from '../../web/server/main.js';

/** Reads an SSE response until `until(text)` holds or 5 s pass. */
async function readStream(url, until) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 5000);
  let text = '';
  try {
    const response = await fetch(url, { signal: controller.signal });
    expect(response.status).toBe(200);
    const decoder = new TextDecoder();
    for await (const chunk of response.body) {
      text += decoder.decode(chunk, { stream: true });
      if (until(text)) break;
    }
  } catch (error) {
    if (error.name !== 'AbortError') throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return text;
}

test('resuming from an id the log no longer holds yields a gap event, then the retained entries', async () => {
  const server = await startServer({ portBase: 0, logRate: 0, capacity: 5, backends: 1 });
  try {
    for (let i = 1; i <= 10; i++) await server.store.append('chat', 'message', `m${i}`);
    const url = `${server.backends[0].chatUrl}?lastEventId=2`;
    const text = await readStream(url, (t) => t.includes('id: 10\n'));
    const frames = text.split('\n\n').filter((f) => f && !f.startsWith(':'));
    expect(frames[0]).toBe('event: gap\ndata: {"from":3,"to":5}');
    expect(frames.slice(1).map((f) => /^id: (\d+)/.exec(f)?.[1])).toEqual(['6', '7', '8', '9', '10']);

    // Resuming inside the retained window: no gap event.
    const inside = await readStream(`${server.backends[0].chatUrl}?lastEventId=7`, (t) => t.includes('id: 10\n'));
    expect(inside).not.toContain('event: gap');
    expect(inside).toContain('id: 8\n');
  } finally {
    await server.stop();
  }
});

test('the chat page says how many earlier messages the server no longer keeps', async ({ page }) => {
  const server = await startServer({ portBase: 0, logRate: 0, capacity: 5 });
  try {
    for (let i = 1; i <= 10; i++) {
      await server.store.append('chat', 'message', JSON.stringify({ user: 'ann', text: `m${i}`, at: new Date().toISOString() }));
    }
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.chatPageUrl);
    await expect(page.locator('#gap-notice')).toBeVisible();
    await expect(page.locator('#gap-notice')).toHaveText('5 earlier messages are no longer kept by the server.');
    await expect.poll(() => page.evaluate(() => window.chatApp?.ids())).toEqual([6, 7, 8, 9, 10]);
    expect(errors).toEqual([]);
  } finally {
    await server.stop();
  }
});
