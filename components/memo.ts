/**
 * `memo`: a component that renders again only when its props changed (shallowly, by `Object.is`),
 * so a list re-renders the rows whose data changed and leaves the others alone. Preact's own `memo`
 * lives in `preact/compat`, whose module patches Preact's global `options` hooks when it loads (for
 * React compatibility) and would ship all of compat with the extension: this is the same
 * `shouldComponentUpdate` in a dozen lines.
 */
import { Component, h, type ComponentType, type FunctionComponent } from 'preact';

/** True when `a` and `b` have the same own keys, and `same` holds for each key's two values. */
export function sameKeys(a: object, b: object, same: (left: unknown, right: unknown) => boolean): boolean {
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.prototype.hasOwnProperty.call(right, key) && same(left[key], right[key]));
}

/** True when `a` and `b` have the same keys with the same values (`Object.is`). */
export function shallowEqual(a: object, b: object): boolean {
  return sameKeys(a, b, Object.is);
}

/**
 * `render` wrapped so that it renders again only when `same(previous, next)` is false (default
 * `shallowEqual`). State and context changes inside `render` still re-render it as usual.
 */
export function memo<P extends object>(render: FunctionComponent<P>, same: (previous: P, next: P) => boolean = shallowEqual): ComponentType<P> {
  class Memo extends Component<P> {
    static override displayName = `Memo(${render.displayName ?? render.name})`;
    override shouldComponentUpdate(next: P): boolean {
      return !same(this.props, next);
    }
    override render(props: P) {
      return h(render, props);
    }
  }
  return Memo;
}
