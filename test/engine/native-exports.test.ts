// The typed native boundary: NativeAddon (src/engine/native.ts) names
// exactly the functions the addon exports. NATIVE_FUNCTIONS is checked
// against the interface by the compiler, and here against the built addon
// and against the registrations in native/src, so a function added on one
// side only (exported and untyped, or typed and never exported) fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { NATIVE_FUNCTIONS, native } from '../../src/engine/native.js';
import { projectRoot } from '../../src/project-root.js';

const sorted = (names: Iterable<string>): string[] => [...names].sort();

/** Names in `names` that `other` lacks, for a message that says which side is missing what. */
const without = (names: readonly string[], other: readonly string[]): string[] => names.filter((n) => !other.includes(n));

test('NATIVE_FUNCTIONS lists each name once', () => {
  assert.equal(new Set(NATIVE_FUNCTIONS).size, NATIVE_FUNCTIONS.length, `duplicates: ${NATIVE_FUNCTIONS.filter((n, i) => NATIVE_FUNCTIONS.indexOf(n) !== i)}`);
});

test('the built addon exports exactly the functions of NativeAddon, each a function', () => {
  const addon = native() as unknown as Record<string, unknown>;
  const exported = Object.keys(addon);
  const typed: readonly string[] = NATIVE_FUNCTIONS;
  assert.deepEqual(sorted(exported), sorted(typed),
    `exported but not typed: [${without(exported, typed)}]; typed but not exported: [${without(typed, exported)}]`);
  for (const name of exported) assert.equal(typeof addon[name], 'function', `${name} is a ${typeof addon[name]}`);
});

test('native/src registers exactly the functions of NativeAddon (catches an addon not rebuilt after a change)', () => {
  const dir = path.join(projectRoot(), 'native/src');
  const registered: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cc'))) {
    const source = readFileSync(path.join(dir, file), 'utf8');
    // addon.cc registers one by one, the other files through {"name", fn} tables.
    for (const m of source.matchAll(/registerFn\(env, exports, "(\w+)"|\{"(\w+)", *\w+\}/g)) registered.push(m[1] ?? m[2]!);
  }
  const typed: readonly string[] = NATIVE_FUNCTIONS;
  assert.deepEqual(sorted(registered), sorted(typed),
    `registered but not typed: [${without(registered, typed)}]; typed but not registered: [${without(typed, registered)}]`);
});
