// Unit tests of the Firestore security rules shipped in deml/firebase (images/firebase/firestore.rules),
// with @firebase/rules-unit-testing and the firebase JS SDK, against a running Firestore emulator.
//
//   FIRESTORE_EMULATOR_HOST=127.0.0.1:8080 node --test          (npm test)
//
// FIRESTORE_RULES   rules file to load (default: the shipped one) — point it at a broken variant to see
//                   these tests fail
// RULES_PROJECT_ID  project whose rules are replaced (default demo-rules-test: never the stack's demo-deml)
//
// tests/test_firestore_rules.py starts the emulator from the deml/firebase image and runs this file twice:
// with the shipped rules (every test passes) and with an allow-all variant (the "denied" tests fail).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import {
  assertFails,
  assertSucceeds,
  initializeTestEnvironment,
} from '@firebase/rules-unit-testing';
import {
  collection,
  collectionGroup,
  deleteDoc,
  doc,
  getDoc,
  getDocs,
  increment,
  setDoc,
  setLogLevel,
  updateDoc,
} from 'firebase/firestore';

const RULES = process.env.FIRESTORE_RULES
  || fileURLToPath(new URL('../../images/firebase/firestore.rules', import.meta.url));
const PROJECT_ID = process.env.RULES_PROJECT_ID || 'demo-rules-test';

if (!process.env.FIRESTORE_EMULATOR_HOST) {
  throw new Error('FIRESTORE_EMULATOR_HOST is not set: start a Firestore emulator and export host:port');
}

// Every path the telemetry worker (app/deml/projections.py), the workers role (rollups) and the bootstrap
// (tenant documents) write, for tenant t.
const tenantPaths = (t) => ({
  tenant: `tenants/${t}`,
  event: `tenants/${t}/events/e-1`,
  counters: `tenants/${t}/stats/counters`,
  health: `tenants/${t}/health/cron`,
  marker: `tenants/${t}/processed/e-1`,
  rollup: `tenants/${t}/rollups/2026-01-01`,
});

// A denied request is the expected outcome of most tests: keep the SDK's per-RPC warnings out of the report.
setLogLevel('error');

let env;

before(async () => {
  env = await initializeTestEnvironment({
    projectId: PROJECT_ID,
    firestore: { rules: readFileSync(RULES, 'utf8') }, // host:port from FIRESTORE_EMULATOR_HOST
  });
  await env.clearFirestore();
  // Seed as the server does: with the "owner" credential, which the emulator lets bypass the rules.
  await env.withSecurityRulesDisabled(async (server) => {
    const db = server.firestore();
    for (const t of ['acme', 'globex']) {
      const p = tenantPaths(t);
      await setDoc(doc(db, p.tenant), { id: t, name: t });
      await setDoc(doc(db, p.event), { event_id: 'e-1', tenant_id: t, type: 'page.view' });
      await setDoc(doc(db, p.counters), { events_total: 1 });
      await setDoc(doc(db, p.health), { tenant_id: t, ticks: 1 });
      await setDoc(doc(db, p.marker), { event_id: 'e-1' });
      await setDoc(doc(db, p.rollup), { day: '2026-01-01', events: 1 });
    }
    await setDoc(doc(db, 'topo-probe/p-1'), { ok: true });
    await setDoc(doc(db, 'users/u-1'), { name: 'someone' });
  });
});

after(async () => {
  if (env) {
    await env.clearFirestore();
    await env.cleanup();
  }
});

const anonymous = () => env.unauthenticatedContext().firestore();
const member = (tenant) => env.authenticatedContext(`user-${tenant}`, { tenant_id: tenant }).firestore();
const noClaim = () => env.authenticatedContext('user-without-tenant').firestore();

describe('unauthenticated clients', () => {
  test('unauthenticated: cannot read tenants/acme', async () => {
    await assertFails(getDoc(doc(anonymous(), 'tenants/acme')));
  });
  test('unauthenticated: cannot read acme projections, counters, markers', async () => {
    const db = anonymous();
    const p = tenantPaths('acme');
    for (const path of [p.event, p.counters, p.health, p.marker, p.rollup]) {
      await assertFails(getDoc(doc(db, path)));
    }
  });
  test('unauthenticated: cannot list tenants', async () => {
    await assertFails(getDocs(collection(anonymous(), 'tenants')));
  });
  test('unauthenticated: cannot overwrite tenants/acme/stats/counters', async () => {
    await assertFails(setDoc(doc(anonymous(), 'tenants/acme/stats/counters'), { events_total: 0 }));
  });
  test('unauthenticated: cannot create a tenant', async () => {
    await assertFails(setDoc(doc(anonymous(), 'tenants/evil'), { id: 'evil' }));
  });
});

