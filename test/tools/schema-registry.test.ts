import { Compatibility } from '@confluentinc/schemaregistry';
import { afterAll, describe, expect, it } from 'vitest';
import { GLOBAL_COMPATIBILITY, type SchemaRegistry, startSchemaRegistry } from '../../tools/registry/apicurio.js';
import { randomName } from '../support/kafka.js';
import { schemaRegistryUrl, testRegistryClient } from '../support/registry.js';

// The first run downloads Apicurio Registry with Maven; later runs start in a few seconds.
const START_TIMEOUT_MS = 240_000;

const recordSchema = (fields: object[]): string =>
  JSON.stringify({ type: 'record', name: 'Probe', namespace: 'pizza.test', fields });

describe('the suite Schema Registry (Apicurio Registry, Confluent-compatible API)', () => {
  it('has the registry-wide level set, and takes a FULL level per subject over it', async () => {
    const client = await testRegistryClient();
    expect((await client.getDefaultConfig()).compatibilityLevel).toBe(GLOBAL_COMPATIBILITY);

    const subject = `${randomName('probe')}-value`;
    const v1 = recordSchema([{ name: 'id', type: 'string' }]);
    const id = await client.register(subject, { schemaType: 'AVRO', schema: v1 });
    // Identical content is the same schema: registering again is not a new version.
    expect(await client.register(subject, { schemaType: 'AVRO', schema: v1 })).toBe(id);

    // BACKWARD lets a reader drop a field; FULL does not, since old readers still need it.
    const dropped = recordSchema([]);
    expect(await client.testSubjectCompatibility(subject, { schemaType: 'AVRO', schema: dropped })).toBe(true);
    await client.updateConfig(subject, { compatibility: Compatibility.FULL });
    expect(await client.testSubjectCompatibility(subject, { schemaType: 'AVRO', schema: dropped })).toBe(false);
    const optionalAdded = recordSchema([
      { name: 'id', type: 'string' },
      { name: 'note', type: ['null', 'string'], default: null },
    ]);
    expect(await client.testSubjectCompatibility(subject, { schemaType: 'AVRO', schema: optionalAdded })).toBe(true);
  });

  describe('a registry of its own', () => {
    let registry: SchemaRegistry | undefined;
    afterAll(() => registry?.stop());

    it(
      'answers on its ccompat URL once started, and is gone after stop()',
      async () => {
        registry = await startSchemaRegistry();
        expect(registry.url).not.toBe(schemaRegistryUrl());
        expect(registry.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/apis\/ccompat\/v7$/);
        const subjects = await fetch(`${registry.url}/subjects`);
        expect(subjects.status).toBe(200);
        expect(await subjects.json()).toEqual([]); // In-memory storage: a new registry is empty.

        await registry.stop();
        expect(await registry.exited).not.toBeUndefined();
        await expect(fetch(`${registry.url}/subjects`)).rejects.toThrow();
        await registry.stop(); // Idempotent.
      },
      START_TIMEOUT_MS,
    );
  });
});
