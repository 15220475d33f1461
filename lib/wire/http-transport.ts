/**
 * What the server's HTTP transports and their clients must agree on (README, "HTTP transports"):
 * where the sessions live, the header that carries a session's secret, and the most frames one
 * `POST …/frames` may carry. One definition, so the two sides cannot drift apart.
 */

/** `POST` makes a session, `GET` says whether one could be made; a session lives under it. */
export const RT_SESSIONS_PATH = '/rt/sessions';

/** The header that carries a session's secret (never the URL). */
export const SESSION_HEADER = 'x-switchboard-session';

/** The most client frames the server takes in one `POST …/frames`. */
export const MAX_FRAMES_PER_POST = 64;