describe('a signed-in user of tenant acme', () => {
  test('acme: reads its tenant document', async () => {
    await assertSucceeds(getDoc(doc(member('acme'), 'tenants/acme')));
  });
  test('acme: reads its projections, counters, health, markers and rollups', async () => {
    const db = member('acme');
    const p = tenantPaths('acme');
    for (const path of [p.event, p.counters, p.health, p.marker, p.rollup]) {
      await assertSucceeds(getDoc(doc(db, path)));
    }
  });
  test('acme: lists its events', async () => {
    const snap = await assertSucceeds(getDocs(collection(member('acme'), 'tenants/acme/events')));
    if (snap.size !== 1) throw new Error(`expected 1 event, listed ${snap.size}`);
  });
  test('acme: cannot read tenants/globex', async () => {
    await assertFails(getDoc(doc(member('acme'), 'tenants/globex')));
  });
  test("acme: cannot read globex's projections, counters, markers", async () => {
    const db = member('acme');
    const p = tenantPaths('globex');
    for (const path of [p.event, p.counters, p.health, p.marker, p.rollup]) {
      await assertFails(getDoc(doc(db, path)));
    }
  });
  test("acme: cannot list globex's events", async () => {
    await assertFails(getDocs(collection(member('acme'), 'tenants/globex/events')));
  });
  test('acme: cannot list the tenants collection', async () => {
    await assertFails(getDocs(collection(member('acme'), 'tenants')));
  });
  test('acme: cannot query the events collection group', async () => {
    await assertFails(getDocs(collectionGroup(member('acme'), 'events')));
  });
  test('acme: cannot write its counters (set, update, increment)', async () => {
    const db = member('acme');
    await assertFails(setDoc(doc(db, 'tenants/acme/stats/counters'), { events_total: 0 }));
    await assertFails(updateDoc(doc(db, 'tenants/acme/stats/counters'), { events_total: increment(1) }));
    await assertFails(setDoc(doc(db, 'tenants/acme/stats/new'), { events_total: 0 }));
  });
  test('acme: cannot write or delete its projections', async () => {
    const db = member('acme');
    await assertFails(setDoc(doc(db, 'tenants/acme/events/forged'), { event_id: 'forged', tenant_id: 'acme' }));
    await assertFails(updateDoc(doc(db, 'tenants/acme/events/e-1'), { type: 'forged' }));
    await assertFails(deleteDoc(doc(db, 'tenants/acme/events/e-1')));
  });
  test('acme: cannot write processed markers', async () => {
    const db = member('acme');
    await assertFails(setDoc(doc(db, 'tenants/acme/processed/e-2'), { event_id: 'e-2' }));
    await assertFails(deleteDoc(doc(db, 'tenants/acme/processed/e-1')));
  });
  test('acme: cannot write health or rollups', async () => {
    const db = member('acme');
    await assertFails(setDoc(doc(db, 'tenants/acme/health/cron'), { ticks: 0 }));
    await assertFails(setDoc(doc(db, 'tenants/acme/rollups/2026-01-02'), { events: 9 }));
  });
  test('acme: cannot write its tenant document', async () => {
    const db = member('acme');
    await assertFails(updateDoc(doc(db, 'tenants/acme'), { name: 'renamed' }));
    await assertFails(deleteDoc(doc(db, 'tenants/acme')));
  });
  test("acme: cannot write globex's counters", async () => {
    await assertFails(setDoc(doc(member('acme'), 'tenants/globex/stats/counters'), { events_total: 0 }));
  });
});

describe('other identities and paths', () => {
  test('a token without a tenant_id claim cannot read tenants/acme', async () => {
    await assertFails(getDoc(doc(noClaim(), 'tenants/acme')));
  });
  test('globex: reads its own tenant but not acme', async () => {
    const db = member('globex');
    await assertSucceeds(getDoc(doc(db, 'tenants/globex')));
    await assertFails(getDoc(doc(db, 'tenants/acme/stats/counters')));
  });
  test('unknown paths: denied to read and write, signed in or not', async () => {
    for (const db of [anonymous(), member('acme')]) {
      for (const path of ['topo-probe/p-1', 'users/u-1', 'acme/stats']) {
        await assertFails(getDoc(doc(db, path)));
        await assertFails(setDoc(doc(db, path), { x: 1 }));
      }
    }
  });
  test('the server (owner credential) bypasses the rules', async () => {
    await env.withSecurityRulesDisabled(async (server) => {
      const db = server.firestore();
      await assertSucceeds(setDoc(doc(db, 'tenants/acme/stats/counters'), { events_total: 2 }, { merge: true }));
      await assertSucceeds(getDoc(doc(db, 'topo-probe/p-1')));
    });
  });
});
