/**
 * The config schema is built when a config is loaded and is not kept for the life of the
 * process (config/schema.ts, configSchema()): a serving proxy's full garbage collections
 * would otherwise mark its objects every time.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildConfig } from '../../../proxy/src/config/load';
import { configSchema } from '../../../proxy/src/config/schema';

setFlagsFromString('--expose-gc');
// A fresh context picks up the flag: its global has gc() even though this one was created without it.
const collectGarbage = runInNewContext('gc') as () => void;

const RAW = {
  vault: { address: 'http://127.0.0.1:8200', auth: { method: 'token', token: 'root' } },
  clients: { n8n: { tokenHashes: [`sha256:${'a'.repeat(64)}`], services: ['echo'] } },
  services: { echo: { target: 'http://127.0.0.1:9999', secret: 'services/echo', inject: { type: 'bearer' } } },
};

/** Full collections on later turns (a WeakRef's target stays alive until the turn that read it ends). */
async function collectUntilCleared(ref: WeakRef<object>): Promise<void> {
  for (let round = 0; round < 50 && ref.deref() !== undefined; round++) {
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
  }
}

describe('config schema lifetime', () => {
  it('is shared by calls close together', () => {
    expect(configSchema()).toBe(configSchema());
  });

  it('is left to the garbage collector once a load is done, and built again for the next load', async () => {
    const first = new WeakRef(configSchema());
    expect(buildConfig(RAW, {}).services.echo.inject).toEqual({ type: 'bearer', field: 'token' });

    await collectUntilCleared(first);
    expect(first.deref()).toBeUndefined();

    // The next load builds a new schema that validates as before, defaults and errors alike.
    expect(buildConfig(RAW, {}).listen.port).toBe(8080);
    expect(() => buildConfig({ ...RAW, services: { echo: { ...RAW.services.echo, inject: { type: 'bearr' } } } }, {})).toThrow(/services\.echo\.inject/);
  });
});
