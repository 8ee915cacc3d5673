import { KafkaError } from '../../../errors';

/**
 * A codec needs an npm package that cannot be loaded (not installed, or no prebuilt binary for this
 * platform). Thrown on the first use of that codec, never at start-up: a producer without compression
 * does not load any codec package.
 */
export class CompressionCodecUnavailableError extends KafkaError {
  constructor(
    readonly codec: string,
    readonly packageName: string,
    cause: unknown,
  ) {
    super(
      `compression codec ${codec} needs the npm package "${packageName}", which could not be loaded ` +
        `(install it with \`npm install ${packageName}\`): ${cause instanceof Error ? cause.message : String(cause)}`,
      { code: 'COMPRESSION_CODEC_UNAVAILABLE', retriable: false, cause },
    );
  }
}

/** Compressed bytes that do not follow their codec's format (the record batch itself may be fine). */
export class CompressionFormatError extends KafkaError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'COMPRESSION_FORMAT', retriable: false, cause });
  }
}
