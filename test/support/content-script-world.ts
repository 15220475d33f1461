/**
 * The extension's content-script world in a Chromium tab, reached over CDP as BROWSER-TESTING.md
 * describes: `Runtime.enable` reports every execution context of the page, and the content
 * script's is the isolated one named after the extension, in the tab's top frame. Code evaluated
 * there runs with exactly what the overlay content script has (its `chrome.*` APIs, the page's
 * origin for storage), which is what a compromised page's renderer could run: the tests use it to
 * prove what that code cannot reach.
 */
import type { CDPSession, Page } from 'playwright-core';
import { poll } from './poll';

interface ExecutionContext {
  readonly id: number;
  readonly name: string;
  readonly auxData?: { readonly type?: string; readonly frameId?: string };
}

interface EvaluateResult {
  readonly result: { readonly value?: unknown };
  readonly exceptionDetails?: { readonly text: string; readonly exception?: { readonly description?: string } };
}

export interface ContentScriptWorld {
  /** Runs `expression` (a promise is awaited) in the content-script world and returns its value, which must be JSON. */
  evaluate<T>(expression: string): Promise<T>;
  /** Detaches the CDP session. */
  close(): Promise<void>;
}

/**
 * Waits until the extension's content script runs in `page`'s top frame (it is injected at
 * `document_idle`) and returns its world. `extensionName` is the manifest's `name`.
 */
export async function openContentScriptWorld(page: Page, extensionName = 'Switchboard'): Promise<ContentScriptWorld> {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  const contexts: ExecutionContext[] = [];
  cdp.on('Runtime.executionContextCreated', (event: { context: ExecutionContext }) => contexts.push(event.context));
  cdp.on('Runtime.executionContextsCleared', () => contexts.splice(0));
  await cdp.send('Runtime.enable');
  const { frameTree } = (await cdp.send('Page.getFrameTree')) as { frameTree: { frame: { id: string } } };
  const topFrame = frameTree.frame.id;
  const context = await poll(
    `the content-script world of ${extensionName} in ${page.url()}`,
    () => contexts.find((c) => c.name === extensionName && c.auxData?.type === 'isolated' && c.auxData.frameId === topFrame),
    { timeoutMs: 15_000 },
  );
  return {
    async evaluate<T>(expression: string): Promise<T> {
      const answer = (await cdp.send('Runtime.evaluate', {
        expression,
        contextId: context.id,
        awaitPromise: true,
        returnByValue: true,
      })) as EvaluateResult;
      if (answer.exceptionDetails) {
        throw new Error(`in the content-script world: ${answer.exceptionDetails.exception?.description ?? answer.exceptionDetails.text}`);
      }
      return answer.result.value as T;
    },
    close: () => cdp.detach(),
  };
}
