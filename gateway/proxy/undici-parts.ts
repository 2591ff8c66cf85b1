// The parts of undici a Node worker uses (Pool, Agent, buildConnector and the request API), loaded from their own
// modules rather than from undici's index: the index loads all of undici (fetch, WebSocket, EventSource, the cache,
// mocks, proxy agents: 330 modules): 9 MiB of resident memory loaded alone, 4 MiB of heap in a worker, for code it never
// runs (bench/RESULTS.md, "Worker footprint"). The classes are the index's own (it requires these same files), so
// nothing differs but what is loaded. undici declares no `exports` map, so these paths are public to require().
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

const require = createRequire(import.meta.url);

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof Undici.Pool;
export const Agent = require('undici/lib/dispatcher/agent.js') as typeof Undici.Agent;
export const buildConnector = require('undici/lib/core/connect.js') as typeof Undici.buildConnector;

// What undici's index does on load: the request API (request, stream, pipeline, upgrade, connect) as methods of
// every dispatcher. Assigning the same functions again, should the index load too, changes nothing.
const Dispatcher = require('undici/lib/dispatcher/dispatcher.js') as typeof Undici.Dispatcher;
Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js') as object);

export type Pool = Undici.Pool;
export type Agent = Undici.Agent;
/** buildConnector's option and callback types (undici declares them in a namespace merged with the function). */
export type { buildConnector as Connector } from 'undici';
