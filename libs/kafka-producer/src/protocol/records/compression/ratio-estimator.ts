/**
 * Java's CompressionRatioEstimation, for sizing compressed batches.
 *
 * The Java producer appends records into a compressing stream and counts a batch as full when
 * `61 + uncompressedBytes × estimatedRatio × 1.05` reaches batch.size; the estimate is per topic and codec,
 * starts at 1.0 and, after each closed batch, moves towards the observed ratio: up at once (by at least
 * 0.05) when compression got worse, down by at most 0.005 when it got better. A producer that writes plain
 * records first and compresses on close (as ours does) can use `uncompressedLimit` to let a compressed batch
 * take as many records as Java's would.
 */

export const COMPRESSION_RATE_ESTIMATION_FACTOR = 1.05;
const DETERIORATE_STEP = 0.05;
const IMPROVING_STEP = 0.005;

export class CompressionRatioEstimator {
  private readonly estimates = new Map<string, Float64Array>();

  /** Estimated compressed/uncompressed ratio for this topic and codec id (1.0 until a batch was observed). */
  estimate(topic: string, codec: number): number {
    return this.estimates.get(topic)?.[codec] ?? 1;
  }

  /** Records the outcome of one closed batch (sizes of the records section, before and after compression). */
  observe(topic: string, codec: number, uncompressedBytes: number, compressedBytes: number): number {
    if (uncompressedBytes <= 0) return this.estimate(topic, codec);
    let perCodec = this.estimates.get(topic);
    if (perCodec === undefined) {
      perCodec = new Float64Array(8).fill(1);
      this.estimates.set(topic, perCodec);
    }
    const observed = compressedBytes / uncompressedBytes;
    const current = perCodec[codec];
    if (observed > current) perCodec[codec] = Math.max(current + DETERIORATE_STEP, observed);
    else if (observed < current) perCodec[codec] = Math.max(current - IMPROVING_STEP, observed);
    return perCodec[codec];
  }

  /**
   * How many bytes of plain records a batch of `batchSize` may hold so that its estimated compressed size
   * stays within batchSize (Java's MemoryRecordsBuilder.isFull arithmetic, solved for the plain bytes).
   */
  uncompressedLimit(topic: string, codec: number, batchSize: number, headerBytes = 61): number {
    const ratio = this.estimate(topic, codec) * COMPRESSION_RATE_ESTIMATION_FACTOR;
    return Math.max(0, Math.floor((batchSize - headerBytes) / ratio));
  }

  /** Forgets a topic (e.g. when the producer drops idle topics from its metadata). */
  forget(topic: string): void {
    this.estimates.delete(topic);
  }
}
