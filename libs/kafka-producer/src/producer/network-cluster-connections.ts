import { KafkaError } from '../errors';
import { Connection } from '../network/connection';
import { ApiVersionsApi } from '../protocol/messages/api-versions.generated';
import type { KafkaApi } from '../protocol/messages/kafka-api';
import type { BrokerAddress, ClusterConnections, NodeConnection } from './cluster-connections';
import type { ResolvedProducerConfig } from './producer-config';

const CLIENT_SOFTWARE_NAME = 'kafka-producer-ts';
const CLIENT_SOFTWARE_VERSION = '0.1.0';
const UNSUPPORTED_VERSION = 35;

export class UnsupportedVersionError extends KafkaError {
  constructor(message: string) {
    super(message, { code: 'UNSUPPORTED_VERSION' });
  }
}

/** A connection and the API versions its broker supports. */
class NegotiatedConnection implements NodeConnection {
  constructor(
    readonly connection: Connection,
    private readonly ranges: Map<number, { min: number; max: number }>,
  ) {}

  versionFor(api: KafkaApi<any, any>): number {
    const broker = this.ranges.get(api.apiKey);
    if (broker === undefined) throw new UnsupportedVersionError(`broker ${this.connection.address} does not support ${api.name}`);
    const version = Math.min(api.maxVersion, broker.max);
    if (version < Math.max(api.minVersion, broker.min)) {
      throw new UnsupportedVersionError(
        `no common version of ${api.name}: we speak ${api.minVersion}-${api.maxVersion}, broker ${this.connection.address} speaks ${broker.min}-${broker.max}`,
      );
    }
    return version;
  }
}

/**
 * Opens a connection and negotiates versions: ApiVersions at our newest version, and if the broker is
 * older and answers UNSUPPORTED_VERSION, again at the newest version it lists for ApiVersions itself.
 */
export async function openNegotiated(host: string, port: number, config: ResolvedProducerConfig): Promise<NegotiatedConnection> {
  const connection = new Connection({
    host,
    port,
    clientId: config.clientId,
    socketConnectionSetupTimeoutMs: config.socketConnectionSetupTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
  });
  try {
    await connection.connect();
    let version = ApiVersionsApi.maxVersion;
    for (let attempt = 0; ; attempt++) {
      const response = await connection.request(ApiVersionsApi, version, { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION });
      if (response.errorCode === UNSUPPORTED_VERSION && attempt === 0) {
        version = response.apiKeys.find((k) => k.apiKey === ApiVersionsApi.apiKey)?.maxVersion ?? 0;
        continue;
      }
      if (response.errorCode !== 0) throw new KafkaError(`ApiVersions failed on ${connection.address} with error ${response.errorCode}`, { code: 'API_VERSIONS_FAILED' });
      const ranges = new Map<number, { min: number; max: number }>();
      for (const k of response.apiKeys) ranges.set(k.apiKey, { min: k.minVersion, max: k.maxVersion });
      return new NegotiatedConnection(connection, ranges);
    }
  } catch (e) {
    await connection.close().catch(() => undefined);
    throw e;
  }
}

export function parseHostPort(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (m === null) throw new KafkaError(`"${address}" is not host:port`, { code: 'INVALID_ADDRESS' });
  return { host: m[1], port: Number(m[2]) };
}

interface NodeSlot {
  address: BrokerAddress;
  node: NegotiatedConnection | null;
  connecting: boolean;
  failures: number;
  retryAtMs: number;
}

/**
 * One produce connection per broker, opened lazily, reconnected with exponential backoff after a
 * failure; the bootstrap list is used only until some broker is known.
 */
export class NetworkClusterConnections implements ClusterConnections {
  private readonly slots = new Map<number, NodeSlot>();
  private bootstrap: NegotiatedConnection | null = null;
  private bootstrapping: Promise<NegotiatedConnection> | null = null;
  private closed = false;

  constructor(
    private readonly config: ResolvedProducerConfig,
    private readonly onChange: () => void,
  ) {}

  ready(address: BrokerAddress): NodeConnection | null {
    let slot = this.slots.get(address.nodeId);
    if (slot === undefined || slot.address.host !== address.host || slot.address.port !== address.port) {
      slot?.node?.connection.close().catch(() => undefined);
      slot = { address, node: null, connecting: false, failures: 0, retryAtMs: 0 };
      this.slots.set(address.nodeId, slot);
    }
    if (slot.node !== null && slot.node.connection.isConnected) return slot.node;
    slot.node = null;
    if (!slot.connecting && Date.now() >= slot.retryAtMs && !this.closed) this.connect(slot);
    return null;
  }

  private connect(slot: NodeSlot): void {
    slot.connecting = true;
    openNegotiated(slot.address.host, slot.address.port, this.config).then(
      (node) => {
        slot.connecting = false;
        if (this.closed) {
          void node.connection.close();
          return;
        }
        slot.node = node;
        slot.failures = 0;
        node.connection.onClose(() => {
          if (slot.node === node) slot.node = null;
          this.onChange();
        });
        this.onChange();
      },
      () => {
        slot.connecting = false;
        slot.failures++;
        const backoff = Math.min(this.config.reconnectBackoffMs * 2 ** (slot.failures - 1), this.config.reconnectBackoffMaxMs);
        slot.retryAtMs = Date.now() + backoff * (0.8 + Math.random() * 0.4);
        setTimeout(this.onChange, slot.retryAtMs - Date.now()).unref?.();
      },
    );
  }

  async any(): Promise<NodeConnection> {
    for (const slot of this.slots.values()) if (slot.node !== null && slot.node.connection.isConnected) return slot.node;
    if (this.bootstrap !== null && this.bootstrap.connection.isConnected) return this.bootstrap;
    if (this.bootstrapping === null) {
      this.bootstrapping = this.connectBootstrap().finally(() => (this.bootstrapping = null));
    }
    return this.bootstrapping;
  }

  private async connectBootstrap(): Promise<NegotiatedConnection> {
    const failures: string[] = [];
    // known brokers first (the bootstrap servers may be gone), then the configured list
    const candidates = [...[...this.slots.values()].map((s) => `${s.address.host}:${s.address.port}`), ...this.config.bootstrapServers];
    for (const address of candidates) {
      if (this.closed) break;
      try {
        const { host, port } = parseHostPort(address);
        const node = await openNegotiated(host, port, this.config);
        if (this.closed) {
          await node.connection.close();
          break;
        }
        this.bootstrap = node;
        return node;
      } catch (e) {
        failures.push(`${address}: ${(e as Error).message}`);
      }
    }
    throw new KafkaError(`could not connect to any broker (${failures.join('; ') || 'producer closed'})`, { code: 'NO_BROKER_AVAILABLE', retriable: true });
  }

  connectedNodeIds(): number[] {
    const ids: number[] = [];
    for (const [id, slot] of this.slots) if (slot.node !== null && slot.node.connection.isConnected) ids.push(id);
    return ids;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all: Array<Promise<void>> = [];
    for (const slot of this.slots.values()) if (slot.node !== null) all.push(slot.node.connection.close());
    if (this.bootstrap !== null) all.push(this.bootstrap.connection.close());
    await Promise.allSettled(all);
  }
}
