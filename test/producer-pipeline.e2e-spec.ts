import { sharedCluster } from '@app/kafka-testing';
import { pipelineSuite } from './support/pipeline-suite';

describe('the producer pipeline on a 1-node cluster', () => {
  pipelineSuite(() => sharedCluster());
});
