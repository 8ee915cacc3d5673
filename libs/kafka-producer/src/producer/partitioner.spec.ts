import { murmur2, partitionForKey, toPositive } from './partitioner';

/**
 * Golden vectors computed once by the Java client itself (kafka-clients 4.3.1, through
 * libs/kafka-testing/java/kafkatesting/PartitionForKeys.java: Utils.murmur2 and
 * BuiltInPartitioner.partitionForKey) and committed here, so this test needs no JVM.
 * Keys: every length 0..12 (bytes >= 0x80 to exercise sign handling), random lengths up to 64,
 * all-ones / all-zero words, single bytes around the sign bit, and UTF-8 strings (Kafka's own
 * UtilsTest vectors among them). test/partitioner.e2e-spec.ts compares thousands more live.
 * [key hex, Utils.murmur2(key), partitionForKey(key, n) for n = 1, 3, 7, 64, 1000]
 */
const COUNTS = [1, 3, 7, 64, 1000] as const;
const JAVA_VECTORS: ReadonlyArray<readonly [string, number, readonly number[]]> = [
  ['', 275646681, [0, 0, 2, 25, 681]],
  ['80', 857690492, [0, 2, 1, 60, 492]],
  ['80a5', -410042274, [0, 2, 4, 30, 374]],
  ['80a5ca', -238679352, [0, 2, 0, 8, 296]],
  ['80a5caef', -252022039, [0, 1, 6, 41, 609]],
  ['80a5caef14', 456176468, [0, 2, 6, 20, 468]],
  ['80a5caef1439', -1040392555, [0, 1, 3, 21, 93]],
  ['80a5caef14395e', -1439857115, [0, 0, 5, 37, 533]],
  ['80a5caef14395e83', -1121051700, [0, 2, 3, 12, 948]],
  ['80a5caef14395e83a8', 141940039, [0, 1, 3, 7, 39]],
  ['80a5caef14395e83a8cd', -1100814840, [0, 2, 3, 8, 808]],
  ['80a5caef14395e83a8cdf2', -1589413396, [0, 1, 5, 44, 252]],
  ['80a5caef14395e83a8cdf217', 264173139, [0, 0, 6, 19, 139]],
  ['3aabac26af231a716c915d3118', -85761582, [0, 2, 5, 18, 66]],
  ['3ebcd2ef51229d724fdbd96f396eae2b', -999289064, [0, 0, 5, 24, 584]],
  ['c8222f0ce3ed8c687ba28999d639a79ff2', 1664132837, [0, 2, 3, 37, 837]],
  ['55fe9115b820aa7a948aa04dc09dfe494cdc8ee0b906b230294a601cdf3cb7', -912565493, [0, 0, 2, 11, 155]],
  ['62cf4205190c4bb3dfe17c45fb5051677078c904f8430cb44873cbc605d89f58', 1741474455, [0, 0, 0, 23, 455]],
  ['f06dd7e538aceeefedfcef97fe1637bc03e7aab065384349d7593be07f7fe2a3c9', -1710936745, [0, 1, 2, 23, 903]],
  ['d6ae2a6766edabb54d73ff968a23320b97ef1c7dba419678f9d2693cb36fcbdb4274e1815f22d71b25a7cef6cb80a11eaaaddf1db0e822d15e042a2070631f', -272538728, [0, 0, 2, 24, 920]],
  ['88baad836a925bdbdbc7ef87fb15eca5b8969f154963809cc98633cd052c3d426bb3fc492ac50221ec4296d072133f592848c6f9abebe18601ed68af6f0551b3', -2011729462, [0, 1, 1, 10, 186]],
  ['ffffffff', 644171429, [0, 2, 6, 37, 429]],
  ['00000000', 850957120, [0, 1, 6, 0, 120]],
  ['7f', 21296028, [0, 0, 5, 28, 28]],
  ['ff', -311467685, [0, 0, 5, 27, 963]],
  ['3231', -973932308, [0, 0, 3, 44, 340]],
  ['666f6f626172', -790332482, [0, 0, 0, 62, 166]],
  ['616263', 479470107, [0, 0, 4, 27, 107]],
  ['6b6579', -1079937367, [0, 1, 4, 41, 281]],
  ['68656c6c6f', 2132663229, [0, 0, 4, 61, 229]],
  ['757365722d3432', 1459644460, [0, 1, 1, 44, 460]],
  ['c3bc6265722d7363686cc3bc7373656c', -1457870786, [0, 0, 1, 62, 862]],
  ['e697a5e69cace8aa9ee381aee382ade383bc', -734675706, [0, 2, 0, 6, 942]],
  ['f09f9491656d6f6a69f09f979defb88f', -830507003, [0, 0, 5, 5, 645]],
  ['6f726465723a303030313233', -72236064, [0, 2, 4, 32, 584]],
  ['612d6c6974746c652d6269742d6c6f6e672d737472696e67', -985981536, [0, 2, 1, 32, 112]],
  ['6c6b6a683233346c68396669756839307932336f697568736166756a6861646f66323239706872396831396838396838', -58897971, [0, 2, 3, 13, 677]],
];

describe('murmur2 / partitionForKey: identical to the Java client', () => {
  it.each(JAVA_VECTORS)('key %s -> murmur2 %d', (hex, hash, partitions) => {
    const key = Buffer.from(hex, 'hex');
    expect(murmur2(key)).toBe(hash);
    expect(COUNTS.map((n) => partitionForKey(key, n))).toEqual(partitions);
  });

  it("reproduces Kafka's UtilsTest.testMurmur2 vectors", () => {
    const cases: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of cases) expect(murmur2(Buffer.from(key, 'ascii'))).toBe(hash);
  });

  it('accepts any Uint8Array view, not only Buffers, and reads only the view', () => {
    const backing = new Uint8Array([9, 9, 0x66, 0x6f, 0x6f, 0x62, 0x61, 0x72, 9]);
    expect(murmur2(backing.subarray(2, 8))).toBe(-790332482);
  });

  it('toPositive masks the sign bit (not Math.abs), so MIN_VALUE maps to 0', () => {
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-790332482)).toBe(1357151166);
    expect(toPositive(123)).toBe(123);
  });

  it('always returns a partition in [0, n)', () => {
    const bad: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const key = Buffer.from(`k-${i}`);
      for (const n of [1, 2, 5, 13, 1024]) {
        const p = partitionForKey(key, n);
        if (!Number.isInteger(p) || p < 0 || p >= n) bad.push(`k-${i} % ${n} -> ${p}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
