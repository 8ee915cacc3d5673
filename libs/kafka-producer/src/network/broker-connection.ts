import type { KafkaApi } from '../protocol/messages/kafka-api';
import { Connection, type CloseListener, type ConnectionOptions, type NoResponseOptions, type RequestOptions } from './connection';
import { negotiateApiVersions, type ApiDescriptor, type ApiVersionTable, type NegotiationOptions } from './version-negotiation';

export interface BrokerConnectionOptions extends ConnectionOptions {
  /** The broker's node id from metadata; -1 for a bootstrap connection whose id is not known yet. */
  nodeId?: number;
  clientSoftwareName?: string;
  clientSoftwareVersion?: string;
}

function noop(): void {}

/**
 * A connection that has finished its setup (TCP connect, then ApiVersions) and knows which version of
 * each API to speak to its broker. This is what the pool hands out.
 */
export class BrokerConnection {
  private constructor(
    readonly connection: Connection,
    readonly versions: ApiVersionTable,
    readonly nodeId: number,
  ) {}

  /**
   * Connects and negotiates versions. On any failure the socket is closed before the error is thrown,
   * so a failed attempt leaves nothing open.
   */
  static async open(options: BrokerConnectionOptions): Promise<BrokerConnection> {
    const connection = new Connection(options);
    try {
      await connection.connect();
      const negotiation: NegotiationOptions = {
        clientSoftwareName: options.clientSoftwareName,
        clientSoftwareVersion: options.clientSoftwareVersion,
      };
      const versions = await negotiateApiVersions(connection, negotiation);
      return new BrokerConnection(connection, versions, options.nodeId ?? -1);
    } catch (err) {
      await connection.close();
      throw err;
    }
  }

  get address(): string {
    return this.connection.address;
  }

  get isConnected(): boolean {
    return this.connection.isConnected;
  }

  get inFlightCount(): number {
    return this.connection.inFlightCount;
  }

  get needsDrain(): boolean {
    return this.connection.needsDrain;
  }

  waitForDrain(): Promise<void> {
    return this.connection.waitForDrain();
  }

  onClose(listener: CloseListener): () => void {
    return this.connection.onClose(listener);
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  /** See ApiVersionTable.versionFor; throws UnsupportedVersionError when there is no common version. */
  versionFor(api: ApiDescriptor, cap?: number): number {
    return this.versions.versionFor(api, cap);
  }

  /** Sends a request at the negotiated version of its API. */
  send<Req, Res>(api: KafkaApi<Req, Res>, body: Req, options: NoResponseOptions): Promise<undefined>;
  send<Req, Res>(api: KafkaApi<Req, Res>, body: Req, options?: RequestOptions): Promise<Res>;
  send<Req, Res>(api: KafkaApi<Req, Res>, body: Req, options?: RequestOptions): Promise<Res | undefined> {
    let version: number;
    try {
      version = this.versions.versionFor(api);
    } catch (err) {
      const p = Promise.reject(err);
      p.catch(noop);
      return p;
    }
    return this.connection.request(api, version, body, options);
  }
}
