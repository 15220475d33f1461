/**
 * The live price list: one row per symbol, sorted by symbol, with the last move against the
 * previous price marked up or down. Everything is rendered as text, never as markup, and a row that
 * cannot be shown becomes one line saying so. Rows are keyed by symbol and memoised on their tick, so
 * a batch that moves three symbols re-renders three rows; the list itself renders only when `prices`
 * changes.
 */
import { Component } from 'preact';
import type { PriceTick } from '../lib/wire/prices';
import { directionOf, formatChange, formatPrice } from './format';
import { memo } from './memo';

export { formatChange, formatPrice } from './format';

export interface PriceListProps {
  readonly prices: readonly PriceTick[];
}

/**
 * One row, rendered again only for another tick. It is its own guard: the row is built inside a
 * `try`, so a tick it cannot show becomes one line saying so and the other rows render on, as a
 * `Guard` around each row would do, without the two extra components per row that every frame of a
 * busy market would pay for (a row is text only, so nothing can fail after it was built).
 */
class PriceRow extends Component<{ readonly tick: PriceTick }> {
  override shouldComponentUpdate(next: { readonly tick: PriceTick }): boolean {
    return next.tick !== this.props.tick;
  }

  override render({ tick }: { readonly tick: PriceTick }) {
    try {
      return (
        <li class={`price ${directionOf(tick)}`} data-symbol={tick.symbol}>
          <span class="symbol">{tick.symbol}</span>
          <span class="value">{formatPrice(tick.price)}</span>
          <span class="change">{formatChange(tick)}</span>
        </li>
      );
    } catch (error) {
      console.warn('could not show a price', error);
      return <li class="price price-error">This price could not be shown.</li>;
    }
  }
}

const bySymbol = (a: PriceTick, b: PriceTick): number => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0);

export const PriceList = memo(function PriceList({ prices }: PriceListProps) {
  const sorted = [...prices].sort(bySymbol);
  return (
    <section class="prices">
      <h2 id="prices-heading">Prices</h2>
      <ul aria-label="Prices" class="price-list">
        {sorted.map((tick) => (
          <PriceRow key={tick.symbol} tick={tick} />
        ))}
      </ul>
      {sorted.length === 0 && <p class="empty">Waiting for prices…</p>}
    </section>
  );
});
