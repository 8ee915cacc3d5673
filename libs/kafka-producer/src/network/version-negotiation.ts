import { InvalidArgumentError } from '../errors';
import { ApiVersionsApi, type ApiVersionsResponse } from '../protocol/messages/api-versions.generated';
import type { KafkaApi } from '../protocol/messages/kafka-api';
import type { Reader } from '../protocol/primitives/reader';
import type { Connection } from './connection';
import { ApiVersionsError, UnsupportedVersionError, type VersionRange } from './errors';

/** Sent in ApiVersions v3+ so broker metrics and logs can tell this client apart. */
export const CLIENT_SOFTWARE_NAME = 'kafka-producer-ts';
export const CLIENT_SOFTWARE_VERSION = '0.1.0';

/** The broker rejects ApiVersions v3+ whose software name or version does not match this. */
const CLIENT_SOFTWARE_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;
const UNSUPPORTED_VERSION = 35;

/** What version negotiation needs to know of an API: its key, its name for errors, and our range. */
export type ApiDescriptor = Pick<KafkaApi<unknown, unknown>, 'apiKey' | 'name' | 'minVersion' | 'maxVersion'>;

/**
 * The API versions one broker advertised. `versionFor` is on the produce path (once per request), so
 * the ranges sit in arrays indexed by API key rather than in a Map of objects.
 */
export class ApiVersionTable {
  private readonly mins: number[] = [];
  private readonly maxes: number[] = [];
  private readonly features = new Map<string, number>();

  constructor(
    /** `host:port` of the broker, for error messages. */
    readonly broker: string,
    apiKeys: ReadonlyArray<{ apiKey: number; minVersion: number; maxVersion: number }>,
    /** The ApiVersions version the broker finally answered. */
    readonly apiVersionsVersion: number,
    /** Cluster-wide finalized features (ApiVersions v3+), e.g. transaction.version. */
    finalizedFeatures: ReadonlyArray<{ name?: string; maxVersionLevel?: number }> = [],
  ) {
    for (const f of finalizedFeatures) if (f.name !== undefined) this.features.set(f.name, f.maxVersionLevel ?? 0);
    for (const k of apiKeys) {
      if (k.apiKey < 0) continue;
      this.mins[k.apiKey] = k.minVersion;
      this.maxes[k.apiKey] = k.maxVersion;
    }
  }

  /** The finalized level of a cluster feature, 0 when the broker reports none (or the feature is off). */
  featureLevel(name: string): number {
    return this.features.get(name) ?? 0;
  }

  /** The broker's range for an API key, or undefined if it does not offer the API. */
  range(apiKey: number): VersionRange | undefined {
    const maxVersion = this.maxes[apiKey];
    return maxVersion === undefined ? undefined : { minVersion: this.mins[apiKey], maxVersion };
  }

  supports(api: ApiDescriptor): boolean {
    const brokerMax = this.maxes[api.apiKey];
    if (brokerMax === undefined) return false;
    return Math.min(api.maxVersion, brokerMax) >= Math.max(api.minVersion, this.mins[api.apiKey]);
  }

  /**
   * The highest version both sides speak: min(our max, broker max), provided it is not below
   * max(our min, broker min). `cap` lowers our max further (e.g. Produce v11 for a transactional
   * producer without transactions V2). Throws UnsupportedVersionError if there is none.
   */
  versionFor(api: ApiDescriptor, cap?: number): number {
    const brokerMax = this.maxes[api.apiKey];
    const ourMax = cap === undefined ? api.maxVersion : Math.min(api.maxVersion, cap);
    if (brokerMax !== undefined) {
      const version = Math.min(ourMax, brokerMax);
      if (version >= Math.max(api.minVersion, this.mins[api.apiKey])) return version;
    }
    throw new UnsupportedVersionError(
      this.broker,
      api.apiKey,
      api.name,
      { minVersion: api.minVersion, maxVersion: ourMax },
      brokerMax === undefined ? null : { minVersion: this.mins[api.apiKey], maxVersion: brokerMax },
    );
  }
}

