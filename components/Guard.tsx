/**
 * An error boundary: when a part of a view throws while rendering, that part is replaced by a small
 * inert `fallback` and everything around it renders on. Lists put one around every row, so one
 * entry a view cannot show (a hostile server's, or one an older version stored) never blanks the
 * rest; the hosts' panels put one around each list. A new `value` tries the part again.
 */
import { Component, type ComponentChild, type ComponentChildren } from 'preact';

export interface GuardProps {
  /** What is shown instead of the part that failed: plain text, nothing taken from the failed part's data. */
  readonly fallback: ComponentChild;
  /** What the part shows, for the log, e.g. `a notification`. */
  readonly what: string;
  /** The data the part renders: when it changes, a failed part is rendered again. */
  readonly value?: unknown;
  readonly children?: ComponentChildren;
}

interface GuardState {
  /** The `value` the part failed with, while it has not changed. */
  readonly failed: { readonly value: unknown } | null;
}

export class Guard extends Component<GuardProps, GuardState> {
  override state: GuardState = { failed: null };

  static override getDerivedStateFromProps(props: GuardProps, state: GuardState): Partial<GuardState> | null {
    return state.failed && state.failed.value !== props.value ? { failed: null } : null;
  }

  override componentDidCatch(error: unknown): void {
    console.warn(`could not show ${this.props.what}`, error);
    this.setState({ failed: { value: this.props.value } });
  }

  override render() {
    return this.state.failed ? this.props.fallback : this.props.children;
  }
}
