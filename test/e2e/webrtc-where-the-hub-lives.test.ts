/**
 * Evidence for README's "Where Switchboard stands on the founding material's transports": WebRTC
 * is not there where a hub lives. In the built extension in Debian's Chromium, the background
 * service worker has no `RTCPeerConnection` (WebIDL exposes it to windows only), nor has a
 * dedicated worker, while an extension page has it. A hub that wanted peer-to-peer data channels
 * would have to keep a page open for every connection.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchChromiumWithExtension, type ExtensionBrowser } from '../support/chromium';

let browser: ExtensionBrowser;

beforeAll(async () => {
  browser = await launchChromiumWithExtension();
});

afterAll(async () => {
  await browser?.close();
});

test('RTCPeerConnection exists in an extension page, not in the service worker nor in a worker', async () => {
  const worker = await browser.serviceWorker();
  expect(await worker.evaluate(() => typeof (globalThis as { RTCPeerConnection?: unknown }).RTCPeerConnection)).toBe('undefined');
  expect(await worker.evaluate(() => typeof WebSocket)).toBe('function');

  const page = await browser.openExtensionPage('popup.html');
  expect(await page.evaluate(() => typeof RTCPeerConnection)).toBe('function');
  const inWorker = await page.evaluate(
    () =>
      new Promise<string>((resolve) => {
        const source = 'postMessage([typeof RTCPeerConnection, typeof WebSocket].join(" "))';
        const dedicated = new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));
        dedicated.onmessage = (event) => resolve(String(event.data));
        dedicated.onerror = (event) => resolve(`error: ${event.message}`);
      }),
  );
  expect(inWorker).toBe('undefined function');
  await page.close();
});
