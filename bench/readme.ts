/**
 * Puts the figures in `docs/bench/` into README's benchmark sections, for when benchmarks were run
 * one at a time (`npm run bench` does this as it goes). `node --import tsx bench/readme.ts`.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { refreshReadme } from './report';

const dir = fileURLToPath(new URL('../docs/bench/', import.meta.url));
const slugs = readdirSync(dir).filter((name) => name.endsWith('.md')).map((name) => name.slice(0, -3));
const done = slugs.filter((slug) => refreshReadme(slug));
const missing = slugs.filter((slug) => !done.includes(slug));
console.log(`README: ${done.length} benchmark sections refreshed${missing.length > 0 ? `; no section for ${missing.join(', ')}` : ''}`);
