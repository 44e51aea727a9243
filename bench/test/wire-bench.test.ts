// bench:wire on a few MiB: every layer carries every sealed byte, and the
// gRPC layer runs on pbk's own credentials (the cipher suite they pick).
import { describe, expect, it } from 'vitest';
import { runWireBench } from '../src/wire-bench.js';

describe('wire bench', () => {
  it('moves every sealed byte through each layer and reports the suites negotiated', async () => {
    const r = await runWireBench(6 * 1024 * 1024, 3, 2);
    expect(r.blobs).toBe(6);
    expect(r.sealed_bytes).toBeGreaterThan(0);
    expect(r.sealed_bytes).toBeLessThan(r.plaintext_bytes); // half the generated data is text
    for (const f of Object.values(r.layers)) {
      expect(f.bytes).toBe(r.sealed_bytes);
      expect(f.cpu_s).toBeGreaterThan(0);
      expect(f.cpu_s_samples).toHaveLength(2);
      expect(f.cpu_s_samples).toContain(f.cpu_s);
    }
    expect(r.layers.tls_aes_256_gcm.cipher).toBe('TLS_AES_256_GCM_SHA384');
    expect(r.layers.tls_aes_128_gcm.cipher).toBe('TLS_AES_128_GCM_SHA256');
    expect(r.layers.http2.cipher).toBe('TLS_AES_128_GCM_SHA256');
    expect(r.layers.grpc.cipher).toBe('TLS_AES_128_GCM_SHA256');
  }, 60_000);
});
