import * as fs from 'node:fs';
import * as path from 'node:path';
import { CompressionCodecUnavailableError } from './errors';

/**
 * Lazy loading of the codec packages. Each is required on the first compress or decompress of its codec,
 * so a producer that never compresses loads none of them (and a missing one hurts only its own codec).
 * The shapes below are the few functions we call, checked at load time, so a package with another API
 * (a wrong major version) fails with the same clear error instead of a TypeError deep in a batch.
 */

/** `snappy` 7.x (napi-rs, prebuilt per platform): raw snappy blocks. */
export interface SnappyPackage {
  compressSync(input: Uint8Array): Buffer;
  compress(input: Uint8Array): Promise<Buffer>;
  uncompressSync(input: Uint8Array, options: { asBuffer: true }): string | Buffer;
}

/** `lz4-napi` 2.x (napi-rs over lz4_flex, prebuilt): raw LZ4 blocks with a 4-byte little-endian size in front. */
export interface Lz4Package {
  compressSync(data: Buffer): Buffer;
  compress(data: Uint8Array): Promise<Buffer>;
}

/** `@toondepauw/node-zstd` 2.x (napi-rs over libzstd 1.5.7, prebuilt): one zstd frame per call. */
export interface ZstdEncoder {
  encodeSync(data: Buffer): Buffer;
  encode(data: Buffer): Promise<Buffer>;
}
export interface ZstdDecoder {
  decodeSync(data: Buffer): Buffer;
}
export interface ZstdPackage {
  Encoder: new (level: number) => ZstdEncoder;
  Decoder: new () => ZstdDecoder;
}

/**
 * `@bokuweb/zstd-wasm` 0.0.27 (libzstd compiled to WebAssembly), after its runtime is initialised:
 * `ZSTD_compress` of a whole buffer.
 */
export interface ZstdWasmPackage {
  compress(input: Uint8Array, level: number): Uint8Array;
}

export const CODEC_PACKAGES = {
  snappy: { name: 'snappy', functions: ['compressSync', 'compress', 'uncompressSync'] },
  lz4: { name: 'lz4-napi', functions: ['compressSync', 'compress'] },
  zstd: { name: '@toondepauw/node-zstd', functions: ['Encoder', 'Decoder'] },
  zstdWasm: { name: '@bokuweb/zstd-wasm', functions: ['compress'] },
} as const;

type PackageCodec = keyof typeof CODEC_PACKAGES;

const loaded = new Map<string, unknown>();

/** Test seam: replaces `require` (e.g. to simulate a package that is not installed). */
let requireFn: (id: string) => unknown = (id) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(id);
};

export function setPackageLoaderForTests(loader: ((id: string) => unknown) | null): void {
  requireFn =
    loader ??
    ((id) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(id);
    });
  loaded.clear();
}

function load(codec: PackageCodec, init?: () => void): unknown {
  const spec = CODEC_PACKAGES[codec];
  const cached = loaded.get(spec.name);
  if (cached !== undefined) return cached;
  const codecName = codec === 'zstdWasm' ? 'zstd' : codec;
  let mod: unknown;
  try {
    init?.();
    mod = requireFn(spec.name);
  } catch (err) {
    throw new CompressionCodecUnavailableError(codecName, spec.name, err);
  }
  const missing = spec.functions.filter((f) => typeof (mod as Record<string, unknown> | null)?.[f] !== 'function');
  if (missing.length > 0) {
    throw new CompressionCodecUnavailableError(codecName, spec.name, new Error(`the package does not export ${missing.join(', ')}`));
  }
  loaded.set(spec.name, mod);
  return mod;
}

export function snappyPackage(): SnappyPackage {
  return load('snappy') as SnappyPackage;
}

export function lz4Package(): Lz4Package {
  return load('lz4') as Lz4Package;
}

export function zstdPackage(): ZstdPackage {
  return load('zstd') as ZstdPackage;
}

/**
 * The package's own `init()` is asynchronous (it reads and compiles the .wasm with promises), which would
 * leave the synchronous compress path unusable until some later tick. Its Emscripten runtime supports an
 * `instantiateWasm` hook, through which the module is compiled and instantiated synchronously here (Node
 * allows synchronous compilation of any size); the runtime then finishes initialising before `init` returns.
 * Relies on the layout of 0.0.27 (module.js and zstd.wasm beside the entry point), hence the exact version.
 */
interface WasmInstance {
  readonly exports: unknown;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: unknown) => WasmInstance;
}

function initZstdWasm(): void {
  // The package exports only its entry point; its runtime and .wasm sit beside it (absolute paths are not
  // subject to the package's "exports" map, and resolve to the same module instance the entry point uses).
  const dir = path.dirname(resolveFn('@bokuweb/zstd-wasm'));
  const runtime = requireFn(path.join(dir, 'module.js')) as { Module: Record<string, unknown> };
  const Module = runtime.Module;
  if (Module['calledRun'] === true) return;
  const bytes = fs.readFileSync(path.join(dir, 'zstd.wasm'));
  // The project's lib settings carry no WebAssembly types; the two constructors used are declared here.
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  Module['instantiateWasm'] = (imports: unknown, receive: (instance: WasmInstance) => unknown) => {
    const instance = new wasm.Instance(new wasm.Module(bytes), imports);
    receive(instance);
    return instance.exports;
  };
  (Module['init'] as () => unknown)();
  if (Module['calledRun'] !== true) throw new Error('the WebAssembly runtime did not initialise synchronously');
}

let resolveFn: (id: string) => string = (id) => require.resolve(id);

export function setResolverForTests(resolver: ((id: string) => string) | null): void {
  resolveFn = resolver ?? ((id) => require.resolve(id));
}

/** zstd through WebAssembly: used for levels where the native package is slow (see zstd.ts). */
export function zstdWasmPackage(): ZstdWasmPackage {
  return load('zstdWasm', initZstdWasm) as ZstdWasmPackage;
}
