/**
 * Finding and using controls the way a person does — by the text of their label or button — in a
 * puppeteer-core page or frame. The label is resolved in the page's DOM (`label.control`), then
 * the control is used through real input events (typing, clicks), as over any protocol.
 *
 * Waits re-check on DOM mutations rather than on a timer: Firefox clamps timers in background tabs
 * to one a second, and several popup tabs are open at once.
 */
import type { ElementHandle, Frame, Page } from 'puppeteer-core';

type Context = Page | Frame;

/** Waits for the enabled control that the `<label>` reading exactly `label` names, and returns it. */
export async function controlByLabel(context: Context, label: string): Promise<ElementHandle<Element>> {
  const handle = await context.waitForFunction(
    (text) => {
      const found = [...document.querySelectorAll('label')].find((element) => element.textContent?.trim() === text);
      const control = found?.control;
      // A disabled fieldset disables its controls without a `disabled` attribute on them.
      return control?.matches(':enabled') ? control : null;
    },
    { polling: 'mutation' },
    label,
  );
  const element = handle.asElement();
  if (!element) throw new Error(`no control labelled ${JSON.stringify(label)}`);
  return element as ElementHandle<Element>;
}

/** Replaces the text of the field labelled `label` by typing `value` into it. */
export async function fillByLabel(context: Context, label: string, value: string): Promise<void> {
  const field = await controlByLabel(context, label);
  // Select what is there so the typed text replaces it, as a person would with Ctrl+A.
  await field.evaluate((input) => {
    (input as HTMLInputElement).focus();
    (input as HTMLInputElement).select();
  });
  await field.type(value);
}

/** Chooses the option whose visible text is `option` in the `<select>` labelled `label`. */
export async function selectByLabel(context: Context, label: string, option: string): Promise<void> {
  const select = await controlByLabel(context, label);
  const value = await select.evaluate((element, text) => {
    const found = [...(element as HTMLSelectElement).options].find((candidate) => candidate.textContent?.trim() === text);
    return found?.value ?? null;
  }, option);
  if (value === null) throw new Error(`${JSON.stringify(label)} has no option ${JSON.stringify(option)}`);
  await (select as ElementHandle<HTMLSelectElement>).select(value);
}

/** Clicks the enabled button whose text is exactly `name`. */
export async function clickButton(context: Context, name: string): Promise<void> {
  const handle = await context.waitForFunction(
    (text) => [...document.querySelectorAll('button')].find((button) => button.textContent?.trim() === text && !button.disabled) ?? null,
    { polling: 'mutation' },
    name,
  );
  const button = handle.asElement();
  if (!button) throw new Error(`no button ${JSON.stringify(name)}`);
  await (button as ElementHandle<Element>).click();
}

/** Waits until the element matching `selector` has text containing `text`. */
export async function waitForTextIn(context: Context, selector: string, text: string, timeoutMs = 30_000): Promise<void> {
  await context.waitForFunction(
    (css, wanted) => document.querySelector(css)?.textContent?.includes(wanted) ?? false,
    { polling: 'mutation', timeout: timeoutMs },
    selector,
    text,
  );
}
