/** Publishing through the server's admin API in an e2e test, and seeing it arrive. */
import { expect } from 'vitest';
import type { ServerHttp } from './server';

/** The gauge of open WebSocket connections in `/metrics`. */
export const CONNECTIONS = 'switchboard_ws_connections';

/** A page with a `Prices` list (a popup, a dashboard tab). */
export interface ShowsPrices {
  /** Waits until the row of `symbol` shows `price` (as formatted, e.g. `123.45`). */
  waitForPrice(symbol: string, price: string): Promise<void>;
}

/**
 * Publishes a tick and waits until every page shows it, one page after another (a dashboard tab is
 * brought to the front to be read, which hides the one before).
 */
export async function publishPriceAndSee(server: ServerHttp, pages: readonly ShowsPrices[], symbol: string, price: number): Promise<void> {
  await server.publishPrice(symbol, price);
  for (const page of pages) await page.waitForPrice(symbol, price.toFixed(2));
}

/**
 * Publishes a notification to `user` for each title, in order (body `Body of <title>`), expects
 * each to get the seq after the titles already in `published`, and adds it there.
 */
export async function publishNotifications(server: ServerHttp, user: string, published: string[], ...titles: string[]): Promise<void> {
  for (const title of titles) {
    const { seq } = await server.publishNotification(user, { title, body: `Body of ${title}` });
    expect(seq).toBe(published.length + 1);
    published.push(title);
  }
}
