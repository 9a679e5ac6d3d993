// Jest runs each test file in a vm context (its own realm). Two things differ from one Node process.
//
// 1. Jest runs each test file in a vm context, but `structuredClone` is Node's own, so what it returns
// is built in the main realm: plain objects there fail oidc-provider's `value.constructor === Object`
// check (it clones its static clients, then checks each key of a client's inline `jwks`). Outside
// jest there is one realm and nothing to do. Here the clone's plain objects and arrays are rebuilt
// in the test's realm; everything else (Dates, Maps, Buffers …) is kept as cloned.
const nodeClone = globalThis.structuredClone;

function intoThisRealm(value) {
  if (Array.isArray(value)) return value.map(intoThisRealm);
  if (
    value !== null &&
    typeof value === 'object' &&
    Object.getPrototypeOf(Object.getPrototypeOf(value) ?? {}) === null &&
    value.constructor?.name === 'Object'
  ) {
    const copy = {};
    for (const [key, entry] of Object.entries(value)) copy[key] = intoThisRealm(entry);
    return copy;
  }
  return value;
}

globalThis.structuredClone = (value, options) => intoThisRealm(nodeClone(value, options));

// 2. oidc-provider protects its outgoing requests (a portal's jwks_uri, back-channel logout) against
// request forgery with an agent made from undici's global dispatcher, which Node keeps on its own
// global object, not on the test's: without this the protection is silently off in the tests (and
// only there), and the tests of what it refuses could not fail.
const nodeGlobal = fetch.constructor('return globalThis')();
void nodeGlobal.Response; // Node sets up undici, and its global dispatcher, on first use
for (const symbol of [Symbol.for('undici.globalDispatcher.1'), Symbol.for('undici.globalDispatcher.2')]) {
  if (nodeGlobal[symbol] && !globalThis[symbol]) globalThis[symbol] = nodeGlobal[symbol];
}
