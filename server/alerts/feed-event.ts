/**
 * The `feed:<user>` event a fired alert becomes: a `high` notification titled with the rule in
 * words, whose body says what the price did, carrying the rule, price and time for the hub's
 * overlay. It goes through the event log, so an alert that fired while the user was away is
 * recovered by the feed cursor like any other notification.
 */
import { describeRule } from '../../lib/wire/alerts';
import type { NotificationData } from '../../lib/wire/notifications';
import type { Firing } from './types';

export function firedNotification(firing: Firing): NotificationData {
  const { rule, id } = firing.alert;
  const what = rule.condition === 'percent-move' ? `${rule.symbol} moved ${rule.percent}% or more to ${firing.price}` : `${rule.symbol} hit ${firing.price}`;
  return {
    title: describeRule(rule),
    body: rule.note ? `${what}. ${rule.note}` : what,
    level: 'high',
    alert: { alertId: id, rule, price: firing.price, firedAt: firing.at },
  };
}