/** Negotiation needs only to send ApiVersions, which a connection still authenticating allows. */
export type NegotiatingConnection = Pick<Connection, 'address' | 'requestRaw'>;

export interface NegotiationOptions {
  clientSoftwareName?: string;
  clientSoftwareVersion?: string;
  /** Timeout of each ApiVersions request; the connection's requestTimeoutMs by default. */
  timeoutMs?: number;
}

/**
 * Sends ApiVersions, as the first request on a connection, at the highest version we speak. A broker
 * that does not know that version answers UNSUPPORTED_VERSION in the v0 layout, listing its own
 * ApiVersions range; we then retry once at its max (v0 if it lists none), as the Java client does.
 */
export async function negotiateApiVersions(connection: NegotiatingConnection, options: NegotiationOptions = {}): Promise<ApiVersionTable> {
  const clientSoftwareName = options.clientSoftwareName ?? CLIENT_SOFTWARE_NAME;
  const clientSoftwareVersion = options.clientSoftwareVersion ?? CLIENT_SOFTWARE_VERSION;
  for (const [field, value] of [
    ['clientSoftwareName', clientSoftwareName],
    ['clientSoftwareVersion', clientSoftwareVersion],
  ] as const) {
    if (!CLIENT_SOFTWARE_PATTERN.test(value)) {
      throw new InvalidArgumentError(`${field} '${value}' must match ${CLIENT_SOFTWARE_PATTERN.source}`);
    }
  }

  let version = ApiVersionsApi.maxVersion;
  for (let retried = false; ; retried = true) {
    const response = await requestApiVersions(connection, version, clientSoftwareName, clientSoftwareVersion, options.timeoutMs);
    if (response.errorCode === 0) {
      const features = (response.finalizedFeaturesEpoch ?? -1n) >= 0n ? (response.finalizedFeatures ?? []) : [];
      return new ApiVersionTable(connection.address, response.apiKeys, version, features);
    }
    if (response.errorCode === UNSUPPORTED_VERSION && !retried) {
      const own = response.apiKeys.find((k) => k.apiKey === ApiVersionsApi.apiKey);
      const next = own === undefined ? 0 : Math.min(own.maxVersion, ApiVersionsApi.maxVersion);
      // A broker that rejects v4 but claims v4 would have us loop; only ever step down.
      if (next < version) {
        version = next;
        continue;
      }
    }
    throw new ApiVersionsError(
      connection.address,
      response.errorCode,
      response.errorCode === UNSUPPORTED_VERSION ? `ApiVersions v${version} unsupported` : 'broker returned an error',
    );
  }
}

function requestApiVersions(
  connection: NegotiatingConnection,
  version: number,
  clientSoftwareName: string,
  clientSoftwareVersion: string,
  timeoutMs: number | undefined,
): Promise<ApiVersionsResponse> {
  return connection.requestRaw(
    ApiVersionsApi,
    version,
    (w) => ApiVersionsApi.encodeRequest(w, { clientSoftwareName, clientSoftwareVersion }, version),
    (r) => decodeApiVersionsResponse(r, version),
    timeoutMs === undefined ? undefined : { timeoutMs },
  );
}

/**
 * A broker that does not support the requested ApiVersions version answers in the v0 layout, whatever
 * version was asked for (Java's ApiVersionsResponse.parse falls back the same way). The error code
 * leads every version, so it tells which layout to read; a body that fails to parse at the requested
 * version is also retried as v0.
 */
function decodeApiVersionsResponse(r: Reader, version: number): ApiVersionsResponse {
  const start = r.offset;
  if (version > 0 && r.remaining >= 2 && r.buf.readInt16BE(start) === UNSUPPORTED_VERSION) {
    return ApiVersionsApi.decodeResponse(r, 0);
  }
  try {
    return ApiVersionsApi.decodeResponse(r, version);
  } catch (err) {
    if (version === 0) throw err;
    r.offset = start;
    return ApiVersionsApi.decodeResponse(r, 0);
  }
}
