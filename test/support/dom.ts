/**
 * Rendering Preact components into happy-dom (files with `// @vitest-environment happy-dom`): a
 * fresh `root` element per test, and finding and driving its fields, buttons and form the way a
 * user does. Call `useRenderRoot()` once in the file, or in the `describe` that renders.
 */
import { render, type ComponentChild } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach } from 'vitest';

/** The element this test renders into: a live binding, replaced before each test. */
export let root: HTMLElement;

/** Registers the hooks that attach a fresh `root` to the document before each test and unmount and remove it after. */
export function useRenderRoot(): void {
  beforeEach(() => {
    root = document.createElement('div');
    document.body.append(root);
  });
  afterEach(() => {
    render(null, root);
    root.remove();
  });
}

/** Renders `node` into `root` (again: a re-render with new props) and lets its effects run. */
export const show = (node: ComponentChild) => act(() => render(node, root));

/** The control a `<label>` with this exact text is for, or `null`. */
export function maybeField(label: string): HTMLInputElement | null {
  const found = [...root.querySelectorAll('label')].find((l) => l.textContent === label);
  return (found && root.querySelector<HTMLInputElement>(`#${found.htmlFor}`)) ?? null;
}

/** The control a `<label>` with this exact text is for; throws if there is none. */
export function field(label: string): HTMLInputElement {
  const input = maybeField(label);
  if (!input) throw new Error(`no field labelled ${label}`);
  return input;
}

/** Types into an input: sets the value and fires `input`, as typing does. */
export async function type(input: HTMLInputElement, value: string): Promise<void> {
  await act(() => {
    input.value = value;
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

/** Types into an input or picks an option of a select, firing `input` and then `change`, as a finished edit does. */
export async function fill(input: HTMLInputElement, value: string): Promise<void> {
  await act(() => {
    input.value = value;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
  });
}

/** The first button under `within` whose text, trimmed, is `name`, or `null`. */
export const button = (name: string, within: ParentNode = root): HTMLButtonElement | null =>
  [...within.querySelectorAll('button')].find((b) => b.textContent?.trim() === name) ?? null;

/** Clicks the button named `name`; throws if there is none. */
export async function press(name: string): Promise<void> {
  const found = button(name);
  if (!found) throw new Error(`no button ${name}`);
  await act(async () => {
    found.click();
  });
}

/** Submits the form in `root` as pressing Enter or its submit button does; throws if there is none. */
export async function submit(): Promise<void> {
  const form = root.querySelector('form');
  if (!form) throw new Error('no form');
  await act(async () => {
    form.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
  });
}
