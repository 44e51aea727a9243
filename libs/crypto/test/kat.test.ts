// Known-answer tests: our wrappers must agree with published vectors byte for byte.
import { describe, expect, it } from 'vitest';
import { open, sealWithNonce } from '../src/aead.js';
import { keyedId, sha256 } from '../src/ids.js';
import { scryptKdf } from '../src/kek.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('AES-256-GCM (McGrew & Viega, "The GCM mode of operation", test cases 13, 14, 16)', () => {
  const cases = [
    { name: 'test case 13 (empty)', K: '00'.repeat(32), IV: '00'.repeat(12), P: '', A: '', C: '', T: '530f8afbc74536b9a963b4f1c4cb738b' },
    { name: 'test case 14', K: '00'.repeat(32), IV: '00'.repeat(12), P: '00'.repeat(16), A: '', C: 'cea7403d4d606b6e074ec5d3baf39d18', T: 'd0d1c8a799996bf0265b98b5d48ab919' },
    {
      name: 'test case 16 (with AAD)',
      K: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
      IV: 'cafebabefacedbaddecaf888',
      P: `d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
          1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39`,
      A: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
      C: `522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
          8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662`,
      T: '76fc6ece0f4e1768cddf8853bb2d551b',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const sealed = sealWithNonce(hex(c.K), hex(c.IV), hex(c.P), hex(c.A));
      expect(sealed.toString('hex')).toBe(c.IV + hex(c.C).toString('hex') + c.T);
      expect(open(hex(c.K), sealed, hex(c.A), 'kat').equals(hex(c.P))).toBe(true);
    });
  }
});

describe('HMAC-SHA-256 via keyedId (RFC 4231)', () => {
  it('test case 1', () => {
    expect(keyedId(Buffer.alloc(20, 0x0b), Buffer.from('Hi There')).toString('hex')).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
  });
  it('test case 6 (key longer than the block size)', () => {
    const data = Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First');
    expect(keyedId(Buffer.alloc(131, 0xaa), data).toString('hex')).toBe('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
  });
});

describe('SHA-256 (FIPS 180-4 "abc")', () => {
  it('hashes one buffer and the same bytes split in parts alike', () => {
    const want = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(sha256(Buffer.from('abc')).toString('hex')).toBe(want);
    expect(sha256([Buffer.from('a'), Buffer.alloc(0), Buffer.from('bc')]).toString('hex')).toBe(want);
  });
});

describe('scrypt (RFC 7914 section 12, first vector: P="", S="", N=16, r=1, p=1, dkLen=64)', () => {
  it('matches', async () => {
    const dk = await scryptKdf(Buffer.alloc(0), Buffer.alloc(0), 16, 1, 1, 64);
    expect(dk.toString('hex')).toBe(
      '77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442' +
        'fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906',
    );
  });
});
