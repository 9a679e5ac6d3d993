// Jest runs each test file in a vm context, but `structuredClone` is Node's own, so what it returns
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
